import Foundation
import Models

/// What a method shows the model: an image file, a crop of it in original pixels, or several
/// regions of it pasted on one canvas (`Canvas` lays them out).
public struct ImageView: Sendable, Codable, Hashable {
    public var image: URL
    public var crop: PixelBox?
    public var canvas: [PixelBox]?

    public init(image: URL, crop: PixelBox? = nil) {
        self.image = image
        self.crop = crop
    }

    public init(image: URL, canvas: [PixelBox]) {
        self.image = image
        self.canvas = canvas
    }

    /// The whole image: neither a crop nor a canvas.
    public var isWholeImage: Bool { crop == nil && canvas == nil }

    /// The answer view for the regions of several single targets (method document, step 5): their
    /// union crop, or a canvas of the regions when any two centres are more than `canvasDistance`
    /// pixels apart.
    public static func type1(image: URL, regions: [PixelBox], canvasDistance: Double) -> ImageView {
        guard regions.count > 1 else { return ImageView(image: image, crop: regions.first) }
        return PixelBox.centresSpread(regions, beyond: canvasDistance)
            ? ImageView(image: image, canvas: regions) : ImageView(image: image, crop: PixelBox.union(regions))
    }
}

/// Where a forward pass is counted: the paper's metric is search passes only.
public enum ComputeBucket: String, Sendable, Codable, CaseIterable {
    case extraction, search, answer
}

/// One unit of model work, the thing a driver executes (locally now, on a cluster node later).
/// Methods never touch files or sockets: they emit tasks and read results.
public struct ModelTask: Sendable {
    public enum Operation: Sendable {
        /// Greedy generation of at most `maxNewTokens` tokens.
        case generate(maxNewTokens: Int)
        /// Next-token logits of the first token of each candidate word after the prompt.
        case candidates([String])
        /// FOCUS step 2: prefill, then the relevance map of `phrase` (which occurs in the prompt) over
        /// the one image's tokens, with the preprocessing geometry to map cells to pixels.
        case relevance(phrase: String, options: RelevanceOptions)
        /// ViCrop: prefill, then the last token's attention to the image tokens in decoder `layer`
        /// (0-based), averaged over heads, as a grid (raw probabilities, not renormalised).
        case attention(layer: Int)
        /// For each text, the mean log-probability of its tokens right after the prompt (SEAL's and
        /// ZoomEye's option-likelihood scoring on V*Bench). One forward pass per text.
        case continuations([String])
    }

    /// The complete prompt in the model's chat format, with one image marker per view.
    public var prompt: String
    public var views: [ImageView]
    public var operation: Operation
    public var bucket: ComputeBucket

    public init(prompt: String, views: [ImageView], operation: Operation, bucket: ComputeBucket) {
        self.prompt = prompt
        self.views = views
        self.operation = operation
        self.bucket = bucket
    }
}

/// What a task produced.
public enum TaskOutput: Sendable, Equatable {
    case text(String, ids: [Int])
    case logits([Float])
    case relevance(RelevanceMap, geometry: ImageGeometry)
}

/// The measurements of one executed task, for the compute ledger.
public struct TaskCost: Sendable, Codable, Equatable {
    public var bucket: ComputeBucket
    public var forwardPasses: Int
    public var prefillTokens: Int
    public var generatedTokens: Int
    public var flops: Double
    public var seconds: Double
    /// Prompt tokens whose keys and values came from the executor's prefix cache instead of a forward
    /// pass (included in `prefillTokens`, which counts the whole prompt).
    public var cachedTokens: Int

    public init(bucket: ComputeBucket, forwardPasses: Int, prefillTokens: Int, generatedTokens: Int, flops: Double,
                seconds: Double, cachedTokens: Int = 0) {
        self.bucket = bucket
        self.forwardPasses = forwardPasses
        self.prefillTokens = prefillTokens
        self.generatedTokens = generatedTokens
        self.flops = flops
        self.seconds = seconds
        self.cachedTokens = cachedTokens
    }
}

/// Runs model tasks. The local executor runs them in this process; the cluster's runs them on nodes.
public protocol TaskExecutor: AnyObject {
    /// The chat format prompts must be written in.
    var chatTemplate: ChatTemplate { get }
    /// The vision encoder's input side in pixels (336 for LLaVA-1.5).
    var inputSize: Int { get }
    /// Width and height of an image, which methods need to map regions to pixels.
    func imageSize(of image: URL) throws -> (width: Int, height: Int)
    func run(_ task: ModelTask) throws -> (output: TaskOutput, cost: TaskCost)
    /// How multiple-choice answers are read in this run (a run-level setting, recorded per answer).
    var answerScheme: AnswerScheme { get }
}

extension TaskExecutor {
    public var answerScheme: AnswerScheme { .generatedLetter }
}

extension ComputeBucket: CodingKeyRepresentable {}
