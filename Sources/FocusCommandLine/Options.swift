import ArgumentParser
import Foundation
import Methods
import Models
import Tensors

/// Where the checkpoint is; shared by every command that loads a model.
public struct ModelOptions: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "Checkpoint directory in Hugging Face layout (config.json, *.safetensors, tokenizer.json).")
    public var model: String

    @Option(name: .long, help: "OpenBLAS threads (default: all cores).")
    public var threads: Int?

    @Option(name: .customLong("prefix-cache-mib"),
            help: "MiB of KV cache kept for prompt prefixes that end with an image, so later prompts about the same view skip its prefill (0: off).")
    public var prefixCacheMiB = LocalExecutor.defaultPrefixCacheBytes >> 20

    public var prefixCacheBytes: Int { max(0, prefixCacheMiB) << 20 }

    public var directory: URL { URL(fileURLWithPath: model) }

    public func load() throws -> LlavaModel {
        if let threads { setBLASThreads(threads) }
        return try LlavaModel(directory: directory)
    }
}

/// The image and how it is prepared for the vision tower.
public struct ImageOptions: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "Image file (JPEG or PNG).")
    public var image: String

    @Flag(name: .long, help: "Pad the image to a square with the processor's mean colour first (original LLaVA-1.5 preprocessing) instead of resizing and center-cropping.")
    public var padToSquare = false

    public var preprocessing: ImagePreprocessing { padToSquare ? .padToSquare : .processor }

    public func load() throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: image))
    }
}

/// Writes one JSON object on stdout, keys sorted, no escaped slashes.
public func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// FOCUS's parameters and ablation switches on the command line (method document).
public struct FocusArguments: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "FOCUS: regions verified before answering (1, 2, 3, 4, 6, 8).")
    public var steps = 8

    @Flag(name: .long, help: "FOCUS: stop after --steps regions even when none says Yes.")
    public var noOverrun = false

    @Option(name: .long, help: "FOCUS: anchors at most (default 15 below 4 steps, else 30, on any grid: unlike the sides and the distance, the count is not scaled).")
    public var k: Int?

    @Option(name: .customLong("s-min"), help: "FOCUS: starting square side in cells of a 24-cell grid (default 3).")
    public var sMin: Int?

    @Option(name: .customLong("s-max"), help: "FOCUS: largest square side in cells of a 24-cell grid (default 5).")
    public var sMax: Int?

    @Option(name: .customLong("s-dist"), help: "FOCUS: least distance between anchors in cells of a 24-cell grid (default 2).")
    public var sDist: Double?

    @Option(name: .long, help: "FOCUS: NMS IoU threshold (default 0.3).")
    public var nms: Double?

    @Option(name: .long, help: "FOCUS: least mean normalised score of a grown square (default 0.5).")
    public var expandThreshold: Double?

    @Option(name: .long, help: "FOCUS: decoder layers FROM:TO (half-open; default 14:32 for 32 layers, else round(0.44 L):L).")
    public var layers: String?

    @Option(name: .customLong("canvas-distance"), help: "FOCUS and oracle: two targets' regions whose centres are farther apart (original pixels) are answered on a canvas instead of their union crop (default 1200 at a 336-px encoder, scaled to the model's: 343 for a 96-px one).")
    public var canvasDistance: Double?

    @Flag(name: .long, help: "FOCUS ablation: keys with RoPE undone instead of values.")
    public var keys = false

    @Flag(name: .long, help: "FOCUS ablation: product over layers instead of the sum.")
    public var layerProduct = false

    @Flag(name: .long, help: "FOCUS ablation: no verification, the top proposal directly.")
    public var noRanking = false

    @Flag(name: .long, help: "FOCUS ablation: a seeded random relevance map.")
    public var randomMap = false

    public func options() throws -> FocusOptions {
        var o = FocusOptions()
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        o.steps = steps
        o.overrun = !noOverrun
        var p = ProposalOptions.llava15(steps: steps)
        if let k { guard k >= 1 else { throw ValidationError("--k must be at least 1") }; p.k = k }
        if let sMin { guard sMin >= 1 else { throw ValidationError("--s-min must be at least 1") }; p.sMin = sMin }
        if let sMax { p.sMax = sMax }
        guard p.sMax >= p.sMin else { throw ValidationError("--s-max (\(p.sMax)) must be at least --s-min (\(p.sMin))") }
        if let sDist { p.sDist = sDist }
        if let nms { guard (0...1).contains(nms) else { throw ValidationError("--nms must be in [0, 1]") }; p.nms = nms }
        if let expandThreshold { p.expandThreshold = expandThreshold }
        o.proposals = p
        if let layers {
            let parts = layers.split(separator: ":").map { Int($0) }
            guard parts.count == 2, let a = parts[0], let b = parts[1], a >= 0, a < b else {
                throw ValidationError("--layers must be FROM:TO with 0 <= FROM < TO, got '\(layers)'")
            }
            o.relevance.layers = a..<b
        }
        if keys { o.relevance.source = .keys }
        if layerProduct { o.relevance.aggregation = .product }
        o.ranking = !noRanking
        o.randomMap = randomMap
        o.canvasDistance = try validatedCanvasDistance()
        return o
    }

    /// `--canvas-distance`, when given and positive.
    public func validatedCanvasDistance() throws -> Double? {
        guard let canvasDistance else { return nil }
        guard canvasDistance > 0, canvasDistance.isFinite else {
            throw ValidationError("--canvas-distance must be a positive number of pixels, got \(canvasDistance)")
        }
        return canvasDistance
    }
}
