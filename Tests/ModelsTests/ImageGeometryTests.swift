import Foundation
import XCTest

@testable import Models

final class ImageGeometryTests: XCTestCase {
    private func assertClose(_ a: (Double, Double), _ b: (Double, Double), _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.0, b.0, accuracy: 1e-9, what, file: file, line: line)
        XCTAssertEqual(a.1, b.1, accuracy: 1e-9, what, file: file, line: line)
    }

    /// 640x480 through LLaVA's processor: resize to 448x336, crop 336x336 at x = (448 - 336) // 2 = 56.
    /// A model-input point (x, y) is original ((x + 56) * 640 / 448, y * 480 / 336).
    func testProcessorModeByHand() {
        let out = ImageProcessor(config: .llava336).preprocess(RGBImage(width: 640, height: 480, fill: (9, 9, 9)),
                                                                mode: .processor)
        let g = out.geometry
        XCTAssertEqual(g, ImageGeometry(originalWidth: 640, originalHeight: 480, paddedWidth: 640, paddedHeight: 480,
                                        resizedWidth: 448, resizedHeight: 336, cropLeft: 56, cropTop: 0,
                                        inputWidth: 336, inputHeight: 336))
        assertClose(g.toOriginal(x: 0, y: 0), (80, 0), "top-left")
        assertClose(g.toOriginal(x: 336, y: 336), (560, 480), "bottom-right")
        assertClose(g.toOriginal(x: 168, y: 168), (320, 240), "centre")
        // Patch (column 0, row 0) of the 24x24 grid: model [0, 14)^2 -> x [80, 100), y [0, 20).
        let cell = g.cellToOriginal(column: 0, row: 0, columns: 24, rows: 24)
        XCTAssertEqual(cell.x0, 80, accuracy: 1e-9)
        XCTAssertEqual(cell.x1, 100, accuracy: 1e-9)
        XCTAssertEqual(cell.y0, 0, accuracy: 1e-9)
        XCTAssertEqual(cell.y1, 20, accuracy: 1e-9)
        let last = g.cellToOriginal(column: 23, row: 23, columns: 24, rows: 24)
        XCTAssertEqual(last.x1, 560, accuracy: 1e-9)
        XCTAssertEqual(last.y1, 480, accuracy: 1e-9)
    }

    /// 640x480 padded: a 640x640 square with the image at y = (640 - 480) // 2 = 80, resized to 336x336,
    /// no crop. A model point (x, y) is original (x * 640 / 336, y * 640 / 336 - 80).
    func testPadToSquareByHand() {
        let out = ImageProcessor(config: .llava336).preprocess(RGBImage(width: 640, height: 480, fill: (9, 9, 9)),
                                                                mode: .padToSquare)
        let g = out.geometry
        XCTAssertEqual(g, ImageGeometry(originalWidth: 640, originalHeight: 480, padLeft: 0, padTop: 80,
                                        paddedWidth: 640, paddedHeight: 640, resizedWidth: 336, resizedHeight: 336,
                                        inputWidth: 336, inputHeight: 336))
        assertClose(g.toOriginal(x: 0, y: 0), (0, -80), "top-left is in the padding")
        assertClose(g.toOriginal(x: 336, y: 336), (640, 560), "bottom-right is in the padding")
        assertClose(g.toOriginal(x: 42, y: 84), (80, 80), "42 * 640/336 = 80, 84 * 640/336 - 80 = 80")
        // Row 0 of the patch grid is all padding: clamped it collapses onto the top border.
        let top = g.cellToOriginal(column: 0, row: 0, columns: 24, rows: 24)
        XCTAssertEqual(top.y0, 0)
        XCTAssertEqual(top.y1, 0)
        let raw = g.cellToOriginal(column: 0, row: 0, columns: 24, rows: 24, clamped: false)
        XCTAssertEqual(raw.y0, -80, accuracy: 1e-9)
        XCTAssertEqual(raw.y1, 14 * 640 / 336 - 80, accuracy: 1e-9)
        // Patch row 12 starts at model y 168 -> 168 * 640/336 - 80 = 240, the middle of the original.
        XCTAssertEqual(g.cellToOriginal(column: 5, row: 12, columns: 24, rows: 24).y0, 240, accuracy: 1e-9)
    }

    /// A tall 30x50 image, shortest edge 20 and crop 24 (larger than the resized 20x33 in width: zero
    /// padding, so the crop offset is negative): x offset (20 - 24) // 2 = -2, y offset (33 - 24) // 2 = 4.
    func testCropWithPaddingByHand() {
        var config = ImageProcessorConfig()
        config.size = .init(shortestEdge: 20)
        config.cropSize = .init(height: 24, width: 24)
        let g = ImageProcessor(config: config).preprocess(RGBImage(width: 30, height: 50, fill: (1, 1, 1)),
                                                          mode: .processor).geometry
        XCTAssertEqual(g.resizedWidth, 20)
        XCTAssertEqual(g.resizedHeight, 33)  // int(20 * 50 / 30) = int(33.33)
        XCTAssertEqual(g.cropLeft, -2)
        XCTAssertEqual(g.cropTop, 4)
        // Model x = 2 is resized x 0, the original's left edge; model y = 0 is resized 4 = original 4 * 50/33.
        assertClose(g.toOriginal(x: 2, y: 0), (0, 4 * 50 / 33), "left edge")
    }

    func testRoundTrip() {
        for mode in [ImagePreprocessing.processor, .padToSquare] {
            for (w, h) in [(640, 480), (333, 500), (61, 37), (100, 100)] {
                let g = ImageProcessor(config: .llava336).preprocess(RGBImage(width: w, height: h, fill: (0, 0, 0)),
                                                                      mode: mode).geometry
                for p in [(0.0, 0.0), (13.5, 200.25), (336.0, 336.0)] {
                    let o = g.toOriginal(x: p.0, y: p.1)
                    assertClose(g.fromOriginal(x: o.x, y: o.y), p, "\(w)x\(h) \(mode) \(p)")
                }
            }
        }
    }

    func testCodableUsesSnakeCase() throws {
        let g = ImageGeometry(originalWidth: 640, originalHeight: 480, padTop: 80, paddedWidth: 640,
                              paddedHeight: 640, resizedWidth: 336, resizedHeight: 336, inputWidth: 336,
                              inputHeight: 336)
        let json = String(decoding: try JSONEncoder().encode(g), as: UTF8.self)
        XCTAssertTrue(json.contains("\"pad_top\":80"), json)
        XCTAssertEqual(try JSONDecoder().decode(ImageGeometry.self, from: Data(json.utf8)), g)
    }
}
