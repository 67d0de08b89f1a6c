import Foundation
import XCTest

@testable import Models

/// Tests/Fixtures/images/manifest.json, written by scripts/fixtures/make_image_fixtures.py from Pillow
/// and transformers (CLIPImageProcessorPil).
struct ImageManifest: Decodable {
    struct Decode: Decodable {
        let file: String
        let width: Int
        let height: Int
        let pillowMode: String
        let pixels: String
        let note: String
    }

    struct Resize: Decodable {
        let source: String
        let sourceWidth: Int
        let sourceHeight: Int
        let width: Int
        let height: Int
        let resample: Int
        let pixels: String
    }

    struct Processor: Decodable {
        let source: String
        let sourceWidth: Int
        let sourceHeight: Int
        let config: String
        let mode: String
        let width: Int
        let height: Int
        let pixelValues: String
    }

    struct Bad: Decodable {
        let file: String
        let why: String
    }

    let decode: [Decode]
    let resize: [Resize]
    let processor: [Processor]
    let bad: [Bad]

    static func load() throws -> ImageManifest {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ImageManifest.self, from: Data(contentsOf: Fixtures.url("images/manifest.json")))
    }

    /// Raw uint8 RGB written by the fixture script.
    static func rgb(_ relative: String, width: Int, height: Int) throws -> RGBImage {
        let bytes = [UInt8](try Data(contentsOf: Fixtures.url("images/" + relative)))
        return RGBImage(width: width, height: height, pixels: bytes)
    }

    /// Raw little-endian float32 written by the fixture script.
    static func floats(_ relative: String) throws -> [Float] {
        let data = try Data(contentsOf: Fixtures.url("images/" + relative))
        let bytes = [UInt8](data)
        return stride(from: 0, to: bytes.count, by: 4).map { i -> Float in
            var bits = UInt32(bytes[i])
            bits |= UInt32(bytes[i + 1]) << 8
            bits |= UInt32(bytes[i + 2]) << 16
            bits |= UInt32(bytes[i + 3]) << 24
            return Float(bitPattern: bits)
        }
    }
}

/// Asserts two images are byte-identical, and says where they first differ.
func assertSamePixels(
    _ actual: RGBImage, _ expected: RGBImage, _ what: String, file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.width == expected.width, actual.height == expected.height else {
        return XCTFail("\(what): size \(actual.width)x\(actual.height), expected \(expected.width)x\(expected.height)",
                       file: file, line: line)
    }
    guard actual.pixels != expected.pixels else { return }
    let differing = zip(actual.pixels, expected.pixels).enumerated().filter { $0.element.0 != $0.element.1 }
    let first = differing[0]
    let pixel = first.offset / 3
    let worst = differing.map { abs(Int($0.element.0) - Int($0.element.1)) }.max()!
    XCTFail("""
        \(what): \(differing.count) of \(actual.pixels.count) bytes differ (max by \(worst)); first at x=\(pixel % actual.width) \
        y=\(pixel / actual.width) channel \(first.offset % 3): \(first.element.0) vs \(first.element.1)
        """, file: file, line: line)
}
