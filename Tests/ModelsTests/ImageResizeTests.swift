import Foundation
import XCTest

@testable import Models

final class ImageResizeTests: XCTestCase {
    /// Every byte equals Pillow's `Image.resize` (bicubic, bilinear, nearest, lanczos, box, hamming;
    /// up, down, one axis only, and a 10x downscale).
    func testResizedPixelsEqualPillow() throws {
        let manifest = try ImageManifest.load()
        XCTAssertGreaterThanOrEqual(manifest.resize.count, 20)
        for entry in manifest.resize {
            let source = try ImageManifest.rgb(entry.source, width: entry.sourceWidth, height: entry.sourceHeight)
            let resample = try XCTUnwrap(Resample(rawValue: entry.resample))
            let resized = source.resized(width: entry.width, height: entry.height, resample: resample)
            let expected = try ImageManifest.rgb(entry.pixels, width: entry.width, height: entry.height)
            assertSamePixels(resized, expected,
                             "\(entry.source) -> \(entry.width)x\(entry.height) \(resample)")
        }
    }

    func testSameSizeIsACopy() throws {
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url("images/src/rgb_37x61.png"))
        XCTAssertEqual(image.resized(width: 37, height: 61, resample: .bicubic), image)
    }

    func testBicubicCoefficientsByHand() {
        // 4 -> 2 (scale 2): support 4, centres 1.0 and 3.0; output 0 reads inputs 0..<3 (xmin = int(1 - 4 + .5)
        // clipped to 0, xmax = int(1 + 4 + .5) = 5 clipped to 4).
        let c = ResampleCoefficients(inSize: 4, outSize: 2, filter: .bicubic)
        XCTAssertEqual(c.taps, 9)
        XCTAssertEqual(c.starts, [0, 0])
        XCTAssertEqual(c.counts, [4, 4])
        // Output 0: filter((x - 1 + 0.5) / 2) at x = 0...3 -> w(-0.25), w(0.25), w(0.75), w(1.25).
        let w = [-0.25, 0.25, 0.75, 1.25].map { PillowFilter.weight(.bicubic, $0) }
        XCTAssertEqual(w[0], 1.5 * 0.015625 - 2.5 * 0.0625 + 1)
        let sum = w.reduce(0, +)
        let fixed = w.map { ($0 / sum) * 4194304 }.map { Int32($0 < 0 ? $0 - 0.5 : $0 + 0.5) }
        XCTAssertEqual(Array(c.weights[0..<4]), fixed)
    }
}
