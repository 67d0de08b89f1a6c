// The settings of `focus synth-train`: the kinds of sample, their mix and every generator parameter,
// and one sample as it is written. The generator itself is TrainingSet.
import Foundation
import Models

public enum SampleKind: String, CaseIterable, Sendable {
    /// FOCUS verification: "Is there a {shape} in the image? Answer Yes or No." -> Yes / No.
    case verification
    /// Multiple-choice existence, "(A) Yes (B) No" in shuffled order -> letter.
    case existence
    case attribute
    case spatial
    case counting
    /// Text only: FOCUS step 1, the question -> "So I need the information about the following objects: …".
    case extraction
    /// "List the objects in the image from left to right." -> "a red star, a blue ring and a green
    /// circle.": dense supervision that ties every shape and colour word to its pixels (the role
    /// caption alignment plays for LLaVA's pretrained decoder).
    case listing
    /// Text only: a multiple-choice question whose answer the prompt states first ("The heart is
    /// purple. What is the color of the heart? (A) red … (D) purple …" -> D). It teaches the step from
    /// an answer word to its option letter on 50-token sequences, apart from seeing the answer.
    case lookup
    /// The spatial question without options, answered with the word: "Is the star on the left or
    /// right side of the ring?" -> "left". The multiple-choice form asks for (left/right) XOR (the
    /// option order), which gives a from-scratch decoder no gradient until both halves exist; the
    /// word alone does, and the letter then follows by the option copy that `lookup` teaches.
    case spatialWord = "spatial-word"
    /// ZoomEye's answering confidence on a view: `QuestionText.zoomEyeAnswering` of a question about one
    /// shape -> "Yes" when that shape is visible in the view (one instance), "No" when no instance is
    /// visible: absent, or reaching in too small or cut off, which is when ZoomEye should zoom in. Without
    /// it the toy had never seen the prompt, no node passed ZoomEye's threshold, and ZoomEye answered on
    /// the full image (weight 0 by default, so older recipes write the same files).
    case answerable
    /// ZoomEye's latent confidence: `QuestionText.zoomEyeLatent(shape)` -> "Yes" when the shape reaches
    /// into the view at any size (zooming in could find it), "No" when it is absent.
    case latent
    /// The colour question without options, answered with the word: "What is the color of the
    /// star?" -> "yellow". With options, "is this option's colour anywhere in the view" answers most
    /// training views, and the toy learnt that presence read instead of the named object's colour;
    /// the word alone has no option to match, only the object (as `spatialWord` is for left/right).
    /// Last, with weight 0 by default, so that older recipes draw the same plan.
    case colorWord = "color-word"

    public var hasImage: Bool { self != .extraction && self != .lookup }
}

/// The share of each kind of sample (normalised weights).
public struct TrainingMix: Sendable, Equatable {
    /// [SampleKind.allCases.count], in `SampleKind.allCases` order.
    public var weights: [Double]

    public static let standard = TrainingMix(weights: [0.22, 0.10, 0.18, 0.10, 0.07, 0.10, 0.13, 0.10, 0, 0, 0, 0])

    public init(weights: [Double]) { self.weights = weights }

    public func weight(_ kind: SampleKind) -> Double { weights[SampleKind.allCases.firstIndex(of: kind)!] }

    /// "verification=0.3,extraction=0.1,…": the kinds listed replace the standard weights.
    public static func parse(_ text: String) throws -> TrainingMix {
        var mix = standard
        for item in text.split(separator: ",") {
            let pair = item.split(separator: "=", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }
            guard pair.count == 2 else {
                throw SynthError(.badArgument, "--mix must be KIND=WEIGHT pairs separated by commas, e.g. verification=0.3,extraction=0.1; got '\(item)'")
            }
            guard let index = SampleKind.allCases.firstIndex(where: { $0.rawValue == pair[0] }) else {
                throw SynthError(.badArgument, "--mix: unknown sample kind '\(pair[0])'; choose from \(SampleKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let w = Double(pair[1]), w.isFinite, w >= 0 else {
                throw SynthError(.badArgument, "--mix: the weight of \(pair[0]) must be a number of at least 0, got '\(pair[1])'")
            }
            mix.weights[index] = w
        }
        guard mix.weights.reduce(0, +) > 0 else {
            throw SynthError(.badArgument, "--mix: at least one kind needs a positive weight")
        }
        return mix
    }
}

public struct TrainingConfig: Sendable {
    public var width = 2048
    public var height = 1536
    public var count = 100_000
    public var seed: UInt64 = 0
    /// The vision tower's input side (pixels).
    public var inputSize = 96
    /// Samples that share one rendered scene.
    public var viewsPerScene = 8
    public var mix = TrainingMix.standard
    /// An object is visible in a view when this share of its box is inside the view…
    public var minVisibleFraction = 0.7
    /// …and its longest side is at least this many pixels after resizing to the input.
    public var minApparentSize = 8.0
    /// labels.u8 names the shape and colour of objects from this apparent size on (nil: from
    /// `minApparentSize`, like the questions). Smaller than `minApparentSize`, it teaches the vision
    /// tower to represent objects too small to be asked about, which is what FOCUS's relevance map
    /// reads in a full view where the target is a few pixels wide.
    public var minLabelSize: Double?
    /// Distractors per scene: uniform in 0...maxDistractors.
    public var maxDistractors = 40
    /// Share of verification samples that name the shape in the plural ("Is there a triangles …"), as
    /// FOCUS does after stripping `all ` from a type-2 target.
    public var pluralVerification = 0.1
    /// Chance that a view is the whole scene (before any retry).
    public var fullViewProbability = 0.15
    /// Chance that a crop's side is drawn from the input size to 1.5x it (near 1:1) instead of
    /// log-uniform up to the short side. FOCUS's verified regions and the oracle crop of a small
    /// object are such views, grown to the input size, where the object keeps its raw edges and JPEG
    /// chroma smear; log-uniform sides make them about one view in ten, and version 7 of the toy
    /// said No to 60 % of plain diamonds there while it found them in 2x wider views.
    public var nativeViewShare = 0.0
    /// Chance that an attribute sample's wrong options are the colours of the other objects in the
    /// view (largest first; random ones fill up). With random options a colour seen in a crop is
    /// almost always the answer, and version 9 of the toy learnt exactly that: each option line reads
    /// every patch of its own colour in layer 0, so in a full view the distractors' colours score too
    /// (large-object colour 67 %; with those reads kept off the whole image, chance). Decoys make that
    /// read worthless, so only a read bound to the named shape pays.
    public var decoyColorShare = 0.0
    /// Chance that a verification or existence sample whose answer is No asks about the absent shape
    /// that looks most like one in the view (`ObjectShape.lowResolutionSimilarity`) instead of a random
    /// absent one. FOCUS checks one-cell crops of cluttered scenes, where the object at hand is
    /// 11-17 px: version 9 and its successors said Yes to a "circle" on a hexagon and to a "moon" on a
    /// circle in 6-9 % of such checks, which stops the search at the wrong region. Random negatives ask
    /// about such a look-alike only about one time in eight.
    public var hardNegativeShare = 0.0
    /// Share of verification samples answered Yes (first turns in an exact rotation, follow-ups by
    /// chance). FOCUS verifies 8 to 30 one-cell crops per target of which at most one or two hold it,
    /// and one wrong Yes ends its search at the wrong region; with balanced training the toy's decision
    /// boundary sits where a Yes is as likely as a No, so a share below 0.5 moves it toward No by the
    /// log odds (0.3: about 0.85 nats). Existence questions stay balanced: the benchmarks ask them half
    /// and half.
    public var verificationYesShare = 0.5
    /// Range of a scene's object scale as fractions of the short side (log-uniform). The default
    /// 0.008-0.22 gives one scene in nine with objects of 15 % of the short side or more, the large
    /// benchmark's objects; a continuation stage can ask for more of them.
    public var objectScale: ClosedRange<Double> = 0.008...0.22
    /// Side of the cells of labels.u8 (pixels of the input); the training script's auxiliary per-patch
    /// loss wants the vision tower's patch size.
    public var labelCell = 8
    /// Questions per view: the first one, then follow-up turns about the same view (LLaVA's
    /// multi-turn conversations), so one image's 144 tokens carry several supervised answers.
    public var turns = 1
    /// With a quality (1-100), a `jpegShare` of the scenes goes through a JPEG round trip (4:2:0, as
    /// `focus synth` writes its benchmark files) before the views are cut: at 1:1 the chroma
    /// subsampling smears the edges of small coloured shapes, and a model trained on lossless
    /// renders only misreads them (version 6 of the toy missed a third of the stars and diamonds on
    /// JPEG oracle crops that it found on the PNGs). nil: every scene lossless.
    public var jpegQuality: Int?
    public var jpegShare = 1.0

    public static let generatorVersion = 3

    public init() {}

    public func validate() throws {
        guard count >= 1, count <= 10_000_000 else {
            throw SynthError(.badArgument, "--count must be between 1 and 10000000, got \(count)")
        }
        guard inputSize >= 16, inputSize <= 1024 else {
            throw SynthError(.badArgument, "--input-size must be between 16 and 1024 pixels, got \(inputSize)")
        }
        guard min(width, height) >= inputSize else {
            throw SynthError(.badArgument,
                "--size \(width)x\(height): the short side must be at least --input-size (\(inputSize)) so crops can reach 1:1")
        }
        guard viewsPerScene >= 1, viewsPerScene <= 1000 else {
            throw SynthError(.badArgument, "--views-per-scene must be between 1 and 1000, got \(viewsPerScene)")
        }
        guard maxDistractors >= 0, maxDistractors <= 2000 else {
            throw SynthError(.badArgument, "--distractors must be between 0 and 2000, got \(maxDistractors)")
        }
        guard (0...1).contains(pluralVerification) else {
            throw SynthError(.badArgument, "--plural-verification must be between 0 and 1, got \(pluralVerification)")
        }
        guard minApparentSize > 0, minApparentSize.isFinite else {
            throw SynthError(.badArgument, "--min-apparent-size must be positive, got \(minApparentSize)")
        }
        if let minLabelSize {
            guard minLabelSize > 0, minLabelSize <= minApparentSize else {
                throw SynthError(.badArgument, "--min-label-size must be positive and at most --min-apparent-size (\(minApparentSize)), got \(minLabelSize)")
            }
        }
        guard labelCell >= 1, inputSize % labelCell == 0 else {
            throw SynthError(.badArgument, "--label-cell must divide --input-size (\(inputSize)), got \(labelCell)")
        }
        guard (1...8).contains(turns) else {
            throw SynthError(.badArgument, "--turns must be between 1 and 8, got \(turns)")
        }
        guard objectScale.lowerBound > 0, objectScale.upperBound <= 1.0 / 3 else {
            throw SynthError(.badArgument, "--object-scale must be MIN-MAX fractions of the short side within (0, 0.33], got \(objectScale.lowerBound)-\(objectScale.upperBound)")
        }
        guard (0...1).contains(nativeViewShare) else {
            throw SynthError(.badArgument, "--native-view-share must be between 0 and 1, got \(nativeViewShare)")
        }
        guard (0...1).contains(decoyColorShare) else {
            throw SynthError(.badArgument, "--decoy-color-share must be between 0 and 1, got \(decoyColorShare)")
        }
        guard verificationYesShare > 0, verificationYesShare < 1 else {
            throw SynthError(.badArgument, "--verification-yes-share must be above 0 and below 1, got \(verificationYesShare)")
        }
        guard (0...1).contains(hardNegativeShare) else {
            throw SynthError(.badArgument, "--hard-negative-share must be between 0 and 1, got \(hardNegativeShare)")
        }
        guard (0...1).contains(fullViewProbability) else {
            throw SynthError(.badArgument, "--full-view-probability must be between 0 and 1, got \(fullViewProbability)")
        }
        guard minVisibleFraction > 0, minVisibleFraction <= 1 else {
            throw SynthError(.badArgument, "--min-visible-fraction must be in (0, 1], got \(minVisibleFraction)")
        }
        if let jpegQuality, !(1...100).contains(jpegQuality) {
            throw SynthError(.badArgument, "--jpeg-quality must be between 1 and 100, got \(jpegQuality)")
        }
        guard (0...1).contains(jpegShare) else {
            throw SynthError(.badArgument, "--jpeg-share must be between 0 and 1, got \(jpegShare)")
        }
    }

    /// LLaVA's expand2square background: `tuple(int(x * 255) for x in image_mean)` of CLIP, (122, 116, 104).
    public static var padColor: (r: UInt8, g: UInt8, b: UInt8) {
        ImageProcessorConfig.padColor(mean: ImageProcessorConfig.openAIClipMean)
    }
}

/// One training sample. `view` is nil for text-only samples.
public struct TrainingSample: Sendable {
    public var id: Int
    public var kind: SampleKind
    public var imageIndex: Int?
    public var prompt: String
    public var answer: String
    /// The part of the scene the image shows.
    public var view: SceneBox?
    /// What the answer was derived from (tests check it against the scene).
    public var question: SynthQuestion?
    /// The shape a verification sample asks about.
    public var shape: ObjectShape?
    /// True when the planned kind or answer was impossible for this scene and another was used.
    public var fellBack: Bool
    /// Later turns about the same view (their prompts carry no `<image>`).
    public var followUps: [Turn] = []

    /// A follow-up question and its answer.
    public struct Turn: Sendable {
        public var kind: SampleKind
        public var prompt: String
        public var answer: String
        public var question: SynthQuestion?
        public var shape: ObjectShape?
    }

    public var record: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("id", .int(id)),
            ("image_index", imageIndex.map { .int($0) } ?? .null),
            ("kind", .string(kind.rawValue)),
            ("prompt", .string(prompt)),
            ("answer", .string(answer)),
            ("view", view.map { .box($0) } ?? .null),
        ]
        if !followUps.isEmpty {
            fields.append(("turns", .array(followUps.map {
                .object([("kind", .string($0.kind.rawValue)), ("prompt", .string($0.prompt)), ("answer", .string($0.answer))])
            })))
        }
        return .object(fields)
    }
}
