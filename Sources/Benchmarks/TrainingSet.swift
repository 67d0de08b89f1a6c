// TrainingSet: `focus synth-train`, the toy model's training data. Views of synthetic scenes (the
// whole scene and crops at every zoom level) prepared exactly as the model will see them (padded to a
// square with CLIP's mean colour, Pillow-bicubic resized to the input size), each with a question
// answerable from the view itself, plus text-only FOCUS target-extraction samples.
//
// Determinism: sample i draws from (seed, i); the scene of samples [8k, 8k + 8) from (seed, k); the
// kind and the wanted answer of every sample come from a cheap sequential plan. The output is the same
// for any number of workers.
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

public struct TrainingSet: Sendable {
    public let config: TrainingConfig
    /// The planned kind, wanted answer (Yes for existence kinds, a count for counting) and image slot
    /// of every sample.
    public let plan: [Planned]
    public let imageCount: Int

    public struct Planned: Sendable {
        public var kind: SampleKind
        /// Existence kinds: whether the answer should be Yes (alternating, so exactly balanced).
        public var wantYes: Bool
        /// Counting: the wanted count (1...4 in turn).
        public var wantCount: Int
        public var imageIndex: Int?
    }

    public init(config: TrainingConfig) throws {
        try config.validate()
        self.config = config
        var plan: [Planned] = []
        plan.reserveCapacity(config.count)
        var images = 0
        var yesNext: [SampleKind: Bool] = [.existence: true, .answerable: true, .latent: true]
        var verificationCount = 0
        var countNext = 1
        for i in 0..<config.count {
            var rng = SynthRandom(seed: config.seed, purpose: .trainingPlan, index: i)
            let kind = SampleKind.allCases[rng.weightedIndex(config.mix.weights)]
            var p = Planned(kind: kind, wantYes: false, wantCount: 0, imageIndex: nil)
            if kind == .verification {
                // The n-th verification sample is Yes when ⌊(n+1)·P + 1 − P⌋ steps up: T F T F … at
                // P = 0.5 (the balanced rotation of earlier generator versions), a Yes first at any P.
                let n = Double(verificationCount), share = config.verificationYesShare
                p.wantYes = ((n + 1) * share + 1 - share).rounded(.down) > (n * share + 1 - share).rounded(.down)
                verificationCount += 1
            } else if let y = yesNext[kind] { p.wantYes = y; yesNext[kind] = !y }
            if kind == .counting { p.wantCount = countNext; countNext = countNext % 4 + 1 }
            if kind.hasImage { p.imageIndex = images; images += 1 }
            plan.append(p)
        }
        self.plan = plan
        imageCount = images
    }

    public var sceneCount: Int { (config.count + config.viewsPerScene - 1) / config.viewsPerScene }

    // MARK: - Scenes

    /// The scene shared by samples [k * viewsPerScene, (k + 1) * viewsPerScene): 1 or 2 shapes left
    /// out entirely, 2 or 3 shapes with one instance each, three shapes with 2, 3 and 4 instances
    /// (mostly clustered), distractors of the remaining shapes, and one object size scale per scene
    /// (log-uniform from tiny to large).
    public func scene(_ k: Int) -> Scene {
        let c = config
        var rng = SynthRandom(seed: c.seed, purpose: .trainingScene, index: k)
        let background = ScenePlanner.background(width: c.width, height: c.height, rng: &rng)
        let short = Double(min(c.width, c.height))
        let base = rng.logUniform(max(6, c.objectScale.lowerBound * short), max(6, c.objectScale.upperBound * short))
        let lo = max(ObjectSizeRange.minimumPixels, Int(0.75 * base)), hi = max(lo, min(Int(short) / 3, Int(1.25 * base)))
        let sizes = lo...hi
        let shapes = rng.shuffled(ObjectShape.allCases)
        let absent = rng.int(in: 1...2), unique = rng.int(in: 2...3), counted = 3
        let groupSizes = rng.shuffled([2, 3, 4])
        let singles = shapes[absent..<(absent + unique)]
        let groups = shapes[(absent + unique)..<(absent + unique + counted)]
        let pool = Array(shapes[(absent + unique + counted)...])
        var planner = ScenePlanner(width: c.width, height: c.height)
        for shape in singles {
            planner.place(shape: shape, color: rng.pick(ObjectColor.allCases), size: rng.int(in: sizes), rng: &rng)
        }
        // Instances of a counted shape are often clustered, so that a view can hold all of them while
        // they are still large enough to see (spread small objects only fit in a full view, where they
        // are too small to count).
        for (shape, instances) in zip(groups, groupSizes) {
            let clusterRadius = rng.bool(0.8) ? Double(hi) * rng.uniform(2.5, 8) : nil
            var first: SceneBox?
            for _ in 0..<instances {
                let box = planner.place(
                    shape: shape, color: rng.pick(ObjectColor.allCases), size: rng.int(in: sizes), rng: &rng,
                    accept: { box in
                        guard let r = clusterRadius, let f = first else { return true }
                        let dx = box.centerX - f.centerX, dy = box.centerY - f.centerY
                        return dx * dx + dy * dy <= r * r
                    })
                if first == nil { first = box }
            }
        }
        planner.addDistractors(count: rng.int(in: 0...c.maxDistractors), shapes: pool, colors: ObjectColor.allCases,
                               sizes: sizes, rng: &rng)
        return Scene(width: c.width, height: c.height, background: background, objects: planner.objects)
    }

    // MARK: - Views

    /// What a view shows: per shape, the objects that reach into it and those clearly visible in it.
    public struct ViewFacts {
        public var view: SceneBox
        /// Objects whose box overlaps the view at all.
        public var touching: [ObjectShape: [SceneObject]] = [:]
        /// Objects with at least `minVisibleFraction` of their box inside and `minApparentSize` pixels
        /// (longest side) after resizing.
        public var visible: [ObjectShape: [SceneObject]] = [:]

        /// Every instance of `shape` in the view is visible, so questions about it have one answer.
        public func unambiguous(_ shape: ObjectShape) -> Bool {
            (touching[shape]?.count ?? 0) == (visible[shape]?.count ?? 0)
        }

        public func present(_ shape: ObjectShape) -> Bool { (visible[shape]?.count ?? 0) > 0 && unambiguous(shape) }
        public func absent(_ shape: ObjectShape) -> Bool { (touching[shape]?.count ?? 0) == 0 }
        /// The colours of the other visible objects, largest object first (ties by position): the
        /// wrong options that "which option's colour is in the view" cannot tell from the answer.
        /// `SynthQuestion.attribute` drops repeats and the answer's own colour.
        public func decoyColors(for target: SceneObject) -> [ObjectColor] {
            visible.values.joined().filter { $0 != target }
                .sorted { ($0.box.area, $0.box.x, $0.box.y) > ($1.box.area, $1.box.x, $1.box.y) }
                .map(\.color)
        }

        /// The absent shape most like a visible one at low resolution (the highest
        /// `lowResolutionSimilarity` over all such pairs; ties in declaration order), or nil when
        /// nothing is visible or every shape reaches into the view.
        public func lookAlikeAbsent() -> ObjectShape? {
            let seen = ObjectShape.allCases.filter { (visible[$0]?.count ?? 0) > 0 }
            var best: (shape: ObjectShape, similarity: Double)?
            for shape in ObjectShape.allCases where absent(shape) {
                for s in seen {
                    let v = shape.lowResolutionSimilarity(s)
                    if best == nil || v > best!.similarity { best = (shape, v) }
                }
            }
            return best?.shape
        }

        /// Exactly one instance, visible.
        public func single(_ shape: ObjectShape) -> SceneObject? {
            guard (touching[shape]?.count ?? 0) == 1, let v = visible[shape], v.count == 1 else { return nil }
            return v[0]
        }
    }

    /// The resize factor of a view: it is padded to a square of its longest side, then resized.
    public func scale(of view: SceneBox) -> Double { Double(config.inputSize) / Double(view.longestSide) }

    public func facts(_ scene: Scene, view: SceneBox) -> ViewFacts {
        var facts = ViewFacts(view: view)
        let s = scale(of: view)
        for object in scene.objects {
            guard let inside = object.box.intersection(view) else { continue }
            facts.touching[object.shape, default: []].append(object)
            if Double(inside.area) >= config.minVisibleFraction * Double(object.box.area)
                && Double(object.box.longestSide) * s >= config.minApparentSize {
                facts.visible[object.shape, default: []].append(object)
            }
        }
        return facts
    }

    /// A random view: the whole scene, or a crop whose side is log-uniform from the input size (1:1)
    /// to the short side, sometimes not square, centred near `near` when given, else anywhere.
    func randomView(_ scene: Scene, near: SceneObject?, allowFull: Bool, rng: inout SynthRandom) -> SceneBox {
        let c = config
        if allowFull && rng.bool(c.fullViewProbability) { return scene.bounds }
        let short = Double(min(c.width, c.height))
        // No draw when the share is 0, so that older recipes give the same views.
        let native = c.nativeViewShare > 0 && rng.bool(c.nativeViewShare)
        let side = rng.logUniform(Double(c.inputSize), native ? min(1.5 * Double(c.inputSize), short + 1) : short + 1)
        var w = side, h = side
        if rng.bool(0.3) {
            let aspect = rng.logUniform(0.5, 2.0).squareRoot()
            w = side * aspect
            h = side / aspect
        }
        let iw = min(c.width, max(1, Int(w))), ih = min(c.height, max(1, Int(h)))
        var cx: Double, cy: Double
        if let near {
            cx = near.box.centerX + rng.uniform(-0.4, 0.4) * Double(iw)
            cy = near.box.centerY + rng.uniform(-0.4, 0.4) * Double(ih)
        } else {
            cx = rng.uniform(0, Double(c.width))
            cy = rng.uniform(0, Double(c.height))
        }
        let x = min(max(Int(cx - Double(iw) / 2), 0), c.width - iw)
        let y = min(max(Int(cy - Double(ih) / 2), 0), c.height - ih)
        return SceneBox(x: x, y: y, width: iw, height: ih)
    }

    /// Objects a spatial or counting question could be about, for views framed around them: two
    /// single-instance shapes far enough apart, or every instance of a shape that occurs 1 to 4 times.
    func targetGroup(_ planned: Planned, scene: Scene, rng: inout SynthRandom) -> [SceneObject]? {
        var byShape: [ObjectShape: [SceneObject]] = [:]
        for o in scene.objects { byShape[o.shape, default: []].append(o) }
        switch planned.kind {
        case .spatial, .spatialWord:
            let singles = ObjectShape.allCases.compactMap { byShape[$0]?.count == 1 ? byShape[$0]![0] : nil }
            var pairs: [[SceneObject]] = []
            for (i, a) in singles.enumerated() {
                for b in singles[(i + 1)...] where a.box.horizontalGap(to: b.box) >= max(a.box.longestSide, b.box.longestSide) {
                    pairs.append([a, b])
                }
            }
            return pairs.isEmpty ? nil : rng.pick(pairs)
        case .counting:
            let groups = ObjectShape.allCases.compactMap { byShape[$0] }.filter { (1...4).contains($0.count) }
            let wanted = groups.filter { $0.count == planned.wantCount }
            return groups.isEmpty ? nil : rng.pick(wanted.isEmpty ? groups : wanted)
        default:
            return nil
        }
    }

    /// A view that contains every box of `objects` with a random margin (1.05x to 2.5x their extent).
    func coveringView(_ objects: [SceneObject], scene: Scene, rng: inout SynthRandom) -> SceneBox {
        let x0 = objects.map(\.box.x).min()!, y0 = objects.map(\.box.y).min()!
        let x1 = objects.map(\.box.maxX).max()!, y1 = objects.map(\.box.maxY).max()!
        let side = Double(max(x1 - x0, y1 - y0, config.inputSize)) * rng.logUniform(1.05, 2.5)
        let w = min(scene.width, max(x1 - x0, Int(side))), h = min(scene.height, max(y1 - y0, Int(side)))
        func origin(_ lo: Int, _ hi: Int, _ size: Int, _ limit: Int) -> Int {
            // Any position that keeps [lo, hi) inside [origin, origin + size) and the view in the image.
            let first = max(0, hi - size), last = min(lo, limit - size)
            return first >= last ? max(0, min(first, limit - size)) : first + rng.int(last - first + 1)
        }
        return SceneBox(x: origin(x0, x1, w, scene.width), y: origin(y0, y1, h, scene.height), width: w, height: h)
    }

    // MARK: - Samples

    /// Attempts at finding a view that supports the planned question before falling back.
    static let attempts = 120

    /// Sample `index` (its scene is `scene(index / viewsPerScene)`), without pixels.
    public func sample(_ index: Int, scene: Scene) -> TrainingSample {
        let planned = plan[index]
        var rng = SynthRandom(seed: config.seed, purpose: .trainingSample, index: index)
        if planned.kind == .extraction { return extractionSample(index, rng: &rng) }
        if planned.kind == .lookup { return lookupSample(index, rng: &rng) }
        for attempt in 0..<Self.attempts {
            let view: SceneBox
            if attempt > 0, rng.bool(0.5), let group = targetGroup(planned, scene: scene, rng: &rng) {
                view = coveringView(group, scene: scene, rng: &rng)
            } else {
                let near = scene.objects.isEmpty || rng.bool(0.4) ? nil : rng.pick(scene.objects)
                view = randomView(scene, near: near, allowFull: attempt == 0, rng: &rng)
            }
            let strict = attempt < Self.attempts * 2 / 3
            let viewFacts = facts(scene, view: view)
            if var s = question(planned.kind, planned: planned, facts: viewFacts, strict: strict, rng: &rng) {
                s.id = index
                s.imageIndex = planned.imageIndex
                s.followUps = followUps(after: s, facts: viewFacts, rng: &rng)
                return s
            }
        }
        // The planned question does not fit this scene (rare): a verification question that does,
        // Yes or No by the sample's parity so that fallbacks keep the balance.
        for wantYes in [index % 2 == 0, index % 2 != 0] {
            var p = planned
            p.wantYes = wantYes
            for _ in 0..<Self.attempts {
                let near = scene.objects.isEmpty || rng.bool(0.3) ? nil : rng.pick(scene.objects)
                let view = randomView(scene, near: near, allowFull: false, rng: &rng)
                let viewFacts = facts(scene, view: view)
                if var s = question(.verification, planned: p, facts: viewFacts, strict: false, rng: &rng) {
                    s.id = index
                    s.imageIndex = planned.imageIndex
                    s.fellBack = true
                    s.followUps = followUps(after: s, facts: viewFacts, rng: &rng)
                    return s
                }
            }
        }
        preconditionFailure("no view of scene \(index / config.viewsPerScene) supports any question")
    }

    /// A question of `kind` answerable from the view, or nil. `strict`: counting only accepts the
    /// planned count (so counts stay balanced; later attempts take any count from 1 to 4).
    func question(
        _ kind: SampleKind, planned: Planned, facts: ViewFacts, strict: Bool, rng: inout SynthRandom
    ) -> TrainingSample? {
        let shapes = ObjectShape.allCases
        func multipleChoice(_ q: SynthQuestion) -> TrainingSample {
            let (shown, label) = q.shuffledOptions(&rng)
            return TrainingSample(
                id: 0, kind: kind, imageIndex: nil,
                prompt: QuestionText.imageMarker + QuestionText.multipleChoice(q.question, options: shown), answer: label,
                view: facts.view, question: q, shape: nil, fellBack: false)
        }
        switch kind {
        case .verification, .existence:
            let candidates = shapes.filter { planned.wantYes ? facts.present($0) : facts.absent($0) }
            guard !candidates.isEmpty else { return nil }
            let hard = !planned.wantYes && config.hardNegativeShare > 0 && rng.bool(config.hardNegativeShare)
                ? facts.lookAlikeAbsent() : nil
            let shape = hard ?? rng.pick(candidates)
            let boxes = planned.wantYes ? facts.visible[shape]!.map(\.box) : []
            let q = SynthQuestion.existence(shape: shape, boxes: boxes)
            if kind == .existence { return multipleChoice(q) }
            let word = rng.bool(config.pluralVerification) ? shape.plural : shape.name
            return TrainingSample(
                id: 0, kind: .verification, imageIndex: nil, prompt: QuestionText.imageMarker + QuestionText.verification(word),
                answer: planned.wantYes ? QuestionText.yes : QuestionText.no, view: facts.view, question: q,
                shape: shape, fellBack: false)
        case .attribute:
            let candidates = shapes.compactMap { facts.single($0) }
            guard !candidates.isEmpty else { return nil }
            let o = rng.pick(candidates)
            let decoys = config.decoyColorShare > 0 && rng.bool(config.decoyColorShare) ? facts.decoyColors(for: o) : []
            return multipleChoice(.attribute(
                shape: o.shape, color: o.color, box: o.box, colors: ObjectColor.allCases, decoys: decoys, rng: &rng))
        case .colorWord:
            let candidates = shapes.compactMap { facts.single($0) }
            guard !candidates.isEmpty else { return nil }
            let o = rng.pick(candidates)
            let q = SynthQuestion.attribute(shape: o.shape, color: o.color, box: o.box, colors: ObjectColor.allCases, rng: &rng)
            return TrainingSample(
                id: 0, kind: .colorWord, imageIndex: nil, prompt: QuestionText.imageMarker + QuestionText.attribute(o.shape),
                answer: o.color.rawValue, view: facts.view, question: q, shape: o.shape, fellBack: false)
        case .spatial, .spatialWord:
            let singles = shapes.compactMap { facts.single($0) }
            var pairs: [(SceneObject, SceneObject)] = []
            for a in singles {
                for b in singles where a.shape != b.shape
                    && a.box.horizontalGap(to: b.box) >= max(a.box.longestSide, b.box.longestSide) {
                    pairs.append((a, b))
                }
            }
            guard !pairs.isEmpty else { return nil }
            let (a, b) = rng.pick(pairs)
            let q = SynthQuestion.spatial(subject: a, reference: b)
            if kind == .spatial { return multipleChoice(q) }
            return TrainingSample(
                id: 0, kind: .spatialWord, imageIndex: nil, prompt: QuestionText.imageMarker + q.question,
                answer: q.answer, view: facts.view, question: q, shape: nil, fellBack: false)
        case .counting:
            let counts = shapes.filter { facts.present($0) && (1...4).contains(facts.visible[$0]!.count) }
            guard !counts.isEmpty else { return nil }
            // The planned count, or (after the strict attempts) the count nearest to it.
            let distance = counts.map { abs(facts.visible[$0]!.count - planned.wantCount) }
            let best = distance.min()!
            guard best == 0 || !strict else { return nil }
            let shape = rng.pick(zip(counts, distance).filter { $0.1 == best }.map(\.0))
            return multipleChoice(.counting(shape: shape, boxes: facts.visible[shape]!.map(\.box)))
        case .listing:
            // Every object that reaches in must be clearly visible, so the list has one answer.
            let touching = facts.touching.values.flatMap { $0 }
            let visible = facts.visible.values.flatMap { $0 }
            guard !visible.isEmpty, visible.count <= 8, touching.count == visible.count else { return nil }
            let ordered = visible.sorted { $0.box.centerX != $1.box.centerX ? $0.box.centerX < $1.box.centerX : $0.box.centerY < $1.box.centerY }
            return TrainingSample(
                id: 0, kind: .listing, imageIndex: nil, prompt: QuestionText.imageMarker + QuestionText.listing,
                answer: QuestionText.listingAnswer(ordered.map { ($0.color.rawValue, $0.shape.name) }),
                view: facts.view, question: nil, shape: nil, fellBack: false)
        case .answerable:
            let candidates = planned.wantYes
                ? shapes.filter { facts.single($0) != nil }
                : shapes.filter { (facts.visible[$0]?.count ?? 0) == 0 }
            guard !candidates.isEmpty else { return nil }
            let shape = rng.pick(candidates)
            // ZoomEye asks the question itself with one target, the appearance form with several.
            let asked = rng.bool(0.5) ? QuestionText.attribute(shape) : QuestionText.appearance(shape)
            return TrainingSample(
                id: 0, kind: .answerable, imageIndex: nil, prompt: QuestionText.imageMarker + QuestionText.zoomEyeAnswering(asked),
                answer: planned.wantYes ? QuestionText.yes : QuestionText.no, view: facts.view, question: nil,
                shape: shape, fellBack: false)
        case .latent:
            let candidates = shapes.filter { planned.wantYes ? !facts.absent($0) : facts.absent($0) }
            guard !candidates.isEmpty else { return nil }
            let shape = rng.pick(candidates)
            return TrainingSample(
                id: 0, kind: .latent, imageIndex: nil, prompt: QuestionText.imageMarker + QuestionText.zoomEyeLatent(shape.name),
                answer: planned.wantYes ? QuestionText.yes : QuestionText.no, view: facts.view, question: nil,
                shape: shape, fellBack: false)
        case .extraction, .lookup:
            return nil
        }
    }

    /// Up to `turns - 1` further questions about the same view, of image kinds drawn by the mix, with
    /// random wanted answers; a kind the view cannot support, or a question already asked, is redrawn
    /// a few times and then skipped.
    func followUps(after first: TrainingSample, facts: ViewFacts, rng: inout SynthRandom) -> [TrainingSample.Turn] {
        guard config.turns > 1 else { return [] }
        let kinds = SampleKind.allCases.filter(\.hasImage)
        let weights = kinds.map { config.mix.weight($0) }
        guard weights.reduce(0, +) > 0 else { return [] }
        var asked: Set<String> = [first.prompt]
        // A colour asked once, with or without options, is not asked again in the conversation: the
        // second answer would be a copy of the first, not a read of the object. (Only in recipes with
        // color-word samples, so that older recipes draw the same conversations.)
        let oneColourQuestion = config.mix.weight(.colorWord) > 0
        func colourKey(_ s: TrainingSample) -> String? {
            guard oneColourQuestion, s.kind == .attribute || s.kind == .colorWord, let shape = s.question?.targets.first else { return nil }
            return shape
        }
        var coloursAsked: Set<String> = Set([colourKey(first)].compactMap { $0 })
        var turns: [TrainingSample.Turn] = []
        for _ in 1..<config.turns {
            for _ in 0..<6 {
                let kind = kinds[rng.weightedIndex(weights)]
                let yesShare = kind == .verification ? config.verificationYesShare : 0.5
                let planned = Planned(kind: kind, wantYes: rng.bool(yesShare), wantCount: rng.int(in: 1...4), imageIndex: nil)
                guard let s = question(kind, planned: planned, facts: facts, strict: false, rng: &rng),
                      !asked.contains(s.prompt) else { continue }
                if let key = colourKey(s) {
                    guard !coloursAsked.contains(key) else { continue }
                    coloursAsked.insert(key)
                }
                asked.insert(s.prompt)
                let prompt = s.prompt.hasPrefix(QuestionText.imageMarker) ? String(s.prompt.dropFirst(QuestionText.imageMarker.count)) : s.prompt
                turns.append(.init(kind: s.kind, prompt: prompt, answer: s.answer, question: s.question, shape: s.shape))
                break
            }
        }
        return turns
    }

    /// A text-only multiple-choice question of a random type whose answer the prompt states first.
    func lookupSample(_ index: Int, rng: inout SynthRandom) -> TrainingSample {
        let q = randomQuestion(rng: &rng)
        let (shown, label) = q.shuffledOptions(&rng)
        return TrainingSample(
            id: index, kind: .lookup, imageIndex: nil,
            prompt: QuestionText.statement(q) + " " + QuestionText.multipleChoice(q.question, options: shown),
            answer: label, view: nil, question: q, shape: nil, fellBack: false)
    }

    /// A question about no scene (boxes are placeholders), of a random type with random answers.
    func randomQuestion(rng: inout SynthRandom) -> SynthQuestion {
        let picked = rng.sample(ObjectShape.allCases, count: 2)
        let a = picked[0], b = picked[1]
        let dummy = SceneBox(x: 0, y: 0, width: 1, height: 1)
        switch QuestionType.allCases[rng.int(QuestionType.allCases.count)] {
        case .attribute:
            return .attribute(shape: a, color: rng.pick(ObjectColor.allCases), box: dummy, colors: ObjectColor.allCases, rng: &rng)
        case .spatial:
            let subjectLeft = rng.bool(0.5)
            let subject = SceneObject(shape: a, color: .red, fill: (0, 0, 0), box: SceneBox(x: subjectLeft ? 0 : 10, y: 0, width: 1, height: 1))
            let reference = SceneObject(shape: b, color: .red, fill: (0, 0, 0), box: SceneBox(x: subjectLeft ? 10 : 0, y: 0, width: 1, height: 1))
            return .spatial(subject: subject, reference: reference)
        case .existence:
            return .existence(shape: a, boxes: rng.bool(0.5) ? [dummy] : [])
        case .counting:
            return .counting(shape: a, boxes: Array(repeating: dummy, count: rng.int(in: 1...4)))
        }
    }

    /// A text-only FOCUS step-1 sample about a random question of any type.
    func extractionSample(_ index: Int, rng: inout SynthRandom) -> TrainingSample {
        let q = randomQuestion(rng: &rng)
        return TrainingSample(
            id: index, kind: .extraction, imageIndex: nil, prompt: QuestionText.extractionPrompt(q.question),
            answer: QuestionText.extractionAnswer(q.targets), view: nil, question: q, shape: nil, fellBack: false)
    }

    /// Label of a cell that no object covers.
    public static let backgroundLabel: UInt8 = 0
    /// Label of a cell the auxiliary loss skips: an object there is too small or too cut off to name.
    public static let ignoredLabel: UInt8 = 255

    /// What each cell of the view shows, for the vision tower's auxiliary loss (dense supervision
    /// makes a from-scratch ViT learn shapes in minutes instead of hours): `[grid, grid, 2]` row-major,
    /// shape index + 1 and colour index + 1 of the visible object whose box holds the cell's centre (or,
    /// for an object smaller than a cell, the cell holding its centre), 0 for background, 255 where an
    /// object too small or too cut off to be recognised reaches in.
    public func cellLabels(_ scene: Scene, view: SceneBox) -> [UInt8] {
        let grid = config.inputSize / config.labelCell
        var labels = [UInt8](repeating: Self.backgroundLabel, count: grid * grid * 2)
        let side = max(view.width, view.height)
        let s = Double(config.inputSize) / Double(side)
        let ox = Double((side - view.width) / 2), oy = Double((side - view.height) / 2)
        let cell = Double(config.labelCell)
        var visible: [(SceneObject, x0: Double, y0: Double, x1: Double, y1: Double)] = []
        for object in scene.objects {
            guard let inside = object.box.intersection(view) else { continue }
            // The part inside the view, in input pixels.
            let x0 = (Double(inside.x - view.x) + ox) * s, x1 = (Double(inside.maxX - view.x) + ox) * s
            let y0 = (Double(inside.y - view.y) + oy) * s, y1 = (Double(inside.maxY - view.y) + oy) * s
            let clear = Double(inside.area) >= config.minVisibleFraction * Double(object.box.area)
                && Double(object.box.longestSide) * s >= (config.minLabelSize ?? config.minApparentSize)
            if clear {
                visible.append((object, x0, y0, x1, y1))
                continue
            }
            let c0 = max(0, Int(x0 / cell)), c1 = min(grid - 1, Int((x1 - 1e-9) / cell))
            let r0 = max(0, Int(y0 / cell)), r1 = min(grid - 1, Int((y1 - 1e-9) / cell))
            guard c0 <= c1, r0 <= r1 else { continue }
            for r in r0...r1 {
                for c in c0...c1 { labels[(r * grid + c) * 2] = Self.ignoredLabel; labels[(r * grid + c) * 2 + 1] = Self.ignoredLabel }
            }
        }
        let shapeIndex = Dictionary(uniqueKeysWithValues: ObjectShape.allCases.enumerated().map { ($1, $0) })
        let colorIndex = Dictionary(uniqueKeysWithValues: ObjectColor.allCases.enumerated().map { ($1, $0) })
        // Later objects are drawn over earlier ones, so they win shared cells.
        for (object, x0, y0, x1, y1) in visible {
            let shape = UInt8(shapeIndex[object.shape]! + 1), color = UInt8(colorIndex[object.color]! + 1)
            var any = false
            for r in 0..<grid {
                let cy = (Double(r) + 0.5) * cell
                guard cy >= y0, cy < y1 else { continue }
                for c in 0..<grid {
                    let cx = (Double(c) + 0.5) * cell
                    guard cx >= x0, cx < x1 else { continue }
                    labels[(r * grid + c) * 2] = shape
                    labels[(r * grid + c) * 2 + 1] = color
                    any = true
                }
            }
            if !any {
                let c = min(grid - 1, max(0, Int((x0 + x1) / 2 / cell))), r = min(grid - 1, max(0, Int((y0 + y1) / 2 / cell)))
                labels[(r * grid + c) * 2] = shape
                labels[(r * grid + c) * 2 + 1] = color
            }
        }
        return labels
    }

    /// The view as the model sees it: cut from the rendered scene, padded to a square of its longest
    /// side with CLIP's mean colour (the image centred at ((side - w) / 2, (side - h) / 2)), then
    /// resized to input x input with Pillow's bicubic. // out: [input, input, 3]
    public func pixels(of view: SceneBox, in image: RGBImage) -> RGBImage {
        let crop = image.cropped(x: view.x, y: view.y, width: view.width, height: view.height)
        var canvas = crop
        if crop.width != crop.height {
            let side = max(crop.width, crop.height)
            canvas = Self.solid(side: side, color: TrainingConfig.padColor)
            canvas.paste(crop, x: (side - crop.width) / 2, y: (side - crop.height) / 2)
        }
        return canvas.resized(width: config.inputSize, height: config.inputSize, resample: .bicubic)
    }

    /// A square of one colour (`RGBImage(width:height:fill:)` without its per-pixel loop: one row,
    /// then doubling copies).
    static func solid(side: Int, color: (r: UInt8, g: UInt8, b: UInt8)) -> RGBImage {
        let total = side * side * 3, rowBytes = side * 3
        var pixels = [UInt8](repeating: 0, count: total)
        pixels.withUnsafeMutableBufferPointer { p in
            for i in stride(from: 0, to: rowBytes, by: 3) { p[i] = color.r; p[i + 1] = color.g; p[i + 2] = color.b }
            var filled = rowBytes
            while filled < total {
                let n = min(filled, total - filled)
                (p.baseAddress! + filled).update(from: p.baseAddress!, count: n)
                filled += n
            }
        }
        return RGBImage(width: side, height: side, pixels: pixels)
    }

    /// The image scene `k`'s views are cut from: its render, through a JPEG round trip when
    /// `jpegQuality` is set and the scene falls in the `jpegShare` (a fixed hash of `k`, so the
    /// output stays the same for any worker count).
    func viewSource(_ k: Int, scene: Scene) throws -> RGBImage {
        let image = SceneRenderer.render(scene)
        guard let quality = config.jpegQuality, Double((k &* 2_654_435_761) % 1000) < config.jpegShare * 1000 else {
            return image
        }
        return try ImageDecoder.decode(data: ImageEncoder.jpeg(image, quality: quality), name: "scene \(k) (JPEG round trip)")
    }

    // MARK: - Writing

    public struct Summary: Sendable {
        public var samples: Int
        public var images: Int
        public var kinds: [SampleKind: Int]
        public var answers: [String: Int]
        public var fallbacks: Int
    }

    /// Writes images.u8, samples.jsonl and manifest.json into `directory` with `workers` threads.
    @discardableResult
    public func write(to directory: URL, workers: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> Summary {
        try Output.makeDirectory(directory)
        let imageBytes = config.inputSize * config.inputSize * 3
        let imagesURL = directory.appendingPathComponent("images.u8")
        let fd = try Self.openSized(imagesURL, bytes: imageCount * imageBytes)
        defer { close(fd) }
        let grid = config.inputSize / config.labelCell
        let labelBytes = grid * grid * 2
        let labelsURL = directory.appendingPathComponent("labels.u8")
        let labelsFD = try Self.openSized(labelsURL, bytes: imageCount * labelBytes)
        defer { close(labelsFD) }

        let lines = Slots<String>(count: config.count)
        let outcomes = Slots<(SampleKind, String, Bool)>(count: config.count)
        let set = self
        let views = config.viewsPerScene
        let counter = ProgressCounter()
        try parallelFor(sceneCount, workers: workers) { k in
            let first = k * views, last = min(first + views, set.config.count)
            let scene = set.scene(k)
            var rendered: RGBImage?
            for i in first..<last {
                let s = set.sample(i, scene: scene)
                if let view = s.view, let slot = s.imageIndex {
                    if rendered == nil { rendered = try set.viewSource(k, scene: scene) }
                    let pixels = set.pixels(of: view, in: rendered!)
                    let written = pixels.pixels.withUnsafeBytes { raw in
                        pwrite(fd, raw.baseAddress, imageBytes, off_t(slot * imageBytes))
                    }
                    guard written == imageBytes else {
                        throw SynthError(.output, "cannot write \(imagesURL.path) (\(String(cString: strerror(errno))))")
                    }
                    let labels = set.cellLabels(scene, view: view)
                    let wroteLabels = labels.withUnsafeBytes { raw in
                        pwrite(labelsFD, raw.baseAddress, labelBytes, off_t(slot * labelBytes))
                    }
                    guard wroteLabels == labelBytes else {
                        throw SynthError(.output, "cannot write \(labelsURL.path) (\(String(cString: strerror(errno))))")
                    }
                }
                lines[i] = s.record.compact
                outcomes[i] = (s.kind, s.answer, s.fellBack)
            }
            if let progress { progress(counter.add(last - first), set.config.count) }
        }

        var kinds: [SampleKind: Int] = [:], answers: [String: Int] = [:], fallbacks = 0
        for (kind, answer, fellBack) in outcomes.all {
            kinds[kind, default: 0] += 1
            if kind == .verification || kind == .existence { answers["\(kind.rawValue)/\(answer)", default: 0] += 1 }
            if fellBack { fallbacks += 1 }
        }
        try Output.write(lines.all.joined(separator: "\n") + "\n", to: directory.appendingPathComponent("samples.jsonl"))
        let summary = Summary(samples: config.count, images: imageCount, kinds: kinds, answers: answers, fallbacks: fallbacks)
        try Output.write(manifest(summary).pretty + "\n", to: directory.appendingPathComponent("manifest.json"))
        return summary
    }

    /// A file created (or truncated) at `url` and sized to `bytes`, for slot writes with `pwrite`.
    static func openSized(_ url: URL, bytes: Int) throws -> Int32 {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw SynthError(.output, "cannot write \(url.path) (\(String(cString: strerror(errno))))")
        }
        guard ftruncate(fd, off_t(bytes)) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SynthError(.output, "cannot size \(url.path) to \(bytes) bytes (\(reason))")
        }
        return fd
    }

    public func manifest(_ summary: Summary) -> JSONValue {
        let c = config
        let pad = TrainingConfig.padColor
        return .object([
            ("generator", .string("focus synth-train")),
            ("version", .int(TrainingConfig.generatorVersion)),
            ("count", .int(c.count)),
            ("images", .int(summary.images)),
            ("input_size", .int(c.inputSize)),
            ("images_layout", .string("images.u8: uint8 [images, input_size, input_size, 3], RGB, row-major")),
            ("label_cell", .int(c.labelCell)),
            ("labels_layout", .string("labels.u8: uint8 [images, input_size / label_cell, input_size / label_cell, 2], (shape index + 1, colour index + 1) per cell; 0 background, 255 ignore")),
            ("shapes", .array(ObjectShape.allCases.map { .string($0.name) })),
            ("colors", .array(ObjectColor.allCases.map { .string($0.rawValue) })),
            ("seed", .int(Int(truncatingIfNeeded: c.seed))),
            ("size", .string("\(c.width)x\(c.height)")),
            ("views_per_scene", .int(c.viewsPerScene)),
            ("scenes", .int(sceneCount)),
            ("max_distractors", .int(c.maxDistractors)),
            ("mix", .object(SampleKind.allCases.map { ($0.rawValue, .double(c.mix.weight($0))) })),
            ("kinds", .object(SampleKind.allCases.map { ($0.rawValue, .int(summary.kinds[$0] ?? 0)) })),
            ("answers", .object(summary.answers.keys.sorted().map { ($0, .int(summary.answers[$0]!)) })),
            ("fallbacks", .int(summary.fallbacks)),
            ("min_visible_fraction", .double(c.minVisibleFraction)),
            ("min_apparent_size", .double(c.minApparentSize)),
            ("min_label_size", .double(c.minLabelSize ?? c.minApparentSize)),
            ("plural_verification", .double(c.pluralVerification)),
            ("full_view_probability", .double(c.fullViewProbability)),
            ("native_view_share", .double(c.nativeViewShare)),
            ("decoy_color_share", .double(c.decoyColorShare)),
            ("hard_negative_share", .double(c.hardNegativeShare)),
            ("verification_yes_share", .double(c.verificationYesShare)),
            ("object_scale", .array([.double(c.objectScale.lowerBound), .double(c.objectScale.upperBound)])),
            ("jpeg_quality", c.jpegQuality.map { .int($0) } ?? .null),
            ("jpeg_share", .double(c.jpegQuality == nil ? 0 : c.jpegShare)),
            ("preprocessing", .object([
                ("pad_to_square", .array([.int(Int(pad.r)), .int(Int(pad.g)), .int(Int(pad.b))])),
                ("resample", .string("bicubic")),
            ])),
            ("turns", .int(c.turns)),
            ("chat_format", .string("USER: {prompt} ASSISTANT: {answer}</s>, then USER: {turns[i].prompt} ASSISTANT: {turns[i].answer}</s> for each follow-up turn")),
            ("plurals", .object(ObjectShape.allCases.map { ($0.name, .string($0.plural)) })),
        ])
    }
}

/// Samples finished so far, for progress lines.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func add(_ n: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        value += n
        return value
    }
}
