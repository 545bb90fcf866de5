import NIOCore
import SwiftletRESP
import SwiftletToolSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The C library's `write` (inside ``FileOutput`` its own `write` methods hide that name).
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

/// Writes bytes straight to a file descriptor, so stdout and stderr interleave in the order they are written.
struct FileOutput: Sendable {
    let descriptor: Int32

    static let standardOutput = FileOutput(descriptor: 1)
    static let standardError = FileOutput(descriptor: 2)

    func write(_ text: String) {
        self.write(Array(text.utf8))
    }

    func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { systemWrite(self.descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

/// `swiftlet-cli`'s one-shot mode: connect, run one command (`-r` times), print each reply as redis-cli 7.0 does.
public enum CLI {
    /// The variables the program reads (`REDISCLI_AUTH`), from the process environment.
    public static func processEnvironment() -> [String: String] {
        guard let auth = getenv("REDISCLI_AUTH") else { return [:] }
        return ["REDISCLI_AUTH": String(cString: auth)]
    }

    /// Runs the program and returns its exit status.
    /// - Parameters:
    ///   - arguments: the command line without the program name, as the bytes the process got (command arguments
    ///     may be binary; options are read as UTF-8).
    ///   - environment: the process environment (`REDISCLI_AUTH`).
    public static func run(arguments: [[UInt8]], environment: [String: String]) -> Int32 {
        var options: CLIOptions
        do {
            options = try CLIOptions.parse(
                arguments.map { String(decoding: $0, as: UTF8.self) },
                environment: environment,
                stdoutIsTerminal: isatty(1) != 0
            )
        } catch {
            FileOutput.standardOutput.write(error.stdout)
            FileOutput.standardError.write(error.stderr)
            return error.status
        }
        FileOutput.standardError.write(options.warnings)
        if options.askPassword {
            options.password = readPassword(prompt: "Please input password: ")
        }
        // `--memcached` is another protocol: none of the Redis modes apply.
        if options.memcached {
            var mode = MemcachedMode(options: options, words: Array(arguments.suffix(options.command.count)))
            return mode.run()
        }
        // The special modes, in the order redis-cli's main tries them.
        if options.latency {
            var session = Session(options: options, command: [])
            return session.runLatency(history: options.latencyHistory)
        }
        if options.latencyDistribution {
            var session = Session(options: options, command: [])
            return session.runLatencyDistribution()
        }
        if options.replica {
            var session = Session(options: options, command: [])
            return session.runReplica()
        }
        if let file = options.rdbFile {
            var session = Session(options: options, command: [])
            return session.runGetRDB(file: file, functionsOnly: options.functionsRDB)
        }
        if options.pipe {
            var session = Session(options: options, command: [])
            return session.runPipe()
        }
        if options.bigKeys || options.memKeys {
            var session = Session(options: options, command: [])
            return session.runBigKeys(memory: !options.bigKeys)
        }
        if options.hotKeys {
            var session = Session(options: options, command: [])
            return session.runHotKeys()
        }
        if options.stat {
            var session = Session(options: options, command: [])
            return session.runStat()
        }
        if options.scan {
            var session = Session(options: options, command: [])
            return session.runScan()
        }
        if let keys = options.lruTestKeys {
            var session = Session(options: options, command: [])
            return session.runLRUTest(keys: keys)
        }
        if let seconds = options.intrinsicLatencySeconds {
            return IntrinsicLatency.run(seconds: seconds)
        }
        if let file = options.evalFile {
            var session = Session(options: options, command: Array(arguments.suffix(options.command.count)))
            return session.runEval(file: file)
        }
        guard !options.command.isEmpty else {
            var repl = Repl(options: options)
            return repl.run(environment: Repl.processEnvironment())
        }
        let name = options.command[0].lowercased()
        if name == "help" || name == "?" {
            // redis-cli answers HELP from its own copy of the command docs; ours come from the server's COMMAND DOCS.
            var repl = Repl(options: options)
            return repl.printHelp(Array(options.command.dropFirst())) ? 0 : 1
        }
        // The command words are the tail of the command line: take them as the bytes given.
        var words = Array(arguments.suffix(options.command.count))
        if options.quotedInput {
            // redis-cli's `getSdsArrayFromArgv(..., quoted)`: each word must be exactly one quoted string.
            guard let unquoted = QuotedInput.unquote(words) else {
                FileOutput.standardOutput.write("Invalid quoted string\n")
                return 1
            }
            words = unquoted
        }
        var session = Session(options: options, command: words)
        return session.runCommand()
    }
}

/// `--askpass`, as redis-cli's masked linenoise prompt: on a terminal the prompt goes to stdout and the typed
/// line is not echoed; otherwise one line is read from stdin without a prompt, and end of input means no password.
/// Like stdio, the read takes whole chunks: what follows the line in the chunk is not left for `-x`.
func readPassword(prompt: String) -> [UInt8]? {
    let terminal = isatty(0) != 0
    var saved = termios()
    if terminal {
        FileOutput.standardOutput.write(prompt)
        tcgetattr(0, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSAFLUSH, &quiet)
    }
    defer {
        if terminal {
            tcsetattr(0, TCSAFLUSH, &saved)
            FileOutput.standardOutput.write("\n")
        }
    }
    var data: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while !data.contains(10) {
        let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        data += chunk[0..<count]
    }
    if data.isEmpty { return nil }
    guard let newline = data.firstIndex(of: 10) else { return data }
    return Array(data[..<newline])
}

/// One run of the program: its connection and what redis-cli tracks about it.
struct Session {
    let options: CLIOptions
    let command: [[UInt8]]
    var formatter: ReplyFormatter
    var connection: CLIConnection?

    init(options: CLIOptions, command: [[UInt8]]) {
        self.options = options
        self.command = command
        self.formatter = ReplyFormatter(
            mode: options.output,
            bulkDelimiter: options.bulkDelimiter,
            replyDelimiter: options.replyDelimiter
        )
    }

    /// redis-cli's `noninteractive`: a quiet first connection, then the command, which connects again (this time
    /// reporting the failure) if the first attempt failed.
    mutating func runCommand() -> Int32 {
        var arguments = self.command
        if self.options.lastArgumentFromStdin {
            arguments.append(ToolFile.readAll(descriptor: 0))
        } else if let tag = self.options.stdinTag {
            // The tag came through String: compare the words the same way (invalid UTF-8 repaired in both).
            guard let index = self.command.firstIndex(where: { String(decoding: $0, as: UTF8.self) == tag }) else {
                FileOutput.standardError.write("Using -X option but stdin tag not match.\n")
                return 1
            }
            arguments[index] = ToolFile.readAll(descriptor: 0)
        }
        _ = self.connect(quiet: true)
        if self.connection == nil {
            guard self.connect(quiet: false) else { return 1 }
        }
        return self.execute(arguments)
    }

    /// Sends the command (`-r` times) on the open connection and prints the replies.
    /// - Returns: the exit status.
    mutating func execute(_ arguments: [[UInt8]]) -> Int32 {
        do {
            try self.send(arguments)
        } catch let error as ConnectionError {
            FileOutput.standardError.write("Error: \(error.message)\n")
            return 1
        } catch let error as UnprintableReplyError {
            FileOutput.standardError.write(error.message + "\n")
            return 1
        } catch let exit as CLIExit {
            FileOutput.standardOutput.write(exit.stdout)
            FileOutput.standardError.write(exit.stderr)
            return exit.status
        } catch {
            FileOutput.standardError.write("Error: \(error)\n")
            return 1
        }
        return 0
    }

    // MARK: - Connecting

    /// redis-cli's `cliConnect`: connect, then AUTH, SELECT and HELLO 3 as asked. A failed AUTH, SELECT or HELLO
    /// keeps the connection (the command is still sent), as in redis-cli.
    /// - Returns: whether the connection (and its set-up commands) succeeded.
    mutating func connect(quiet: Bool) -> Bool {
        do {
            if let path = self.options.socketPath {
                self.connection = try CLIConnection(socketPath: path)
            } else {
                self.connection = try CLIConnection(host: self.options.host, port: self.options.port)
            }
        } catch {
            if !quiet {
                let target = self.options.socketPath ?? "\(self.options.host):\(self.options.port)"
                FileOutput.standardError.write("Could not connect to Redis at \(target): \(error.message)\n")
            }
            return false
        }
        do {
            if let password = self.options.password {
                let auth = [Array("AUTH".utf8)] + (self.options.user.map { [$0] } ?? []) + [password]
                if case .error(let text) = try self.setupCommand(auth) {
                    FileOutput.standardError.write(Array("AUTH failed: ".utf8) + Array(text.readableBytesView) + [10])
                    return false
                }
            }
            if self.options.database != 0 {
                let select = [Array("SELECT".utf8), Array(String(self.options.database).utf8)]
                if case .error(let text) = try self.setupCommand(select) {
                    FileOutput.standardError.write(
                        Array("SELECT \(self.options.database) failed: ".utf8) + Array(text.readableBytesView) + [10]
                    )
                    return false
                }
            }
            if self.options.resp3 != .none && !self.options.resp2 {
                if case .error(let text) = try self.setupCommand([Array("HELLO".utf8), Array("3".utf8)]) {
                    FileOutput.standardError.write(
                        Array("HELLO 3 failed: ".utf8) + Array(text.readableBytesView) + [10]
                    )
                    if self.options.resp3 == .explicit { return false }
                }
            }
        } catch {
            // hiredis's redisCommand returned NULL: the connection is unusable.
            FileOutput.standardError.write("\nI/O error\n")
            return false
        }
        return true
    }

    private func setupCommand(_ arguments: [[UInt8]]) throws(ConnectionError) -> RESPValue {
        // The connection was just made by the caller.
        let connection = self.connection!
        try connection.send(arguments)
        return try self.readReply(connection, pushesAsReplies: false)
    }

    // MARK: - Sending

    /// redis-cli's `cliSendCommand`: sends the command `-r` times and prints each reply; MONITOR and SUBSCRIBE
    /// keep reading until the connection ends.
    private mutating func send(_ arguments: [[UInt8]]) throws {
        // The caller connected first.
        let connection = self.connection!
        let name = String(decoding: arguments[0], as: UTF8.self).lowercased()
        let second = arguments.count >= 2 ? String(decoding: arguments[1], as: UTF8.self).lowercased() : ""
        let verbatim = Self.printsVerbatim(name: name, second: second, count: arguments.count)
        let isShutdown = name == "shutdown"
        let streams = name == "monitor" || name == "subscribe" || name == "psubscribe" || name == "ssubscribe"
        var remaining = self.options.repeatCount
        while remaining < 0 || remaining > 0 {
            if remaining > 0 { remaining -= 1 }
            try connection.send(arguments)
            if streams {
                if name != "monitor" && self.options.output != .raw {
                    FileOutput.standardOutput.write("Reading messages... (press Ctrl-C to quit)\n")
                }
                while true {
                    // Pub/sub messages arrive as pushes in RESP3: here they are the replies.
                    let reply = try self.readReply(connection, pushesAsReplies: name != "monitor")
                    try self.print(reply, verbatim: verbatim)
                    if case .error = reply { break }
                }
                if name == "monitor" { return }
                continue
            }
            let reply: RESPValue
            do {
                reply = try self.readReply(connection, pushesAsReplies: false)
            } catch {
                // SHUTDOWN closes the connection: that is its success.
                if isShutdown { return }
                throw error
            }
            if self.options.exitOnErrorReply, case .error(let text) = reply {
                FileOutput.standardError.write(Array(text.readableBytesView) + [10])
                throw CLIExit(status: 1)
            }
            try self.print(reply, verbatim: verbatim)
            if self.options.intervalMicroseconds > 0 {
                usleep(UInt32(clamping: self.options.intervalMicroseconds))
            }
        }
    }

    private func print(_ reply: RESPValue, verbatim: Bool) throws(UnprintableReplyError) {
        FileOutput.standardOutput.write(try self.formatter.format(reply, verbatim: verbatim))
    }

    /// Reads a reply; RESP3 pushes in between are printed (with `--show-pushes`) or dropped, as hiredis's push
    /// callback does, unless they are what the caller waits for.
    private func readReply(_ connection: CLIConnection, pushesAsReplies: Bool) throws(ConnectionError) -> RESPValue {
        while true {
            let reply = try connection.readReply()
            guard case .push = reply, !pushesAsReplies else { return reply }
            if self.options.showPushes, let text = try? self.formatter.format(reply) {
                FileOutput.standardOutput.write(text)
            }
        }
    }

    /// The commands whose replies redis-cli prints as raw text whatever the output mode (INFO, CLIENT LIST, ...).
    static func printsVerbatim(name: String, second: String, count: Int) -> Bool {
        switch name {
        case "info", "lolwut": return true
        case "debug": return count >= 2 && ["htstats", "htstats-key", "client-eviction"].contains(second)
        case "memory": return count >= 2 && ["malloc-stats", "doctor"].contains(second)
        case "cluster": return count == 2 && ["nodes", "info"].contains(second)
        case "client": return count >= 2 && ["list", "info"].contains(second)
        case "latency": return (count == 3 && second == "graph") || (count == 2 && second == "doctor")
        case "proxy": return count >= 2 && second == "info"
        default: return false
        }
    }
}
