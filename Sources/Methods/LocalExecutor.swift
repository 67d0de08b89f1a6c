import Foundation
import Models

/// Executes tasks on a model in this process, keeping the last decoded image so that several views
/// of one picture decode it once.
public final class LocalExecutor: TaskExecutor {
    public let model: LlavaModel
    public let preprocessing: ImagePreprocessing
    public let chatTemplate: ChatTemplate
    public var answerScheme: AnswerScheme = .generatedLetter
    private var lastImage: (url: URL, image: RGBImage)?

    /// `preprocessing` defaults to pad-to-square, as LLaVA-1.5 was trained and as FOCUS's geometry assumes.
    public init(model: LlavaModel, preprocessing: ImagePreprocessing = .padToSquare) {
        self.model = model
        self.preprocessing = preprocessing
        chatTemplate = ChatTemplate(model: model)
    }

    public var inputSize: Int { model.config.vision.imageSize }

    public func imageSize(of image: URL) throws -> (width: Int, height: Int) {
        let decoded = try decoded(image)
        return (decoded.width, decoded.height)
    }

    private func decoded(_ url: URL) throws -> RGBImage {
        if let last = lastImage, last.url == url { return last.image }
        let image = try ImageDecoder.decode(contentsOf: url)
        lastImage = (url, image)
        return image
    }

    /// The view's pixels: the decoded image, cropped when the view has a crop, or its regions pasted
    /// on a canvas.
    public func pixels(of view: ImageView) throws -> RGBImage {
        let image = try decoded(view.image)
        if let regions = view.canvas {
            return Canvas.compose(regions, from: image, cell: inputSize, background: model.imageProcessor.config.padColor)
        }
        guard let crop = view.crop else { return image }
        return image.cropped(to: crop)
    }

    public func run(_ task: ModelTask) throws -> (output: TaskOutput, cost: TaskCost) {
        let clock = ContinuousClock(), start = clock.now
        let images = try task.views.map(pixels(of:))
        let input = try model.input(prompt: task.prompt, images: images, preprocessing: preprocessing)
        var cost = TaskCost(bucket: task.bucket, forwardPasses: 1, prefillTokens: input.tokens.count,
                            generatedTokens: 0, flops: 0, seconds: 0)
        let output: TaskOutput
        switch task.operation {
        case .generate(let maxNewTokens):
            let ids = try model.generate(input, maxNewTokens: maxNewTokens)
            cost.generatedTokens = ids.count
            output = .text(model.tokenizer.decode(ids, skipSpecialTokens: true), ids: ids)
        case .candidates(let words):
            let ids = try words.map { try candidateTokenID(for: $0, after: task.prompt) }
            output = .logits(try model.candidateLogits(input, candidates: ids))
        case .relevance(let phrase, let options):
            guard input.images.count == 1 else {
                throw MethodError("a relevance task needs exactly one image, got \(input.images.count)")
            }
            let cache = model.makeCache(capacity: input.tokens.count)
            try model.prefill(input, cache: cache)
            let targets = try PhraseTokens.positions(of: phrase, in: task.prompt, model: model)
            let map = try RelevanceComputer.map(cache: cache, targetPositions: targets, visualPositions: cache.imagePositions,
                                                options: options, rope: model.rotaryEmbedding)
            output = .relevance(map, geometry: input.images[0].geometry)
        case .attention(let layer):
            guard input.images.count == 1 else {
                throw MethodError("an attention task needs exactly one image, got \(input.images.count)")
            }
            guard (0..<model.config.text.numHiddenLayers).contains(layer) else {
                throw MethodError("attention layer \(layer) is not one of the model's \(model.config.text.numHiddenLayers) decoder layers")
            }
            let cache = model.makeCache(capacity: input.tokens.count)
            try model.prefill(input, cache: cache, recordAttention: [layer])
            let probabilities = cache.attention[layer]!   // [heads, n, n]
            let heads = probabilities.shape[0], n = probabilities.shape[1], total = probabilities.shape[2]
            let visual = cache.imagePositions
            guard let (side, skip) = RelevanceMap.grid(imageTokens: visual.count) else {
                throw MethodError("\(visual.count) image tokens do not form a square grid")
            }
            var scores = [Float](repeating: 0, count: side * side)
            for h in 0..<heads {
                let row = probabilities.pointer + (h * n + n - 1) * total
                for (j, p) in visual.dropFirst(skip).enumerated() { scores[j] += row[p] / Float(heads) }
            }
            output = .relevance(RelevanceMap(rows: side, columns: side, scores: scores), geometry: input.images[0].geometry)
        }
        cost.flops = model.config.estimate(newTokens: input.tokens.count, images: images.count).total
        if cost.generatedTokens > 1 {
            // Each further generated token is one more decoder step over a growing cache.
            for step in 1..<cost.generatedTokens {
                cost.flops += model.config.estimate(newTokens: 1, images: 0, cached: input.tokens.count + step - 1).decoder
            }
        }
        cost.seconds = Self.seconds(clock.now - start)
        return (output, cost)
    }

    /// The first token the model would emit for `word` right after `prompt` (e.g. "▁Yes" after
    /// "ASSISTANT:"), found as the first token where prompt + answer prefix + word departs from `prompt`.
    public func candidateTokenID(for word: String, after prompt: String) throws -> Int {
        let tokenizer = model.tokenizer
        let base = tokenizer.encode(prompt, addSpecialTokens: true)
        let extended = tokenizer.encode(prompt + chatTemplate.answerPrefix + word, addSpecialTokens: true)
        var i = 0
        while i < base.count, i < extended.count, base[i] == extended[i] { i += 1 }
        guard i < extended.count else {
            throw ModelInputError("the word '\(word)' adds no token after the prompt")
        }
        return extended[i]
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
