import ArgumentParser
import Benchmarks
import Foundation
import Methods
import Models

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a method (or a diagnostic probe) over a benchmark in this process.",
        discussion: """
            Writes RUN/results.jsonl (one record per question, flushed as it is scored), \
            RUN/summary.json and RUN/summary.md (accuracy by category, search forward passes, time).
            Methods: vanilla (the question on the full image), focus (FOCUS, options below), zoomeye (--depth, --split), vicrop (rel-att-high), oracle (on the ground-truth box enlarged \
            to the encoder's input: an upper bound, it reads the answer key). Probes: extraction (FOCUS \
            step 1 against the ground-truth targets), existence-on-crops (the verification prompt on the \
            oracle crop and on an empty crop of the same size).
            """)

    enum MethodName: String, ExpressibleByArgument, CaseIterable {
        case vanilla, oracle, focus, zoomeye, vicrop, extraction
        case existenceOnCrops = "existence-on-crops"
    }

    @OptionGroup var model: ModelOptions
    @OptionGroup(title: "FOCUS") var focus: FocusArguments

    @Option(name: .long, help: "How answers are read: generated-letter (exact match of the generated text) or logit-matching (the option letter with the highest next-token logit).")
    var answerScheme: AnswerScheme = .generatedLetter

    @Option(name: .long, help: "ZoomEye: depth limit (root 0; default 5).")
    var depth = 5

    @Option(name: .long, help: "ZoomEye: children per split, 2 or 4 (default 4).")
    var split = 4

    @Option(name: .long, help: "Benchmark directory in V*Bench layout (test_questions.jsonl at its root).")
    var bench: String

    @Option(name: .long, help: "vanilla | oracle | focus | zoomeye | vicrop | extraction | existence-on-crops")
    var method: MethodName = .vanilla

    @Option(name: .long, help: "Run directory for results.jsonl and the summaries.")
    var out: String

    @Flag(name: .long, help: "Continue a run whose results.jsonl exists, skipping finished questions.")
    var resume = false

    @Option(name: .long, help: "Only the first N questions.")
    var limit: Int?

    @Option(name: .long, help: "Only questions of this category (repeatable).")
    var category: [String] = []

    @Option(name: .long, help: "Few-shot examples for target extraction.")
    var fewShot = "data/target-extraction/synthetic.json"

    @Flag(name: .long, help: "Resize and center-crop as the checkpoint's processor does instead of padding to a square (LLaVA-1.5's default, assumed by FOCUS).")
    var noPad = false

    func run() throws {
        var questions = try VStarBenchmark.load(directory: URL(fileURLWithPath: bench))
        if !category.isEmpty { questions = questions.filter { category.contains($0.category) } }
        if let limit { questions = Array(questions.prefix(limit)) }
        let llava = try model.load()
        let executor = LocalExecutor(model: llava, preprocessing: noPad ? .processor : .padToSquare)
        executor.answerScheme = answerScheme
        let probe: any EvaluationProbe
        switch method {
        case .vanilla: probe = MethodProbe(Vanilla())
        case .oracle: probe = MethodProbe(OracleCrop())
        case .focus:
            probe = MethodProbe(Methods.Focus(options: try focus.options(),
                                      extractor: try TargetExtractor(fewShotFile: URL(fileURLWithPath: fewShot))))
        case .zoomeye:
            guard depth >= 1, [2, 4].contains(split) else { throw ValidationError("--depth must be at least 1 and --split 2 or 4") }
            var o = ZoomEyeOptions()
            o.depthLimit = depth
            o.splitNum = split
            probe = MethodProbe(ZoomEye(options: o, extractor: try TargetExtractor(fewShotFile: URL(fileURLWithPath: fewShot))))
        case .vicrop:
            probe = MethodProbe(ViCrop(options: ViCropOptions(), layers: llava.config.text.numHiddenLayers))
        case .extraction: probe = TargetExtractionProbe(extractor: try TargetExtractor(fewShotFile: URL(fileURLWithPath: fewShot)))
        case .existenceOnCrops: probe = ExistenceOnCropsProbe()
        }
        let evaluation = try EvaluationRun(directory: URL(fileURLWithPath: out), probe: probe, resume: resume)
        let clock = ContinuousClock(), start = clock.now
        try evaluation.run(questions, executor: executor) { done, total, summary in
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let rate = Double(done) / max(seconds, 1e-9)
            let eta = Double(total - done) / max(rate, 1e-9)
            let line = String(format: "\r[%d/%d] accuracy %.1f%%  %.2f q/s  ETA %.0fs ", done, total,
                              100 * summary.overall.accuracy, rate, eta)
            FileHandle.standardError.write(Data(line.utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let summary = try evaluation.writeSummary()
        print(summary.markdown, terminator: "")
    }
}

extension AnswerScheme: ExpressibleByArgument {}
