import Foundation
import XCTest

@testable import Models

final class ImageProcessorTests: XCTestCase {
    /// pixel_values equal transformers' CLIPImageProcessorPil (to 1e-6; in practice bit for bit) for
    /// shortest-edge and fixed-size configs, crops smaller and larger than the resized image, both modes.
    func testPixelValuesMatchTransformers() throws {
        let manifest = try ImageManifest.load()
        XCTAssertGreaterThanOrEqual(manifest.processor.count, 20)
        var exact = 0
        for entry in manifest.processor {
            let processor = try ImageProcessor(directory: Fixtures.url("images/" + entry.config))
            let source = try ImageManifest.rgb(entry.source, width: entry.sourceWidth, height: entry.sourceHeight)
            let mode: ImagePreprocessing = entry.mode == "pad_to_square" ? .padToSquare : .processor
            let out = processor.preprocess(source, mode: mode)
            let expected = try ImageManifest.floats(entry.pixelValues)
            let what = "\(entry.config) \(entry.source) \(entry.mode)"
            XCTAssertEqual(out.width, entry.width, what)
            XCTAssertEqual(out.height, entry.height, what)
            XCTAssertEqual(out.geometry.inputWidth, entry.width, what)
            guard out.pixelValues.count == expected.count else {
                XCTFail("\(what): \(out.pixelValues.count) values, expected \(expected.count)")
                continue
            }
            let worst = zip(out.pixelValues, expected).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-6, what)
            if out.pixelValues == expected { exact += 1 }
        }
        XCTAssertEqual(exact, manifest.processor.count, "cases that are bit-identical")
    }

    // MARK: - Config

    func testLlavaHFConfig() throws {
        let json = """
            {"crop_size": {"height": 336, "width": 336}, "do_center_crop": true, "do_convert_rgb": true,
             "do_normalize": true, "do_rescale": true, "do_resize": true,
             "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor",
             "image_std": [0.26862954, 0.26130258, 0.27577711], "processor_class": "LlavaProcessor",
             "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 336}}
            """
        let config = try JSONDecoder().decode(ImageProcessorConfig.self, from: Data(json.utf8))
        XCTAssertEqual(config.size, .init(shortestEdge: 336))
        XCTAssertEqual(config.cropSize, .init(height: 336, width: 336))
        XCTAssertEqual(config.resample, .bicubic)
        XCTAssertEqual(config.rescaleFactor, 1.0 / 255.0)
        XCTAssertEqual(config, ImageProcessorConfig.llava336)
    }

    func testOldCLIPConfigWithIntegerSizes() throws {
        let json = #"{"crop_size": 224, "size": 256, "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": 0.5}"#
        let config = try JSONDecoder().decode(ImageProcessorConfig.self, from: Data(json.utf8))
        XCTAssertEqual(config.size, .init(shortestEdge: 256))
        XCTAssertEqual(config.cropSize, .init(height: 224, width: 224))
        XCTAssertEqual(config.imageMean, [0.5, 0.5, 0.5])
    }

    func testDirectoryWithTransformers5ProcessorConfig() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("focus-image-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let json = #"{"image_processor": {"size": {"shortest_edge": 48}, "crop_size": {"height": 40, "width": 40}}, "patch_size": 14}"#
        try Data(json.utf8).write(to: directory.appendingPathComponent("processor_config.json"))
        let processor = try ImageProcessor(directory: directory)
        XCTAssertEqual(processor.config.size, .init(shortestEdge: 48))
        XCTAssertEqual(processor.config.cropSize, .init(height: 40, width: 40))

        try Data("{}".utf8).write(to: directory.appendingPathComponent("processor_config.json"))
        XCTAssertThrowsError(try ImageProcessor(directory: directory)) { error in
            XCTAssertTrue("\(error)".contains("processor_config.json"), "\(error)")
        }
    }

    func testInvalidConfigsNameTheFileAndTheField() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("focus-image-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("preprocessor_config.json")
        for (json, field) in [(#"{"resample": 42}"#, "resample"), (#"{"size": {}}"#, "size"),
                              (#"{"image_std": [1, 2]}"#, "image_std"), ("not json", "not valid JSON")] {
            try Data(json.utf8).write(to: file)
            XCTAssertThrowsError(try ImageProcessor(directory: directory)) { error in
                XCTAssertTrue(error is ImageError)
                XCTAssertTrue("\(error)".hasPrefix(file.path), "\(error)")
                XCTAssertTrue("\(error)".contains(field), "\(json): \(error)")
            }
        }
    }

    func testMissingConfigNamesTheDirectory() {
        let directory = Fixtures.url("images/src")
        XCTAssertThrowsError(try ImageProcessor(directory: directory)) { error in
            XCTAssertTrue(error is ImageError)
            XCTAssertTrue("\(error)".hasPrefix(directory.path), "\(error)")
        }
    }

    func testShortestEdgeTruncates() {
        let processor = ImageProcessor(config: .llava336)
        // int(336 * 640 / 480) = 448; int(336 * 1001 / 999) = int(336.67...) = 336; int(336 * 500 / 333) = 504
        XCTAssertTrue(processor.outputSize(height: 480, width: 640) == (336, 448))
        XCTAssertTrue(processor.outputSize(height: 1001, width: 999) == (336, 336))
        XCTAssertTrue(processor.outputSize(height: 333, width: 500) == (336, 504))
        XCTAssertTrue(processor.outputSize(height: 500, width: 333) == (504, 336))
    }

    // MARK: - Pad to square

    /// expand2square's background is tuple(int(x * 255) for x in image_mean) = (122, 116, 104) for CLIP.
    func testPadToSquareUsesTheMeanColourAndCentres() {
        var config = ImageProcessorConfig()
        config.doResize = false
        config.doCenterCrop = false
        config.doRescale = false
        config.doNormalize = false
        let image = RGBImage(width: 4, height: 1, fill: (1, 2, 3))
        let out = ImageProcessor(config: config).preprocess(image, mode: .padToSquare)
        XCTAssertEqual(out.width, 4)
        XCTAssertEqual(out.height, 4)
        // Row 0 padding, row 1 the image ((4 - 1) // 2 = 1), rows 2-3 padding; channel-major.
        let red = Array(out.pixelValues[0..<16])
        XCTAssertEqual(red, [122, 122, 122, 122, 1, 1, 1, 1, 122, 122, 122, 122, 122, 122, 122, 122])
        XCTAssertEqual(out.pixelValues[16 + 4], 2)
        XCTAssertEqual(out.pixelValues[16], 116)
        XCTAssertEqual(out.pixelValues[32], 104)
        XCTAssertEqual(out.geometry.padTop, 1)
        XCTAssertEqual(out.geometry.padLeft, 0)
    }
}

extension ImageProcessorConfig {
    /// llava-hf/llava-1.5-7b-hf's preprocessor_config.json (= CLIPImageProcessor defaults at 336).
    static var llava336: ImageProcessorConfig {
        var config = ImageProcessorConfig()
        config.size = .init(shortestEdge: 336)
        config.cropSize = .init(height: 336, width: 336)
        return config
    }
}
