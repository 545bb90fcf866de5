import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `swiftlet-cli --memcached`: memcached's text and meta protocols instead of RESP (beyond redis-cli).
///
/// One-shot, the command words make one request (see ``MemcachedRequest``) and the reply is printed line by line,
/// each line ending in `\n`, data blocks as they came, until the reply is complete. Without words it is a REPL
/// with the prompt `memcached HOST:PORT> `, whose lines are split as redis-cli splits its lines (quotes allowed).
struct MemcachedMode {
    let options: CLIOptions
    let words: [[UInt8]]
    private var connection: CLIConnection?

    init(options: CLIOptions, words: [[UInt8]]) {
        self.options = options
        self.words = words
    }

    /// Where the server is, as the prompt and the errors name it.
    var target: String { self.options.socketPath ?? "\(self.options.host):\(self.options.port)" }

    /// Runs one command, or the REPL when there are no words.
    /// - Returns: the exit status.
    mutating func run() -> Int32 {
        if self.words.isEmpty { return self.repl() }
        let request: MemcachedRequest
        do {
            request = try MemcachedRequest(words: self.words)
        } catch {
            FileOutput.standardError.write(error.message + "\n")
            return 1
        }
        guard self.connect(report: true) else { return 1 }
        // `-r` and `-i` repeat the request as they repeat a Redis command.
        var remaining = self.options.repeatCount
        var status: Int32 = 0
        while remaining != 0 {
            if remaining > 0 { remaining -= 1 }
            status = self.execute(request)
            // A failed connection ends the repeats.
            if self.connection == nil { return status }
            if self.options.intervalMicroseconds > 0 {
                usleep(UInt32(clamping: self.options.intervalMicroseconds))
            }
        }
        return status
    }

    /// Opens the connection.
    /// - Parameter report: print why it failed on stderr.
    private mutating func connect(report: Bool) -> Bool {
        do {
            if let path = self.options.socketPath {
                self.connection = try CLIConnection(socketPath: path)
            } else {
                self.connection = try CLIConnection(host: self.options.host, port: self.options.port)
            }
            return true
        } catch {
            if report {
                FileOutput.standardError.write("Could not connect to memcached at \(self.target): \(error.message)\n")
            }
            return false
        }
    }

    /// Sends the request and prints its reply.
    /// - Returns: 0, or 1 when the connection failed or (with `-e`) the reply was an error.
    private mutating func execute(_ request: MemcachedRequest) -> Int32 {
        // `connect` succeeded before this is called.
        let connection = self.connection!
        do throws(ConnectionError) {
            try connection.sendRaw(request.bytes)
            let tracker = MemcachedReplyTracker(shape: request.shape)
            var next: MemcachedReplyTracker.Next = request.shape == .none ? .done : .line
            var failed = false
            while next != .done {
                switch next {
                case .line:
                    guard let line = try connection.readLine() else {
                        // `watch` ends when the server goes; anything else was cut short.
                        if request.shape == .stream { return 0 }
                        throw ConnectionError.closed
                    }
                    if self.options.exitOnErrorReply && MemcachedReplyTracker.isError(line) {
                        FileOutput.standardError.write(line + [10])
                        failed = true
                    } else {
                        FileOutput.standardOutput.write(line + [10])
                    }
                    next = tracker.next(after: line)
                case .data(let size):
                    guard let block = try connection.readExactly(size + 2) else { throw ConnectionError.closed }
                    // The block's own `\r\n` is printed as a plain newline, like every line.
                    FileOutput.standardOutput.write(Array(block.prefix(size)) + [10])
                    next = tracker.nextAfterData()
                case .tooLarge(let message):
                    throw ConnectionError(message: message)
                case .done:
                    break
                }
            }
            return failed ? 1 : 0
        } catch {
            FileOutput.standardError.write("Error: \(error.message)\n")
            self.connection = nil
            return 1
        }
    }

    // MARK: - REPL

    /// Reads lines until end of input, `quit` or `exit`; each line is one command. A lost connection is opened
    /// again before the next command.
    private mutating func repl() -> Int32 {
        // A write to a closed connection must fail (and lead to a reconnection), not kill the process.
        signal(SIGPIPE, SIG_IGN)
        // `kill -INT` at the prompt (ctrl-c is a key there): restore the terminal, then die of the signal.
        signal(SIGINT, TerminalRestore.restoreAndReraise)
        let editor = LineEditor(historyFile: Self.historyFile(), completion: Self.complete)
        _ = self.connect(report: true)
        while true {
            let prompt = self.connection == nil ? "not connected> " : "memcached \(self.target)> "
            guard let line = editor.readLine(prompt: prompt) else { return 0 }
            guard let words = InlineSplitter.split(Array(line.utf8)) else {
                FileOutput.standardOutput.write("Invalid argument(s)\n")
                continue
            }
            if words.isEmpty { continue }
            editor.addHistory(line)
            let name = String(decoding: words[0], as: UTF8.self).lowercased()
            if name == "exit" || (name == "quit" && words.count == 1) { return 0 }
            let request: MemcachedRequest
            do {
                request = try MemcachedRequest(words: words)
            } catch {
                FileOutput.standardOutput.write(error.message + "\n")
                continue
            }
            if self.connection == nil && !self.connect(report: true) { continue }
            _ = self.execute(request)
        }
    }

    /// `~/.swiftlet_memcached_history`, as redis-cli keeps `~/.rediscli_history`; no file when HOME is unset or
    /// empty, as ``ReplHistory/filePath(environment:)``.
    static func historyFile(environment: [String: String] = Repl.processEnvironment()) -> String? {
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.swiftlet_memcached_history"
    }

    /// The memcached commands, for tab completion of the first word.
    static let commandNames = [
        "add", "append", "cache_memlimit", "cas", "decr", "delete", "flush_all", "gat", "gats", "get", "gets",
        "incr", "lru_crawler", "ma", "md", "me", "mg", "mn", "ms", "prepend", "quit", "replace", "set",
        "shutdown", "slabs", "stats", "touch", "verbosity", "version", "watch",
    ]

    /// The command names that complete what was typed (only while the first word is being typed).
    static func complete(_ typed: String) -> [String] {
        guard !typed.contains(" ") else { return [] }
        let lower = typed.lowercased()
        return Self.commandNames.filter { $0.hasPrefix(lower) }
    }
}
