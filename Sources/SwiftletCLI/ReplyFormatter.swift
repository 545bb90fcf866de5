import NIOCore
public import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How replies are printed, as redis-cli's `OUTPUT_*` modes.
public enum OutputMode: Sendable, Hashable {
    /// The human format (`(integer) 1`, `1) "a"`): the default when stdout is a terminal, or `--no-raw`.
    case standard
    /// Bare values, one per line: the default when stdout is not a terminal, or `--raw`.
    case raw
    /// `--csv`.
    case csv
    /// `--json`: strings escaped for JSON, bytes above 0x7f passed through.
    case json
    /// `--quoted-json`: strings quoted as in the human format, then every backslash doubled.
    case quotedJSON
}

/// A reply redis-cli 7.0 cannot print; it reports these on stderr and exits with status 1.
public struct UnprintableReplyError: Error, Hashable, Sendable {
    /// The whole line redis-cli prints, without the newline.
    public var message: String

    /// A reply type redis-cli's formatter does not know (its hiredis calls a big number type 13).
    static let bigNumber = UnprintableReplyError(message: "Unknown reply type: 13")
    /// An attribute: the hiredis inside redis-cli 7.0 fails to parse it.
    static let attribute = UnprintableReplyError(message: "Error: Protocol error, got \"|\" as reply type byte")
}

/// Renders replies byte for byte as redis-cli 7.0 does (`cliFormatReply` and its per-mode helpers).
public struct ReplyFormatter: Sendable {
    public var mode: OutputMode
    /// `-d`: what separates the elements of an aggregate in the raw format.
    public var bulkDelimiter: [UInt8]
    /// `-D`: what follows each reply in the raw format.
    public var replyDelimiter: [UInt8]

    public init(mode: OutputMode, bulkDelimiter: [UInt8] = [10], replyDelimiter: [UInt8] = [10]) {
        self.mode = mode
        self.bulkDelimiter = bulkDelimiter
        self.replyDelimiter = replyDelimiter
    }

    /// One whole reply, as printed after a command.
    /// - Parameters:
    ///   - value: the reply.
    ///   - verbatim: for commands whose text is meant to be read as is (INFO, CLIENT LIST, ...): the raw format
    ///     without the reply delimiter, whatever the mode.
    /// - Throws: ``UnprintableReplyError`` for the types redis-cli 7.0 cannot print.
    public func format(_ value: RESPValue, verbatim: Bool = false) throws(UnprintableReplyError) -> [UInt8] {
        try Self.checkPrintable(value)
        var out: [UInt8] = []
        if verbatim {
            self.appendRaw(value, to: &out)
            return out
        }
        switch self.mode {
        case .standard:
            Self.appendHuman(value, prefix: [], to: &out)
        case .raw:
            self.appendRaw(value, to: &out)
            out += self.replyDelimiter
        case .csv:
            Self.appendCSV(value, to: &out)
            out.append(10)
        case .json, .quotedJSON:
            self.appendJSON(value, to: &out)
            out.append(10)
        }
        return out
    }

    private static func checkPrintable(_ value: RESPValue) throws(UnprintableReplyError) {
        switch value {
        case .bigNumber: throw .bigNumber
        case .attribute: throw .attribute
        case .array(let items?), .map(let items), .set(let items), .push(let items):
            for item in items { try checkPrintable(item) }
        default: break
        }
    }

    // MARK: - Human (TTY) format

    private static func appendHuman(_ value: RESPValue, prefix: [UInt8], to out: inout [UInt8]) {
        switch value {
        case .error(let text):
            out += Array("(error) ".utf8) + bytes(text) + [10]
        case .simpleString(let text):
            out += bytes(text) + [10]
        case .integer(let number):
            out += Array("(integer) \(number)\n".utf8)
        case .double(let number):
            out += Array("(double) ".utf8) + doubleText(number) + [10]
        case .bulkString(let text?):
            appendRepr(bytes(text), to: &out)
            out.append(10)
        case .verbatimString(_, let text):
            out += bytes(text) + [10]
        case .bulkString(nil), .array(nil), .null:
            out += Array("(nil)\n".utf8)
        case .boolean(let flag):
            out += Array((flag ? "(true)\n" : "(false)\n").utf8)
        case .array(let items?):
            appendHumanAggregate(items, empty: "(empty array)", separator: ")", isMap: false, prefix: prefix, to: &out)
        case .map(let items):
            appendHumanAggregate(items, empty: "(empty hash)", separator: "#", isMap: true, prefix: prefix, to: &out)
        case .set(let items):
            appendHumanAggregate(items, empty: "(empty set)", separator: "~", isMap: false, prefix: prefix, to: &out)
        case .push(let items):
            appendHumanAggregate(items, empty: "(empty push)", separator: ")", isMap: false, prefix: prefix, to: &out)
        case .bigNumber, .attribute:
            // Rejected by checkPrintable before formatting starts.
            break
        }
    }

    private static func appendHumanAggregate(
        _ items: [RESPValue],
        empty: String,
        separator: Character,
        isMap: Bool,
        prefix: [UInt8],
        to out: inout [UInt8]
    ) {
        guard !items.isEmpty else {
            out += Array(empty.utf8) + [10]
            return
        }
        let entries = isMap ? items.count / 2 : items.count
        let width = String(entries).utf8.count
        // Nested entries are indented past the widest index and its separator and space.
        let childPrefix = prefix + [UInt8](repeating: 32, count: width + 2)
        var index = 0
        while index < items.count {
            let label = String(isMap ? index / 2 + 1 : index + 1)
            // The first entry takes no prefix: the caller has already printed this aggregate's own index.
            if index > 0 { out += prefix }
            out += [UInt8](repeating: 32, count: width - label.utf8.count) + Array(label.utf8)
            out += Array("\(separator) ".utf8)
            appendHuman(items[index], prefix: childPrefix, to: &out)
            if isMap {
                index += 1
                out.removeLast()  // the key's newline: the value follows on the same line
                out += Array(" => ".utf8)
                if index < items.count {
                    if isMultiline(items[index]) {
                        out.append(10)
                        out += childPrefix
                    }
                    appendHuman(items[index], prefix: childPrefix, to: &out)
                }
            }
            index += 1
        }
    }

    /// Whether the human format spans lines (redis-cli then starts a map's value on its own line).
    private static func isMultiline(_ value: RESPValue) -> Bool {
        switch value {
        case .array(let items?), .set(let items), .push(let items):
            if items.isEmpty { return false }
            return items.count > 1 || isMultiline(items[0])
        case .map(let items):
            if items.isEmpty { return false }
            return items.count > 2 || isMultiline(items[1])
        default:
            return false
        }
    }

    // MARK: - Raw format

    private func appendRaw(_ value: RESPValue, to out: inout [UInt8]) {
        switch value {
        case .bulkString(nil), .array(nil), .null:
            break
        case .error(let text):
            out += Self.bytes(text) + [10]
        case .simpleString(let text), .bulkString(let text?), .verbatimString(_, let text):
            out += Self.bytes(text)
        case .boolean(let flag):
            out += Array((flag ? "(true)" : "(false)").utf8)
        case .integer(let number):
            out += Array(String(number).utf8)
        case .double(let number):
            out += Self.doubleText(number)
        case .array(let items?), .set(let items), .push(let items):
            for (index, item) in items.enumerated() {
                if index > 0 { out += self.bulkDelimiter }
                self.appendRaw(item, to: &out)
            }
        case .map(let items):
            var index = 0
            while index + 1 < items.count {
                if index > 0 { out += self.bulkDelimiter }
                self.appendRaw(items[index], to: &out)
                out.append(32)
                self.appendRaw(items[index + 1], to: &out)
                index += 2
            }
        case .bigNumber, .attribute:
            break
        }
    }

    // MARK: - CSV format

    private static func appendCSV(_ value: RESPValue, to out: inout [UInt8]) {
        switch value {
        case .error(let text):
            out += Array("ERROR,".utf8)
            appendRepr(cString(bytes(text)), to: &out)
        case .simpleString(let text), .bulkString(let text?), .verbatimString(_, let text):
            appendRepr(bytes(text), to: &out)
        case .integer(let number):
            out += Array(String(number).utf8)
        case .double(let number):
            out += doubleText(number)
        case .bulkString(nil), .array(nil), .null:
            out += Array("NULL".utf8)
        case .boolean(let flag):
            out += Array((flag ? "true" : "false").utf8)
        case .array(let items?), .set(let items), .push(let items), .map(let items):
            // CSV has no map type: a map is its flat list of keys and values.
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendCSV(item, to: &out)
            }
        case .bigNumber, .attribute:
            break
        }
    }

    // MARK: - JSON formats

    private func appendJSON(_ value: RESPValue, to out: inout [UInt8]) {
        switch value {
        case .error(let text):
            out += Array("error:".utf8)
            self.appendJSONString(Self.cString(Self.bytes(text)), to: &out)
        case .simpleString(let text), .bulkString(let text?), .verbatimString(_, let text):
            self.appendJSONString(Self.bytes(text), to: &out)
        case .integer(let number):
            out += Array(String(number).utf8)
        case .double(let number):
            out += Self.doubleText(number)
        case .bulkString(nil), .array(nil), .null:
            out += Array("null".utf8)
        case .boolean(let flag):
            out += Array((flag ? "true" : "false").utf8)
        case .array(let items?), .set(let items), .push(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                self.appendJSON(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .map(let items):
            out.append(UInt8(ascii: "{"))
            var index = 0
            while index + 1 < items.count {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                switch items[index] {
                case .error, .simpleString, .bulkString(.some), .verbatimString:
                    self.appendJSON(items[index], to: &out)
                default:
                    // JSON keys must be strings: other types are formatted, then quoted unless already quoted.
                    var key: [UInt8] = []
                    self.appendJSON(items[index], to: &key)
                    out += key.first == UInt8(ascii: "\"") ? key : [34] + key + [34]
                }
                out.append(UInt8(ascii: ":"))
                self.appendJSON(items[index + 1], to: &out)
                index += 2
            }
            out.append(UInt8(ascii: "}"))
        case .bigNumber, .attribute:
            break
        }
    }

    private func appendJSONString(_ text: [UInt8], to out: inout [UInt8]) {
        if self.mode == .quotedJSON {
            var quoted: [UInt8] = []
            Self.appendRepr(text, to: &quoted)
            for byte in quoted {
                out += byte == UInt8(ascii: "\\") ? [92, 92] : [byte]
            }
            return
        }
        out.append(34)
        for byte in text {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): out += [92, byte]
            case 10: out += Array("\\n".utf8)
            case 12: out += Array("\\f".utf8)
            case 13: out += Array("\\r".utf8)
            case 9: out += Array("\\t".utf8)
            case 8: out += Array("\\b".utf8)
            case 0...0x1f: out += Array("\\u00".utf8) + Self.hex(byte)
            default: out.append(byte)
            }
        }
        out.append(34)
    }

    // MARK: - Helpers

    /// Quotes bytes as Redis's `sdscatrepr` does: C escapes for `\\ " \n \r \t \a \b`, `\xNN` for the rest of
    /// what is not printable ASCII.
    static func appendRepr(_ text: [UInt8], to out: inout [UInt8]) {
        out.append(34)
        for byte in text {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): out += [92, byte]
            case 10: out += Array("\\n".utf8)
            case 13: out += Array("\\r".utf8)
            case 9: out += Array("\\t".utf8)
            case 7: out += Array("\\a".utf8)
            case 8: out += Array("\\b".utf8)
            case 0x20...0x7e: out.append(byte)
            default: out += Array("\\x".utf8) + hex(byte)
            }
        }
        out.append(34)
    }

    private static func hex(_ byte: UInt8) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return [digits[Int(byte >> 4)], digits[Int(byte & 0xf)]]
    }

    private static func bytes(_ buffer: ByteBuffer) -> [UInt8] {
        Array(buffer.readableBytesView)
    }

    /// redis-cli measures error texts with `strlen` in the CSV and JSON formats: they end at the first NUL.
    private static func cString(_ text: [UInt8]) -> [UInt8] {
        guard let nul = text.firstIndex(of: 0) else { return text }
        return Array(text[..<nul])
    }

    /// A RESP3 double as Redis 7.0 writes it (`%.17g`, `inf`, `-inf`, `nan`): the decoder keeps the number, not its
    /// text, and `%.17g` gives back the same text for any value Redis 7.0 formatted that way.
    static func doubleText(_ number: Double) -> [UInt8] {
        if number.isNaN { return Array("nan".utf8) }
        if number.isInfinite { return Array((number < 0 ? "-inf" : "inf").utf8) }
        var buffer = [CChar](repeating: 0, count: 64)
        let length = withVaList([number]) { arguments in
            vsnprintf(&buffer, buffer.count, "%.17g", arguments)
        }
        return buffer[0..<Int(length)].map { UInt8(bitPattern: $0) }
    }
}
