import NIOCore
import SwiftletKeyspace
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A score interval `min max`, each end optionally exclusive with `(` (Redis's `zrangespec`).
struct ScoreRange {
    var min: Double
    var max: Double
    var minExclusive = false
    var maxExclusive = false

    @inline(__always)
    func gteMin(_ v: Double) -> Bool { self.minExclusive ? v > self.min : v >= self.min }
    @inline(__always)
    func lteMax(_ v: Double) -> Bool { self.maxExclusive ? v < self.max : v <= self.max }

    /// Whether no score can be in the range (`zslIsInRange`'s first test).
    var isEmpty: Bool { self.min > self.max || (self.min == self.max && (self.minExclusive || self.maxExclusive)) }

    init(min: Double, max: Double) {
        self.min = min
        self.max = max
    }

    /// Parses `min` and `max` as `zslParseRange`: C `strtod` up to the first NUL byte (so leading spaces, hex,
    /// `inf`, an empty string meaning 0 and overflow to infinity are all accepted), NaN rejected.
    init?(_ min: ByteBuffer, _ max: ByteBuffer) {
        guard let lo = ScoreRange.bound(min), let hi = ScoreRange.bound(max) else { return nil }
        (self.min, self.minExclusive) = lo
        (self.max, self.maxExclusive) = hi
    }

    private static func bound(_ text: ByteBuffer) -> (Double, Bool)? {
        text.withUnsafeReadableBytes { raw -> (Double, Bool)? in
            let exclusive = raw.count > 0 && raw[0] == UInt8(ascii: "(")
            let body = exclusive ? UnsafeRawBufferPointer(rebasing: raw[1...]) : raw
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: body.count + 1) { buffer in
                // Why `!`: the allocation has capacity ≥ 1.
                let base = buffer.baseAddress!
                if let source = body.baseAddress, body.count > 0 {
                    UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: body.count)
                }
                base[body.count] = 0
                var end: UnsafeMutablePointer<CChar>? = nil
                let value = strtod(base, &end)
                guard let end, end.pointee == 0, !value.isNaN else { return nil }
                return (value, exclusive)
            }
        }
    }
}

/// A lexicographic interval: `[a` inclusive, `(a` exclusive, `-` and `+` the ends (Redis's `zlexrangespec`).
struct LexRange {
    enum Bound {
        case minusInfinity
        case plusInfinity
        case value(ByteBuffer, exclusive: Bool)
    }

    var min: Bound
    var max: Bound

    /// Parses as `zslParseLexRange`; `nil` for anything that does not start with `[`, `(`, or is not `-`/`+`.
    init?(_ min: ByteBuffer, _ max: ByteBuffer) {
        guard let lo = LexRange.bound(min), let hi = LexRange.bound(max) else { return nil }
        self.min = lo
        self.max = hi
    }

    private static func bound(_ text: ByteBuffer) -> Bound? {
        guard let first = text.getInteger(at: text.readerIndex, as: UInt8.self) else { return nil }
        // C string semantics: `+` or `-` followed by a NUL byte is still a bare `+` or `-`.
        let alone = text.readableBytes == 1 || text.getInteger(at: text.readerIndex + 1, as: UInt8.self) == 0
        switch first {
        case UInt8(ascii: "+"): return alone ? .plusInfinity : nil
        case UInt8(ascii: "-"): return alone ? .minusInfinity : nil
        case UInt8(ascii: "("):
            return .value(text.getSlice(at: text.readerIndex + 1, length: text.readableBytes - 1)!, exclusive: true)
        case UInt8(ascii: "["):
            return .value(text.getSlice(at: text.readerIndex + 1, length: text.readableBytes - 1)!, exclusive: false)
        default: return nil
        }
    }

    /// `sdscmplex`: the `-` and `+` markers sort below and above every string.
    private static func compare(_ a: Bound, _ b: Bound) -> Int {
        switch (a, b) {
        case (.minusInfinity, .minusInfinity), (.plusInfinity, .plusInfinity): return 0
        case (.minusInfinity, _), (_, .plusInfinity): return -1
        case (.plusInfinity, _), (_, .minusInfinity): return 1
        case (.value(let x, _), .value(let y, _)):
            return x.withUnsafeReadableBytes { xs in y.withUnsafeReadableBytes { ys in LexRange.compare(xs, ys) } }
        }
    }

    @inline(__always)
    private static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = Swift.min(a.count, b.count)
        if n > 0 {
            // Why `!`: both are non-empty when n > 0.
            let c = memcmp(a.baseAddress!, b.baseAddress!, n)
            if c != 0 { return Int(c) }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// Whether no string can be in the range (`zslIsInLexRange`'s first test).
    var isEmpty: Bool {
        let c = LexRange.compare(self.min, self.max)
        let exclusive: Bool
        switch (self.min, self.max) {
        case (.value(_, let a), .value(_, let b)): exclusive = a || b
        default: exclusive = true  // the markers count as exclusive
        }
        return c > 0 || (c == 0 && exclusive)
    }

    func gteMin(_ node: SortedSetNode) -> Bool {
        switch self.min {
        case .minusInfinity: return true
        case .plusInfinity: return false
        case .value(let v, let exclusive):
            let c = node.withMember { m in v.withUnsafeReadableBytes { LexRange.compare(m, $0) } }
            return exclusive ? c > 0 : c >= 0
        }
    }

    func lteMax(_ node: SortedSetNode) -> Bool {
        switch self.max {
        case .minusInfinity: return false
        case .plusInfinity: return true
        case .value(let v, let exclusive):
            let c = node.withMember { m in v.withUnsafeReadableBytes { LexRange.compare(m, $0) } }
            return exclusive ? c < 0 : c <= 0
        }
    }
}

extension SortedSetCommands {
    enum RangeKind {
        case rank
        case score
        case lex
    }

    // MARK: - Locating ranges

    /// Rank of the first member in the score range, or `nil` (`zslFirstInRange`).
    static func firstInRange(_ zset: SortedSetValue, _ range: ScoreRange) -> Int? {
        guard !range.isEmpty, let last = zset.last, range.gteMin(last.score), let first = zset.first,
            range.lteMax(first.score)
        else { return nil }
        let rank = zset.countPrefix { score, _ in !range.gteMin(score) }
        guard rank < zset.count, range.lteMax(zset.node(at: rank).score) else { return nil }
        return rank
    }

    /// Rank of the last member in the score range, or `nil` (`zslLastInRange`).
    static func lastInRange(_ zset: SortedSetValue, _ range: ScoreRange) -> Int? {
        guard !range.isEmpty, let last = zset.last, range.gteMin(last.score), let first = zset.first,
            range.lteMax(first.score)
        else { return nil }
        let rank = zset.countPrefix { score, _ in range.lteMax(score) } - 1
        guard rank >= 0, range.gteMin(zset.node(at: rank).score) else { return nil }
        return rank
    }

    /// Whether the set can hold members of the lex range at all (`zslIsInLexRange`).
    static func mayHold(_ zset: SortedSetValue, _ range: LexRange) -> Bool {
        guard !range.isEmpty, let last = zset.last, range.gteMin(last), let first = zset.first, range.lteMax(first)
        else { return false }
        return true
    }

    /// Rank of the first member in the lex range, or `nil`. A `listpack` set is scanned from the head as Redis
    /// scans a listpack, so that sets with mixed scores (where lex ranges are undefined) answer as Redis does.
    static func firstInLexRange(_ zset: SortedSetValue, _ range: LexRange) -> Int? {
        guard Self.mayHold(zset, range) else { return nil }
        var rank = 0
        if zset.isListpack {
            var found: SortedSetNode?
            zset.walk { node in
                if range.gteMin(node) {
                    found = node
                    return false
                }
                rank += 1
                return true
            }
            guard let found, range.lteMax(found) else { return nil }
            return rank
        }
        rank = zset.countPrefix { _, node in !range.gteMin(node) }
        guard rank < zset.count, range.lteMax(zset.node(at: rank)) else { return nil }
        return rank
    }

    /// Rank of the last member in the lex range, or `nil` (scanning from the tail for a `listpack` set).
    static func lastInLexRange(_ zset: SortedSetValue, _ range: LexRange) -> Int? {
        guard Self.mayHold(zset, range) else { return nil }
        var rank = zset.count - 1
        if zset.isListpack {
            var found: SortedSetNode?
            zset.walk(from: rank, reverse: true) { node in
                if range.lteMax(node) {
                    found = node
                    return false
                }
                rank -= 1
                return true
            }
            guard let found, range.gteMin(found) else { return nil }
            return rank
        }
        rank = zset.countPrefix { _, node in range.lteMax(node) } - 1
        guard rank >= 0, range.gteMin(zset.node(at: rank)) else { return nil }
        return rank
    }

    /// Number of members from rank `start` on while `inRange` holds.
    static func countWhile(_ zset: SortedSetValue, from start: Int, _ inRange: (SortedSetNode) -> Bool) -> Int {
        var n = 0
        zset.walk(from: start) { node in
            guard inRange(node) else { return false }
            n += 1
            return true
        }
        return n
    }

    // MARK: - ZCOUNT / ZLEXCOUNT

    /// ZCOUNT key min max — O(log N)
    static func zcount(_ context: inout CommandContext) throws(RedisError) {
        guard let range = ScoreRange(context.arguments[2], context.arguments[3]) else {
            throw RedisError.zsetRangeNotFloat
        }
        guard let zset = try Self.read(context, context.arguments[1]), let first = Self.firstInRange(zset, range)
        else {
            context.out.writeInteger(0)
            return
        }
        let last = Self.lastInRange(zset, range) ?? (zset.count - 1)
        context.out.writeInteger(last - first + 1)
    }

    /// ZLEXCOUNT key min max — O(log N)
    static func zlexcount(_ context: inout CommandContext) throws(RedisError) {
        guard let range = LexRange(context.arguments[2], context.arguments[3]) else {
            throw RedisError.zsetRangeNotLex
        }
        guard let zset = try Self.read(context, context.arguments[1]), let first = Self.firstInLexRange(zset, range)
        else {
            context.out.writeInteger(0)
            return
        }
        if zset.isListpack {
            context.out.writeInteger(Self.countWhile(zset, from: first) { range.lteMax($0) })
        } else {
            let last = Self.lastInLexRange(zset, range) ?? (zset.count - 1)
            context.out.writeInteger(last - first + 1)
        }
    }

    // MARK: - ZRANGE and friends

    /// A parsed ZRANGE request.
    struct RangeRequest {
        var kind = RangeKind.rank
        var reverse = false
        var withScores = false
        var offset = 0
        var limit = -1
        var start = 0
        var end = 0
        var scores = ScoreRange(min: 0, max: 0)
        var lex: LexRange? = nil
    }

    /// Parses `<min> <max> [BYSCORE | BYLEX] [REV] [WITHSCORES] [LIMIT offset count]` after the source key at
    /// `keyIndex`, as `zrangeGenericCommand` does (a fixed `kind`/`reverse` for the legacy commands).
    static func parseRange(
        _ context: CommandContext,
        keyIndex: Int,
        store: Bool,
        kind fixedKind: RangeKind?,
        reverse fixedReverse: Bool?
    ) throws(RedisError) -> RangeRequest {
        var request = RangeRequest()
        var kind = fixedKind
        var reverse = fixedReverse
        var hasLimit = false
        var j = keyIndex + 3
        while j < context.count {
            let left = context.count - j - 1
            if !store && context.argument(j, is: "withscores") {
                request.withScores = true
            } else if context.argument(j, is: "limit") && left >= 2 {
                request.offset = try Self.long(context, j + 1)
                request.limit = try Self.long(context, j + 2)
                hasLimit = true
                j += 2
            } else if reverse == nil && context.argument(j, is: "rev") {
                reverse = true
            } else if kind == nil && context.argument(j, is: "bylex") {
                kind = .lex
            } else if kind == nil && context.argument(j, is: "byscore") {
                kind = .score
            } else {
                throw RedisError.syntax
            }
            j += 1
        }
        request.kind = kind ?? .rank
        request.reverse = reverse ?? false
        // Redis remembers LIMIT by its count: `LIMIT 0 -1` counts as no LIMIT.
        if hasLimit && request.limit != -1 && request.kind == .rank {
            throw RedisError.zrangeLimitNeedsByScoreOrLex
        }
        if request.withScores && request.kind == .lex { throw RedisError.zrangeWithScoresAndByLex }
        var minIndex = keyIndex + 1
        var maxIndex = keyIndex + 2
        if request.reverse && request.kind != .rank { swap(&minIndex, &maxIndex) }
        switch request.kind {
        case .rank:
            request.start = try Self.long(context, minIndex)
            request.end = try Self.long(context, maxIndex)
        case .score:
            guard let range = ScoreRange(context.arguments[minIndex], context.arguments[maxIndex]) else {
                throw RedisError.zsetRangeNotFloat
            }
            request.scores = range
        case .lex:
            guard let range = LexRange(context.arguments[minIndex], context.arguments[maxIndex]) else {
                throw RedisError.zsetRangeNotLex
            }
            request.lex = range
        }
        return request
    }

    /// The members of the range, in reply order.
    static func select(_ zset: SortedSetValue, _ request: RangeRequest) -> [SortedSetNode] {
        var nodes: [SortedSetNode] = []
        let length = zset.count
        switch request.kind {
        case .rank:
            var start = request.start
            var end = request.end
            if start < 0 { start += length }
            if end < 0 { end += length }
            if start < 0 { start = 0 }
            if start > end || start >= length { return [] }
            if end >= length { end = length - 1 }
            var n = end - start + 1
            nodes.reserveCapacity(n)
            zset.walk(from: request.reverse ? length - 1 - start : start, reverse: request.reverse) { node in
                nodes.append(node)
                n -= 1
                return n > 0
            }
        case .score, .lex:
            if request.kind == .score && request.offset > 0 && request.offset >= length { return [] }
            let begin: Int?
            if request.kind == .score {
                begin =
                    request.reverse
                    ? Self.lastInRange(zset, request.scores) : Self.firstInRange(zset, request.scores)
            } else {
                // Why `!`: a lex request always carries its range.
                begin =
                    request.reverse
                    ? Self.lastInLexRange(zset, request.lex!) : Self.firstInLexRange(zset, request.lex!)
            }
            // A negative offset walks off the end in Redis: nothing is returned.
            guard var rank = begin, request.offset >= 0 else { return [] }
            rank += request.reverse ? -request.offset : request.offset
            var limit = request.limit
            if limit == 0 { return [] }
            zset.walk(from: rank, reverse: request.reverse) { node in
                let inRange: Bool
                if request.kind == .score {
                    inRange = request.reverse ? request.scores.gteMin(node.score) : request.scores.lteMax(node.score)
                } else {
                    inRange = request.reverse ? request.lex!.gteMin(node) : request.lex!.lteMax(node)
                }
                guard inRange else { return false }
                nodes.append(node)
                limit -= 1
                return limit != 0
            }
        }
        return nodes
    }

    /// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES] — O(log N + M)
    /// (also ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX)
    static func zrange(_ context: inout CommandContext, kind: RangeKind?, reverse: Bool?) throws(RedisError) {
        let request = try Self.parseRange(context, keyIndex: 1, store: false, kind: kind, reverse: reverse)
        guard let zset = try Self.read(context, context.arguments[1]) else {
            context.out.writeArrayHeader(0)
            return
        }
        Self.writeNodes(&context.out, Self.select(zset, request), withScores: request.withScores)
    }

    /// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count] — O(log N + M)
    static func zrangestore(_ context: inout CommandContext) throws(RedisError) {
        let request = try Self.parseRange(context, keyIndex: 2, store: true, kind: nil, reverse: nil)
        let nodes = try Self.read(context, context.arguments[2]).map { Self.select($0, request) } ?? []
        let destination = context.arguments[1]
        guard !nodes.isEmpty else {
            context.out.writeInteger(0)
            if Self.deleteKey(context, destination) {
                context.dirty()
                context.notify(.generic, "del", key: destination)
            }
            return
        }
        // Redis starts the destination as a listpack unless a rank range is known to be too long, then adds
        // member by member, converting when a member does not fit.
        let limits = Self.limits(context)
        let result = SortedSetValue(listpack: !(request.kind == .rank && nodes.count > limits.entries))
        for node in nodes {
            _ = node.withMember { result.add($0, score: node.score, limits: limits) }
        }
        Self.store(context, destination, result)
        context.out.writeInteger(result.count)
        context.notify(.zset, "zrangestore", key: destination)
        context.dirty()
    }

    // MARK: - ZREMRANGEBY*

    /// ZREMRANGEBYRANK key start stop / ZREMRANGEBYSCORE key min max / ZREMRANGEBYLEX key min max
    /// — O(log N + M)
    static func zremrange(_ context: inout CommandContext, kind: RangeKind) throws(RedisError) {
        var start = 0
        var end = 0
        var scores = ScoreRange(min: 0, max: 0)
        var lex: LexRange?
        switch kind {
        case .rank:
            start = try Self.long(context, 2)
            end = try Self.long(context, 3)
        case .score:
            guard let r = ScoreRange(context.arguments[2], context.arguments[3]) else {
                throw RedisError.zsetRangeNotFloat
            }
            scores = r
        case .lex:
            guard let r = LexRange(context.arguments[2], context.arguments[3]) else {
                throw RedisError.zsetRangeNotLex
            }
            lex = r
        }
        let key = context.arguments[1]
        guard let zset = try Self.write(context, key) else {
            context.out.writeInteger(0)
            return
        }
        var first = 0
        var count = 0
        switch kind {
        case .rank:
            let length = zset.count
            if start < 0 { start += length }
            if end < 0 { end += length }
            if start < 0 { start = 0 }
            if start > end || start >= length {
                context.out.writeInteger(0)
                return
            }
            if end >= length { end = length - 1 }
            first = start
            count = end - start + 1
        case .score:
            if let f = Self.firstInRange(zset, scores) {
                first = f
                count = Self.countWhile(zset, from: f) { scores.lteMax($0.score) }
            }
        case .lex:
            // Why `!`: set above for a lex range.
            let range = lex!
            if zset.isListpack {
                if let f = Self.firstInLexRange(zset, range) {
                    first = f
                    count = Self.countWhile(zset, from: f) { range.lteMax($0) }
                }
            } else {
                // `zslDeleteRangeByLex` starts at the first member ≥ min without the whole-range check.
                first = zset.countPrefix { _, node in !range.gteMin(node) }
                count = Self.countWhile(zset, from: first) { range.lteMax($0) }
            }
        }
        zset.removeRange(from: first, count: count)
        if count > 0 {
            let event: StaticString
            switch kind {
            case .rank: event = "zremrangebyrank"
            case .score: event = "zremrangebyscore"
            case .lex: event = "zremrangebylex"
            }
            context.notify(.zset, event, key: key)
        }
        Self.deleteIfEmpty(context, key, zset)
        context.out.writeInteger(count)
        if count > 0 { context.dirty(count) }
    }
}
