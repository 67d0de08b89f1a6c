import Foundation

/// Accuracy against mean search forward passes on one benchmark, one series per method (settings
/// joined in order of FPs, each labelled), methods without search (vanilla, the oracle crop) as
/// dashed horizontal lines: the paper's Figure 3.
public enum AccuracyChart {
    static let palette: [String: Chart.Color] = [
        "focus": Chart.Color(214, 39, 40), "zoomeye": Chart.Color(31, 119, 180), "vicrop": Chart.Color(44, 160, 44),
        "vanilla": Chart.Color(90, 90, 90), "oracle": Chart.Color(148, 103, 189),
    ]
    static let extra = [Chart.Color(255, 127, 14), Chart.Color(140, 86, 75), Chart.Color(227, 119, 194), Chart.Color(23, 190, 207)]

    /// Round tick steps (1, 2, 5 × 10^k) giving about `count` ticks over `span`.
    static func tickStep(_ span: Double, count: Double = 6) -> Double {
        let raw = max(span, 1e-9) / count, magnitude = pow(10, floor(log10(raw)))
        for m in [1.0, 2, 5, 10] where m * magnitude >= raw { return m * magnitude }
        return 10 * magnitude
    }

    public static func make(_ report: Report, benchmark: String) -> Chart {
        var chart = Chart(width: 1000, height: 600)
        let left = 80.0, right = 700.0, top = 70.0, bottom = 520.0
        let runs = report.runs.filter { $0.benchmark == benchmark && !($0.spec?.isAblation ?? false) }
        let accuracies = runs.map { 100 * $0.accuracy }
        let maxFP = max(1, runs.map(\.meanSearchForwardPasses).max() ?? 1)
        let xStep = tickStep(maxFP * 1.05), xMax = (maxFP * 1.05 / xStep).rounded(.up) * xStep
        let yStep = tickStep(((accuracies.max() ?? 100) - (accuracies.min() ?? 0)) + 10, count: 6)
        let yMin = max(0, ((accuracies.min() ?? 0) - 2) / yStep).rounded(.down) * yStep
        let yMax = min(100, (((accuracies.max() ?? 100) + 2) / yStep).rounded(.up) * yStep)
        func px(_ fp: Double) -> Double { left + (right - left) * fp / xMax }
        func py(_ acc: Double) -> Double { bottom - (bottom - top) * (acc - yMin) / max(yMax - yMin, 1e-9) }
        let ink = Chart.Color(40, 40, 40), grid = Chart.Color(225, 225, 225)

        chart.elements.append(.text(x: chart.width / 2, y: 32, "Accuracy vs. search forward passes: \(benchmark)", size: 18, color: ink, anchor: .middle))
        var x = 0.0
        while x <= xMax + 1e-9 {
            chart.elements.append(.line(x1: px(x), y1: top, x2: px(x), y2: bottom, color: grid, width: 1, dashed: false))
            chart.elements.append(.text(x: px(x), y: bottom + 22, String(format: xStep < 1 ? "%.1f" : "%.0f", x), size: 13, color: ink, anchor: .middle))
            x += xStep
        }
        var y = yMin
        while y <= yMax + 1e-9 {
            chart.elements.append(.line(x1: left, y1: py(y), x2: right, y2: py(y), color: grid, width: 1, dashed: false))
            chart.elements.append(.text(x: left - 10, y: py(y) + 5, String(format: "%.0f", y), size: 13, color: ink, anchor: .end))
            y += yStep
        }
        chart.elements.append(.line(x1: left, y1: bottom, x2: right, y2: bottom, color: ink, width: 1.5, dashed: false))
        chart.elements.append(.line(x1: left, y1: top, x2: left, y2: bottom, color: ink, width: 1.5, dashed: false))
        chart.elements.append(.text(x: (left + right) / 2, y: bottom + 50, "mean search forward passes per question", size: 14, color: ink, anchor: .middle))
        chart.elements.append(.text(x: left - 10, y: top - 16, "accuracy %", size: 14, color: ink, anchor: .start))

        var legendY = top + 10
        var extraIndex = 0
        let methods = Report.methodOrder.filter { m in runs.contains { $0.method == m } }
            + Set(runs.map(\.method)).subtracting(Report.methodOrder).sorted()
        for method in methods {
            let color = palette[method] ?? extra[extraIndex % extra.count]
            if palette[method] == nil { extraIndex += 1 }
            let series = runs.filter { $0.method == method }.sorted { $0.meanSearchForwardPasses < $1.meanSearchForwardPasses }
            let name = method == "oracle" ? "Oracle crop" : Report.displayName[method] ?? method
            if series.allSatisfy({ $0.meanSearchForwardPasses == 0 }) {
                // No search: a level to beat.
                for r in series {
                    chart.elements.append(.line(x1: left, y1: py(100 * r.accuracy), x2: right, y2: py(100 * r.accuracy), color: color, width: 1.5, dashed: true))
                    chart.elements.append(.text(x: right - 4, y: py(100 * r.accuracy) - 6, String(format: "%@ %.1f", name, 100 * r.accuracy), size: 12, color: color, anchor: .end))
                }
            } else {
                for (a, b) in zip(series, series.dropFirst()) {
                    chart.elements.append(.line(x1: px(a.meanSearchForwardPasses), y1: py(100 * a.accuracy),
                                                x2: px(b.meanSearchForwardPasses), y2: py(100 * b.accuracy), color: color, width: 2, dashed: false))
                }
                for r in series {
                    chart.elements.append(.circle(x: px(r.meanSearchForwardPasses), y: py(100 * r.accuracy), radius: 5, color: color))
                    if !r.setting.isEmpty {
                        chart.elements.append(.text(x: px(r.meanSearchForwardPasses) + 8, y: py(100 * r.accuracy) - 8,
                                                    shortLabel(r.setting), size: 11, color: color, anchor: .start))
                    }
                }
            }
            chart.elements.append(.line(x1: right + 30, y1: legendY, x2: right + 60, y2: legendY, color: color, width: 2,
                                        dashed: series.allSatisfy { $0.meanSearchForwardPasses == 0 }))
            chart.elements.append(.text(x: right + 70, y: legendY + 5, name, size: 14, color: ink, anchor: .start))
            legendY += 26
        }
        return chart
    }

    /// "Steps-8 (overrun)" → "S8", "Steps-2 (no-overrun)" → "S2 no-ov", "Depth-5 (4 crops)" → "D5/4".
    static func shortLabel(_ setting: String) -> String {
        var s = setting
        for (long, short) in [("Steps-", "S"), (" (overrun)", ""), (" (no-overrun)", " no-ov"), ("Depth-", "D"), (" crops)", ""), (" (", "/")] {
            s = s.replacingOccurrences(of: long, with: short)
        }
        return s
    }
}
