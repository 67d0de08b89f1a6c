// ImageProcessorConfig: the CLIPImageProcessor fields of `preprocessor_config.json`, with
// transformers' class defaults written once, here.
import Foundation

public struct ImageProcessorConfig: Sendable, Decodable, Equatable {
    /// LLaVA's expand2square background, `tuple(int(x * 255) for x in image_mean)`; also the
    /// background of FOCUS's canvases.
    public var padColor: (r: UInt8, g: UInt8, b: UInt8) { Self.padColor(mean: imageMean) }

    public static func padColor(mean: [Double]) -> (r: UInt8, g: UInt8, b: UInt8) {
        let m = mean.map { UInt8(clamping: Int($0 * 255)) }
        return (m[0], m[1], m[2])
    }

    /// transformers' `size`: either `{"shortest_edge": n}` (optionally with "longest_edge") or
    /// `{"height": h, "width": w}`; a bare integer in old CLIP configs means shortest_edge.
    public struct Size: Sendable, Equatable, Decodable {
        public var shortestEdge: Int?
        public var longestEdge: Int?
        public var height: Int?
        public var width: Int?

        public init(shortestEdge: Int? = nil, longestEdge: Int? = nil, height: Int? = nil, width: Int? = nil) {
            self.shortestEdge = shortestEdge
            self.longestEdge = longestEdge
            self.height = height
            self.width = width
        }

        enum CodingKeys: String, CodingKey {
            case shortestEdge = "shortest_edge", longestEdge = "longest_edge", height, width
        }
    }

    public static let openAIClipMean = [0.48145466, 0.4578275, 0.40821073]
    public static let openAIClipStd = [0.26862954, 0.26130258, 0.27577711]

    public var doResize = true
    public var size = Size(shortestEdge: 224)
    public var resample = Resample.bicubic
    public var doCenterCrop = true
    /// Always height and width (a bare integer n means n x n, as transformers reads it).
    public var cropSize = Size(height: 224, width: 224)
    public var doRescale = true
    public var rescaleFactor = 1.0 / 255.0
    public var doNormalize = true
    public var imageMean = Self.openAIClipMean  // [3]
    public var imageStd = Self.openAIClipStd    // [3]
    /// Our input is already RGB, so this changes nothing; kept so configs round-trip.
    public var doConvertRGB = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case doResize = "do_resize", size, resample, doCenterCrop = "do_center_crop", cropSize = "crop_size"
        case doRescale = "do_rescale", rescaleFactor = "rescale_factor", doNormalize = "do_normalize"
        case imageMean = "image_mean", imageStd = "image_std", doConvertRGB = "do_convert_rgb"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        doResize = try c.decodeIfPresent(Bool.self, forKey: .doResize) ?? doResize
        if let n = try? c.decode(Int.self, forKey: .size) {
            size = Size(shortestEdge: n)
        } else if let s = try c.decodeIfPresent(Size.self, forKey: .size) {
            size = s
        }
        if let raw = try c.decodeIfPresent(Int.self, forKey: .resample) {
            guard let r = Resample(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .resample, in: c, debugDescription: "unsupported PIL resample filter \(raw)")
            }
            resample = r
        }
        doCenterCrop = try c.decodeIfPresent(Bool.self, forKey: .doCenterCrop) ?? doCenterCrop
        if let n = try? c.decode(Int.self, forKey: .cropSize) {
            cropSize = Size(height: n, width: n)
        } else if let s = try c.decodeIfPresent(Size.self, forKey: .cropSize) {
            cropSize = s
        }
        doRescale = try c.decodeIfPresent(Bool.self, forKey: .doRescale) ?? doRescale
        rescaleFactor = try c.decodeIfPresent(Double.self, forKey: .rescaleFactor) ?? rescaleFactor
        doNormalize = try c.decodeIfPresent(Bool.self, forKey: .doNormalize) ?? doNormalize
        imageMean = try Self.perChannel(c, .imageMean) ?? imageMean
        imageStd = try Self.perChannel(c, .imageStd) ?? imageStd
        doConvertRGB = try c.decodeIfPresent(Bool.self, forKey: .doConvertRGB) ?? doConvertRGB
        try validate()
    }

    /// A list of three numbers, or one number for all channels.
    private static func perChannel(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [Double]? {
        if let x = try? c.decode(Double.self, forKey: key) { return [x, x, x] }
        guard let list = try c.decodeIfPresent([Double].self, forKey: key) else { return nil }
        guard list.count == 3 else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c, debugDescription: "\(key.rawValue) must have 3 values, got \(list.count)")
        }
        return list
    }

    /// Throws an `ImageError` that says which field is unusable.
    public func validate() throws {
        if doResize {
            let edge = size.shortestEdge.map { $0 > 0 } ?? false
            let box = (size.height ?? 0) > 0 && (size.width ?? 0) > 0
            guard edge || box else {
                throw ImageError("image processor config: size needs shortest_edge or height and width, got \(size)")
            }
            if let s = size.shortestEdge, let l = size.longestEdge, l <= 0 || l < s {
                throw ImageError("image processor config: longest_edge \(l) must be at least shortest_edge \(s)")
            }
        }
        if doCenterCrop {
            guard (cropSize.height ?? 0) > 0, (cropSize.width ?? 0) > 0 else {
                throw ImageError("image processor config: crop_size needs positive height and width, got \(cropSize)")
            }
        }
        if doNormalize {
            guard imageMean.count == 3, imageStd.count == 3, !imageStd.contains(0) else {
                throw ImageError("image processor config: image_mean and image_std need 3 values, std non-zero")
            }
        }
    }
}
