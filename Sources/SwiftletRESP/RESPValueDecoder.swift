public import NIOCore

/// Decodes complete RESP2/RESP3 values (replies) from a buffer. Used by clients and tests.
///
/// Incomplete input leaves the buffer untouched and returns `nil`, so the caller can append more bytes and
/// try again.
public struct RESPValueDecoder: Sendable {
    /// The deepest nesting of aggregates accepted.
    public var maxDepth = 64

    public init() {}

    public func decode(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        var copy = buffer
        guard let value = try self.parseValue(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    private func readLine(_ buffer: inout ByteBuffer) -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: 13), view.index(after: cr) < view.endIndex else { return nil }
        let length = cr - view.startIndex
        let line = buffer.readSlice(length: length)!  // the CR lies within the readable bytes
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    private func readInteger(_ buffer: inout ByteBuffer) throws(RESPProtocolError) -> Int? {
        guard let line = self.readLine(&buffer) else { return nil }
        let parsed = line.withUnsafeReadableBytes { RESPInteger.parse($0) }
        guard let value = parsed else { throw RESPProtocolError("invalid integer '\(String(buffer: line))'") }
        return value
    }

    private func parseAggregate(
        _ buffer: inout ByteBuffer,
        count: Int,
        depth: Int
    ) throws(RESPProtocolError)
        -> [RESPValue]?
    {
        guard depth < self.maxDepth else { throw RESPProtocolError("nesting too deep") }
        var items: [RESPValue] = []
        items.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            guard let item = try self.parseValue(&buffer, depth: depth + 1) else { return nil }
            items.append(item)
        }
        return items
    }

    private func parseValue(_ buffer: inout ByteBuffer, depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard let marker = buffer.readInteger(as: UInt8.self) else { return nil }
        switch marker {
        case UInt8(ascii: "+"):
            return self.readLine(&buffer).map { .simpleString($0) }
        case UInt8(ascii: "-"):
            return self.readLine(&buffer).map { .error($0) }
        case UInt8(ascii: ":"):
            return try self.readInteger(&buffer).map { .integer(Int64($0)) }
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            guard let length = try self.readInteger(&buffer) else { return nil }
            if length < 0 { return .bulkString(nil) }
            // A length near Int.max would overflow the CRLF added to it: no server sends such a string.
            let (frameLength, overflow) = length.addingReportingOverflow(2)
            guard !overflow else { throw RESPProtocolError("invalid bulk length") }
            guard buffer.readableBytes >= frameLength, let payload = buffer.readSlice(length: length) else {
                return nil
            }
            buffer.moveReaderIndex(forwardBy: 2)
            if marker == UInt8(ascii: "!") { return .error(payload) }
            if marker == UInt8(ascii: "=") {
                guard payload.readableBytes >= 4 else { throw RESPProtocolError("bad verbatim string") }
                return .verbatimString(
                    format: payload.getSlice(at: payload.readerIndex, length: 3)!,
                    text: payload.getSlice(at: payload.readerIndex + 4, length: payload.readableBytes - 4)!
                )
            }
            return .bulkString(payload)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let count = try self.readInteger(&buffer) else { return nil }
            if count < 0 { return .array(nil) }
            let isPairs = marker == UInt8(ascii: "%") || marker == UInt8(ascii: "|")
            // A map holds two values per entry; a count whose double overflows cannot be a real reply.
            let (itemCount, overflow) = isPairs ? count.multipliedReportingOverflow(by: 2) : (count, false)
            guard !overflow else { throw RESPProtocolError("invalid multibulk length") }
            guard let items = try self.parseAggregate(&buffer, count: itemCount, depth: depth) else { return nil }
            switch marker {
            case UInt8(ascii: "~"): return .set(items)
            case UInt8(ascii: ">"): return .push(items)
            case UInt8(ascii: "%"): return .map(items)
            case UInt8(ascii: "|"):
                guard let value = try self.parseValue(&buffer, depth: depth + 1) else { return nil }
                return .attribute(items, value)
            default: return .array(items)
            }
        case UInt8(ascii: "_"):
            guard self.readLine(&buffer) != nil else { return nil }
            return .null
        case UInt8(ascii: "#"):
            guard let line = self.readLine(&buffer) else { return nil }
            return .boolean(line.getInteger(at: line.readerIndex, as: UInt8.self) == UInt8(ascii: "t"))
        case UInt8(ascii: ","):
            guard let line = self.readLine(&buffer) else { return nil }
            let text = String(buffer: line)
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let d = Double(text) else { throw RESPProtocolError("invalid double '\(text)'") }
                return .double(d)
            }
        case UInt8(ascii: "("):
            return self.readLine(&buffer).map { .bigNumber($0) }
        default:
            throw RESPProtocolError("unexpected type byte \(marker)")
        }
    }
}

extension RESPValue {
    /// Encodes the value back to RESP bytes (RESP3 types are written as RESP3).
    public func encode(into buffer: inout ByteBuffer) {
        func header(_ m: Character, _ n: Int) {
            buffer.writeString("\(m)\(n)\r\n")
        }
        switch self {
        case .simpleString(let b):
            buffer.writeString("+")
            buffer.writeImmutableBuffer(b)
            buffer.writeString("\r\n")
        case .error(let b):
            buffer.writeString("-")
            buffer.writeImmutableBuffer(b)
            buffer.writeString("\r\n")
        case .integer(let i):
            buffer.writeString(":\(i)\r\n")
        case .bulkString(nil):
            buffer.writeString("$-1\r\n")
        case .bulkString(let b?):
            header("$", b.readableBytes)
            buffer.writeImmutableBuffer(b)
            buffer.writeString("\r\n")
        case .array(nil):
            buffer.writeString("*-1\r\n")
        case .array(let a?):
            header("*", a.count)
            for v in a { v.encode(into: &buffer) }
        case .null:
            buffer.writeString("_\r\n")
        case .double(let d):
            buffer.writeString(",\(d)\r\n")
        case .boolean(let b):
            buffer.writeString(b ? "#t\r\n" : "#f\r\n")
        case .bigNumber(let b):
            buffer.writeString("(")
            buffer.writeImmutableBuffer(b)
            buffer.writeString("\r\n")
        case .verbatimString(let f, let t):
            header("=", f.readableBytes + 1 + t.readableBytes)
            buffer.writeImmutableBuffer(f)
            buffer.writeString(":")
            buffer.writeImmutableBuffer(t)
            buffer.writeString("\r\n")
        case .map(let a):
            header("%", a.count / 2)
            for v in a { v.encode(into: &buffer) }
        case .set(let a):
            header("~", a.count)
            for v in a { v.encode(into: &buffer) }
        case .push(let a):
            header(">", a.count)
            for v in a { v.encode(into: &buffer) }
        case .attribute(let attrs, let v):
            header("|", attrs.count / 2)
            for a in attrs { a.encode(into: &buffer) }
            v.encode(into: &buffer)
        }
    }
}
