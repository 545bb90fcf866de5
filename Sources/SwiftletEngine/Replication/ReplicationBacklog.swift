/// The replication backlog: the last `repl-backlog-size` bytes of the replication stream, so that a replica whose
/// link dropped can continue from its offset (PSYNC answered `+CONTINUE`) instead of loading a whole new RDB.
///
/// A ring of bytes. Offsets are replication offsets: the stream's first byte ever is offset 1 (Redis's
/// `repl_backlog->offset` is "the replication offset of the first byte in the backlog"), so the backlog holds
/// `firstByteOffset ..< firstByteOffset + historyLength`, and `firstByteOffset + historyLength - 1` is the master's
/// `master_repl_offset`.
struct ReplicationBacklog {
    /// The ring's storage; its count is the configured size.
    private var ring: [UInt8]
    /// Where the next byte goes in `ring`.
    private var writeIndex = 0
    /// How many bytes of history the ring holds (at most `ring.count`).
    private(set) var historyLength = 0
    /// The replication offset of the oldest byte held.
    private(set) var firstByteOffset: Int64

    /// An empty backlog whose next byte is at replication offset `nextOffset` (the master's offset + 1).
    init(size: Int, nextOffset: Int64) {
        self.ring = [UInt8](repeating: 0, count: max(size, 1))
        self.firstByteOffset = nextOffset
    }

    var size: Int { self.ring.count }

    /// Appends bytes of the stream.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var source = bytes
        // Only the last `size` bytes can stay.
        if source.count > self.ring.count {
            let dropped = source.count - self.ring.count
            self.firstByteOffset += Int64(self.historyLength + dropped)
            self.historyLength = 0
            source = UnsafeRawBufferPointer(rebasing: source[dropped...])
        }
        var offset = 0
        while offset < source.count {
            let room = self.ring.count - self.writeIndex
            let count = min(room, source.count - offset)
            self.ring.withUnsafeMutableBytes { ring in
                ring.baseAddress!.advanced(by: self.writeIndex)
                    .copyMemory(from: source.baseAddress!.advanced(by: offset), byteCount: count)
            }
            self.writeIndex = (self.writeIndex + count) % self.ring.count
            offset += count
        }
        let grown = self.historyLength + source.count
        if grown > self.ring.count {
            self.firstByteOffset += Int64(grown - self.ring.count)
            self.historyLength = self.ring.count
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
        // The oldest byte is at `writeIndex - historyLength` (mod size); the wanted ones are the last `count`.
        let start = (self.writeIndex - count + self.ring.count) % self.ring.count
        if start + count <= self.ring.count { return Array(self.ring[start..<start + count]) }
        return Array(self.ring[start...]) + Array(self.ring[..<(start + count - self.ring.count)])
    }

    /// A new size (CONFIG SET repl-backlog-size): the newest bytes that fit are kept.
    mutating func resize(_ size: Int) {
        let size = max(size, 1)
        guard size != self.ring.count else { return }
        let kept = min(self.historyLength, size)
        let end = self.firstByteOffset + Int64(self.historyLength)
        let newest = self.bytes(from: end - Int64(kept))
        self.ring = [UInt8](repeating: 0, count: size)
        self.ring.replaceSubrange(0..<kept, with: newest)
        self.writeIndex = kept % size
        self.historyLength = kept
        self.firstByteOffset = end - Int64(kept)
    }
}
