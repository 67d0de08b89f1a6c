import Foundation
import XCTest
import Models
@testable import Methods

/// ViCrop's block split and adaptive box selection (baselines document A2), worked out by hand, and
/// its task sequence on a real tiny checkpoint.
final class ViCropTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func testBlocks() {
        let v = ViCrop(layers: 32)
        // 2048x1536: v = ceil(1536 / 1024) = 2, h = int(2 * 2048 / 1536) = 2: four 1024x768 blocks.
        let b = v.blocks(width: 2048, height: 1536)
        XCTAssertEqual([b.columns, b.rows], [2, 2])
        XCTAssertEqual(b.boxes[3], PixelBox(x: 1024, y: 768, width: 1024, height: 768))
        // A tall image: v = 3, h = int(3 * 1000 / 3000) = 1.
        let tall = v.blocks(width: 1000, height: 3000)
        XCTAssertEqual([tall.columns, tall.rows], [1, 3])
        // A wide one whose h would be 0 in the original: v = 1, h = max(1, int(1 * 1100 / 1000)) = 1.
        XCTAssertEqual(v.blocks(width: 1100, height: 1000).boxes.count, 1)
        XCTAssertEqual(v.blocks(width: 800, height: 600).boxes, [PixelBox(x: 0, y: 0, width: 800, height: 600)])
        XCTAssertEqual(ViCropOptions().attentionLayer(count: 32), 14)
        XCTAssertEqual(ViCropOptions().attentionLayer(count: 4), 2)
    }

    func testAdaptiveBox() {
        // A 10x10 map over 1000x1000 (100-px cells), ones at rows 6-7, columns 3-4. Ratio 1: 2x2
        // windows, the best at (x 3, y 6), sum 4, neighbours 2 each: difference 0.5; centre (400, 700),
        // a 200-px square. Ratio 2: 4x4 windows, first best at (1, 4), neighbours 2, 4, 2, 4:
        // difference 1/16, so ratio 1 wins.
        var map = [Float](repeating: 0, count: 100)
        for r in 6...7 { for c in 3...4 { map[r * 10 + c] = 1 } }
        let box = ViCrop.box(map: map, columns: 10, rows: 10, width: 1000, height: 1000, bboxSize: 200, ratios: [1, 2])
        XCTAssertEqual(box, PixelBox(x: 300, y: 600, width: 200, height: 200))
        // Only ratio 2: the window at (1, 4) centred at (300, 600), a 400-px square.
        XCTAssertEqual(ViCrop.box(map: map, columns: 10, rows: 10, width: 1000, height: 1000, bboxSize: 200, ratios: [2]),
                       PixelBox(x: 100, y: 400, width: 400, height: 400))
        // A crop as large as the image: the full image.
        XCTAssertNil(ViCrop.box(map: [1, 2, 3, 4], columns: 2, rows: 2, width: 300, height: 300, bboxSize: 336, ratios: [1, 2]))
    }

    func testRelAttSpendsTwoPassesPerBlockAndAnswersOnImageAndCrop() throws {
        let model = try LlavaModel(directory: Self.fixtures.appendingPathComponent("models/tiny-llava-sp"))
        let ex = RecordingExecutor(LocalExecutor(model: model))
        let image = Self.fixtures.appendingPathComponent("references/tiny-llava-sp/wide.png")
        var o = ViCropOptions()
        o.resolutionThreshold = 20   // the fixture is small: force the _high split
        let v = ViCrop(options: o, layers: model.config.text.numHiddenLayers)
        let size = try ex.imageSize(of: image)
        let blocks = v.blocks(width: size.width, height: size.height).boxes.count
        XCTAssertGreaterThan(blocks, 1)
        var ledger = ComputeLedger()
        let q = Question(id: "q", image: image, text: "What is the color of the star?", options: ["red", "blue"], label: "A", category: "c")
        let answer = try v.answer(q, executor: ex, ledger: &ledger)
        XCTAssertEqual(ledger.passes(.search), 2 * blocks)
        XCTAssertEqual(ledger.passes(.answer), 1)
        XCTAssertEqual(ex.prompts.filter { $0.contains(ViCrop.generalQuestion) }.count, blocks)
        if answer.views.count == 2 {
            XCTAssertNil(answer.views[0].crop)
            XCTAssertNotNil(answer.views[1].crop)
            XCTAssertTrue(ex.prompts.last!.contains("<image>\n<image>\n"))
        }
    }
}
