public import NIOCore

/// One RESP2 or RESP3 value, as a client receives it.
///
/// The server path never builds these: replies are encoded straight into the outbound buffer by
/// ``RESPReplyWriter``. This type is for clients, tests and anything that reads replies back.
public enum RESPValue: Hashable, Sendable {
    case simpleString(ByteBuffer)
    case error(ByteBuffer)
    case integer(Int64)
    /// `nil` is the RESP2 null bulk string (`$-1`).
    case bulkString(ByteBuffer?)
    /// `nil` is the RESP2 null array (`*-1`).
    case array([RESPValue]?)
    /// RESP3 `_`.
    case null
    case double(Double)
    case boolean(Bool)
    case bigNumber(ByteBuffer)
    /// RESP3 `=`: a three-letter format and the text.
    case verbatimString(format: ByteBuffer, text: ByteBuffer)
    /// RESP3 `%`, kept as a flat key, value, key, value list so that the type stays `Hashable`.
    case map([RESPValue])
    case set([RESPValue])
    case push([RESPValue])
    /// RESP3 `|`: attributes followed by the value they describe.
    indirect case attribute([RESPValue], RESPValue)
}

extension RESPValue {
    /// The payload of a string-like reply (simple, bulk, verbatim, error) as text; `nil` otherwise.
    public var string: String? {
        switch self {
        case .simpleString(let b), .error(let b), .bigNumber(let b):
            return String(buffer: b)
        case .bulkString(let b?):
            return String(buffer: b)
        case .verbatimString(_, let b):
            return String(buffer: b)
        default:
            return nil
        }
    }

    /// The value of an integer reply; `nil` otherwise.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The payload of a string-like reply as bytes; `nil` otherwise.
    public var bytes: [UInt8]? {
        switch self {
        case .simpleString(let b), .error(let b), .bigNumber(let b):
            return Array(b.readableBytesView)
        case .bulkString(let b?):
            return Array(b.readableBytesView)
        case .verbatimString(_, let b):
            return Array(b.readableBytesView)
        default:
            return nil
        }
    }

    /// The elements of an array, set, push or map reply; `nil` otherwise.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let a?), .set(let a), .push(let a), .map(let a):
            return a
        default:
            return nil
        }
    }

    public var isNull: Bool {
        switch self {
        case .null, .bulkString(nil), .array(nil):
            return true
        default:
            return false
        }
    }
}
