import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The string family: GET, SET and friends, counters, ranges, LCS.
public enum StringCommands {
    // MARK: - Expire options shared by SET and GETEX

    /// What SET/GETEX was asked to do with the time to live.
    enum ExpireOption {
        case none
        case persist
        /// Relative (`EX`, `PX`) or absolute (`EXAT`, `PXAT`) time; `seconds` scales the argument by 1000.
        case at(argument: Int, seconds: Bool, relative: Bool)
    }

    /// Converts an EX/PX/EXAT/PXAT argument to absolute unix milliseconds, with Redis's checks and texts.
    static func expireMilliseconds(_ context: CommandContext, _ option: ExpireOption) throws(RedisError) -> Int64? {
        guard case .at(let index, let seconds, let relative) = option else { return nil }
        var ms = try context.integer(index)
        let name = context.commandName
        if ms <= 0 || (seconds && ms > Int64.max / 1000) { throw RedisError.invalidExpireTime(name) }
        if seconds { ms *= 1000 }
        if relative { ms = ms &+ context.now }
        if ms <= 0 { throw RedisError.invalidExpireTime(name) }
        return ms
    }

    // MARK: - GET / SET

    /// GET key — O(1)
    static func get(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeNull()
            return
        }
        guard entry.withStringBytes({ context.out.writeBulkString($0) }) != nil else { throw RedisError.wrongType }
    }

    /// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
    /// PXAT unix-time-milliseconds | KEEPTTL] — O(1)
    static func set(_ context: inout CommandContext) throws(RedisError) {
        let options = try Self.parseOptions(context, from: 3, forSet: true)
        let at = try Self.expireMilliseconds(context, options.expire)
        let key = context.arguments[1]
        if options.get {
            // As Redis's `getGenericCommand` first: a read (hit or miss, and its access), then the write's lookup.
            if let old = context.lookupRead(key) {
                guard old.withStringBytes({ context.out.writeBulkString($0) }) != nil else {
                    throw RedisError.wrongType
                }
            } else {
                context.out.writeNull()
            }
        }
        let existing = context.lookupWrite(key)
        if (options.nx && existing != nil) || (options.xx && existing == nil) {
            if !options.get { context.out.writeNull() }
            return
        }
        Self.store(&context, key: key, value: context.arguments[2], keepTTL: options.keepTTL, expireAt: at)
        if !options.get { context.out.writeOK() }
        if context.propagating {
            if let at {
                // As Redis: `SET key value PXAT <ms>`, whatever else was given.
                context.propagate(["SET", .bytes(key), .bytes(context.arguments[2]), "PXAT", .integer(at)])
            } else if options.get {
                var op = context.arguments
                for i in stride(from: op.count - 1, through: 3, by: -1) where context.argument(i, is: "get") {
                    op.remove(at: i)
                }
                context.propagate([op])
            }
        }
    }

    /// The options of SET and GETEX.
    struct Options {
        var nx = false
        var xx = false
        var get = false
        var keepTTL = false
        var persist = false
        var expire = ExpireOption.none
        /// Which of EX, PX, EXAT, PXAT was given (1...4), 0 for none: the same one may repeat, the last wins.
        var expireKind = 0
    }

    /// Parses SET/GETEX options with Redis's rules: repeating an option is allowed, combining conflicting ones
    /// (NX with XX, two different expiry forms, KEEPTTL or PERSIST with an expiry) is a syntax error.
    static func parseOptions(_ context: CommandContext, from start: Int, forSet: Bool) throws(RedisError) -> Options {
        var o = Options()
        var i = start
        while i < context.count {
            let hasNext = i + 1 < context.count
            var kind = 0
            if context.argument(i, is: "ex") {
                kind = 1
            } else if context.argument(i, is: "px") {
                kind = 2
            } else if context.argument(i, is: "exat") {
                kind = 3
            } else if context.argument(i, is: "pxat") {
                kind = 4
            }
            if context.argument(i, is: "nx") && !o.xx && forSet {
                o.nx = true
            } else if context.argument(i, is: "xx") && !o.nx && forSet {
                o.xx = true
            } else if context.argument(i, is: "get") && forSet {
                o.get = true
            } else if context.argument(i, is: "keepttl") && !o.persist && o.expireKind == 0 && forSet {
                o.keepTTL = true
            } else if context.argument(i, is: "persist") && !forSet && o.expireKind == 0 && !o.keepTTL {
                o.persist = true
            } else if kind > 0 && !o.keepTTL && !o.persist && (o.expireKind == 0 || o.expireKind == kind) && hasNext {
                o.expireKind = kind
                o.expire = .at(argument: i + 1, seconds: kind == 1 || kind == 3, relative: kind <= 2)
                i += 1
            } else {
                throw RedisError.syntax
            }
            i += 1
        }
        return o
    }

    /// Writes a string value and its expiry, counting the change.
    static func store(
        _ context: inout CommandContext,
        key: ByteBuffer,
        value: ByteBuffer,
        keepTTL: Bool = false,
        expireAt: Int64? = nil
    ) {
        let db = context.db
        let now = context.now
        key.withUnsafeReadableBytes { k in
            value.withUnsafeReadableBytes { v in
                let entry = db.setString(k, v, keepTTL: keepTTL, now: now)
                if let expireAt { db.setExpireTime(of: entry, to: expireAt) }
            }
        }
        context.notify(.string, "set", key: key)
        if expireAt != nil { context.notify(.generic, "expire", key: key) }
        context.dirty()
    }

    /// SETNX key value — O(1)
    static func setnx(_ context: inout CommandContext) throws(RedisError) {
        if context.lookupWrite(context.arguments[1]) != nil {
            context.out.writeInteger(0)
            return
        }
        Self.store(&context, key: context.arguments[1], value: context.arguments[2])
        context.out.writeInteger(1)
    }

    /// SETEX key seconds value / PSETEX key milliseconds value — O(1)
    static func setex(_ context: inout CommandContext, seconds: Bool) throws(RedisError) {
        let at = try Self.expireMilliseconds(context, .at(argument: 2, seconds: seconds, relative: true))
        Self.store(&context, key: context.arguments[1], value: context.arguments[3], expireAt: at)
        context.out.writeOK()
        if let at {
            context.propagate(["SET", .bytes(context.arguments[1]), .bytes(context.arguments[3]), "PXAT", .integer(at)])
        }
    }

    /// GETSET key value — O(1)
    static func getset(_ context: inout CommandContext) throws(RedisError) {
        let key = context.arguments[1]
        if let existing = context.lookupWrite(key) {
            guard existing.withStringBytes({ context.out.writeBulkString($0) }) != nil else {
                throw RedisError.wrongType
            }
        } else {
            context.notify(.keyMiss, "keymiss", key: key)
            context.out.writeNull()
        }
        Self.store(&context, key: key, value: context.arguments[2])
        context.propagate(["SET", .bytes(key), .bytes(context.arguments[2])])
    }

    /// GETDEL key — O(1)
    static func getdel(_ context: inout CommandContext) throws(RedisError) {
        let key = context.arguments[1]
        guard let entry = context.lookupRead(key) else {
            context.out.writeNull()
            return
        }
        guard entry.withStringBytes({ context.out.writeBulkString($0) }) != nil else { throw RedisError.wrongType }
        _ = key.withUnsafeReadableBytes { context.db.delete($0) }
        context.notify(.generic, "del", key: key)
        context.dirty()
        context.propagate(["DEL", .bytes(key)])
    }

    /// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]
    /// — O(1)
    static func getex(_ context: inout CommandContext) throws(RedisError) {
        let options = try Self.parseOptions(context, from: 2, forSet: false)
        let option = options.persist ? ExpireOption.persist : options.expire
        let key = context.arguments[1]
        // As Redis's getexCommand: a missing key (nil) and a wrong type come before the expire value's checks.
        guard let entry = context.lookupRead(key) else {
            context.out.writeNull()
            return
        }
        guard entry.isString else { throw RedisError.wrongType }
        let at = try Self.expireMilliseconds(context, option)
        _ = entry.withStringBytes { context.out.writeBulkString($0) }
        let db = context.db
        if let at {
            if at <= context.now && !context.keyspace.loading {
                _ = key.withUnsafeReadableBytes { db.delete($0) }
                context.notify(.generic, "del", key: key)
                context.propagate(["DEL", .bytes(key)])
            } else {
                db.setExpireTime(of: entry, to: at)
                context.notify(.generic, "expire", key: key)
                context.propagate(["PEXPIREAT", .bytes(key), .integer(at)])
            }
            context.dirty()
        } else if case .persist = option, db.removeExpireTime(of: entry) {
            context.notify(.generic, "persist", key: key)
            context.dirty()
            context.propagate(["PERSIST", .bytes(key)])
        }
    }

    // MARK: - Multiple keys

    /// MGET key [key ...] — O(N)
    static func mget(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeArrayHeader(context.count - 1)
        for i in 1..<context.count {
            if let entry = context.lookupRead(context.arguments[i]),
                entry.withStringBytes({ context.out.writeBulkString($0) }) != nil
            {
                continue
            }
            context.out.writeNull()
        }
    }

    /// MSET key value [key value ...] / MSETNX — O(N)
    static func mset(_ context: inout CommandContext, onlyIfNoneExist: Bool) throws(RedisError) {
        guard context.count % 2 == 1 else {
            throw RedisError.wrongArity(onlyIfNoneExist ? "msetnx" : "mset")
        }
        if onlyIfNoneExist {
            for i in stride(from: 1, to: context.count, by: 2) where context.lookupWrite(context.arguments[i]) != nil {
                context.out.writeInteger(0)
                return
            }
        }
        for i in stride(from: 1, to: context.count, by: 2) {
            if !onlyIfNoneExist { context.countOverwriteAccess(context.arguments[i]) }
            Self.store(&context, key: context.arguments[i], value: context.arguments[i + 1])
        }
        if onlyIfNoneExist { context.out.writeInteger(1) } else { context.out.writeOK() }
    }

    // MARK: - Lengths and ranges

    /// The largest string a command may create (`proto-max-bulk-len`).
    static func checkLength(_ context: CommandContext, _ offset: Int64, plus extra: Int = 0) throws(RedisError) {
        let (length, overflow) = offset.addingReportingOverflow(Int64(extra))
        if overflow || length > Int64(context.server.hot.protoMaxBulkLen) { throw RedisError.stringTooLong }
    }

    /// APPEND key value — O(1) amortized
    static func append(_ context: inout CommandContext) throws(RedisError) {
        let key = context.arguments[1]
        let value = context.arguments[2]
        guard let entry = context.lookupWrite(key) else {
            // A new key is encoded as SET would (`int`, `embstr`, `raw`: Redis's tryObjectEncoding); appending to
            // it later makes it `raw`.
            _ = key.withUnsafeReadableBytes { k in
                value.withUnsafeReadableBytes { context.db.setString(k, $0, keepTTL: true, now: context.now) }
            }
            context.notify(.string, "append", key: key)
            context.dirty()
            context.out.writeInteger(value.readableBytes)
            return
        }
        guard let old = entry.stringLength else { throw RedisError.wrongType }
        try Self.checkLength(context, Int64(old), plus: value.readableBytes)
        let length = Self.mutateRaw(entry) { $0.append(contentsOf: value.readableBytesView) }
        context.notify(.string, "append", key: key)
        context.dirty()
        context.out.writeInteger(length)
    }

    /// Turns the entry's string into the `raw` encoding and mutates it in place (no copy of the bytes kept
    /// elsewhere: the array is moved out of the entry, changed, and moved back). Returns the new length.
    static func mutateRaw(_ entry: Entry, _ change: (inout [UInt8]) -> Void) -> Int {
        var bytes: [UInt8]
        if case .raw(let existing) = entry.value {
            bytes = existing
            entry.value = .int(0)  // drop the entry's reference so `bytes` is unique
        } else {
            bytes = entry.stringBytes ?? []
        }
        change(&bytes)
        let count = bytes.count
        entry.value = .raw(bytes)
        return count
    }

    /// STRLEN key — O(1)
    static func strlen(_ context: inout CommandContext) throws(RedisError) {
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeInteger(0)
            return
        }
        guard let length = entry.stringLength else { throw RedisError.wrongType }
        context.out.writeInteger(length)
    }

    /// GETRANGE key start end (and SUBSTR) — O(N)
    static func getrange(_ context: inout CommandContext) throws(RedisError) {
        var start = try context.integer(2)
        var end = try context.integer(3)
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeBulkString([])
            return
        }
        let written: Void? = entry.withStringBytes { bytes in
            let length = Int64(bytes.count)
            if start < 0 && end < 0 && start > end {
                context.out.writeBulkString([])
                return
            }
            if start < 0 { start = length + start }
            if end < 0 { end = length + end }
            if start < 0 { start = 0 }
            if end < 0 { end = 0 }
            if end >= length { end = length - 1 }
            if start > end || length == 0 {
                context.out.writeBulkString([])
            } else {
                context.out.writeBulkString(UnsafeRawBufferPointer(rebasing: bytes[Int(start)...Int(end)]))
            }
        }
        if written == nil { throw RedisError.wrongType }
    }

    /// SETRANGE key offset value — O(1) (plus the copy when the string grows)
    static func setrange(_ context: inout CommandContext) throws(RedisError) {
        let key = context.arguments[1]
        let value = context.arguments[3]
        let offset = try context.integer(2)
        if offset < 0 { throw RedisError.offsetOutOfRange }
        guard let entry = context.lookupWrite(key) else {
            if value.readableBytes == 0 {
                context.out.writeInteger(0)
                return
            }
            try Self.checkLength(context, offset, plus: value.readableBytes)
            var bytes = [UInt8](repeating: 0, count: Int(offset))
            bytes.append(contentsOf: value.readableBytesView)
            _ = key.withUnsafeReadableBytes { context.db.set($0, .raw(bytes), now: context.now) }
            context.notify(.string, "setrange", key: key)
            context.dirty()
            context.out.writeInteger(bytes.count)
            return
        }
        guard let old = entry.stringLength else { throw RedisError.wrongType }
        if value.readableBytes == 0 {
            context.out.writeInteger(old)
            return
        }
        try Self.checkLength(context, offset, plus: value.readableBytes)
        let length = Self.mutateRaw(entry) { bytes in
            let end = Int(offset) + value.readableBytes
            if bytes.count < end { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
            bytes.replaceSubrange(Int(offset)..<end, with: value.readableBytesView)
        }
        context.notify(.string, "setrange", key: key)
        context.dirty()
        context.out.writeInteger(length)
    }

    // MARK: - Counters

    /// INCR / DECR / INCRBY / DECRBY — O(1)
    static func incrBy(_ context: inout CommandContext, _ increment: Int64) throws(RedisError) {
        let key = context.arguments[1]
        let entry = context.lookupWrite(key)
        var value: Int64 = 0
        if let entry {
            guard entry.isString else { throw RedisError.wrongType }
            guard let v = entry.integerValue else { throw RedisError.notInteger }
            value = v
        }
        let (result, overflow) = value.addingReportingOverflow(increment)
        if overflow { throw RedisError.overflow }
        if let entry {
            entry.value = .int(result)
        } else {
            _ = key.withUnsafeReadableBytes { context.db.set($0, .int(result), now: context.now) }
        }
        context.notify(.string, "incrby", key: key)
        context.dirty()
        context.out.writeInteger(Int(result))
    }

    static func incrbyArgument(_ context: inout CommandContext, negate: Bool) throws(RedisError) {
        let increment = try context.integer(2)
        if negate && increment == Int64.min { throw RedisError.decrementOverflow }
        try Self.incrBy(&context, negate ? -increment : increment)
    }

    /// INCRBYFLOAT key increment — O(1)
    static func incrbyfloat(_ context: inout CommandContext) throws(RedisError) {
        let key = context.arguments[1]
        let entry = context.lookupWrite(key)
        var value: LongDouble = 0
        if let entry {
            guard let v = entry.withStringBytes({ NumberFormat.parseLongDouble($0) }) else {
                throw RedisError.wrongType
            }
            guard let v else { throw RedisError.notFloat }
            value = v
        }
        guard let increment = context.arguments[2].withUnsafeReadableBytes({ NumberFormat.parseLongDouble($0) })
        else { throw RedisError.notFloat }
        value += increment
        if value.isNaN || value.isInfinite { throw RedisError.nanOrInfinity }
        let text = NumberFormat.formatLongDouble(value)
        text.withUnsafeBytes { v in
            _ = key.withUnsafeReadableBytes { k in
                context.db.setString(k, v, keepTTL: true, encodeIntegers: false, now: context.now)
            }
        }
        context.notify(.string, "incrbyfloat", key: key)
        context.dirty()
        context.out.writeBulkString(text)
        if context.propagating {
            // Float formatting may differ between machines: the result is written, not the increment.
            context.propagate(["SET", .bytes(key), .bytes(ByteBuffer(bytes: text)), "KEEPTTL"])
        }
    }

    // MARK: - LCS

    /// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN] — O(N*M)
    static func lcs(_ context: inout CommandContext) throws(RedisError) {
        let ea = context.lookupRead(context.arguments[1])
        let eb = context.lookupRead(context.arguments[2])
        if (ea != nil && !ea!.isString) || (eb != nil && !eb!.isString) {
            throw RedisError.lcsNeedsStrings
        }
        let a = ea?.stringBytes ?? []
        let b = eb?.stringBytes ?? []
        var getLength = false
        var getIndexes = false
        var withMatchLength = false
        var minMatchLength: Int64 = 0
        var i = 3
        while i < context.count {
            if context.argument(i, is: "idx") {
                getIndexes = true
            } else if context.argument(i, is: "len") {
                getLength = true
            } else if context.argument(i, is: "withmatchlen") {
                withMatchLength = true
            } else if context.argument(i, is: "minmatchlen") && i + 1 < context.count {
                minMatchLength = max(0, try context.integer(i + 1))
                i += 1
            } else {
                throw RedisError.syntax
            }
            i += 1
        }
        if getIndexes && getLength {
            throw RedisError.lcsLenAndIdx
        }
        if Int64(a.count + 1) * Int64(b.count + 1) * 4 > Int64(context.server.hot.protoMaxBulkLen) {
            throw RedisError.lcsTooLarge
        }
        let result = LCS(a, b)
        if !getIndexes {
            if getLength {
                context.out.writeInteger(result.length)
            } else {
                context.out.writeBulkString(result.sequence())
            }
            return
        }
        let matches = result.matches().filter { Int64($0.length) >= minMatchLength }
        context.out.writeMapHeader(2)
        context.out.writeBulkString("matches")
        context.out.writeArrayHeader(matches.count)
        for m in matches {
            context.out.writeArrayHeader(withMatchLength ? 3 : 2)
            context.out.writeArrayHeader(2)
            context.out.writeInteger(m.a)
            context.out.writeInteger(m.a + m.length - 1)
            context.out.writeArrayHeader(2)
            context.out.writeInteger(m.b)
            context.out.writeInteger(m.b + m.length - 1)
            if withMatchLength { context.out.writeInteger(m.length) }
        }
        context.out.writeBulkString("len")
        context.out.writeInteger(result.length)
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("get", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "string", run: get),
        .init("set", arity: -3, flags: [.write, .denyOOM], keys: .init(1, 1, 1), group: "string", run: set),
        .init("setnx", arity: 3, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "string", run: setnx),
        .init("setex", arity: 4, flags: [.write, .denyOOM], keys: .init(1, 1, 1), group: "string") {
            c throws(RedisError) in try setex(&c, seconds: true)
        },
        .init("psetex", arity: 4, flags: [.write, .denyOOM], keys: .init(1, 1, 1), group: "string") {
            c throws(RedisError) in try setex(&c, seconds: false)
        },
        .init(
            "getset",
            arity: 3,
            flags: [.write, .denyOOM, .fast],
            keys: .init(1, 1, 1),
            group: "string",
            run: getset
        ),
        .init("getdel", arity: 2, flags: [.write, .fast], keys: .init(1, 1, 1), group: "string", run: getdel),
        .init("getex", arity: -2, flags: [.write, .fast], keys: .init(1, 1, 1), group: "string", run: getex),
        .init("mget", arity: -2, flags: [.readonly, .fast], keys: .init(1, -1, 1), group: "string", run: mget),
        .init("mset", arity: -3, flags: [.write, .denyOOM], keys: .init(1, -1, 2), group: "string") {
            c throws(RedisError) in try mset(&c, onlyIfNoneExist: false)
        },
        .init("msetnx", arity: -3, flags: [.write, .denyOOM], keys: .init(1, -1, 2), group: "string") {
            c throws(RedisError) in try mset(&c, onlyIfNoneExist: true)
        },
        .init(
            "append",
            arity: 3,
            flags: [.write, .denyOOM, .fast],
            keys: .init(1, 1, 1),
            group: "string",
            run: append
        ),
        .init("strlen", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "string", run: strlen),
        .init("getrange", arity: 4, flags: [.readonly], keys: .init(1, 1, 1), group: "string", run: getrange),
        .init("substr", arity: 4, flags: [.readonly], keys: .init(1, 1, 1), group: "string", run: getrange),
        .init("setrange", arity: 4, flags: [.write, .denyOOM], keys: .init(1, 1, 1), group: "string", run: setrange),
        .init("incr", arity: 2, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "string") {
            c throws(RedisError) in try incrBy(&c, 1)
        },
        .init("decr", arity: 2, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "string") {
            c throws(RedisError) in try incrBy(&c, -1)
        },
        .init("incrby", arity: 3, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "string") {
            c throws(RedisError) in try incrbyArgument(&c, negate: false)
        },
        .init("decrby", arity: 3, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "string") {
            c throws(RedisError) in try incrbyArgument(&c, negate: true)
        },
        .init(
            "incrbyfloat",
            arity: 3,
            flags: [.write, .denyOOM, .fast],
            keys: .init(1, 1, 1),
            group: "string",
            run: incrbyfloat
        ),
        .init("lcs", arity: -3, flags: [.readonly], keys: .init(1, 2, 1), group: "string", run: lcs),
    ]
}

/// Longest common subsequence by dynamic programming (the table Redis's LCS builds).
struct LCS {
    let a: [UInt8]
    let b: [UInt8]
    /// (a.count + 1) x (b.count + 1) lengths, row-major by `a`.
    let table: [UInt32]

    init(_ a: [UInt8], _ b: [UInt8]) {
        self.a = a
        self.b = b
        let width = b.count + 1
        var t = [UInt32](repeating: 0, count: (a.count + 1) * width)
        if !a.isEmpty && !b.isEmpty {
            for i in 1...a.count {
                for j in 1...b.count {
                    if a[i - 1] == b[j - 1] {
                        t[i * width + j] = t[(i - 1) * width + j - 1] + 1
                    } else {
                        t[i * width + j] = max(t[(i - 1) * width + j], t[i * width + j - 1])
                    }
                }
            }
        }
        self.table = t
    }

    var length: Int { Int(self.table[self.a.count * (self.b.count + 1) + self.b.count]) }

    /// The common subsequence, recovered from the end as Redis does (ties prefer moving in `a`).
    func sequence() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: self.length)
        var k = self.length
        var i = self.a.count
        var j = self.b.count
        let width = self.b.count + 1
        while i > 0 && j > 0 {
            if self.a[i - 1] == self.b[j - 1] {
                k -= 1
                out[k] = self.a[i - 1]
                i -= 1
                j -= 1
            } else if self.table[(i - 1) * width + j] > self.table[i * width + j - 1] {
                i -= 1
            } else {
                j -= 1
            }
        }
        return out
    }

    /// Matching ranges, from the end of the strings to the start, as Redis reports them with IDX.
    func matches() -> [(a: Int, b: Int, length: Int)] {
        var result: [(a: Int, b: Int, length: Int)] = []
        var i = self.a.count
        var j = self.b.count
        let width = self.b.count + 1
        var current: (aEnd: Int, bEnd: Int, length: Int)?
        while i > 0 && j > 0 {
            if self.a[i - 1] == self.b[j - 1] {
                if let c = current, c.aEnd - c.length == i - 1, c.bEnd - c.length == j - 1 {
                    current = (c.aEnd, c.bEnd, c.length + 1)
                } else {
                    if let c = current { result.append((c.aEnd - c.length + 1, c.bEnd - c.length + 1, c.length)) }
                    current = (i - 1, j - 1, 1)
                }
                i -= 1
                j -= 1
            } else if self.table[(i - 1) * width + j] > self.table[i * width + j - 1] {
                i -= 1
            } else {
                j -= 1
            }
        }
        if let c = current { result.append((c.aEnd - c.length + 1, c.bEnd - c.length + 1, c.length)) }
        return result
    }
}
