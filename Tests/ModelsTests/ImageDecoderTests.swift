import Foundation
import XCTest

@testable import Models

final class ImageDecoderTests: XCTestCase {
    func testDecodedPixelsEqualPillow() throws {
        let manifest = try ImageManifest.load()
        XCTAssertGreaterThanOrEqual(manifest.decode.count, 20)
        for entry in manifest.decode {
            let decoded = try ImageDecoder.decode(contentsOf: Fixtures.url("images/" + entry.file))
            let expected = try ImageManifest.rgb(entry.pixels, width: entry.width, height: entry.height)
            assertSamePixels(decoded, expected, "\(entry.file) (\(entry.note))")
        }
    }

    func testFormatComesFromMagicBytesNotTheName() throws {
        let data = try Data(contentsOf: Fixtures.url("images/src/photo_48x40_q90_420.jpg"))
        let asPNG = try ImageDecoder.decode(data: data, name: "picture.png")
        let asJPEG = try ImageDecoder.decode(contentsOf: Fixtures.url("images/src/photo_48x40_q90_420.jpg"))
        XCTAssertEqual(asPNG, asJPEG)
    }

    func testEveryBadFileGivesAnImageErrorNamingIt() throws {
        let manifest = try ImageManifest.load()
        XCTAssertGreaterThanOrEqual(manifest.bad.count, 10)
        for entry in manifest.bad {
            let url = Fixtures.url("images/" + entry.file)
            XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url), entry.why) { error in
                guard let error = error as? ImageError else { return XCTFail("\(entry.file): not an ImageError: \(error)") }
                XCTAssertTrue(error.message.contains(url.path), "\(entry.file): message does not name it: \(error)")
            }
        }
    }

    func testTruncatedFilesSayTruncated() throws {
        for name in ["truncated.jpg", "truncated_eoi.jpg", "truncated.png"] {
            let url = Fixtures.url("images/bad/" + name)
            XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: url)) { error in
                XCTAssertTrue("\(error)".contains("truncated"), "\(name): \(error)")
            }
        }
    }

    func testMissingFileAndDirectory() {
        let missing = Fixtures.url("images/src/no_such_image.jpg")
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: missing)) { error in
            XCTAssertEqual("\(error)", "\(missing.path): no such file")
        }
        let directory = Fixtures.url("images/src")
        XCTAssertThrowsError(try ImageDecoder.decode(contentsOf: directory)) { error in
            XCTAssertTrue("\(error)".hasPrefix(directory.path), "\(error)")
        }
    }

    func testDataErrorsUseTheGivenName() {
        XCTAssertThrowsError(try ImageDecoder.decode(data: Data(), name: "upload #3")) { error in
            XCTAssertEqual("\(error)", "upload #3: the file is empty")
        }
        XCTAssertThrowsError(try ImageDecoder.decode(data: Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), name: "cut.jpg")) {
            XCTAssertTrue("\($0)".hasPrefix("cut.jpg: "), "\($0)")
        }
    }

    // MARK: - Encoder

    func testPNGRoundTripIsLossless() throws {
        let image = try ImageDecoder.decode(contentsOf: Fixtures.url("images/src/photo_45x31_q85_444.jpg"))
        let png = try ImageEncoder.png(image)
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertEqual(try ImageDecoder.decode(data: png, name: "encoded.png"), image)
    }

    func testJPEGRoundTripIsClose() throws {
        var pixels: [UInt8] = []  // a smooth 61x37 gradient: JPEG keeps it within a few levels
        for y in 0..<37 { for x in 0..<61 { pixels += [UInt8(x * 4), UInt8(y * 6), UInt8(255 - x * 2 - y)] } }
        let image = RGBImage(width: 61, height: 37, pixels: pixels)
        let jpeg = try ImageEncoder.jpeg(image, quality: 95)
        let back = try ImageDecoder.decode(data: jpeg, name: "encoded.jpg")
        XCTAssertEqual(back.width, 61)
        XCTAssertEqual(back.height, 37)
        let meanError = zip(back.pixels, image.pixels).map { abs(Double($0) - Double($1)) }.reduce(0, +)
            / Double(image.pixels.count)
        XCTAssertLessThan(meanError, 2)
        XCTAssertThrowsError(try ImageEncoder.jpeg(image, quality: 0))
    }

    // MARK: - Crop and paste

    func testCropMatchesPILIncludingOutOfBounds() {
        // 3x2 image, pixel (x, y) = (10x + y, 100 + x, 200 + y)
        var pixels: [UInt8] = []
        for y in 0..<2 { for x in 0..<3 { pixels += [UInt8(10 * x + y), UInt8(100 + x), UInt8(200 + y)] } }
        let image = RGBImage(width: 3, height: 2, pixels: pixels)
        XCTAssertEqual(image.cropped(x: 1, y: 1, width: 2, height: 1).pixels, [11, 101, 201, 21, 102, 201])
        // PIL: Image.crop((-1, -1, 2, 1)) -> black where outside
        let out = image.cropped(x: -1, y: -1, width: 3, height: 2)
        XCTAssertEqual(out.pixels, [0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 100, 200, 10, 101, 200])
        XCTAssertEqual(image.cropped(x: 5, y: 5, width: 2, height: 2).pixels, [UInt8](repeating: 0, count: 12))
    }
}
