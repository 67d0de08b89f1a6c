import Foundation
import Methods

/// One run folder as `focus report` reads it: its records (results.jsonl), the method spec and the
/// benchmark from its manifest.json (written by both `focus eval` and `focus-coord run`), and the
/// summary recomputed from the records.
public struct ReportRun: Sendable {
    public var directory: URL
    public var spec: MethodSpec?
    /// The benchmark as the run named it ("hrbench:/data/hr_bench_4k.tsv"), or the folder's name.
    public var benchmark: String
    public var summary: EvaluationSummary

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    private struct Manifest: Decodable {
        var method: MethodSpec?
        var benchmark: String?
    }

    public init(directory: URL) throws {
        self.directory = directory
        let results = directory.appendingPathComponent("results.jsonl")
        guard let text = try? String(contentsOf: results, encoding: .utf8) else {
            throw LoadError(description: "\(directory.path): no readable results.jsonl; is it a run folder?")
        }
        var records: [QuestionRecord] = []
        let lines = text.split(separator: "\n")
        for (n, line) in lines.enumerated() {
            do { records.append(try JSONDecoder().decode(QuestionRecord.self, from: Data(line.utf8))) } catch {
                // A torn last line is what an interrupted run leaves; anything else is damage.
                if n == lines.count - 1 && !text.hasSuffix("\n") { continue }
                throw LoadError(description: "\(results.path) line \(n + 1): not a result record (\(error))")
            }
        }
        guard !records.isEmpty else { throw LoadError(description: "\(results.path) holds no results") }
        var manifest: Manifest?
        let manifestURL = directory.appendingPathComponent("manifest.json")
        if let data = try? Data(contentsOf: manifestURL) {
            do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
                throw LoadError(description: "\(manifestURL.path): not a run manifest (\(error))")
            }
        }
        spec = manifest?.method
        benchmark = manifest?.benchmark ?? directory.deletingLastPathComponent().lastPathComponent
        summary = EvaluationSummary(method: records[0].method, records: records)
    }

    /// The method's name: the spec's, else the records'.
    public var method: String { spec?.method.rawValue ?? summary.method }

    /// The setting in the paper's words: "Steps-8 (overrun)", "Depth-5 (4 crops)", "rel-att-high".
    public var setting: String { spec?.setting ?? "" }

    /// The headline accuracy: HR-Bench's mean over cycles when the records have cycles, else the
    /// micro average over questions.
    public var accuracy: Double { summary.cycleAverage?["all"] ?? summary.overall.accuracy }

    /// Accuracy per category (HR-Bench: each averaged over cycles).
    public func accuracy(category: String) -> Double? {
        if let average = summary.cycleAverage { return average[category] }
        return summary.categories[category]?.accuracy
    }

    public var meanSearchForwardPasses: Double {
        summary.overall.questions == 0 ? 0 : Double(summary.overall.searchForwardPasses) / Double(summary.overall.questions)
    }

    public var meanSeconds: Double {
        summary.overall.questions == 0 ? 0 : summary.overall.seconds / Double(summary.overall.questions)
    }
}

extension MethodSpec {
    /// The setting in the paper's Table 10 words, with ablations and a non-default answer scheme.
    public var setting: String {
        var parts: [String] = []
        switch method {
        case .focus:
            let o = focus ?? FocusOptions()
            parts.append("Steps-\(o.steps) (\(o.overrun ? "overrun" : "no-overrun"))")
            if !o.ranking { parts.append("no ranking") }
            if o.randomMap { parts.append("random map") }
            if o.relevance.source == .keys { parts.append("keys") }
            if o.relevance.aggregation == .product { parts.append("layer product") }
            if let l = o.relevance.layers { parts.append("layers \(l.lowerBound)-\(l.upperBound)") }
        case .zoomeye:
            let o = zoomEye ?? ZoomEyeOptions()
            parts.append("Depth-\(o.depthLimit) (\(o.splitNum) crops)")
        case .vicrop:
            parts.append((viCrop ?? ViCropOptions()).high ? "rel-att-high" : "rel-att")
        default:
            break
        }
        if answerScheme != .generatedLetter { parts.append(answerScheme.rawValue) }
        return parts.joined(separator: ", ")
    }
}
