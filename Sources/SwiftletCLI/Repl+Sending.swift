import NIOCore
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The connection a MONITOR or SUBSCRIBE stream reads from (-1 otherwise): ctrl-c shuts it down to end the stream,
/// as redis-cli's SIGINT handler closes the socket. Only the signal handler and the REPL's one thread touch it.
nonisolated(unsafe) private var streamingDescriptor: Int32 = -1
/// Set by the signal handler when it ended a stream.
nonisolated(unsafe) private var streamInterrupted: Int32 = 0

/// SIGINT in the REPL: ends a MONITOR/SUBSCRIBE stream (the REPL then connects again), else restores the terminal
/// (as linenoise's `atexit` hook does on redis-cli's `exit(1)`) and exits with status 1. At the prompt the terminal
/// is in raw mode, so ctrl-c reaches the line editor as a key; only a `kill -INT` comes here then.
let replInterruptHandler: @convention(c) (Int32) -> Void = { _ in
    if streamingDescriptor >= 0 {
        shutdown(streamingDescriptor, Int32(SHUT_RDWR))
        streamInterrupted = 1
    } else {
        TerminalRestore.restore()
        _exit(1)
    }
}

extension Repl {
    /// redis-cli's `issueCommandRepeat`: `help` is answered here; otherwise connect if there is no connection,
    /// send, and on a lost connection print the error and drop the connection (`not connected> `).
    mutating func issue(_ words: [[UInt8]], repeatCount: Int) {
        let name = String(decoding: words[0], as: UTF8.self).lowercased()
        if name == "help" || name == "?" {
            self.printHelp(words.dropFirst().map { String(decoding: $0, as: UTF8.self) })
            return
        }
        if self.connection == nil {
            guard self.connect(quiet: false) else { return }
            self.loadHelp()
        }
        if let error = self.send(words, repeatCount: repeatCount) {
            FileOutput.standardError.write("Error: \(error.message)\n")
            self.connection = nil
        }
    }

    /// redis-cli's `cliSendCommand` in interactive mode: sends the command `repeatCount` times, prints each reply,
    /// streams MONITOR and SUBSCRIBE, and tracks SELECT, MULTI, EXEC, DISCARD, RESET and HELLO.
    /// - Returns: the error that broke the connection, if one did.
    private mutating func send(_ words: [[UInt8]], repeatCount: Int) -> ConnectionError? {
        let names = words.map { String(decoding: $0, as: UTF8.self).lowercased() }
        let name = names[0]
        let verbatim = Session.printsVerbatim(name: name, second: names.count > 1 ? names[1] : "", count: names.count)
        // redis-cli leaves pub/sub mode when ctrl-c ends the stream: the repeats after it print one reply each.
        var streams = ["monitor", "subscribe", "psubscribe", "ssubscribe"].contains(name)
        var remaining = repeatCount
        while remaining > 0 {
            remaining -= 1
            // Read again on each repeat: ctrl-c in a stream replaces the connection with a new one.
            guard let connection = self.connection else { return nil }
            do {
                try connection.send(words)
                if streams {
                    let interrupted = self.stream(connection, monitor: name == "monitor", verbatim: verbatim)
                    if name == "monitor" { return nil }
                    if interrupted { streams = false }
                    continue
                }
                let reply = try self.readReply(connection)
                self.print(reply, verbatim: verbatim)
                self.track(names, reply: reply)
            } catch {
                // SHUTDOWN closes the connection: that is its success.
                if name == "shutdown" {
                    self.connection = nil
                    return nil
                }
                return error
            }
            if self.options.intervalMicroseconds > 0 {
                usleep(UInt32(clamping: self.options.intervalMicroseconds))
            }
        }
        return nil
    }

    /// MONITOR / SUBSCRIBE: prints what arrives until an error reply, or ctrl-c (then a new connection, as
    /// redis-cli's `blocking_state_aborted`); a lost connection ends the program as in redis-cli.
    /// - Returns: whether ctrl-c ended the stream (the connection is then a new one, or none).
    private mutating func stream(_ connection: CLIConnection, monitor: Bool, verbatim: Bool) -> Bool {
        if !monitor && self.options.output != .raw {
            FileOutput.standardOutput.write("Reading messages... (press Ctrl-C to quit)\n")
        }
        streamInterrupted = 0
        streamingDescriptor = connection.fileDescriptor
        defer { streamingDescriptor = -1 }
        while true {
            let reply: RESPValue
            do {
                // Pub/sub messages arrive as pushes in RESP3: here they are the replies.
                reply = monitor ? try self.readReply(connection) : try connection.readReply()
            } catch {
                if streamInterrupted != 0 {
                    streamingDescriptor = -1
                    self.connection = nil
                    _ = self.connect(quiet: false)
                    return true
                }
                FileOutput.standardError.write("Error: \(error.message)\n")
                exit(1)
            }
            self.print(reply, verbatim: verbatim)
            if case .error = reply { return false }
        }
    }

    /// Reads a reply; RESP3 pushes before it are printed with `--show-pushes` (the default on a terminal).
    private func readReply(_ connection: CLIConnection) throws(ConnectionError) -> RESPValue {
        while true {
            let reply = try connection.readReply()
            guard case .push = reply else { return reply }
            if self.options.showPushes, let text = try? self.formatter.format(reply) {
                FileOutput.standardOutput.write(text)
            }
        }
    }

    private func print(_ reply: RESPValue, verbatim: Bool) {
        do {
            FileOutput.standardOutput.write(try self.formatter.format(reply, verbatim: verbatim))
        } catch {
            // redis-cli's formatter exits on a reply type it does not know.
            FileOutput.standardError.write(error.message + "\n")
            exit(1)
        }
    }

    /// What redis-cli remembers from a reply: the database after SELECT (and its undoing by a failed EXEC or by
    /// DISCARD), MULTI's `(TX)`, RESET; AUTH selects the database again. HELLO's protocol is kept for the next
    /// connection (as redis-cli 7.2 does; 7.0 forgets it).
    private mutating func track(_ names: [String], reply: RESPValue) {
        let isError: Bool
        if case .error = reply { isError = true } else { isError = false }
        let isNil: Bool
        switch reply {
        case .null, .bulkString(nil), .array(nil): isNil = true
        default: isNil = false
        }
        let count = names.count
        switch names[0] {
        case "select" where count == 2 && !isError:
            self.selectedDatabase = Int32(truncatingIfNeeded: CLIOptions.strtoll(names[1]))
            self.database = self.selectedDatabase
        case "auth" where count == 2 || count == 3:
            self.selectAgain()
        case "multi" where count == 1 && !isError:
            self.inTransaction = true
            self.databaseBeforeTransaction = self.database
        case "exec" where count == 1 && self.inTransaction:
            self.inTransaction = false
            if isError || isNil {
                self.selectedDatabase = self.databaseBeforeTransaction
                self.database = self.databaseBeforeTransaction
            }
        case "discard" where count == 1 && !isError:
            self.inTransaction = false
            self.selectedDatabase = self.databaseBeforeTransaction
            self.database = self.databaseBeforeTransaction
        case "reset" where count == 1 && !isError:
            self.inTransaction = false
            self.database = 0
            self.selectedDatabase = 0
            self.options.resp3 = .none
        case "hello" where count >= 2 && !isError:
            switch names[1] {
            case "3": self.options.resp3 = .explicit
            case "2": self.options.resp3 = .none
            default: break
            }
        default:
            break
        }
    }

    /// redis-cli's `cliSelect` after AUTH: SELECT again when the connection's database is not the one chosen.
    private mutating func selectAgain() {
        guard self.selectedDatabase != self.database, let connection = self.connection else { return }
        do {
            try connection.send([Array("SELECT".utf8), Array(String(self.selectedDatabase).utf8)])
            let reply = try connection.readReply()
            if case .error(let text) = reply {
                FileOutput.standardError.write(
                    Array("SELECT \(self.selectedDatabase) failed: ".utf8) + Array(text.readableBytesView) + [10]
                )
            } else {
                self.database = self.selectedDatabase
            }
        } catch {
            FileOutput.standardError.write("\nI/O error\n")
        }
    }
}
