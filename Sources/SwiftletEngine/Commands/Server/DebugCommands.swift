import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence
import SwiftletRESP

/// DEBUG: the subcommands Redis's own test suite uses to observe the server (debug.c): SLEEP, SET-ACTIVE-EXPIRE,
/// RELOAD, LOADAOF, REPLICATE, DIGEST, DIGEST-VALUE, OBJECT, PROTOCOL, POPULATE, LOG, PAUSE-CRON and HELP, with Redis 7.0's
/// replies and texts.
public enum DebugCommands {
    // MARK: - DEBUG

    /// DEBUG subcommand [argument ...] — O(1) to O(N) by subcommand; only when `enable-debug-command` allows it
    static func debug(_ context: inout CommandContext) throws(RedisError) {
        let allowed = context.server.config.string("enable-debug-command")
        let local = context.session.address.hasPrefix("127.") || context.session.address.hasPrefix("[::1]")
        guard allowed == "yes" || (allowed == "local" && local) else { throw RedisError.debugNotAllowed }
        if context.argument(1, is: "help") && context.count == 2 {
            KeyCommands.help(Self.helpLines, &context)
        } else if context.argument(1, is: "reload") {
            try PersistenceCommands.debugReload(&context)
        } else if context.argument(1, is: "loadaof") {
            try context.server.debugLoadAppendOnly()
            context.out.writeOK()
        } else if context.argument(1, is: "log") && context.count == 3 {
            context.server.host?.log(warning: true, "DEBUG LOG: " + String(buffer: context.arguments[2]))
            context.out.writeOK()
        } else if context.argument(1, is: "populate") && context.count >= 3 && context.count <= 5 {
            try Self.populate(&context)
        } else if context.argument(1, is: "pause-cron") && context.count == 3 {
            // C's atoi: what is not a number is 0.
            context.server.cronPaused = (context.arguments[2].int64 ?? 0) != 0
            context.out.writeOK()
        } else if context.argument(1, is: "object") && context.count == 3 {
            try Self.object(&context)
        } else if context.argument(1, is: "digest") && context.count == 2 {
            context.out.writeSimpleString(Self.datasetDigest(context.keyspace).hex)
        } else if context.argument(1, is: "digest-value") {
            try Self.digestValue(&context)
        } else if context.argument(1, is: "protocol") && context.count == 3 {
            try Self.protocolReply(&context)
        } else if context.argument(1, is: "replicate") && context.count >= 3 {
            // The arguments go to the replicas only, in the stream's current database (Redis's test hook for data
            // divergence): not run here, not in the AOF.
            context.server.replicateOnly(Array(context.arguments[2...]))
            context.out.writeOK()
        } else if context.argument(1, is: "sleep") && context.count == 3 {
            guard let seconds = context.arguments[2].withUnsafeReadableBytes({ NumberFormat.parseDouble($0) }) else {
                throw RedisError.notFloat
            }
            if seconds > 0 { context.server.host?.sleep(seconds: seconds) }
            context.out.writeOK()
        } else if context.argument(1, is: "replybuffer") && context.count == 4 {
            // Redis's reply buffer peak tracking and its resizing cron: accepted with Redis's checks, and without
            // effect, because Swiftlet's reply buffers are never resized by a timer (one over 4 KiB is given back
            // once written; docs/CONFIG.md).
            if context.argument(2, is: "peak-reset-time") {
                if !context.argument(3, is: "never") && !context.argument(3, is: "reset") { _ = try context.integer(3) }
            } else if !context.argument(2, is: "resizing") {
                throw RedisError.debugUnknownSubcommand(context.arguments[1].readableBytesView)
            }
            context.out.writeOK()
        } else if context.argument(1, is: "set-active-expire") && context.count == 3 {
            context.server.activeExpireEnabled = context.arguments[2].int64 != 0
            context.out.writeOK()
        } else {
            throw RedisError.debugUnknownSubcommand(context.arguments[1].readableBytesView)
        }
    }

    /// DEBUG HELP: Redis's lines for the subcommands served here, in Redis's order (`addReplyHelp` appends HELP).
    static let helpLines = [
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "LOADAOF",
        "    Flush the AOF buffers on disk and reload the AOF in memory.",
        "REPLICATE <string>",
        "    Replicates the provided string to replicas, allowing data divergence.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. These are not propagated to",
        "    replicas. Cluster slots are not respected so keys not belonging to the",
        "    current node can be created in cluster mode.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [option ...]",
        "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
        "    * MERGE: conflicting keys will be loaded from RDB.",
        "    * NOFLUSH: the existing database will not be removed before load, but",
        "      conflicting keys will generate an exception and kill the server.",
        "    * NOSAVE: the database will be loaded from an existing RDB file.",
        "    Examples:",
        "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
        "      the database.",
        "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
        "      existing RDB file.",
        "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
        "      file to the database.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
        "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
        "    In case NEVER is provided the last observed peak will never be reset",
        "    In case RESET is provided the peak reset time will be restored to the default value",
        "REPLYBUFFER RESIZING <0|1>",
        "    Enable or disable the reply buffer resize cron job",
        "HELP",
        "    Prints this help.",
    ]

    // MARK: - POPULATE

    /// DEBUG POPULATE count [prefix] [size] — O(N): string keys `<prefix>:<n>` (prefix `key`) holding `value:<n>`,
    /// or that text cut or zero-padded to `size` bytes; existing keys are left alone. As in Redis, the keys are not
    /// written to the AOF (nothing is marked dirty) and no keyspace event fires; WATCH and tracking see them.
    static func populate(_ context: inout CommandContext) throws(RedisError) {
        guard let count = context.arguments[2].int64, count >= 0 else { throw RedisError.mustBePositive }
        var size: Int64 = 0
        if context.count == 5 {
            guard let s = context.arguments[4].int64, s >= 0 else { throw RedisError.mustBePositive }
            size = s
        }
        let prefix = context.count >= 4 ? Array(context.arguments[3].readableBytesView) : Array("key".utf8)
        let db = context.db
        var n: Int64 = 0
        while n < count {
            defer { n += 1 }
            let key = ByteBuffer(bytes: prefix + Array(":\(n)".utf8))
            if key.withUnsafeReadableBytes({ db.lookup($0, now: context.now) }) != nil { continue }
            var value = Array("value:\(n)".utf8)
            if size > 0 {
                value = Array(value.prefix(Int(size)))
                value += [UInt8](repeating: 0, count: Int(size) - value.count)
            }
            key.withUnsafeReadableBytes { k in
                value.withUnsafeBytes { _ = db.setString(k, $0, encodeIntegers: false, now: context.now) }
            }
            context.server.signalModifiedKey(key, &context)
        }
        context.out.writeOK()
    }

    // MARK: - DIGEST / DIGEST-VALUE

    /// DEBUG DIGEST-VALUE [key ...] — O(N) in the elements: one status reply per key, 40 zeros for a missing key.
    /// Logically expired keys are digested as they are (Redis reads the dict without `lookupKey`).
    static func digestValue(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeArrayHeader(context.count - 2)
        let db = context.db
        for i in 2..<max(2, context.count) {
            var digest = SHA1.Digest.zero
            if let entry = context.arguments[i].withUnsafeReadableBytes({ db.peek($0) }) {
                Self.mixObject(entry, into: &digest)
            }
            context.out.writeSimpleString(digest.hex)
        }
    }

    /// Redis's `computeDatasetDigest`: for every database with keys, mix in its index (big-endian), then xor in the
    /// digest of each key and value (`mixDigest(key)` followed by `xorObjectDigest`). Keys are unordered, so their
    /// digests are xored; the result does not depend on the table layout.
    static func datasetDigest(_ keyspace: Keyspace) -> SHA1.Digest {
        var final = SHA1.Digest.zero
        for db in keyspace.databases where db.count > 0 {
            var index = UInt32(truncatingIfNeeded: db.index).bigEndian
            withUnsafeBytes(of: &index) { final.mix($0) }
            db.table.visitAll { entry in
                var digest = SHA1.Digest.zero
                entry.withKey { digest.mix($0) }
                Self.mixObject(entry, into: &digest)
                digest.withBytes { final.xorHash(of: $0) }
            }
        }
        return final
    }

    /// Redis's object type codes (`OBJ_STRING` ... `OBJ_HASH`), mixed first into a value's digest.
    static func typeCode(_ value: Value) -> UInt32 {
        switch value {
        case .embedded, .int, .raw: return 0
        case .list: return 1
        case .set: return 2
        case .sortedSet: return 3
        case .hash: return 4
        }
    }

    /// Redis's `xorObjectDigest`: the type code, then the value — strings and list elements mixed in order, set
    /// members xored, sorted-set members and hash fields each digested alone (member then `%.17g` score, field
    /// then value) and xored — and `!!expire!!` xored when the key has a time to live.
    static func mixObject(_ entry: Entry, into digest: inout SHA1.Digest) {
        var type = Self.typeCode(entry.value).bigEndian
        withUnsafeBytes(of: &type) { digest.mix($0) }
        switch entry.value {
        case .embedded, .int, .raw:
            // Integers as their decimal text, as Redis's `getDecodedObject`.
            _ = entry.withStringBytes { digest.mix($0) }
        case .list(let list):
            list.forEach(from: 0, count: list.count) { digest.mix($0) }
        case .set(let set):
            set.forEachMember { digest.xorHash(of: $0) }
        case .sortedSet(let zset):
            zset.walk { node in
                var element = SHA1.Digest.zero
                node.withMember { element.mix($0) }
                // Listpack and skiplist alike: a listpack score reads back as the double it was stored from.
                NumberFormat.formatDouble(node.score).withUnsafeBytes { element.mix($0) }
                element.withBytes { digest.xorHash(of: $0) }
                return true
            }
        case .hash(let hash):
            hash.forEachPair { field, value in
                var element = SHA1.Digest.zero
                element.mix(field)
                element.mix(value)
                element.withBytes { digest.xorHash(of: $0) }
            }
        }
        if entry.hasExpire {
            let marker: StaticString = "!!expire!!"
            digest.xorHash(of: UnsafeRawBufferPointer(start: marker.utf8Start, count: marker.utf8CodeUnitCount))
        }
    }

    // MARK: - OBJECT

    /// DEBUG OBJECT key — O(N) in the value's size (its RDB serialisation is measured).
    ///
    /// `Value at:<address> refcount:<n> encoding:<enc> serializedlength:<n> lru:<clock> lru_seconds_idle:<n>`, and
    /// for lists the quicklist fields, as debug.c prints them. Approximations: the address is the entry's (stable
    /// while the key lives; Redis prints its `robj`'s); `ql_listpack_max` and `ql_compressed` come from the current
    /// `list-max-listpack-size` and `list-compress-depth`, where Redis keeps the values the list was created with
    /// (they differ only after a CONFIG SET), and Swiftlet never compresses nodes, so `ql_uncompressed_size` is the
    /// listpacks' size. The rest is exact: `serializedlength` is the length of the value's RDB encoding
    /// (`rdbSavedObjectLen`, honouring `rdbcompression`), `lru` the entry's 24-bit clock (the LFU word under an LFU
    /// policy, as Redis's `robj.lru`).
    static func object(_ context: inout CommandContext) throws(RedisError) {
        // Redis's `dictFind`: no expiry, no access-clock update.
        guard let entry = context.arguments[2].withUnsafeReadableBytes({ context.db.peek($0) }) else {
            throw RedisError.noSuchKey
        }
        var refcount = 1
        if case .int(let v) = entry.value, v >= 0, v < 10000, context.server.config.sharesIntegers {
            // A shared integer object (OBJECT REFCOUNT reports the same).
            refcount = Int(Int32.max)
        }
        var encoder = RDBEncoder(
            sink: CountingSink(),
            compression: context.server.config.get("rdbcompression") != "no"
        )
        // A counting sink never fails.
        try? encoder.writeObjectBody(entry)
        let address = UInt(bitPattern: Unmanaged.passUnretained(entry).toOpaque())
        var line =
            "Value at:0x\(String(address, radix: 16)) refcount:\(refcount) "
            + "encoding:\(KeyCommands.encodingName(entry)) serializedlength:\(encoder.sink.offset) "
            + "lru:\(entry.access) lru_seconds_idle:\(context.keyspace.idleSeconds(entry, now: context.now))"
        if case .list(let list) = entry.value {
            line += Self.quicklistFields(list, config: context.server.config)
        }
        context.out.writeSimpleString(line)
    }

    /// The ` ql_nodes:... ql_uncompressed_size:...` tail of DEBUG OBJECT for a quicklist.
    static func quicklistFields(_ list: ListValue, config: ConfigStore) -> String {
        var bytes = 0
        // Each node is a listpack: a 6-byte header, the entries and the end byte.
        list.forEachNode { entries, _ in bytes += 6 + entries.count + 1 }
        let nodes = list.nodeCount
        let average = Double(list.count) / Double(nodes)
        let fill = config.string("list-max-listpack-size")
        let compressed = config.number("list-compress-depth") == 0 ? 0 : 1
        return " ql_nodes:\(nodes) ql_avg_node:"
            + String(decoding: NumberFormat.formatFixed(average, fractionDigits: 2), as: UTF8.self)
            + " ql_listpack_max:\(fill) ql_compressed:\(compressed) ql_uncompressed_size:\(bytes)"
    }

    // MARK: - PROTOCOL

    /// DEBUG PROTOCOL string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false — O(1):
    /// a fixed value of that RESP type, in the client's protocol (RESP3 types fall back as Redis's writers do).
    static func protocolReply(_ context: inout CommandContext) throws(RedisError) {
        if context.argument(2, is: "string") {
            context.out.writeBulkString("Hello World")
        } else if context.argument(2, is: "integer") {
            context.out.writeInteger(12345)
        } else if context.argument(2, is: "double") {
            context.out.writeDouble(formatted: NumberFormat.formatDouble(3.141))
        } else if context.argument(2, is: "bignum") {
            context.out.writeBigNumber("1234567999999999999999999999999999999")
        } else if context.argument(2, is: "null") {
            context.out.writeNull()
        } else if context.argument(2, is: "array") {
            context.out.writeArrayHeader(3)
            for i in 0..<3 { context.out.writeInteger(i) }
        } else if context.argument(2, is: "set") {
            context.out.writeSetHeader(3)
            for i in 0..<3 { context.out.writeInteger(i) }
        } else if context.argument(2, is: "map") {
            context.out.writeMapHeader(3)
            for i in 0..<3 {
                context.out.writeInteger(i)
                context.out.writeBoolean(i == 1)
            }
        } else if context.argument(2, is: "attrib") {
            if context.out.version == .resp3 {
                context.out.writeAttributeHeader(1)
                context.out.writeBulkString("key-popularity")
                context.out.writeArrayHeader(2)
                context.out.writeBulkString("key:123")
                context.out.writeInteger(90)
            }
            // An attribute is not a reply: a real one follows it.
            context.out.writeBulkString("Some real reply following the attribute")
        } else if context.argument(2, is: "push") {
            guard context.out.version == .resp3 else { throw RedisError.needsRESP3 }
            context.out.writePushHeader(2)
            context.out.writeBulkString("server-cpu-usage")
            context.out.writeInteger(42)
            // A push is not a reply either: a client that skips pushes still gets one.
            context.out.writeBulkString("Some real reply following the push reply")
        } else if context.argument(2, is: "verbatim") {
            context.out.writeVerbatimString("This is a verbatim\nstring")
        } else if context.argument(2, is: "true") {
            context.out.writeBoolean(true)
        } else if context.argument(2, is: "false") {
            context.out.writeBoolean(false)
        } else {
            throw RedisError.debugProtocolType
        }
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("debug", arity: -2, flags: [.admin, .noscript, .loading, .stale], group: "server", run: debug)
    ]
}

// MARK: - Errors

// MARK: - Digest mixing

extension SHA1.Digest {
    /// Redis's `xorDigest`: `self ^= SHA1(bytes)`. Order-free, for the elements of unordered collections.
    mutating func xorHash(of bytes: UnsafeRawBufferPointer) {
        self.formXor(SHA1.hash(bytes))
    }

    /// Redis's `mixDigest`: `self = SHA1(self ^ SHA1(bytes))`. Order-sensitive, for sequences.
    mutating func mix(_ bytes: UnsafeRawBufferPointer) {
        self.xorHash(of: bytes)
        self = self.withBytes { SHA1.hash($0) }
    }
}

/// A sink that only counts (Redis's `rdbSaveObject` with a NULL `rio`), for DEBUG OBJECT's `serializedlength`.
struct CountingSink: ByteSink {
    private(set) var offset = 0
    var checksum: UInt64 { 0 }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.offset += bytes.count
    }
}
