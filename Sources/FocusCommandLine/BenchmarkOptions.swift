import ArgumentParser
import Benchmarks
import Foundation
import Methods

/// Which benchmark a run answers, and which of its questions; shared by `focus eval` and `focus-coord run`.
public struct BenchmarkOptions: ParsableArguments {
    public init() {}

    @Option(name: .long, help: ArgumentHelp(
        "The benchmark: vstar:DIR, synth:DIR, hrbench:FILE.tsv, mmerw:FILE.json (or a bare DIR in V*Bench layout).",
        discussion: "HR-Bench's TSV is streamed and its images written once to --images (default FILE_images/ beside it); MME-RealWorld's Image paths are relative to --images (default: the JSON's folder)."))
    public var bench: String

    @Option(name: .long, help: "MME-RealWorld: the image root. HR-Bench: where to write the decoded images.")
    public var images: String?

    @Flag(name: .long, help: "Skip malformed records instead of stopping; every skip is logged and written to RUN/skipped.jsonl.")
    public var skipBad = false

    @Option(name: .long, help: "Only the first N questions.")
    public var limit: Int?

    @Option(name: .long, help: "Only questions of this category (repeatable).")
    public var category: [String] = []

    public var source: BenchmarkSource {
        get throws { try BenchmarkSource(parsing: bench, images: images) }
    }

    /// Loads the questions, logs what the loader found and each skipped record (also written to
    /// `run/skipped.jsonl`), then applies --category and --limit.
    public func load(run: URL, log: (String) -> Void) throws -> [Question] {
        let source = try self.source
        let loaded = try source.load(skipBad: skipBad)
        log("\(source): \(loaded.report)")
        if !loaded.skipped.isEmpty {
            for s in loaded.skipped { log("skipped \(s)") }
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let lines = try loaded.skipped.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: run.appendingPathComponent("skipped.jsonl"))
        }
        var questions = loaded.questions
        if !category.isEmpty {
            let known = Set(questions.map(\.category))
            if let unknown = category.first(where: { !known.contains($0) }) {
                throw ValidationError("--category \(unknown): the benchmark has \(known.sorted().joined(separator: ", "))")
            }
            questions = questions.filter { category.contains($0.category) }
        }
        if let limit { questions = Array(questions.prefix(limit)) }
        return questions
    }

    /// The file whose digest identifies the benchmark in a run's manifest.
    public var digestFile: URL {
        get throws {
            let s = try source
            switch s.format {
            case .vstar, .synth: return s.path.appendingPathComponent("test_questions.jsonl")
            case .hrbench, .mmerw: return s.path
            }
        }
    }
}
