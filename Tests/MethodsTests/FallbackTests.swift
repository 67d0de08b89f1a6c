import Foundation
import XCTest
import Models
@testable import Methods

/// The method document's fallbacks, end to end on real checkpoints: an image smaller than the
/// encoder input, a question with no parsable target, a target the model says is nowhere. No path
/// may crash; each falls back as documented and the answer (and so results.jsonl) says which.
final class FallbackTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let root = fixtures.deletingLastPathComponent().deletingLastPathComponent()

    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("focus-fallback-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A PNG of one colour, with a blue square in it unless `plain`, written for the test.
    func image(width: Int, height: Int, name: String, plain: Bool = false) throws -> URL {
        var img = RGBImage(width: width, height: height, fill: (r: 150, g: 140, b: 120))
        for y in plain ? 0..<0 : (height / 3)..<(height / 3 + max(1, height / 4)) {
            for x in (width / 3)..<(width / 3 + max(1, width / 4)) {
                let i = (y * width + x) * 3
                img.pixels[i] = 30; img.pixels[i + 1] = 40; img.pixels[i + 2] = 200
            }
        }
        let url = directory.appendingPathComponent(name)
        try ImageEncoder.png(img).write(to: url)
        return url
    }

    func fewShot() throws -> TargetExtractor {
        try TargetExtractor(fewShotFile: Self.root.appendingPathComponent("data/target-extraction/synthetic.json"))
    }

    func question(_ image: URL, _ text: String = "What is the color of the star?") -> Question {
        Question(id: "q", image: image, text: text, options: ["red", "blue", "green", "yellow"], label: "B",
                 category: "direct_attributes", targets: ["star"], boxes: [PixelBox(x: 2, y: 2, width: 4, height: 4)])
    }

    func inside(_ view: ImageView, width: Int, height: Int, file: StaticString = #filePath, line: UInt = #line) {
        for box in (view.crop.map { [$0] } ?? []) + (view.canvas ?? []) {
            XCTAssertGreaterThanOrEqual(box.x, 0, file: file, line: line)
            XCTAssertGreaterThanOrEqual(box.y, 0, file: file, line: line)
            XCTAssertLessThanOrEqual(box.x + box.width, Double(width) + 1e-9, file: file, line: line)
            XCTAssertLessThanOrEqual(box.y + box.height, Double(height) + 1e-9, file: file, line: line)
            XCTAssertGreaterThan(box.width, 0, file: file, line: line)
        }
    }

    /// 60×40 against the toy model's 96-px input: every method answers, and every view it looked at
    /// lies inside the image.
    func testEveryMethodAnswersOnAnImageSmallerThanTheEncoderInput() throws {
        let model = try LlavaModel(directory: Self.root.appendingPathComponent("models/focus-toy"))
        let executor = LocalExecutor(model: model)
        XCTAssertGreaterThan(executor.inputSize, 60)
        let url = try image(width: 60, height: 40, name: "small.png")
        let methods: [AnsweringMethod] = [
            Vanilla(), OracleCrop(), Focus(extractor: try fewShot()),
            ZoomEye(extractor: try fewShot()), ViCrop(layers: model.config.text.numHiddenLayers),
        ]
        for method in methods {
            var ledger = ComputeLedger()
            let a = try method.answer(question(url), executor: executor, ledger: &ledger)
            XCTAssertFalse(a.views.isEmpty, method.name)
            for v in a.views { inside(v, width: 60, height: 40) }
            XCTAssertEqual(ledger.passes(.answer), 1, method.name)
        }
        // FOCUS's proposals on it: every region is the whole image (enlarged to the input, clipped).
        var ledger = ComputeLedger()
        let t = try Focus(extractor: try fewShot()).search("star", image: url, executor: executor, ledger: &ledger)
        XCTAssertFalse(t.regions.isEmpty)
        for r in t.regions { XCTAssertEqual(r.box, PixelBox(x: 0, y: 0, width: 60, height: 40)) }
    }

    /// A random checkpoint writes no "So I need the information about …" line: FOCUS and ZoomEye
    /// spend no search pass, answer on the full image and record `no-target`.
    func testNoParsableTargetAnswersOnTheFullImage() throws {
        let executor = LocalExecutor(model: try LlavaModel(directory: Self.fixtures.appendingPathComponent("models/tiny-llava-sp")))
        let url = try image(width: 45, height: 31, name: "wide.png")
        let extractor = TargetExtractor(examples: [], maxNewTokens: 8)
        var probe = ComputeLedger()
        XCTAssertEqual(try extractor.extract(question(url).text, executor: executor, ledger: &probe).names, [],
                       "the premise: nothing parsable from this model")
        for method in [Focus(extractor: extractor) as AnsweringMethod, ZoomEye(extractor: extractor)] {
            var ledger = ComputeLedger()
            let a = try method.answer(question(url), executor: executor, ledger: &ledger)
            XCTAssertEqual(a.targets, [], method.name)
            XCTAssertEqual(a.views, [ImageView(image: url)], method.name)
            XCTAssertEqual(a.fallbacks?.first, "no-target", method.name)
            XCTAssertEqual(ledger.passes(.search), 0, method.name)
            XCTAssertEqual(ledger.passes(.extraction), 1, method.name)
        }
    }

    /// A plain image with no star: the toy model says No on every proposal, so FOCUS overruns through
    /// all of them, answers on the best-confidence one and records `nowhere:star`.
    func testTargetNowhereUsesTheBestCheckedRegion() throws {
        let executor = LocalExecutor(model: try LlavaModel(directory: Self.root.appendingPathComponent("models/focus-toy")))
        let url = try image(width: 640, height: 480, name: "plain.png", plain: true)
        var o = FocusOptions()
        o.steps = 2
        let focus = Focus(options: o, extractor: try fewShot())
        var ledger = ComputeLedger()
        var evidence: FocusEvidence?
        let a = try focus.answer(question(url), executor: executor, ledger: &ledger, evidence: &evidence)
        let t = try XCTUnwrap(evidence?.perTarget.first)
        XCTAssertEqual(evidence?.targets, ["star"], "the premise: the toy model names the target")
        let confidences = t.regions.compactMap(\.confidence)
        XCTAssertTrue(confidences.allSatisfy { $0 < 0 }, "the premise: no region says Yes (\(confidences))")
        XCTAssertEqual(confidences.count, t.regions.count, "overrun checks every proposal when none says Yes")
        let best = try XCTUnwrap(confidences.max())
        XCTAssertEqual(t.regions[try XCTUnwrap(t.chosen)].confidence, best)
        XCTAssertEqual(a.views, [ImageView(image: url, crop: t.regions[t.chosen!].box)])
        XCTAssertEqual(a.fallbacks, ["nowhere:star"])
        XCTAssertEqual(ledger.passes(.search), 1 + t.regions.count)
        // results.jsonl keeps every check, in order, with the one the answer used marked.
        let checks = try XCTUnwrap(a.checks)
        XCTAssertEqual(checks.map(\.box), t.regions.map(\.box))
        XCTAssertEqual(checks.map(\.confidence), confidences)
        XCTAssertEqual(checks.map(\.target), Array(repeating: "star", count: confidences.count))
        XCTAssertEqual(checks.indices.filter { checks[$0].chosen }, [t.chosen!])
        let record = QuestionRecord.records(for: question(url), probe: "focus", outcomes: [Outcome(answer: a, correct: false)],
                                            ledger: ledger, failure: nil)[0]
        let line = try JSONSerialization.jsonObject(with: JSONEncoder().encode(record)) as? [String: Any]
        XCTAssertEqual((line?["checks"] as? [Any])?.count, checks.count)
    }
}

/// The relevance-hit probe (FOCUS steps 2-3 against the answer key) on a real checkpoint.
final class RelevanceHitProbeTests: XCTestCase {
    func testRanksTheFirstProposalHoldingTheBoxCentre() throws {
        let executor = LocalExecutor(model: try LlavaModel(directory: FallbackTests.fixtures.appendingPathComponent("models/tiny-llava-sp")))
        let image = FallbackTests.fixtures.appendingPathComponent("references/tiny-llava-sp/wide.png")   // 45×31, input 28
        // Every proposal is enlarged to the 28-px input inside a 45×31 image, so each holds the centre.
        let q = Question(id: "q", image: image, text: "What is the color of the star?", options: ["red", "blue"], label: "A",
                         category: "direct_attributes", targets: ["star"], boxes: [PixelBox(x: 20, y: 13, width: 4, height: 4)])
        var o = FocusOptions()
        o.steps = 2
        var ledger = ComputeLedger()
        let outcomes = try RelevanceHitProbe(options: o).evaluate(q, executor: executor, ledger: &ledger)
        XCTAssertEqual(outcomes.count, 1)
        XCTAssertEqual(outcomes[0].idSuffix, "/star")
        XCTAssertTrue(outcomes[0].correct)
        XCTAssertTrue(outcomes[0].answer.raw.hasPrefix("rank 1 of "), outcomes[0].answer.raw)
        XCTAssertEqual(ledger.passes(.search), 1, "one map pass, no verification")
        // A type-2 question (one target, several boxes) is not a single object to find.
        var counting = q
        counting.boxes.append(PixelBox(x: 1, y: 1, width: 3, height: 3))
        XCTAssertTrue(try RelevanceHitProbe().evaluate(counting, executor: executor, ledger: &ledger).isEmpty)
    }
}
