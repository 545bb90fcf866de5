import Foundation
import Testing

@testable import SwiftletBenchmark

/// `--plot`'s chart: one curve per test, the log percentile axis, escaping, and the HTML wrapper.
struct LatencyPlotTests {
    private func report(_ title: String, _ latencies: [UInt64]) -> LatencyReport {
        var histogram = LatencyHistogram()
        for latency in latencies { histogram.record(microseconds: latency) }
        return LatencyReport(
            title: title,
            requestsFinished: latencies.count,
            elapsedMilliseconds: 10,
            histogram: histogram,
            clients: 1,
            dataSize: 3,
            keepAlive: 1
        )
    }

    @Test func oneCurvePerTestWithItsLegend() {
        var plot = LatencyPlot()
        plot.add(report("SET", Array(100...1100)))
        plot.add(report("GET <&\"'>", Array(50...500)))
        plot.add(report("EMPTY", []))
        let svg = plot.svg
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<polyline class=\"curve\"").count == 3)
        #expect(svg.contains("data-test=\"SET\""))
        #expect(svg.contains("data-test=\"GET &lt;&amp;&quot;&apos;&gt;\""))
        #expect(svg.contains(">Latency (ms)</text>"))
        #expect(svg.contains(">99.9%</text>"))
        #expect(plot.html.hasPrefix("<!DOCTYPE html>") && plot.html.contains(svg))
    }

    @Test func percentileAxis() {
        #expect(LatencyPlot.logScale(0, limit: 5) == 0)
        #expect(abs(LatencyPlot.logScale(99, limit: 5) - 2) < 1e-9)
        #expect(LatencyPlot.logScale(100, limit: 5) == 5)
        #expect([1, 2, 3, 4].map(LatencyPlot.percentileLabel) == ["90%", "99%", "99.9%", "99.99%"])
        #expect(LatencyPlot.niceScale(3.7) == (top: 4, step: 1))
        let small = LatencyPlot.niceScale(0.23)
        #expect(abs(small.top - 0.25) < 1e-9 && abs(small.step - 0.05) < 1e-9)
    }
}
