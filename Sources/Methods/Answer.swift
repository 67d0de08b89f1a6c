import Foundation

/// How a multiple-choice answer was read from the model.
public enum AnswerScheme: String, Sendable, Codable {
    /// The generated text must be exactly the option letter (FOCUS: no normalisation, "(A)" is wrong).
    case generatedLetter = "generated-letter"
    /// The option whose letter has the highest next-token logit.
    case logitMatching = "logit-matching"
    /// The option whose text is most likely as the answer to the question asked without options
    /// (mean log-probability of its tokens): how SEAL and ZoomEye score LLaVA-1.5 on V*Bench, where
    /// the option order then does not matter.
    case optionLikelihood = "option-likelihood"
}

/// A method's answer to one question, with what it looked at.
public struct Answer: Sendable, Codable, Equatable {
    public var raw: String
    /// The option letter read from `raw` (nil when it is not exactly a letter of the options).
    public var letter: String?
    public var scheme: AnswerScheme
    /// The views the final answer was computed on.
    public var views: [ImageView]
    public var targets: [String]?
    /// The method document's fallbacks this answer took, in order (nil: none), e.g. `no-target`
    /// (nothing parsed, answered on the full image) or `nowhere:star` (no checked region said Yes;
    /// the best-confidence one was used). See `Fallback`.
    public var fallbacks: [String]?
    /// The regions a search verified, in the order it checked them (nil: the method checks none).
    /// Kept in every result so that a run can be analysed afterwards (which check said Yes where)
    /// without re-running it with `--explain`.
    public var checks: [RegionCheck]?

    public init(raw: String, letter: String?, scheme: AnswerScheme, views: [ImageView], targets: [String]? = nil) {
        self.raw = raw
        self.letter = letter
        self.scheme = scheme
        self.views = views
        self.targets = targets
    }

    /// Exact match of the trimmed text against the letters.
    public static func letter(in text: String, letters: [String]) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return letters.contains(trimmed) ? trimmed : nil
    }

    mutating func record(_ fallbacks: [Fallback]) {
        guard !fallbacks.isEmpty else { return }
        self.fallbacks = (self.fallbacks ?? []) + fallbacks.map(\.label)
    }
}

/// One verification pass of a search: the region (original pixels), the target asked about, the
/// confidence 2·softmax(yes, no)_yes − 1, and whether the answer used the region.
public struct RegionCheck: Sendable, Codable, Equatable {
    public var target: String
    public var box: PixelBox
    public var confidence: Float
    public var chosen: Bool

    public init(target: String, box: PixelBox, confidence: Float, chosen: Bool) {
        self.target = target
        self.box = box
        self.confidence = confidence
        self.chosen = chosen
    }
}

/// A fallback a search method took instead of its normal path, as results record it.
public enum Fallback: Sendable, Equatable {
    /// Step 1 parsed no target: no search, the answer on the full image.
    case noTarget
    /// The target's map gave no proposal (or its search found no node): nothing of it in the final view.
    case noRegion(String)
    /// No checked region said Yes for the target: the best-confidence region was used anyway.
    case nowhere(String)
    /// The final view is the whole image: nothing was found for any target (or ZoomEye chose the root).
    case fullImage

    public var label: String {
        switch self {
        case .noTarget: return "no-target"
        case .noRegion(let t): return "no-region:\(t)"
        case .nowhere(let t): return "nowhere:\(t)"
        case .fullImage: return "full-image"
        }
    }
}

/// The compute spent on one question, by bucket.
public struct ComputeLedger: Sendable, Codable, Equatable {
    public var forwardPasses: [ComputeBucket: Int] = [:]
    public var prefillTokens = 0
    /// Of `prefillTokens`, those the prefix cache served.
    public var cachedTokens = 0
    public var generatedTokens = 0
    public var flops: Double = 0
    public var seconds: [ComputeBucket: Double] = [:]

    public init() {}

    public mutating func add(_ cost: TaskCost) {
        forwardPasses[cost.bucket, default: 0] += cost.forwardPasses
        prefillTokens += cost.prefillTokens
        cachedTokens += cost.cachedTokens
        generatedTokens += cost.generatedTokens
        flops += cost.flops
        seconds[cost.bucket, default: 0] += cost.seconds
    }

    public func passes(_ bucket: ComputeBucket) -> Int { forwardPasses[bucket] ?? 0 }
}
