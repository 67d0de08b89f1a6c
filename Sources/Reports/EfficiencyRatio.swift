/// One setting of a method on one benchmark: how accurate, at how many search forward passes.
public struct OperatingPoint: Sendable, Equatable {
    public var label: String
    public var searchForwardPasses: Double
    public var accuracy: Double

    public init(label: String, searchForwardPasses: Double, accuracy: Double) {
        self.label = label
        self.searchForwardPasses = searchForwardPasses
        self.accuracy = accuracy
    }
}

/// The paper's compute comparison at matched accuracy (method document, "Efficiency ratio"):
/// the reference accuracy is the lower of the two methods' best accuracies; each method needs the
/// search FPs of a setting that reaches it exactly, or the linear interpolation between the two
/// settings that bracket it; the ratio is the baseline's FPs over the method's.
public enum EfficiencyRatio {
    public struct Result: Sendable, Equatable {
        public var ratio: Double
        public var referenceAccuracy: Double
        public var methodPasses: Double
        public var baselinePasses: Double
    }

    /// The fewest search FPs at which `points` reach `accuracy`: settings in order of FPs, the first
    /// that reaches it, interpolated with the one before it. Nil when none reaches it.
    public static func passes(toReach accuracy: Double, _ points: [OperatingPoint]) -> Double? {
        let sorted = points.sorted { ($0.searchForwardPasses, -$0.accuracy) < ($1.searchForwardPasses, -$1.accuracy) }
        for (i, p) in sorted.enumerated() where p.accuracy >= accuracy - 1e-12 {
            guard i > 0, p.accuracy > accuracy + 1e-12 else { return p.searchForwardPasses }
            let q = sorted[i - 1]
            let t = (accuracy - q.accuracy) / (p.accuracy - q.accuracy)
            return q.searchForwardPasses + t * (p.searchForwardPasses - q.searchForwardPasses)
        }
        return nil
    }

    /// Nil when either side has no points, or the method needs no search passes at the reference.
    public static func compare(method: [OperatingPoint], baseline: [OperatingPoint]) -> Result? {
        guard let bestMethod = method.map(\.accuracy).max(), let bestBaseline = baseline.map(\.accuracy).max() else { return nil }
        let reference = min(bestMethod, bestBaseline)
        guard let m = passes(toReach: reference, method), let b = passes(toReach: reference, baseline), m > 0 else { return nil }
        return Result(ratio: b / m, referenceAccuracy: reference, methodPasses: m, baselinePasses: b)
    }
}
