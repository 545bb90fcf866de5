public import SwiftletKeyspace

/// The DUMP / RESTORE serialization (Redis's `createDumpPayload` / `verifyDumpPayload`): an RDB value type byte
/// and value, then the RDB version as 2 bytes and the CRC-64 of everything before it as 8 bytes, both little
/// endian.
public enum DumpPayload {
    /// Why a payload was refused.
    public enum Failure: Error, Equatable {
        /// Shorter than the footer, a newer RDB version, or a checksum mismatch.
        case versionOrChecksum
        /// The value does not decode (includes empty collections and unsupported types).
        case badData(RDBError)
    }

    /// The payload of `entry`'s value.
    public static func encode(_ entry: Entry, compression: Bool) throws -> [UInt8] {
        var encoder = RDBEncoder(sink: ArraySink(), compression: compression)
        try encoder.writeObject(entry)
        var bytes = encoder.sink.bytes
        bytes.append(UInt8(RDBFormat.version & 0xFF))
        bytes.append(UInt8((RDBFormat.version >> 8) & 0xFF))
        let crc = CRC64.checksum(bytes)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
        return bytes
    }

    /// Checks the footer: at least 10 bytes, a version no newer than 10, and (unless `skipChecksum`) the CRC.
    public static func verify(_ payload: UnsafeRawBufferPointer, skipChecksum: Bool = false) -> Bool {
        guard payload.count >= 10 else { return false }
        let footer = payload.count - 10
        let version = Int(payload[footer]) | Int(payload[footer + 1]) << 8
        if version > RDBFormat.version { return false }
        if skipChecksum { return true }
        let crc = CRC64.update(0, UnsafeRawBufferPointer(rebasing: payload[0..<(payload.count - 8)]))
        var stored: UInt64 = 0
        for i in 0..<8 { stored |= UInt64(payload[footer + 2 + i]) << (8 * UInt64(i)) }
        return crc == stored
    }

    /// Verifies and decodes a payload.
    public static func decode(
        _ payload: [UInt8],
        limits: RDBLoadLimits,
        skipChecksum: Bool = false
    ) throws(Failure) -> RDBDecodedValue {
        guard payload.withUnsafeBytes({ Self.verify($0, skipChecksum: skipChecksum) }) else {
            throw .versionOrChecksum
        }
        let decoder = RDBDecoder(source: RDBByteSource(bytes: payload), limits: limits)
        do {
            let type = try decoder.readValueType()
            return try decoder.readValue(type)
        } catch let error as RDBError {
            throw .badData(error)
        } catch {
            throw .badData(RDBError(offset: 0, .corrupt("\(error)")))
        }
    }
}

extension DumpPayload {
    /// FUNCTION DUMP's payload: each library's code after the `FUNCTION2` opcode, as an RDB string (with
    /// `compression`, `rdbcompression yes`, LZF-compressed when that saves space, as Redis's rdbSaveRawString), then
    /// the footer.
    public static func encodeFunctions(_ codes: [[UInt8]], compression: Bool) -> [UInt8] {
        var encoder = RDBEncoder(sink: ArraySink(), compression: compression)
        for code in codes {
            // Why `try!`: writing to memory cannot fail.
            try! encoder.sink.write(byte: RDBFormat.Opcode.function2.rawValue)
            try! encoder.writeString(code)
        }
        var bytes = encoder.sink.bytes
        bytes.append(UInt8(RDBFormat.version & 0xFF))
        bytes.append(UInt8((RDBFormat.version >> 8) & 0xFF))
        let crc = CRC64.checksum(bytes)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
        return bytes
    }

    /// Why FUNCTION RESTORE refused a payload, in Redis's words.
    public enum FunctionsFailure: Error, Equatable {
        case versionOrChecksum
        case cannotReadType
        case notAFunction
        case badLibrary
    }

    /// The libraries' codes in a FUNCTION DUMP payload (functionRestoreCommand's loop).
    public static func decodeFunctions(_ payload: [UInt8]) throws(FunctionsFailure) -> [[UInt8]] {
        guard payload.withUnsafeBytes({ Self.verify($0) }) else { throw .versionOrChecksum }
        let body = Array(payload[0..<(payload.count - 10)])
        let decoder = RDBDecoder(source: RDBByteSource(bytes: body))
        var codes: [[UInt8]] = []
        var position = 0
        while position < body.count {
            let type = body[position]
            guard type == RDBFormat.Opcode.function2.rawValue || type == RDBFormat.Opcode.functionPreGA.rawValue else {
                throw .notAFunction
            }
            guard type == RDBFormat.Opcode.function2.rawValue else { throw .badLibrary }
            do {
                _ = try decoder.source.readByte("type")
                codes.append(try decoder.readString("function library"))
            } catch {
                throw .badLibrary
            }
            position = decoder.source.offset
        }
        return codes
    }
}
