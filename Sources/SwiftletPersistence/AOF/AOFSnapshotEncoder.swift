public import SwiftletKeyspace

/// Writes a ``KeyspaceSnapshot`` as commands, for an AOF base with `aof-use-rdb-preamble no` (Redis's
/// `rewriteAppendOnlyFileRio`): SELECT when the database changes, then per key SET, RPUSH, SADD, ZADD or HMSET in
/// batches of 64 items, and PEXPIREAT when the key has a time to live.
public final class AOFSnapshotEncoder: SnapshotFileEncoder {
    /// Items per command, Redis's `AOF_REWRITE_ITEMS_PER_CMD`.
    static let itemsPerCommand = 64

    private let writer: any RDBChunkWriter
    private var bytes: [UInt8] = []
    private var currentDB = -1
    public var chunkSize = 1 << 20

    /// - Parameter timestamp: with aof-timestamp-enabled, the unix seconds of the `#TS:` annotation that opens the
    ///   file.
    public init(writer: any RDBChunkWriter, timestamp: Int64? = nil) {
        self.writer = writer
        if let timestamp { self.bytes.append(contentsOf: Array("#TS:\(timestamp)\r\n".utf8)) }
    }

    public func save(_ entry: Entry, database: Int, expireAt: Int64?) {
        if database != self.currentDB {
            self.currentDB = database
            self.command(["SELECT"], [Array(String(database).utf8)])
        }
        entry.withKey { key in
            let k = Array(key)
            switch entry.value {
            case .list(let list):
                self.batches("RPUSH", k, count: list.count, width: 1) { body in
                    list.forEach(from: 0, count: list.count) { body([$0]) }
                }
            case .set(let set):
                self.batches("SADD", k, count: set.count, width: 1) { body in
                    set.forEachMember { body([$0]) }
                }
            case .sortedSet(let zset):
                self.batches("ZADD", k, count: zset.count, width: 2) { body in
                    zset.walk { node in
                        let score = NumberFormat.formatDouble(node.score)
                        score.withUnsafeBytes { s in node.withMember { body([s, $0]) } }
                        return true
                    }
                }
            case .hash(let hash):
                self.batches("HMSET", k, count: hash.count, width: 2) { body in
                    hash.forEachPair { body([$0, $1]) }
                }
            default:
                _ = entry.withStringBytes { self.command(["SET"], [k, Array($0)]) }
            }
            if let expireAt { self.command(["PEXPIREAT"], [k, Array(String(expireAt).utf8)]) }
        }
        if self.bytes.count >= self.chunkSize { self.flush() }
    }

    private func command(_ name: [String], _ arguments: [[UInt8]]) {
        AOFCommandWriter.append(name.map { Array($0.utf8) } + arguments, to: &self.bytes)
    }

    /// Emits `name key item...` commands of at most 64 items (`width` arguments each) over what `walk` visits.
    private func batches(
        _ name: String,
        _ key: [UInt8],
        count: Int,
        width: Int,
        _ walk: ((([UnsafeRawBufferPointer]) -> Void) -> Void)
    ) {
        var left = count
        var inBatch = 0
        walk { item in
            if inBatch == 0 {
                let items = min(left, Self.itemsPerCommand)
                AOFCommandWriter.appendHeader(2 + items * width, to: &self.bytes)
                Array(name.utf8).withUnsafeBytes { AOFCommandWriter.appendArgument($0, to: &self.bytes) }
                key.withUnsafeBytes { AOFCommandWriter.appendArgument($0, to: &self.bytes) }
                inBatch = items
                left -= items
            }
            for part in item { AOFCommandWriter.appendArgument(part, to: &self.bytes) }
            inBatch -= 1
        }
    }

    public func flush() {
        guard !self.bytes.isEmpty else { return }
        var chunk: [UInt8] = []
        swap(&chunk, &self.bytes)
        self.writer.write(chunk)
    }

    /// Flushes and completes the file (no RDB trailer: the writer is told so at its creation).
    public func finish(completion: @escaping @Sendable (Result<Int, RDBError>) -> Void) {
        self.flush()
        self.writer.finish(checksum: false, completion: completion)
    }
}
