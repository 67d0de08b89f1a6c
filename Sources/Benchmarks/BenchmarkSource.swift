import Foundation
import Methods

/// Which published benchmark format a file or folder is in; each has its own loader and scoring.
public enum BenchmarkFormat: String, Sendable, Codable, CaseIterable {
    /// V*Bench: `test_questions.jsonl` plus a JSON per image (`target_object`, `bbox`).
    case vstar
    /// focus's synthetic benchmark: V*Bench's layout with extra fields.
    case synth
    /// HR-Bench 4K/8K: one TSV with base64 images, four rows per question (the options cycled).
    case hrbench
    /// MME-RealWorld(-Lite): a JSON array of records, images under a root folder.
    case mmerw
}

/// A record a loader could not read, skipped under `--skip-bad`.
public struct SkippedRecord: Sendable, Codable, Equatable, CustomStringConvertible {
    /// Where it is: "hr_bench_4k.tsv line 17", "MME_RealWorld.json record 3 (Question_id …)".
    public var place: String
    public var reason: String
    public var description: String { "\(place): \(reason)" }
}

/// What a loader read.
public struct LoadedBenchmark: Sendable {
    public var format: BenchmarkFormat
    public var questions: [Question]
    public var skipped: [SkippedRecord]

    /// Questions per category, in name order: the loader's report of what it found.
    public var counts: [(category: String, questions: Int)] {
        Dictionary(grouping: questions, by: \.category).map { ($0.key, $0.value.count) }.sorted { $0.category < $1.category }
    }

    /// One line for the log: "800 questions (cross 400, single 400); 2 records skipped".
    public var report: String {
        let parts = counts.map { "\($0.category) \($0.questions)" }.joined(separator: ", ")
        var s = "\(questions.count) question\(questions.count == 1 ? "" : "s") (\(parts))"
        if !skipped.isEmpty { s += "; \(skipped.count) record\(skipped.count == 1 ? "" : "s") skipped" }
        return s
    }
}

/// A benchmark as named on the command line: `vstar:DIR`, `synth:DIR`, `hrbench:FILE.tsv`,
/// `mmerw:FILE.json` (with `--images DIR`), or a bare directory (V*Bench layout).
public struct BenchmarkSource: Sendable, CustomStringConvertible {
    public var format: BenchmarkFormat
    public var path: URL
    /// MME-RealWorld: the folder its `Image` paths are relative to (default: the JSON's folder).
    /// HR-Bench: where the decoded images are written (default: `FILE_images/` beside the TSV).
    public var images: URL?

    public init(format: BenchmarkFormat, path: URL, images: URL? = nil) {
        self.format = format
        self.path = path
        self.images = images
    }

    /// Parses `FORMAT:PATH` (or a bare path, read as V*Bench's layout).
    public init(parsing spec: String, images: String? = nil) throws {
        var format = BenchmarkFormat.vstar, path = spec
        if let colon = spec.firstIndex(of: ":"), let f = BenchmarkFormat(rawValue: String(spec[..<colon])) {
            format = f
            path = String(spec[spec.index(after: colon)...])
        } else if let colon = spec.firstIndex(of: ":"), !spec[..<colon].contains("/"), spec[..<colon].count > 1 {
            let known = BenchmarkFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw BenchmarkLoadError("--bench \(spec): unknown format '\(spec[..<colon])'; use one of \(known) (e.g. hrbench:hr_bench_4k.tsv)")
        }
        guard !path.isEmpty else { throw BenchmarkLoadError("--bench \(spec): no path after the format") }
        self.init(format: format, path: URL(fileURLWithPath: path), images: images.map { URL(fileURLWithPath: $0) })
    }

    public var description: String { "\(format.rawValue):\(path.path)" }

    /// Reads every question. A malformed record is an error naming its place and field, unless
    /// `skipBad`, which skips it and records why.
    public func load(skipBad: Bool = false) throws -> LoadedBenchmark {
        var skipped: [SkippedRecord] = []
        let questions: [Question]
        switch format {
        case .vstar, .synth:
            questions = try VStarBenchmark.load(directory: path, skipBad: skipBad, skipped: &skipped)
        case .hrbench:
            let folder = images ?? path.deletingPathExtension().deletingLastPathComponent()
                .appendingPathComponent(path.deletingPathExtension().lastPathComponent + "_images")
            questions = try HRBenchLoader(tsv: path, imageFolder: folder).load(skipBad: skipBad, skipped: &skipped)
        case .mmerw:
            questions = try MMERealWorldLoader(json: path, imageRoot: images ?? path.deletingLastPathComponent())
                .load(skipBad: skipBad, skipped: &skipped)
        }
        var seen: Set<String> = []
        for q in questions where !seen.insert(q.id).inserted {
            throw BenchmarkLoadError("\(self): question id '\(q.id)' occurs twice; results are keyed by it")
        }
        return LoadedBenchmark(format: format, questions: questions, skipped: skipped)
    }
}

public struct BenchmarkLoadError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Throws the record's error, or, when bad records are skipped, records it instead.
func skipOrThrow(_ place: String, _ reason: String, skipBad: Bool, skipped: inout [SkippedRecord]) throws {
    guard skipBad else { throw BenchmarkLoadError("\(place): \(reason)") }
    skipped.append(SkippedRecord(place: place, reason: reason))
}
