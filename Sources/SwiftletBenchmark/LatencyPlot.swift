import Foundation

/// `--plot FILE.svg|FILE.html`: each test's latency by percentile as one curve of a self-contained SVG chart, the
/// percentile axis on HdrHistogram's log scale (0%, 90%, 99%, 99.9%, ... equally spaced), latency in milliseconds,
/// with axes, labels and a legend. An `.html` file is a page with the same SVG inline.
struct LatencyPlot {
    /// One curve: the test's title and its percentile steps.
    struct Curve {
        var title: String
        var points: [(percentile: Double, milliseconds: Double)]
    }

    private(set) var curves: [Curve] = []

    /// Adds a report's curve (a report with no requests adds none).
    mutating func add(_ report: LatencyReport) {
        let points = report.percentileSteps.map { ($0.percentile, Double($0.microseconds) / 1000) }
        guard !points.isEmpty else { return }
        curves.append(Curve(title: report.title, points: points))
    }

    /// Writes the chart to `path` (the HTML page when it ends `.html`).
    /// - Throws: ``BenchmarkError`` when the file cannot be written.
    func write(to path: String) throws(BenchmarkError) {
        let text = path.lowercased().hasSuffix(".html") ? html : svg
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw BenchmarkError("Error: cannot write the plot to \(path): \(error.localizedDescription)")
        }
    }

    /// The HTML page with the SVG inline.
    var html: String {
        """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>swiftlet-benchmark latency by percentile</title></head>
        <body>
        \(svg)</body></html>

        """
    }

    // Layout, in SVG user units.
    private static let width = 960.0
    private static let height = 520.0
    private static let left = 80.0
    private static let right = 300.0
    private static let top = 50.0
    private static let bottom = 70.0
    private static let colors = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]

    /// The percentile's place on the log axis: log10(1 / (1 − p)), so 90% is 1, 99% is 2, 99.9% is 3.
    static func logScale(_ percentile: Double, limit: Double) -> Double {
        let remaining = 1 - percentile / 100
        return remaining <= 0 ? limit : min(log10(1 / remaining), limit)
    }

    /// A round upper bound for the latency axis and its tick step (1, 2 or 5 times a power of ten).
    static func niceScale(_ maximum: Double) -> (top: Double, step: Double) {
        let target = max(maximum, 0.001) / 5
        let magnitude = pow(10, floor(log10(target)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= target } ?? 10 * magnitude
        return ((max(maximum, 0.001) / step).rounded(.up) * step, step)
    }

    /// The chart.
    var svg: String {
        let plotWidth = Self.width - Self.left - Self.right
        let plotHeight = Self.height - Self.top - Self.bottom
        // The percentile axis reaches the highest percentile below 100% that any curve has (at least 99%).
        let highest = curves.flatMap { $0.points.map(\.percentile) }.filter { $0 < 100 }.max() ?? 99
        let decades = min(max(Self.logScale(highest, limit: 7).rounded(.up), 2), 7)
        let maximum = curves.flatMap { $0.points.map(\.milliseconds) }.max() ?? 1
        let (yTop, yStep) = Self.niceScale(maximum)
        func x(_ percentile: Double) -> Double {
            Self.left + Self.logScale(percentile, limit: decades) / decades * plotWidth
        }
        func y(_ milliseconds: Double) -> Double { Self.top + plotHeight - milliseconds / yTop * plotHeight }
        func number(_ value: Double) -> String { String(format: "%.1f", value) }

        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" \
            viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(number(Self.left + plotWidth / 2))" y="25" text-anchor="middle" font-size="16">\
            Latency by percentile distribution</text>

            """
        // Grid and tick labels.
        for decade in 0...Int(decades) {
            let position = Self.left + Double(decade) / decades * plotWidth
            let label = decade == 0 ? "0%" : Self.percentileLabel(decade)
            out +=
                "<line class=\"grid\" x1=\"\(number(position))\" y1=\"\(number(Self.top))\" x2=\"\(number(position))\" "
            out += "y2=\"\(number(Self.top + plotHeight))\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(number(position))\" y=\"\(number(Self.top + plotHeight + 18))\" text-anchor=\"middle\">"
            out += "\(label)</text>\n"
        }
        var tick = 0.0
        while tick <= yTop + yStep / 2 {
            let position = y(tick)
            out += "<line class=\"grid\" x1=\"\(number(Self.left))\" y1=\"\(number(position))\" "
            out += "x2=\"\(number(Self.left + plotWidth))\" y2=\"\(number(position))\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(number(Self.left - 8))\" y=\"\(number(position + 4))\" text-anchor=\"end\">"
            out += "\(Self.tickLabel(tick, step: yStep))</text>\n"
            tick += yStep
        }
        // Axes and their titles.
        out += "<line class=\"axis\" x1=\"\(number(Self.left))\" y1=\"\(number(Self.top + plotHeight))\" "
        out += "x2=\"\(number(Self.left + plotWidth))\" y2=\"\(number(Self.top + plotHeight))\" stroke=\"black\"/>\n"
        out +=
            "<line class=\"axis\" x1=\"\(number(Self.left))\" y1=\"\(number(Self.top))\" x2=\"\(number(Self.left))\" "
        out += "y2=\"\(number(Self.top + plotHeight))\" stroke=\"black\"/>\n"
        out += "<text x=\"\(number(Self.left + plotWidth / 2))\" y=\"\(number(Self.height - 20))\" "
        out += "text-anchor=\"middle\">Percentile (log scale of 1/(1-p))</text>\n"
        out += "<text x=\"20\" y=\"\(number(Self.top + plotHeight / 2))\" text-anchor=\"middle\" "
        out += "transform=\"rotate(-90 20 \(number(Self.top + plotHeight / 2)))\">Latency (ms)</text>\n"
        // One curve per test, drawn as a step line through its percentile steps, and its legend entry.
        for (index, curve) in curves.enumerated() {
            let color = Self.colors[index % Self.colors.count]
            var points: [String] = ["\(number(x(0))),\(number(y(curve.points[0].milliseconds)))"]
            for point in curve.points {
                points.append("\(number(x(point.percentile))),\(number(y(point.milliseconds)))")
            }
            let title = Self.escape(curve.title)
            out += "<polyline class=\"curve\" data-test=\"\(title)\" fill=\"none\" stroke=\"\(color)\" "
            out += "stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"><title>\(title)</title></polyline>\n"
            let legendY = Self.top + 10 + Double(index) * 20
            let legendX = Self.left + plotWidth + 15
            out += "<line x1=\"\(number(legendX))\" y1=\"\(number(legendY))\" x2=\"\(number(legendX + 20))\" "
            out += "y2=\"\(number(legendY))\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
            // A long title is cut in the legend (the curve's tooltip has it whole).
            let shown = curve.title.count > 36 ? Self.escape(String(curve.title.prefix(35))) + "…" : title
            out += "<text class=\"legend\" x=\"\(number(legendX + 26))\" y=\"\(number(legendY + 4))\">\(shown)</text>\n"
        }
        return out + "</svg>\n"
    }

    /// `90%`, `99%`, `99.9%`, ...: the percentile at `decade` on the log axis.
    static func percentileLabel(_ decade: Int) -> String {
        String(format: "%.\(max(decade - 2, 0))f%%", 100 - pow(10, Double(2 - decade)))
    }

    /// A latency tick: as many decimals as the step needs.
    static func tickLabel(_ value: Double, step: Double) -> String {
        let decimals = max(0, Int((-log10(step)).rounded(.up)))
        return String(format: "%.\(decimals)f", value)
    }

    /// XML's five escapes.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
