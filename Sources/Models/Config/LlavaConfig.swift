import Foundation
import Tensors

/// How the vision tower's features are selected: `default` drops the CLS token, `full` keeps it.
public enum VisionFeatureSelectStrategy: String, Sendable, Codable {
    case `default`
    case full
}

/// The CLIP vision tower's shape (`vision_config`). Defaults are `CLIPVisionConfig`'s.
public struct CLIPVisionConfig: Sendable, Equatable {
    public var modelType = "clip_vision_model"
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var numChannels = 3
    public var imageSize = 224
    public var patchSize = 32
    public var hiddenAct = Activation.quickGELU
    public var layerNormEps: Float = 1e-5

    public var headDim: Int { hiddenSize / numAttentionHeads }
    public var patchesPerSide: Int { imageSize / patchSize }
    public var numPatches: Int { patchesPerSide * patchesPerSide }

    /// LLaVA's default when a config has no `vision_config`: CLIP ViT-L/14 at 336 px.
    public static let llavaDefault = CLIPVisionConfig(
        hiddenSize: 1024, intermediateSize: 4096, numHiddenLayers: 24, numAttentionHeads: 16,
        imageSize: 336, patchSize: 14)
}

/// The language model's shape (`text_config`). Defaults are `LlamaConfig`'s.
public struct TextConfig: Sendable, Equatable {
    public var modelType = "llama"
    public var vocabSize = 32000
    public var hiddenSize = 4096
    public var intermediateSize = 11008
    public var numHiddenLayers = 32
    public var numAttentionHeads = 32
    public var numKeyValueHeads = 32
    public var headDim = 128
    public var hiddenAct = Activation.silu
    public var maxPositionEmbeddings = 2048
    public var rmsNormEps: Float = 1e-6
    public var ropeTheta: Float = 10000
    public var ropeScaling = RopeScaling.none
    /// Bias on the q, k and v projections (Qwen2 has it; LLaMA has it only with `attention_bias`).
    public var qkvBias = false
    public var outputBias = false
    public var mlpBias = false
    public var tieWordEmbeddings = false
}

/// A LLaVA checkpoint's `config.json`: the fields that change the computation, with transformers'
/// defaults for every field a config may omit (published llava-hf configs omit most of them).
public struct LlavaConfig: Sendable, Equatable {
    public var vision = CLIPVisionConfig.llavaDefault
    public var text = TextConfig()
    public var imageTokenID = 32000
    /// Hidden-state indices of the vision tower to use (negative from the end); several are concatenated.
    public var visionFeatureLayers = [-2]
    public var visionFeatureSelectStrategy = VisionFeatureSelectStrategy.default
    public var imageSeqLength: Int?
    public var projectorHiddenAct = Activation.gelu
    public var projectorBias = true
    public var eosTokenIDs: [Int] = []
    public var padTokenID: Int?

    /// Image tokens one image expands to, as LlavaProcessor computes it.
    public var imageTokenCount: Int {
        vision.numPatches + (visionFeatureSelectStrategy == .full ? 1 : 0)
    }

    /// Vision hidden-state indices as non-negative indices into the `layers + 1` hidden states.
    public var resolvedFeatureLayers: [Int] {
        visionFeatureLayers.map { $0 < 0 ? vision.numHiddenLayers + 1 + $0 : $0 }
    }

    public init() {}

    /// Reads `config.json` in `directory` (and `generation_config.json` for EOS ids when present).
    public init(directory: URL) throws {
        let url = directory.appendingPathComponent("config.json")
        let raw = try decodeJSONFile(RawLlavaConfig.self, at: url)
        try self.init(raw: raw, file: url.path)
        let generation = directory.appendingPathComponent("generation_config.json")
        if FileManager.default.fileExists(atPath: generation.path),
           let g = try? decodeJSONFile(RawGenerationConfig.self, at: generation), let eos = g.eos_token_id {
            eosTokenIDs = eos.values
        }
    }
}

// MARK: - Raw JSON

/// Field names exactly as in config.json; every field optional so defaults are applied in one place.
struct RawLlavaConfig: Decodable {
    var model_type: String?
    var vision_config: RawVisionConfig?
    var text_config: RawTextConfig?
    var image_token_index: Int?
    var image_token_id: Int?
    var vision_feature_layer: IntOrList?
    var vision_feature_select_strategy: String?
    var image_seq_length: Int?
    var projector_hidden_act: String?
    var multimodal_projector_bias: Bool?
    var tie_word_embeddings: Bool?
    var eos_token_id: IntOrList?
    var pad_token_id: Int?
    var vocab_size: Int?
}

struct RawVisionConfig: Decodable {
    var model_type: String?
    var hidden_size: Int?
    var intermediate_size: Int?
    var num_hidden_layers: Int?
    var num_attention_heads: Int?
    var num_channels: Int?
    var image_size: Int?
    var patch_size: Int?
    var hidden_act: String?
    var layer_norm_eps: Float?
}

struct RawRopeParameters: Decodable {
    var rope_type: String?
    var type: String?
    var rope_theta: Float?
    var factor: Float?
    var low_freq_factor: Float?
    var high_freq_factor: Float?
    var original_max_position_embeddings: Int?
}

struct RawTextConfig: Decodable {
    var model_type: String?
    var vocab_size: Int?
    var hidden_size: Int?
    var intermediate_size: Int?
    var num_hidden_layers: Int?
    var num_attention_heads: Int?
    var num_key_value_heads: Int?
    var head_dim: Int?
    var hidden_act: String?
    var max_position_embeddings: Int?
    var rms_norm_eps: Float?
    var rope_theta: Float?
    var rope_scaling: RawRopeParameters?
    var rope_parameters: RawRopeParameters?
    var attention_bias: Bool?
    var mlp_bias: Bool?
    var tie_word_embeddings: Bool?
    var eos_token_id: IntOrList?
    var pad_token_id: Int?
}

struct RawGenerationConfig: Decodable {
    var eos_token_id: IntOrList?
}

// MARK: - Validation and defaults

extension LlavaConfig {
    init(raw: RawLlavaConfig, file: String) throws {
        func fail(_ message: String) -> CheckpointError { CheckpointError(message: "\(file): \(message)") }
        guard let modelType = raw.model_type else {
            throw fail("'model_type' is missing; focus runs LLaVA checkpoints (model_type 'llava')")
        }
        guard modelType == "llava" else {
            throw fail("model_type '\(modelType)' is not supported; focus runs LLaVA checkpoints (model_type 'llava')")
        }
        if let v = raw.vision_config { vision = try CLIPVisionConfig(raw: v, fail: fail) }
        text = try TextConfig(raw: raw.text_config, topLevelVocab: raw.vocab_size, fail: fail)
        if let tie = raw.text_config?.tie_word_embeddings ?? raw.tie_word_embeddings { text.tieWordEmbeddings = tie }
        imageTokenID = raw.image_token_id ?? raw.image_token_index ?? imageTokenID
        if let layers = raw.vision_feature_layer?.values {
            guard !layers.isEmpty else { throw fail("'vision_feature_layer' is an empty list") }
            visionFeatureLayers = layers
        }
        for (i, layer) in zip(visionFeatureLayers, resolvedFeatureLayers) where !(0...vision.numHiddenLayers).contains(layer) {
            throw fail("'vision_feature_layer' \(i) is outside the vision tower's \(vision.numHiddenLayers) layers")
        }
        if let s = raw.vision_feature_select_strategy {
            guard let strategy = VisionFeatureSelectStrategy(rawValue: s) else {
                throw fail("'vision_feature_select_strategy' '\(s)' is not 'default' or 'full'")
            }
            visionFeatureSelectStrategy = strategy
        }
        imageSeqLength = raw.image_seq_length
        if let act = raw.projector_hidden_act {
            guard let a = Activation(configName: act) else { throw fail("'projector_hidden_act' '\(act)' is not supported") }
            projectorHiddenAct = a
        }
        projectorBias = raw.multimodal_projector_bias ?? true
        // LlamaConfig's default end-of-sequence id is 2 (`</s>`); generation_config.json overrides it.
        let defaultEOS = ["llama", "mistral"].contains(text.modelType) ? [2] : []
        eosTokenIDs = (raw.text_config?.eos_token_id ?? raw.eos_token_id)?.values ?? defaultEOS
        padTokenID = raw.pad_token_id ?? raw.text_config?.pad_token_id
    }
}

extension CLIPVisionConfig {
    init(raw: RawVisionConfig, fail: (String) -> CheckpointError) throws {
        let type = raw.model_type ?? "clip_vision_model"
        guard type == "clip_vision_model" else {
            throw fail("vision_config.model_type '\(type)' is not supported; focus runs CLIP vision towers ('clip_vision_model')")
        }
        hiddenSize = raw.hidden_size ?? hiddenSize
        intermediateSize = raw.intermediate_size ?? intermediateSize
        numHiddenLayers = raw.num_hidden_layers ?? numHiddenLayers
        numAttentionHeads = raw.num_attention_heads ?? numAttentionHeads
        numChannels = raw.num_channels ?? numChannels
        imageSize = raw.image_size ?? imageSize
        patchSize = raw.patch_size ?? patchSize
        layerNormEps = raw.layer_norm_eps ?? layerNormEps
        if let act = raw.hidden_act {
            guard let a = Activation(configName: act) else { throw fail("vision_config.hidden_act '\(act)' is not supported") }
            hiddenAct = a
        }
        guard numChannels == 3 else { throw fail("vision_config.num_channels is \(numChannels); focus feeds RGB images (3)") }
        guard hiddenSize > 0, numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw fail("vision_config.hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        guard patchSize > 0, imageSize > 0, imageSize % patchSize == 0 else {
            throw fail("vision_config.image_size \(imageSize) is not a multiple of patch_size \(patchSize)")
        }
    }
}

extension TextConfig {
    init(raw: RawTextConfig?, topLevelVocab: Int?, fail: (String) -> CheckpointError) throws {
        let raw = raw ?? RawTextConfig()
        modelType = raw.model_type ?? "llama"
        switch modelType {
        case "llama", "mistral": break
        case "qwen2": qkvBias = true
        default:
            throw fail("text_config.model_type '\(modelType)' is not supported; focus runs LLaMA-family decoders ('llama', 'mistral', 'qwen2')")
        }
        vocabSize = raw.vocab_size ?? topLevelVocab ?? vocabSize
        hiddenSize = raw.hidden_size ?? hiddenSize
        intermediateSize = raw.intermediate_size ?? intermediateSize
        numHiddenLayers = raw.num_hidden_layers ?? numHiddenLayers
        numAttentionHeads = raw.num_attention_heads ?? numAttentionHeads
        numKeyValueHeads = raw.num_key_value_heads ?? numAttentionHeads
        guard numAttentionHeads > 0, numKeyValueHeads > 0, numAttentionHeads % numKeyValueHeads == 0 else {
            throw fail("text_config.num_attention_heads \(numAttentionHeads) is not a multiple of num_key_value_heads \(numKeyValueHeads)")
        }
        guard raw.head_dim != nil || hiddenSize % numAttentionHeads == 0 else {
            throw fail("text_config.hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads) and no head_dim is given")
        }
        headDim = raw.head_dim ?? hiddenSize / numAttentionHeads
        if let act = raw.hidden_act {
            guard let a = Activation(configName: act) else { throw fail("text_config.hidden_act '\(act)' is not supported") }
            hiddenAct = a
        }
        maxPositionEmbeddings = raw.max_position_embeddings ?? maxPositionEmbeddings
        rmsNormEps = raw.rms_norm_eps ?? rmsNormEps
        if let b = raw.attention_bias { qkvBias = b; outputBias = b }
        mlpBias = raw.mlp_bias ?? false
        tieWordEmbeddings = raw.tie_word_embeddings ?? false

        // transformers 5 writes `rope_parameters` (theta inside); earlier versions `rope_theta` + `rope_scaling`.
        let rope = raw.rope_parameters ?? raw.rope_scaling
        ropeTheta = raw.rope_parameters?.rope_theta ?? raw.rope_theta ?? ropeTheta
        if let rope {
            let kind = rope.rope_type ?? rope.type ?? "default"
            switch kind {
            case "default": ropeScaling = .none
            case "linear":
                guard let f = rope.factor else { throw fail("rope scaling 'linear' needs a 'factor'") }
                ropeScaling = .linear(factor: f)
            case "llama3":
                guard let f = rope.factor, let lo = rope.low_freq_factor, let hi = rope.high_freq_factor,
                      let original = rope.original_max_position_embeddings else {
                    throw fail("rope scaling 'llama3' needs factor, low_freq_factor, high_freq_factor and original_max_position_embeddings")
                }
                ropeScaling = .llama3(factor: f, lowFreqFactor: lo, highFreqFactor: hi, originalMaxPositions: original)
            default:
                throw fail("rope type '\(kind)' is not supported; focus implements 'default', 'linear' and 'llama3'")
            }
        }
        guard headDim % 2 == 0 else { throw fail("text_config.head_dim \(headDim) must be even for rotary embeddings") }
    }
}
