import Foundation

// MARK: - Errors

/// A tokenizer file that focus cannot read, with a sentence naming the file and the field.
public struct TokenizerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    public init(message: String) { self.message = message }
}

/// A Hugging Face `tokenizer.json` BPE tokenizer that gives the ids of the Python `tokenizers`
/// library (and of `transformers`' `tokenizer(text)`), for SentencePiece-style (LLaMA, LLaVA-1.5)
/// and byte-level (GPT-2, Qwen2, Llama 3) vocabularies.
///
/// Encoding runs the stages of `tokenizers` in order, one file each:
///   added tokens (`AddedTokens.swift`) -> normalizer (`Normalizer.swift`, per stretch between added
///   tokens) -> pre-tokenizer (`PreTokenizer.swift`) -> BPE (`BPEModel.swift`) -> post-processor
///   (`PostProcessor.swift`, only with special tokens).
/// Decoding maps ids to token strings and runs the decoder (`TokenDecoder.swift`).
public final class Tokenizer: Sendable {
    private let model: BPEModel
    private let addedVocabulary: AddedVocabulary
    private let preTokenizer: (any PreTokenizer)?
    private let postProcessor: (any PostProcessor)?
    private let decoder: (any TokenDecoder)?

    public let bosTokenID: Int?
    public let eosTokenID: Int?
    /// The number of tokens including added ones (`len(tokenizer)` in Python).
    public let vocabularySize: Int

    // MARK: - Loading

    /// Reads `tokenizer.json` (required) and `tokenizer_config.json` (optional: the bos/eos token names
    /// and the special tokens it lists) from a checkpoint directory.
    public convenience init(directory: URL) throws {
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw TokenizerError(message: "\(tokenizerURL.path) does not exist; focus needs the Hugging Face "
                                 + "tokenizer.json of the checkpoint")
        }
        let tokenizerJSON = try Self.read(tokenizerURL)
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let configJSON = FileManager.default.fileExists(atPath: configURL.path) ? try Self.read(configURL) : nil
        try self.init(tokenizerJSON: tokenizerJSON, tokenizerConfigJSON: configJSON)
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError(message: "\(url.path) cannot be read: \(error.localizedDescription)")
        }
    }

    public init(tokenizerJSON: Data, tokenizerConfigJSON: Data?) throws {
        let root = try JSONField.parse(tokenizerJSON, file: "tokenizer.json")
        let config = try tokenizerConfigJSON.map { try JSONField.parse($0, file: "tokenizer_config.json") }

        let model = try BPEModel(field: try root.required("model"))
        self.model = model
        let normalizer = try root.optional("normalizer").map(makeNormalizer)
        preTokenizer = try root.optional("pre_tokenizer").map(makePreTokenizer)
        decoder = try root.optional("decoder").map(makeTokenDecoder)

        // Added tokens: those of tokenizer.json, then the special tokens that tokenizer_config.json
        // names but tokenizer.json lacks (transformers adds these when it loads the checkpoint).
        let fileTokens = try root.optional("added_tokens")?.array().map(AddedToken.init(field:)) ?? []
        let configTokens = try config.map(Self.configSpecialTokens) ?? []
        var seen = Set(fileTokens.map { ExactString($0.content) })
        let newTokens = configTokens.filter { seen.insert(ExactString($0.content)).inserted }
        let addedVocabulary = AddedVocabulary(
            batches: [fileTokens, newTokens],
            model: model, normalizer: normalizer)
        self.addedVocabulary = addedVocabulary

        let overlapping = addedVocabulary.ids.keys.filter { model.vocab[$0] != nil }.count
        vocabularySize = model.vocab.count + addedVocabulary.ids.count - overlapping

        let bos = try config.flatMap { try Self.tokenName($0.optional("bos_token")) }
        let eos = try config.flatMap { try Self.tokenName($0.optional("eos_token")) }
        let bosID = bos.flatMap { addedVocabulary.ids[ExactString($0)] ?? model.vocab[ExactString($0)] }
        let eosID = eos.flatMap { addedVocabulary.ids[ExactString($0)] ?? model.vocab[ExactString($0)] }
        bosTokenID = bosID
        eosTokenID = eosID

        // add_bos_token / add_eos_token are not applied: transformers drops them from the config when a
        // tokenizer.json exists, so tokenizer.json's post_processor alone decides the special tokens.
        postProcessor = try root.optional("post_processor").map(makePostProcessor)
    }

    /// A token named in tokenizer_config.json: a string, or an AddedToken object with `content`.
    private static func tokenName(_ field: JSONField?) throws -> String? {
        guard let field else { return nil }
        if field.isObject { return try field.required("content").string() }
        return try field.string()
    }

    /// The added tokens that tokenizer_config.json lists (`added_tokens_decoder`, then the named and
    /// extra special tokens), in the order transformers adds them.
    private static func configSpecialTokens(_ config: JSONField) throws -> [AddedToken] {
        var tokens: [AddedToken] = []
        if let decoder = config.optional("added_tokens_decoder") {
            let entries = try decoder.members().map { (id: Int($0.key) ?? Int.max, token: try AddedToken(field: $0.value)) }
            tokens += entries.sorted { $0.id < $1.id }.map(\.token)
        }
        var named: [JSONField] = []
        for key in ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"] {
            if let field = config.optional(key) { named.append(field) }
        }
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            guard let list = config.optional(key) else { continue }
            named += list.isObject ? try list.members().map(\.value) : try list.array()
        }
        for field in named {
            if field.isObject {
                var token = try AddedToken(field: field)
                token.special = true
                tokens.append(token)
            } else {
                tokens.append(AddedToken(content: try field.string(), special: true, normalized: false))
            }
        }
        return tokens
    }

    // MARK: - Encoding

    /// Equal to Python `tokenizer(text, add_special_tokens=addSpecialTokens)["input_ids"]`.
    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        for segment in addedVocabulary.extractAndNormalize(Array(text.unicodeScalars)) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let piece):
                if let preTokenizer {
                    for word in preTokenizer.preTokenize([piece]) { model.tokenize(word.scalars, into: &ids) }
                } else {
                    model.tokenize(piece.scalars, into: &ids)
                }
            }
        }
        if addSpecialTokens, let postProcessor { ids = postProcessor.process(ids) }
        return ids
    }

    // MARK: - Decoding

    /// Equal to Python `tokenizer.decode(ids, skip_special_tokens=skipSpecialTokens)`. Unknown ids
    /// are skipped, as in Python.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let token = token(forID: id) else { continue }
            if skipSpecialTokens && addedVocabulary.specialContents.contains(ExactString(token)) { continue }
            tokens.append(token)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    // MARK: - Vocabulary

    public func id(forToken token: String) -> Int? {
        let key = ExactString(token)
        return addedVocabulary.ids[key] ?? model.vocab[key]
    }

    public func token(forID id: Int) -> String? {
        addedVocabulary.token(forID: id) ?? model.tokens[id]
    }

}
