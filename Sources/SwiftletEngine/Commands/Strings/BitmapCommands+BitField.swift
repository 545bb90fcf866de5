import NIOCore
import SwiftletKeyspace
import SwiftletRESP

extension BitmapCommands {
    // MARK: - BITFIELD

    /// What BITFIELD does when a SET or INCRBY does not fit the integer type.
    enum Overflow {
        /// Keep the low bits (two's complement for signed types).
        case wrap
        /// Clamp to the type's minimum or maximum.
        case saturate
        /// Do not write; the operation replies with a null.
        case fail
    }

    /// One GET, SET or INCRBY of a BITFIELD command, parsed before anything runs.
    struct BitFieldOperation {
        enum Kind {
            case get, set, incrby
        }

        var kind: Kind
        var signed: Bool
        /// 1...64 for signed types, 1...63 for unsigned ones.
        var bits: Int
        var offset: UInt64
        /// SET's value or INCRBY's increment.
        var value: Int64
        /// The OVERFLOW mode in force where the operation appears.
        var overflow: Overflow
    }

    /// BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value |
    /// INCRBY encoding offset increment> [...]] — O(1) per operation
    ///
    /// BITFIELD_RO key [GET encoding offset [...]] — O(1) per operation
    static func bitfield(_ context: inout CommandContext, readOnly readOnlyCommand: Bool) throws(RedisError) {
        var operations: [BitFieldOperation] = []
        var overflow = Overflow.wrap
        var writes = false
        var highestBit: UInt64 = 0
        var i = 2
        while i < context.count {
            let remaining = context.count - i - 1
            let kind: BitFieldOperation.Kind
            if context.argument(i, is: "get") && remaining >= 2 {
                kind = .get
            } else if context.argument(i, is: "set") && remaining >= 3 {
                kind = .set
            } else if context.argument(i, is: "incrby") && remaining >= 3 {
                kind = .incrby
            } else if context.argument(i, is: "overflow") && remaining >= 1 {
                if context.argument(i + 1, is: "wrap") {
                    overflow = .wrap
                } else if context.argument(i + 1, is: "sat") {
                    overflow = .saturate
                } else if context.argument(i + 1, is: "fail") {
                    overflow = .fail
                } else {
                    throw RedisError.bitfieldInvalidOverflow
                }
                i += 2
                continue
            } else {
                throw RedisError.syntax
            }
            let (signed, bits) = try Self.bitfieldType(context, i + 1)
            let offset = try Self.bitOffset(context, i + 2, bits: bits)
            var value: Int64 = 0
            if kind != .get {
                writes = true
                highestBit = max(highestBit, offset + UInt64(bits) - 1)
                value = try context.integer(i + 3)
            }
            operations.append(
                .init(kind: kind, signed: signed, bits: bits, offset: offset, value: value, overflow: overflow)
            )
            i += kind == .get ? 3 : 4
        }

        let key = context.arguments[1]
        guard writes else {
            // Only GETs: a read lookup, and a missing key reads as zeros.
            let entry = context.lookupRead(key)
            if let entry, !entry.isString { throw RedisError.wrongType }
            context.out.writeArrayHeader(operations.count)
            for operation in operations {
                let value = entry?.withStringBytes { Self.read(operation, in: $0) } ?? 0
                context.out.writeInteger(Int(value))
            }
            return
        }
        if readOnlyCommand { throw RedisError.bitfieldReadOnlyGetOnly }

        // Make room up to the farthest bit any write reaches, as Redis does before running the operations.
        let length = Int(highestBit >> 3) + 1
        var grown = false
        let entry: Entry
        if let existing = context.lookupWrite(key) {
            guard existing.isString else { throw RedisError.wrongType }
            entry = existing
        } else {
            let bytes = [UInt8](repeating: 0, count: length)
            entry = key.withUnsafeReadableBytes { context.db.set($0, .raw(bytes), now: context.now) }
            grown = true
        }
        var changes = 0
        context.out.writeArrayHeader(operations.count)
        _ = StringCommands.mutateRaw(entry) { bytes in
            if Self.grow(&bytes, to: length) { grown = true }
            bytes.withUnsafeMutableBytes { raw in
                for operation in operations {
                    if Self.run(operation, on: raw, out: &context.out, grown: grown) { changes += 1 }
                }
            }
        }
        if changes > 0 {
            context.notify(.string, "setbit", key: key)
            context.dirty(changes)
        }
    }

    /// A BITFIELD type: `i1`...`i64` or `u1`...`u63` (lower-case letter; the digits end at a NUL byte, since
    /// Redis reads them as a C string).
    static func bitfieldType(_ context: CommandContext, _ index: Int) throws(RedisError) -> (signed: Bool, bits: Int) {
        let parsed: (Bool, Int64)? = context.arguments[index].withUnsafeReadableBytes { raw in
            guard let first = raw.first, first == UInt8(ascii: "i") || first == UInt8(ascii: "u") else { return nil }
            let digits = raw.dropFirst().prefix { $0 != 0 }
            guard let bits = NumberFormat.parseInt64(UnsafeRawBufferPointer(rebasing: digits)) else { return nil }
            return (first == UInt8(ascii: "i"), bits)
        }
        guard let (signed, bits) = parsed, bits >= 1, bits <= (signed ? 64 : 63) else {
            throw RedisError.bitfieldInvalidType
        }
        return (signed, Int(bits))
    }

    /// The value of a GET, reading zeros past the end of the string.
    static func read(_ operation: BitFieldOperation, in bytes: UnsafeRawBufferPointer) -> Int64 {
        let raw = Self.bits(in: bytes, at: operation.offset, count: operation.bits)
        return operation.signed ? Self.signExtend(raw, bits: operation.bits) : Int64(bitPattern: raw)
    }

    /// Runs one operation on the (already grown) bytes and writes its reply. Returns whether it counts as a
    /// change: the value differs, or the string was created or grown by this command.
    static func run(
        _ operation: BitFieldOperation,
        on bytes: UnsafeMutableRawBufferPointer,
        out: inout RESPReplyWriter,
        grown: Bool
    ) -> Bool {
        let oldRaw = Self.bits(in: UnsafeRawBufferPointer(bytes), at: operation.offset, count: operation.bits)
        let newRaw: UInt64
        let reply: Int64
        let overflowed: Bool
        switch (operation.kind, operation.signed) {
        case (.get, _):
            out.writeInteger(Int(Self.read(operation, in: UnsafeRawBufferPointer(bytes))))
            return false
        case (.incrby, true):
            let old = Self.signExtend(oldRaw, bits: operation.bits)
            let check = Self.signedOverflow(old, operation.value, bits: operation.bits, operation.overflow)
            let new = check.overflow ? check.limit : old &+ operation.value
            (newRaw, reply, overflowed) = (UInt64(bitPattern: new), new, check.overflow)
        case (.set, true):
            let check = Self.signedOverflow(operation.value, 0, bits: operation.bits, operation.overflow)
            let new = check.overflow ? check.limit : operation.value
            (newRaw, reply, overflowed) = (
                UInt64(bitPattern: new), Self.signExtend(oldRaw, bits: operation.bits), check.overflow
            )
        case (.incrby, false):
            let check = Self.unsignedOverflow(oldRaw, operation.value, bits: operation.bits, operation.overflow)
            let new = check.overflow ? check.limit : oldRaw &+ UInt64(bitPattern: operation.value)
            (newRaw, reply, overflowed) = (new, Int64(bitPattern: new), check.overflow)
        case (.set, false):
            let value = UInt64(bitPattern: operation.value)
            let check = Self.unsignedOverflow(value, 0, bits: operation.bits, operation.overflow)
            (newRaw, reply, overflowed) = (
                check.overflow ? check.limit : value, Int64(bitPattern: oldRaw), check.overflow
            )
        }
        if overflowed && operation.overflow == .fail {
            out.writeNull()
            return false
        }
        out.writeInteger(Int(reply))
        Self.setBits(in: bytes, at: operation.offset, count: operation.bits, to: newRaw)
        let mask: UInt64 = operation.bits == 64 ? ~0 : (1 << operation.bits) - 1
        return grown || oldRaw != newRaw & mask
    }

    // MARK: - Integers at bit offsets

    /// `count` (1...64) bits from bit `offset`, most significant first, as the low bits of the result; bytes past
    /// the end read as zero.
    static func bits(in bytes: UnsafeRawBufferPointer, at offset: UInt64, count: Int) -> UInt64 {
        let byte = Int(offset >> 3)
        let shift = Int(offset & 7)
        var word: UInt64 = 0
        for i in 0..<8 {
            word <<= 8
            if byte + i < bytes.count { word |= UInt64(bytes[byte + i]) }
        }
        word <<= shift
        if shift > 0 && byte + 8 < bytes.count { word |= UInt64(bytes[byte + 8]) >> (8 - shift) }
        return word >> (64 - count)
    }

    /// Writes the low `count` bits of `value` at bit `offset`; the bytes must reach the last bit written.
    static func setBits(in bytes: UnsafeMutableRawBufferPointer, at offset: UInt64, count: Int, to value: UInt64) {
        let byte = Int(offset >> 3)
        let shift = Int(offset & 7)
        // The field and its mask aligned to the top of a word, then placed in the 9-byte window at `byte`.
        let mask: UInt64 = count == 64 ? ~0 : (1 << count) - 1
        let valueTop = (value & mask) << (64 - count)
        let maskTop = mask << (64 - count)
        let (v, m) = (valueTop >> shift, maskTop >> shift)
        for i in 0..<8 {
            let s = 56 - 8 * i
            let byteMask = UInt8(truncatingIfNeeded: m >> s)
            guard byteMask != 0 else { continue }
            bytes[byte + i] = (bytes[byte + i] & ~byteMask) | UInt8(truncatingIfNeeded: v >> s)
        }
        if shift > 0 {
            // The low `shift` bits of the field spill into the ninth byte.
            let byteMask = UInt8(truncatingIfNeeded: (maskTop << (64 - shift)) >> 56)
            if byteMask != 0 {
                let bits = UInt8(truncatingIfNeeded: (valueTop << (64 - shift)) >> 56)
                bytes[byte + 8] = (bytes[byte + 8] & ~byteMask) | bits
            }
        }
    }

    /// Two's complement of the low `bits` bits.
    static func signExtend(_ raw: UInt64, bits: Int) -> Int64 {
        guard bits < 64, raw & (1 << (bits - 1)) != 0 else { return Int64(bitPattern: raw) }
        return Int64(bitPattern: raw | (~0 << bits))
    }

    /// Whether `value + increment` overflows an unsigned `bits`-bit integer, and the value to store instead
    /// (wrapped or saturated). Mirrors Redis's arithmetic, quirks included: a SET of a negative number
    /// counts as an overflow above the maximum.
    static func unsignedOverflow(
        _ value: UInt64,
        _ increment: Int64,
        bits: Int,
        _ mode: Overflow
    ) -> (overflow: Bool, limit: UInt64) {
        let max: UInt64 = bits == 64 ? .max : (1 << bits) - 1
        let maxIncrement = Int64(bitPattern: max &- value)
        let minIncrement = Int64(bitPattern: 0 &- value)
        let wrapped = (value &+ UInt64(bitPattern: increment)) & ~(UInt64.max << bits)
        if value > max || (increment > 0 && increment > maxIncrement) {
            return (true, mode == .wrap ? wrapped : max)
        }
        if increment < 0 && increment < minIncrement {
            return (true, mode == .wrap ? wrapped : 0)
        }
        return (false, 0)
    }

    /// Whether `value + increment` overflows a signed `bits`-bit integer, and the value to store instead.
    /// Mirrors Redis's arithmetic (its intermediate differences wrap), quirks included.
    static func signedOverflow(
        _ value: Int64,
        _ increment: Int64,
        bits: Int,
        _ mode: Overflow
    ) -> (overflow: Bool, limit: Int64) {
        let max: Int64 = bits == 64 ? .max : (1 << (bits - 1)) - 1
        let min = -max - 1
        let maxIncrement = Int64(bitPattern: UInt64(bitPattern: max) &- UInt64(bitPattern: value))
        let minIncrement = min &- value
        var wrapped = UInt64(bitPattern: value) &+ UInt64(bitPattern: increment)
        if bits < 64 {
            let high = UInt64.max << bits
            wrapped = wrapped & (1 << (bits - 1)) != 0 ? wrapped | high : wrapped & ~high
        }
        if value > max || (bits != 64 && increment > maxIncrement)
            || (value >= 0 && increment > 0 && increment > maxIncrement)
        {
            return (true, mode == .wrap ? Int64(bitPattern: wrapped) : max)
        }
        if value < min || (bits != 64 && increment < minIncrement)
            || (value < 0 && increment < 0 && increment < minIncrement)
        {
            return (true, mode == .wrap ? Int64(bitPattern: wrapped) : min)
        }
        return (false, 0)
    }
}
