/// The manifest of a multi-part append-only file (Redis 7.0's `appendonlydir/appendonly.aof.manifest`): which base
/// file and which incremental files make up the log, in order.
///
/// One line per file, `file <name> seq <n> type <b|h|i>`: `b` the base (an RDB or a command log written by a
/// rewrite), `i` an incremental file of commands appended since, `h` a file a rewrite replaced, to be deleted.
/// Names that need quoting are written as Redis's `sdscatrepr` writes them; lines starting with `#` are comments.
public struct AOFManifest: Equatable, Sendable {
    public enum FileType: Character, Sendable {
        case base = "b"
        case history = "h"
        case incr = "i"
    }

    public struct FileInfo: Equatable, Sendable {
        public var name: String
        public var sequence: Int64
        public var type: FileType

        public init(name: String, sequence: Int64, type: FileType) {
            self.name = name
            self.sequence = sequence
            self.type = type
        }
    }

    /// `appendfilename`: the prefix of every file name.
    public var prefix: String
    public var base: FileInfo?
    /// Incremental files, oldest first.
    public var incrs: [FileInfo] = []
    public var history: [FileInfo] = []
    /// The highest sequence numbers in use, so that new files never reuse a name.
    public var baseSequence: Int64 = 0
    public var incrSequence: Int64 = 0

    public init(prefix: String) {
        self.prefix = prefix
    }

    /// `<prefix>.manifest`.
    public var fileName: String { self.prefix + ".manifest" }
    public static func tempName(of name: String) -> String { "temp-" + name }

    /// Whether there is nothing to load (a fresh manifest).
    public var isEmpty: Bool { self.base == nil && self.incrs.isEmpty }

    /// Files to load, in order: the base, then the incremental files.
    public var filesToLoad: [FileInfo] { (self.base.map { [$0] } ?? []) + self.incrs }

    /// Starts a new base: the current one becomes history. Returns the new file name.
    public mutating func newBase(rdbPreamble: Bool) -> String {
        if let base { self.history.append(FileInfo(name: base.name, sequence: base.sequence, type: .history)) }
        self.baseSequence += 1
        let name = "\(self.prefix).\(self.baseSequence).base.\(rdbPreamble ? "rdb" : "aof")"
        self.base = FileInfo(name: name, sequence: self.baseSequence, type: .base)
        return name
    }

    /// Adds a new incremental file at the end. Returns its name.
    public mutating func newIncr() -> String {
        self.incrSequence += 1
        let name = "\(self.prefix).\(self.incrSequence).incr.aof"
        self.incrs.append(FileInfo(name: name, sequence: self.incrSequence, type: .incr))
        return name
    }

    /// After a rewrite: every incremental file before `name` (those the new base covers) becomes history.
    public mutating func retireIncrs(before name: String) {
        guard let index = self.incrs.firstIndex(where: { $0.name == name }) else { return }
        for info in self.incrs[..<index] {
            self.history.append(FileInfo(name: info.name, sequence: info.sequence, type: .history))
        }
        self.incrs.removeFirst(index)
    }

    // MARK: - Text

    /// The manifest as Redis writes it: base, history, then incremental files.
    public func render() -> String {
        var text = ""
        for info in (self.base.map { [$0] } ?? []) + self.history + self.incrs {
            text += "file \(Self.quoted(info.name)) seq \(info.sequence) type \(info.type.rawValue)\n"
        }
        return text
    }

    /// Parses a manifest (Redis's `aofLoadManifestFromFile`).
    public static func parse(_ text: String, prefix: String) throws(AOFError) -> AOFManifest {
        var manifest = AOFManifest(prefix: prefix)
        var sawLine = false
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            sawLine = true
            guard line.utf8.count <= 1024 else {
                throw AOFError(.manifest("The AOF manifest file contains too long line"), line: number + 1)
            }
            guard let words = Self.splitArguments(trimmed), words.count % 2 == 0 else {
                throw AOFError(.manifest("Invalid AOF manifest file format"), line: number + 1)
            }
            var name: String?
            var sequence: Int64?
            var type: FileType?
            for pair in stride(from: 0, to: words.count, by: 2) {
                switch words[pair].lowercased() {
                case "file": name = words[pair + 1]
                case "seq": sequence = Int64(words[pair + 1])
                case "type": type = words[pair + 1].count == 1 ? FileType(rawValue: words[pair + 1].first!) : nil
                default: continue  // Unknown keys are skipped, for files written by newer versions.
                }
            }
            guard let name, let sequence, let type else {
                throw AOFError(.manifest("Invalid AOF manifest file format"), line: number + 1)
            }
            let info = FileInfo(name: name, sequence: sequence, type: type)
            switch type {
            case .base:
                if manifest.base != nil {
                    throw AOFError(.manifest("Found duplicate base file information"), line: number + 1)
                }
                manifest.base = info
                manifest.baseSequence = sequence
            case .history:
                manifest.history.append(info)
            case .incr:
                if sequence <= manifest.incrSequence {
                    throw AOFError(.manifest("Found a non-monotonic sequence number"), line: number + 1)
                }
                manifest.incrs.append(info)
                manifest.incrSequence = sequence
            }
        }
        if !sawLine { throw AOFError(.manifest("Found an empty AOF manifest"), line: 0) }
        return manifest
    }

    /// A name as `sdscatrepr` quotes it when it has spaces, quotes or unprintable bytes; as is otherwise.
    static func quoted(_ name: String) -> String {
        let needsQuotes = name.utf8.contains { $0 <= 32 || $0 >= 127 || $0 == UInt8(ascii: "\"") || $0 == 92 }
        guard needsQuotes else { return name }
        var out = "\""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\""): out += "\\\""
            case 10: out += "\\n"
            case 13: out += "\\r"
            case 9: out += "\\t"
            case 7: out += "\\a"
            case 8: out += "\\b"
            case 32..<127: out.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = Array("0123456789abcdef")
                out += "\\x\(hex[Int(byte >> 4)])\(hex[Int(byte & 15)])"
            }
        }
        return out + "\""
    }

    /// Splits a line into words as `sdssplitargs`: blanks separate, double quotes with escapes, single quotes raw.
    static func splitArguments(_ line: Substring) -> [String]? {
        var words: [String] = []
        var bytes = Array(line.utf8)[...]
        while true {
            while let b = bytes.first, b == 32 || b == 9 { bytes.removeFirst() }
            guard let first = bytes.first else { return words }
            var word: [UInt8] = []
            if first == UInt8(ascii: "\"") {
                bytes.removeFirst()
                while true {
                    guard let b = bytes.popFirst() else { return nil }
                    if b == UInt8(ascii: "\"") { break }
                    if b == 92, let next = bytes.popFirst() {
                        switch next {
                        case UInt8(ascii: "n"): word.append(10)
                        case UInt8(ascii: "r"): word.append(13)
                        case UInt8(ascii: "t"): word.append(9)
                        case UInt8(ascii: "a"): word.append(7)
                        case UInt8(ascii: "b"): word.append(8)
                        case UInt8(ascii: "x"):
                            guard bytes.count >= 2,
                                let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16)
                            else { return nil }
                            bytes.removeFirst(2)
                            word.append(v)
                        default: word.append(next)
                        }
                    } else {
                        word.append(b)
                    }
                }
                if let b = bytes.first, b != 32 && b != 9 { return nil }
            } else if first == UInt8(ascii: "'") {
                bytes.removeFirst()
                while true {
                    guard let b = bytes.popFirst() else { return nil }
                    if b == UInt8(ascii: "'") { break }
                    word.append(b)
                }
                if let b = bytes.first, b != 32 && b != 9 { return nil }
            } else {
                while let b = bytes.first, b != 32 && b != 9 {
                    word.append(b)
                    bytes.removeFirst()
                }
            }
            words.append(String(decoding: word, as: UTF8.self))
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
        return s
    }
}

/// A problem with an append-only file or its manifest.
public struct AOFError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// The manifest cannot be read.
        case manifest(String)
        /// A file ends inside a command (a torn write): loadable up to `validLength` with aof-load-truncated.
        case truncated(validLength: Int)
        /// Bytes that are not a command: not repairable by truncation.
        case badFormat(String)
        case io(String)
    }

    public var kind: Kind
    /// Line of the manifest, or byte offset in a file.
    public var position: Int

    public init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.position = line
    }

    public init(_ kind: Kind, offset: Int) {
        self.kind = kind
        self.position = offset
    }

    public var description: String {
        switch self.kind {
        case .manifest(let what): return "\(what) (manifest line \(self.position))"
        case .truncated(let valid):
            return "unexpected end of file at offset \(self.position) (valid up to offset \(valid))"
        case .badFormat(let what): return "bad file format at offset \(self.position): \(what)"
        case .io(let what): return what
        }
    }
}
