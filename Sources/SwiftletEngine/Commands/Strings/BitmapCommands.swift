import NIOCore
import SwiftletKeyspace
import SwiftletRESP

/// The bitmap family: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, and BITFIELD / BITFIELD_RO (in
/// `BitmapCommands+BitField.swift`).
///
/// Bitmaps are string values. Bit 0 is the most significant bit of the first byte. Commands that write bits
/// turn the string into the `raw` encoding and change its bytes in place (``StringCommands/mutateRaw(_:_:)``);
/// reads work on the bytes of any encoding, `int` included (its decimal text).
public enum BitmapCommands {
    // MARK: - Shared parsing

    /// A bit offset argument, as Redis's `getBitOffsetFromArgument` checks it: an integer, not negative, whose
    /// byte is below `proto-max-bulk-len`. With `bits > 0` (BITFIELD), `#N` means `N * bits`.
    static func bitOffset(_ context: CommandContext, _ index: Int, bits: Int = 0) throws(RedisError) -> UInt64 {
        let offset: Int64? = context.arguments[index].withUnsafeReadableBytes { raw in
            let positional = bits > 0 && raw.count > 0 && raw[0] == UInt8(ascii: "#")
            let digits = positional ? UnsafeRawBufferPointer(rebasing: raw.dropFirst()) : raw
            guard let value = NumberFormat.parseInt64(digits) else { return nil }
            // Redis multiplies in C without an overflow check: a wrapped product is rejected as negative below.
            return positional ? value &* Int64(bits) : value
        }
        guard let offset, offset >= 0, (offset >> 3) < Int64(context.server.hot.protoMaxBulkLen) else {
            throw RedisError.bitOffsetInvalid
        }
        return UInt64(offset)
    }

    /// Makes `bytes` at least `count` long, zero-filled, growing the capacity as Redis's `sdsMakeRoomFor` does
    /// (double below 1 MB, then 1 MB more), so a bitmap grown bit by bit costs amortized O(1) and at most
    /// 1 MB of slack once it is large. Returns whether the length changed.
    @discardableResult
    static func grow(_ bytes: inout [UInt8], to count: Int) -> Bool {
        guard bytes.count < count else { return false }
        if count > bytes.capacity {
            bytes.reserveCapacity(count < 1 << 20 ? count * 2 : count + (1 << 20))
        }
        bytes.append(contentsOf: repeatElement(0, count: count - bytes.count))
        return true
    }

    /// Whether `option` at `index` is BIT (`true`) or BYTE (`false`); any other word is a syntax error.
    static func bitUnit(_ context: CommandContext, _ index: Int) throws(RedisError) -> Bool {
        if context.argument(index, is: "bit") { return true }
        if context.argument(index, is: "byte") { return false }
        throw RedisError.syntax
    }

    /// Turns a BITCOUNT/BITPOS range into absolute indexes, as Redis does: negative indexes count from the end,
    /// then both are clamped into `0..<total` (`end` may come out as `total - 1 == -1` for an empty string).
    static func clamp(start: inout Int64, end: inout Int64, total: Int64) {
        if start < 0 { start = total + start }
        if end < 0 { end = total + end }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= total { end = total - 1 }
    }

    // MARK: - SETBIT / GETBIT

    /// SETBIT key offset value — O(1) (plus the zero fill when the string grows)
    static func setbit(_ context: inout CommandContext) throws(RedisError) {
        let offset = try Self.bitOffset(context, 2)
        guard let on = context.arguments[3].int64, on & ~1 == 0 else { throw RedisError.bitValueInvalid }
        let byte = Int(offset >> 3)
        let shift = UInt8(7 - (offset & 7))
        let key = context.arguments[1]
        guard let entry = context.lookupWrite(key) else {
            // A new key is sized exactly, as Redis's `sdsnewlen` does.
            var bytes = [UInt8](repeating: 0, count: byte + 1)
            bytes[byte] = UInt8(on) << shift
            _ = key.withUnsafeReadableBytes { context.db.set($0, .raw(bytes), now: context.now) }
            context.notify(.string, "setbit", key: key)
            context.dirty()
            context.out.writeInteger(0)
            return
        }
        guard entry.isString else { throw RedisError.wrongType }
        var old = 0
        var changed = false
        _ = StringCommands.mutateRaw(entry) { bytes in
            changed = Self.grow(&bytes, to: byte + 1)
            old = Int((bytes[byte] >> shift) & 1)
            if old != Int(on) {
                bytes[byte] ^= 1 << shift
                changed = true
            }
        }
        if changed {
            context.notify(.string, "setbit", key: key)
            context.dirty()
        }
        context.out.writeInteger(old)
    }

    /// GETBIT key offset — O(1)
    static func getbit(_ context: inout CommandContext) throws(RedisError) {
        let offset = try Self.bitOffset(context, 2)
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeInteger(0)
            return
        }
        let byte = Int(offset >> 3)
        let bit = entry.withStringBytes { bytes in
            byte < bytes.count ? Int((bytes[byte] >> (7 - UInt8(offset & 7))) & 1) : 0
        }
        guard let bit else { throw RedisError.wrongType }
        context.out.writeInteger(bit)
    }

    // MARK: - BITCOUNT

    /// BITCOUNT key [start end [BYTE | BIT]] — O(N)
    static func bitcount(_ context: inout CommandContext) throws(RedisError) {
        // Redis looks the key up before it parses the range: a missing key answers 0 whatever follows.
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeInteger(0)
            return
        }
        guard let length = entry.stringLength else { throw RedisError.wrongType }
        var start: Int64 = 0
        var end = Int64(length) - 1
        var firstMask: UInt8 = 0
        var lastMask: UInt8 = 0
        if context.count == 4 || context.count == 5 {
            start = try context.integer(2)
            end = try context.integer(3)
            // Checked before the BIT/BYTE word, as in Redis.
            if start < 0 && end < 0 && start > end {
                context.out.writeInteger(0)
                return
            }
            let inBits = context.count == 5 ? try Self.bitUnit(context, 4) : false
            Self.clamp(start: &start, end: &end, total: inBits ? Int64(length) << 3 : Int64(length))
            if inBits && start <= end {
                // Bits of the edge bytes outside the range, subtracted after counting whole bytes.
                firstMask = UInt8(truncatingIfNeeded: ~((1 << (8 - (start & 7))) - 1))
                lastMask = UInt8(truncatingIfNeeded: (1 << (7 - (end & 7))) - 1)
                start >>= 3
                end >>= 3
            }
        } else if context.count != 2 {
            throw RedisError.syntax
        }
        if start > end {
            context.out.writeInteger(0)
            return
        }
        let (from, to) = (Int(start), Int(end))
        let count =
            entry.withStringBytes { bytes in
                Self.popcount(UnsafeRawBufferPointer(rebasing: bytes[from...to]))
                    - (bytes[from] & firstMask).nonzeroBitCount - (bytes[to] & lastMask).nonzeroBitCount
            } ?? 0
        context.out.writeInteger(count)
    }

    /// Number of set bits, eight bytes at a time.
    static func popcount(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let n = bytes.count
        var total = 0
        var i = 0
        while i + 32 <= n {
            total &+=
                base.loadUnaligned(fromByteOffset: i, as: UInt64.self).nonzeroBitCount
                &+ base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self).nonzeroBitCount
                &+ base.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self).nonzeroBitCount
                &+ base.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self).nonzeroBitCount
            i += 32
        }
        while i + 8 <= n {
            total &+= base.loadUnaligned(fromByteOffset: i, as: UInt64.self).nonzeroBitCount
            i += 8
        }
        while i < n {
            total &+= bytes[i].nonzeroBitCount
            i += 1
        }
        return total
    }

    // MARK: - BITPOS

    /// BITPOS key bit [start [end [BYTE | BIT]]] — O(N)
    static func bitpos(_ context: inout CommandContext) throws(RedisError) {
        let bit = try context.integer(2)
        guard bit == 0 || bit == 1 else { throw RedisError.bitposBitInvalid }
        // A missing key is an endless run of zeros; Redis answers before it parses the range.
        guard let entry = context.lookupRead(context.arguments[1]) else {
            context.out.writeInteger(bit == 1 ? -1 : 0)
            return
        }
        guard let length = entry.stringLength else { throw RedisError.wrongType }
        var start: Int64 = 0
        var end = Int64(length) - 1
        var inBits = false
        var endGiven = false
        if context.count >= 4 && context.count <= 6 {
            start = try context.integer(3)
            // Redis reads the BIT/BYTE word before the end index.
            if context.count == 6 { inBits = try Self.bitUnit(context, 5) }
            if context.count >= 5 {
                end = try context.integer(4)
                endGiven = true
            }
            Self.clamp(start: &start, end: &end, total: inBits ? Int64(length) << 3 : Int64(length))
        } else if context.count != 3 {
            throw RedisError.syntax
        }
        if start > end {
            // An empty range holds neither a 0 nor a 1.
            context.out.writeInteger(-1)
            return
        }
        let firstBit = inBits ? Int(start) : Int(start) << 3
        let lastBit = inBits ? Int(end) : Int(end) << 3 | 7
        let found = entry.withStringBytes { Self.find(bit == 1, in: $0, from: firstBit, through: lastBit) } ?? nil
        if let found {
            context.out.writeInteger(found)
        } else if bit == 0 && !endGiven {
            // Without an explicit end the string counts as padded with zeros on the right.
            context.out.writeInteger(lastBit + 1)
        } else {
            context.out.writeInteger(-1)
        }
    }

    /// The position of the first bit equal to `bit` in the inclusive bit range `first...last` of `bytes`, or
    /// `nil`. Whole 8-byte words that cannot hold a match are skipped at once.
    static func find(_ bit: Bool, in bytes: UnsafeRawBufferPointer, from first: Int, through last: Int) -> Int? {
        @inline(__always) func matches(_ position: Int) -> Bool {
            (bytes[position >> 3] >> (7 - UInt8(position & 7))) & 1 == (bit ? 1 : 0)
        }
        var position = first
        while position <= last && position & 7 != 0 {
            if matches(position) { return position }
            position += 1
        }
        // Whole bytes from `byte` up to (not including) `endByte`.
        var byte = position >> 3
        let endByte = (last + 1) >> 3
        let skipByte: UInt8 = bit ? 0 : 0xFF
        let skipWord: UInt64 = bit ? 0 : ~0
        if let base = bytes.baseAddress {
            // Four words per step while they all hold no match, then single words.
            while byte + 32 <= endByte {
                let w0 = base.loadUnaligned(fromByteOffset: byte, as: UInt64.self) ^ skipWord
                let w1 = base.loadUnaligned(fromByteOffset: byte + 8, as: UInt64.self) ^ skipWord
                let w2 = base.loadUnaligned(fromByteOffset: byte + 16, as: UInt64.self) ^ skipWord
                let w3 = base.loadUnaligned(fromByteOffset: byte + 24, as: UInt64.self) ^ skipWord
                if (w0 | w1 | w2 | w3) != 0 { break }
                byte += 32
            }
            while byte + 8 <= endByte && base.loadUnaligned(fromByteOffset: byte, as: UInt64.self) == skipWord {
                byte += 8
            }
        }
        while byte < endByte {
            let b = bytes[byte]
            if b != skipByte { return byte << 3 + (bit ? b : ~b).leadingZeroBitCount }
            byte += 1
        }
        position = max(position, byte << 3)
        while position <= last {
            if matches(position) { return position }
            position += 1
        }
        return nil
    }

    // MARK: - BITOP

    enum BitOperation {
        case and, or, xor, not
    }

    /// BITOP <AND | OR | XOR | NOT> destkey key [key ...] — O(N)
    static func bitop(_ context: inout CommandContext) throws(RedisError) {
        let operation: BitOperation
        if context.argument(1, is: "and") {
            operation = .and
        } else if context.argument(1, is: "or") {
            operation = .or
        } else if context.argument(1, is: "xor") {
            operation = .xor
        } else if context.argument(1, is: "not") {
            operation = .not
        } else {
            throw RedisError.syntax
        }
        if operation == .not && context.count != 4 { throw RedisError.bitopNotSingleSource }
        // Missing keys are empty strings; every source is looked up (and type-checked) before any work.
        var sources: [Entry?] = []
        sources.reserveCapacity(context.count - 3)
        var maxLength = 0
        for i in 3..<context.count {
            let entry = context.lookupRead(context.arguments[i])
            if let entry {
                guard let length = entry.stringLength else { throw RedisError.wrongType }
                maxLength = max(maxLength, length)
            }
            sources.append(entry)
        }
        let destination = context.arguments[2]
        guard maxLength > 0 else {
            if destination.withUnsafeReadableBytes({ context.db.delete($0) }) {
                context.notify(.generic, "del", key: destination)
                context.dirty()
            }
            context.out.writeInteger(0)
            return
        }
        let result = [UInt8](unsafeUninitializedCapacity: maxLength) { buffer, initialized in
            let out = UnsafeMutableRawBufferPointer(buffer)
            // Every `out.baseAddress!` below: `maxLength > 0`, so the buffer has storage.
            // The first source is copied (no zero fill of the whole result first), then padded with zeros.
            let copied = sources[0]?.withStringBytes { source in
                if let s = source.baseAddress { out.baseAddress!.copyMemory(from: s, byteCount: source.count) }
                return source.count
            }
            let first = copied ?? 0
            UnsafeMutableRawBufferPointer(rebasing: out[first...]).initializeMemory(as: UInt8.self, repeating: 0)
            for source in sources.dropFirst() {
                if let source {
                    _ = source.withStringBytes { Self.combine(into: out, $0, operation: operation) }
                } else {
                    Self.combine(into: out, UnsafeRawBufferPointer(start: nil, count: 0), operation: operation)
                }
            }
            if operation == .not {
                Self.fold(out.baseAddress!, UnsafeRawPointer(out.baseAddress!), out.count) { a, _ in ~a }
            }
            initialized = maxLength
        }
        // Like Redis, the result is a new `raw` string that replaces the destination and its TTL.
        context.countOverwriteAccess(destination)
        _ = destination.withUnsafeReadableBytes { context.db.set($0, .raw(result), now: context.now) }
        context.notify(.string, "set", key: destination)
        context.dirty()
        context.out.writeInteger(maxLength)
    }

    /// Folds a later source (zero-padded to `out.count`) into `out`.
    static func combine(
        into out: UnsafeMutableRawBufferPointer,
        _ source: UnsafeRawBufferPointer,
        operation: BitOperation
    ) {
        // BITOP checked `maxLength > 0`: the result has storage.
        let o = out.baseAddress!
        let n = source.count
        if let s = source.baseAddress {
            switch operation {
            case .and: Self.fold(o, s, n) { $0 & $1 }
            case .or: Self.fold(o, s, n) { $0 | $1 }
            case .xor: Self.fold(o, s, n) { $0 ^ $1 }
            case .not: break
            }
        }
        // AND: past the end of this source its bytes are zero, and so is the result.
        if operation == .and && n < out.count {
            UnsafeMutableRawBufferPointer(rebasing: out[n...]).initializeMemory(as: UInt8.self, repeating: 0)
        }
    }

    /// `out[i] = f(out[i], source[i])` for the first `count` bytes, a word at a time (four words per step).
    @inline(__always)
    static func fold(
        _ out: UnsafeMutableRawPointer,
        _ source: UnsafeRawPointer,
        _ count: Int,
        _ f: (UInt64, UInt64) -> UInt64
    ) {
        var i = 0
        while i + 32 <= count {
            for j in stride(from: i, to: i + 32, by: 8) {
                let a = out.loadUnaligned(fromByteOffset: j, as: UInt64.self)
                let b = source.loadUnaligned(fromByteOffset: j, as: UInt64.self)
                out.storeBytes(of: f(a, b), toByteOffset: j, as: UInt64.self)
            }
            i += 32
        }
        while i + 8 <= count {
            let a = out.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let b = source.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            out.storeBytes(of: f(a, b), toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            let a = UInt64(out.load(fromByteOffset: i, as: UInt8.self))
            let b = UInt64(source.load(fromByteOffset: i, as: UInt8.self))
            out.storeBytes(of: UInt8(truncatingIfNeeded: f(a, b)), toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    // MARK: - Table

    static let specs: [CommandSpec] = [
        .init("setbit", arity: 4, flags: [.write, .denyOOM], keys: .init(1, 1, 1), group: "bitmap", run: setbit),
        .init("getbit", arity: 3, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "bitmap", run: getbit),
        .init("bitcount", arity: -2, flags: [.readonly], keys: .init(1, 1, 1), group: "bitmap", run: bitcount),
        .init("bitpos", arity: -3, flags: [.readonly], keys: .init(1, 1, 1), group: "bitmap", run: bitpos),
        .init("bitop", arity: -4, flags: [.write, .denyOOM], keys: .init(2, -1, 1), group: "bitmap", run: bitop),
        .init("bitfield", arity: -2, flags: [.write, .denyOOM], keys: .init(1, 1, 1), group: "bitmap") {
            c throws(RedisError) in try bitfield(&c, readOnly: false)
        },
        .init("bitfield_ro", arity: -2, flags: [.readonly, .fast], keys: .init(1, 1, 1), group: "bitmap") {
            c throws(RedisError) in try bitfield(&c, readOnly: true)
        },
    ]
}
