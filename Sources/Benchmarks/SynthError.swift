// SynthError: what `focus synth` and `focus synth-train` report when an argument is unusable or an
// output cannot be written. A code (so callers can branch) and one sentence that says what to do.
import Foundation

public struct SynthError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// A command-line value that cannot be parsed or used.
        case badArgument
        /// A file or directory that cannot be created or written.
        case output
        /// Arguments that parse but leave no room to build a scene (too many or too large objects).
        case impossibleScene
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

// MARK: - Argument parsing shared by both commands

public enum SynthArguments {
    /// "WIDTHxHEIGHT", both positive and at most 16384.
    public static func parseSize(_ text: String, option: String = "--size") throws -> (width: Int, height: Int) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else {
            throw SynthError(.badArgument, "\(option) must be WIDTHxHEIGHT in pixels, e.g. 2048x1536; got '\(text)'")
        }
        guard w > 0, h > 0 else {
            throw SynthError(.badArgument, "\(option) must have a positive width and height, got '\(text)'")
        }
        guard w <= 16384, h <= 16384 else {
            throw SynthError(.badArgument, "\(option) is at most 16384x16384, got '\(text)'")
        }
        return (w, h)
    }

    /// A comma-separated list of names, each one of `allowed`; no duplicates, at least one.
    public static func parseList<T>(
        _ text: String, option: String, what: String, allowed: [T], name: (T) -> String
    ) throws -> [T] {
        let words = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
        guard !words.isEmpty else {
            throw SynthError(.badArgument, "\(option) needs at least one \(what), got '\(text)'")
        }
        var out: [T] = []
        for word in words {
            guard let item = allowed.first(where: { name($0) == word }) else {
                throw SynthError(.badArgument,
                    "\(option): unknown \(what) '\(word)'; choose from \(allowed.map(name).joined(separator: ", "))")
            }
            guard !out.contains(where: { name($0) == word }) else {
                throw SynthError(.badArgument, "\(option): \(what) '\(word)' is listed twice")
            }
            out.append(item)
        }
        return out
    }

    public static func parseShapes(_ text: String) throws -> [ObjectShape] {
        try parseList(text, option: "--shapes", what: "shape", allowed: ObjectShape.allCases, name: \.name)
    }

    public static func parseColors(_ text: String) throws -> [ObjectColor] {
        try parseList(text, option: "--colors", what: "colour", allowed: ObjectColor.allCases, name: \.name)
    }

    public static func parseTypes(_ text: String) throws -> [QuestionType] {
        try parseList(text, option: "--types", what: "question type", allowed: QuestionType.allCases, name: \.rawValue)
    }
}

// MARK: - Object size

/// The size of target objects (longest side of the box, pixels), as a class relative to the image's
/// short side or an explicit range. Small is at most 2% of the short side, large at least 15%.
public struct ObjectSizeRange: Sendable, Equatable {
    public enum SizeClass: String, Sendable, CaseIterable { case small, medium, large }

    public var min: Int
    public var max: Int
    /// "small", "medium" or "large" when the range lies inside that class, else "mixed".
    public var label: String

    /// The smallest longest side that still draws a recognisable shape.
    public static let minimumPixels = 4

    public init(min: Int, max: Int, shortSide: Int) {
        self.min = min
        self.max = max
        label = Self.classify(min: min, max: max, shortSide: shortSide)
    }

    /// The class a range falls in for an image whose short side is `shortSide`.
    public static func classify(min: Int, max: Int, shortSide: Int) -> String {
        let s = Double(shortSide)
        if Double(max) <= 0.02 * s { return SizeClass.small.rawValue }
        if Double(min) >= 0.15 * s { return SizeClass.large.rawValue }
        if Double(min) > 0.02 * s && Double(max) < 0.15 * s { return SizeClass.medium.rawValue }
        return "mixed"
    }

    /// The pixel range of a class: small [1.25%, 2%], medium [4%, 10%], large [15%, 22%] of the short side.
    public static func range(of sizeClass: SizeClass, shortSide: Int) -> (min: Int, max: Int) {
        let s = Double(shortSide)
        switch sizeClass {
        case .small: return (Int((0.0125 * s).rounded()), Int((0.02 * s).rounded(.down)))
        case .medium: return (Int((0.04 * s).rounded()), Int((0.10 * s).rounded()))
        case .large: return (Int((0.15 * s).rounded(.up)), Int((0.22 * s).rounded()))
        }
    }

    /// `small`, `medium`, `large` or `MIN-MAX` (pixels) for a `width` x `height` image.
    public static func parse(_ text: String, width: Int, height: Int) throws -> ObjectSizeRange {
        let short = Swift.min(width, height)
        let lower = text.lowercased()
        var lo: Int, hi: Int
        if let sizeClass = SizeClass(rawValue: lower) {
            (lo, hi) = range(of: sizeClass, shortSide: short)
            lo = Swift.max(lo, minimumPixels)
            guard hi >= lo else {
                throw SynthError(.badArgument,
                    "--object-size \(lower): a \(width)x\(height) image is too small for \(lower) objects of at least \(minimumPixels) pixels; use a larger --size")
            }
        } else {
            let parts = lower.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else {
                throw SynthError(.badArgument,
                    "--object-size must be small, medium, large or a pixel range MIN-MAX such as 20-30; got '\(text)'")
            }
            guard a >= minimumPixels, a <= b else {
                throw SynthError(.badArgument,
                    "--object-size \(text): need \(minimumPixels) <= MIN <= MAX (pixels, longest side of an object)")
            }
            (lo, hi) = (a, b)
        }
        if hi > short {
            throw SynthError(.badArgument,
                "--object-size \(text): objects up to \(hi) pixels are larger than the \(width)x\(height) image")
        }
        if 3 * hi > short {
            throw SynthError(.badArgument,
                "--object-size \(text): objects up to \(hi) pixels leave no room for several objects in a \(width)x\(height) image; keep MAX at most a third of the short side (\(short / 3))")
        }
        return ObjectSizeRange(min: lo, max: hi, shortSide: short)
    }
}
