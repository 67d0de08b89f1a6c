import Foundation
import Models
import Tensors

/// Executes tasks on a model in this process, keeping the last decoded image so that several views
/// of one picture decode it once, and the KV caches of recent image prefixes so that several prompts
/// about one view encode it once.
public final class LocalExecutor: TaskExecutor {
    public let model: LlavaModel
    public let preprocessing: ImagePreprocessing
    public let chatTemplate: ChatTemplate
    public var answerScheme: AnswerScheme = .generatedLetter
    private var lastImage: (url: URL, image: RGBImage)?
    /// nil when prefix caching is off.
    public let prefixCache: PrefixCache<PrefixKey>?

    /// What identifies a cached prefix: the views its images show and its tokens, through the last
    /// image token.
    public struct PrefixKey: Hashable, Sendable {
        public var views: [ImageView]
        public var tokens: [Int]
    }

    /// 1 GiB: one entry of llava-1.5-7b (which is what consecutive prompts about one crop need); a
    /// small model's entries are bounded by `PrefixCache`'s entry count first.
    public static let defaultPrefixCacheBytes = 1 << 30

    /// `preprocessing` defaults to pad-to-square, as LLaVA-1.5 was trained and as FOCUS's geometry
    /// assumes. `prefixCacheBytes` bounds the prefix cache (0 turns it off).
    public init(model: LlavaModel, preprocessing: ImagePreprocessing = .padToSquare,
                prefixCacheBytes: Int = LocalExecutor.defaultPrefixCacheBytes) {
        self.model = model
        self.preprocessing = preprocessing
        chatTemplate = ChatTemplate(model: model)
        prefixCache = prefixCacheBytes > 0 ? PrefixCache(byteBudget: prefixCacheBytes) : nil
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

    /// The cache to run a task's prompt on and what is left of the prompt to feed it. With the prefix
    /// cache on and a prompt that goes on after its last image token, the prefix through that token
    /// comes from the cache (a copy of it, so the entry stays clean) or is computed and kept; the rest
    /// is the text after it. `room` is how many tokens the task adds after the prompt.
    private func start(_ task: ModelTask, tokens: [Int], room: Int)
        throws -> (cache: KVCache, rest: LlavaInput, geometries: [ImageGeometry], reused: Int)
    {
        func preprocessedViews() throws -> [PreprocessedImage] {
            try task.views.map { model.imageProcessor.preprocess(try pixels(of: $0), mode: preprocessing) }
        }
        guard let prefixCache, let last = tokens.lastIndex(of: model.config.imageTokenID), last + 1 < tokens.count else {
            let images = try preprocessedViews()
            return (model.makeCache(capacity: tokens.count + room), LlavaInput(tokens: tokens, images: images),
                    images.map(\.geometry), 0)
        }
        let split = last + 1
        let rest = LlavaInput(tokens: Array(tokens[split...]), images: [])
        let key = PrefixKey(views: task.views, tokens: Array(tokens[..<split]))
        if let hit = prefixCache.lookup(key) {
            return (hit.cache.fork(room: rest.tokens.count + room), rest, hit.geometries, split)
        }
        let images = try preprocessedViews()
        let cache = model.makeCache(capacity: tokens.count + room)
        try model.prefill(LlavaInput(tokens: key.tokens, images: images), cache: cache)
        let geometries = images.map(\.geometry)
        prefixCache.store(key, PrefixCache.Prefix(cache: cache.fork(room: 0), geometries: geometries))
        return (cache, rest, geometries, 0)
    }

    public func run(_ task: ModelTask) throws -> (output: TaskOutput, cost: TaskCost) {
        let clock = ContinuousClock(), start = clock.now
        let tokens = try model.tokens(prompt: task.prompt, imageCount: task.views.count)
        var room = 0
        var continuations: [[Int]] = []
        if case .generate(let maxNewTokens) = task.operation { room = maxNewTokens }
        if case .continuations(let texts) = task.operation {
            continuations = try texts.map { try continuationTokens(for: $0, after: task.prompt) }
            room = continuations.map(\.count).max() ?? 0
        }
        if case .relevance = task.operation, task.views.count != 1 {
            throw MethodError("a relevance task needs exactly one image, got \(task.views.count)")
        }
        if case .attention(let layer) = task.operation {
            guard task.views.count == 1 else {
                throw MethodError("an attention task needs exactly one image, got \(task.views.count)")
            }
            guard (0..<model.config.text.numHiddenLayers).contains(layer) else {
                throw MethodError("attention layer \(layer) is not one of the model's \(model.config.text.numHiddenLayers) decoder layers")
            }
        }
        let (cache, rest, geometries, reused) = try self.start(task, tokens: tokens, room: room)
        var cost = TaskCost(bucket: task.bucket, forwardPasses: 1, prefillTokens: tokens.count,
                            generatedTokens: 0, flops: 0, seconds: 0, cachedTokens: reused)
        let output: TaskOutput
        switch task.operation {
        case .generate(let maxNewTokens):
            let ids = try model.generate(rest, maxNewTokens: maxNewTokens, cache: cache)
            cost.generatedTokens = ids.count
            output = .text(model.tokenizer.decode(ids, skipSpecialTokens: true), ids: ids)
        case .candidates(let words):
            let ids = try words.map { try candidateTokenID(for: $0, after: task.prompt) }
            output = .logits(try model.candidateLogits(rest, candidates: ids, cache: cache))
        case .relevance(let phrase, let options):
            try model.prefill(rest, cache: cache)
            let targets = try PhraseTokens.positions(of: phrase, in: task.prompt, model: model)
            let map = try RelevanceComputer.map(cache: cache, targetPositions: targets, visualPositions: cache.imagePositions,
                                                options: options, rope: model.rotaryEmbedding)
            output = .relevance(map, geometry: geometries[0])
        case .continuations:
            // The prompt once; each text's tokens one at a time after it, the cache cut back between texts.
            let afterPrompt = try model.prefill(rest, cache: cache)
            let promptLength = cache.count
            var scores: [Float] = []
            for ids in continuations {
                var logits = afterPrompt, total: Double = 0
                for (i, id) in ids.enumerated() {
                    total += logSoftmax(logits, at: id)
                    if i + 1 < ids.count { logits = try model.prefill(LlavaInput(tokens: [id], images: []), cache: cache) }
                }
                cache.truncate(to: promptLength)
                scores.append(Float(total / Double(ids.count)))
            }
            cost.forwardPasses = continuations.count
            cost.prefillTokens += continuations.reduce(0) { $0 + $1.count }
            output = .logits(scores)
        case .attention(let layer):
            try model.prefill(rest, cache: cache, recordAttention: [layer])
            // [heads, new tokens, all tokens]: the last row is the prompt's last token either way.
            let probabilities = cache.attention[layer]!
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
            output = .relevance(RelevanceMap(rows: side, columns: side, scores: scores), geometry: geometries[0])
        }
        // The method's compute, as if nothing were cached (comparable between runs and with the
        // paper); `cachedTokens` says how much of the prefill the cache saved.
        cost.flops = model.config.estimate(newTokens: tokens.count, images: task.views.count).total
        // Each further generated or scored token is one more decoder step over a growing cache.
        for steps in [cost.generatedTokens] + continuations.map(\.count) where steps > 1 {
            for step in 1..<steps {
                cost.flops += model.config.estimate(newTokens: 1, images: 0, cached: tokens.count + step - 1).decoder
            }
        }
        cost.seconds = (clock.now - start).seconds
        return (output, cost)
    }

    /// The tokens `text` adds after `prompt` when it is the answer (prompt + answer prefix + text,
    /// less the prompt's tokens). The prompt's own tokens must stay as they are: a text that merges
    /// with the prompt's last token cannot be scored after a cached prompt.
    public func continuationTokens(for text: String, after prompt: String) throws -> [Int] {
        let (base, extended) = answered(prompt, with: text)
        guard extended.count > base.count, Array(extended.prefix(base.count)) == base else {
            throw ModelInputError("the option '\(text)' changes the tokens of the prompt before it, or adds none")
        }
        return Array(extended.dropFirst(base.count))
    }

    /// The tokens of `prompt`, and of `prompt` answered with `answer` in the chat format.
    private func answered(_ prompt: String, with answer: String) -> (prompt: [Int], answered: [Int]) {
        (model.tokenizer.encode(prompt, addSpecialTokens: true),
         model.tokenizer.encode(prompt + chatTemplate.answerPrefix + answer, addSpecialTokens: true))
    }

    /// log softmax(logits)[index], in Double for the sum over the vocabulary.
    func logSoftmax(_ logits: [Float], at index: Int) -> Double {
        let m = Double(logits.max() ?? 0)
        var sum = 0.0
        for x in logits { sum += exp(Double(x) - m) }
        return Double(logits[index]) - m - log(sum)
    }

    /// The first token the model would emit for `word` right after `prompt` (e.g. "▁Yes" after
    /// "ASSISTANT:"), found as the first token where prompt + answer prefix + word departs from `prompt`.
    public func candidateTokenID(for word: String, after prompt: String) throws -> Int {
        let (base, extended) = answered(prompt, with: word)
        var i = 0
        while i < base.count, i < extended.count, base[i] == extended[i] { i += 1 }
        guard i < extended.count else {
            throw ModelInputError("the word '\(word)' adds no token after the prompt")
        }
        return extended[i]
    }
}
