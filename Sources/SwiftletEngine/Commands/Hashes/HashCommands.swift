import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The hash family: HSET and friends, counters, random fields, HSCAN.
public enum HashCommands {
    // MARK: - Lookup helpers

    /// The hash under argument `index` for reading; `nil` when the key is missing.
    /// - Throws: `WRONGTYPE` when the key holds another type.
    static func readHash(_ context: CommandContext, _ index: Int = 1) throws(RedisError) -> HashValue? {
        guard let entry = context.lookupRead(context.arguments[index]) else { return nil }
        guard case .hash(let hash) = entry.value else { throw RedisError.wrongType }
        return hash
    }

    /// The hash under argument 1 for writing; `nil` when the key is missing.
    static func writeHash(_ context: CommandContext) throws(RedisError) -> HashValue? {
        guard let entry = context.lookupWrite(context.arguments[1]) else { return nil }
        guard case .hash(let hash) = entry.value else { throw RedisError.wrongType }
        return hash
    }

    /// The hash under argument 1, created empty (and stored) when missing (Redis's `hashTypeLookupWriteOrCreate`).
    /// The caller adds at least one field before it replies.
    static func writeOrCreateHash(_ context: CommandContext) throws(RedisError) -> HashValue {
        if let hash = try Self.writeHash(context) { return hash }
        let hash = HashValue()
        context.arguments[1].withUnsafeReadableBytes { _ = context.db.set($0, .hash(hash), now: context.now) }
        return hash
    }

    /// The listpack limits from CONFIG; read only when a hash is still `listpack`-encoded.
    static func limits(_ context: CommandContext) -> HashLimits {
        let hot = context.server.hot
        return HashLimits(maxEntries: hot.hashMaxListpackEntries, maxValue: hot.hashMaxListpackValue)
    }

    /// The limits to pass to ``HashValue/set(_:_:limits:)``: unused (and not read) once the hash is a hashtable.
    @inline(__always)
    static func limits(_ context: CommandContext, for hash: HashValue) -> HashLimits {
        hash.isPacked ? Self.limits(context) : HashLimits(maxEntries: .max, maxValue: .max)
    }

    // MARK: - HSET / HSETNX / HMSET

    /// HSET key field value [field value ...] — O(N); HMSET replies `+OK` instead of the count of new fields.
    static func hset(_ context: inout CommandContext, legacy: Bool) throws(RedisError) {
        guard context.count % 2 == 0 else { throw RedisError.wrongArity(legacy ? "hmset" : "hset") }
        let hash = try Self.writeOrCreateHash(context)
        let limits = Self.limits(context, for: hash)
        var created = 0
        for i in stride(from: 2, to: context.count, by: 2) {
            let isNew = context.arguments[i].withUnsafeReadableBytes { field in
                context.arguments[i + 1].withUnsafeReadableBytes { value in
                    hash.set(field, value, limits: limits)
                }
            }
            if isNew { created += 1 }
        }
        if legacy { context.out.writeOK() } else { context.out.writeInteger(created) }
        context.notify(.hash, "hset", key: context.arguments[1])
        context.dirty((context.count - 2) / 2)
    }

    /// HSETNX key field value — O(1)
    static func hsetnx(_ context: inout CommandContext) throws(RedisError) {
        let hash = try Self.writeHash(context)
        let field = context.arguments[2]
        if let hash, field.withUnsafeReadableBytes({ hash.contains($0) }) {
            context.out.writeInteger(0)
            return
        }
        let target: HashValue
        if let hash { target = hash } else { target = try Self.writeOrCreateHash(context) }
        let limits = Self.limits(context, for: target)
        field.withUnsafeReadableBytes { f in
            context.arguments[3].withUnsafeReadableBytes { v in _ = target.set(f, v, limits: limits) }
        }
        context.out.writeInteger(1)
        context.notify(.hash, "hset", key: context.arguments[1])
        context.dirty()
    }

    // MARK: - Reads

    /// HGET key field — O(1)
    static func hget(_ context: inout CommandContext) throws(RedisError) {
        guard let hash = try Self.readHash(context) else {
            context.out.writeNull()
            return
        }
        context.arguments[2].withUnsafeReadableBytes { field in
            if let value = hash.value(of: field) {
                context.out.writeBulkString(value)
            } else {
                context.out.writeNull()
            }
        }
    }

    /// HMGET key field [field ...] — O(N)
    static func hmget(_ context: inout CommandContext) throws(RedisError) {
        let hash = try Self.readHash(context)
        context.out.writeArrayHeader(context.count - 2)
        for i in 2..<context.count {
            context.arguments[i].withUnsafeReadableBytes { field in
                if let value = hash?.value(of: field) {
                    context.out.writeBulkString(value)
                } else {
                    context.out.writeNull()
                }
            }
        }
    }

    /// HLEN key — O(1)
    static func hlen(_ context: inout CommandContext) throws(RedisError) {
        context.out.writeInteger(try Self.readHash(context)?.count ?? 0)
    }

    /// HSTRLEN key field — O(1)
    static func hstrlen(_ context: inout CommandContext) throws(RedisError) {
        let hash = try Self.readHash(context)
        let length = context.arguments[2].withUnsafeReadableBytes { hash?.value(of: $0)?.count } ?? 0
        context.out.writeInteger(length)
    }

    /// HEXISTS key field — O(1)
    static func hexists(_ context: inout CommandContext) throws(RedisError) {
        let hash = try Self.readHash(context)
        let found = context.arguments[2].withUnsafeReadableBytes { hash?.contains($0) } ?? false
        context.out.writeInteger(found ? 1 : 0)
    }

    /// What HKEYS, HVALS and HGETALL list.
    enum Part {
        case fields, values, both
    }

    /// HKEYS key / HVALS key / HGETALL key — O(N). HGETALL is a map in RESP3.
    static func getAll(_ context: inout CommandContext, _ part: Part) throws(RedisError) {
        let hash = try Self.readHash(context)
        let count = hash?.count ?? 0
        if case .both = part {
            context.out.writeMapHeader(count)
        } else {
            context.out.writeArrayHeader(count)
        }
        hash?.forEachPair { field, value in
            switch part {
            case .fields:
                context.out.writeBulkString(field)
            case .values:
                context.out.writeBulkString(value)
            case .both:
                context.out.writeBulkString(field)
                context.out.writeBulkString(value)
            }
        }
    }

    // MARK: - HDEL

    /// HDEL key field [field ...] — O(N)
    static func hdel(_ context: inout CommandContext) throws(RedisError) {
        guard let hash = try Self.writeHash(context) else {
            context.out.writeInteger(0)
            return
        }
        context.removeEachArgument(from: hash, event: (.hash, "hdel")) { hash.remove($0) }
    }

    // MARK: - Counters

    /// HINCRBY key field increment — O(1)
    static func hincrby(_ context: inout CommandContext) throws(RedisError) {
        let increment = try context.integer(3)
        let existing = try Self.writeHash(context)
        let field = context.arguments[2]
        var value: Int64 = 0
        if let existing, let old = field.withUnsafeReadableBytes({ existing.value(of: $0) }) {
            guard let v = NumberFormat.parseInt64(old) else { throw RedisError.hashValueNotInteger }
            value = v
        }
        let (result, overflow) = value.addingReportingOverflow(increment)
        if overflow { throw RedisError.overflow }
        let hash: HashValue
        if let existing { hash = existing } else { hash = try Self.writeOrCreateHash(context) }
        let limits = Self.limits(context, for: hash)
        DecimalText.withDigits(of: result) { digits in
            field.withUnsafeReadableBytes { _ = hash.set($0, digits, limits: limits) }
        }
        context.out.writeInteger(Int(result))
        context.notify(.hash, "hincrby", key: context.arguments[1])
        context.dirty()
    }

    /// HINCRBYFLOAT key field increment — O(1)
    static func hincrbyfloat(_ context: inout CommandContext) throws(RedisError) {
        guard let increment = context.arguments[3].withUnsafeReadableBytes({ NumberFormat.parseLongDouble($0) })
        else { throw RedisError.notFloat }
        if increment.isNaN || increment.isInfinite { throw RedisError.valueIsNaNOrInfinity }
        let existing = try Self.writeHash(context)
        let field = context.arguments[2]
        var value: LongDouble = 0
        if let existing, let old = field.withUnsafeReadableBytes({ existing.value(of: $0) }) {
            guard let v = NumberFormat.parseLongDouble(old) else { throw RedisError.hashValueNotFloat }
            value = v
        }
        value += increment
        if value.isNaN || value.isInfinite { throw RedisError.nanOrInfinity }
        let text = NumberFormat.formatLongDouble(value)
        let hash: HashValue
        if let existing { hash = existing } else { hash = try Self.writeOrCreateHash(context) }
        let limits = Self.limits(context, for: hash)
        text.withUnsafeBytes { v in
            field.withUnsafeReadableBytes { _ = hash.set($0, v, limits: limits) }
        }
        context.out.writeBulkString(text)
        context.notify(.hash, "hincrbyfloat", key: context.arguments[1])
        context.dirty()
        if context.propagating {
            context.propagate(["HSET", .bytes(context.arguments[1]), .bytes(field), .bytes(ByteBuffer(bytes: text))])
        }
    }

    // MARK: - HRANDFIELD

    /// HRANDFIELD key [count [WITHVALUES]] — O(N) where N is the count
    static func hrandfield(_ context: inout CommandContext) throws(RedisError) {
        guard context.count >= 3 else {
            guard let hash = try Self.readHash(context) else {
                context.out.writeNull()
                return
            }
            var rng = SplitMix64(seededFrom: &context.server.keyspace.rng)
            // Why `!`: a stored hash is never empty.
            context.out.writeBulkString(hash.randomPair(using: &rng)!.field)
            return
        }
        let l = try context.integer(2)
        if l == Int64.min { throw RedisError.countOutOfRange }
        var withValues = false
        if context.count > 4 || (context.count == 4 && !context.argument(3, is: "withvalues")) {
            throw RedisError.syntax
        } else if context.count == 4 {
            withValues = true
            if l < -(Int64.max / 2) || l > Int64.max / 2 { throw RedisError.valueOutOfRange }
        }
        guard let hash = try Self.readHash(context) else {
            context.out.writeArrayHeader(0)
            return
        }
        let count = Int(l.magnitude)
        if count == 0 {
            context.out.writeArrayHeader(0)
            return
        }
        var rng = SplitMix64(seededFrom: &context.server.keyspace.rng)
        let nested = withValues && context.out.version == .resp3
        let replyCount = l < 0 || count == 1 ? count : min(count, hash.count)
        context.out.writeArrayHeader(withValues && !nested ? replyCount * 2 : replyCount)
        func emit(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
            if nested { context.out.writeArrayHeader(2) }
            context.out.writeBulkString(field)
            if withValues { context.out.writeBulkString(value) }
        }
        // Negative count (or 1): independent picks, repetitions allowed.
        if l < 0 || count == 1 {
            for _ in 0..<count {
                // Why `!`: a stored hash is never empty.
                let (field, value) = hash.randomPair(using: &rng)!
                emit(field, value)
            }
            return
        }
        // The whole hash.
        if count >= hash.count {
            hash.forEachPair(emit)
            return
        }
        // Distinct picks. The buffers stay valid: nothing mutates the hash during the command.
        if count * 3 > hash.count || hash.isPacked {
            var all: [(UnsafeRawBufferPointer, UnsafeRawBufferPointer)] = []
            all.reserveCapacity(hash.count)
            hash.forEachPair { all.append(($0, $1)) }
            for i in 0..<count {
                all.swapAt(i, i + Int(rng.next(upperBound: UInt64(all.count - i))))
                emit(all[i].0, all[i].1)
            }
            return
        }
        var seen = Set<UnsafeRawPointer?>()
        seen.reserveCapacity(count)
        while seen.count < count {
            // Why `!`: a stored hash is never empty.
            let (field, value) = hash.randomPair(using: &rng)!
            if seen.insert(field.baseAddress).inserted { emit(field, value) }
        }
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("hset", arity: -4, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "hash") {
            c throws(RedisError) in try hset(&c, legacy: false)
        },
        .init("hmset", arity: -4, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "hash") {
            c throws(RedisError) in try hset(&c, legacy: true)
        },
        .init("hsetnx", arity: 4, flags: [.write, .denyOOM, .fast], keys: .init(1, 1, 1), group: "hash", run: hsetnx),
        .init("hget", arity: 3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "hash", run: hget),
        .init("hmget", arity: -3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "hash", run: hmget),
        .init("hdel", arity: -3, flags: [.write, .fast], keys: .init(1, 1, 1), group: "hash", run: hdel),
        .init("hlen", arity: 2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "hash", run: hlen),
        .init("hstrlen", arity: 3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "hash", run: hstrlen),
        .init("hexists", arity: 3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "hash", run: hexists),
        .init("hkeys", arity: 2, flags: [.readonly], keys: .init(1, 1, 1), group: "hash") { c throws(RedisError) in
            try getAll(&c, .fields)
        },
        .init("hvals", arity: 2, flags: [.readonly], keys: .init(1, 1, 1), group: "hash") { c throws(RedisError) in
            try getAll(&c, .values)
        },
        .init("hgetall", arity: 2, flags: [.readonly], keys: .init(1, 1, 1), group: "hash") { c throws(RedisError) in
            try getAll(&c, .both)
        },
        .init(
            "hincrby",
            arity: 4,
            flags: [.write, .denyOOM, .fast],
            keys: .init(1, 1, 1),
            group: "hash",
            run: hincrby
        ),
        .init(
            "hincrbyfloat",
            arity: 4,
            flags: [.write, .denyOOM, .fast],
            keys: .init(1, 1, 1),
            group: "hash",
            run: hincrbyfloat
        ),
        .init("hrandfield", arity: -2, flags: [.readonly], keys: .init(1, 1, 1), group: "hash", run: hrandfield),
        .init("hscan", arity: -3, flags: [.readonly], keys: .init(1, 1, 1), group: "hash", run: hscan),
    ]
}
