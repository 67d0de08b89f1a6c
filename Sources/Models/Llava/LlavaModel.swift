import Foundation
import Tensors

/// Why a model call was refused: a prompt the model cannot take as given.
public struct ModelInputError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A prompt ready for the model: token ids with every `<image>` expanded to the image's tokens, and
/// the preprocessed images in the order of their markers.
public struct LlavaInput: Sendable {
    public var tokens: [Int]
    public var images: [PreprocessedImage]

    public init(tokens: [Int], images: [PreprocessedImage]) {
        self.tokens = tokens
        self.images = images
    }
}

/// A LLaVA-1.5 checkpoint in Hugging Face layout, loaded for CPU inference: CLIP vision tower →
/// projector → LLaMA-family decoder with a KV cache.
///
/// Immutable after loading; the mutable state of a conversation lives in a `KVCache`, so one model
/// serves many caches (one at a time per thread: the forward pass allocates its own scratch).
public final class LlavaModel: @unchecked Sendable {
    public let directory: URL
    public let config: LlavaConfig
    public let tokenizer: Tokenizer
    public let imageProcessor: ImageProcessor
    let vision: CLIPVisionTower
    let projector1: Linear, projector2: Linear
    let decoder: LlamaDecoder

    /// Checkpoint name prefixes of each part, in the layouts published llava-hf checkpoints and
    /// transformers 5 use; the first that holds the part's probe tensor wins.
    static let visionPrefixes = ["vision_tower.vision_model.", "model.vision_tower.vision_model.", "model.vision_tower.", "vision_tower."]
    static let projectorPrefixes = ["multi_modal_projector.", "model.multi_modal_projector."]
    static let textPrefixes = ["language_model.model.", "model.language_model.", "language_model.", "model."]
    static let lmHeadNames = ["language_model.lm_head.weight", "lm_head.weight", "model.lm_head.weight"]

    public init(directory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError(message: "model directory \(directory.path) does not exist")
        }
        self.directory = directory
        config = try LlavaConfig(directory: directory)
        tokenizer = try Tokenizer(directory: directory)
        imageProcessor = try ImageProcessor(directory: directory)
        let weights = try CheckpointWeights(directory: directory)

        func prefix(_ candidates: [String], probe: String, part: String) throws -> String {
            if let p = candidates.first(where: { weights.contains($0 + probe) }) { return p }
            throw CheckpointError(message: "\(directory.path): the checkpoint has no \(part) (looked for \(candidates.map { "'\($0)\(probe)'" }.joined(separator: ", ")))")
        }
        let c = config
        let visionPrefix = try prefix(Self.visionPrefixes, probe: "embeddings.class_embedding", part: "CLIP vision tower")
        vision = try CLIPVisionTower(config: c.vision, weights: weights, prefix: visionPrefix,
                                     layersNeeded: c.resolvedFeatureLayers.max() ?? 0)
        let projectorPrefix = try prefix(Self.projectorPrefixes, probe: "linear_1.weight", part: "multimodal projector")
        let visionWidth = c.vision.hiddenSize * c.visionFeatureLayers.count, textWidth = c.text.hiddenSize
        func linear(_ name: String, _ out: Int, _ inp: Int) throws -> Linear {
            Linear(weight: try weights.tensor(projectorPrefix + name + ".weight", shape: [out, inp]),
                   bias: c.projectorBias ? try weights.tensor(projectorPrefix + name + ".bias", shape: [out]) : nil)
        }
        projector1 = try linear("linear_1", textWidth, visionWidth)
        projector2 = try linear("linear_2", textWidth, textWidth)
        let textPrefix = try prefix(Self.textPrefixes, probe: "embed_tokens.weight", part: "language model")
        decoder = try LlamaDecoder(config: c.text, weights: weights, prefix: textPrefix, lmHeadNames: Self.lmHeadNames)

    }

    /// End-of-sequence ids: the config's, else the tokenizer's.
    public var eosTokenIDs: [Int] {
        if !config.eosTokenIDs.isEmpty { return config.eosTokenIDs }
        return tokenizer.eosTokenID.map { [$0] } ?? []
    }

    /// An empty cache shaped for this model's decoder.
    public func makeCache(capacity: Int = 256) -> KVCache {
        KVCache(layers: config.text.numHiddenLayers, kvHeads: config.text.numKeyValueHeads,
                headDim: config.text.headDim, capacity: capacity)
    }

    // MARK: - Inputs

    /// The decoder's rotary embedding (FOCUS's key-based ablation undoes it on cached keys).
    public var rotaryEmbedding: RotaryEmbedding {
        RotaryEmbedding(headDim: config.text.headDim, theta: config.text.ropeTheta, scaling: config.text.ropeScaling)
    }

    /// Tokenises `prompt` (with the tokenizer's special tokens, as LlavaProcessor does) and expands
    /// each `<image>` marker to the image's tokens. There must be exactly one marker per image.
    public func input(prompt: String, images: [RGBImage], preprocessing: ImagePreprocessing = .processor) throws -> LlavaInput {
        let tokens = try tokens(prompt: prompt, imageCount: images.count)
        return LlavaInput(tokens: tokens, images: images.map { imageProcessor.preprocess($0, mode: preprocessing) })
    }

    /// The token ids of `prompt` with each `<image>` marker expanded to the image's tokens, without
    /// decoding any image (a prefix cache decides from them whether the images are needed at all).
    public func tokens(prompt: String, imageCount: Int) throws -> [Int] {
        let ids = tokenizer.encode(prompt, addSpecialTokens: true)
        let markers = ids.filter { $0 == config.imageTokenID }.count
        let marker = tokenizer.token(forID: config.imageTokenID) ?? "<image>"
        guard markers == imageCount else {
            throw ModelInputError("the prompt has \(markers) \(marker) marker\(markers == 1 ? "" : "s") but \(imageCount) image\(imageCount == 1 ? " was" : "s were") given; put exactly one \(marker) where each image goes")
        }
        var tokens: [Int] = []
        tokens.reserveCapacity(ids.count + markers * config.imageTokenCount)
        for id in ids {
            if id == config.imageTokenID {
                tokens += repeatElement(id, count: config.imageTokenCount)
            } else {
                tokens.append(id)
            }
        }
        return tokens
    }

    /// A text-only input (no image markers allowed).
    public func input(text: String, addSpecialTokens: Bool = true) throws -> LlavaInput {
        let ids = tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
        if ids.contains(config.imageTokenID) {
            throw ModelInputError("the text contains an image marker but no image was given")
        }
        return LlavaInput(tokens: ids, images: [])
    }

    // MARK: - Forward passes

    /// The projected image features `[imageTokens, textHidden]` for one preprocessed image.
    public func imageFeatures(_ image: PreprocessedImage) -> Tensor {
        let c = config
        let states = image.pixelValues.withUnsafeBufferPointer { px in
            vision.hiddenStates(pixels: px.baseAddress!, at: c.resolvedFeatureLayers)
        }
        let skip = c.visionFeatureSelectStrategy == .default ? 1 : 0
        let rows = c.imageTokenCount, vh = c.vision.hiddenSize, layers = c.resolvedFeatureLayers
        let selected = Tensor(zeros: [rows, vh * layers.count])    // features of each layer side by side
        for (j, index) in layers.enumerated() {
            let s = states[index]!
            for r in 0..<rows {
                (selected.pointer + r * vh * layers.count + j * vh).update(from: s.pointer + (r + skip) * vh, count: vh)
            }
        }
        let hidden = projector1(selected)
        c.projectorHiddenAct.apply(hidden.pointer, count: hidden.count)
        return projector2(hidden)
    }

    /// Runs `input` after whatever `cache` already holds, appending to it, and returns the logits of
    /// the last position. `recordAttention` names decoder layers whose probabilities to keep.
    @discardableResult
    public func prefill(_ input: LlavaInput, cache: KVCache, recordAttention: Set<Int> = []) throws -> [Float] {
        let c = config, h = c.text.hiddenSize
        guard !input.tokens.isEmpty else { throw ModelInputError("the prompt is empty") }
        let total = cache.count + input.tokens.count
        guard total <= c.text.maxPositionEmbeddings else {
            throw ModelInputError("the prompt needs \(total) positions (each image takes \(c.imageTokenCount)) but the model's context is \(c.text.maxPositionEmbeddings) tokens")
        }
        if let bad = input.tokens.first(where: { $0 < 0 || $0 >= c.text.vocabSize }) {
            throw ModelInputError("token id \(bad) is outside the model's vocabulary of \(c.text.vocabSize)")
        }
        for image in input.images where image.width != c.vision.imageSize || image.height != c.vision.imageSize {
            throw ModelInputError("the image processor produced \(image.width)×\(image.height) pixels but the vision tower takes \(c.vision.imageSize)×\(c.vision.imageSize); check preprocessor_config.json")
        }
        let imageRows = input.tokens.filter { $0 == c.imageTokenID }.count
        guard imageRows == input.images.count * c.imageTokenCount else {
            throw ModelInputError("the input holds \(imageRows) image tokens but \(input.images.count) image(s) of \(c.imageTokenCount) tokens each")
        }
        let x = Tensor(zeros: [input.tokens.count, h])
        decoder.embed(input.tokens.map { $0 == c.imageTokenID ? 0 : $0 }, into: x.pointer)
        var imageRow = 0, features: Tensor? = nil
        for (i, t) in input.tokens.enumerated() where t == c.imageTokenID {
            let which = imageRow / c.imageTokenCount, within = imageRow % c.imageTokenCount
            if within == 0 { features = imageFeatures(input.images[which]) }
            (x.pointer + i * h).update(from: features!.pointer + within * h, count: h)
            imageRow += 1
        }
        let last = decoder.forward(x, cache: cache, recordAttention: recordAttention)
        cache.commit(tokens: input.tokens, imageTokenID: c.imageTokenID)
        return decoder.logits(last)
    }

    /// Greedy decoding: up to `maxNewTokens` tokens after `input`, stopping after an end-of-sequence
    /// token (which is included, as transformers' `generate` returns it).
    public func generate(_ input: LlavaInput, maxNewTokens: Int, cache: KVCache? = nil) throws -> [Int] {
        let cache = cache ?? makeCache(capacity: input.tokens.count + maxNewTokens)
        guard maxNewTokens > 0 else { return [] }
        var logits = try prefill(input, cache: cache)
        var generated: [Int] = []
        let eos = Set(eosTokenIDs)
        while true {
            let next = argmax(logits)
            generated.append(next)
            if eos.contains(next) || generated.count >= maxNewTokens { break }
            logits = try prefill(LlavaInput(tokens: [next], images: []), cache: cache)
        }
        return generated
    }

    /// Next-token logits of `candidates` after `input` (e.g. the ids of "Yes" and "No").
    public func candidateLogits(_ input: LlavaInput, candidates: [Int], cache: KVCache? = nil) throws -> [Float] {
        let logits = try prefill(input, cache: cache ?? makeCache(capacity: input.tokens.count))
        return candidates.map { logits[$0] }
    }
}

/// Index of the largest value (the first on ties, as `torch.argmax` returns).
public func argmax(_ values: [Float]) -> Int {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}
