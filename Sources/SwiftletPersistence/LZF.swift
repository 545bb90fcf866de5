import Synchronization

/// LZF compression in liblzf's format (Redis's `lzf_c.c` / `lzf_d.c`), used for long strings in RDB files and
/// DUMP payloads.
///
/// The stream is a series of runs. A control byte below 32 starts a literal run of `ctrl + 1` bytes. Any other
/// control byte is a back reference: length `ctrl >> 5` (7 means "add the next byte"), plus 2, at distance
/// `((ctrl & 31) << 8 | next byte) + 1` behind the output position.
public enum LZF {
    /// Why decompression failed.
    public enum Failure: Error, Equatable, Sendable {
        /// The output would exceed the expected length.
        case outputTooLong
        /// A back reference points before the start of the output.
        case badReference
        /// The input ends inside a run.
        case truncated
    }

    static let hashLog = 14
    static let maxLiteral = 32
    static let maxOffset = 1 << 13
    static let maxReference = (1 << 8) + (1 << 3)

    /// The hash table of a compression (2^14 positions, -1 for none), kept between compressions: clearing 64 KiB
    /// for every string was most of a snapshot's time. After each use only the slots that input touched are reset,
    /// so every compression starts from an empty table, as liblzf's does.
    final class Scratch: @unchecked Sendable {
        let table: UnsafeMutablePointer<Int32>

        init() {
            self.table = .allocate(capacity: 1 << LZF.hashLog)
            self.table.initialize(repeating: -1, count: 1 << LZF.hashLog)
        }

        deinit { self.table.deallocate() }
    }

    /// Tables not in use; a compression takes one (or makes one) and gives it back.
    private static let scratchPool = Mutex<[Scratch]>([])

    @inline(__always)
    static func hash(_ src: UnsafePointer<UInt8>, _ i: Int) -> Int {
        let v = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
        return Int(((v &* 2_654_435_761) >> UInt32(32 - hashLog)) & UInt32((1 << hashLog) - 1))
    }

    /// Compresses `input`. Returns `nil` when the result would not be shorter than `limit` bytes (Redis asks for
    /// at least 4 bytes of saving and stores the string plainly otherwise).
    public static func compress(_ input: UnsafeRawBufferPointer, limit: Int) -> [UInt8]? {
        let n = input.count
        guard n > 0, limit > 0, let src = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let scratch = Self.scratchPool.withLock { $0.popLast() } ?? Scratch()
        defer {
            if n > 2 { for i in 0..<(n - 2) { scratch.table[Self.hash(src, i)] = -1 } }
            Self.scratchPool.withLock { if $0.count < 16 { $0.append(scratch) } }
        }
        var produced: Int?
        // Why uninitialized: the compressor writes every byte below the length it returns.
        let out = [UInt8](unsafeUninitializedCapacity: limit + 3) { buffer, count in
            produced = Self.compress(src, n, into: buffer.baseAddress!, limit: limit, table: scratch.table)
            count = produced.map { $0 < limit ? $0 : 0 } ?? 0
        }
        guard let produced, produced < limit else { return nil }
        return out
    }

    /// liblzf's lzf_compress: `n` bytes at `src` into `op0` (room for `limit` + 3 bytes); nil when the output would
    /// reach `limit`.
    private static func compress(
        _ src: UnsafePointer<UInt8>,
        _ n: Int,
        into op0: UnsafeMutablePointer<UInt8>,
        limit: Int,
        table htab: UnsafeMutablePointer<Int32>
    ) -> Int? {
        var op = 0
        let outEnd = limit
        var literalStart = 0
        // Reserve the control byte of the first literal run.
        var literals = 0
        op = 1
        var ip = 0
        @inline(__always) func hash(_ i: Int) -> Int { Self.hash(src, i) }
        while ip + 2 < n {
            let h = hash(ip)
            let ref = Int(htab[h])
            htab[h] = Int32(ip)
            let off = ip - ref - 1
            if ref >= 0, off < maxOffset, ref + 2 < n, src[ref] == src[ip], src[ref + 1] == src[ip + 1],
                src[ref + 2] == src[ip + 2]
            {
                var len = 3
                let maxLen = min(n - ip, maxReference)
                while len < maxLen && src[ref + len] == src[ip + len] { len += 1 }
                // Close the literal run (drop its control byte when it is empty).
                if literals == 0 { op -= 1 } else { op0[literalStart] = UInt8(literals - 1) }
                if op + 3 + 1 >= outEnd { return nil }
                let l = len - 2
                if l < 7 {
                    op0[op] = UInt8((off >> 8) + (l << 5))
                    op += 1
                } else {
                    op0[op] = UInt8((off >> 8) + (7 << 5))
                    op0[op + 1] = UInt8(l - 7)
                    op += 2
                }
                op0[op] = UInt8(truncatingIfNeeded: off)
                op += 1
                // Start the next literal run.
                literalStart = op
                literals = 0
                op += 1
                // Index the positions inside the match so later data can refer to them.
                let end = ip + len
                ip += 1
                while ip < end && ip + 2 < n {
                    htab[hash(ip)] = Int32(ip)
                    ip += 1
                }
                ip = end
                continue
            }
            if op + 1 >= outEnd { return nil }
            op0[op] = src[ip]
            op += 1
            ip += 1
            literals += 1
            if literals == maxLiteral {
                op0[literalStart] = UInt8(maxLiteral - 1)
                literalStart = op
                literals = 0
                op += 1
            }
        }
        while ip < n {
            if op + 1 >= outEnd { return nil }
            op0[op] = src[ip]
            op += 1
            ip += 1
            literals += 1
            if literals == maxLiteral {
                op0[literalStart] = UInt8(maxLiteral - 1)
                literalStart = op
                literals = 0
                op += 1
            }
        }
        if literals == 0 { op -= 1 } else { op0[literalStart] = UInt8(literals - 1) }
        return op
    }

    /// Decompresses `input` into exactly `count` bytes.
    public static func decompress(_ input: UnsafeRawBufferPointer, count: Int) throws(Failure) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = input.count
        var failure: Failure?
        let written = out.withUnsafeMutableBufferPointer { o -> Int in
            var ip = 0
            var op = 0
            while ip < n {
                var ctrl = Int(input[ip])
                ip += 1
                if ctrl < 32 {
                    ctrl += 1
                    if op + ctrl > count {
                        failure = .outputTooLong
                        return op
                    }
                    if ip + ctrl > n {
                        failure = .truncated
                        return op
                    }
                    for i in 0..<ctrl { o[op + i] = input[ip + i] }
                    op += ctrl
                    ip += ctrl
                } else {
                    var len = ctrl >> 5
                    if len == 7 {
                        guard ip < n else {
                            failure = .truncated
                            return op
                        }
                        len += Int(input[ip])
                        ip += 1
                    }
                    guard ip < n else {
                        failure = .truncated
                        return op
                    }
                    let ref = op - ((ctrl & 0x1F) << 8) - Int(input[ip]) - 1
                    ip += 1
                    len += 2
                    if op + len > count {
                        failure = .outputTooLong
                        return op
                    }
                    if ref < 0 {
                        failure = .badReference
                        return op
                    }
                    // Byte by byte: the reference may overlap the output being written (runs).
                    for i in 0..<len { o[op + i] = o[ref + i] }
                    op += len
                }
            }
            return op
        }
        if let failure { throw failure }
        if written != count { throw Failure.truncated }
        return out
    }
}
