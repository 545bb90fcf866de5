import NIOCore
import SwiftletRESP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Microseconds since the epoch, as redis-cli's `ustime`.
func microsecondsNow() -> Int64 {
    var now = timeval()
    gettimeofday(&now, nil)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_usec)
}

/// The latency statistics of `--latency` and `--latency-history` (milliseconds), and how redis-cli prints them.
struct LatencyStats: Sendable, Hashable {
    var min: Int64 = 0
    var max: Int64 = 0
    var total: Int64 = 0
    var count: Int64 = 0

    var average: Double { self.count == 0 ? 0 : Double(self.total) / Double(self.count) }

    mutating func add(_ latency: Int64) {
        self.count += 1
        if self.count == 1 {
            (self.min, self.max, self.total) = (latency, latency, latency)
        } else {
            self.min = Swift.min(self.min, latency)
            self.max = Swift.max(self.max, latency)
            self.total += latency
        }
    }

    /// redis-cli's `latencyModePrint`: no newline in the human format (the line is redrawn); nothing for
    /// `--quoted-json`, which redis-cli does not handle here.
    func line(_ mode: OutputMode) -> String {
        let average = CFormat.fixed2(self.average)
        switch mode {
        case .standard: return "min: \(self.min), max: \(self.max), avg: \(average) (\(self.count) samples)"
        case .csv: return "\(self.min),\(self.max),\(average),\(self.count)\n"
        case .raw: return "\(self.min) \(self.max) \(average) \(self.count)\n"
        case .json:
            return "{\"min\": \(self.min), \"max\": \(self.max), \"avg\": \(average), \"count\": \(self.count)}\n"
        case .quotedJSON: return ""
        }
    }
}

/// The buckets of `--latency-dist` (upper bounds in microseconds, 0 for the last) and its spectrum lines.
struct LatencyDistribution: Sendable, Hashable {
    static let bounds: [Int64] = [
        10, 125, 250, 500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 40000,
        50000, 100_000, 200_000, 300_000, 400_000, 500_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000,
        16_000_000, 30_000_000, 60_000_000, 0,
    ]
    static let characters = Array(".-*#123456789ABCDEFGHIJKLMNOPQ?".utf8)
    static let colorPalette = [
        0, 233, 234, 235, 237, 239, 241, 243, 245, 247, 144, 143, 142, 184, 226, 214, 208, 202, 196,
    ]
    static let monoPalette = [0, 233, 234, 235, 237, 239, 241, 243, 245, 247, 249, 251, 253]

    let palette: [Int]
    var counts = [Int64](repeating: 0, count: Self.bounds.count)

    /// Counts one sample (microseconds).
    mutating func add(_ latency: Int64) {
        let bucket = Self.bounds.firstIndex { $0 == 0 || latency <= $0 } ?? (Self.bounds.count - 1)
        self.counts[bucket] += 1
    }

    /// The spectrum of the samples so far, each bucket's colour proportional to its share; empties the buckets.
    mutating func spectrum(total: Int64) -> String {
        var out = "\u{1b}[38;5;0m"
        for (index, count) in self.counts.enumerated() {
            let share = (Double(count) / Double(total) * Double(self.palette.count - 1)).rounded(.up)
            let color = self.palette[Int(share)]
            out += "\u{1b}[48;5;\(color)m" + String(UnicodeScalar(Self.characters[index]))
            self.counts[index] = 0
        }
        return out + "\u{1b}[0m\n"
    }

    /// The legend printed before every 20th spectrum.
    func legend() -> String {
        var out = [
            "---------------------------------------------",
            ". - * #          .01 .125 .25 .5 milliseconds",
            "1,2,3,...,9      from 1 to 9     milliseconds",
            "A,B,C,D,E        10,20,30,40,50  milliseconds",
            "F,G,H,I,J        .1,.2,.3,.4,.5       seconds",
            "K,L,M,N,O,P,Q,?  1,2,4,8,16,30,60,>60 seconds",
            "From 0 to 100%: ",
        ].joined(separator: "\n")
        for color in self.palette { out += "\u{1b}[48;5;\(color)m " }
        return out + "\u{1b}[0m\n---------------------------------------------\n"
    }
}

extension Session {
    /// redis-cli's `LATENCY_SAMPLE_RATE`: the pause between two PINGs.
    static let latencySampleMicroseconds: UInt32 = 10_000

    /// redis-cli's `reconnectingRedisCommand`: when the connection is lost it reconnects (once a second, showing
    /// the attempts on stdout) and sends the command again.
    /// - Throws: ``CLIExit`` on a protocol error.
    mutating func reconnectingCommand(_ arguments: [[UInt8]]) throws(CLIExit) -> RESPValue {
        var tries = 0
        while true {
            if let connection = self.connection {
                do {
                    try connection.send(arguments)
                    let reply = try connection.readReply()
                    if tries > 0 { FileOutput.standardOutput.write("\r\u{1b}[0K") }
                    return reply
                } catch {
                    if error.message.hasPrefix("Protocol error") {
                        throw CLIExit.failure("Error: \(error.message)")
                    }
                    self.connection = nil
                }
            }
            tries += 1
            FileOutput.standardOutput.write("\r\u{1b}[0KReconnecting... \(tries)\r")
            // Like redis-cli, a plain connection: no AUTH or SELECT.
            if let path = self.options.socketPath {
                self.connection = try? CLIConnection(socketPath: path)
            } else {
                self.connection = try? CLIConnection(host: self.options.host, port: self.options.port)
            }
            usleep(1_000_000)
        }
    }

    /// Connects, then runs `body` until it throws the exit.
    private mutating func runLoop(_ body: (inout Session) throws(CLIExit) -> Void) -> Int32 {
        guard self.connect(quiet: false) else { return 1 }
        do {
            try body(&self)
        } catch {
            FileOutput.standardOutput.write(error.stdout)
            FileOutput.standardError.write(error.stderr)
            return error.status
        }
        return 0
    }

    // MARK: - --latency / --latency-history

    /// `--latency`: PINGs every 10 ms and shows min/max/avg in milliseconds. In the human format the line is
    /// redrawn forever; otherwise one line is printed after `-i` seconds (default 1) and the program ends.
    /// `--latency-history`: a line per sample (redrawn in the human format) and a new range every `-i` seconds
    /// (default 15).
    mutating func runLatency(history: Bool) -> Int32 {
        let mode = self.options.output
        let interval = Int64(self.options.intervalMicroseconds)
        let historyInterval = interval > 0 ? interval / 1000 : 15000
        let reportAfter = interval > 0 ? interval / 1000 : 1000
        return self.runLoop { session throws(CLIExit) in
            var stats = LatencyStats()
            var historyStart = microsecondsNow() / 1000
            while true {
                let start = microsecondsNow() / 1000
                _ = try session.reconnectingCommand([Array("PING".utf8)])
                stats.add(microsecondsNow() / 1000 - start)
                if mode == .standard {
                    FileOutput.standardOutput.write("\u{1b}[0G\u{1b}[2K" + stats.line(mode))
                } else if history {
                    FileOutput.standardOutput.write(stats.line(mode))
                } else if microsecondsNow() / 1000 - historyStart > reportAfter {
                    FileOutput.standardOutput.write(stats.line(mode))
                    return
                }
                if history && microsecondsNow() / 1000 - historyStart > historyInterval {
                    let seconds = Double(Float(microsecondsNow() / 1000 - historyStart) / 1000)
                    FileOutput.standardOutput.write(" -- \(CFormat.fixed2(seconds)) seconds range\n")
                    historyStart = microsecondsNow() / 1000
                    stats = LatencyStats()
                }
                usleep(Self.latencySampleMicroseconds)
            }
        }
    }

    // MARK: - --latency-dist

    /// `--latency-dist`: PINGs every 10 ms and every `-i` seconds (default 1) prints a coloured spectrum of the
    /// latencies (`--mono`: grey levels), with a legend before every 20th.
    mutating func runLatencyDistribution() -> Int32 {
        let interval = Int64(self.options.intervalMicroseconds)
        let historyInterval = interval > 0 ? interval / 1000 : 1000
        var distribution = LatencyDistribution(
            palette: self.options.monochrome ? LatencyDistribution.monoPalette : LatencyDistribution.colorPalette
        )
        return self.runLoop { session throws(CLIExit) in
            var count: Int64 = 0
            var outputs = 0
            var historyStart = microsecondsNow()
            while true {
                let start = microsecondsNow()
                _ = try session.reconnectingCommand([Array("PING".utf8)])
                distribution.add(microsecondsNow() - start)
                count += 1
                if (microsecondsNow() - historyStart) / 1000 > historyInterval {
                    var out = outputs % 20 == 0 ? distribution.legend() : ""
                    outputs += 1
                    out += distribution.spectrum(total: count)
                    FileOutput.standardOutput.write(out)
                    historyStart = microsecondsNow()
                    count = 0
                }
                usleep(Self.latencySampleMicroseconds)
            }
        }
    }
}
