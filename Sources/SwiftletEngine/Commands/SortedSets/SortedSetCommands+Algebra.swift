import NIOCore
import SwiftletKeyspace
import SwiftletRESP

extension SortedSetCommands {
    enum SetOperation {
        case union
        case inter
        case diff
    }

    enum Aggregate {
        case sum
        case min
        case max
    }

    /// One input of ZUNION/ZINTER/ZDIFF: a sorted set, a plain set (every member scores 1), or a missing key.
    struct AlgebraSource {
        enum Value {
            case missing
            case zset(SortedSetValue)
            case set(SetValue)
        }

        var value: Value
        var weight = 1.0

        var count: Int {
            switch self.value {
            case .missing: return 0
            case .zset(let z): return z.count
            case .set(let s): return s.count
            }
        }

        func score(of member: UnsafeRawBufferPointer) -> Double? {
            switch self.value {
            case .missing: return nil
            case .zset(let z): return z.score(of: member)
            case .set(let s): return s.contains(member) ? 1 : nil
            }
        }

        /// Calls `body` with every member and score until it returns `false`. Sorted sets are walked from the
        /// highest rank down, as Redis's iterator does (it matters only for ZINTERCARD's LIMIT, not for results).
        func visit(_ body: (UnsafeRawBufferPointer, Double) -> Bool) {
            switch self.value {
            case .missing:
                return
            case .zset(let z):
                z.walk(from: z.count - 1, reverse: true) { node in node.withMember { body($0, node.score) } }
            case .set(let s):
                var going = true
                s.forEachMember { member in
                    if going { going = body(member, 1) }
                }
            }
        }
    }

    /// `zunionInterAggregate`: a sum of +inf and -inf is 0, not NaN.
    @inline(__always)
    static func aggregate(_ target: inout Double, _ value: Double, _ how: Aggregate) {
        switch how {
        case .sum:
            target += value
            if target.isNaN { target = 0 }
        case .min:
            target = value < target ? value : target
        case .max:
            target = value > target ? value : target
        }
    }

    /// ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]
    /// ZINTER / ZDIFF numkeys key [key ...] [WITHSCORES] / ZINTERCARD numkeys key [key ...] [LIMIT limit]
    /// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE destination numkeys key [key ...] [...] — O(N) + O(M log M)
    static func algebra(
        _ context: inout CommandContext,
        _ operation: SetOperation,
        store: Bool,
        cardinalityOnly: Bool = false
    ) throws(RedisError) {
        let numkeysIndex = store ? 2 : 1
        let setnum = try Self.long(context, numkeysIndex)
        if setnum < 1 { throw RedisError.zsetNeedsInputKey(context.commandName) }
        if setnum > context.count - (numkeysIndex + 1) { throw RedisError.syntax }

        // Inputs are looked up (and type-checked) before the options are parsed, as Redis does.
        var sources: [AlgebraSource] = []
        sources.reserveCapacity(setnum)
        for j in numkeysIndex + 1..<numkeysIndex + 1 + setnum {
            guard let entry = context.lookupRead(context.arguments[j]) else {
                sources.append(AlgebraSource(value: .missing))
                continue
            }
            switch entry.value {
            case .sortedSet(let z): sources.append(AlgebraSource(value: .zset(z)))
            case .set(let s): sources.append(AlgebraSource(value: .set(s)))
            default: throw RedisError.wrongType
            }
        }

        var how = Aggregate.sum
        var withScores = false
        var limit = 0
        var j = numkeysIndex + 1 + setnum
        while j < context.count {
            let remaining = context.count - j
            if operation != .diff && !cardinalityOnly && remaining >= setnum + 1 && context.argument(j, is: "weights") {
                j += 1
                for i in 0..<setnum {
                    guard let w = context.arguments[j].withUnsafeReadableBytes({ NumberFormat.parseDouble($0) })
                    else { throw RedisError.zsetWeightNotFloat }
                    sources[i].weight = w
                    j += 1
                }
            } else if operation != .diff && !cardinalityOnly && remaining >= 2 && context.argument(j, is: "aggregate") {
                if context.argument(j + 1, is: "sum") {
                    how = .sum
                } else if context.argument(j + 1, is: "min") {
                    how = .min
                } else if context.argument(j + 1, is: "max") {
                    how = .max
                } else {
                    throw RedisError.syntax
                }
                j += 2
            } else if !store && !cardinalityOnly && context.argument(j, is: "withscores") {
                withScores = true
                j += 1
            } else if cardinalityOnly && remaining >= 2 && context.argument(j, is: "limit") {
                guard let v = context.arguments[j + 1].int64, v >= 0 else { throw RedisError.zsetLimitNegative }
                limit = Int(v)
                j += 2
            } else {
                throw RedisError.syntax
            }
        }

        if operation != .diff {
            // Smallest input first, keeping the given order among equals (glibc's qsort is a stable merge sort
            // here, and the order of a floating-point sum shows in the result).
            sources = sources.enumerated().sorted { a, b in
                a.element.count != b.element.count ? a.element.count < b.element.count : a.offset < b.offset
            }.map(\.element)
        }

        var results: [(member: [UInt8], score: Double)] = []
        var cardinality = 0
        switch operation {
        case .inter:
            guard sources[0].count > 0 else { break }
            sources[0].visit { member, value in
                var score = sources[0].weight * value
                if score.isNaN { score = 0 }
                for k in 1..<sources.count {
                    guard let other = sources[k].score(of: member) else { return true }
                    Self.aggregate(&score, other * sources[k].weight, how)
                }
                if cardinalityOnly {
                    cardinality += 1
                    return limit == 0 || cardinality < limit
                }
                results.append((Array(member), score))
                return true
            }
        case .union:
            var accumulator: [[UInt8]: Double] = [:]
            accumulator.reserveCapacity(sources.last?.count ?? 0)
            for source in sources {
                source.visit { member, value in
                    var score = source.weight * value
                    if score.isNaN { score = 0 }
                    let key = Array(member)
                    if let index = accumulator.index(forKey: key) {
                        Self.aggregate(&accumulator.values[index], score, how)
                    } else {
                        accumulator[key] = score
                    }
                    return true
                }
            }
            results = accumulator.map { ($0.key, $0.value) }
        case .diff:
            sources[0].visit { member, value in
                for k in 1..<sources.count where sources[k].score(of: member) != nil { return true }
                results.append((Array(member), value))
                return true
            }
        }

        if cardinalityOnly {
            context.out.writeInteger(cardinality)
            return
        }
        results.sort { a, b in
            a.score != b.score ? a.score < b.score : a.member.lexicographicallyPrecedes(b.member)
        }

        if store {
            let destination = context.arguments[1]
            guard !results.isEmpty else {
                context.out.writeInteger(0)
                if Self.deleteKey(context, destination) {
                    context.dirty()
                    context.notify(.generic, "del", key: destination)
                }
                return
            }
            let longest = results.reduce(0) { Swift.max($0, $1.member.count) }
            let zset = SortedSetValue(
                listpack: Self.limits(context).allowsListpack(count: results.count, longest: longest)
            )
            for r in results { r.member.withUnsafeBytes { zset.append($0, score: r.score) } }
            Self.store(context, destination, zset)
            context.out.writeInteger(zset.count)
            let event: StaticString
            switch operation {
            case .union: event = "zunionstore"
            case .inter: event = "zinterstore"
            case .diff: event = "zdiffstore"
            }
            context.notify(.zset, event, key: destination)
            context.dirty()
            return
        }
        let resp3 = context.out.version == .resp3
        context.out.writeArrayHeader(withScores && !resp3 ? results.count * 2 : results.count)
        for r in results {
            if withScores && resp3 { context.out.writeArrayHeader(2) }
            context.out.writeBulkString(r.member)
            if withScores { Self.writeScore(&context.out, r.score) }
        }
    }
}
