import Foundation
import Tensors
import XCTest
@testable import Models

/// config.json → resolved fields, against what transformers' LlavaConfig resolves from the same file
/// (`scripts/fixtures/make_config_fixtures.py`): the published llava-1.5-7b-hf config (most fields
/// left to defaults), a transformers-5 style config, and one with no sub-configs at all.
final class LlavaConfigTests: XCTestCase {
    struct Expected: Decodable {
        struct Vision: Decodable {
            let hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, image_size, patch_size: Int
            let hidden_act: String
            let layer_norm_eps: Float
        }
        struct Text: Decodable {
            let model_type: String
            let vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads: Int
            let num_key_value_heads, head_dim, max_position_embeddings: Int
            let hidden_act: String
            let rms_norm_eps: Float
            let rope_theta: Float
            let rope_type: String
            let attention_bias, mlp_bias, tie_word_embeddings: Bool
            let eos_token_ids: [Int]
        }
        let image_token_id: Int
        let vision_feature_layers: [Int]
        let vision_feature_select_strategy: String
        let projector_hidden_act: String
        let projector_bias: Bool
        let vision: Vision
        let text: Text
    }

    func check(_ name: String) throws {
        let dir = Fixtures.url("configs/\(name)")
        let c = try LlavaConfig(directory: dir)
        let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: dir.appendingPathComponent("expected.json")))
        XCTAssertEqual(c.imageTokenID, e.image_token_id, name)
        XCTAssertEqual(c.visionFeatureLayers, e.vision_feature_layers, name)
        XCTAssertEqual(c.visionFeatureSelectStrategy.rawValue, e.vision_feature_select_strategy, name)
        XCTAssertEqual(c.projectorHiddenAct, Activation(configName: e.projector_hidden_act), name)
        XCTAssertEqual(c.projectorBias, e.projector_bias, name)
        let v = c.vision
        XCTAssertEqual([v.hiddenSize, v.intermediateSize, v.numHiddenLayers, v.numAttentionHeads, v.imageSize, v.patchSize],
                       [e.vision.hidden_size, e.vision.intermediate_size, e.vision.num_hidden_layers,
                        e.vision.num_attention_heads, e.vision.image_size, e.vision.patch_size], name)
        XCTAssertEqual(v.hiddenAct, Activation(configName: e.vision.hidden_act), name)
        XCTAssertEqual(v.layerNormEps, e.vision.layer_norm_eps, name)
        let t = c.text
        XCTAssertEqual(t.modelType, e.text.model_type)
        XCTAssertEqual([t.vocabSize, t.hiddenSize, t.intermediateSize, t.numHiddenLayers, t.numAttentionHeads,
                        t.numKeyValueHeads, t.headDim, t.maxPositionEmbeddings],
                       [e.text.vocab_size, e.text.hidden_size, e.text.intermediate_size, e.text.num_hidden_layers,
                        e.text.num_attention_heads, e.text.num_key_value_heads, e.text.head_dim,
                        e.text.max_position_embeddings], name)
        XCTAssertEqual(t.hiddenAct, Activation(configName: e.text.hidden_act), name)
        XCTAssertEqual(t.rmsNormEps, e.text.rms_norm_eps, name)
        XCTAssertEqual(t.ropeTheta, e.text.rope_theta, name)
        let ropeType: String
        switch t.ropeScaling {
        case .none: ropeType = "default"
        case .linear: ropeType = "linear"
        case .llama3: ropeType = "llama3"
        }
        XCTAssertEqual(ropeType, e.text.rope_type, name)
        XCTAssertEqual(t.qkvBias, e.text.attention_bias, name)
        XCTAssertEqual(t.mlpBias, e.text.mlp_bias, name)
        XCTAssertEqual(t.tieWordEmbeddings, e.text.tie_word_embeddings, name)
        XCTAssertEqual(c.eosTokenIDs, e.text.eos_token_ids, name)
    }

    func testPublishedLlava15Config() throws { try check("llava-1.5-7b-hf") }
    func testTransformers5StyleConfig() throws { try check("modern") }
    func testConfigWithoutSubConfigs() throws { try check("defaults") }

    func testLlava15ImageTokenCount() throws {
        let c = try LlavaConfig(directory: Fixtures.url("configs/llava-1.5-7b-hf"))
        XCTAssertEqual(c.imageTokenCount, 576)          // 24×24 patches, CLS dropped
        XCTAssertEqual(c.resolvedFeatureLayers, [23])   // hidden_states[-2] of 25
        let m = try LlavaConfig(directory: Fixtures.url("configs/modern"))
        XCTAssertEqual(m.imageTokenCount, 577)          // strategy full keeps CLS
        XCTAssertEqual(m.resolvedFeatureLayers, [23, 20])
    }

    func testBadConfigsNameTheField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("focus-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func expect(_ json: String, mentions fragments: [String]) {
            try? Data(json.utf8).write(to: dir.appendingPathComponent("config.json"))
            XCTAssertThrowsError(try LlavaConfig(directory: dir)) { error in
                let message = String(describing: error)
                for f in fragments { XCTAssertTrue(message.contains(f), "'\(f)' not in: \(message)") }
            }
        }
        expect(#"{"model_type": "qwen2_vl"}"#, mentions: ["config.json", "qwen2_vl"])
        expect(#"{}"#, mentions: ["model_type", "missing"])
        expect(#"{"model_type": "llava", "text_config": {"num_attention_heads": "many"}}"#, mentions: ["text_config.num_attention_heads"])
        expect(#"{"model_type": "llava", "text_config": {"num_attention_heads": 32, "num_key_value_heads": 5}}"#, mentions: ["num_key_value_heads"])
        expect(#"{"model_type": "llava", "vision_config": {"model_type": "siglip_vision_model"}}"#, mentions: ["siglip_vision_model"])
        expect(#"{"model_type": "llava", "vision_feature_layer": -40}"#, mentions: ["vision_feature_layer"])
        expect(#"{"model_type": "llava", "text_config": {"rope_parameters": {"rope_type": "yarn", "factor": 4}}}"#, mentions: ["yarn"])
        expect(#"{"model_type": "llava",,}"#, mentions: ["config.json", "JSON"])
    }
}
