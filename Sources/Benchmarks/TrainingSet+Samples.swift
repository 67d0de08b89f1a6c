// TrainingSet's samples: for each planned kind, a view that supports the question, the question and
// its answer (and follow-up turns); per-cell labels and pixels of a view for the vision tower's auxiliary loss.
import Foundation
import Models

extension TrainingSet {
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
}
