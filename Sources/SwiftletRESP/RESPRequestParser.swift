public import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a request could not be parsed. The server replies `-ERR Protocol error: <reason>` and closes the
/// connection, as Redis does.
public struct RESPProtocolError: Error, Hashable, Sendable {
    /// The bytes after `Protocol error: `, worded as Redis words it; a byte echoed from the request stays as it
    /// came (Redis prints it with `%c`), so this is not always UTF-8.
    public var reasonBytes: [UInt8]

    public init(_ reason: String) {
        self.reasonBytes = Array(reason.utf8)
    }

    public init(bytes: [UInt8]) {
        self.reasonBytes = bytes
    }

    /// The reason as text (bytes that are not UTF-8 show as U+FFFD).
    public var reason: String { String(decoding: self.reasonBytes, as: UTF8.self) }

    /// The complete error line (without the leading `-` and the CRLF).
    public var messageBytes: [UInt8] { Array("ERR Protocol error: ".utf8) + self.reasonBytes }

    /// "expected '$', got 'X'" with the byte X as Redis's `addReplyErrorFormat("... got '%c'")` sends it: not
    /// UTF-8-encoded, CR and LF made spaces. (X is never NUL: a NUL hides the line's end, and the parser waits.)
    static func expectedBulk(got marker: UInt8) -> RESPProtocolError {
        let echoed = marker == 13 || marker == 10 ? UInt8(ascii: " ") : marker
        return RESPProtocolError(bytes: Array("expected '$', got '".utf8) + [echoed, UInt8(ascii: "'")])
    }
}

/// Limits the parser enforces, with Redis's defaults.
public struct RESPRequestLimits: Sendable, Hashable {
    /// `proto-max-bulk-len`: the longest bulk string a request may carry (512 MB).
    public var maxBulkLength: Int = 512 * 1024 * 1024
    /// `PROTO_INLINE_MAX_SIZE`: the longest inline request and the longest `*`/`$` header line (64 KiB).
    public var maxInlineLength: Int = 64 * 1024
    /// The most arguments one multibulk request may have (`INT_MAX` in Redis 7.0).
    public var maxArgumentCount: Int = Int(Int32.max)

    public init() {}
}

/// Incremental parser of client requests: RESP multibulk arrays (`*N\r\n$len\r\n...`) and inline
/// commands (`PING\r\n`, typed into telnet).
///
/// A request may arrive in any number of pieces. While a multibulk request is incomplete the parser
/// remembers how far it got as offsets from the buffer's reader index, never as slices, so that the
/// caller may append more bytes to the same buffer without copying it (a live slice would force a
/// copy-on-write of the whole cumulation buffer on every read).
public struct RESPRequestParser: Sendable {
    public var limits: RESPRequestLimits

    // State of a multibulk request in progress; offsets are relative to the reader index.
    private var inProgress = false
    private var expectedArguments = 0
    private var scanOffset = 0
    private var bulkLength = -1
    private var argumentOffsets: [Int] = []
    private var argumentLengths: [Int] = []

    public init(limits: RESPRequestLimits = .init()) {
        self.limits = limits
    }

    /// True while part of a request has been seen but not all of it.
    public var hasPartialRequest: Bool { self.inProgress }

    /// While a large bulk string (32 KiB or more, Redis's `PROTO_MBULK_BIG_ARG`) is arriving: the bytes of the request
    /// before its data, which Redis no longer counts in the query buffer (it moves the big argument to the buffer's
    /// start, for CLIENT LIST's `qbuf`). 0 otherwise.
    public var bytesBeforeLargeBulk: Int {
        self.inProgress && self.bulkLength >= 32 * 1024 ? self.scanOffset : 0
    }

    /// The bytes the request in progress is known to take so far: what has been scanned, plus the whole of the bulk
    /// string whose header has arrived (0 without a partial request). Redis allocates that much for a large argument
    /// as soon as its length is read, and counts it toward the client's memory.
    public var partialRequestBytes: Int {
        guard self.inProgress else { return 0 }
        return self.scanOffset + (self.bulkLength >= 0 ? self.bulkLength + 2 : 0)
    }

    /// Parses the next complete request from `buffer` into `arguments` (which is emptied first).
    ///
    /// - Returns: `true` when `arguments` holds a request; `false` when more bytes are needed, in which case
    ///   the reader index is left at the start of the incomplete request.
    /// - Throws: ``RESPProtocolError`` for malformed input; the connection must then be closed.
    public mutating func next(
        from buffer: inout ByteBuffer,
        into arguments: inout [ByteBuffer]
    ) throws(RESPProtocolError)
        -> Bool
    {
        if !arguments.isEmpty { arguments.removeAllArguments() }
        while buffer.readableBytes > 0 {
            if !self.inProgress {
                if let consumed = Self.parseComplete(buffer, into: &arguments, maxBulk: self.limits.maxBulkLength) {
                    buffer.moveReaderIndex(forwardBy: consumed)
                    return true
                }
                let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self)!  // readable > 0
                if first != UInt8(ascii: "*") {
                    switch try self.parseInline(&buffer, into: &arguments) {
                    case .needMore: return false
                    case .empty: continue
                    case .complete: return true
                    }
                }
                guard
                    let (count, headerLength) = try self.header(in: buffer, at: 0, tooBig: "too big mbulk count string")
                else { return false }
                guard let count, count <= self.limits.maxArgumentCount else {
                    throw RESPProtocolError("invalid multibulk length")
                }
                if count <= 0 {
                    // `*0` and `*-1` are accepted and ignored, as Redis does.
                    buffer.moveReaderIndex(forwardBy: headerLength)
                    continue
                }
                self.inProgress = true
                self.expectedArguments = count
                self.scanOffset = headerLength
                self.bulkLength = -1
                self.argumentOffsets.removeAll(keepingCapacity: true)
                self.argumentLengths.removeAll(keepingCapacity: true)
            }
            guard try self.continueMultibulk(buffer) else { return false }
            let base = buffer.readerIndex
            for i in 0..<self.argumentOffsets.count {
                // The offsets were validated against the readable bytes while scanning.
                arguments.append(buffer.getSlice(at: base + self.argumentOffsets[i], length: self.argumentLengths[i])!)
            }
            buffer.moveReaderIndex(forwardBy: self.scanOffset)
            self.inProgress = false
            if self.argumentOffsets.count > 1024 {
                // A request of many arguments does not keep its scan state's storage (used_memory falls after it).
                self.argumentOffsets = []
                self.argumentLengths = []
            }
            return true
        }
        return false
    }

    /// The fast path: a whole, well-formed multibulk request already in the buffer is sliced straight into
    /// `arguments` in one pass. Returns the bytes consumed, or `nil` (with `arguments` left empty) when the
    /// request is incomplete, empty, inline or unusual; the general path then handles it and reports errors.
    private static func parseComplete(_ buffer: ByteBuffer, into arguments: inout [ByteBuffer], maxBulk: Int) -> Int? {
        let base = buffer.readerIndex
        let consumed: Int? = buffer.withUnsafeReadableBytes { raw in
            let n = raw.count
            guard n >= 4, raw[0] == UInt8(ascii: "*") else { return nil }
            var i = 1
            // A decimal of at most 10 digits terminated by CRLF, without sign or leading zero.
            func number() -> Int? {
                var value = 0
                let start = i
                while i < n {
                    let c = raw[i]
                    if c == 13 {
                        guard i > start, i + 1 < n, raw[i + 1] == 10, i - start <= 10 else { return nil }
                        if raw[start] == UInt8(ascii: "0") && i - start > 1 { return nil }
                        i += 2
                        return value
                    }
                    guard c >= 48 && c <= 57 else { return nil }
                    value = value &* 10 &+ Int(c &- 48)
                    i += 1
                }
                return nil
            }
            guard let count = number(), count > 0 else { return nil }
            for _ in 0..<count {
                guard i < n, raw[i] == UInt8(ascii: "$") else { return nil }
                i += 1
                guard let length = number(), length <= maxBulk, n - i >= length + 2 else { return nil }
                // In bounds: `length + 2` bytes remain after `i`.
                arguments.append(buffer.getSlice(at: base + i, length: length)!)
                i += length + 2
            }
            return i
        }
        if consumed == nil && !arguments.isEmpty { arguments.removeAllArguments() }
        return consumed
    }

    /// Scans bulk strings of the request in progress; returns `true` once all arguments are present.
    private mutating func continueMultibulk(_ buffer: ByteBuffer) throws(RESPProtocolError) -> Bool {
        while self.argumentOffsets.count < self.expectedArguments {
            if self.bulkLength < 0 {
                guard let marker = buffer.getInteger(at: buffer.readerIndex + self.scanOffset, as: UInt8.self) else {
                    return false
                }
                guard
                    let (length, headerLength) = try self.header(
                        in: buffer,
                        at: self.scanOffset,
                        tooBig: "too big bulk count string"
                    )
                else { return false }
                guard marker == UInt8(ascii: "$") else {
                    throw RESPProtocolError.expectedBulk(got: marker)
                }
                guard let length, length >= 0, length <= self.limits.maxBulkLength else {
                    throw RESPProtocolError("invalid bulk length")
                }
                self.bulkLength = length
                self.scanOffset += headerLength
            }
            // Like Redis, the two bytes after the payload are skipped without being checked.
            guard buffer.readableBytes - self.scanOffset >= self.bulkLength + 2 else { return false }
            self.argumentOffsets.append(self.scanOffset)
            self.argumentLengths.append(self.bulkLength)
            self.scanOffset += self.bulkLength + 2
            self.bulkLength = -1
        }
        return true
    }

    /// Reads a `*N\r\n` or `$N\r\n` line at `offset`. Returns `nil` when the line is incomplete, else the parsed
    /// number (`nil` if it is not a valid integer) and the line's length including CRLF.
    private func header(
        in buffer: ByteBuffer,
        at offset: Int,
        tooBig: String
    ) throws(RESPProtocolError) -> (
        Int?, Int
    )? {
        let available = buffer.readableBytes - offset
        guard let cr = Self.lineEnd(in: buffer, from: offset, UInt8(ascii: "\r")) else {
            if available > self.limits.maxInlineLength { throw RESPProtocolError(tooBig) }
            return nil
        }
        // The buffer must also hold the '\n'.
        guard cr + 1 < available else { return nil }
        // A line that is only CRLF has no marker and no number ("*1\r\n\r\n" once trapped on the range below).
        guard cr >= 1 else { return (nil, 2) }
        let value: Int? = buffer.withUnsafeReadableBytes { raw in
            RESPInteger.parse(UnsafeRawBufferPointer(rebasing: raw[(offset + 1)..<(offset + cr)]))
        }
        return (value, cr + 2)
    }

    /// Where `byte` first occurs in the readable bytes from `offset`, as C's `strchr` finds it in Redis's query
    /// buffer: a NUL byte before it hides it, and Redis then waits for more input as for an unterminated line (up
    /// to the 64 KiB inline limit). Redis 7.0 looks for a header's `\r` and an inline request's `\n` this way.
    private static func lineEnd(in buffer: ByteBuffer, from offset: Int, _ byte: UInt8) -> Int? {
        buffer.withUnsafeReadableBytes { raw in
            let available = raw.count - offset
            guard let start = raw.baseAddress, available > 0 else { return nil }
            guard let found = memchr(start + offset, Int32(byte), available) else { return nil }
            let distance = UnsafeRawPointer(found) - (start + offset)
            if distance > 0 && memchr(start + offset, 0, distance) != nil { return nil }
            return distance
        }
    }

    private enum InlineOutcome {
        case needMore
        case empty
        case complete
    }

    /// Parses an inline request: one line, split like `sdssplitargs` (quotes and escapes).
    private func parseInline(
        _ buffer: inout ByteBuffer,
        into arguments: inout [ByteBuffer]
    ) throws(RESPProtocolError)
        -> InlineOutcome
    {
        let available = buffer.readableBytes
        guard let newline = Self.lineEnd(in: buffer, from: 0, UInt8(ascii: "\n")) else {
            if available > self.limits.maxInlineLength { throw RESPProtocolError("too big inline request") }
            return .needMore
        }
        var lineLength = newline
        if lineLength > 0, buffer.getInteger(at: buffer.readerIndex + lineLength - 1, as: UInt8.self) == 13 {
            lineLength -= 1
        }
        let line = buffer.getSlice(at: buffer.readerIndex, length: lineLength)!  // within readable bytes
        guard let words = InlineSplitter.split(line.readableBytesView) else {
            throw RESPProtocolError("unbalanced quotes in request")
        }
        buffer.moveReaderIndex(forwardBy: newline + 1)
        if words.isEmpty { return .empty }
        for word in words {
            arguments.append(ByteBuffer(bytes: word))
        }
        return .complete
    }
}

/// Strict integer parsing as Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no spaces.
public enum RESPInteger {
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let n = bytes.count
        guard n > 0, n <= 20 else { return nil }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
            guard n > 1 else { return nil }
        }
        if bytes[i] == UInt8(ascii: "0") {
            return (n == 1) ? 0 : nil
        }
        var value: UInt64 = 0
        while i < n {
            let d = bytes[i] &- UInt8(ascii: "0")
            guard d <= 9 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            value = a
            i += 1
        }
        if negative {
            if value > UInt64(Int64.max) + 1 { return nil }
            return value == UInt64(Int64.max) + 1 ? Int.min : -Int(value)
        }
        return value > UInt64(Int64.max) ? nil : Int(value)
    }
}

/// Splits a line into words as Redis's `sdssplitargs`: whitespace separates words, `"..."` understands
/// `\n \r \t \b \a \\ \" \xHH`, `'...'` understands `\'`; a closing quote must be followed by a space.
public enum InlineSplitter {
    /// - Returns: the words, or `nil` for unbalanced quotes.
    public static func split<C: Collection>(_ line: C) -> [[UInt8]]? where C.Element == UInt8 {
        let bytes = Array(line)
        var words: [[UInt8]] = []
        var i = 0
        let n = bytes.count
        func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        while true {
            while i < n, isSpace(bytes[i]) { i += 1 }
            if i >= n { return words }
            var current: [UInt8] = []
            var inDouble = false
            var inSingle = false
            var done = false
            while !done {
                if inDouble {
                    guard i < n else { return nil }
                    let c = bytes[i]
                    if c == UInt8(ascii: "\\"), i + 3 < n, bytes[i + 1] == UInt8(ascii: "x"),
                        let h = hex(bytes[i + 2]), let l = hex(bytes[i + 3])
                    {
                        current.append(h << 4 | l)
                        i += 3
                    } else if c == UInt8(ascii: "\\"), i + 1 < n {
                        i += 1
                        switch bytes[i] {
                        case UInt8(ascii: "n"): current.append(10)
                        case UInt8(ascii: "r"): current.append(13)
                        case UInt8(ascii: "t"): current.append(9)
                        case UInt8(ascii: "b"): current.append(8)
                        case UInt8(ascii: "a"): current.append(7)
                        default: current.append(bytes[i])
                        }
                    } else if c == UInt8(ascii: "\"") {
                        // The closing quote must be followed by a space or the end of the line.
                        if i + 1 < n, !isSpace(bytes[i + 1]) { return nil }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else if inSingle {
                    guard i < n else { return nil }
                    let c = bytes[i]
                    if c == UInt8(ascii: "\\"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "'") {
                        current.append(UInt8(ascii: "'"))
                        i += 1
                    } else if c == UInt8(ascii: "'") {
                        if i + 1 < n, !isSpace(bytes[i + 1]) { return nil }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else {
                    if i >= n { break }
                    let c = bytes[i]
                    switch c {
                    case 32, 10, 13, 9, 0:
                        done = true
                    case UInt8(ascii: "\""):
                        inDouble = true
                    case UInt8(ascii: "'"):
                        inSingle = true
                    default:
                        current.append(c)
                    }
                }
                if i < n { i += 1 }
            }
            words.append(current)
        }
    }
}

extension Array where Element == ByteBuffer {
    /// Empties a request's argument list and keeps its storage for the next request: what
    /// `removeAll(keepingCapacity: true)` does, without the generic range replacement that call goes through, which
    /// cost more than the releases of the slices themselves (callgrind, SADD's three arguments: 222 instructions
    /// per request, against about 110). The storage of a request with more than 1024 arguments is released instead,
    /// so that one SADD of 100,000 members does not keep 2.4 MB for the connection's life (Redis's lazyfree test
    /// sees `used_memory` fall after UNLINK).
    @inlinable
    public mutating func removeAllArguments() {
        if self.count > 1024 {
            self = []
            return
        }
        while !self.isEmpty { self.removeLast() }
    }
}
