import Foundation

/// Everything that says which method a run uses and how: the thing a run's manifest records, and
/// what `focus eval` and `focus-coord` both turn into the same probe, so that a one-process run and a
/// cluster run of one spec give the same answers.
public struct MethodSpec: Sendable, Codable, Equatable {
    public enum Name: String, Sendable, Codable, CaseIterable {
        case vanilla, oracle, focus, zoomeye, vicrop, extraction
        case existenceOnCrops = "existence-on-crops"
        case relevanceHit = "relevance-hit"
    }

    public var method: Name
    public var answerScheme: AnswerScheme = .generatedLetter
    /// Pad to a square with the processor's mean colour (LLaVA-1.5, assumed by FOCUS's geometry)
    /// instead of the checkpoint processor's resize and center crop.
    public var padToSquare = true
    public var focus: FocusOptions?
    public var zoomEye: ZoomEyeOptions?
    public var viCrop: ViCropOptions?
    /// Few-shot examples of target extraction (FOCUS, ZoomEye, the extraction probe); the file's
    /// contents are part of the spec, so a node or a resumed run cannot read a different file.
    public var fewShot: [TargetExtractor.Example]?

    public init(method: Name, answerScheme: AnswerScheme = .generatedLetter, padToSquare: Bool = true,
                focus: FocusOptions? = nil, zoomEye: ZoomEyeOptions? = nil, viCrop: ViCropOptions? = nil,
                fewShot: [TargetExtractor.Example]? = nil) {
        self.method = method
        self.answerScheme = answerScheme
        self.padToSquare = padToSquare
        self.focus = focus
        self.zoomEye = zoomEye
        self.viCrop = viCrop
        self.fewShot = fewShot
    }

    /// Whether the method reads target extraction examples.
    public var needsFewShot: Bool { [.focus, .zoomeye, .extraction].contains(method) }

    /// The probe this spec runs, for a model with `decoderLayers` layers (ViCrop picks its layer).
    public func probe(decoderLayers: Int) throws -> any EvaluationProbe {
        func extractor() throws -> TargetExtractor {
            guard let fewShot, !fewShot.isEmpty else {
                throw MethodError("method \(method.rawValue) needs few-shot target extraction examples")
            }
            return TargetExtractor(examples: fewShot)
        }
        switch method {
        case .vanilla: return MethodProbe(Vanilla())
        case .oracle: return MethodProbe(OracleCrop(canvasDistance: focus?.canvasDistance))
        case .focus: return MethodProbe(Focus(options: focus ?? FocusOptions(), extractor: try extractor()))
        case .zoomeye: return MethodProbe(ZoomEye(options: zoomEye ?? ZoomEyeOptions(), extractor: try extractor()))
        case .vicrop: return MethodProbe(ViCrop(options: viCrop ?? ViCropOptions(), layers: decoderLayers))
        case .extraction: return TargetExtractionProbe(extractor: try extractor())
        case .existenceOnCrops: return ExistenceOnCropsProbe()
        case .relevanceHit: return RelevanceHitProbe(options: focus ?? FocusOptions())
        }
    }
}
