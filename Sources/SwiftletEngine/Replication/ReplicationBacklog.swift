/// The replication backlog: the last `repl-backlog-size` bytes of the replication stream, so that a replica whose
/// link dropped can continue from its offset (PSYNC answered `+CONTINUE`) instead of loading a whole new RDB.
///
/// A ring of bytes that grows as the stream arrives, up to the configured size (as Redis 7.0 grows its backlog in
/// blocks: a large `repl-backlog-size` costs nothing until the stream fills it). Offsets are replication offsets: the
/// stream's first byte ever is offset 1 (Redis's `repl_backlog->offset` is "the replication offset of the first byte
/// in the backlog"), so the backlog holds `firstByteOffset ..< firstByteOffset + historyLength`, and
/// `firstByteOffset + historyLength - 1` is the master's `master_repl_offset`.
struct ReplicationBacklog {
    /// The ring's storage: it grows by appending until it reaches `size`, then wraps.
    private var ring: [UInt8] = []
    /// The configured size: the most history kept.
    private(set) var size: Int
    /// Where the next byte goes once the ring has wrapped (while it grows, the next byte is appended).
    private var writeIndex = 0
    /// How many bytes of history the ring holds (at most `size`).
    private(set) var historyLength = 0
    /// The replication offset of the oldest byte held.
    private(set) var firstByteOffset: Int64

    /// An empty backlog whose next byte is at replication offset `nextOffset` (the master's offset + 1).
    init(size: Int, nextOffset: Int64) {
        self.size = max(size, 1)
        self.firstByteOffset = nextOffset
    }

    /// The memory the ring holds now (INFO's `mem_replication_backlog`).
    var storageSize: Int { self.ring.capacity }

    /// Appends bytes of the stream.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var source = bytes
        // Only the last `size` bytes can stay.
        if source.count > self.size {
            let dropped = source.count - self.size
            self.firstByteOffset += Int64(self.historyLength + dropped)
            self.historyLength = 0
            self.ring.removeAll(keepingCapacity: true)
            self.writeIndex = 0
            source = UnsafeRawBufferPointer(rebasing: source[dropped...])
        }
        var offset = 0
        // Growing: append until the ring is full.
        if self.ring.count < self.size {
            let count = min(self.size - self.ring.count, source.count)
            self.ring.append(contentsOf: source[0..<count])
            offset = count
            self.writeIndex = self.ring.count % self.size
        }
        // Full: overwrite the oldest bytes.
        while offset < source.count {
            let count = min(self.size - self.writeIndex, source.count - offset)
            self.ring.withUnsafeMutableBytes { ring in
                ring.baseAddress!.advanced(by: self.writeIndex)
                    .copyMemory(from: source.baseAddress!.advanced(by: offset), byteCount: count)
            }
            self.writeIndex = (self.writeIndex + count) % self.size
            offset += count
        }
        let grown = self.historyLength + source.count
        if grown > self.size {
            self.firstByteOffset += Int64(grown - self.size)
            self.historyLength = self.size
        } else {
            self.historyLength = grown
        }
    }

    /// Whether the stream from `offset` on (a replica's PSYNC offset: the next byte it needs) is all here.
    func holds(from offset: Int64) -> Bool {
        offset >= self.firstByteOffset && offset <= self.firstByteOffset + Int64(self.historyLength)
    }

    /// The stream from `offset` (which ``holds(from:)``) to the newest byte.
    func bytes(from offset: Int64) -> [UInt8] {
        let count = Int(self.firstByteOffset + Int64(self.historyLength) - offset)
        guard count > 0 else { return [] }
        // The newest byte is just before `writeIndex` (mod the ring's length); the wanted ones are the last `count`.
        let length = self.ring.count
        let end = self.writeIndex == 0 ? length : self.writeIndex
        let start = (end - count + length) % length
        if start + count <= length { return Array(self.ring[start..<start + count]) }
        return Array(self.ring[start...]) + Array(self.ring[..<(start + count - length)])
    }

    /// A new size (CONFIG SET repl-backlog-size): the newest bytes that fit are kept.
    mutating func resize(_ size: Int) {
        let size = max(size, 1)
        guard size != self.size else { return }
        let kept = min(self.historyLength, size)
        let end = self.firstByteOffset + Int64(self.historyLength)
        self.ring = self.bytes(from: end - Int64(kept))
        self.size = size
        self.writeIndex = self.ring.count % size
        self.historyLength = kept
        self.firstByteOffset = end - Int64(kept)
    }
}
