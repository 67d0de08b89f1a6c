import Foundation
import Methods

/// Several runs merged into the FOCUS paper's Table 10 form: one row per method and setting, per
/// benchmark the overall accuracy with its sub-tasks and the mean search forward passes; then the
/// efficiency ratio at matched accuracy of FOCUS against each search baseline.
public struct Report: Sendable {
    public var runs: [ReportRun]

    public init(runs: [ReportRun]) {
        self.runs = runs
    }

    /// Benchmarks in the order their first run was given.
    public var benchmarks: [String] {
        var seen: [String] = []
        for r in runs where !seen.contains(r.benchmark) { seen.append(r.benchmark) }
        return seen
    }

    static let methodOrder = ["vanilla", "vicrop", "zoomeye", "focus", "oracle"]
    static let displayName = ["vanilla": "Vanilla", "vicrop": "ViCrop", "zoomeye": "ZoomEye", "focus": "FOCUS",
                              "oracle": "Oracle crop (upper bound)"]

    public struct Row: Sendable {
        public var method: String
        public var setting: String
        /// Per benchmark, the run of this row.
        public var runs: [String: ReportRun]
    }

    /// Rows by method (the paper's order), then by search FPs, ablations last.
    public var rows: [Row] {
        var byKey: [String: Row] = [:]
        var order: [String] = []
        for r in runs {
            let key = r.method + "\u{1F}" + r.setting
            if byKey[key] == nil { byKey[key] = Row(method: r.method, setting: r.setting, runs: [:]); order.append(key) }
            byKey[key]!.runs[r.benchmark] = r
        }
        func rank(_ m: String) -> Int { Self.methodOrder.firstIndex(of: m) ?? Self.methodOrder.count }
        func passes(_ row: Row) -> Double { row.runs.values.map(\.meanSearchForwardPasses).min() ?? 0 }
        // Ablations after the method's settings.
        func ablation(_ row: Row) -> Int { row.runs.values.contains { $0.spec?.isAblation ?? false } ? 1 : 0 }
        return order.map { byKey[$0]! }.sorted {
            (rank($0.method), $0.method, ablation($0), passes($0), $0.setting) < (rank($1.method), $1.method, ablation($1), passes($1), $1.setting)
        }
    }

    /// Categories of a benchmark, in name order.
    public func categories(of benchmark: String) -> [String] {
        Array(Set(runs.filter { $0.benchmark == benchmark }.flatMap { $0.summary.categories.keys })).sorted()
    }

    /// A method's operating points on a benchmark, ablations left out (they are not settings of the method).
    public func points(_ method: String, on benchmark: String) -> [OperatingPoint] {
        runs.filter { $0.method == method && $0.benchmark == benchmark && !($0.spec?.isAblation ?? false) }
            .map { OperatingPoint(label: $0.setting, searchForwardPasses: $0.meanSearchForwardPasses, accuracy: $0.accuracy) }
    }

    /// FOCUS against each search baseline present, per benchmark.
    public var efficiency: [(benchmark: String, baseline: String, result: EfficiencyRatio.Result)] {
        var out: [(String, String, EfficiencyRatio.Result)] = []
        for b in benchmarks {
            let focus = points("focus", on: b)
            for baseline in ["zoomeye", "vicrop"] {
                if let r = EfficiencyRatio.compare(method: focus, baseline: points(baseline, on: b)) { out.append((b, baseline, r)) }
            }
        }
        return out
    }

    static func pct(_ x: Double) -> String { String(format: "%.2f", 100 * x) }

    public var markdown: String {
        let benches = benchmarks
        var header = "| Method / setting |", rule = "|---|"
        for b in benches {
            header += " \(b) acc % (\(categories(of: b).joined(separator: " | "))) | FPs |"
            rule += "---|---:|"
        }
        var lines = ["# Accuracy and search forward passes", "",
                     "Accuracy: overall (per sub-task); HR-Bench averaged over its cycles. FPs: mean search forward passes per question (extraction and the final answer not counted, as in the paper).", "",
                     header, rule]
        var lastMethod = ""
        for row in rows {
            if row.method != lastMethod {
                lines.append("| **\(Self.displayName[row.method] ?? row.method)** |" + String(repeating: " | |", count: benches.count))
                lastMethod = row.method
            }
            var line = "| \(row.setting.isEmpty ? "-" : row.setting) |"
            for b in benches {
                guard let r = row.runs[b] else { line += " | |"; continue }
                let subs = categories(of: b).map { r.accuracy(category: $0).map(Self.pct) ?? "-" }.joined(separator: " \\| ")
                line += " \(Self.pct(r.accuracy)) (\(subs)) | \(String(format: "%.2f", r.meanSearchForwardPasses)) |"
            }
            lines.append(line)
        }
        let ratios = efficiency
        if !ratios.isEmpty {
            lines += ["", "## Efficiency at matched accuracy", "",
                      "Reference accuracy: the lower of the two methods' best; FPs to reach it by exact setting or linear interpolation; ratio = baseline FPs / FOCUS FPs (method document).", "",
                      "| benchmark | baseline | reference acc % | baseline FPs | FOCUS FPs | ratio |", "|---|---|---:|---:|---:|---:|"]
            for (b, baseline, r) in ratios {
                lines.append("| \(b) | \(Self.displayName[baseline] ?? baseline) | \(Self.pct(r.referenceAccuracy)) | "
                             + String(format: "%.2f | %.2f | %.2fx |", r.baselinePasses, r.methodPasses, r.ratio))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Long form, one line per run and group (each category, then "overall"): easy to load in pandas.
    public var csv: String {
        func field(_ s: String) -> String {
            s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = ["benchmark,method,setting,group,questions,accuracy,mean_search_forward_passes,mean_seconds,run"]
        for row in rows {
            for b in benchmarks {
                guard let r = row.runs[b] else { continue }
                var groups = categories(of: b).compactMap { c in r.summary.categories[c].map { (c, $0) } }
                groups.append(("overall", r.summary.overall))
                for (name, g) in groups {
                    let accuracy = name == "overall" ? r.accuracy : (r.accuracy(category: name) ?? g.accuracy)
                    let fps = g.questions == 0 ? 0 : Double(g.searchForwardPasses) / Double(g.questions)
                    let secs = g.questions == 0 ? 0 : g.seconds / Double(g.questions)
                    lines.append([field(b), row.method, field(row.setting), field(name), String(g.questions),
                                  String(format: "%.4f", accuracy), String(format: "%.3f", fps), String(format: "%.3f", secs),
                                  field(r.directory.path)].joined(separator: ","))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension MethodSpec {
    /// A FOCUS ablation (not one of its settings): no ranking, a random map, keys, the layer product
    /// or another layer range.
    public var isAblation: Bool {
        guard method == .focus, let o = focus else { return false }
        return !o.ranking || o.randomMap || o.relevance.source != .values || o.relevance.aggregation != .sum || o.relevance.layers != nil
    }
}
