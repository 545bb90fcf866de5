import NIOCore
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The 16 hottest keys seen so far, kept as redis-cli's `findHotKeys` keeps them: an array sorted by counter,
/// coldest first, where a new key pushes out the coldest.
struct HotKeysPool: Sendable, Hashable {
    /// redis-cli's `HOTKEYS_SAMPLE`.
    static let size = 16

    private(set) var counters = [UInt64](repeating: 0, count: Self.size)
    /// The keys, quoted as `sdscatrepr` quotes them.
    private(set) var keys = [[UInt8]](repeating: [], count: Self.size)

    /// Offers one key with its `OBJECT FREQ` counter.
    /// - Returns: whether the key entered the pool (redis-cli then prints a progress line).
    mutating func offer(key: [UInt8], frequency: UInt64) -> Bool {
        var slot = 0
        while slot < Self.size && frequency > self.counters[slot] { slot += 1 }
        if slot == 0 { return false }
        slot -= 1
        if slot != 0 && self.counters[slot] != 0 {
            // Shift the colder keys down one place, dropping the coldest.
            self.counters.replaceSubrange(0..<slot, with: self.counters[1...slot])
            self.keys.replaceSubrange(0..<slot, with: self.keys[1...slot])
        }
        self.counters[slot] = frequency
        var quoted: [UInt8] = []
        ReplyFormatter.appendRepr(key, to: &quoted)
        self.keys[slot] = quoted
        return true
    }

    /// The summary lines, hottest first.
    func summaryLines() -> String {
        var out = ""
        for slot in stride(from: Self.size - 1, through: 0, by: -1) where self.counters[slot] > 0 {
            out += "hot key found with counter: \(self.counters[slot])\tkeyname: "
            out += String(decoding: self.keys[slot], as: UTF8.self) + "\n"
        }
        return out
    }

    /// The line printed when a key enters the pool.
    func progressLine(slotOf key: [UInt8], frequency: UInt64, percent: Double) -> String {
        var quoted: [UInt8] = []
        ReplyFormatter.appendRepr(key, to: &quoted)
        let name = String(decoding: quoted, as: UTF8.self)
        return "[\(CFormat.percent(percent))%] Hot key '\(name)' found so far with counter \(frequency)\n"
    }
}

extension Session {
    /// `--hotkeys`: walks the keyspace with SCAN and `OBJECT FREQ` (which needs an LFU `maxmemory-policy`; the
    /// server's error is printed otherwise) and reports the 16 keys with the highest access frequency.
    /// - Returns: the exit status.
    mutating func runHotKeys() -> Int32 {
        guard self.connect(quiet: false), let connection = self.connection else { return 1 }
        let interval = self.options.intervalMicroseconds
        let pattern = self.options.pattern
        do {
            Self.stopLoopOnInterrupt()
            let total = try Self.databaseSize(connection)
            FileOutput.standardOutput.write(
                "\n# Scanning the entire keyspace to find hot keys as well as\n"
                    + "# average sizes per key type.  You can use -i 0.1 to sleep 0.1 sec\n"
                    + "# per 100 SCAN commands (not usually needed).\n\n"
            )
            var pool = HotKeysPool()
            var sampled: UInt64 = 0
            var cursor: UInt64 = 0
            var loops: UInt64 = 0
            var percent = 0.0
            repeat {
                percent = 100 * Double(sampled) / Double(total)
                let step = try Self.scanStep(connection, pattern: pattern, cursor: cursor)
                cursor = step.cursor
                loops += 1
                let frequencies = try Self.keyFrequencies(connection, keys: step.keys)
                var lines = ""
                for (index, key) in step.keys.enumerated() {
                    sampled += 1
                    if sampled % 1_000_000 == 0 {
                        lines += "[\(CFormat.percent(percent))%] Sampled \(sampled) keys so far\n"
                    }
                    if pool.offer(key: key, frequency: frequencies[index]) {
                        lines += pool.progressLine(slotOf: key, frequency: frequencies[index], percent: percent)
                    }
                }
                FileOutput.standardOutput.write(lines)
                if interval > 0 && loops % 100 == 0 { usleep(UInt32(clamping: interval)) }
            } while cursor != 0 && !Self.interrupted
            var summary = "\n-------- summary -------\n\n"
            if Self.interrupted { summary += "[\(CFormat.percent(percent))%] " }
            summary += "Sampled \(sampled) keys in the keyspace!\n" + pool.summaryLines()
            FileOutput.standardOutput.write(summary)
        } catch {
            FileOutput.standardOutput.write(error.stdout)
            FileOutput.standardError.write(error.stderr)
            return error.status
        }
        return 0
    }

    /// redis-cli's `getDbSize`.
    /// redis-cli's `getKeyFreqs`: pipelines `OBJECT FREQ` for every key.
    /// - Returns: each key's counter (0 for a key gone since SCAN, with a warning).
    /// - Throws: ``CLIExit`` with the server's error (no LFU policy) or on a connection error.
    private static func keyFrequencies(_ connection: CLIConnection, keys: [[UInt8]]) throws(CLIExit) -> [UInt64] {
        var frequencies: [UInt64] = []
        var index = 0
        do {
            for key in keys {
                try connection.send([Array("OBJECT".utf8), Array("FREQ".utf8), key])
            }
            while index < keys.count {
                let reply = try connection.readReply()
                switch reply {
                case .integer(let value):
                    frequencies.append(UInt64(bitPattern: value))
                case .error(let text):
                    throw CLIExit.failure("Error: " + String(decoding: Self.cString(text), as: UTF8.self))
                default:
                    var quoted: [UInt8] = []
                    ReplyFormatter.appendRepr(keys[index], to: &quoted)
                    FileOutput.standardError.write(
                        "Warning: OBJECT freq on '\(String(decoding: quoted, as: UTF8.self))' failed"
                            + " (may have been deleted)\n"
                    )
                    frequencies.append(0)
                }
                index += 1
            }
        } catch let exit as CLIExit {
            throw exit
        } catch {
            var quoted: [UInt8] = []
            ReplyFormatter.appendRepr(keys[min(index, keys.count - 1)], to: &quoted)
            let name = String(decoding: quoted, as: UTF8.self)
            // hiredis's error codes: 1 for I/O, 3 for end of file, 4 for protocol.
            let message = (error as? ConnectionError)?.message ?? "\(error)"
            let code = message == ConnectionError.closed.message ? 3 : message.hasPrefix("Protocol") ? 4 : 1
            throw CLIExit.failure("Error getting freq for key '\(name)' (\(code): \(message))")
        }
        return frequencies
    }
}
