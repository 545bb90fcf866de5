import NIOCore
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The help table and the hints switch, shared by the REPL and the line editor's completion and hint closures (the
/// table is loaded again after a connection that first had none).
final class ReplHelpState {
    var help: CommandHelp?
    /// `:set hints` / `:set nohints`.
    var hintsEnabled = true
}

/// `swiftlet-cli`'s interactive mode, redis-cli 7.0's `repl()`: a prompt naming the server (`127.0.0.1:6379[2]> `,
/// `(TX)` inside MULTI, `not connected> `), lines split as `sdssplitargs` splits them, a leading repeat count,
/// `quit`/`exit`, `clear`, `connect host port`, `help`, `:set hints`, replies printed as in one-shot mode, and a
/// new connection (with AUTH, SELECT and HELLO again) for the command after the connection was lost.
struct Repl {
    var options: CLIOptions
    var connection: CLIConnection?
    /// redis-cli's `config.dbnum`: the database of the connection, shown in the prompt.
    var database: Int32 = 0
    /// redis-cli's `conn_info.input_dbnum`: the database a new connection selects.
    var selectedDatabase: Int32
    var inTransaction = false
    var databaseBeforeTransaction: Int32 = 0
    let helpState = ReplHelpState()
    let formatter: ReplyFormatter

    init(options: CLIOptions) {
        self.options = options
        self.selectedDatabase = options.database
        self.formatter = ReplyFormatter(
            mode: options.output,
            bulkDelimiter: options.bulkDelimiter,
            replyDelimiter: options.replyDelimiter
        )
    }

    /// The environment the REPL reads: `HOME` and `SWIFTLETCLI_HISTFILE`, from the process.
    static func processEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        for name in ["HOME", "SWIFTLETCLI_HISTFILE"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return environment
    }

    /// Runs the loop until end of input, ctrl-c, ctrl-d or `quit`.
    /// - Returns: the exit status (0, as redis-cli's `exit(0)`).
    mutating func run(environment: [String: String]) -> Int32 {
        // A write to a closed connection must fail (and lead to a reconnection), not kill the process.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGINT, replInterruptHandler)
        // redis-cli's first connection reports a failure and goes on: each command tries again.
        _ = self.connect(quiet: false)
        self.loadHelp()
        let helpState = self.helpState
        let editor = LineEditor(
            historyFile: isatty(0) != 0 ? ReplHistory.filePath(environment: environment) : nil,
            completion: { line in helpState.help?.completions(for: line) ?? [] },
            hints: { line in helpState.hintsEnabled ? helpState.help?.hint(for: line) : nil }
        )
        while let line = editor.readLine(prompt: self.prompt) {
            if line.isEmpty { continue }
            guard let words = InlineSplitter.split(Array(line.utf8)) else {
                FileOutput.standardOutput.write("Invalid argument(s)\n")
                editor.addHistory(line)
                continue
            }
            if words.isEmpty { continue }
            let names = words.map { String(decoding: $0, as: UTF8.self) }
            var repeatCount = 1
            var skip = 0
            if words.count > 1, let count = Self.repeatCount(names[0]) {
                guard count > 0 else {
                    FileOutput.standardOutput.write("Invalid redis-cli repeat command option value.\n")
                    continue
                }
                repeatCount = count
                skip = 1
            }
            if !ReplHistory.isSensitive(Array(names[skip...])) {
                editor.addHistory(line)
            }
            let first = names[0].lowercased()
            if first == "quit" || first == "exit" {
                return 0
            } else if first.hasPrefix(":") {
                self.setPreference(names)
            } else if first == "restart" {
                FileOutput.standardOutput.write("Use 'restart' only in Lua debugging mode.\n")
            } else if words.count == 3 && first == "connect" {
                self.options.host = names[1]
                // As in redis-cli 7.0, a Unix socket given with -s is still the one connected to.
                self.options.port = Int32(truncatingIfNeeded: CLIOptions.strtoll(names[2]))
                self.connection = nil
                _ = self.connect(quiet: false)
                self.loadHelp()
            } else if words.count == 1 && first == "clear" {
                editor.clearScreen()
            } else {
                let start = Self.monotonicSeconds()
                self.issue(Array(words[skip...]), repeatCount: repeatCount)
                let elapsed = Self.monotonicSeconds() - start
                if elapsed >= 0.5 && self.options.output == .standard {
                    FileOutput.standardOutput.write("(\(CFormat.fixed2(elapsed))s)\n")
                }
            }
        }
        return 0
    }

    /// redis-cli's prompt: address (or `redis PATH` for a Unix socket), `[db]` when not 0, `(TX)` inside MULTI.
    var prompt: String {
        guard self.connection != nil else { return "not connected> " }
        var prompt: String
        if let path = self.options.socketPath {
            prompt = "redis " + path
        } else if self.options.host.contains(":") {
            prompt = "[\(self.options.host)]:\(self.options.port)"
        } else {
            prompt = "\(self.options.host):\(self.options.port)"
        }
        if self.database != 0 { prompt += "[\(self.database)]" }
        if self.inTransaction { prompt += "(TX)" }
        return prompt + "> "
    }

    /// The leading repeat count as redis-cli reads it with `strtol`: the whole word a number; nil when it is not
    /// one; 0 (refused by the caller) when it is not positive or overflows.
    static func repeatCount(_ word: String) -> Int? {
        var bytes = Substring(word).drop { $0 == " " || ($0.asciiValue.map { $0 >= 9 && $0 <= 13 } ?? false) }.utf8[...]
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        // strtol with no digits leaves the end pointer at the start: a repeat only when the word is empty.
        if bytes.isEmpty { return word.isEmpty ? 0 : nil }
        var value = 0
        var overflow = false
        for byte in bytes {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            if o1 || o2 { overflow = true }
            value = sum
        }
        if overflow || negative { return 0 }
        return value
    }

    // MARK: - Connecting

    /// redis-cli's `cliConnect(CC_FORCE)`: a new connection with AUTH, SELECT of the database last selected, and
    /// HELLO 3 when asked; the prompt's database follows.
    mutating func connect(quiet: Bool) -> Bool {
        var options = self.options
        options.database = self.selectedDatabase
        var session = Session(options: options, command: [])
        let succeeded = session.connect(quiet: quiet)
        self.connection = session.connection
        self.inTransaction = false
        self.database = succeeded ? self.selectedDatabase : 0
        return succeeded
    }

    /// Loads the help table from `COMMAND DOCS` once there is a connection (none if the server lacks it).
    func loadHelp() {
        guard self.helpState.help == nil, let connection = self.connection else { return }
        do {
            try connection.send([Array("COMMAND".utf8), Array("DOCS".utf8)])
            var reply = try connection.readReply()
            while case .push = reply { reply = try connection.readReply() }
            self.helpState.help = CommandHelp(docs: reply)
        } catch {
            // The next command finds the connection broken and reports it.
        }
    }

    // MARK: - Local commands

    /// `:set hints`, `:set nohints`, as redis-cli's `cliSetPreferences`.
    private func setPreference(_ words: [String]) {
        if words[0].lowercased() == ":set" && words.count >= 2 {
            switch words[1].lowercased() {
            case "hints": self.helpState.hintsEnabled = true
            case "nohints": self.helpState.hintsEnabled = false
            default: FileOutput.standardOutput.write("unknown redis-cli preference '\(words[1])'\n")
            }
        } else {
            FileOutput.standardOutput.write("unknown redis-cli internal command '\(words[0])'\n")
        }
    }

    /// `help ...` / `? ...`: redis-cli answers from its table; ours is the connected server's COMMAND DOCS.
    /// - Returns: false when there was no help table to answer from (no server, or one without COMMAND DOCS).
    @discardableResult
    mutating func printHelp(_ words: [String]) -> Bool {
        guard !words.isEmpty else {
            FileOutput.standardOutput.write(CommandHelp.genericHelp(version: CLIOptions.version))
            return true
        }
        if self.helpState.help == nil {
            if self.connection == nil { _ = self.connect(quiet: true) }
            self.loadHelp()
        }
        guard let help = self.helpState.help else {
            FileOutput.standardError.write("swiftlet-cli: help needs a server that answers COMMAND DOCS\n")
            return false
        }
        FileOutput.standardOutput.write(help.help(words))
        return true
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
