import ArgumentParser
import Foundation
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
        abstract: "Answer a question about an image, in the checkpoint's chat format; prints the answer as text.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var image: ImageOptions

    @Option(name: .long, help: "The question.")
    var question: String

    @Option(name: .long, help: "At most this many new tokens.")
    var maxNewTokens = 64

    func run() throws {
        let picture = try image.load()
        let llava = try model.load()
        let prompt = ChatTemplate(model: llava).prompt(question: question)
        let input = try llava.input(prompt: prompt, images: [picture], preprocessing: image.preprocessing)
        let ids = try llava.generate(input, maxNewTokens: maxNewTokens)
        print(llava.tokenizer.decode(ids, skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
