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
