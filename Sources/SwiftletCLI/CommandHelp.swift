import NIOCore
import SwiftletRESP

/// redis-cli's help table, built from a server's `COMMAND DOCS` reply: one entry per command and subcommand
/// (`CONFIG GET`) and one per group (`@string`), sorted by name. It answers `help ...`, tab completion of command
/// names and the grey argument hints.
struct CommandHelp: Sendable {
    /// One command (or subcommand) or one group.
    struct Entry: Sendable, Hashable {
        /// `["CONFIG", "GET"]`, upper-cased; `["@string"]` for a group.
        var words: [String]
        var isGroup: Bool
        /// The argument syntax (`key value [NX|XX] ...`), as redis-cli builds it from the `arguments` docs.
        var parameters = ""
        var summary = ""
        var since: String?
        var group = ""

        /// The words joined by a space (`CONFIG GET`).
        var fullName: String { self.words.joined(separator: " ") }
    }

    /// Sorted by full name, byte by byte (redis-cli's `qsort` with `strcmp`).
    private(set) var entries: [Entry]

    /// - Parameter docs: the reply to `COMMAND DOCS` (a RESP2 array of name and docs pairs, or a RESP3 map).
    /// - Returns: nil when the reply is not a table (an error: the server lacks COMMAND DOCS).
    init?(docs: RESPValue) {
        guard let table = Self.pairs(docs) else { return nil }
        var entries: [Entry] = []
        var groups: Set<String> = []
        for (name, specs) in table {
            Self.addEntries(command: name, subcommand: nil, specs: specs, into: &entries, groups: &groups)
        }
        for group in groups {
            entries.append(Entry(words: ["@" + group], isGroup: true))
        }
        self.entries = entries.sorted { Array($0.fullName.utf8).lexicographicallyPrecedes(Array($1.fullName.utf8)) }
    }

    // MARK: - Reading COMMAND DOCS

    private static func addEntries(
        command: String,
        subcommand: String?,
        specs: RESPValue,
        into entries: inout [Entry],
        groups: inout Set<String>
    ) {
        var words = [command.uppercased()]
        if let subcommand {
            // A subcommand's name is "config|get".
            let tail = subcommand.split(separator: "|", maxSplits: 1).dropFirst().first.map(String.init) ?? subcommand
            words.append(tail.uppercased())
        }
        var entry = Entry(words: words, isGroup: false)
        var children: [(String, RESPValue)] = []
        for (key, value) in Self.pairs(specs) ?? [] {
            switch key {
            case "summary": entry.summary = Self.text(value) ?? ""
            case "since": entry.since = Self.text(value)
            case "group":
                entry.group = Self.text(value) ?? ""
                groups.insert(entry.group)
            case "arguments": entry.parameters = Self.concatenate(Self.list(value), separator: " ")
            case "subcommands": children = Self.pairs(value) ?? []
            default: break
            }
        }
        entries.append(entry)
        for (name, childSpecs) in children {
            Self.addEntries(command: command, subcommand: name, specs: childSpecs, into: &entries, groups: &groups)
        }
    }

    /// redis-cli's `cliConcatArguments`.
    private static func concatenate(_ arguments: [RESPValue], separator: String) -> String {
        arguments.map(Self.parameter).joined(separator: separator)
    }

    /// redis-cli's `cliAddArgument`: `[TOKEN name [TOKEN name ...]]` from one argument's docs.
    private static func parameter(_ argument: RESPValue) -> String {
        guard let fields = Self.pairs(argument) else { return "" }
        var name = ""
        var type = ""
        var token = ""
        var optional = false
        var multiple = false
        var multipleToken = false
        var nested: [RESPValue] = []
        for (key, value) in fields {
            switch key {
            case "name": name = Self.text(value) ?? ""
            case "token": token += Self.orQuotes(Self.text(value) ?? "")
            case "type": type = Self.text(value) ?? ""
            case "arguments": nested = Self.list(value)
            case "flags":
                for flag in Self.list(value).compactMap(Self.text) {
                    if flag == "optional" { optional = true }
                    if flag == "multiple" { multiple = true }
                    if flag == "multiple_token" { multipleToken = true }
                }
            default: break
            }
        }
        var repeated = ""
        switch type {
        case "key", "string", "integer", "double", "pattern", "unix-time", "token": repeated = Self.orQuotes(name)
        case "oneof": repeated = Self.concatenate(nested, separator: "|")
        case "block": repeated = Self.concatenate(nested, separator: " ")
        default: break
        }
        if !token.isEmpty && type != "pure-token" { token += " " }
        var out = optional ? "[" : ""
        out += token + repeated
        if multiple { out += " [" + (multipleToken ? token : "") + repeated + " ...]" }
        if optional { out += "]" }
        return out
    }

    private static func orQuotes(_ text: String) -> String { text.isEmpty ? "\"\"" : text }

    /// A map's (or a RESP2 flat array's) key/value pairs, keys as text.
    private static func pairs(_ value: RESPValue) -> [(String, RESPValue)]? {
        let flat: [RESPValue]
        switch value {
        case .map(let items), .array(let items?): flat = items
        default: return nil
        }
        var out: [(String, RESPValue)] = []
        var index = 0
        while index + 1 < flat.count {
            guard let key = Self.text(flat[index]) else { return nil }
            out.append((key, flat[index + 1]))
            index += 2
        }
        return out
    }

    private static func list(_ value: RESPValue) -> [RESPValue] {
        switch value {
        case .array(let items?), .set(let items): return items
        default: return []
        }
    }

    private static func text(_ value: RESPValue) -> String? {
        switch value {
        case .simpleString(let bytes), .bulkString(let bytes?): return String(buffer: bytes)
        case .verbatimString(_, let bytes): return String(buffer: bytes)
        default: return nil
        }
    }

    // MARK: - Completion and hints

    /// redis-cli's `completionCallback`: the entries whose name starts with what was typed (any case), the typed
    /// text replaced by the name; after `help ` groups count too.
    func completions(for line: String) -> [String] {
        var prefix = ""
        var typed = Substring(line)
        var groupsToo = false
        if line.utf8.count >= 5 && line.prefix(5).lowercased() == "help " {
            let rest = line.dropFirst(5).drop { $0 == " " || $0 == "\t" }
            prefix = String(line[..<rest.startIndex])
            typed = rest
            groupsToo = true
        }
        let typedBytes = Array(typed.lowercased().utf8)
        return self.entries.compactMap { entry in
            guard groupsToo || !entry.isGroup else { return nil }
            let full = Array(entry.fullName.lowercased().utf8)
            guard full.starts(with: typedBytes) else { return nil }
            return prefix + entry.fullName
        }
    }

    /// redis-cli's `hintsCallback`: the parameters of the longest command whose words were all typed, less one
    /// leading parameter for each further word typed (stopping at the first optional `[`), with a leading space
    /// when the line does not end in one.
    func hint(for line: String) -> String? {
        guard let typed = InlineSplitter.split(Array(line.utf8)), !typed.isEmpty else { return nil }
        let words = typed.map { String(decoding: $0, as: UTF8.self).lowercased() }
        var best: Entry?
        for entry in self.entries where !entry.isGroup {
            guard entry.words.count <= words.count, entry.words.count > (best?.words.count ?? 0) else { continue }
            if zip(entry.words, words).allSatisfy({ $0.lowercased() == $1 }) { best = entry }
        }
        guard let best else { return nil }
        var hint = Substring(best.parameters)
        var remove = words.count - best.words.count
        while remove > 0, let first = hint.first {
            if first == "[" { break }
            if first == " " { remove -= 1 }
            hint = hint.dropFirst()
        }
        let endsInSpace = line.last.map { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" } ?? false
        return endsInSpace ? String(hint) : " " + hint
    }

    // MARK: - help

    /// redis-cli's `cliOutputHelp` for `help WORDS` (`help set`, `help config get`, `help @string`), with its
    /// escape sequences and CRLFs.
    func help(_ words: [String]) -> String {
        var out = ""
        if let first = words.first, first.hasPrefix("@") {
            let group = first.dropFirst().lowercased()
            for entry in self.entries where !entry.isGroup && entry.group.lowercased() == group {
                out += Self.describe(entry, showGroup: false)
            }
        } else {
            let lowered = words.map { $0.lowercased() }
            for entry in self.entries where !entry.isGroup && lowered.count <= entry.words.count {
                if zip(lowered, entry.words).allSatisfy({ $0 == $1.lowercased() }) {
                    out += Self.describe(entry, showGroup: true)
                }
            }
        }
        return out + "\r\n"
    }

    /// redis-cli's `cliOutputCommandHelp`.
    static func describe(_ entry: Entry, showGroup: Bool) -> String {
        var out = "\r\n  \u{1b}[1m\(entry.fullName)\u{1b}[0m \u{1b}[90m\(entry.parameters)\u{1b}[0m\r\n"
        out += "  \u{1b}[33msummary:\u{1b}[0m \(entry.summary)\r\n"
        if let since = entry.since { out += "  \u{1b}[33msince:\u{1b}[0m \(since)\r\n" }
        if showGroup { out += "  \u{1b}[33mgroup:\u{1b}[0m \(entry.group)\r\n" }
        return out
    }

    /// `help` alone: redis-cli's `cliOutputGenericHelp`, naming swiftlet-cli and without the `~/.redisclirc` line
    /// (swiftlet-cli reads no preferences file).
    static func genericHelp(version: String) -> String {
        """
        swiftlet-cli \(version)
        To get help about Redis commands type:
              "help @<group>" to get a list of commands in <group>
              "help <command>" for help on <command>
              "help <tab>" to get a list of possible help topics
              "quit" to exit

        To set redis-cli preferences:
              ":set hints" enable online hints
              ":set nohints" disable online hints

        """
    }
}
