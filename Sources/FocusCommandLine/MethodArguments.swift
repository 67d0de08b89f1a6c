import ArgumentParser
import Foundation
import Methods

extension AnswerScheme: ExpressibleByArgument {}
extension MethodSpec.Name: ExpressibleByArgument {}

/// Which method a run uses and its parameters, shared by `focus eval` and `focus-coord` so both build
/// the same `MethodSpec` from the same flags.
public struct MethodArguments: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "vanilla | oracle | focus | zoomeye | vicrop | extraction | existence-on-crops | relevance-hit")
    public var method: MethodSpec.Name = .vanilla

    @Option(name: .long, help: "How answers are read: generated-letter (exact match of the generated text) or logit-matching (the option letter with the highest next-token logit).")
    public var answerScheme: AnswerScheme = .generatedLetter

    @Option(name: .long, help: "ZoomEye: depth limit (root 0; default 5).")
    public var depth = 5

    @Option(name: .long, help: "ZoomEye: children per split, 2 or 4 (default 4).")
    public var split = 4

    @Option(name: .long, help: "Few-shot examples for target extraction.")
    public var fewShot = "data/target-extraction/synthetic.json"

    @Flag(name: .long, help: "Resize and center-crop as the checkpoint's processor does instead of padding to a square (LLaVA-1.5's default, assumed by FOCUS).")
    public var noPad = false

    @OptionGroup(title: "FOCUS") public var focus: FocusArguments

    /// The spec these flags describe (reads the few-shot file when the method needs it).
    public func spec() throws -> MethodSpec {
        var spec = MethodSpec(method: method, answerScheme: answerScheme, padToSquare: !noPad)
        switch method {
        case .focus, .relevanceHit: spec.focus = try focus.options()
        case .oracle:
            // The oracle shares FOCUS's union-or-canvas rule; only its distance is a parameter.
            if let d = try focus.validatedCanvasDistance() {
                var o = FocusOptions()
                o.canvasDistance = d
                spec.focus = o
            }
        case .zoomeye:
            guard depth >= 1, [2, 4].contains(split) else { throw ValidationError("--depth must be at least 1 and --split 2 or 4") }
            var o = ZoomEyeOptions()
            o.depthLimit = depth
            o.splitNum = split
            spec.zoomEye = o
        case .vicrop: spec.viCrop = ViCropOptions()
        default: break
        }
        if spec.needsFewShot {
            spec.fewShot = try TargetExtractor(fewShotFile: URL(fileURLWithPath: fewShot)).examples
        }
        return spec
    }
}
