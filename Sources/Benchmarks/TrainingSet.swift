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
}
