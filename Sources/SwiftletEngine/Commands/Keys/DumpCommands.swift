import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletPersistence
import SwiftletRESP

/// DUMP and RESTORE: a key's value in Redis's serialization format (an RDB value, the RDB version and a
/// CRC-64), so that payloads move between Swiftlet and Redis in both directions.
public enum DumpCommands {
    /// The encoding thresholds a restored value is built with (CONFIG, cached).
    static func loadLimits(_ context: CommandContext) -> RDBLoadLimits {
        let hot = context.server.hot
        return RDBLoadLimits(
            listMaxListpackSize: hot.listMaxListpackSize,
            hashMaxListpackEntries: hot.hashMaxListpackEntries,
            hashMaxListpackValue: hot.hashMaxListpackValue,
            setMaxIntsetEntries: hot.setMaxIntsetEntries,
            zsetMaxListpackEntries: hot.zsetMaxListpackEntries,
            zsetMaxListpackValue: hot.zsetMaxListpackValue
        )
    }

    // MARK: - DUMP

    /// DUMP key — O(1) to access the key and O(N*M) to serialize it
    static func dump(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeNull()
            return
        }
        let compression = context.server.config.get("rdbcompression") != "no"
        // Encoding into memory cannot fail: the array sink never throws.
        guard let payload = try? DumpPayload.encode(entry, compression: compression) else { return }
        context.out.writeBulkString(payload)
    }

    // MARK: - RESTORE

    /// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency] — O(1) to create
    /// the key and O(N*M) to deserialize it
    static func restore(_ context: inout CommandContext) throws(RedisError) {
        var replace = false
        var absoluteTTL = false
        var idle: Int64?
        var frequency: Int64?
        var i = 4
        while i < context.count {
            let additional = context.count - i - 1
            if context.argument(i, is: "replace") {
                replace = true
            } else if context.argument(i, is: "absttl") {
                absoluteTTL = true
            } else if context.argument(i, is: "idletime") && additional >= 1 && frequency == nil {
                let v = try context.integer(i + 1)
                if v < 0 { throw RedisError.restoreInvalidIdletime }
                idle = v
                i += 1
            } else if context.argument(i, is: "freq") && additional >= 1 && idle == nil {
                let v = try context.integer(i + 1)
                if v < 0 || v > 255 { throw RedisError.restoreInvalidFreq }
                frequency = v
                i += 1
            } else {
                throw RedisError.syntax
            }
            i += 1
        }
        let key = context.arguments[1]
        // The BUSYKEY check comes before the TTL is parsed, as in Redis.
        if !replace && context.lookupWrite(key) != nil { throw RedisError.busyKey }
        var ttl = try context.integer(2)
        if ttl < 0 { throw RedisError.restoreInvalidTTL }
        let value: RDBDecodedValue
        do {
            value = try DumpPayload.decode(context.arguments[3].bytes, limits: Self.loadLimits(context))
        } catch .versionOrChecksum {
            throw RedisError.dumpPayloadInvalid
        } catch {
            throw RedisError.badDataFormat
        }
        let db = context.db
        var deleted = false
        if replace { deleted = key.withUnsafeReadableBytes { db.delete($0) } }
        if ttl != 0 && !absoluteTTL { ttl &+= context.now }
        if ttl != 0 && ttl <= context.now && !context.keyspace.loading {
            // Already expired: nothing is stored; a replaced key is gone.
            if deleted {
                context.notify(.generic, "del", key: key)
                context.dirty()
                context.propagate(["DEL", .bytes(key)])
            }
            context.out.writeOK()
            return
        }
        let entry = RDBReader.install(value, key: key.bytes, in: db, now: context.now)
        if ttl != 0 { db.setExpireTime(of: entry, to: ttl) }
        // As Redis's `objectSetLRUOrLFU`: FREQ applies under an LFU policy, IDLETIME under any other.
        if let idle, case .lru = context.keyspace.accessPolicy {
            RDBAccess.apply(to: entry, idle: idle, frequency: nil, policy: .lru, now: context.now)
        }
        if let frequency {
            RDBAccess.apply(
                to: entry,
                idle: nil,
                frequency: Int(frequency),
                policy: context.keyspace.accessPolicy,
                now: context.now
            )
        }
        context.notify(.generic, "restore", key: key)
        context.out.writeOK()
        context.dirty()
        if ttl != 0 && !absoluteTTL && context.propagating {
            // A relative TTL is written as the absolute time, with ABSTTL appended, as Redis does.
            var op = context.arguments
            op[2] = ByteBuffer(string: String(ttl))
            op.append(ByteBuffer(string: "ABSTTL"))
            context.propagate([op])
        }
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("dump", arity: 2, flags: [.readonly], keys: .init(1, 1, 1), group: "generic", run: dump),
        .init("restore", arity: -4, flags: [.write, .denyOOM], keys: .init(1, 1, 1), group: "generic", run: restore),
    ]
}
