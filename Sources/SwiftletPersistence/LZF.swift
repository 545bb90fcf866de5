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

    /// Compresses `input`. Returns `nil` when the result would not be shorter than `limit` bytes (Redis asks for
    /// at least 4 bytes of saving and stores the string plainly otherwise).
    public static func compress(_ input: UnsafeRawBufferPointer, limit: Int) -> [UInt8]? {
        let n = input.count
        guard n > 0, limit > 0, let src = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var out = [UInt8](repeating: 0, count: limit + 3)
        var table = [Int32](repeating: -1, count: 1 << hashLog)
        let produced: Int? = out.withUnsafeMutableBufferPointer { outBuffer in
            table.withUnsafeMutableBufferPointer { htab in
                // Why `!`: the arrays have at least one element.
                let op0 = outBuffer.baseAddress!
                var op = 0
                let outEnd = limit
                var literalStart = 0
                // Reserve the control byte of the first literal run.
                var literals = 0
                op = 1
                var ip = 0
                @inline(__always) func hash(_ i: Int) -> Int {
                    let v = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
                    return Int(((v &* 2_654_435_761) >> UInt32(32 - hashLog)) & UInt32((1 << hashLog) - 1))
                }
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
        }
        guard let produced, produced < limit else { return nil }
        out.removeSubrange(produced...)
        return out
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
