/// Reads the commands of an append-only file: RESP arrays of bulk strings (`*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n`),
/// with `#...\r\n` annotation lines between them (`#TS:<unix seconds>` with aof-timestamp-enabled).
///
/// The loader and `swiftlet-check-aof` share it, so that both agree on where a file is torn: a command cut short
/// by the end of the data is ``AOFError/Kind/truncated(validLength:)`` (repairable by truncating the file to the
/// last complete command), anything else that is not a command is ``AOFError/Kind/badFormat(_:)``.
public struct AOFCommandReader {
    public enum Item: Equatable {
        /// A command: the byte ranges of its arguments, name first, and where it starts and ends in the data.
        case command(arguments: [Range<Int>], span: Range<Int>)
        /// An annotation line without its `#` and line end (LF or CRLF, none at the end of the data).
        case annotation(String, span: Range<Int>)
    }

    public let bytes: [UInt8]
    /// Where the next item starts.
    public private(set) var offset: Int

    public init(bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Whether the data starts with an RDB preamble (`REDIS`), as a base file written with aof-use-rdb-preamble.
    public static func hasRDBPreamble(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 5 && bytes[0..<5].elementsEqual("REDIS".utf8)
    }

    /// The next item, or nil at the end of the data.
    public mutating func next() throws(AOFError) -> Item? {
        let start = self.offset
        guard start < self.bytes.count else { return nil }
        if self.bytes[start] == UInt8(ascii: "#") {
            // Redis reads an annotation with `fgets` into a buffer of AOF_ANNOTATION_LINE_MAX_LEN (1024) bytes: up
            // to and including the first LF, at most 1023 bytes, or to the end of the file (a last line without
            // its LF is complete). The loader and redis-check-aof both skip it that way.
            let limit = min(self.bytes.count, start + 1023)
            var end = start
            while end < limit && self.bytes[end] != 10 { end += 1 }
            if end < limit { end += 1 }
            var textEnd = end
            if textEnd > start + 1 && self.bytes[textEnd - 1] == 10 { textEnd -= 1 }
            if textEnd > start + 1 && self.bytes[textEnd - 1] == 13 { textEnd -= 1 }
            self.offset = end
            return .annotation(String(decoding: self.bytes[(start + 1)..<textEnd], as: UTF8.self), span: start..<end)
        }
        guard self.bytes[start] == UInt8(ascii: "*") else {
            throw AOFError(.badFormat("expected '*' to start a command"), offset: start)
        }
        guard let countEnd = self.lineEnd(from: start) else {
            throw AOFError(.truncated(validLength: start), offset: self.bytes.count)
        }
        guard let count = Self.integer(self.bytes[(start + 1)..<countEnd]), count >= 1 else {
            throw AOFError(.badFormat("invalid argument count"), offset: start)
        }
        var position = countEnd + 2
        var arguments: [Range<Int>] = []
        arguments.reserveCapacity(count)
        for _ in 0..<count {
            guard position < self.bytes.count else {
                throw AOFError(.truncated(validLength: start), offset: self.bytes.count)
            }
            guard self.bytes[position] == UInt8(ascii: "$") else {
                throw AOFError(.badFormat("expected '$' to start an argument"), offset: position)
            }
            guard let lengthEnd = self.lineEnd(from: position) else {
                throw AOFError(.truncated(validLength: start), offset: self.bytes.count)
            }
            guard let length = Self.integer(self.bytes[(position + 1)..<lengthEnd]), length >= 0 else {
                throw AOFError(.badFormat("invalid bulk length"), offset: position)
            }
            let dataStart = lengthEnd + 2
            let (dataEnd, overflow) = dataStart.addingReportingOverflow(length)
            guard !overflow, dataEnd + 2 <= self.bytes.count else {
                throw AOFError(.truncated(validLength: start), offset: self.bytes.count)
            }
            guard self.bytes[dataEnd] == 13 && self.bytes[dataEnd + 1] == 10 else {
                throw AOFError(.badFormat("argument not followed by CRLF"), offset: dataEnd)
            }
            arguments.append(dataStart..<dataEnd)
            position = dataEnd + 2
        }
        self.offset = position
        return .command(arguments: arguments, span: start..<position)
    }

    /// The index of the `\r` of the CRLF that ends the line at `start`, nil if the data ends first.
    private func lineEnd(from start: Int) -> Int? {
        var i = start
        while i + 1 < self.bytes.count {
            if self.bytes[i] == 13 && self.bytes[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    static func integer(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for d in digits {
            guard d >= 48 && d <= 57 else { return nil }
            value = value * 10 + Int(d - 48)
        }
        return value
    }
}

/// Encodes commands as an append-only file stores them.
public enum AOFCommandWriter {
    /// MULTI and EXEC as the AOF writes them around the ops of one command or transaction.
    public static let multi = Array("*1\r\n$5\r\nMULTI\r\n".utf8)
    public static let exec = Array("*1\r\n$4\r\nEXEC\r\n".utf8)

    /// The `#TS:<unix seconds>` annotation line (aof-timestamp-enabled).
    public static func appendTimestamp(_ seconds: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: Array("#TS:\(seconds)\r\n".utf8))
    }

    /// Appends `*<n>\r\n` and each argument as `$<len>\r\n<bytes>\r\n`.
    public static func append(_ arguments: [[UInt8]], to out: inout [UInt8]) {
        self.appendHeader(arguments.count, to: &out)
        for argument in arguments { argument.withUnsafeBytes { self.appendArgument($0, to: &out) } }
    }

    public static func appendHeader(_ count: Int, to out: inout [UInt8]) {
        self.appendLine(UInt8(ascii: "*"), count, to: &out)
    }

    /// `$<len>\r\n<bytes>\r\n`: three copies, not one append per byte (this runs for every propagated argument).
    public static func appendArgument(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        self.appendLine(UInt8(ascii: "$"), bytes.count, to: &out)
        out.append(contentsOf: bytes)
        out.append(contentsOf: Self.crlf)
    }

    static let crlf: [UInt8] = [13, 10]

    /// `<prefix><decimal>\r\n` in one append.
    static func appendLine(_ prefix: UInt8, _ value: Int, to out: inout [UInt8]) {
        var line: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &line) { raw in
            var digits = 0
            var v = value
            repeat {
                digits += 1
                v /= 10
            } while v > 0
            raw[0] = prefix
            v = value
            for i in stride(from: digits, through: 1, by: -1) {
                raw[i] = UInt8(48 + v % 10)
                v /= 10
            }
            raw[digits + 1] = 13
            raw[digits + 2] = 10
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[0..<(digits + 3)]))
        }
    }

    public static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(48 + value))
            return
        }
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = value
        var n = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[n] = UInt8(48 + v % 10)
                v /= 10
                n += 1
            } while v > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(raw[i]) }
        }
    }
}
