import NIOCore
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Set by SIGINT in the modes that finish early on Ctrl-C (redis-cli's `force_cancel_loop`). A signal handler
/// can reach nothing else; it is written once by the handler and read between SCAN calls.
nonisolated(unsafe) private var interruptRequested: sig_atomic_t = 0

/// The modes that walk the keyspace with SCAN: `--scan`, `--bigkeys` and `--memkeys`.
extension Session {
    /// From now on, Ctrl-C ends the SCAN loop after the current call instead of the program.
    static func stopLoopOnInterrupt() {
        signal(SIGINT) { _ in interruptRequested = 1 }
    }

    static var interrupted: Bool { interruptRequested != 0 }

    // MARK: - SCAN

    /// redis-cli's `sendScan`: one `SCAN cursor [MATCH pattern]` (no COUNT).
    /// - Returns: the next cursor (0 at the end, as `strtoull` reads it) and the keys.
    /// - Throws: ``CLIExit`` with redis-cli's messages when the call fails.
    static func scanStep(
        _ connection: CLIConnection,
        pattern: [UInt8]?,
        cursor: UInt64
    ) throws(CLIExit) -> (cursor: UInt64, keys: [[UInt8]]) {
        var scan = [Array("SCAN".utf8), Array(String(cursor).utf8)]
        if let pattern { scan += [Array("MATCH".utf8), pattern] }
        let reply: RESPValue
        do {
            try connection.send(scan)
            reply = try connection.readReply()
        } catch {
            throw CLIExit(status: 1, stderr: "\nI/O error\n")
        }
        let parts: [RESPValue]
        switch reply {
        case .error(let text):
            throw CLIExit(
                status: 1,
                stderr: "SCAN error: " + String(decoding: Self.cString(text), as: UTF8.self) + "\n"
            )
        case .array(let elements?), .set(let elements), .push(let elements):
            parts = elements
        default:
            throw CLIExit.failure("Non ARRAY response from SCAN!")
        }
        guard parts.count == 2, let next = parts[0].bytes, case .array(let keys?) = parts[1] else {
            throw CLIExit.failure("Invalid element count from SCAN!")
        }
        let cursor = UInt64(clamping: CLIOptions.strtoll(String(decoding: next, as: UTF8.self)))
        return (cursor, keys.map { $0.bytes ?? [] })
    }

    /// An error text as `printf("%s")` prints it: up to its first NUL.
    static func cString(_ text: ByteBuffer) -> [UInt8] {
        Array(text.readableBytesView.prefix { $0 != 0 })
    }

    /// Connects as redis-cli's `cliConnect(0)` for the special modes, then runs `body`.
    private mutating func withModeConnection(_ body: (CLIConnection) throws(CLIExit) -> Void) -> Int32 {
        guard self.connect(quiet: false), let connection = self.connection else { return 1 }
        do {
            try body(connection)
        } catch {
            FileOutput.standardOutput.write(error.stdout)
            FileOutput.standardError.write(error.stderr)
            return error.status
        }
        return 0
    }

    // MARK: - --scan

    /// `--scan [--pattern P | --quoted-pattern P]`: walks the keyspace and prints one key a line (quoted as
    /// `sdscatrepr` in the human format, else up to its first NUL), pausing `-i` after each SCAN.
    /// - Returns: the exit status.
    mutating func runScan() -> Int32 {
        let standard = self.options.output == .standard
        let interval = self.options.intervalMicroseconds
        let pattern = self.options.pattern
        return self.withModeConnection { connection throws(CLIExit) in
            Self.stopLoopOnInterrupt()
            var cursor: UInt64 = 0
            repeat {
                let step = try Self.scanStep(connection, pattern: pattern, cursor: cursor)
                cursor = step.cursor
                var out: [UInt8] = []
                for key in step.keys {
                    if standard {
                        ReplyFormatter.appendRepr(key, to: &out)
                    } else {
                        out += key.prefix { $0 != 0 }
                    }
                    out.append(10)
                }
                FileOutput.standardOutput.write(out)
                if interval > 0 { usleep(UInt32(clamping: interval)) }
            } while cursor != 0 && !Self.interrupted
        }
    }

    // MARK: - --bigkeys / --memkeys

    /// `--bigkeys` (sizes by STRLEN, LLEN, ...) or `--memkeys` (sizes by `MEMORY USAGE [SAMPLES n]`): the biggest
    /// key of each type and per-type totals, pausing `-i` every 100 SCAN calls.
    /// - Returns: the exit status.
    mutating func runBigKeys(memory: Bool) -> Int32 {
        let samples = self.options.memkeysSamples
        let interval = self.options.intervalMicroseconds
        let pattern = self.options.pattern
        return self.withModeConnection { connection throws(CLIExit) in
            Self.stopLoopOnInterrupt()
            let total = try Self.databaseSize(connection)
            FileOutput.standardOutput.write(BigKeysReport.header)
            var report = BigKeysReport(memory: memory)
            var cursor: UInt64 = 0
            var loops: UInt64 = 0
            var percent = 0.0
            repeat {
                percent = 100 * Double(report.sampled) / Double(total)
                let step = try Self.scanStep(connection, pattern: pattern, cursor: cursor)
                cursor = step.cursor
                loops += 1
                let types = try Self.keyTypes(connection, keys: step.keys, report: &report)
                let sizes = try Self.keySizes(
                    connection,
                    keys: step.keys,
                    types: types,
                    report: report,
                    samples: samples
                )
                var lines = ""
                for (index, key) in step.keys.enumerated() {
                    // A key gone between SCAN and TYPE is skipped.
                    guard let type = types[index] else { continue }
                    lines += report.add(key: key, type: type, size: sizes[index], percent: percent)
                }
                FileOutput.standardOutput.write(lines)
                if interval > 0 && loops % 100 == 0 { usleep(UInt32(clamping: interval)) }
            } while cursor != 0 && !Self.interrupted
            FileOutput.standardOutput.write(report.summary(cancelledAt: Self.interrupted ? percent : nil))
        }
    }

    /// DBSIZE, as redis-cli's `getDbSize` reads it (for --bigkeys, --memkeys and --hotkeys).
    /// - Throws: ``CLIExit`` on an I/O error, an error reply or a reply that is not an integer.
    static func databaseSize(_ connection: CLIConnection) throws(CLIExit) -> UInt64 {
        let reply: RESPValue
        do {
            try connection.send([Array("DBSIZE".utf8)])
            reply = try connection.readReply()
        } catch {
            throw CLIExit(status: 1, stderr: "\nI/O error\n")
        }
        switch reply {
        case .integer(let count):
            // redis-cli keeps it in an int.
            return UInt64(truncatingIfNeeded: Int32(truncatingIfNeeded: count))
        case .error(let text):
            let reason = String(decoding: Self.cString(text), as: UTF8.self)
            throw CLIExit.failure("Couldn't determine DBSIZE: \(reason)")
        default:
            throw CLIExit.failure("Non INTEGER response from DBSIZE!")
        }
    }

    /// Pipelines TYPE for every key. - Returns: each key's index in `report.types`, `nil` for a key gone.
    private static func keyTypes(
        _ connection: CLIConnection,
        keys: [[UInt8]],
        report: inout BigKeysReport
    ) throws(CLIExit) -> [Int?] {
        do {
            for key in keys { try connection.send([Array("TYPE".utf8), key]) }
        } catch {
            throw CLIExit(status: 1, stderr: "\nI/O error\n")
        }
        var types: [Int?] = []
        for key in keys {
            let reply: RESPValue
            do {
                reply = try connection.readReply()
            } catch {
                let name = String(decoding: key.prefix { $0 != 0 }, as: UTF8.self)
                throw CLIExit.failure("Error getting type for key '\(name)' (1: \(error.message))")
            }
            switch reply {
            case .simpleString(let text):
                types.append(report.typeIndex(named: String(buffer: text)))
            case .error(let text):
                let reason = String(decoding: Self.cString(text), as: UTF8.self)
                throw CLIExit.failure("TYPE returned an error: \(reason)")
            default:
                let name = String(decoding: key.prefix { $0 != 0 }, as: UTF8.self)
                throw CLIExit.failure("Invalid reply type (\(Self.hiredisType(reply))) for TYPE on key '\(name)'!")
            }
        }
        return types
    }

    /// Pipelines the size command for every measured key. - Returns: each key's size (0 when not measured).
    private static func keySizes(
        _ connection: CLIConnection,
        keys: [[UInt8]],
        types: [Int?],
        report: BigKeysReport,
        samples: UInt32
    ) throws(CLIExit) -> [UInt64] {
        let commands = keys.indices.map { index in
            types[index].flatMap { report.sizeCommand(type: $0, key: keys[index], samples: samples) }
        }
        do {
            for command in commands { if let command { try connection.send(command) } }
        } catch {
            throw CLIExit(status: 1, stderr: "\nI/O error\n")
        }
        var sizes: [UInt64] = []
        for (index, command) in commands.enumerated() {
            guard command != nil else {
                sizes.append(0)
                continue
            }
            let name = String(decoding: keys[index].prefix { $0 != 0 }, as: UTF8.self)
            let reply: RESPValue
            do {
                reply = try connection.readReply()
            } catch {
                throw CLIExit.failure("Error getting size for key '\(name)' (1: \(error.message))")
            }
            if case .integer(let size) = reply {
                sizes.append(UInt64(bitPattern: size))
            } else {
                // The key may have changed type between TYPE and the size command.
                let what =
                    report.memory ? "MEMORY USAGE" : (types[index].flatMap { report.types[$0].sizeCommand } ?? "")
                FileOutput.standardError.write("Warning:  \(what) on '\(name)' failed (may have changed type)\n")
                sizes.append(0)
            }
        }
        return sizes
    }

    /// hiredis's `REDIS_REPLY_*` number for a reply.
    private static func hiredisType(_ reply: RESPValue) -> Int {
        switch reply {
        case .bulkString(.some), .verbatimString: return 1
        case .array(.some): return 2
        case .integer: return 3
        case .null, .bulkString(nil), .array(nil): return 4
        case .simpleString: return 5
        case .error: return 6
        case .double: return 7
        case .boolean: return 8
        case .map: return 9
        case .set: return 10
        case .attribute: return 11
        case .push: return 12
        case .bigNumber: return 13
        }
    }
}
