import Foundation
import XCTest
import Models
@testable import Methods

/// FOCUS's control flow on a real (tiny, random) checkpoint: what it checks, what it books, what it
/// answers on. Accuracy is the toy model's business (scripts/toy/evaluate); here the rules are.
final class FocusTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let image = fixtures.appendingPathComponent("references/tiny-llava-sp/wide.png")

    func executor() throws -> LocalExecutor {
        LocalExecutor(model: try LlavaModel(directory: Self.fixtures.appendingPathComponent("models/tiny-llava-sp")))
    }

    func focus(_ configure: (inout FocusOptions) -> Void) -> Focus {
        var o = FocusOptions()
        o.proposals = ProposalOptions(k: 6, sMin: 1, sMax: 1, sDist: 1)
        configure(&o)
        return Focus(options: o, extractor: TargetExtractor(examples: []))
    }

    func testSearchChecksStepsThenOverrunsUntilAYes() throws {
        let ex = try executor()
        for steps in [1, 2, 3] {
            for overrun in [false, true] {
                var ledger = ComputeLedger()
                let t = try focus { $0.steps = steps; $0.overrun = overrun }.search("star", image: Self.image, executor: ex, ledger: &ledger)
                let checked = t.regions.filter { $0.confidence != nil }
                XCTAssertEqual(ledger.passes(.search), 1 + checked.count, "one map pass plus one per checked region")
                XCTAssertEqual(t.map.rows * t.map.columns, 16)
                if steps == 1 && !overrun {
                    XCTAssertTrue(checked.isEmpty, "one step without overrun spends no verification")
                    XCTAssertEqual(t.chosen, 0)
                    continue
                }
                // Regions are checked in proposal order, with no gaps.
                XCTAssertEqual(t.regions.prefix(checked.count).filter { $0.confidence != nil }.count, checked.count)
                let firstYes = checked.firstIndex { $0.confidence! > 0 }
                if overrun {
                    let expected = firstYes.map { max(steps, $0 + 1) } ?? t.regions.count
                    XCTAssertEqual(checked.count, min(expected, t.regions.count), "steps \(steps), overrun")
                } else {
                    XCTAssertEqual(checked.count, min(steps, t.regions.count))
                }
                let best = checked.map { $0.confidence! }.max()!
                XCTAssertEqual(t.regions[try XCTUnwrap(t.chosen)].confidence, best)
                for r in checked { XCTAssertTrue((-1...1).contains(r.confidence!)) }
            }
        }
    }

    func testNoRankingTakesTheTopProposal() throws {
        var ledger = ComputeLedger()
        let t = try focus { $0.ranking = false }.search("star", image: Self.image, executor: try executor(), ledger: &ledger)
        XCTAssertEqual(ledger.passes(.search), 1)
        XCTAssertEqual(t.chosen, 0)
    }

    func testLogitMatchingPicksTheLetterWithTheHighestLogit() throws {
        let ex = try executor()
        ex.answerScheme = .logitMatching
        let q = Question(id: "q", image: Self.image, text: "What is the color of the star?", options: ["red", "blue", "green"],
                         label: "A", category: "c")
        var ledger = ComputeLedger()
        let a = try Vanilla().answer(q, executor: ex, ledger: &ledger)
        XCTAssertEqual(a.scheme, .logitMatching)
        XCTAssertEqual(ledger.passes(.answer), 1)
        XCTAssertEqual(ledger.generatedTokens, 0)
        // The same prompt's candidate logits, asked directly: the chosen letter has the largest.
        let prompt = ex.chatTemplate.prompt(question: q.multipleChoicePrompt, image: true)
        let (out, _) = try ex.run(ModelTask(prompt: prompt, views: [ImageView(image: Self.image)], operation: .candidates(["A", "B", "C"]), bucket: .answer))
        guard case .logits(let l) = out else { return XCTFail("logits expected") }
        XCTAssertEqual(a.letter, ["A", "B", "C"][l.firstIndex(of: l.max()!)!])
    }

    func testConfidenceIsTwiceTheYesProbabilityMinusOne() {
        for (y, n) in [(Float(2), Float(-1)), (0.5, 0.5), (-3, 4)] {
            let p = exp(y) / (exp(y) + exp(n))
            XCTAssertEqual(Focus.confidence(yes: y, no: n), 2 * p - 1, accuracy: 1e-6)
        }
    }

    func testFinalViewRules() throws {
        let ex = try executor()
        let f = focus { $0.canvasDistance = 1200 }   // the method document's distance, as at a 336-px encoder
        let g = ImageGeometry(originalWidth: 3000, originalHeight: 2000, paddedWidth: 3000, paddedHeight: 2000,
                              resizedWidth: 28, resizedHeight: 28, inputWidth: 28, inputHeight: 28)
        func target(_ boxes: [PixelBox], _ confidences: [Float?], chosen: Int?) -> TargetEvidence {
            TargetEvidence(target: "t", map: .uniform(rows: 2, columns: 2), geometry: g,
                           regions: zip(boxes, confidences).map { .init(box: $0, anchorScore: 1, confidence: $1) }, chosen: chosen)
        }
        let a = PixelBox(x: 0, y: 0, width: 100, height: 100), b = PixelBox(x: 300, y: 0, width: 100, height: 100)
        let far = PixelBox(x: 2800, y: 1800, width: 100, height: 100)
        // One target: its chosen crop.
        XCTAssertEqual(try f.finalView(Self.image, evidence: [target([a, b], [0.2, 0.9], chosen: 1)], all: false, executor: ex).crop, b)
        // Two near targets: the union; two far ones (over 1200 px): a canvas.
        let near = try f.finalView(Self.image, evidence: [target([a], [0.5], chosen: 0), target([b], [0.5], chosen: 0)], all: false, executor: ex)
        XCTAssertEqual(near.crop, PixelBox(x: 0, y: 0, width: 400, height: 100))
        let apart = try f.finalView(Self.image, evidence: [target([a], [0.5], chosen: 0), target([far], [0.5], chosen: 0)], all: false, executor: ex)
        XCTAssertEqual(apart.canvas, [a, far])
        // By default the distance scales with the encoder: 1200 · 28 / 336 = 100 px, so a and b
        // (300 px apart) go on a canvas too.
        let scaled = try focus { _ in }.finalView(Self.image, evidence: [target([a], [0.5], chosen: 0), target([b], [0.5], chosen: 0)],
                                                  all: false, executor: ex)
        XCTAssertEqual(scaled.canvas, [a, b])
        // Type 2: the regions above 0.6, overlapping ones merged.
        let overlapping = PixelBox(x: 50, y: 50, width: 100, height: 100)
        let type2 = try f.finalView(Self.image, evidence: [target([a, overlapping, b, far], [0.7, 0.8, 0.5, 0.9], chosen: 3)], all: true, executor: ex)
        XCTAssertEqual(type2.canvas, [PixelBox(x: 0, y: 0, width: 150, height: 150), far])
        // No target found anything: the full image.
        XCTAssertNil(try f.finalView(Self.image, evidence: [target([], [], chosen: nil)], all: false, executor: ex).crop)
    }

    func testCanvasKeepsLeftRightAndTopBottomOrder() {
        let left = PixelBox(x: 0, y: 500, width: 50, height: 50), right = PixelBox(x: 900, y: 0, width: 50, height: 50)
        let row = Canvas.layout([right, left])
        XCTAssertEqual(row.columns, 2)
        XCTAssertEqual(row.rows, 1)
        XCTAssertEqual(row.cells.map(\.column), [1, 0])
        let top = PixelBox(x: 100, y: 0, width: 50, height: 50), bottom = PixelBox(x: 0, y: 900, width: 50, height: 50)
        let column = Canvas.layout([bottom, top])
        XCTAssertEqual([column.columns, column.rows], [1, 2])
        XCTAssertEqual(column.cells.map(\.row), [1, 0])
        let four = Canvas.layout([PixelBox(x: 900, y: 900, width: 1, height: 1), PixelBox(x: 0, y: 0, width: 1, height: 1),
                                  PixelBox(x: 900, y: 0, width: 1, height: 1), PixelBox(x: 0, y: 900, width: 1, height: 1)])
        XCTAssertEqual(four.cells.map { [$0.column, $0.row] }, [[1, 1], [0, 0], [1, 0], [0, 1]])
    }

    func testCanvasPixels() throws {
        // Two 10x20 regions of a red/blue image side by side in 28-px cells, centred, aspect kept.
        var image = RGBImage(width: 40, height: 20, fill: (255, 0, 0))
        image.paste(RGBImage(width: 20, height: 20, fill: (0, 0, 255)), x: 20, y: 0)
        let canvas = Canvas.compose([PixelBox(x: 30, y: 0, width: 10, height: 20), PixelBox(x: 0, y: 0, width: 10, height: 20)],
                                    from: image, cell: 28, background: (1, 2, 3))
        XCTAssertEqual([canvas.width, canvas.height], [56, 28])
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(canvas.pixels[(y * canvas.width + x) * 3..<(y * canvas.width + x) * 3 + 3]) }
        XCTAssertEqual(pixel(14, 14), [255, 0, 0])   // the left region (x 0) comes first
        XCTAssertEqual(pixel(42, 14), [0, 0, 255])
        XCTAssertEqual(pixel(1, 14), [1, 2, 3])       // 14 px wide, centred: background at the sides
    }
}
