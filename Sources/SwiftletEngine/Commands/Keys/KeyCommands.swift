import NIOCore
import SwiftletConfig
import SwiftletKeyspace
import SwiftletRESP

/// The generic family: commands on keys of any type (DEL, EXISTS, RENAME, KEYS, SCAN, expiry, OBJECT, ...).
public enum KeyCommands {
    /// The name `TYPE` reports for a value.
    static func typeName(_ entry: Entry) -> String {
        entry.value.typeName
    }

    /// The name `OBJECT ENCODING` reports for a value.
    static func encodingName(_ entry: Entry) -> String {
        switch entry.value {
        case .embedded: return "embstr"
        case .int: return "int"
        case .raw: return "raw"
        default: return entry.value.collection?.encodingName ?? "raw"
        }
    }

    // MARK: - DEL / UNLINK / EXISTS / TOUCH / TYPE

    /// DEL key [key ...] and UNLINK key [key ...] — O(N)
    static func del(_ context: inout CommandContext) throws(RedisError) {
        var deleted = 0
        let db = context.db
        let now = context.now
        for i in 1..<context.count {
            let removed = context.arguments[i].withUnsafeReadableBytes { key in
                db.lookup(key, now: now, touch: false) != nil && db.delete(key)
            }
            if removed {
                deleted += 1
                context.notify(.generic, "del", key: context.arguments[i])
            }
        }
        context.dirty(deleted)
        context.out.writeInteger(deleted)
    }

    /// EXISTS key [key ...] — O(N); a key named twice counts twice.
    static func exists(_ context: inout CommandContext) throws(RedisError) {
        var found = 0
        for i in 1..<context.count {
            let hit = context.arguments[i].withUnsafeReadableBytes {
                context.db.lookup($0, now: context.now, touch: false) != nil
            }
            if hit { found += 1 } else { context.notify(.keyMiss, "keymiss", key: context.arguments[i]) }
        }
        context.out.writeInteger(found)
    }

    /// TOUCH key [key ...] — O(N)
    static func touch(_ context: inout CommandContext) throws(RedisError) {
        var found = 0
        for i in 1..<context.count where context.lookupRead(context.arguments[i]) != nil { found += 1 }
        context.out.writeInteger(found)
    }

    /// TYPE key — O(1)
    static func type(_ context: inout CommandContext) throws(RedisError) {
        let entry = context.arguments[1].withUnsafeReadableBytes {
            context.db.lookup($0, now: context.now, touch: false)
        }
        if entry == nil { context.notify(.keyMiss, "keymiss", key: context.arguments[1]) }
        context.out.writeSimpleString(entry.map(Self.typeName) ?? "none")
    }

    // MARK: - RENAME / MOVE / COPY

    /// RENAME key newkey / RENAMENX key newkey — O(1)
    static func rename(_ context: inout CommandContext, onlyIfAbsent: Bool) throws(RedisError) {
        let source = context.arguments[1]
        let destination = context.arguments[2]
        guard context.lookupWrite(source) != nil else { throw RedisError.noSuchKey }
        if source.readableBytesView.elementsEqual(destination.readableBytesView) {
            if onlyIfAbsent { context.out.writeInteger(0) } else { context.out.writeOK() }
            return
        }
        let db = context.db
        if context.lookupWrite(destination) != nil {
            if onlyIfAbsent {
                context.out.writeInteger(0)
                return
            }
            _ = destination.withUnsafeReadableBytes { db.delete($0) }
        }
        // `take` cannot fail: the source was found above and nothing ran in between.
        let (entry, expireAt) = source.withUnsafeReadableBytes { db.take($0) }!
        destination.withUnsafeReadableBytes { db.insert($0, from: entry, expireAt: expireAt) }
        context.notify(.generic, "rename_from", key: source)
        context.notify(.generic, "rename_to", key: destination)
        context.dirty()
        if onlyIfAbsent { context.out.writeInteger(1) } else { context.out.writeOK() }
    }

    /// A database index argument for MOVE/COPY: an `int`, then a range check.
    static func targetDatabase(_ context: CommandContext, _ index: Int) throws(RedisError) -> Database {
        context.keyspace[try context.databaseIndex(index)]
    }

    /// MOVE key db — O(1)
    static func move(_ context: inout CommandContext) throws(RedisError) {
        let target = try Self.targetDatabase(context, 2)
        let source = context.db
        if target === source { throw RedisError.sameObject }
        let key = context.arguments[1]
        guard context.lookupWrite(key) != nil, context.lookupWrite(key, in: target) == nil else {
            context.out.writeInteger(0)
            return
        }
        key.withUnsafeReadableBytes { k in
            let (entry, expireAt) = source.take(k)!  // found just above
            target.insert(k, from: entry, expireAt: expireAt)
        }
        context.notify(.generic, "move_from", key: key, database: source.index)
        context.notify(.generic, "move_to", key: key, database: target.index)
        // The key changed in the other database too: its watchers there lose their EXEC (the dispatcher's touch
        // covers the client's own database only).
        context.server.touchWatched(database: target.index, key: key.bytes)
        context.dirty()
        context.out.writeInteger(1)
    }

    /// COPY source destination [DB destination-db] [REPLACE] — O(N) for collections
    static func copy(_ context: inout CommandContext) throws(RedisError) {
        var replace = false
        var target = context.db
        var i = 3
        while i < context.count {
            if context.argument(i, is: "replace") {
                replace = true
            } else if context.argument(i, is: "db") && i + 1 < context.count {
                target = try Self.targetDatabase(context, i + 1)
                i += 1
            } else {
                throw RedisError.syntax
            }
            i += 1
        }
        let source = context.arguments[1]
        let destination = context.arguments[2]
        if target === context.db && source.readableBytesView.elementsEqual(destination.readableBytesView) {
            throw RedisError.sameObject
        }
        guard let entry = context.lookupRead(source) else {
            context.out.writeInteger(0)
            return
        }
        let expireAt = context.db.expireTime(of: entry)
        if context.lookupWrite(destination, in: target) != nil {
            guard replace else {
                context.out.writeInteger(0)
                return
            }
            _ = destination.withUnsafeReadableBytes { target.delete($0) }
        }
        destination.withUnsafeReadableBytes {
            target.insert($0, from: entry, expireAt: expireAt, deepCopy: true, now: context.now)
        }
        context.notify(.generic, "copy_to", key: destination, database: target.index)
        if target.index != context.session.database {
            context.server.touchWatched(database: target.index, key: destination.bytes)
        }
        context.dirty()
        context.out.writeInteger(1)
    }

    // MARK: - KEYS / SCAN / RANDOMKEY / DBSIZE

    /// KEYS pattern — O(N)
    static func keys(_ context: inout CommandContext) throws(RedisError) {
        let pattern = context.arguments[1].bytes
        let all = pattern == [UInt8(ascii: "*")]
        let now = context.now
        let db = context.db
        var found: [[UInt8]] = []
        var expired: [[UInt8]] = []
        pattern.withUnsafeBytes { p in
            db.table.visitAll { entry in
                entry.withKey { key in
                    guard all || Glob.match(pattern: p, string: key) else { return }
                    if let at = db.expireTime(of: entry), at <= now {
                        expired.append(Array(key))
                    } else {
                        found.append(Array(key))
                    }
                }
            }
        }
        for key in expired { key.withUnsafeBytes { _ = db.lookup($0, now: now, touch: false) } }
        context.out.writeArrayHeader(found.count)
        for key in found { context.out.writeBulkString(key) }
    }

    /// Parses a SCAN cursor as Redis does with `strtoul`: optional sign, decimal digits; an empty string is 0,
    /// a negative number wraps around; anything else (or overflow) is `ERR invalid cursor`.
    static func cursor(_ buffer: ByteBuffer) throws(RedisError) -> UInt64 {
        var bytes = buffer.readableBytesView[...]
        guard let first = bytes.first else { return 0 }
        var negative = false
        if first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
            guard !bytes.isEmpty else { throw RedisError.invalidCursor }
        }
        var value: UInt64 = 0
        for b in bytes {
            guard b >= 48 && b <= 57 else { throw RedisError.invalidCursor }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b - 48))
            if o1 || o2 { throw RedisError.invalidCursor }
            value = a
        }
        return negative ? 0 &- value : value
    }

    /// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] — O(1) per call
    static func scan(_ context: inout CommandContext) throws(RedisError) {
        let start = try Self.cursor(context.arguments[1])
        var count = 10
        var pattern: [UInt8]?
        var typeFilter: String?
        var i = 2
        while i < context.count {
            let remaining = context.count - i - 1
            if context.argument(i, is: "count") && remaining >= 1 {
                let v = try context.integer(i + 1)
                if v < 1 { throw RedisError.syntax }
                count = Int(clamping: v)
                i += 2
            } else if context.argument(i, is: "match") && remaining >= 1 {
                pattern = context.arguments[i + 1].bytes
                i += 2
            } else if context.argument(i, is: "type") && remaining >= 1 {
                typeFilter = String(buffer: context.arguments[i + 1]).lowercased()
                i += 2
            } else {
                throw RedisError.syntax
            }
        }
        let db = context.db
        var keys: [[UInt8]] = []
        var cursor = start
        var iterations = count * 10
        repeat {
            cursor = db.table.scan(cursor) { entry in keys.append(entry.keyBytes) }
            iterations -= 1
        } while cursor != 0 && iterations > 0 && keys.count < count
        let now = context.now
        if pattern == [UInt8(ascii: "*")] { pattern = nil }
        keys = keys.filter { key in
            key.withUnsafeBytes { k in
                if let pattern, !pattern.withUnsafeBytes({ Glob.match(pattern: $0, string: k) }) { return false }
                guard let entry = db.lookup(k, now: now, touch: false) else { return false }
                if let typeFilter, Self.typeName(entry) != typeFilter { return false }
                return true
            }
        }
        context.out.writeArrayHeader(2)
        context.out.writeBulkString(String(cursor))
        context.out.writeArrayHeader(keys.count)
        for key in keys { context.out.writeBulkString(key) }
    }

    /// RANDOMKEY — O(1)
    static func randomkey(_ context: inout CommandContext) throws(RedisError) {
        let db = context.db
        var tries = 100
        while let entry = db.table.randomEntry(using: &context.server.keyspace.rng) {
            let key = entry.keyBytes
            // When every key has a TTL, give up deleting after 100 tries and return what we found, as Redis.
            if db.expiresCount == db.count {
                tries -= 1
                if tries == 0 {
                    context.out.writeBulkString(key)
                    return
                }
            }
            if key.withUnsafeBytes({ db.lookup($0, now: context.now, touch: false) }) != nil {
                context.out.writeBulkString(key)
                return
            }
        }
        context.out.writeNull()
    }

    /// DBSIZE — O(1)
    static func dbsize(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeInteger(context.db.count)
    }

    /// FLUSHDB [ASYNC | SYNC] / FLUSHALL [ASYNC | SYNC] — O(N)
    static func flush(_ context: inout CommandContext, all: Bool) throws(RedisError) {
        if context.count > 2 { throw RedisError.syntax }
        if context.count == 2 && !context.argument(1, is: "sync") && !context.argument(1, is: "async") {
            throw RedisError.syntax
        }
        let server = context.server
        let targets = all ? context.keyspace.databases : [context.db]
        for db in targets {
            server.touchAllWatched(database: db.index) { db.peek($0) != nil }
            context.dirty(db.count)
            db.removeAll()
        }
        context.forcePropagation()
        // As Redis's `flushAllDataAndResetRDB`: FLUSHALL stops a background save and, with save points, saves the
        // empty dataset at once.
        if all { server.resetRDBAfterFlushAll() }
        context.out.writeOK()
        server.trackingInvalidateAll(context: &context)
    }

    // MARK: - Expiry

    /// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT key time [NX | XX | GT | LT] — O(1)
    static func expire(_ context: inout CommandContext, seconds: Bool, relative: Bool) throws(RedisError) {
        var nx = false
        var xx = false
        var gt = false
        var lt = false
        for i in 3..<max(3, context.count) {
            if context.argument(i, is: "nx") {
                nx = true
            } else if context.argument(i, is: "xx") {
                xx = true
            } else if context.argument(i, is: "gt") {
                gt = true
            } else if context.argument(i, is: "lt") {
                lt = true
            } else {
                throw RedisError.unsupportedOption(context.arguments[i].readableBytesView)
            }
        }
        if nx && (xx || gt || lt) {
            throw RedisError.expireNXWithOthers
        }
        if gt && lt { throw RedisError.expireGTAndLT }
        var when = try context.integer(2)
        let name = context.commandName
        if seconds {
            if when > Int64.max / 1000 || when < Int64.min / 1000 { throw RedisError.invalidExpireTime(name) }
            when *= 1000
        }
        if relative {
            if when > Int64.max - context.now { throw RedisError.invalidExpireTime(name) }
            when += context.now
        }
        let key = context.arguments[1]
        guard let entry = context.lookupWrite(key) else {
            context.out.writeInteger(0)
            return
        }
        let db = context.db
        let current = db.expireTime(of: entry)
        if (nx && current != nil) || (xx && current == nil) || (gt && (current == nil || when <= current!))
            || (lt && current != nil && when >= current!)
        {
            context.out.writeInteger(0)
            return
        }
        context.dirty()
        if when <= context.now && !context.keyspace.loading {
            _ = key.withUnsafeReadableBytes { db.delete($0) }
            context.notify(.generic, "del", key: key)
            context.out.writeInteger(1)
            context.propagate(["DEL", .bytes(key)])
        } else {
            db.setExpireTime(of: entry, to: when)
            context.out.writeInteger(1)
            context.notify(.generic, "expire", key: key)
            if context.propagating && (seconds || relative) {
                // As Redis: PEXPIREAT with the absolute time, the NX/XX/GT/LT options kept.
                var op = context.arguments
                op[0] = ByteBuffer(string: "PEXPIREAT")
                op[2] = ByteBuffer(string: String(when))
                context.propagate([op])
            }
        }
    }

    /// TTL / PTTL / EXPIRETIME / PEXPIRETIME key — O(1)
    static func ttl(_ context: inout CommandContext, milliseconds: Bool, absolute: Bool) throws(RedisError) {
        let entry = context.arguments[1].withUnsafeReadableBytes {
            context.db.lookup($0, now: context.now, touch: false)
        }
        guard let entry else {
            context.notify(.keyMiss, "keymiss", key: context.arguments[1])
            context.out.writeInteger(-2)
            return
        }
        guard let at = context.db.expireTime(of: entry) else {
            context.out.writeInteger(-1)
            return
        }
        let ttl = max(0, absolute ? at : at - context.now)
        context.out.writeInteger(Int(milliseconds ? ttl : (ttl + 500) / 1000))
    }

    /// PERSIST key — O(1)
    static func persist(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = context.lookupWrite(context.arguments[1]) else {
            context.out.writeInteger(0)
            return
        }
        let removed = context.db.removeExpireTime(of: entry)
        if removed {
            context.notify(.generic, "persist", key: context.arguments[1])
            context.dirty()
        }
        context.out.writeInteger(removed ? 1 : 0)
    }

    // MARK: - OBJECT

    static func objectLookup(_ context: inout CommandContext) -> Entry? {
        let entry = context.arguments[2].withUnsafeReadableBytes {
            context.db.lookup($0, now: context.now, touch: false)
        }
        if entry == nil { context.out.writeNull() }
        return entry
    }

    /// OBJECT ENCODING key — O(1)
    static func objectEncoding(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = Self.objectLookup(&context) else { return }
        context.out.writeBulkString(Self.encodingName(entry))
    }

    /// OBJECT IDLETIME key — O(1)
    static func objectIdletime(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = Self.objectLookup(&context) else { return }
        if case .lfu = context.keyspace.accessPolicy {
            throw RedisError.idleTimeNotTracked
        }
        context.out.writeInteger(Int(context.keyspace.idleSeconds(entry, now: context.now)))
    }

    /// OBJECT FREQ key — O(1)
    static func objectFreq(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = Self.objectLookup(&context) else { return }
        guard case .lfu = context.keyspace.accessPolicy else {
            throw RedisError.frequencyNotTracked
        }
        context.out.writeInteger(context.keyspace.frequency(entry, now: context.now))
    }

    /// OBJECT REFCOUNT key — O(1). Small integers are shared objects in Redis and report `INT_MAX`.
    static func objectRefcount(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = Self.objectLookup(&context) else { return }
        if case .int(let v) = entry.value, v >= 0, v < 10000, context.server.config.sharesIntegers {
            context.out.writeInteger(Int(Int32.max))
        } else {
            context.out.writeInteger(1)
        }
    }

    static func help(_ lines: [String], _ context: inout CommandContext) {
        context.out.writeArrayHeader(lines.count)
        for line in lines { context.out.writeSimpleString(line) }
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("del", arity: -2, flags: [.write], keys: .init(1, -1, 1), group: "generic", run: del),
        .init("unlink", arity: -2, flags: [.write, .fast], keys: .init(1, -1, 1), group: "generic", run: del),
        .init("exists", arity: -2, flags: [.readonly, .fast], keys: .init(1, -1, 1), group: "generic", run: exists),
        .init("touch", arity: -2, flags: [.readonly, .fast], keys: .init(1, -1, 1), group: "generic", run: touch),
        .init("type", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "generic", run: type),
        .init("rename", arity: 3, flags: [.write], keys: .init(1, 2, 1), group: "generic") { c throws(RedisError) in
            try rename(&c, onlyIfAbsent: false)
        },
        .init("renamenx", arity: 3, flags: [.write, .fast], keys: .init(1, 2, 1), group: "generic") {
            c throws(RedisError) in try rename(&c, onlyIfAbsent: true)
        },
        .init("move", arity: 3, flags: [.write, .fast], keys: .init(1, 1, 1), group: "generic", run: move),
        .init("copy", arity: -3, flags: [.write, .denyOOM], keys: .init(1, 2, 1), group: "generic", run: copy),
        .init("keys", arity: 2, flags: [.readonly], group: "generic", run: keys),
        .init("scan", arity: -2, flags: [.readonly], group: "generic", run: scan),
        .init("randomkey", arity: 1, flags: [.readonly], group: "generic", run: randomkey),
        .init("dbsize", arity: 1, flags: [.readonly, .fast], group: "server", run: dbsize),
        .init("flushdb", arity: -1, flags: [.write], group: "server") { c throws(RedisError) in
            try flush(&c, all: false)
        },
        .init("flushall", arity: -1, flags: [.write], group: "server") { c throws(RedisError) in
            try flush(&c, all: true)
        },
        .init("expire", arity: -3, flags: [.write, .fast], keys: .init(1, 1, 1), group: "generic") {
            c throws(RedisError) in try expire(&c, seconds: true, relative: true)
        },
        .init("pexpire", arity: -3, flags: [.write, .fast], keys: .init(1, 1, 1), group: "generic") {
            c throws(RedisError) in try expire(&c, seconds: false, relative: true)
        },
        .init("expireat", arity: -3, flags: [.write, .fast], keys: .init(1, 1, 1), group: "generic") {
            c throws(RedisError) in try expire(&c, seconds: true, relative: false)
        },
        .init("pexpireat", arity: -3, flags: [.write, .fast], keys: .init(1, 1, 1), group: "generic") {
            c throws(RedisError) in try expire(&c, seconds: false, relative: false)
        },
        .init("ttl", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "generic") {
            c throws(RedisError) in try ttl(&c, milliseconds: false, absolute: false)
        },
        .init("pttl", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "generic") {
            c throws(RedisError) in try ttl(&c, milliseconds: true, absolute: false)
        },
        .init("expiretime", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "generic") {
            c throws(RedisError) in try ttl(&c, milliseconds: false, absolute: true)
        },
        .init("pexpiretime", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "generic") {
            c throws(RedisError) in try ttl(&c, milliseconds: true, absolute: true)
        },
        .init("persist", arity: 2, flags: [.write, .fast], keys: .init(1, 1, 1), group: "generic", run: persist),
        .init(
            "object",
            arity: -2,
            flags: [],
            group: "generic",
            subcommands: [
                .init(
                    "encoding",
                    arity: 3,
                    flags: [.readonly],
                    keys: .init(2, 2, 1),
                    group: "generic",
                    run: objectEncoding
                ),
                .init("freq", arity: 3, flags: [.readonly], keys: .init(2, 2, 1), group: "generic", run: objectFreq),
                .init(
                    "idletime",
                    arity: 3,
                    flags: [.readonly],
                    keys: .init(2, 2, 1),
                    group: "generic",
                    run: objectIdletime
                ),
                .init(
                    "refcount",
                    arity: 3,
                    flags: [.readonly],
                    keys: .init(2, 2, 1),
                    group: "generic",
                    run: objectRefcount
                ),
                .init("help", arity: 2, flags: [.loading, .stale], group: "generic") { c throws(RedisError) in
                    help(HelpText.object, &c)
                },
            ]
        ),
    ]
}
