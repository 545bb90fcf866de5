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

/// SORT and SORT_RO over lists, sets and sorted sets, as Redis 7.0's `sort.c` does them: BY weights (keys or hash
/// fields named by a pattern, or none), LIMIT, GET patterns, ASC/DESC, ALPHA, and STORE into a list.
///
/// The elements are copied once into one byte arena (Redis makes an object per element), sorted as 40-byte
/// records, and replied or stored straight from the arena.
public enum SortCommand {
    // MARK: - Options

    /// The parsed options of one SORT call.
    struct Options {
        var descending = false
        var alpha = false
        var limitStart: Int64 = 0
        var limitCount: Int64 = -1
        /// A BY pattern without `*` (such as `nosort`): no weights, no sorting.
        var dontSort = false
        /// Argument index of the last BY pattern.
        var sortBy: Int?
        /// Argument index of the STORE destination.
        var store: Int?
        /// Argument indexes of the GET patterns, in order.
        var gets: [Int] = []
    }

    /// Parses the options from argument 2 on, failing on the first bad one in Redis's order. SORT_RO knows no
    /// STORE: there it is a syntax error.
    static func parse(_ context: CommandContext, readOnly: Bool) throws(RedisError) -> Options {
        var o = Options()
        var i = 2
        while i < context.count {
            let left = context.count - i - 1
            if context.argument(i, is: "asc") {
                o.descending = false
            } else if context.argument(i, is: "desc") {
                o.descending = true
            } else if context.argument(i, is: "alpha") {
                o.alpha = true
            } else if context.argument(i, is: "limit") && left >= 2 {
                o.limitStart = try context.integer(i + 1)
                o.limitCount = try context.integer(i + 2)
                i += 2
            } else if !readOnly && context.argument(i, is: "store") && left >= 1 {
                o.store = i + 1
                i += 1
            } else if context.argument(i, is: "by") && left >= 1 {
                o.sortBy = i + 1
                // Sticky, as in Redis: `BY nosort BY w_*` still does not sort.
                if SortPattern.starIndex(context.arguments[i + 1]) == nil { o.dontSort = true }
                i += 1
            } else if context.argument(i, is: "get") && left >= 1 {
                o.gets.append(i + 1)
                i += 1
            } else {
                throw RedisError.syntax
            }
            i += 1
        }
        return o
    }

    // MARK: - SORT / SORT_RO

    /// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA] [STORE destination]
    /// — O(N+M*log(M))
    static func sort(_ context: inout CommandContext) throws(RedisError) {
        try Self.run(&context, readOnly: false)
    }

    /// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA] — O(N+M*log(M))
    static func sortRO(_ context: inout CommandContext) throws(RedisError) {
        try Self.run(&context, readOnly: true)
    }

    static func run(_ context: inout CommandContext, readOnly: Bool) throws(RedisError) {
        var o = try Self.parse(context, readOnly: readOnly)
        let value = context.lookupRead(context.arguments[1])?.value
        switch value {
        case nil, .list?, .set?, .sortedSet?: break
        default: throw RedisError.wrongType
        }
        // A set has no order of its own: stored (or scripted) results are sorted so that replicas agree.
        if o.dontSort, case .set? = value, o.store != nil || context.isFromScript {
            o.dontSort = false
            o.alpha = true
            o.sortBy = nil
        }
        // Redis converts a listpack sorted set for good, even for SORT_RO: OBJECT ENCODING reports it after.
        if case .sortedSet(let zset)? = value { zset.convertToSkiplist() }

        let n: Int
        switch value {
        case .list(let list)?: n = list.count
        case .set(let set)?: n = set.count
        case .sortedSet(let zset)?: n = zset.count
        default: n = 0
        }
        // LIMIT, clamped to the collection as Redis does (an empty range is start n-1, end n-2).
        var start = Int(min(max(o.limitStart, 0), Int64(n)))
        let limitCount = Int(min(max(o.limitCount, -1), Int64(n)))
        var end = limitCount < 0 ? n - 1 : start + limitCount - 1
        if start >= n {
            start = n - 1
            end = n - 2
        }
        if end >= n { end = n - 1 }

        var vector = SortVector()
        vector.items.reserveCapacity(n)
        switch value {
        case .list(let list)?:
            if o.dontSort {
                // Native order (reversed for DESC), only the LIMIT range.
                if end >= start {
                    let from = o.descending ? list.count - start - 1 : start
                    list.forEach(from: from, count: end - start + 1, reversed: o.descending) { vector.append($0) }
                    end -= start
                    start = 0
                }
            } else {
                list.forEach(from: 0, count: list.count) { vector.append($0) }
            }
        case .set(let set)?:
            set.forEachMember { vector.append($0) }
        case .sortedSet(let zset)?:
            if o.dontSort {
                // Score order (reversed for DESC), only the LIMIT range.
                var left = end - start + 1
                if left > 0 {
                    zset.walk(from: o.descending ? n - 1 - start : start, reverse: o.descending) { node in
                        node.withMember { vector.append($0) }
                        left -= 1
                        return left > 0
                    }
                }
                end -= start
                start = 0
            } else {
                zset.walk { node in
                    node.withMember { vector.append($0) }
                    return true
                }
            }
        default:
            break
        }

        if !o.dontSort {
            let by = o.sortBy.map { SortPattern(context.arguments[$0]) }
            if let by {
                try Self.loadWeights(&vector, by: by, alpha: o.alpha, lookup: SortLookup(context))
            } else if !o.alpha {
                try vector.scoreElements()
            }
            let order = SortOrder(
                descending: o.descending,
                alpha: o.alpha,
                byPattern: by != nil,
                binary: o.store != nil
            )
            if by != nil && (start != 0 || end != vector.items.count - 1) {
                vector.partialSort(order, keeping: start, end)
            } else {
                vector.sort(order)
            }
        }

        let gets = o.gets.map { SortPattern(context.arguments[$0]) }
        let lookup = SortLookup(context)
        let rows = max(0, end - start + 1)
        let outputCount = gets.isEmpty ? rows : gets.count * rows
        if let store = o.store {
            Self.store(
                &context,
                vector,
                start: start,
                rows: rows,
                gets: gets,
                lookup: lookup,
                into: context.arguments[store]
            )
            context.out.writeInteger(outputCount)
            return
        }
        context.out.writeArrayHeader(outputCount)
        guard rows > 0 else { return }
        vector.withElements(from: start, count: rows) { element in
            if gets.isEmpty { context.out.writeBulkString(element) }
            for get in gets {
                lookup.find(get, element) { found in
                    if let found { context.out.writeBulkString(found) } else { context.out.writeNull() }
                }
            }
        }
    }

    /// STORE: the rows (or their GET values, `""` for those not found) as a list under `key`, replacing what was
    /// there; an empty result deletes `key`.
    static func store(
        _ context: inout CommandContext,
        _ vector: SortVector,
        start: Int,
        rows: Int,
        gets: [SortPattern],
        lookup: SortLookup,
        into key: ByteBuffer
    ) {
        let list = ListValue(fill: context.server.hot.listMaxListpackSize)
        if rows > 0 {
            vector.withElements(from: start, count: rows) { element in
                if gets.isEmpty { list.append(element) }
                for get in gets {
                    lookup.find(get, element) { found in
                        list.append(found ?? UnsafeRawBufferPointer(start: nil, count: 0))
                    }
                }
            }
        }
        let db = context.db
        if list.count > 0 {
            _ = context.lookupWrite(key)
            key.withUnsafeReadableBytes { _ = db.set($0, .list(list), now: context.now) }
            context.notify(.list, "sortstore", key: key)
            context.dirty(list.count)
        } else if key.withUnsafeReadableBytes({ db.delete($0) }) {
            // Deleted as stored, even when it had expired and was not yet reclaimed (Redis's dbDelete).
            context.notify(.generic, "del", key: key)
            context.dirty()
        }
    }

    /// Numeric or ALPHA weights from the BY pattern; a weight that is not found is 0 (numeric) or sorts first
    /// (ALPHA). Every weight is looked up (with its side effects on the statistics) before a bad one is reported.
    static func loadWeights(
        _ vector: inout SortVector,
        by: SortPattern,
        alpha: Bool,
        lookup: SortLookup
    ) throws(RedisError) {
        var failed = false
        // The arena is only read here; this second reference keeps the reads apart from the writes to `vector`.
        let elements = vector.bytes
        elements.withUnsafeBytes { raw in
            for i in 0..<vector.items.count {
                let item = vector.items[i]
                let element = UnsafeRawBufferPointer(rebasing: raw[item.offset..<item.offset + Int(item.length)])
                lookup.find(by, element) { weight in
                    guard let weight else { return }
                    if alpha {
                        vector.items[i].keyOffset = vector.keys.count
                        vector.items[i].keyLength = Int32(weight.count)
                        vector.keys.append(contentsOf: weight)
                    } else if let score = SortVector.score(weight) {
                        vector.items[i].score = score
                    } else {
                        failed = true
                    }
                }
            }
        }
        if failed { throw RedisError.sortNotDouble }
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init(
            "sort",
            arity: -2,
            flags: [.write, .denyOOM, .movableKeys],
            keys: .init(1, 1, 1),
            group: "generic",
            run: sort
        ),
        .init(
            "sort_ro",
            arity: -2,
            flags: [.readonly, .movableKeys],
            keys: .init(1, 1, 1),
            group: "generic",
            run: sortRO
        ),
    ]
}

/// A BY or GET pattern, read as Redis reads it: as a C string for `#`, the `*` and the `->` (so a NUL byte ends
/// them), with the field running to the end of the argument.
struct SortPattern {
    let bytes: [UInt8]
    /// `#`: the element itself.
    let isElement: Bool
    /// Index of the first `*`, `nil` when there is none (then nothing is ever found).
    let star: Int?
    /// The part after the first `*` that ends the key name.
    let postfix: Range<Int>
    /// The hash field after `->`, when the pattern names one.
    let field: Range<Int>?

    init(_ argument: ByteBuffer) {
        let bytes = argument.bytes
        self.bytes = bytes
        let cLength = bytes.firstIndex(of: 0) ?? bytes.count
        self.isElement = cLength == 1 && bytes[0] == UInt8(ascii: "#")
        let star = bytes[..<cLength].firstIndex(of: UInt8(ascii: "*"))
        self.star = star
        var keyEnd = bytes.count
        var field: Range<Int>?
        if let star {
            var i = star + 1
            while i + 1 < cLength {
                if bytes[i] == UInt8(ascii: "-") && bytes[i + 1] == UInt8(ascii: ">") {
                    // `->` at the very end names no field: it is part of the key.
                    if i + 2 < cLength {
                        field = i + 2..<bytes.count
                        keyEnd = i
                    }
                    break
                }
                i += 1
            }
        }
        self.field = field
        self.postfix = (star ?? bytes.count - 1) + 1..<keyEnd
    }

    /// Index of the first `*` before any NUL byte (Redis's `strchr`).
    static func starIndex(_ argument: ByteBuffer) -> Int? {
        argument.withUnsafeReadableBytes { raw in
            for (i, b) in raw.enumerated() {
                if b == 0 { return nil }
                if b == UInt8(ascii: "*") { return i }
            }
            return nil
        }
    }

    /// Calls `body` with the key name: the prefix, `element` in place of the `*`, the postfix.
    func withKey<R>(star: Int, element: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let length = star + element.count + self.postfix.count
        return withUnsafeTemporaryAllocation(byteCount: max(length, 1), alignment: 1) { key in
            self.bytes.withUnsafeBytes { p in
                // Why `!`: the allocation has at least one byte, so it has a base address.
                let base = key.baseAddress!
                if star > 0 { base.copyMemory(from: p.baseAddress!, byteCount: star) }
                if element.count > 0 { (base + star).copyMemory(from: element.baseAddress!, byteCount: element.count) }
                if !self.postfix.isEmpty {
                    (base + star + element.count).copyMemory(
                        from: p.baseAddress! + self.postfix.lowerBound,
                        byteCount: self.postfix.count
                    )
                }
            }
            return body(UnsafeRawBufferPointer(start: key.baseAddress, count: length))
        }
    }
}

/// What BY and GET patterns need to look keys up, taken from the context once per command.
struct SortLookup {
    let db: Database
    let keyspace: Keyspace
    let now: Int64
    let touch: Bool

    init(_ context: CommandContext) {
        self.db = context.db
        self.keyspace = context.keyspace
        self.now = context.now
        self.touch = !context.session.noTouch
    }

    /// Calls `body` with what `pattern` names for `element` (Redis's `lookupKeyByPattern`): the element itself
    /// for `#`, else the string at the key made by putting the element in place of the first `*`, or with
    /// `->field` the field of the hash there; `nil` for a missing key or field, another type, or a pattern
    /// without `*`. Keys are looked up for reading (hits, misses, expiry, access time), as Redis does.
    func find(_ pattern: SortPattern, _ element: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) -> Void) {
        guard let star = pattern.star else {
            body(pattern.isElement ? element : nil)
            return
        }
        let entry = pattern.withKey(star: star, element: element) { key -> Entry? in
            let entry = self.db.lookup(key, now: self.now, touch: self.touch)
            if entry == nil {
                self.keyspace.stats.keyspaceMisses += 1
            } else {
                self.keyspace.stats.keyspaceHits += 1
            }
            return entry
        }
        guard let entry else { return body(nil) }
        if let field = pattern.field {
            guard case .hash(let hash) = entry.value else { return body(nil) }
            pattern.bytes.withUnsafeBytes { raw in
                body(hash.value(of: UnsafeRawBufferPointer(rebasing: raw[field])))
            }
        } else if entry.withStringBytes({ body($0) }) == nil {
            body(nil)
        }
    }
}
