// ImageProcessor: transformers' CLIPImageProcessor on its PIL backend ("slow" path), step for step:
// resize (Pillow), center crop, rescale, normalize, channel-first. Optional LLaVA-1.5 pad-to-square.
import Foundation

/// How an image becomes the model input.
public enum ImagePreprocessing: Sendable {
    /// The checkpoint's CLIPImageProcessor as transformers runs it (shortest edge, then center crop:
    /// the sides of a non-square image are cut off).
    case processor
    /// The original LLaVA-1.5 recipe: `expand2square` onto a square of the mean colour, then the
    /// processor (nothing is cut off).
    case padToSquare
}

public struct PreprocessedImage: Sendable {
    /// [3, height, width], channel-major: exactly transformers' `pixel_values[0]`.
    public let pixelValues: [Float]
    public let width: Int
    public let height: Int
    public let geometry: ImageGeometry
}

public struct ImageProcessor: Sendable {
    public let config: ImageProcessorConfig

    /// `config` must be valid (see `ImageProcessorConfig.validate()`; configs read from JSON are).
    public init(config: ImageProcessorConfig) {
        do { try config.validate() } catch { preconditionFailure("\(error)") }
        self.config = config
    }

    /// Reads `preprocessor_config.json`, or the "image_processor" object of `processor_config.json`
    /// (where transformers 5 saves it).
    public init(directory: URL) throws {
        let preprocessor = directory.appendingPathComponent("preprocessor_config.json")
        let processor = directory.appendingPathComponent("processor_config.json")
        let fm = FileManager.default
        if fm.fileExists(atPath: preprocessor.path) {
            config = try Self.load(preprocessor, key: nil)
        } else if fm.fileExists(atPath: processor.path) {
            config = try Self.load(processor, key: "image_processor")
        } else {
            throw ImageError(
                "\(directory.path): no preprocessor_config.json or processor_config.json (needed for the image processor)")
        }
    }

    private struct Wrapped: Decodable {
        let imageProcessor: ImageProcessorConfig?
        enum CodingKeys: String, CodingKey { case imageProcessor = "image_processor" }
    }

    private static func load(_ url: URL, key: String?) throws -> ImageProcessorConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ImageError("\(url.path): cannot read (\(error.localizedDescription))")
        }
        do {
            if key == nil { return try JSONDecoder().decode(ImageProcessorConfig.self, from: data) }
            guard let config = try JSONDecoder().decode(Wrapped.self, from: data).imageProcessor else {
                throw ImageError("\(url.path): has no \"image_processor\" object")
            }
            return config
        } catch let error as ImageError {
            throw ImageError("\(url.path): \(error.message)")
        } catch let DecodingError.dataCorrupted(context) {
            throw ImageError("\(url.path): \(Self.describe(context))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ImageError("\(url.path): \(Self.describe(context))")
        } catch {
            throw ImageError("\(url.path): not a valid image processor config (\(error))")
        }
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
    }

    // MARK: - Preprocess

    public func preprocess(_ image: RGBImage, mode: ImagePreprocessing) -> PreprocessedImage {
        precondition(image.width > 0 && image.height > 0, "cannot preprocess an empty image")
        var canvas = image
        var padLeft = 0, padTop = 0
        if mode == .padToSquare && image.width != image.height {
            // LLaVA's expand2square: background tuple(int(x * 255) for x in image_mean).
            let side = max(image.width, image.height)
            padLeft = (side - image.width) / 2
            padTop = (side - image.height) / 2
            canvas = RGBImage(width: side, height: side, fill: config.padColor)
            canvas.paste(image, x: padLeft, y: padTop)
        }
        let paddedWidth = canvas.width, paddedHeight = canvas.height

        if config.doResize {
            let (h, w) = outputSize(height: canvas.height, width: canvas.width)
            canvas = canvas.resized(width: w, height: h, resample: config.resample)
        }
        let resizedWidth = canvas.width, resizedHeight = canvas.height

        var cropLeft = 0, cropTop = 0
        if config.doCenterCrop, let ch = config.cropSize.height, let cw = config.cropSize.width {
            // transformers' center_crop: offsets (size - crop) // 2 (floor division), zero padding where
            // the crop is larger; PIL-style crop gives exactly that.
            cropTop = floorHalf(canvas.height - ch)
            cropLeft = floorHalf(canvas.width - cw)
            if cropTop != 0 || cropLeft != 0 || ch != canvas.height || cw != canvas.width {
                canvas = canvas.cropped(x: cropLeft, y: cropTop, width: cw, height: ch)
            }
        }

        let geometry = ImageGeometry(
            originalWidth: image.width, originalHeight: image.height, padLeft: padLeft, padTop: padTop,
            paddedWidth: paddedWidth, paddedHeight: paddedHeight, resizedWidth: resizedWidth,
            resizedHeight: resizedHeight, cropLeft: cropLeft, cropTop: cropTop,
            inputWidth: canvas.width, inputHeight: canvas.height)
        return PreprocessedImage(
            pixelValues: channelFirstFloats(canvas), width: canvas.width, height: canvas.height, geometry: geometry)
    }

    /// (height, width) after resizing, as transformers' PIL backend computes it.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let size = config.size
        if let shortest = size.shortestEdge, let longest = size.longestEdge {
            return sizeWithAspectRatio(height: height, width: width, size: shortest, maxSize: longest)
        }
        if let shortest = size.shortestEdge {
            // get_resize_output_image_size(default_to_square=False): the long side is
            // int(shortest * long / short), a truncation of a double division.
            let short = min(width, height), long = max(width, height)
            let newLong = Int(Double(shortest * long) / Double(short))
            return width <= height ? (newLong, shortest) : (shortest, newLong)
        }
        return (size.height!, size.width!)
    }

    /// transformers' `get_size_with_aspect_ratio` (shortest_edge together with longest_edge).
    private func sizeWithAspectRatio(height: Int, width: Int, size: Int, maxSize: Int) -> (height: Int, width: Int) {
        var size = size
        var rawSize: Double? = nil
        let minSide = Double(min(height, width)), maxSide = Double(max(height, width))
        if maxSide / minSide * Double(size) > Double(maxSize) {
            let raw = Double(maxSize) * minSide / maxSide
            rawSize = raw
            size = Int(raw.rounded(.toNearestOrEven))  // Python's round()
        }
        if (height <= width && height == size) || (width <= height && width == size) {
            return (height, width)
        }
        if width < height {
            let oh = rawSize.map { Int($0 * Double(height) / Double(width)) } ?? Int(Double(size * height) / Double(width))
            return (oh, size)
        }
        let ow = rawSize.map { Int($0 * Double(width) / Double(height)) } ?? Int(Double(size * width) / Double(height))
        return (size, ow)
    }

    /// Python's `n // 2` for possibly negative n.
    private func floorHalf(_ n: Int) -> Int { n >> 1 }

    /// Rescale then normalize, in transformers' dtypes: `float32(float64(v) * rescale_factor)`, then
    /// `(x - float32(mean)) / float32(std)` in float32. A byte has 256 values, so each channel is a
    /// lookup table. // out: [3, height, width]
    private func channelFirstFloats(_ image: RGBImage) -> [Float] {
        let plane = image.width * image.height
        var out = [Float](repeating: 0, count: 3 * plane)
        var tables = [Float](repeating: 0, count: 3 * 256)  // [3, 256]
        for c in 0..<3 {
            for v in 0..<256 {
                var x = config.doRescale ? Float(Double(v) * config.rescaleFactor) : Float(v)
                if config.doNormalize { x = (x - Float(config.imageMean[c])) / Float(config.imageStd[c]) }
                tables[c * 256 + v] = x
            }
        }
        image.pixels.withUnsafeBufferPointer { src in
            tables.withUnsafeBufferPointer { table in
                out.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<plane {
                        for c in 0..<3 {
                            dst[c * plane + i] = table[c * 256 + Int(src[i * 3 + c])]
                        }
                    }
                }
            }
        }
        return out
    }
}
