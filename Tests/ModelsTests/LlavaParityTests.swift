import Foundation
import Tensors
import XCTest
@testable import Models

/// The engine against transformers: the references were computed by `scripts/fixtures/make_model_fixtures.py`
/// with LlavaForConditionalGeneration in float32 on the same checkpoints.
final class LlavaParityTests: XCTestCase {
    struct Reference: Decodable {
        let model: String
        let kv_layer: Int
        let cases: [Case]
    }

    struct Case: Decodable {
        let prompt: String
        let image: String?
        let input_ids: [Int]
        let last_logits: [Float]
        let kv_shape: [Int]
        let values: [Float]
        let keys: [Float]
        let generated_ids: [Int]
        let generated_text: String
        let pixel_values: [Float]?
    }

    static let modelNames = ["tiny-llava-sp", "tiny-llava-bl", "tiny-llava-qw"]

    func load(_ name: String) throws -> (LlavaModel, Reference) {
        let model = try LlavaModel(directory: Fixtures.url("models/\(name)"))
        let data = try Data(contentsOf: Fixtures.url("references/\(name)/reference.json"))
        return (model, try JSONDecoder().decode(Reference.self, from: data))
    }

    func input(_ model: LlavaModel, _ c: Case, reference name: String) throws -> LlavaInput {
        if let file = c.image {
            let image = try ImageDecoder.decode(contentsOf: Fixtures.url("references/\(name)/\(file)"))
            return try model.input(prompt: c.prompt, images: [image])
        }
        return try model.input(text: c.prompt)
    }

    /// Largest |a - b| relative to the largest |b| (at least 1).
    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        let scale = max(1, b.map(abs).max() ?? 1)
        return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    func testInputIDsAndPixelsMatchLlavaProcessor() throws {
        for name in Self.modelNames {
            let (model, reference) = try load(name)
            for c in reference.cases {
                let x = try input(model, c, reference: name)
                XCTAssertEqual(x.tokens, c.input_ids, "\(name): \(c.prompt)")
                if let expected = c.pixel_values {
                    XCTAssertLessThan(relativeError(x.images[0].pixelValues, expected), 1e-5, "\(name): pixels")
                }
            }
        }
    }

    func testLastLogitsAndCacheMatchTransformers() throws {
        for name in Self.modelNames {
            let (model, reference) = try load(name)
            for c in reference.cases {
                let cache = model.makeCache()
                let logits = try model.prefill(try input(model, c, reference: name), cache: cache)
                XCTAssertLessThan(relativeError(logits, c.last_logits), 1e-4, "\(name) logits: \(c.prompt)")
                let values = cache.valueTensor(layer: reference.kv_layer)
                let keys = cache.keyTensor(layer: reference.kv_layer)
                XCTAssertEqual(values.shape, c.kv_shape, "\(name): cache shape")
                XCTAssertLessThan(relativeError(values.array, c.values), 1e-4, "\(name) values: \(c.prompt)")
                XCTAssertLessThan(relativeError(keys.array, c.keys), 1e-4, "\(name) keys: \(c.prompt)")
                XCTAssertEqual(cache.imagePositions.count, c.input_ids.filter { $0 == model.config.imageTokenID }.count)
            }
        }
    }

    func testGreedyGenerationMatchesTransformers() throws {
        for name in Self.modelNames {
            let (model, reference) = try load(name)
            for c in reference.cases {
                let ids = try model.generate(try input(model, c, reference: name), maxNewTokens: c.generated_ids.count)
                XCTAssertEqual(ids, c.generated_ids, "\(name): \(c.prompt)")
                XCTAssertEqual(model.tokenizer.decode(ids, skipSpecialTokens: true), c.generated_text)
            }
        }
    }

    /// A second prompt on a forked image prefix gives the same logits as a prefill from scratch.
    func testForkedPrefixMatchesFullPrefill() throws {
        let (model, reference) = try load("tiny-llava-sp")
        let c = reference.cases[0]
        let full = try input(model, c, reference: "tiny-llava-sp")
        let split = full.tokens.lastIndex(of: model.config.imageTokenID)! + 1
        let prefix = model.makeCache()
        try model.prefill(LlavaInput(tokens: Array(full.tokens[..<split]), images: full.images), cache: prefix)
        let fork = prefix.fork()
        let logits = try model.prefill(LlavaInput(tokens: Array(full.tokens[split...]), images: []), cache: fork)
        XCTAssertLessThan(relativeError(logits, c.last_logits), 1e-4)
        XCTAssertEqual(prefix.count, split, "forking must leave the prefix untouched")
    }

    func testAttentionIsRecordedOnlyWhenAsked() throws {
        let (model, reference) = try load("tiny-llava-sp")
        let c = reference.cases[0]
        let x = try input(model, c, reference: "tiny-llava-sp")
        let cache = model.makeCache()
        try model.prefill(x, cache: cache)
        XCTAssertTrue(cache.attention.isEmpty)
        let recorded = model.makeCache()
        try model.prefill(x, cache: recorded, recordAttention: [1])
        let p = try XCTUnwrap(recorded.attention[1])
        XCTAssertEqual(p.shape, [model.config.text.numAttentionHeads, x.tokens.count, x.tokens.count])
        // Each row is a probability distribution over visible (causal) keys.
        let n = x.tokens.count
        for row in [0, n / 2, n - 1] {
            let sum = (0..<n).reduce(Float(0)) { $0 + p.pointer[row * n + $1] }
            XCTAssertEqual(sum, 1, accuracy: 1e-4)
            if row + 1 < n { XCTAssertEqual(p.pointer[row * n + row + 1], 0) }
        }
    }
}
