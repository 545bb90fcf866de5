import NIOCore
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The end of a diskless transfer: the master announces `$EOF:<mark>` and ends the payload with the same 40 bytes.
struct EOFMarkTracker: Sendable, Hashable {
    /// redis-cli's `RDB_EOF_MARK_SIZE`.
    static let size = 40

    let mark: [UInt8]
    /// The last ``size`` bytes seen (zeros before that many came).
    private(set) var lastBytes = [UInt8](repeating: 0, count: Self.size)

    init(mark: [UInt8]) {
        self.mark = mark
    }

    /// Takes one chunk of the payload.
    /// - Returns: whether the payload now ends with the mark.
    mutating func add(_ chunk: [UInt8]) -> Bool {
        if chunk.count >= Self.size {
            self.lastBytes = Array(chunk.suffix(Self.size))
        } else {
            self.lastBytes = Array(self.lastBytes.dropFirst(chunk.count)) + chunk
        }
        return self.lastBytes == self.mark
    }
}

/// The first line of the master's answer to SYNC, as redis-cli's `sendSync` reads it.
enum SyncAnswer: Sendable, Hashable {
    /// `$<len>`: that many payload bytes follow.
    case length(UInt64)
    /// `$EOF:<mark>`: the payload ends with the 40-byte mark.
    case eofMark([UInt8])

    /// Reads the line (without its `\n`, a `\r` kept as redis-cli keeps it).
    /// - Returns: the answer, or `nil` for an error line (`-...`), which redis-cli prints whole.
    static func parse(_ line: [UInt8]) -> SyncAnswer? {
        if line.first == UInt8(ascii: "-") { return nil }
        let rest = line.dropFirst()
        // redis-cli needs at least 40 bytes after `EOF:` and takes the first 40.
        if rest.starts(with: Array("EOF:".utf8)) && rest.count - 4 >= EOFMarkTracker.size {
            return .eofMark(Array(rest.dropFirst(4).prefix(EOFMarkTracker.size)))
        }
        let length = UInt64(bitPattern: CLIOptions.strtoll(String(decoding: rest, as: UTF8.self)))
        // A length of 0 makes redis-cli wait for an all-zero mark (its static mark buffer is never set).
        return length == 0 ? .eofMark([UInt8](repeating: 0, count: EOFMarkTracker.size)) : .length(length)
    }
}

/// `--rdb`, `--functions-rdb` and `--replica`: redis-cli's replication client (`sendSync`, `getRDB`, `slaveMode`).
extension Session {
    /// redis-cli's `sendReplconf`: announces and sends `REPLCONF arg1 arg2`.
    /// - Returns: whether the server accepted it (an error reply is printed and is not fatal).
    /// - Throws: ``CLIExit`` when the connection fails.
    static func sendReplconf(_ connection: CLIConnection, _ first: String, _ second: String) throws(CLIExit) -> Bool {
        FileOutput.standardError.write("sending REPLCONF \(first) \(second)\n")
        let reply: RESPValue
        do {
            try connection.send([Array("REPLCONF".utf8), Array(first.utf8), Array(second.utf8)])
            reply = try connection.readReply()
        } catch {
            throw CLIExit(status: 1, stderr: "\nI/O error\n")
        }
        if case .error(let text) = reply {
            let reason = String(decoding: Self.cString(text), as: UTF8.self)
            FileOutput.standardError.write("REPLCONF \(first) error: \(reason)\n")
            return false
        }
        return true
    }

    /// The size of redis-cli's buffer for the SYNC answer line (its `\0` included).
    static let syncLineLimit = 4096

    /// Reads the payload that `answer` announced, `chunkSize` bytes at most per read, handing each chunk to
    /// `consume`: all of a `$<len>` payload, or up to the EOF mark.
    /// - Returns: for the EOF-mark form, redis-cli's `ULLONG_MAX - payload` (the bytes read); nil for a length.
    /// - Throws: ``CLIExit`` with `failure` when the connection fails or ends first, or what `consume` throws.
    static func readPayload(
        _ connection: CLIConnection,
        answer: SyncAnswer,
        chunkSize: Int,
        failure: String,
        consume: ([UInt8]) throws(CLIExit) -> Void
    ) throws(CLIExit) -> UInt64? {
        var tracker: EOFMarkTracker?
        var remaining: UInt64
        switch answer {
        case .length(let length):
            remaining = length
        case .eofMark(let mark):
            tracker = EOFMarkTracker(mark: mark)
            remaining = .max
        }
        while remaining > 0 {
            let chunk: [UInt8]
            do {
                chunk = try connection.readRaw(upTo: Int(min(remaining, UInt64(chunkSize))))
            } catch {
                throw CLIExit.failure(failure)
            }
            guard !chunk.isEmpty else { throw CLIExit.failure(failure) }
            try consume(chunk)
            remaining -= UInt64(chunk.count)
            if tracker?.add(chunk) == true { break }
        }
        return tracker == nil ? nil : UInt64.max - remaining
    }

    /// redis-cli's `sendSync`: sends SYNC and reads the payload's announcement one byte at a time, so that the
    /// payload itself is left unread. Newlines the master sends while it prepares the payload are skipped.
    static func sendSync(_ connection: CLIConnection) throws(CLIExit) -> SyncAnswer {
        do {
            try connection.sendRaw(Array("SYNC\r\n".utf8))
        } catch {
            throw CLIExit.failure("Error writing to master")
        }
        var line: [UInt8] = []
        while true {
            let byte: [UInt8]
            do {
                byte = try connection.readRaw(upTo: 1)
            } catch {
                throw CLIExit.failure("Error reading bulk length while SYNCing")
            }
            guard let first = byte.first else { throw CLIExit.failure("Error reading bulk length while SYNCing") }
            if first == 10 {
                if line.isEmpty { continue }
                break
            }
            // redis-cli reads the line into a 4096-byte buffer (and overruns it); a longer line is refused here.
            guard line.count < Self.syncLineLimit - 1 else {
                throw CLIExit.failure("Error reading bulk length while SYNCing")
            }
            line.append(first)
        }
        guard let answer = SyncAnswer.parse(line) else {
            // The `\r` before the `\n` is part of what redis-cli prints.
            let text = String(decoding: line.prefix { $0 != 0 }, as: UTF8.self)
            throw CLIExit.failure("SYNC with master failed: \(text)")
        }
        return answer
    }

    /// Connects as redis-cli's `cliConnect(0)` does for a mode, then runs `body`; a ``CLIExit`` ends the program.
    private mutating func withSyncConnection(_ body: (inout Session, CLIConnection) throws(CLIExit) -> Void) -> Int32 {
        guard self.connect(quiet: false), let connection = self.connection else { return 1 }
        do {
            try body(&self, connection)
        } catch {
            FileOutput.standardOutput.write(error.stdout)
            FileOutput.standardError.write(error.stderr)
            return error.status
        }
        return 0
    }

    // MARK: - --rdb / --functions-rdb

    /// `--rdb FILE` or `--functions-rdb FILE` (`-` for stdout): fetches an RDB with the replication handshake
    /// (`REPLCONF capa eof`, `REPLCONF rdb-only 1`, for functions `REPLCONF rdb-filter-only functions`, SYNC).
    /// - Returns: the exit status.
    mutating func runGetRDB(file: String, functionsOnly: Bool) -> Int32 {
        self.withSyncConnection { session, connection throws(CLIExit) in
            _ = try Self.sendReplconf(connection, "capa", "eof")
            _ = try Self.sendReplconf(connection, "rdb-only", "1")
            if functionsOnly, try !Self.sendReplconf(connection, "rdb-filter-only", "functions") {
                throw CLIExit.failure("Failed requesting functions only RDB from server, aborting")
            }
            try session.receiveRDB(connection, file: file)
        }
    }

    private mutating func receiveRDB(_ connection: CLIConnection, file: String) throws(CLIExit) {
        let answer = try Self.sendSync(connection)
        switch answer {
        case .length(let length):
            FileOutput.standardError.write("SYNC sent to master, writing \(length) bytes to '\(file)'\n")
        case .eofMark:
            FileOutput.standardError.write(
                "SYNC sent to master, writing bytes of bulk transfer until EOF marker to '\(file)'\n"
            )
        }
        let toStdout = file == "-"
        // Like redis-cli: no O_TRUNC, the EOF-mark form truncates to the payload at the end.
        let descriptor = toStdout ? 1 : open(file, O_CREAT | O_WRONLY, 0o644)
        guard descriptor >= 0 else {
            throw CLIExit.failure("Error opening '\(file)': \(String(cString: strerror(errno)))")
        }
        defer { if !toStdout { close(descriptor) } }
        let received = try Self.readPayload(
            connection,
            answer: answer,
            chunkSize: 4096,
            failure: "I/O Error reading RDB payload from socket"
        ) { chunk throws(CLIExit) in
            let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written != chunk.count {
                let reason = written == -1 ? String(cString: strerror(errno)) : "short write"
                throw CLIExit.failure("Error writing data to file: \(reason)")
            }
        }
        if let received {
            // Wrapping as redis-cli's unsigned arithmetic wraps: a transfer cut before the 40-byte mark reports a
            // huge size, and ftruncate to that (a negative off_t) fails.
            let size = received &- UInt64(EOFMarkTracker.size)
            if !toStdout && ftruncate(descriptor, off_t(truncatingIfNeeded: size)) == -1 {
                FileOutput.standardError.write("ftruncate failed: \(String(cString: strerror(errno))).\n")
            }
            FileOutput.standardError.write("Transfer finished with success after \(size) bytes\n")
        } else {
            FileOutput.standardError.write("Transfer finished with success.\n")
        }
        // Close the connection before fsync, which may take time.
        self.connection = nil
        if !toStdout && fsync(descriptor) == -1 {
            throw CLIExit.failure("Fail to fsync '\(file)': \(String(cString: strerror(errno)))")
        }
    }

    // MARK: - --replica

    /// `--replica`: SYNC as a replica, discard the RDB, then print each command the master propagates in CSV
    /// until the connection ends.
    /// - Returns: the exit status (1 when the master closes the connection, as in redis-cli).
    mutating func runReplica() -> Int32 {
        self.withSyncConnection { _, connection throws(CLIExit) in
            _ = try Self.sendReplconf(connection, "capa", "eof")
            _ = try Self.sendReplconf(connection, "rdb-filter-only", "")
            let answer = try Self.sendSync(connection)
            switch answer {
            case .length(let length):
                FileOutput.standardError.write("SYNC with master, discarding \(length) bytes of bulk transfer...\n")
            case .eofMark:
                FileOutput.standardError.write(
                    "SYNC with master, discarding bytes of bulk transfer until EOF marker...\n"
                )
            }
            let received = try Self.readPayload(
                connection,
                answer: answer,
                chunkSize: 1024,
                failure: "Error reading RDB payload while SYNCing"
            ) { _ throws(CLIExit) in }
            if let received {
                FileOutput.standardError.write("SYNC done after \(received) bytes. Logging commands from master.\n")
                // Put the replica online. redis-cli waits for a reply the master never sends to an ACK, so the
                // first command propagated after it is read as that reply and not printed: kept for fidelity.
                sleep(1)
                _ = try Self.sendReplconf(connection, "ACK", "0")
            } else {
                FileOutput.standardError.write("SYNC done. Logging commands from master.\n")
            }
            let csv = ReplyFormatter(mode: .csv)
            while true {
                let reply: RESPValue
                do throws(ConnectionError) {
                    reply = try connection.readReply()
                } catch {
                    throw CLIExit.failure("Error: \(error.message)")
                }
                do throws(UnprintableReplyError) {
                    FileOutput.standardOutput.write(try csv.format(reply))
                } catch {
                    throw CLIExit.failure(error.message)
                }
            }
        }
    }
}
