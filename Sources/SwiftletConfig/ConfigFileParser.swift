/// The redis.conf syntax: lines, comments, and arguments split and unquoted as Redis's `sdssplitargs`.
///
/// Lines are split on `\n` and trimmed of spaces, tabs, `\r` and `\n`; a line whose first remaining character is `#`
/// is a comment (a `#` later in a line is an ordinary argument). Arguments are separated by whitespace. In
/// `"double quotes"` the escapes `\n \r \t \b \a \"  \\` and `\xHH` work; in `'single quotes'` only `\'`. A closing
/// quote must be followed by whitespace or the end of the line, otherwise the line has unbalanced quotes.
public enum ConfigFileParser {
    /// The version redis-server prints in its fatal config error banner.
    public static let redisVersion = "7.0.15"

    /// Splits a config text into directives: line number (from 1), lower-cased name and arguments. Comments and
    /// blank lines are skipped.
    /// - Throws: ``ConfigError`` with the block redis-server prints for a line with unbalanced quotes.
    public static func parse(_ text: String) throws(ConfigError) -> [(line: Int, name: String, args: [String])] {
        var directives: [(line: Int, name: String, args: [String])] = []
        for line in lines(of: text) {
            guard let argv = splitArguments(line.text) else {
                throw ConfigError(
                    fatalMessage(line: line.number, text: line.text, reason: "Unbalanced quotes in configuration line")
                )
            }
            guard let name = argv.first else { continue }
            directives.append((line.number, ConfigText.lowercased(name), Array(argv.dropFirst())))
        }
        return directives
    }

    /// The non-blank, non-comment lines of a config text, trimmed, with their numbers.
    static func lines(of text: String) -> [(number: Int, text: String)] {
        var result: [(number: Int, text: String)] = []
        let bytes = Array(text.utf8)
        var number = 0
        for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let isTrimmed: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
            guard let first = rawLine.firstIndex(where: { !isTrimmed($0) }),
                let last = rawLine.lastIndex(where: { !isTrimmed($0) })
            else { continue }
            let trimmed = rawLine[first...last]
            if trimmed.first == UInt8(ascii: "#") { continue }
            result.append((number, String(decoding: trimmed, as: UTF8.self)))
        }
        return result
    }

    /// Splits one line into arguments as Redis's `sdssplitargs`.
    /// - Returns: the arguments (none for a blank line), or `nil` when quotes are unbalanced.
    public static func splitArguments(_ line: String) -> [String]? {
        // The C code walks a NUL-terminated string: index past the end reads 0.
        let bytes = Array(line.utf8)
        func at(_ index: Int) -> UInt8 { index < bytes.count ? bytes[index] : 0 }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }

        var arguments: [String] = []
        var p = 0
        while true {
            while at(p) != 0 && isSpace(at(p)) { p += 1 }
            if at(p) == 0 { return arguments }
            var current: [UInt8] = []
            var inDoubleQuotes = false
            var inSingleQuotes = false
            var done = false
            while !done {
                let c = at(p)
                if inDoubleQuotes {
                    if c == UInt8(ascii: "\\") && at(p + 1) == UInt8(ascii: "x"), let high = hexValue(at(p + 2)),
                        let low = hexValue(at(p + 3))
                    {
                        current.append(high << 4 | low)
                        p += 3
                    } else if c == UInt8(ascii: "\\") && at(p + 1) != 0 {
                        p += 1
                        switch at(p) {
                        case UInt8(ascii: "n"): current.append(0x0A)
                        case UInt8(ascii: "r"): current.append(0x0D)
                        case UInt8(ascii: "t"): current.append(0x09)
                        case UInt8(ascii: "b"): current.append(0x08)
                        case UInt8(ascii: "a"): current.append(0x07)
                        default: current.append(at(p))
                        }
                    } else if c == UInt8(ascii: "\"") {
                        // The closing quote must be followed by a space or the end.
                        if at(p + 1) != 0 && !isSpace(at(p + 1)) { return nil }
                        done = true
                    } else if c == 0 {
                        return nil
                    } else {
                        current.append(c)
                    }
                } else if inSingleQuotes {
                    if c == UInt8(ascii: "\\") && at(p + 1) == UInt8(ascii: "'") {
                        p += 1
                        current.append(UInt8(ascii: "'"))
                    } else if c == UInt8(ascii: "'") {
                        if at(p + 1) != 0 && !isSpace(at(p + 1)) { return nil }
                        done = true
                    } else if c == 0 {
                        return nil
                    } else {
                        current.append(c)
                    }
                } else {
                    switch c {
                    case 0x20, 0x0A, 0x0D, 0x09, 0:
                        done = true
                    case UInt8(ascii: "\""):
                        inDoubleQuotes = true
                    case UInt8(ascii: "'"):
                        inSingleQuotes = true
                    default:
                        current.append(c)
                    }
                }
                if at(p) != 0 { p += 1 }
            }
            arguments.append(String(decoding: current, as: UTF8.self))
        }
    }

    /// Quotes a string as Redis's `sdscatrepr` (used for command-line options and CONFIG REWRITE).
    public static func quoted(_ text: String) -> String {
        ConfigText.quoted(text)
    }

    /// The block redis-server prints to standard error for a fatal config error, including the leading and trailing
    /// newlines.
    /// - Parameters:
    ///   - line: the line number, or `nil` for errors found after reading every line.
    ///   - text: the trimmed line.
    ///   - reason: the error.
    public static func fatalMessage(line: Int?, text: String?, reason: String) -> String {
        var message = "\n*** FATAL CONFIG FILE ERROR (Redis \(redisVersion)) ***\n"
        if let line, let text {
            message += "Reading the configuration file, at line \(line)\n>>> '\(text)'\n"
        }
        return message + reason + "\n"
    }

    /// Turns redis-server's command-line arguments into the config file name and the config text Redis appends after
    /// the file: `--port 6380 --save ""` becomes `port "6380" \nsave "" `.
    /// - Parameter arguments: the arguments after the executable name.
    /// - Returns: the config file (a first argument not starting with `-`), whether to read standard input too (a `-`
    ///   first or last), and the options text for ``ConfigStore/load(configText:)``.
    public static func commandLineOptions(
        _ arguments: [String]
    ) -> (configFile: String?, readStandardInput: Bool, options: String) {
        var configFile: String?
        var readStandardInput = false
        var options = ""
        var j = 0
        if let first = arguments.first, !first.hasPrefix("-") {
            configFile = first
            j = 1
        }
        var handledLastConfigArgument = true
        while j < arguments.count {
            let argument = arguments[j]
            let isLast = j == arguments.count - 1
            if argument == "-" && (j == 0 || isLast) {
                readStandardInput = true
            } else if handledLastConfigArgument && argument.hasPrefix("--") {
                if !options.isEmpty { options += "\n" }
                options += String(argument.dropFirst(2)) + " "
                if (splitArguments(argument) ?? []).count == 1 {
                    // Only the option name, like `--port`: its value follows.
                    handledLastConfigArgument = false
                    let nextIsOption = !isLast && arguments[j + 1].hasPrefix("--")
                    if ConfigText.equalsIgnoringCase(argument, "--save") && (nextIsOption || isLast) {
                        // `--save` with no value means `save ""`.
                        options += "\"\""
                        handledLastConfigArgument = nextIsOption
                    } else if ConfigText.equalsIgnoringCase(argument, "--sentinel") && (nextIsOption || isLast) {
                        handledLastConfigArgument = nextIsOption
                    }
                } else {
                    // Name and value in one argument, like "--port 6380".
                    handledLastConfigArgument = true
                }
            } else {
                options += ConfigText.quoted(argument) + " "
                handledLastConfigArgument = true
            }
            j += 1
        }
        return (configFile, readStandardInput, options)
    }
}
