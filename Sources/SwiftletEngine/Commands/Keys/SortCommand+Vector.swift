#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One element of a SORT: where its bytes are in the arena, its numeric weight, its ALPHA weight (BY).
struct SortItem {
    var offset: Int
    /// Position in the input: equal elements keep it, as with glibc's stable `qsort` under Redis.
    var ordinal: Int
    var score: Double = 0
    /// The ALPHA weight in the key arena; `keyLength` is -1 when BY found nothing.
    var keyOffset: Int = 0
    var length: Int32
    var keyLength: Int32 = -1
}

/// How SORT compares two elements (Redis's `sortCompare`).
struct SortOrder {
    var descending: Bool
    var alpha: Bool
    /// ALPHA compares the BY weights instead of the elements.
    var byPattern: Bool
    /// STORE compares bytes (`memcmp`, then length); a reply compares C strings with `strcoll`, which in the C
    /// and C.UTF-8 locales is `strcmp`: the bytes up to the first NUL.
    var binary: Bool

    /// Negative, zero or positive, as `x` sorts before, with or after `y`. Equal numeric weights fall back to the
    /// elements' bytes, so that the order is deterministic.
    @inline(__always)
    func compare(_ x: SortItem, _ y: SortItem, elements e: UnsafeRawPointer, keys k: UnsafeRawPointer) -> Int {
        var result: Int
        if !self.alpha {
            if x.score > y.score {
                result = 1
            } else if x.score < y.score {
                result = -1
            } else {
                result = Self.compareBytes(e + x.offset, Int(x.length), e + y.offset, Int(y.length))
            }
        } else if self.byPattern {
            if x.keyLength < 0 || y.keyLength < 0 {
                // A missing weight sorts first.
                result = x.keyLength == y.keyLength ? 0 : (x.keyLength < 0 ? -1 : 1)
            } else {
                result = self.compareText(k + x.keyOffset, Int(x.keyLength), k + y.keyOffset, Int(y.keyLength))
            }
        } else {
            result = self.compareText(e + x.offset, Int(x.length), e + y.offset, Int(y.length))
        }
        return self.descending ? -result : result
    }

    @inline(__always)
    func compareText(_ a: UnsafeRawPointer, _ la: Int, _ b: UnsafeRawPointer, _ lb: Int) -> Int {
        if self.binary { return Self.compareBytes(a, la, b, lb) }
        return Self.compareBytes(a, Self.cLength(a, la), b, Self.cLength(b, lb))
    }

    /// Redis's binary `compareStringObjects`: `memcmp` over the shorter length, then the shorter first.
    @inline(__always)
    static func compareBytes(_ a: UnsafeRawPointer, _ la: Int, _ b: UnsafeRawPointer, _ lb: Int) -> Int {
        let common = min(la, lb)
        if common > 0 {
            let c = memcmp(a, b, common)
            if c != 0 { return c < 0 ? -1 : 1 }
        }
        return la < lb ? -1 : (la > lb ? 1 : 0)
    }

    /// Length up to the first NUL byte.
    @inline(__always)
    static func cLength(_ p: UnsafeRawPointer, _ count: Int) -> Int {
        guard count > 0, let nul = memchr(p, 0, count) else { return count }
        return UnsafeRawPointer(nul) - p
    }
}

/// The elements of one SORT, copied into one byte arena.
struct SortVector {
    var bytes: [UInt8] = []
    var items: [SortItem] = []
    /// ALPHA weights found by BY.
    var keys: [UInt8] = []

    mutating func append(_ element: UnsafeRawBufferPointer) {
        self.items.append(SortItem(offset: self.bytes.count, ordinal: self.items.count, length: Int32(element.count)))
        self.bytes.append(contentsOf: element)
    }

    /// Calls `body` with elements `start..<start + count` in their current order.
    func withElements(from start: Int, count: Int, _ body: (UnsafeRawBufferPointer) -> Void) {
        self.bytes.withUnsafeBytes { raw in
            for i in start..<start + count {
                let item = self.items[i]
                body(UnsafeRawBufferPointer(rebasing: raw[item.offset..<item.offset + Int(item.length)]))
            }
        }
    }

    /// Numeric weights from the elements themselves.
    mutating func scoreElements() throws(RedisError) {
        let elements = self.bytes
        var failed = false
        elements.withUnsafeBytes { raw in
            for i in 0..<self.items.count {
                let item = self.items[i]
                let text = UnsafeRawBufferPointer(rebasing: raw[item.offset..<item.offset + Int(item.length)])
                guard let score = Self.score(text) else {
                    failed = true
                    return
                }
                self.items[i].score = score
            }
        }
        if failed { throw RedisError.sortNotDouble }
    }

    /// A weight as SORT reads it: C's `strtod` on the text as a C string (leading spaces and a sign, decimal,
    /// hexadecimal, `inf`, `infinity`; the empty string is 0; a NUL byte ends the text). `nil` for trailing bytes,
    /// NaN, and values out of range (ERANGE: overflow, and underflow to zero or a subnormal).
    ///
    /// Redis does not clear `errno` first, so after any ERANGE elsewhere in the process its numeric SORTs fail
    /// until something resets it; Swiftlet judges each value on its own.
    static func score(_ text: UnsafeRawBufferPointer) -> Double? {
        if let small = Self.smallInteger(text) { return small }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: text.count + 1) { buffer in
            // Why `!`: the allocation has capacity ≥ 1, so its base address is never nil.
            let base = buffer.baseAddress!
            if let source = text.baseAddress, text.count > 0 {
                UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: text.count)
            }
            base[text.count] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let value = strtod(base, &end)
            guard let end, end.pointee == 0, errno != ERANGE, !value.isNaN else { return nil }
            return value
        }
    }

    /// `-?[0-9]{1,15}`, which strtod converts exactly; `nil` for any other shape.
    @inline(__always)
    static func smallInteger(_ text: UnsafeRawBufferPointer) -> Double? {
        guard let first = text.first else { return nil }
        let negative = first == UInt8(ascii: "-")
        let digits = text.count - (negative ? 1 : 0)
        guard digits > 0 && digits <= 15 else { return nil }
        var value: Int64 = 0
        for b in text.dropFirst(negative ? 1 : 0) {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(b &- UInt8(ascii: "0"))
        }
        if negative { return value == 0 ? -0.0 : Double(-value) }
        return Double(value)
    }

    // MARK: - Sorting

    /// Sorts everything; equal elements keep their input order.
    mutating func sort(_ order: SortOrder) {
        let elements = self.bytes
        let keys = self.keys
        elements.withUnsafeBytes { e in
            keys.withUnsafeBytes { k in
                // Why the fallback pointers: an empty arena has no base address, and no length > 0 reads it.
                let ep = e.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                let kp = k.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                self.items.sort { x, y in
                    let c = order.compare(x, y, elements: ep, keys: kp)
                    return c != 0 ? c < 0 : x.ordinal < y.ordinal
                }
            }
        }
    }

    /// Sorts only as much as it takes to have `first...last` in place: Redis's `pqsort` (Bentley and McIlroy's
    /// quicksort that skips the partitions outside the range), step for step, since it decides the order of
    /// equal elements when BY and LIMIT are given.
    mutating func partialSort(_ order: SortOrder, keeping first: Int, _ last: Int) {
        let elements = self.bytes
        let keys = self.keys
        elements.withUnsafeBytes { e in
            keys.withUnsafeBytes { k in
                // Why the fallback pointers: an empty arena has no base address, and no length > 0 reads it.
                let ep = e.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                let kp = k.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                self.items.withUnsafeMutableBufferPointer { v in
                    let sorter = PartialSorter(v: v, first: first, last: last) { x, y in
                        order.compare(x, y, elements: ep, keys: kp)
                    }
                    sorter.sort(from: 0, count: v.count)
                }
            }
        }
    }
}

/// Redis's `pqsort` over SORT items.
struct PartialSorter {
    let v: UnsafeMutableBufferPointer<SortItem>
    let first: Int
    let last: Int
    let compare: (SortItem, SortItem) -> Int

    init(
        v: UnsafeMutableBufferPointer<SortItem>,
        first: Int,
        last: Int,
        compare: @escaping (SortItem, SortItem) -> Int
    ) {
        self.v = v
        self.first = first
        self.last = last
        self.compare = compare
    }

    @inline(__always)
    func cmp(_ i: Int, _ j: Int) -> Int { self.compare(self.v[i], self.v[j]) }

    @inline(__always)
    func swap(_ i: Int, _ j: Int) { self.v.swapAt(i, j) }

    /// Swaps `n` items from `i` with `n` items from `j`, pairwise.
    func swapRuns(_ i: Int, _ j: Int, _ n: Int) {
        for d in 0..<max(n, 0) { self.swap(i + d, j + d) }
    }

    func median(_ a: Int, _ b: Int, _ c: Int) -> Int {
        if self.cmp(a, b) < 0 {
            return self.cmp(b, c) < 0 ? b : (self.cmp(a, c) < 0 ? c : a)
        }
        return self.cmp(b, c) > 0 ? b : (self.cmp(a, c) < 0 ? a : c)
    }

    /// Whether `low...high` holds part of the range that must end up sorted.
    func overlaps(_ low: Int, _ high: Int) -> Bool {
        !((self.first < low && self.last < low) || (self.first > high && self.last > high))
    }

    func sort(from start: Int, count: Int) {
        var a = start
        var n = count
        while true {
            if n < 7 {
                // Insertion sort for small runs.
                var m = a + 1
                while m < a + n {
                    var l = m
                    while l > a && self.cmp(l - 1, l) > 0 {
                        self.swap(l, l - 1)
                        l -= 1
                    }
                    m += 1
                }
                return
            }
            var pm = a + n / 2
            if n > 7 {
                var pl = a
                var pn = a + n - 1
                if n > 40 {
                    let d = n / 8
                    pl = self.median(pl, pl + d, pl + 2 * d)
                    pm = self.median(pm - d, pm, pm + d)
                    pn = self.median(pn - 2 * d, pn - d, pn)
                }
                pm = self.median(pl, pm, pn)
            }
            self.swap(a, pm)
            var pa = a + 1
            var pb = a + 1
            var pc = a + n - 1
            var pd = a + n - 1
            while true {
                while pb <= pc {
                    let c = self.cmp(pb, a)
                    if c > 0 { break }
                    if c == 0 {
                        self.swap(pa, pb)
                        pa += 1
                    }
                    pb += 1
                }
                while pb <= pc {
                    let c = self.cmp(pc, a)
                    if c < 0 { break }
                    if c == 0 {
                        self.swap(pc, pd)
                        pd -= 1
                    }
                    pc -= 1
                }
                if pb > pc { break }
                self.swap(pb, pc)
                pb += 1
                pc -= 1
            }
            let end = a + n
            var r = min(pa - a, pb - pa)
            self.swapRuns(a, pb - r, r)
            r = min(pd - pc, end - pd - 1)
            self.swapRuns(pb, end - r, r)
            r = pb - pa
            if r > 1 && self.overlaps(a, a + r - 1) {
                self.sort(from: a, count: r)
            }
            r = pd - pc
            guard r > 1 else { return }
            // The right part iteratively, as Redis does, when it overlaps the range.
            a = end - r
            n = r
            guard self.overlaps(a, a + r - 1) else { return }
        }
    }
}
