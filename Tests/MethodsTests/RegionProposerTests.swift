import Foundation
import XCTest
import Models
@testable import Methods

/// FOCUS step 3 on hand-made maps whose proposals are worked out by hand in the comments.
final class RegionProposerTests: XCTestCase {
    func map(_ side: Int, _ cells: [(Int, Int, Float)]) -> RelevanceMap {
        var scores = [Float](repeating: 0, count: side * side)
        for (r, c, v) in cells { scores[r * side + c] = v }
        return RelevanceMap(rows: side, columns: side, scores: scores)
    }

    func testAnchorsDistanceAndNMS() {
        // A peak of 1 at (5,5) with a ring of 0.8. Anchors: (5,5); every ring cell is closer than 2;
        // then the zeros in reading order: (0,0), (0,1) too close, (0,2) accepted: k = 3 reached.
        // (5,5) -> rows/cols 4..<7; growing to 5x5 averages (1 + 8 * 0.8) / 25 = 0.296 < 0.5: stays.
        // (0,0) -> clamped to (0,0). (0,2) -> (0,1), IoU with (0,0) = 6 / 12 = 0.5 > 0.3: suppressed.
        var cells: [(Int, Int, Float)] = [(5, 5, 1)]
        for dr in -1...1 { for dc in -1...1 where dr != 0 || dc != 0 { cells.append((5 + dr, 5 + dc, 0.8)) } }
        let proposals = RegionProposer.propose(map(10, cells), options: ProposalOptions(k: 3, sMin: 3, sMax: 5, sDist: 2))
        XCTAssertEqual(proposals.map(\.square), [CellSquare(row: 4, column: 4, side: 3), CellSquare(row: 0, column: 0, side: 3)])
        XCTAssertEqual(proposals.map(\.score), [1, 0])
        XCTAssertEqual(proposals.map(\.anchorRow), [5, 0])
        // Without suppression the third square comes back.
        let all = RegionProposer.propose(map(10, cells), options: ProposalOptions(k: 3, sMin: 3, sMax: 5, sDist: 2, nms: 1))
        XCTAssertEqual(all.map(\.square).last, CellSquare(row: 0, column: 1, side: 3))
    }

    func testGrowthStopsAtTheThresholdAndAtSMax() {
        // A 5x5 block of 0.9 around a 1 at (5,5): 3x3 mean 0.91, 5x5 mean 0.904 (grown), 7x7 mean
        // (1 + 24 * 0.9) / 49 = 0.46 (not grown even when s_max allows it).
        var cells: [(Int, Int, Float)] = []
        for r in 3...7 { for c in 3...7 { cells.append((r, c, r == 5 && c == 5 ? 1 : 0.9)) } }
        let m = map(12, cells)
        XCTAssertEqual(RegionProposer.propose(m, options: ProposalOptions(k: 1, sMin: 3, sMax: 5)).first?.square,
                       CellSquare(row: 3, column: 3, side: 5))
        XCTAssertEqual(RegionProposer.propose(m, options: ProposalOptions(k: 1, sMin: 3, sMax: 7)).first?.square,
                       CellSquare(row: 3, column: 3, side: 5))
        XCTAssertEqual(RegionProposer.propose(m, options: ProposalOptions(k: 1, sMin: 3, sMax: 4)).first?.square,
                       CellSquare(row: 4, column: 4, side: 3))
        // With a lower threshold the 7x7 square passes.
        XCTAssertEqual(RegionProposer.propose(m, options: ProposalOptions(k: 1, sMin: 3, sMax: 7, expandThreshold: 0.4)).first?.square,
                       CellSquare(row: 2, column: 2, side: 7))
    }

    func testSquaresStayInsideTheMap() {
        // A corner peak: the 3x3 square is shifted inside, and growth is clamped the same way.
        let p = RegionProposer.propose(map(10, [(0, 9, 1)]), options: ProposalOptions(k: 1, sMin: 3, sMax: 3))
        XCTAssertEqual(p.first?.square, CellSquare(row: 0, column: 7, side: 3))
        // A map smaller than s_min gives the whole map.
        let tiny = RegionProposer.propose(map(2, [(1, 1, 1)]), options: ProposalOptions(k: 1, sMin: 3, sMax: 5))
        XCTAssertEqual(tiny.first?.square, CellSquare(row: 0, column: 0, side: 2))
    }

    func testAFlatMapGivesReadingOrderAnchors() {
        let flat = RelevanceMap.uniform(rows: 4, columns: 4)
        let p = RegionProposer.propose(flat, options: ProposalOptions(k: 4, sMin: 1, sMax: 1, sDist: 2, nms: 1))
        XCTAssertEqual(p.map { [$0.anchorRow, $0.anchorColumn] }, [[0, 0], [0, 2], [2, 0], [2, 2]])
    }

    func testScaledOptionsAndLlavaDefaults() {
        XCTAssertEqual(ProposalOptions.llava15(steps: 2).k, 15)
        XCTAssertEqual(ProposalOptions.llava15(steps: 8).k, 30)
        XCTAssertEqual(ProposalOptions.llava15(steps: 8, vstarLike: false).sDist, 3)
        // The toy model on a 2048x1536 scene: 96-px input, 12 cells of 170.7 px: factor
        // (96 / 170.7) / (336 / 93.6) = 0.157, so s_min 3 -> 1 (at least one cell), s_max 5 -> 1,
        // raised to s_min + 2 = 3 so that a square can grow once; s_dist 1.
        let toy = ProposalOptions().scaled(toGrid: 12, cellPixels: 2048.0 / 12, inputSize: 96)
        XCTAssertEqual([toy.sMin, toy.sMax], [1, 3])
        XCTAssertEqual(toy.sDist, 1)
        // A 168-px encoder over 93.6-px cells: factor 0.5, s_min 1.5 -> 2, s_max 2.5 -> 3 (half away
        // from zero), raised to 4.
        let coarse = ProposalOptions().scaled(toGrid: 12, cellPixels: 93.6, inputSize: 168)
        XCTAssertEqual([coarse.sMin, coarse.sMax], [2, 4])
        // A finer encoder keeps the pixel rule where it already allows growth: factor 2, 6 -> 10.
        let fine = ProposalOptions().scaled(toGrid: 48, cellPixels: 93.6, inputSize: 672)
        XCTAssertEqual([fine.sMin, fine.sMax], [6, 10])
        XCTAssertEqual(coarse.sDist, 1)
        XCTAssertEqual(ProposalOptions().scaled(toGrid: 24, cellPixels: 160, inputSize: 336), ProposalOptions())
    }

    func testPixelBoxThroughPadToSquareAndResize() {
        // 2048x1536 padded to 2048x2048 (256 rows on top), resized to 96; a 12x12 grid cell is
        // 2048 / 12 = 170.67 original pixels.
        let g = ImageGeometry(originalWidth: 2048, originalHeight: 1536, padTop: 256, paddedWidth: 2048, paddedHeight: 2048,
                              resizedWidth: 96, resizedHeight: 96, inputWidth: 96, inputHeight: 96)
        let box = RegionProposer.pixelBox(CellSquare(row: 3, column: 2, side: 2), grid: (12, 12), geometry: g, minimumSide: 96)
        XCTAssertEqual(box.x, 2 * 2048 / 12, accuracy: 1e-9)
        XCTAssertEqual(box.y, 3 * 2048 / 12 - 256, accuracy: 1e-9)
        XCTAssertEqual(box.width, 2 * 2048 / 12, accuracy: 1e-9)
        XCTAssertEqual(box.height, 2 * 2048 / 12, accuracy: 1e-9)
        // The top-left cell lies in the padding: clipped to a 170.67 x 0 strip at y = 0; the height is
        // enlarged to 96 around y = 0 and shifted into the image; the width is already over 96.
        let corner = RegionProposer.pixelBox(CellSquare(row: 0, column: 0, side: 1), grid: (12, 12), geometry: g, minimumSide: 96)
        XCTAssertEqual(corner.x, 0)
        XCTAssertEqual(corner.y, 0)
        XCTAssertEqual(corner.width, 2048.0 / 12, accuracy: 1e-9)
        XCTAssertEqual(corner.height, 96)
    }
}
