import ArgumentParser
import Benchmarks
import FocusCommandLine
import Foundation
import Methods
import Models
import Tensors

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a method (or a diagnostic probe) over a benchmark in this process.",
        discussion: """
            Writes RUN/results.jsonl (one record per question, flushed as it is scored), \
            RUN/summary.json and RUN/summary.md (accuracy by category, search forward passes, time).
            Methods: vanilla (the question on the full image), focus (FOCUS, options below), zoomeye (--depth, --split), vicrop (rel-att-high), oracle (on the ground-truth box enlarged \
            to the encoder's input: an upper bound, it reads the answer key). Probes: extraction (FOCUS \
            step 1 against the ground-truth targets), existence-on-crops (the verification prompt on the \
            oracle crop and on an empty crop of the same size), relevance-hit (FOCUS steps 2-3 with the \
            ground-truth targets: is the object inside one of the first --steps proposals of the map?).
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var methodArguments: MethodArguments

    @OptionGroup var benchmark: BenchmarkOptions

    @Option(name: .long, help: "Run directory for results.jsonl and the summaries.")
    var out: String

    @Flag(name: .long, help: "Continue a run whose results.jsonl exists, skipping finished questions.")
    var resume = false

    func run() throws {
        let questions = try benchmark.load(run: URL(fileURLWithPath: out)) {
            FileHandle.standardError.write(Data("focus eval: \($0)\n".utf8))
        }
        let llava = try model.load()
        let spec = try methodArguments.spec()
        let executor = LocalExecutor(model: llava, preprocessing: spec.padToSquare ? .padToSquare : .processor,
                                     prefixCacheBytes: model.prefixCacheBytes)
        executor.answerScheme = spec.answerScheme
        let probe = try spec.probe(decoderLayers: llava.config.text.numHiddenLayers)
        let evaluation = try EvaluationRun(directory: URL(fileURLWithPath: out), probe: probe, resume: resume)
        let clock = ContinuousClock(), start = clock.now
        let progressLine = ProgressLine()
        try evaluation.run(questions, executor: executor) { done, total, summary in
            let seconds = (clock.now - start).seconds
            let rate = Double(done) / max(seconds, 1e-9)
            let eta = Double(total - done) / max(rate, 1e-9)
            progressLine.update(String(format: "[%d/%d] accuracy %.1f%%  %.2f q/s  ETA %.0fs", done, total,
                                       100 * summary.overall.accuracy, rate, eta))
        }
        progressLine.finish()
        let summary = try evaluation.writeSummary()
        try EvalManifest(method: spec, benchmark: try benchmark.source.description, model: model.directory.path)
            .write(to: URL(fileURLWithPath: out))
        print(summary.markdown, terminator: "")
    }
}


/// `manifest.json` of a one-process run: what `focus report` needs to label it (the cluster's
/// manifest has the same `method` and `benchmark` keys, and more).
struct EvalManifest: Encodable {
    var method: MethodSpec
    var benchmark: String
    var model: String

    func write(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: directory.appendingPathComponent("manifest.json"))
    }
}
