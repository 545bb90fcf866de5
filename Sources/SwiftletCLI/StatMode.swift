import NIOCore
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The lines of `--stat`, made from INFO replies as redis-cli's `statMode` makes them.
struct StatReport: Sendable, Hashable {
    /// The lines printed so far (a header before every 20th).
    var printed = 0
    /// The previous `total_commands_processed`, for the `(+N)` delta; 0 before the first line.
    var requests: Int = 0

    static let header =
        "------- data ------ --------------------- load -------------------- - child -\n"
        + "keys       mem      clients blocked requests            connections          \n"

    /// The line for one INFO reply, preceded by the header every 20 lines.
    mutating func line(info: [UInt8]) -> String {
        var out = self.printed % 20 == 0 ? Self.header : ""
        self.printed += 1
        var keys = 0
        for db in 0..<20 {
            if let count = Self.longField(info, "db\(db):keys") { keys += count }
        }
        out += Self.padded(String(keys), 11)
        out += Self.padded(Self.bytesToHuman(Self.longField(info, "used_memory") ?? Int.min), 8)
        out += " " + Self.padded(Self.text(Self.longField(info, "connected_clients")), 8)
        out += Self.padded(Self.text(Self.longField(info, "blocked_clients")), 8)
        let total = Self.longField(info, "total_commands_processed") ?? Int.min
        out += Self.padded("\(total) (+\(self.requests == 0 ? 0 : total &- self.requests))", 19)
        self.requests = total
        out += " " + Self.padded(Self.text(Self.longField(info, "total_connections_received")), 12)
        let children =
            (Self.longField(info, "bgsave_in_progress") ?? Int.min)
            | (Self.longField(info, "aof_rewrite_in_progress") ?? Int.min) << 1
            | (Self.longField(info, "loading") ?? Int.min) << 2
        switch children {
        case 1: out += "SAVE"
        case 2: out += "AOF"
        case 3: out += "SAVE+AOF"
        case 4: out += "LOAD"
        default: break
        }
        return out + "\n"
    }

    /// redis-cli's `getLongInfoField`: the value after the first occurrence of `field` anywhere in the text (up to
    /// CR or a comma), read with `strtol`; `nil` (LONG_MIN in redis-cli) when absent.
    static func longField(_ info: [UInt8], _ field: String) -> Int? {
        let needle = Array(field.utf8)
        guard needle.count < info.count,
            let start = (0...(info.count - needle.count)).first(where: {
                info[$0..<($0 + needle.count)].elementsEqual(needle)
            })
        else { return nil }
        let valueStart = Swift.min(start + needle.count + 1, info.count)
        let valueEnd = info[valueStart...].firstIndex { $0 == 13 || $0 == UInt8(ascii: ",") } ?? info.count
        return Int(CLIOptions.strtoll(String(decoding: info[valueStart..<valueEnd], as: UTF8.self)))
    }

    private static func text(_ value: Int?) -> String { String(value ?? Int.min) }

    /// `%-Ns`.
    static func padded(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: Swift.max(0, width - text.utf8.count))
    }

    /// redis-cli's `bytesToHuman`: `100B`, `4.00K`, `2.50M`, `1.00G` (nothing from a terabyte up).
    static func bytesToHuman(_ value: Int) -> String {
        let sign = value < 0 ? "-" : ""
        let n = value.magnitude
        if n < 1024 { return "\(sign)\(n)B" }
        if n < 1024 * 1024 { return sign + CFormat.fixed2(Double(n) / 1024) + "K" }
        if n < 1024 * 1024 * 1024 { return sign + CFormat.fixed2(Double(n) / (1024 * 1024)) + "M" }
        if n < 1024 * 1024 * 1024 * 1024 { return sign + CFormat.fixed2(Double(n) / (1024 * 1024 * 1024)) + "G" }
        return sign
    }
}

extension Session {
    /// `--stat`: a line of server statistics every `-i` seconds (default 1), forever.
    mutating func runStat() -> Int32 {
        guard self.connect(quiet: false) else { return 1 }
        let interval = self.options.intervalMicroseconds > 0 ? self.options.intervalMicroseconds : 1_000_000
        var report = StatReport()
        while true {
            let reply: RESPValue
            do {
                reply = try self.reconnectingCommand([Array("INFO".utf8)])
            } catch {
                FileOutput.standardError.write(error.stderr)
                return error.status
            }
            if case .error(let text) = reply {
                FileOutput.standardError.write(Array("ERROR: ".utf8) + Self.cString(text) + [10])
                return 1
            }
            FileOutput.standardOutput.write(report.line(info: reply.bytes ?? []))
            usleep(UInt32(clamping: interval))
        }
    }
}
