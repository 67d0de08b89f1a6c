import ArgumentParser
import FocusCommandLine
import Foundation
import Methods
import Models

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a text: {\"ids\": [...]}.")

    @Option(name: .long, help: "Checkpoint directory (only its tokenizer.json and tokenizer_config.json are read).")
    var model: String

    @Option(name: .long, help: "The text to tokenize.")
    var text: String

    @Flag(name: .long, help: "Add the tokenizer's special tokens (e.g. BOS), as tokenizer(text) does.")
    var special = false

    struct Output: Encodable { let ids: [Int] }

    func run() throws {
        let tokenizer = try Tokenizer(directory: URL(fileURLWithPath: model))
        try printJSON(Output(ids: tokenizer.encode(text, addSpecialTokens: special)))
    }
}

struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the next-token logits after an image and a prompt: {\"tokens\": N, \"last_logits\": [...]}.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var image: ImageOptions

    @Option(name: .long, help: "The prompt, with one literal <image> where the image goes.")
    var prompt: String

    struct Output: Encodable { let tokens: Int; let last_logits: [Float] }

    func run() throws {
        let picture = try image.load()
        let llava = try model.load()
        let input = try llava.input(prompt: prompt, images: [picture], preprocessing: image.preprocessing)
        let logits = try llava.prefill(input, cache: llava.makeCache(capacity: input.tokens.count))
        try printJSON(Output(tokens: input.tokens.count, last_logits: logits))
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Greedy generation after an image and a prompt: {\"ids\": [...], \"text\": \"...\"} (new tokens only).")

    @OptionGroup var model: ModelOptions
    @OptionGroup var image: ImageOptions

    @Option(name: .long, help: "The prompt, with one literal <image> where the image goes.")
    var prompt: String

    @Option(name: .long, help: "At most this many new tokens.")
    var maxNewTokens = 32

    struct Output: Encodable { let ids: [Int]; let text: String }

    func validate() throws {
        guard maxNewTokens >= 0 else { throw ValidationError("--max-new-tokens must be 0 or more") }
    }

    func run() throws {
        let picture = try image.load()
        let llava = try model.load()
        let input = try llava.input(prompt: prompt, images: [picture], preprocessing: image.preprocessing)
        let ids = try llava.generate(input, maxNewTokens: maxNewTokens)
        try printJSON(Output(ids: ids, text: llava.tokenizer.decode(ids, skipSpecialTokens: true)))
    }
}

struct Ask: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer a question about an image, in the checkpoint's chat format; prints the answer as text.",
        discussion: """
            Without --method: one greedy generation on the image (--pad-to-square picks the preprocessing).
            With --method vanilla|focus the question goes through that method (images padded to a square, \
            as LLaVA-1.5 and FOCUS assume), with --option for multiple choice; the answer is followed by \
            the compute ledger. --explain DIR (FOCUS) writes the relevance heatmaps, the checked regions, \
            the final view and explain.json.
            """)

    enum MethodName: String, ExpressibleByArgument, CaseIterable {
        case vanilla, focus, vicrop, zoomeye
    }

    @OptionGroup var model: ModelOptions
    @OptionGroup var image: ImageOptions

    @Option(name: .long, help: "The question.")
    var question: String

    @Option(name: .long, help: "At most this many new tokens.")
    var maxNewTokens = 64

    @Option(name: .long, help: "vanilla | focus | vicrop | zoomeye: answer through a method and print its ledger.")
    var method: MethodName?

    @Option(name: .long, help: "A multiple-choice option (repeat in order: A, B, …).")
    var option: [String] = []

    @Option(name: .long, help: "Few-shot examples for FOCUS's target extraction.")
    var fewShot = "data/target-extraction/synthetic.json"

    @Option(name: .long, help: "FOCUS: write the heatmaps, regions, final view and explain.json into this directory.")
    var explain: String?

    @OptionGroup(title: "FOCUS") var focus: FocusArguments

    func validate() throws {
        if method == nil && (!option.isEmpty || explain != nil) {
            throw ValidationError("--option and --explain need --method")
        }
        if explain != nil && method != .focus { throw ValidationError("--explain needs --method focus") }
    }

    func run() throws {
        let llava = try model.load()
        guard let method else {
            let picture = try image.load()
            let prompt = ChatTemplate(model: llava).prompt(question: question)
            let input = try llava.input(prompt: prompt, images: [picture], preprocessing: image.preprocessing)
            let ids = try llava.generate(input, maxNewTokens: maxNewTokens)
            print(llava.tokenizer.decode(ids, skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines))
            return
        }
        let executor = LocalExecutor(model: llava, prefixCacheBytes: model.prefixCacheBytes)
        let q = Question(id: "ask", image: URL(fileURLWithPath: image.image), text: question, options: option, label: nil,
                         category: "ask")
        var ledger = ComputeLedger()
        let answer: Answer
        var evidence: FocusEvidence?
        switch method {
        case .vanilla:
            answer = try Vanilla().answer(q, executor: executor, ledger: &ledger)
        case .focus:
            let f = Methods.Focus(options: try focus.options(), extractor: try TargetExtractor(fewShotFile: URL(fileURLWithPath: fewShot)))
            answer = try f.answer(q, executor: executor, ledger: &ledger, evidence: &evidence)
        case .vicrop:
            answer = try ViCrop(options: ViCropOptions(), layers: llava.config.text.numHiddenLayers).answer(q, executor: executor, ledger: &ledger)
        case .zoomeye:
            answer = try ZoomEye(options: ZoomEyeOptions(), extractor: try TargetExtractor(fewShotFile: URL(fileURLWithPath: fewShot)))
                .answer(q, executor: executor, ledger: &ledger)
        }
        print(answer.raw.trimmingCharacters(in: .whitespacesAndNewlines))
        if let targets = answer.targets { print("targets: \(targets.isEmpty ? "(none: answered on the full image)" : targets.joined(separator: ", "))") }
        if let view = answer.views.first {
            if let c = view.crop { print(String(format: "answered on: crop x %.0f y %.0f w %.0f h %.0f", c.x, c.y, c.width, c.height)) }
            else if let regions = view.canvas { print("answered on: a canvas of \(regions.count) regions") }
            else { print("answered on: the full image") }
        }
        print("forward passes: " + ComputeBucket.allCases.map { "\($0.rawValue) \(ledger.passes($0))" }.joined(separator: ", "))
        let seconds = ComputeBucket.allCases.map { String(format: "%@ %.3f s", $0.rawValue, ledger.seconds[$0] ?? 0) }
        print("prefill tokens \(ledger.prefillTokens) (\(ledger.cachedTokens) from the prefix cache), generated tokens \(ledger.generatedTokens), " +
              String(format: "%.3g GFLOP; ", ledger.flops / 1e9) + seconds.joined(separator: ", "))
        if let explain {
            let dir = URL(fileURLWithPath: explain)
            try Explanation.write(to: dir, question: q, answer: answer, evidence: evidence, ledger: ledger, executor: executor)
            print("explanation: \(dir.path)")
        }
    }
}
