import Foundation
import XCTest
import Models
@testable import Methods

/// FOCUS step 2 against `scripts/fixtures/make_relevance_fixtures.py`: a NumPy transcription of the
/// method's pseudocode run on the cache that transformers fills for tiny-llava-sp, with the target
/// positions found there from the fast tokenizer's character offsets.
final class RelevanceMapTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    struct Reference: Decodable {
        struct Variant: Decodable {
            var name: String
            var source: String
            var aggregation: String
            var layers: [Int]
            var map: [Float]
        }
        var prompt: String
        var phrase: String
        var image: String
        var layers: Int
        var default_layers: [Int]
        var input_ids: [Int]
        var target_positions: [Int]
        var visual_positions: [Int]
        var variants: [Variant]
        var last_token_only: [Float]
    }

    func testMapsEqualTheNumPyReferenceOnTransformersCache() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf:
            Self.fixtures.appendingPathComponent("references/relevance/tiny-llava-sp.json")))
        let model = try LlavaModel(directory: Self.fixtures.appendingPathComponent("models/tiny-llava-sp"))
        let image = try ImageDecoder.decode(contentsOf: Self.fixtures.appendingPathComponent(reference.image))
        let input = try model.input(prompt: reference.prompt, images: [image])
        XCTAssertEqual(input.tokens, reference.input_ids)
        let cache = model.makeCache(capacity: input.tokens.count)
        try model.prefill(input, cache: cache)

        let targets = try PhraseTokens.positions(of: reference.phrase, in: reference.prompt, model: model)
        XCTAssertEqual(targets, reference.target_positions)
        XCTAssertEqual(cache.imagePositions, reference.visual_positions)
        XCTAssertEqual(RelevanceOptions.defaultLayers(count: reference.layers),
                       reference.default_layers[0]..<reference.default_layers[1])

        for variant in reference.variants {
            let options = RelevanceOptions(
                source: try XCTUnwrap(RelevanceOptions.Source(rawValue: variant.source)),
                aggregation: try XCTUnwrap(RelevanceOptions.LayerAggregation(rawValue: variant.aggregation)),
                layers: variant.layers[0]..<variant.layers[1])
            let map = try RelevanceComputer.map(cache: cache, targetPositions: targets, visualPositions: cache.imagePositions,
                                                options: options, rope: model.rotaryEmbedding)
            XCTAssertEqual(map.rows * map.columns, variant.map.count)
            XCTAssertEqual(map.scores.reduce(0, +), 1, accuracy: 1e-5)
            assertClose(map.scores, variant.map, variant.name)
        }
        let single = try RelevanceComputer.map(cache: cache, targetPositions: [targets.last!], visualPositions: cache.imagePositions,
                                               options: RelevanceOptions(), rope: nil)
        assertClose(single.scores, reference.last_token_only, "last token only")
    }

    func testMapOfARandomCacheIsNotTheMapOfAnother() throws {
        // The comparison above must be able to fail: the maps of the two tokens differ.
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf:
            Self.fixtures.appendingPathComponent("references/relevance/tiny-llava-sp.json")))
        let both = reference.variants[0].map, last = reference.last_token_only
        XCTAssertGreaterThan(zip(both, last).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testBadInputsAreNamed() throws {
        let model = try LlavaModel(directory: Self.fixtures.appendingPathComponent("models/tiny-llava-sp"))
        XCTAssertThrowsError(try PhraseTokens.positions(of: "hexagon", in: "USER: Is there a star? ASSISTANT:", model: model)) {
            XCTAssertTrue("\($0)".contains("'hexagon' does not occur"), "\($0)")
        }
        let cache = model.makeCache()
        try model.prefill(try model.input(text: "USER: Is there a star? ASSISTANT:"), cache: cache)
        XCTAssertThrowsError(try RelevanceComputer.map(cache: cache, targetPositions: [3], visualPositions: [0, 1, 2],
                                                       options: RelevanceOptions())) {
            XCTAssertTrue("\($0)".contains("3 image tokens do not form a square grid"), "\($0)")
        }
        XCTAssertThrowsError(try RelevanceComputer.map(cache: cache, targetPositions: [3], visualPositions: [0, 1, 2, 4],
                                                       options: RelevanceOptions(layers: 0..<9))) {
            XCTAssertTrue("\($0)".contains("0..<9"), "\($0)")
        }
        XCTAssertThrowsError(try RelevanceComputer.map(cache: cache, targetPositions: [3], visualPositions: [0, 1, 2, 4],
                                                       options: RelevanceOptions(source: .keys))) {
            XCTAssertTrue("\($0)".contains("RoPE"), "\($0)")
        }
    }

    func assertClose(_ a: [Float], _ b: [Float], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, name, file: file, line: line)
        for (x, y) in zip(a, b) where abs(x - y) > 1e-6 + 1e-4 * abs(y) {
            XCTFail("\(name): \(x) vs reference \(y)", file: file, line: line)
            return
        }
    }
}
