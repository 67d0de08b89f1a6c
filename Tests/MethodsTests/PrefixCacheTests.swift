import Foundation
import XCTest
import Models
@testable import Methods

/// The executor's prefix cache: a prompt whose image prefix comes from the cache gives what a full
/// prefill gives (the full prefill is the path checked against transformers elsewhere), for every
/// kind of task; it is actually used; and it stays inside its byte budget.
final class PrefixCacheTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let image = fixtures.appendingPathComponent("references/tiny-llava-sp/wide.png")

    func model(_ name: String) throws -> LlavaModel {
        try LlavaModel(directory: Self.fixtures.appendingPathComponent("models/\(name)"))
    }

    /// Tasks about one crop, as a search asks them: each after the first finds the crop's prefix.
    func tasks(_ template: ChatTemplate, layers: Int) -> [ModelTask] {
        let view = ImageView(image: Self.image, crop: PixelBox(x: 3, y: 1, width: 13, height: 9))
        return [
            ModelTask(prompt: ExistenceOnCropsProbe.prompt(target: "star", template: template), views: [view],
                      operation: .candidates(["Yes", "No"]), bucket: .search),
            ModelTask(prompt: template.prompt(question: "What is the color of the star?"), views: [view],
                      operation: .generate(maxNewTokens: 6), bucket: .answer),
            ModelTask(prompt: template.prompt(question: "Is there a red star in the image?"), views: [view],
                      operation: .relevance(phrase: "red star", options: RelevanceOptions()), bucket: .search),
            ModelTask(prompt: template.prompt(question: "Where is the star?"), views: [view],
                      operation: .attention(layer: layers - 1), bucket: .search),
            ModelTask(prompt: ExistenceOnCropsProbe.prompt(target: "ring", template: template), views: [view],
                      operation: .candidates(["Yes", "No"]), bucket: .search),
        ]
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(1e-6, b.map(abs).max() ?? 0)
        for (x, y) in zip(a, b) where abs(x - y) > 1e-4 * scale {
            XCTFail("\(what): \(x) vs \(y) without the cache", file: file, line: line)
            return
        }
    }

    func testCachedPrefixGivesWhatAFullPrefillGives() throws {
        for name in ["tiny-llava-sp", "tiny-llava-qw"] {
            let m = try model(name)
            let cached = LocalExecutor(model: m, prefixCacheBytes: 64 << 20)
            let plain = LocalExecutor(model: m, prefixCacheBytes: 0)
            XCTAssertNil(plain.prefixCache)
            for (i, task) in tasks(cached.chatTemplate, layers: m.config.text.numHiddenLayers).enumerated() {
                let (got, cost) = try cached.run(task)
                let (want, plainCost) = try plain.run(task)
                XCTAssertEqual(plainCost.cachedTokens, 0)
                let imageEnd = try m.tokens(prompt: task.prompt, imageCount: 1).lastIndex(of: m.config.imageTokenID)! + 1
                XCTAssertEqual(cost.cachedTokens, i == 0 ? 0 : imageEnd, "\(name) task \(i): the prefix through the image's last token")
                XCTAssertEqual(cost.prefillTokens, plainCost.prefillTokens, "the ledger counts the whole prompt either way")
                XCTAssertEqual(cost.flops, plainCost.flops)
                switch (got, want) {
                case (.logits(let a), .logits(let b)):
                    assertClose(a, b, "\(name) task \(i) logits")
                case (.text(let a, let ia), .text(let b, let ib)):
                    XCTAssertEqual(ia, ib, "\(name) task \(i)")
                    XCTAssertEqual(a, b)
                case (.relevance(let a, let ga), .relevance(let b, let gb)):
                    XCTAssertEqual(ga, gb, "\(name) task \(i): the geometry is kept with the prefix")
                    XCTAssertEqual(a.rows, b.rows)
                    assertClose(a.scores, b.scores, "\(name) task \(i) map")
                default:
                    XCTFail("\(name) task \(i): \(got) vs \(want)")
                }
            }
            let stats = try XCTUnwrap(cached.prefixCache)
            XCTAssertEqual(stats.count, 1, "one view, one entry")
            XCTAssertEqual(stats.hits, 4)
            XCTAssertEqual(stats.misses, 1)
        }
    }

    func testAnotherViewOrTextOnlyPromptDoesNotHit() throws {
        let m = try model("tiny-llava-sp")
        let ex = LocalExecutor(model: m, prefixCacheBytes: 64 << 20)
        let template = ex.chatTemplate
        let prompt = ExistenceOnCropsProbe.prompt(target: "star", template: template)
        func run(_ views: [ImageView], _ prompt: String) throws -> Int {
            try ex.run(ModelTask(prompt: prompt, views: views, operation: .candidates(["Yes", "No"]), bucket: .search)).cost.cachedTokens
        }
        let a = ImageView(image: Self.image, crop: PixelBox(x: 0, y: 0, width: 8, height: 8))
        let b = ImageView(image: Self.image, crop: PixelBox(x: 8, y: 0, width: 8, height: 8))
        XCTAssertEqual(try run([a], prompt), 0)
        XCTAssertEqual(try run([b], prompt), 0, "another crop of the same image is another prefix")
        XCTAssertGreaterThan(try run([a], prompt), 0)
        XCTAssertEqual(try run([], "USER: Is there a star? ASSISTANT:"), 0, "a prompt without an image has nothing to reuse")
    }

    func testEntriesStayInsideTheBudgetLeastRecentlyUsedFirst() throws {
        let m = try model("tiny-llava-sp")
        let probe = LocalExecutor(model: m, prefixCacheBytes: 64 << 20)
        let prompt = ExistenceOnCropsProbe.prompt(target: "star", template: probe.chatTemplate)
        func view(_ x: Double) -> ImageView { ImageView(image: Self.image, crop: PixelBox(x: x, y: 0, width: 8, height: 8)) }
        func task(_ x: Double) -> ModelTask { ModelTask(prompt: prompt, views: [view(x)], operation: .candidates(["Yes"]), bucket: .search) }
        _ = try probe.run(task(0))
        let entry = try XCTUnwrap(probe.prefixCache).bytes
        XCTAssertGreaterThan(entry, 0)

        let ex = LocalExecutor(model: m, prefixCacheBytes: 2 * entry)
        let cache = try XCTUnwrap(ex.prefixCache)
        _ = try ex.run(task(0))
        _ = try ex.run(task(1))
        XCTAssertGreaterThan(try ex.run(task(0)).cost.cachedTokens, 0, "both fit")
        _ = try ex.run(task(2))                 // evicts view 1, the least recently used
        XCTAssertEqual(cache.count, 2)
        XCTAssertLessThanOrEqual(cache.bytes, cache.byteBudget)
        XCTAssertGreaterThan(try ex.run(task(0)).cost.cachedTokens, 0)
        XCTAssertEqual(try ex.run(task(1)).cost.cachedTokens, 0, "view 1 was evicted")

        let tiny = LocalExecutor(model: m, prefixCacheBytes: entry - 1)
        _ = try tiny.run(task(0))
        XCTAssertEqual(try tiny.run(task(0)).cost.cachedTokens, 0, "an entry over the whole budget is not kept")
        XCTAssertEqual(tiny.prefixCache?.bytes, 0)
    }

    func testEntryCountIsBoundedToo() throws {
        let m = try model("tiny-llava-sp")
        let cache = PrefixCache<Int>(byteBudget: 1 << 30, maxEntries: 3)
        for i in 0..<5 {
            let kv = m.makeCache(capacity: 4)
            XCTAssertTrue(cache.store(i, PrefixCache.Prefix(cache: kv, geometries: [])))
        }
        XCTAssertEqual(cache.count, 3)
        XCTAssertNil(cache.lookup(0))
        XCTAssertNil(cache.lookup(1))
        XCTAssertNotNil(cache.lookup(4))
        XCTAssertEqual(cache.bytes, 3 * m.makeCache(capacity: 4).byteCount)
    }

    /// Option likelihood against transformers (scripts/fixtures/make_likelihood_fixtures.py): the mean
    /// log-probability of each option's tokens after the prompt, with the prompt's prefix cached or not.
    func testOptionLikelihoodMatchesTransformers() throws {
        struct Reference: Decodable {
            var prompt: String
            var options: [String]
            var option_tokens: [[Int]]
            var mean_log_probabilities: [Float]
        }
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.fixtures
            .appendingPathComponent("references/tiny-llava-sp/option-likelihood.json")))
        let m = try model("tiny-llava-sp")
        for bytes in [0, 64 << 20] {
            let ex = LocalExecutor(model: m, preprocessing: .processor, prefixCacheBytes: bytes)
            XCTAssertEqual(try ref.options.map { try ex.continuationTokens(for: $0, after: ref.prompt) }, ref.option_tokens)
            for round in 0..<2 {
                let (output, cost) = try ex.run(ModelTask(prompt: ref.prompt, views: [ImageView(image: Self.image)],
                                                          operation: .continuations(ref.options), bucket: .answer))
                guard case .logits(let scores) = output else { return XCTFail("\(output)") }
                for (got, want) in zip(scores, ref.mean_log_probabilities) { XCTAssertEqual(got, want, accuracy: 2e-4) }
                XCTAssertEqual(cost.forwardPasses, ref.options.count)
                XCTAssertEqual(cost.cachedTokens > 0, bytes > 0 && round == 1)
            }
        }
    }
}
