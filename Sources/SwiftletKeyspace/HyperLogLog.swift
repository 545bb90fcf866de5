/// Redis 7.0's HyperLogLog, bit for bit: the same string layout, hash, sparse opcodes, promotion rules and
/// cardinality estimator, so that `GET` of a HyperLogLog returns the bytes Redis would hold and a string taken
/// from Redis (`SET k <bytes>`) is read as Redis reads it.
///
/// The value is a plain string:
///
///     "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality (8 bytes, little endian;
///     bit 7 of the last byte set = cache invalid) | registers
///
/// Dense: 16384 registers of 6 bits, packed from the least significant bit of each byte (12288 bytes).
/// Sparse: run-length opcodes `ZERO` (`00xxxxxx`, 1...64 zero registers), `XZERO` (`01xxxxxx xxxxxxxx`,
/// 1...16384 zero registers) and `VAL` (`1vvvvvxx`, 1...4 registers of value 1...32).
///
/// Every function works on byte arrays and pointers and never allocates per element. A byte one past the end
/// reads as zero, as Redis reads the terminating NUL of its strings.
public enum HyperLogLog {
    public static let headerSize = 16
    /// 2^14 registers: 14 bits of the hash pick the register.
    public static let registerCount = 1 << 14
    /// Bits of the hash left for the zero-run count (64 - 14).
    static let q = 50
    public static let denseSize = headerSize + (registerCount * 6 + 7) / 8
    /// The largest register value a sparse `VAL` opcode holds.
    public static let sparseValueMax = 32
    /// 0.5 / ln(2), the estimator's constant for an infinite number of registers.
    static let alphaInfinity = 0.721347520444481703680
    static let hashSeed: UInt32 = 0xadc8_3b19

    public enum Encoding: UInt8 {
        case dense = 0
        case sparse = 1
    }

    /// What an add or a register update did.
    public enum Update: Equatable {
        case unchanged
        case changed
        /// The sparse representation is invalid (the string was not written by a HyperLogLog command).
        case corrupt
    }

    // MARK: - Header

    /// A new, empty HyperLogLog: sparse, one `XZERO` opcode covering every register, cardinality 0 cached.
    public static func makeEmpty() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerSize + 2)
        bytes[0] = UInt8(ascii: "H")
        bytes[1] = UInt8(ascii: "Y")
        bytes[2] = UInt8(ascii: "L")
        bytes[3] = UInt8(ascii: "L")
        bytes[4] = Encoding.sparse.rawValue
        let run = registerCount - 1
        bytes[headerSize] = UInt8(truncatingIfNeeded: run >> 8) | 0x40
        bytes[headerSize + 1] = UInt8(truncatingIfNeeded: run)
        return bytes
    }

    /// Whether a string is a HyperLogLog as far as Redis checks one before using it: the magic, a known
    /// encoding, and the exact length for the dense encoding. (The sparse opcodes are checked as they are read.)
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= headerSize else { return false }
        guard bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "Y"), bytes[2] == UInt8(ascii: "L"),
            bytes[3] == UInt8(ascii: "L")
        else { return false }
        guard let encoding = Encoding(rawValue: bytes[4]) else { return false }
        return encoding == .sparse || bytes.count == denseSize
    }

    /// The encoding byte of a string that passed ``isValid(_:)``.
    public static func encoding(_ bytes: UnsafeRawBufferPointer) -> Encoding {
        bytes[4] == Encoding.dense.rawValue ? .dense : .sparse
    }

    /// The cached cardinality, or `nil` when the cache is marked invalid.
    public static func cachedCardinality(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes[15] & 0x80 == 0 else { return nil }
        var card: UInt64 = 0
        for i in 0..<8 { card |= UInt64(bytes[8 + i]) << (8 * UInt64(i)) }
        return card
    }

    public static func storeCardinality(_ bytes: inout [UInt8], _ card: UInt64) {
        for i in 0..<8 { bytes[8 + i] = UInt8(truncatingIfNeeded: card >> (8 * UInt64(i))) }
    }

    /// Marks the cached cardinality stale (keeps its other bits, as Redis does).
    public static func invalidateCache(_ bytes: inout [UInt8]) {
        bytes[15] |= 0x80
    }

    // MARK: - Hashing

    /// MurmurHash2, 64-bit version (MurmurHash64A), reading 8-byte blocks little-endian as Redis does.
    public static func murmurHash64A(_ key: UnsafeRawBufferPointer, seed: UInt32) -> UInt64 {
        let m: UInt64 = 0xc6a4_a793_5bd1_e995
        let r: UInt64 = 47
        let len = key.count
        var h = UInt64(seed) ^ (UInt64(truncatingIfNeeded: len) &* m)
        var i = 0
        let blocks = len & ~7
        while i < blocks {
            var k = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            k &*= m
            k ^= k >> r
            k &*= m
            h ^= k
            h &*= m
            i += 8
        }
        let tail = len & 7
        if tail > 0 {
            var j = tail - 1
            while j >= 0 {
                h ^= UInt64(key[blocks + j]) << (8 * UInt64(j))
                j -= 1
            }
            h &*= m
        }
        h ^= h >> r
        h &*= m
        h ^= h >> r
        return h
    }

    /// The register an element goes to and the length of its `000...1` pattern (1...51), as `hllPatLen`.
    @inline(__always)
    public static func patternLength(_ element: UnsafeRawBufferPointer) -> (index: Int, count: UInt8) {
        var hash = murmurHash64A(element, seed: hashSeed)
        let index = Int(hash & UInt64(registerCount - 1))
        hash >>= 14
        // The sentinel bit bounds the count at q + 1.
        hash |= 1 << UInt64(q)
        return (index, UInt8(hash.trailingZeroBitCount + 1))
    }

    // MARK: - Dense registers

    /// Register `index` of the packed 6-bit array at `registers`.
    @inline(__always)
    public static func denseRegister(_ registers: UnsafePointer<UInt8>, _ index: Int) -> UInt8 {
        let byte = (index * 6) >> 3
        let shift = (index * 6) & 7
        var value = UInt(registers[byte]) >> shift
        // Only registers starting at bit 4 or 6 spill into the next byte; the last register (bit 2) never
        // does, so the byte after the array is never read.
        if shift > 2 { value |= UInt(registers[byte + 1]) << (8 - shift) }
        return UInt8(truncatingIfNeeded: value & 63)
    }

    @inline(__always)
    public static func setDenseRegister(_ registers: UnsafeMutablePointer<UInt8>, _ index: Int, _ value: UInt8) {
        let byte = (index * 6) >> 3
        let shift = (index * 6) & 7
        let v = UInt(value)
        registers[byte] = UInt8(truncatingIfNeeded: (UInt(registers[byte]) & ~(63 << shift)) | (v << shift))
        if shift > 2 {
            let spill = 8 - shift
            registers[byte + 1] = UInt8(
                truncatingIfNeeded: (UInt(registers[byte + 1]) & ~(63 >> spill)) | (v >> spill)
            )
        }
    }

    /// Calls `body` with every register index and value, four registers (three bytes) at a time.
    @inline(__always)
    static func visitDenseRegisters(_ registers: UnsafePointer<UInt8>, _ body: (Int, UInt8) -> Void) {
        var i = 0
        var b = registers
        while i < registerCount {
            let b0 = b[0]
            let b1 = b[1]
            let b2 = b[2]
            body(i, b0 & 63)
            body(i + 1, (b0 >> 6 | b1 << 2) & 63)
            body(i + 2, (b1 >> 4 | b2 << 4) & 63)
            body(i + 3, b2 >> 2)
            i += 4
            b += 3
        }
    }

    /// `hllDenseSet`: raises register `index` to `count` if it is lower.
    @inline(__always)
    static func denseSet(_ registers: UnsafeMutablePointer<UInt8>, _ index: Int, _ count: UInt8) -> Bool {
        guard count > denseRegister(registers, index) else { return false }
        setDenseRegister(registers, index, count)
        return true
    }

    // MARK: - Adding

    /// PFADD of one element: updates the register it hashes to. A sparse HyperLogLog is promoted to dense when
    /// the value does not fit a `VAL` opcode or the string would grow past `sparseMaxBytes`.
    public static func add(_ hll: inout [UInt8], _ element: UnsafeRawBufferPointer, sparseMaxBytes: Int) -> Update {
        let (index, count) = patternLength(element)
        return set(&hll, index: index, count: count, sparseMaxBytes: sparseMaxBytes)
    }

    /// Raises register `index` to `count` in either encoding (`hllDenseSet` / `hllSparseSet`).
    public static func set(_ hll: inout [UInt8], index: Int, count: UInt8, sparseMaxBytes: Int) -> Update {
        if hll[4] == Encoding.dense.rawValue {
            let changed = hll.withUnsafeMutableBufferPointer { denseSet($0.baseAddress! + headerSize, index, count) }
            return changed ? .changed : .unchanged
        }
        return sparseSet(&hll, index: index, count: count, sparseMaxBytes: sparseMaxBytes)
    }

    /// PFMERGE's write-back: raises every register of `hll` to `max` (16384 one-byte registers), register by
    /// register as Redis does (a sparse string may be promoted on the way; from then on the dense registers are
    /// raised directly). A corrupt sparse opcode leaves its register alone, as in Redis.
    public static func raise(_ hll: inout [UInt8], to max: UnsafeBufferPointer<UInt8>, sparseMaxBytes: Int) {
        var i = 0
        while i < registerCount && hll[4] != Encoding.dense.rawValue {
            if max[i] != 0 { _ = sparseSet(&hll, index: i, count: max[i], sparseMaxBytes: sparseMaxBytes) }
            i += 1
        }
        guard i < registerCount else { return }
        hll.withUnsafeMutableBufferPointer { buffer in
            let registers = buffer.baseAddress! + headerSize
            while i < registerCount {
                if max[i] != 0 { _ = denseSet(registers, i, max[i]) }
                i += 1
            }
        }
    }

    /// One sparse opcode: its first byte's kind, the registers it covers and its size in bytes.
    @inline(__always)
    static func opcode(_ p: UnsafePointer<UInt8>, at i: Int, end: Int) -> (span: Int, size: Int) {
        let b = p[i]
        if b & 0xc0 == 0 { return (Int(b & 0x3f) + 1, 1) }
        if b & 0x80 != 0 { return (Int(b & 3) + 1, 1) }
        // An XZERO cut off at the end reads the terminating zero byte, as in Redis.
        let low = i + 1 < end ? Int(p[i + 1]) : 0
        return ((Int(b & 0x3f) << 8 | low) + 1, 2)
    }

    @inline(__always)
    static func valOpcode(_ value: Int, _ length: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: (value - 1) << 2 | (length - 1)) | 0x80
    }

    /// Appends a ZERO or XZERO opcode for `length` zero registers to the small sequence buffer.
    @inline(__always)
    static func appendZeros(_ length: Int, to seq: inout (UInt8, UInt8, UInt8, UInt8, UInt8), at n: inout Int) {
        if length > 64 {
            let l = length - 1
            setSequence(&seq, n, UInt8(truncatingIfNeeded: l >> 8) | 0x40)
            setSequence(&seq, n + 1, UInt8(truncatingIfNeeded: l))
            n += 2
        } else {
            setSequence(&seq, n, UInt8(truncatingIfNeeded: length - 1))
            n += 1
        }
    }

    @inline(__always)
    static func setSequence(_ seq: inout (UInt8, UInt8, UInt8, UInt8, UInt8), _ i: Int, _ value: UInt8) {
        withUnsafeMutableBytes(of: &seq) { $0[i] = value }
    }

    /// `hllSparseSet`, step for step: find the opcode covering `index`, split it if needed, then merge
    /// neighbouring `VAL` opcodes of equal value (up to five opcodes from the previous one).
    static func sparseSet(_ hll: inout [UInt8], index: Int, count: UInt8, sparseMaxBytes: Int) -> Update {
        if Int(count) > sparseValueMax { return promote(&hll, index: index, count: count) }
        var end = hll.count
        // Step 1: locate the opcode covering `index`.
        let found: (p: Int, first: Int, span: Int, size: Int, prev: Int)? = hll.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            var p = headerSize
            var first = 0
            var prev = -1
            var span = 0
            var size = 1
            while p < end {
                (span, size) = opcode(base, at: p, end: end)
                if index <= first + span - 1 { break }
                prev = p
                p += size
                first += span
            }
            if span == 0 || p >= end { return nil }
            return (p, first, span, size, prev)
        }
        guard let found else { return .corrupt }
        let p = found.p
        let first = found.first
        let span = found.span
        let op = hll[p]
        let isVal = op & 0x80 != 0
        let isZero = op & 0xc0 == 0
        let isXZero = !isVal && !isZero
        let runLength = span

        // Step 2: the cases that need no split.
        var simple = false
        if isVal {
            let old = Int((op >> 2) & 0x1f) + 1
            if old >= Int(count) { return .unchanged }
            if runLength == 1 {
                hll[p] = valOpcode(Int(count), 1)
                simple = true
            }
        }
        if isZero && runLength == 1 {
            hll[p] = valOpcode(Int(count), 1)
            simple = true
        }

        if !simple {
            // The general case: split the opcode into at most XZERO-VAL-XZERO (5 bytes).
            var seq: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
            var n = 0
            let last = first + span - 1
            if isZero || isXZero {
                if index != first { appendZeros(index - first, to: &seq, at: &n) }
                setSequence(&seq, n, valOpcode(Int(count), 1))
                n += 1
                if index != last { appendZeros(last - index, to: &seq, at: &n) }
            } else {
                let current = Int((op >> 2) & 0x1f) + 1
                if index != first {
                    setSequence(&seq, n, valOpcode(current, index - first))
                    n += 1
                }
                setSequence(&seq, n, valOpcode(Int(count), 1))
                n += 1
                if index != last {
                    setSequence(&seq, n, valOpcode(current, last - index))
                    n += 1
                }
            }
            // Step 3: put the new sequence in place of the old opcode.
            let oldLength = isXZero ? 2 : 1
            let delta = n - oldLength
            if delta > 0 && end + delta > sparseMaxBytes { return promote(&hll, index: index, count: count) }
            let next = p + oldLength < end ? p + oldLength : -1
            let newEnd = end + delta
            if delta > 0 { hll.append(contentsOf: repeatElement(0, count: delta)) }
            hll.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                if delta != 0 && next >= 0 { (base + next + delta).update(from: base + next, count: end - next) }
                // A cut-off XZERO at the very end loses the byte that would land past the string.
                withUnsafeBytes(of: seq) { s in
                    for k in 0..<n where p + k < newEnd { base[p + k] = s[k] }
                }
            }
            if delta < 0 { hll.removeLast(-delta) }
            end = newEnd
        }

        // Step 4: merge adjacent VAL opcodes of the same value.
        var q = found.prev >= 0 ? found.prev : headerSize
        var scan = 5
        while q < end {
            if scan == 0 { break }
            scan -= 1
            let b = hll[q]
            if b & 0xc0 == 0x40 {
                q += 2
                continue
            } else if b & 0xc0 == 0 {
                q += 1
                continue
            }
            if q + 1 < end && hll[q + 1] & 0x80 != 0 {
                let v1 = Int((b >> 2) & 0x1f) + 1
                let v2 = Int((hll[q + 1] >> 2) & 0x1f) + 1
                if v1 == v2 {
                    let length = Int(b & 3) + Int(hll[q + 1] & 3) + 2
                    if length <= 4 {
                        hll[q + 1] = valOpcode(v1, length)
                        hll.remove(at: q)
                        end -= 1
                        continue
                    }
                }
            }
            q += 1
        }
        invalidateCache(&hll)
        return .changed
    }

    /// The promotion path of `hllSparseSet`: to dense, then set the register there.
    static func promote(_ hll: inout [UInt8], index: Int, count: UInt8) -> Update {
        guard sparseToDense(&hll) else { return .corrupt }
        _ = hll.withUnsafeMutableBufferPointer { denseSet($0.baseAddress! + headerSize, index, count) }
        return .changed
    }

    /// Converts a sparse HyperLogLog to dense (`hllSparseToDense`), keeping the header (magic, unused bytes,
    /// cached cardinality). Returns `false`, leaving the string as it was, when the opcodes do not cover
    /// exactly 16384 registers. A dense one is left alone.
    public static func sparseToDense(_ hll: inout [UInt8]) -> Bool {
        if hll[4] == Encoding.dense.rawValue { return true }
        var dense = [UInt8](repeating: 0, count: denseSize)
        let ok = hll.withUnsafeBufferPointer { sparse in
            dense.withUnsafeMutableBufferPointer { d in
                let base = sparse.baseAddress!
                let registers = d.baseAddress! + headerSize
                for i in 0..<headerSize { d[i] = base[i] }
                d[4] = Encoding.dense.rawValue
                let end = sparse.count
                var p = headerSize
                var idx = 0
                while p < end {
                    let (span, size) = opcode(base, at: p, end: end)
                    // Any opcode running past the last register makes the string corrupt (Redis with the
                    // CVE-2025-32023 fix; before it, only a VAL opcode was checked).
                    if span + idx > registerCount { return false }
                    if base[p] & 0x80 != 0 {
                        let value = ((base[p] >> 2) & 0x1f) + 1
                        for r in idx..<(idx + span) { setDenseRegister(registers, r, value) }
                    }
                    idx += span
                    p += size
                }
                return idx == registerCount
            }
        }
        if ok { hll = dense }
        return ok
    }

    // MARK: - Counting

    /// The estimated cardinality (`hllCount`) of a valid string, or `nil` when its sparse opcodes are corrupt.
    public static func cardinality(_ hll: UnsafeRawBufferPointer) -> UInt64? {
        let base = hll.baseAddress!.assumingMemoryBound(to: UInt8.self)
        return withHistogram { histogram in
            if hll[4] == Encoding.dense.rawValue {
                let registers = base + headerSize
                denseHistogram(registers, into: histogram)
                return true
            }
            let end = hll.count
            var p = headerSize
            var idx = 0
            while p < end {
                let (span, size) = opcode(base, at: p, end: end)
                let b = base[p]
                histogram[b & 0x80 != 0 ? Int((b >> 2) & 0x1f) + 1 : 0] &+= span
                idx += span
                p += size
            }
            return idx == registerCount
        }
    }

    /// The estimated cardinality of a plain array of 16384 one-byte registers (PFCOUNT of several keys).
    public static func cardinality(registers: UnsafeBufferPointer<UInt8>) -> UInt64 {
        withHistogram { histogram in
            let base = registers.baseAddress!
            withHistogramLanes(histogram) { lanes in
                var i = 0
                while i < registerCount {
                    lanes[Int(base[i] & 63)] &+= 1
                    lanes[64 + Int(base[i + 1] & 63)] &+= 1
                    lanes[128 + Int(base[i + 2] & 63)] &+= 1
                    lanes[192 + Int(base[i + 3] & 63)] &+= 1
                    i += 4
                }
            }
            return true
        }!  // the body always succeeds
    }

    /// Raises `max[i]` to each register of `hll` (`hllMerge`). Returns `false` for corrupt sparse opcodes.
    public static func merge(_ hll: UnsafeRawBufferPointer, into max: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        let base = hll.baseAddress!.assumingMemoryBound(to: UInt8.self)
        if hll[4] == Encoding.dense.rawValue {
            let registers = base + headerSize
            visitDenseRegisters(registers) { i, v in
                if v > max[i] { max[i] = v }
            }
            return true
        }
        let end = hll.count
        var p = headerSize
        var i = 0
        while p < end {
            let (span, size) = opcode(base, at: p, end: end)
            // As in ``sparseToDense(_:)``: an opcode past the last register is corruption.
            if span + i > registerCount { return false }
            if base[p] & 0x80 != 0 {
                let value = ((base[p] >> 2) & 0x1f) + 1
                for r in i..<(i + span) where value > max[r] { max[r] = value }
            }
            i += span
            p += size
        }
        return i == registerCount
    }

    /// Calls `body` with a zeroed histogram of register values on the stack (64 slots: a dense register holds
    /// up to 63 even though hashing never yields more than 51), then estimates from it.
    @inline(__always)
    static func withHistogram(_ body: (UnsafeMutablePointer<Int>) -> Bool) -> UInt64? {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 64) { buffer in
            let h = buffer.baseAddress!
            h.initialize(repeating: 0, count: 64)
            return body(h) ? estimate(h) : nil
        }
    }

    /// Counts the register values of a dense array into `histogram`.
    static func denseHistogram(_ registers: UnsafePointer<UInt8>, into histogram: UnsafeMutablePointer<Int>) {
        withHistogramLanes(histogram) { lanes in
            var b = registers
            for _ in 0..<(registerCount / 4) {
                let b0 = b[0]
                let b1 = b[1]
                let b2 = b[2]
                lanes[Int(b0 & 63)] &+= 1
                lanes[64 + Int((b0 >> 6 | b1 << 2) & 63)] &+= 1
                lanes[128 + Int((b1 >> 4 | b2 << 4) & 63)] &+= 1
                lanes[192 + Int(b2 >> 2)] &+= 1
                b += 3
            }
        }
    }

    /// Four separate histograms, summed into `histogram` at the end: consecutive registers usually hold the same
    /// few values, and counting them in one array makes every increment wait for the previous one.
    @inline(__always)
    static func withHistogramLanes(
        _ histogram: UnsafeMutablePointer<Int>,
        _ body: (UnsafeMutablePointer<Int>) -> Void
    ) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { buffer in
            let lanes = buffer.baseAddress!
            lanes.initialize(repeating: 0, count: 256)
            body(lanes)
            for v in 0..<64 { histogram[v] &+= lanes[v] &+ lanes[64 + v] &+ lanes[128 + v] &+ lanes[192 + v] }
        }
    }

    /// The estimator by Otmar Ertl ("New cardinality estimation algorithms for HyperLogLog sketches",
    /// arXiv:1702.01284), with the same double operations in the same order as Redis.
    static func estimate(_ histogram: UnsafeMutablePointer<Int>) -> UInt64 {
        let m = Double(registerCount)
        var z = m * tau((m - Double(histogram[q + 1])) / m)
        for j in stride(from: q, through: 1, by: -1) {
            z += Double(histogram[j])
            z *= 0.5
        }
        z += m * sigma(Double(histogram[0]) / m)
        let e = (alphaInfinity * m * m / z).rounded(.toNearestOrAwayFromZero)
        return UInt64(e)
    }

    static func sigma(_ x: Double) -> Double {
        if x == 1 { return .infinity }
        var x = x
        var y = 1.0
        var z = x
        var previous: Double
        repeat {
            x *= x
            previous = z
            z += x * y
            y += y
        } while previous != z
        return z
    }

    static func tau(_ x: Double) -> Double {
        if x == 0 || x == 1 { return 0 }
        var x = x
        var y = 1.0
        var z = 1 - x
        var previous: Double
        repeat {
            x = x.squareRoot()
            previous = z
            y *= 0.5
            // Redis writes pow(1 - x, 2), which the C compiler turns into this exact product.
            z -= (1 - x) * (1 - x) * y
        } while previous != z
        return z / 3
    }

    // MARK: - Debugging

    /// The opcodes of a sparse HyperLogLog as PFDEBUG DECODE prints them (`Z:16384`, `z:3`, `v:2,1`),
    /// separated by spaces.
    public static func decodeSparse(_ hll: UnsafeRawBufferPointer) -> [UInt8] {
        let base = hll.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var out: [UInt8] = []
        let end = hll.count
        var p = headerSize
        while p < end {
            let (span, size) = opcode(base, at: p, end: end)
            let b = base[p]
            if b & 0x80 != 0 {
                out.append(contentsOf: "v:\(Int((b >> 2) & 0x1f) + 1),\(span) ".utf8)
            } else {
                out.append(contentsOf: "\(size == 2 ? "Z" : "z"):\(span) ".utf8)
            }
            p += size
        }
        if out.last == UInt8(ascii: " ") { out.removeLast() }
        return out
    }
}
