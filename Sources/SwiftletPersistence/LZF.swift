#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

    // liblzf's settings in Redis's copy (lzfP.h): HLOG 16, VERY_FAST, a table of positions.
    static let hashLog = 16
    static let maxLiteral = 32
    static let maxOffset = 1 << 13
    static let maxReference = (1 << 8) + (1 << 3)

    /// The hash table of a compression (2^16 slots), kept between compressions.
    ///
    /// liblzf leaves its table uninitialised and checks every candidate; clearing 2^16 slots for every string would
    /// be most of a snapshot's time. Here a slot holds `base + position`, and every compression starts at a `base`
    /// above all that earlier ones stored, so a slot below it reads as empty: each compression sees an empty table
    /// (its output depends on its input alone) without clearing anything.
    final class Scratch: @unchecked Sendable {
        let table: UnsafeMutablePointer<UInt32>
        /// Slots above this value were stored by the running compression.
        var base: UInt32 = 0

        init() {
            self.table = .allocate(capacity: 1 << LZF.hashLog)
            self.table.initialize(repeating: 0, count: 1 << LZF.hashLog)
        }

        deinit { self.table.deallocate() }

        /// Makes room for positions `0..<count` of the next input.
        func begin(_ count: Int) {
            if UInt64(self.base) + UInt64(count) + 1 > UInt64(UInt32.max) {
                self.table.update(repeating: 0, count: 1 << LZF.hashLog)
                self.base = 0
            }
        }

        func end(_ count: Int) {
            self.base &+= UInt32(count)
        }
    }

    /// Tables not in use; a compression takes one (or makes one) and gives it back.
    ///
    /// Why a pthread mutex and not `Synchronization.Mutex`: on Linux `Mutex` waits on a priority-inheritance futex,
    /// which ThreadSanitizer cannot see, so two snapshots compressing at once were reported as a race on the pool.
    final class ScratchPool: @unchecked Sendable {
        private let mutex: UnsafeMutablePointer<pthread_mutex_t>
        /// Guarded by `mutex`.
        private var free: [Scratch] = []

        init() {
            self.mutex = .allocate(capacity: 1)
            pthread_mutex_init(self.mutex, nil)
        }

        deinit {
            pthread_mutex_destroy(self.mutex)
            self.mutex.deallocate()
        }

        func take() -> Scratch {
            pthread_mutex_lock(self.mutex)
            let scratch = self.free.popLast()
            pthread_mutex_unlock(self.mutex)
            return scratch ?? Scratch()
        }

        func giveBack(_ scratch: Scratch) {
            pthread_mutex_lock(self.mutex)
            if self.free.count < 16 { self.free.append(scratch) }
            pthread_mutex_unlock(self.mutex)
        }
    }

    private static let scratchPool = ScratchPool()

    /// liblzf's `IDX` (the VERY_FAST variant) of the three bytes in the low 24 bits of `h`.
    @inline(__always)
    static func slot(_ h: UInt32) -> Int {
        Int(((h >> UInt32(24 - hashLog)) &- h &* 5) & UInt32((1 << hashLog) - 1))
    }

    /// Compresses `input` as Redis's `lzf_compress` does (the same bytes, for Redis's settings). Returns `nil` when
    /// the result would not fit in `limit` bytes (Redis asks for at least 4 bytes of saving and stores the string
    /// plainly otherwise).
    public static func compress(_ input: UnsafeRawBufferPointer, limit: Int) -> [UInt8]? {
        guard limit > 0 else { return nil }
        var produced: Int?
        // Why uninitialized: the compressor writes every byte below the length it returns.
        let out = [UInt8](unsafeUninitializedCapacity: limit + Self.outputSlack) { buffer, count in
            produced = Self.compress(input, limit: limit, into: buffer.baseAddress!)
            count = produced ?? 0
        }
        return produced == nil ? nil : out
    }

    /// Bytes an output buffer needs beyond `limit` (liblzf's callers leave one; the compressor writes below
    /// `limit`, the slack is a margin).
    public static let outputSlack = 3

    /// Compresses `input` into `output`, which has room for `limit` + ``outputSlack`` bytes, without allocating.
    /// Returns the compressed length, or `nil` when it would not fit in `limit` bytes.
    public static func compress(
        _ input: UnsafeRawBufferPointer,
        limit: Int,
        into output: UnsafeMutablePointer<UInt8>
    )
        -> Int?
    {
        let n = input.count
        // Positions are 32-bit; a string of 2 GiB or more (past any default limit) is stored uncompressed.
        guard n > 0, n < 1 << 31, limit > 0, let src = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            return nil
        }
        let scratch = Self.scratchPool.take()
        scratch.begin(n)
        defer {
            scratch.end(n)
            Self.scratchPool.giveBack(scratch)
        }
        return Self.compress(src, n, into: output, limit: limit, scratch: scratch)
    }

    /// liblzf's lzf_compress: `n` bytes at `src` into `op0` (room for `limit` + 3 bytes); nil when the output does
    /// not fit in `limit` bytes.
    private static func compress(
        _ src: UnsafePointer<UInt8>,
        _ n: Int,
        into op0: UnsafeMutablePointer<UInt8>,
        limit outEnd: Int,
        scratch: Scratch
    ) -> Int? {
        let htab = scratch.table
        let base = scratch.base
        var ip = 0
        // The control byte of the first literal run is reserved; `lit` counts the run's bytes.
        var op = 1
        var lit = 0

        /// Ends the literal run (its control byte is `lit - 1`), dropping the reserved byte of an empty one.
        @inline(__always) func closeRun() {
            op0[op - lit - 1] = UInt8(truncatingIfNeeded: lit - 1)
            if lit == 0 { op -= 1 }
        }
        @inline(__always) func literal() {
            lit += 1
            op0[op] = src[ip]
            op += 1
            ip += 1
            if lit == maxLiteral {
                op0[op - lit - 1] = UInt8(lit - 1)
                lit = 0
                op += 1
            }
        }

        if n > 2 {
            var hval = UInt32(src[0]) << 8 | UInt32(src[1])
            while ip < n - 2 {
                hval = hval << 8 | UInt32(src[ip + 2])
                let h = slot(hval)
                let stored = htab[h]
                htab[h] = base &+ UInt32(ip)
                // `stored > base`: set by this compression, and not at position 0 (liblzf's `ref > in_data`).
                let ref = Int(stored &- base)
                let off = ip - ref - 1
                if stored > base, off < maxOffset, src[ref + 2] == src[ip + 2], src[ref] == src[ip],
                    src[ref + 1] == src[ip + 1]
                {
                    var len = 2
                    let maxLen = min(n - ip - len, maxReference)
                    if op + 3 + 1 >= outEnd, op - (lit == 0 ? 1 : 0) + 3 + 1 >= outEnd { return nil }
                    closeRun()
                    // liblzf compares 16 bytes unrolled when more may match, then byte by byte up to `maxLen`.
                    var mismatched = false
                    if maxLen > 16 {
                        for _ in 0..<16 {
                            len += 1
                            if src[ref + len] != src[ip + len] {
                                mismatched = true
                                break
                            }
                        }
                    }
                    if !mismatched {
                        repeat { len += 1 } while len < maxLen && src[ref + len] == src[ip + len]
                    }
                    len -= 2
                    ip += 1
                    if len < 7 {
                        op0[op] = UInt8((off >> 8) + (len << 5))
                        op += 1
                    } else {
                        op0[op] = UInt8((off >> 8) + (7 << 5))
                        op0[op + 1] = UInt8(len - 7)
                        op += 2
                    }
                    op0[op] = UInt8(truncatingIfNeeded: off)
                    op += 1
                    // Start the next literal run.
                    lit = 0
                    op += 1
                    ip += len + 1
                    if ip >= n - 2 { break }
                    // VERY_FAST: only the last two positions of the match go into the table.
                    ip -= 2
                    hval = UInt32(src[ip]) << 8 | UInt32(src[ip + 1])
                    hval = hval << 8 | UInt32(src[ip + 2])
                    htab[slot(hval)] = base &+ UInt32(ip)
                    ip += 1
                    hval = hval << 8 | UInt32(src[ip + 2])
                    htab[slot(hval)] = base &+ UInt32(ip)
                    ip += 1
                    continue
                }
                if op >= outEnd { return nil }
                literal()
            }
        }
        // At most two bytes are left, and a control byte.
        if op + 3 > outEnd { return nil }
        while ip < n { literal() }
        closeRun()
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
