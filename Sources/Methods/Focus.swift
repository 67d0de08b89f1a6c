import Foundation
import Models

/// Every knob of FOCUS (method document), with the paper's defaults and its ablation switches.
public struct FocusOptions: Sendable, Codable, Equatable, Hashable {
    /// Regions verified before the answer (1, 2, 3, 4, 6, 8).
    public var steps = 8
    /// Keep verifying past `steps` until a region says Yes (or proposals run out).
    public var overrun = true
    /// Step-3 parameters on LLaVA-1.5's 24-cell grid; nil: `ProposalOptions.llava15(steps:)`. Other
    /// grids get them scaled (`ProposalOptions.scaled`).
    public var proposals: ProposalOptions?
    public var relevance = RelevanceOptions()
    /// Ablation: take proposals in map order without verification ("no ranking": steps 1, no overrun).
    public var ranking = true
    /// Ablation: a seeded random map instead of the model's (the map's pass is still spent, so the
    /// geometry is the same; the ablation is about accuracy).
    public var randomMap = false
    /// Type-2 questions keep every checked region above this confidence.
    public var type2Confidence: Float = 0.6
    /// Type-1 targets whose regions' centres are farther apart (original pixels) go on a canvas
    /// instead of one union crop; nil: the method document's 1200 px, set for a 336-px encoder,
    /// scaled to the model's (`canvasDistance(inputSize:)`).
    public var canvasDistance: Double?

    public init() {}

    /// The canvas distance for an encoder of `inputSize` pixels. The 1200 px of the method document
    /// leave each of two objects at their union crop about as large as a 336-px encoder needs; a
    /// smaller encoder (the toy model's 96 px) shrinks the union to the same view sooner, so the
    /// default scales with it.
    public func canvasDistance(inputSize: Int) -> Double {
        canvasDistance ?? Self.defaultCanvasDistance(inputSize: inputSize)
    }

    /// The method document's 1200 px scaled to an encoder of `inputSize` pixels.
    public static func defaultCanvasDistance(inputSize: Int) -> Double {
        scaledToEncoder(1200, inputSize: inputSize)
    }

    /// A length in original pixels chosen for LLaVA-1.5's 336-px encoder, scaled to `inputSize`.
    public static func scaledToEncoder(_ pixels: Double, inputSize: Int) -> Double {
        pixels * Double(inputSize) / 336
    }

    /// The step-3 parameters for a map of `grid` cells over a padded image of `paddedSide` pixels.
    public func proposalOptions(grid: Int, paddedSide: Int, inputSize: Int) -> ProposalOptions {
        (proposals ?? ProposalOptions.llava15(steps: steps))
            .scaled(toGrid: grid, cellPixels: Double(paddedSide) / Double(grid), inputSize: inputSize)
    }
}

/// What FOCUS found for one target: its map, the ranked proposals and the regions it checked.
public struct TargetEvidence: Sendable, Codable, Equatable {
    public struct Region: Sendable, Codable, Equatable {
        public var box: PixelBox
        public var anchorScore: Float
        /// 2·softmax(yes, no)_yes − 1, when the region was checked.
        public var confidence: Float?
    }

    public var target: String
    public var map: RelevanceMap
    public var geometry: ImageGeometry
    /// In proposal order; `confidence` set on the checked ones.
    public var regions: [Region]
    /// Index into `regions` of the region used for the answer.
    public var chosen: Int?
}

/// The evidence of a FOCUS answer (written by `--explain`).
public struct FocusEvidence: Sendable, Codable, Equatable {
    public var targets: [String]
    public var all: Bool
    public var perTarget: [TargetEvidence]
}

/// FOCUS: targets from the model (step 1), a relevance map per target from its value cache (step 2),
/// proposals (step 3) verified by Yes/No checks on crops (step 4), the answer on the best crop(s)
/// (step 5). Every model call is a task; the driver decides where it runs.
public struct Focus: AnsweringMethod {
    public let name = "focus"
    public let options: FocusOptions
    public let extractor: TargetExtractor

    public init(options: FocusOptions = FocusOptions(), extractor: TargetExtractor) {
        self.options = options
        self.extractor = extractor
    }

    public static func verificationQuestion(_ target: String) -> String {
        "Is there a \(target) in the image? Answer Yes or No."
    }

    public func answer(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> Answer {
        var evidence: FocusEvidence?
        return try answer(question, executor: executor, ledger: &ledger, evidence: &evidence)
    }

    public func answer(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger,
                       evidence: inout FocusEvidence?) throws -> Answer {
        let targets = try extractor.extract(question.text, executor: executor, ledger: &ledger)
        guard !targets.names.isEmpty else {
            // Decision (method document): no target parsed, no search; answer on the full image.
            var a = try executor.answerMultipleChoice(question, on: [ImageView(image: question.image)], ledger: &ledger)
            a.targets = []
            a.record([.noTarget])
            evidence = FocusEvidence(targets: [], all: false, perTarget: [])
            return a
        }
        var perTarget: [TargetEvidence] = []
        for target in targets.names {
            perTarget.append(try search(target, image: question.image, executor: executor, ledger: &ledger))
        }
        evidence = FocusEvidence(targets: targets.names, all: targets.all, perTarget: perTarget)
        let view = try finalView(question.image, evidence: perTarget, all: targets.all, executor: executor)
        var a = try executor.answerMultipleChoice(question, on: [view], ledger: &ledger)
        a.targets = targets.names
        a.record(Self.fallbacks(perTarget, view: view))
        a.checks = Self.checks(perTarget)
        return a
    }

    /// Steps 2 to 4 for one target.
    func search(_ target: String, image: URL, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> TargetEvidence {
        let prompt = executor.chatTemplate.prompt(question: Self.verificationQuestion(target), image: true)
        let output = try executor.run(ModelTask(prompt: prompt, views: [ImageView(image: image)],
                                                operation: .relevance(phrase: target, options: options.relevance),
                                                bucket: .search), ledger: &ledger)
        guard case .relevance(var map, let geometry) = output else { preconditionFailure("a relevance task returns a map") }
        if options.randomMap {
            // Seeded by the file name, not the path, so the ablation's figure does not depend on where
            // the benchmark lies on disk.
            var rng = SplitMix64(seed: (image.lastPathComponent + "|" + target).hashValue64)
            map.scores = map.scores.map { _ in Float(rng.nextDouble()) }
            let s = map.scores.reduce(0, +)
            map.scores = map.scores.map { $0 / s }
        }
        let proposals = RegionProposer.propose(map, options: options.proposalOptions(
            grid: map.rows, paddedSide: max(geometry.paddedWidth, geometry.paddedHeight), inputSize: executor.inputSize))
        var regions = proposals.map {
            TargetEvidence.Region(box: RegionProposer.pixelBox($0.square, grid: (map.rows, map.columns), geometry: geometry,
                                                              minimumSide: executor.inputSize),
                                  anchorScore: $0.score, confidence: nil)
        }
        guard !regions.isEmpty else { return TargetEvidence(target: target, map: map, geometry: geometry, regions: [], chosen: nil) }
        let verify = options.ranking && (options.steps > 1 || options.overrun)
        guard verify else { return TargetEvidence(target: target, map: map, geometry: geometry, regions: regions, chosen: 0) }
        var anyYes = false
        for i in regions.indices {
            if i >= options.steps && (!options.overrun || anyYes) { break }
            let l = try executor.yesNoLogits(prompt: prompt, views: [ImageView(image: image, crop: regions[i].box)], ledger: &ledger)
            regions[i].confidence = Self.confidence(yes: l.yes, no: l.no)
            if l.yes > l.no { anyYes = true }
        }
        // Re-rank the checked regions by confidence (the first of equals wins).
        let best = regions.indices.filter { regions[$0].confidence != nil }
            .max { regions[$0].confidence! < regions[$1].confidence! || (regions[$0].confidence! == regions[$1].confidence! && $0 > $1) }
        return TargetEvidence(target: target, map: map, geometry: geometry, regions: regions, chosen: best)
    }

    /// The checked regions of every target, in the order they were checked (nil when none was).
    static func checks(_ evidence: [TargetEvidence]) -> [RegionCheck]? {
        let out = evidence.flatMap { t in
            t.regions.indices.compactMap { i in
                t.regions[i].confidence.map { RegionCheck(target: t.target, box: t.regions[i].box, confidence: $0, chosen: i == t.chosen) }
            }
        }
        return out.isEmpty ? nil : out
    }

    /// What the search of each target fell back to, and whether the answer fell back to the full image.
    static func fallbacks(_ evidence: [TargetEvidence], view: ImageView) -> [Fallback] {
        var out: [Fallback] = []
        for t in evidence {
            let checked = t.regions.compactMap(\.confidence)
            if t.regions.isEmpty || t.chosen == nil {
                out.append(.noRegion(t.target))
            } else if !checked.isEmpty && checked.allSatisfy({ $0 <= 0 }) {
                out.append(.nowhere(t.target))
            }
        }
        if view.isWholeImage { out.append(.fullImage) }
        return out
    }

    /// 2·softmax(l_yes, l_no)_yes − 1 = tanh((l_yes − l_no) / 2).
    public static func confidence(yes: Float, no: Float) -> Float { tanh((yes - no) / 2) }

    /// Step 5: the view the answer is computed on.
    func finalView(_ image: URL, evidence: [TargetEvidence], all: Bool, executor: TaskExecutor) throws -> ImageView {
        if all {
            // Type 2: every checked region above the confidence bar, overlapping ones merged.
            var boxes: [PixelBox] = []
            for t in evidence {
                for r in t.regions where (r.confidence ?? -1) > options.type2Confidence { boxes.append(r.box) }
            }
            if boxes.isEmpty, let t = evidence.first, let c = t.chosen { boxes = [t.regions[c].box] }
            boxes = PixelBox.mergingOverlaps(boxes)
            guard !boxes.isEmpty else { return ImageView(image: image) }
            return boxes.count == 1 ? ImageView(image: image, crop: boxes[0]) : ImageView(image: image, canvas: boxes)
        }
        let chosen = evidence.compactMap { t in t.chosen.map { t.regions[$0].box } }
        guard !chosen.isEmpty else { return ImageView(image: image) }
        if chosen.count == 1 { return ImageView(image: image, crop: chosen[0]) }
        return ImageView.type1(image: image, regions: chosen,
                               canvasDistance: options.canvasDistance(inputSize: executor.inputSize))
    }

}

/// A small seeded generator for the random-map ablation (reproducible across runs and machines).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension String {
    /// FNV-1a: a hash that, unlike `hashValue`, is the same in every process.
    var hashValue64: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
