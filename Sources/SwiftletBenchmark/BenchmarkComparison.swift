import Foundation

/// `--compare HOST:PORT`: every selected test run against the main server (`-h`/`-p`) and another one, alternately,
/// for `--rounds` rounds; the medians of both and their ratio are printed as a markdown table.
public struct BenchmarkComparison: Sendable {
    /// One test's results over the rounds.
    public struct Row: Equatable, Sendable {
        public var title: String
        public var mainRPS: [Double] = []
        public var otherRPS: [Double] = []
        /// p50 latencies in milliseconds.
        public var mainP50: [Double] = []
        public var otherP50: [Double] = []

        public init(title: String) { self.title = title }
    }

    /// The rows in the order the tests ran.
    public var rows: [Row] = []

    public init() {}

    /// Records one result for a test (a new row the first time the title is seen).
    public mutating func record(_ report: LatencyReport, main: Bool) {
        let index: Int
        if let existing = rows.firstIndex(where: { $0.title == report.title }) {
            index = existing
        } else {
            rows.append(Row(title: report.title))
            index = rows.count - 1
        }
        let rps = Double(report.requestsPerSecond)
        let p50 = Double(Float(report.histogram.value(atPercentile: 50)) / 1000)
        if main {
            rows[index].mainRPS.append(rps)
            rows[index].mainP50.append(p50)
        } else {
            rows[index].otherRPS.append(rps)
            rows[index].otherP50.append(p50)
        }
    }

    /// The median (the mean of the two middle values for an even count; NaN when empty).
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The markdown table: a row per test with the medians for both servers and the ratio main/other.
    /// - Parameters:
    ///   - main: the main server's address, for the caption.
    ///   - other: the other server's address.
    ///   - rounds: `--rounds`.
    public func table(main: String, other: String, rounds: Int) -> String {
        var text = "Medians of \(rounds) round\(rounds == 1 ? "" : "s"): main = \(main), other = \(other)\n\n"
        text += "| test | main rps | other rps | rps main/other | main p50 ms | other p50 ms | p50 main/other |\n"
        text += "|---|---:|---:|---:|---:|---:|---:|\n"
        for row in rows {
            let rps = (Self.median(row.mainRPS), Self.median(row.otherRPS))
            let p50 = (Self.median(row.mainP50), Self.median(row.otherP50))
            // A title may hold a `|` (a custom command): escape it so the row keeps its cells.
            let title = row.title.replacingOccurrences(of: "|", with: "\\|")
            text += "| \(title) | " + formatC("%.2f | %.2f | %.2f", rps.0, rps.1, rps.0 / rps.1)
            text += " | " + formatC("%.3f | %.3f | %.2f", p50.0, p50.1, p50.0 / p50.1) + " |\n"
        }
        return text
    }
}
