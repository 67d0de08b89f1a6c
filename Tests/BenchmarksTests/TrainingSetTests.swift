import Foundation
import Models
import XCTest

@testable import Benchmarks

/// `focus synth-train`: file layout and sizes, determinism across worker counts, every answer checked
/// against the scene and the view, Yes/No balance, and pixels equal to the image processor's.
final class TrainingSetTests: SynthTestCase {
    func config(count: Int = 160, seed: UInt64 = 3) -> TrainingConfig {
        var c = TrainingConfig()
        (c.width, c.height) = (512, 384)
        c.inputSize = 32
        c.count = count
        c.seed = seed
        c.maxDistractors = 20
        // The default 8 px is for a 96 px input; a third of it for these 32 px views.
        c.minApparentSize = 3
        return c
    }

    // MARK: - Files

    func testExportLayout() throws {
        let set = try TrainingSet(config: config())
        let out = temporaryDirectory()
        let summary = try set.write(to: out, workers: 2)
        let bytes = try Data(contentsOf: out.appendingPathComponent("images.u8"))
        XCTAssertEqual(bytes.count, summary.images * 32 * 32 * 3)
        XCTAssertEqual(summary.images, set.imageCount)

        let samples = try jsonLines(out.appendingPathComponent("samples.jsonl"))
        XCTAssertEqual(samples.count, 160)
        var nextImage = 0
        for (i, s) in samples.enumerated() {
            XCTAssertEqual(s["id"] as? Int, i)
            let kind = try XCTUnwrap(SampleKind(rawValue: s["kind"] as? String ?? ""))
            let prompt = try XCTUnwrap(s["prompt"] as? String)
            XCTAssertNotNil(s["answer"] as? String)
            if kind.hasImage {
                XCTAssertEqual(s["image_index"] as? Int, nextImage)
                XCTAssertTrue(prompt.hasPrefix("<image>\n"), prompt)
                XCTAssertEqual((s["view"] as? [Int])?.count, 4)
                nextImage += 1
            } else {
                XCTAssertTrue(s["image_index"] is NSNull)
                XCTAssertFalse(prompt.contains("<image>"))
            }
        }
        XCTAssertEqual(nextImage, summary.images)
        let labels = try Data(contentsOf: out.appendingPathComponent("labels.u8"))
        XCTAssertEqual(labels.count, summary.images * 4 * 4 * 2)
        let manifest = try jsonObject(out.appendingPathComponent("manifest.json"))
        XCTAssertEqual(manifest["label_cell"] as? Int, 8)
        XCTAssertEqual((manifest["shapes"] as? [String])?.count, ObjectShape.allCases.count)
        XCTAssertEqual(manifest["input_size"] as? Int, 32)
        XCTAssertEqual(manifest["count"] as? Int, 160)
        XCTAssertEqual(manifest["images"] as? Int, summary.images)
        XCTAssertEqual((manifest["kinds"] as? [String: Int])?.values.reduce(0, +), 160)
        XCTAssertEqual((manifest["preprocessing"] as? [String: Any])?["pad_to_square"] as? [Int], [122, 116, 104])
    }

    /// The per-patch labels of a hand-made scene, worked out on paper: the whole 512x384 scene is
    /// padded to 512x512 (64 rows above), shown at 32 px (1/16), in 8-px cells.
    func testCellLabelsOfAHandMadeScene() throws {
        let set = try TrainingSet(config: config())
        var scene = set.scene(0)
        scene.objects = [
            // 16 px apparent, fills cells (0,0) (0,1) (1,0) (1,1).
            SceneObject(shape: .star, color: .red, fill: (220, 35, 35), box: SceneBox(x: 0, y: 0, width: 256, height: 192)),
            // 2 px apparent: too small to name, its cells are ignored.
            SceneObject(shape: .circle, color: .green, fill: (40, 165, 60), box: SceneBox(x: 400, y: 300, width: 32, height: 32)),
            // 8 px apparent (the minimum), holds the centre of cell (0,2) only.
            SceneObject(shape: .square, color: .blue, fill: (35, 75, 220), box: SceneBox(x: 300, y: 0, width: 128, height: 128)),
        ]
        let labels = set.cellLabels(scene, view: scene.bounds)
        let shapes = stride(from: 0, to: labels.count, by: 2).map { labels[$0] }
        let colors = stride(from: 1, to: labels.count, by: 2).map { labels[$0] }
        XCTAssertEqual(shapes, [4, 4, 2, 0, 4, 4, 0, 0, 0, 0, 0, 255, 0, 0, 0, 255])
        XCTAssertEqual(colors, [1, 1, 6, 0, 1, 1, 0, 0, 0, 0, 0, 255, 0, 0, 0, 255])
        // A view of the star's corner alone: the star is cut off (under 70 % inside), so ignored.
        let corner = set.cellLabels(scene, view: SceneBox(x: 0, y: 0, width: 128, height: 128))
        XCTAssertEqual(Set(corner), [255])

        // With --min-label-size 2 the 2-px circle is named too, in the cell holding its centre
        // (416, 316) + 64 of padding -> (26, 23) at 1/16: cell (2, 3), index 11; its other cell stays
        // background. The questions' visibility rule is unchanged.
        var small = config()
        small.minLabelSize = 2
        let named = try TrainingSet(config: small).cellLabels(scene, view: scene.bounds)
        XCTAssertEqual(stride(from: 0, to: named.count, by: 2).map { named[$0] }, [4, 4, 2, 0, 4, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
        XCTAssertFalse(try TrainingSet(config: small).facts(scene, view: scene.bounds).visible.keys.contains(.circle))
    }

    func testSameBytesForAnyWorkerCountAndDifferentForAnotherSeed() throws {
        let set = try TrainingSet(config: config(count: 60))
        let a = temporaryDirectory("a"), b = temporaryDirectory("b"), c = temporaryDirectory("c")
        try set.write(to: a, workers: 1)
        try set.write(to: b, workers: 3)
        XCTAssertEqual(try files(under: a), try files(under: b))
        try TrainingSet(config: config(count: 60, seed: 4)).write(to: c, workers: 2)
        let filesA = try files(under: a), filesC = try files(under: c)
        XCTAssertNotEqual(filesA["samples.jsonl"], filesC["samples.jsonl"])
        XCTAssertNotEqual(filesA["images.u8"], filesC["images.u8"])
    }

    func testImagesAreTheViewsAsTheModelSeesThem() throws {
        let set = try TrainingSet(config: config(count: 24))
        let out = temporaryDirectory()
        try set.write(to: out, workers: 2)
        let bytes = [UInt8](try Data(contentsOf: out.appendingPathComponent("images.u8")))
        let side = 32, n = side * side * 3
        for i in 0..<24 {
            let scene = set.scene(i / set.config.viewsPerScene)
            let s = set.sample(i, scene: scene)
            guard let view = s.view, let slot = s.imageIndex else { continue }
            let expected = set.pixels(of: view, in: SceneRenderer.render(scene))
            XCTAssertEqual(Array(bytes[(slot * n)..<((slot + 1) * n)]), expected.pixels, "sample \(i)")
        }
    }

    /// With --jpeg-quality every view of a scene is cut from the same decoded JPEG of its render
    /// (what a benchmark's JPEG file decodes to), so the views differ from the lossless ones a
    /// little, never a lot, and the output stays deterministic.
    func testJPEGScenesAreTheDecodedJPEGOfTheRender() throws {
        var c = config(count: 24)
        c.jpegQuality = 80
        let set = try TrainingSet(config: c)
        let out = temporaryDirectory("jpeg"), again = temporaryDirectory("jpeg-again")
        try set.write(to: out, workers: 2)
        try set.write(to: again, workers: 1)
        XCTAssertEqual(try files(under: out), try files(under: again))
        let bytes = [UInt8](try Data(contentsOf: out.appendingPathComponent("images.u8")))
        let n = 32 * 32 * 3
        var compared = 0
        for i in 0..<24 {
            let scene = set.scene(i / set.config.viewsPerScene)
            let s = set.sample(i, scene: scene)
            guard let view = s.view, let slot = s.imageIndex else { continue }
            let render = SceneRenderer.render(scene)
            let decoded = try ImageDecoder.decode(data: ImageEncoder.jpeg(render, quality: 80), name: "expected")
            let written = Array(bytes[(slot * n)..<((slot + 1) * n)])
            XCTAssertEqual(written, set.pixels(of: view, in: decoded).pixels, "sample \(i)")
            let lossless = set.pixels(of: view, in: render).pixels
            let meanDifference = zip(written, lossless).map { abs(Int($0) - Int($1)) }.reduce(0, +) / n
            XCTAssertLessThan(meanDifference, 12, "sample \(i): a JPEG round trip, not another picture")
            compared += 1
        }
        XCTAssertGreaterThan(compared, 10)
        var bad = config()
        bad.jpegQuality = 0
        expectSynthError(.badArgument, ["--jpeg-quality", "between 1 and 100"]) { try bad.validate() }
        bad = config()
        bad.jpegShare = 1.5
        expectSynthError(.badArgument, ["--jpeg-share"]) { try bad.validate() }
    }

    /// The view's pixels, normalised, equal CLIPImageProcessor's pad-to-square output at the input size.
    func testPixelsMatchTheImageProcessorPadToSquare() throws {
        let set = try TrainingSet(config: config())
        var pc = ImageProcessorConfig()
        pc.size = .init(shortestEdge: 32)
        pc.cropSize = .init(height: 32, width: 32)
        let processor = ImageProcessor(config: pc)
        let scene = set.scene(0)
        let image = SceneRenderer.render(scene)
        for view in [SceneBox(x: 10, y: 20, width: 200, height: 90), SceneBox(x: 300, y: 0, width: 60, height: 170),
                     SceneBox(x: 0, y: 0, width: 512, height: 384), SceneBox(x: 5, y: 5, width: 32, height: 32)] {
            let mine = set.pixels(of: view, in: image)
            XCTAssertEqual([mine.width, mine.height], [32, 32])
            let crop = image.cropped(x: view.x, y: view.y, width: view.width, height: view.height)
            let reference = processor.preprocess(crop, mode: .padToSquare).pixelValues  // [3, 32, 32]
            var normalised = [Float](repeating: 0, count: 3 * 32 * 32)
            for p in 0..<(32 * 32) {
                for c in 0..<3 {
                    let x = Float(Double(mine.pixels[p * 3 + c]) * (1.0 / 255.0))
                    normalised[c * 1024 + p] = (x - Float(pc.imageMean[c])) / Float(pc.imageStd[c])
                }
            }
            XCTAssertEqual(normalised, reference, "\(view)")
        }
        XCTAssertTrue(TrainingConfig.padColor == (122, 116, 104))
    }

    // MARK: - Answers

    func testEveryAnswerFollowsFromTheSceneAndTheView() throws {
        var c = config(count: 400)
        c.mix = try TrainingMix.parse("verification=0.2,existence=0.15,attribute=0.2,spatial=0.15,counting=0.1,extraction=0.1,listing=0.1,lookup=0.1,spatial-word=0.1,answerable=0.1,latent=0.1,color-word=0.1")
        c.turns = 3
        let set = try TrainingSet(config: c)
        var scene = set.scene(0), sceneIndex = 0
        var seen = Set<SampleKind>(), followUps = 0
        for i in 0..<c.count {
            if i / c.viewsPerScene != sceneIndex { sceneIndex = i / c.viewsPerScene; scene = set.scene(sceneIndex) }
            let first = set.sample(i, scene: scene)
            XCTAssertLessThanOrEqual(first.followUps.count, 2)
            XCTAssertEqual(Set(([first.prompt] + first.followUps.map { QuestionText.imageMarker + $0.prompt })).count,
                           1 + first.followUps.count, "sample \(i): no question asked twice")
            // Follow-up turns are checked like first turns about the same view.
            let turns = [first] + first.followUps.map { t in
                XCTAssertFalse(t.prompt.contains("<image>"))
                return TrainingSample(id: first.id, kind: t.kind, imageIndex: first.imageIndex, prompt: QuestionText.imageMarker + t.prompt,
                                      answer: t.answer, view: first.view, question: t.question, shape: t.shape, fellBack: false)
            }
            followUps += first.followUps.count
            // With color-word in the mix, a shape's colour is asked once per conversation (with or
            // without options), so no turn is answered by copying an earlier one.
            let colourShapes = turns.filter { $0.kind == .attribute || $0.kind == .colorWord }.compactMap { $0.question?.targets.first }
            XCTAssertEqual(Set(colourShapes).count, colourShapes.count, "sample \(i): \(colourShapes)")
          for s in turns {
            seen.insert(s.kind)
            if s.kind == .extraction {
                try checkExtraction(s)
                continue
            }
            if s.kind == .lookup {
                try checkLookup(s)
                continue
            }
            let view = try XCTUnwrap(s.view)
            XCTAssertTrue(view.x >= 0 && view.y >= 0 && view.maxX <= 512 && view.maxY <= 384)
            let scale = 32.0 / Double(view.longestSide)
            func touching(_ shape: ObjectShape) -> [SceneObject] { scene.objects(of: shape).filter { $0.box.intersects(view) } }
            func visible(_ o: SceneObject) -> Bool {
                Double(o.box.intersection(view)?.area ?? 0) >= 0.7 * Double(o.box.area)
                    && Double(o.box.longestSide) * scale >= c.minApparentSize
            }
            if s.kind == .verification {
                let shape = try XCTUnwrap(s.shape)
                XCTAssertTrue(s.prompt == "<image>\nIs there a \(shape.name) in the image? Answer Yes or No."
                              || s.prompt == "<image>\nIs there a \(shape.plural) in the image? Answer Yes or No.", s.prompt)
                if s.answer == "Yes" {
                    XCTAssertFalse(touching(shape).isEmpty)
                    XCTAssertTrue(touching(shape).allSatisfy(visible), "sample \(i): every \(shape) in the view is visible")
                } else {
                    XCTAssertEqual(s.answer, "No")
                    XCTAssertTrue(touching(shape).isEmpty, "sample \(i): no \(shape) reaches into the view")
                }
                continue
            }
            if s.kind == .answerable {
                // ZoomEye's answering confidence: Yes exactly when the one instance of the shape is visible.
                let shape = try XCTUnwrap(s.shape)
                XCTAssertTrue(s.prompt == "<image>\n" + QuestionText.zoomEyeAnswering("What is the color of the \(shape.name)?")
                              || s.prompt == "<image>\n" + QuestionText.zoomEyeAnswering("What is the appearance of the \(shape.name)?"), s.prompt)
                if s.answer == "Yes" {
                    XCTAssertEqual(touching(shape).count, 1, "sample \(i)")
                    XCTAssertTrue(touching(shape).allSatisfy(visible), "sample \(i)")
                } else {
                    XCTAssertEqual(s.answer, "No")
                    XCTAssertFalse(touching(shape).contains(where: visible), "sample \(i): no \(shape) is visible in the view")
                }
                continue
            }
            if s.kind == .latent {
                // ZoomEye's latent confidence: Yes when the shape reaches into the view at any size.
                let shape = try XCTUnwrap(s.shape)
                XCTAssertEqual(s.prompt, "<image>\nAccording to your common sense knowledge and the content of the image, is it possible to find a \(shape.name) in the image? Answer Yes or No and tell the reason.")
                XCTAssertEqual(s.answer, touching(shape).isEmpty ? "No" : "Yes", "sample \(i)")
                continue
            }
            if s.kind == .spatialWord {
                // The spatial question without options, answered with the word.
                let q = try XCTUnwrap(s.question)
                XCTAssertEqual(s.prompt, "<image>\n" + q.question)
                let a = touching(try XCTUnwrap(ObjectShape(name: q.targetObjects[0])))
                let b = touching(try XCTUnwrap(ObjectShape(name: q.targetObjects[1])))
                XCTAssertEqual(a.count, 1)
                XCTAssertEqual(b.count, 1)
                XCTAssertTrue(visible(a[0]) && visible(b[0]))
                XCTAssertEqual(s.answer, a[0].box.centerX < b[0].box.centerX ? "left" : "right", "sample \(i)")
                continue
            }
            if s.kind == .colorWord {
                // The colour question without options, answered with the colour's word.
                let shape = try XCTUnwrap(s.shape)
                XCTAssertEqual(s.prompt, "<image>\nWhat is the color of the \(shape.name)?")
                let objects = touching(shape)
                XCTAssertEqual(objects.count, 1, "sample \(i): one \(shape) in the view")
                XCTAssertTrue(visible(objects[0]))
                XCTAssertEqual(s.answer, objects[0].color.name, "sample \(i)")
                continue
            }
            if s.kind == .listing {
                // Every object reaching into the view is visible, listed left to right.
                let inView = scene.objects.filter { $0.box.intersects(view) }
                XCTAssertTrue(inView.allSatisfy(visible), "sample \(i): every listed object is visible")
                let ordered = inView.sorted { $0.box.centerX != $1.box.centerX ? $0.box.centerX < $1.box.centerX : $0.box.centerY < $1.box.centerY }
                let words = ordered.map { "a \($0.color.rawValue) \($0.shape.name)" }
                let expected = words.count == 1 ? words[0] + "." : words.dropLast().joined(separator: ", ") + " and " + words.last! + "."
                XCTAssertEqual(s.answer, expected, "sample \(i)")
                XCTAssertEqual(s.prompt, "<image>\nList the objects in the image from left to right.")
                continue
            }
            // Multiple choice: the letter points at the correct option.
            let q = try XCTUnwrap(s.question)
            XCTAssertTrue(s.prompt.hasPrefix("<image>\n"))
            let mc = parseMultipleChoice(String(s.prompt.dropFirst("<image>\n".count)))
            XCTAssertEqual(mc.question, q.question)
            XCTAssertEqual(mc.instruction, QuestionText.instruction)
            XCTAssertEqual(mc.options.sorted(), q.options.sorted())
            let answer = mc.options[try XCTUnwrap(QuestionText.letters.firstIndex(of: s.answer))]
            let shape = try XCTUnwrap(ObjectShape(name: q.targetObjects[0]))
            switch s.kind {
            case .existence:
                XCTAssertEqual(answer, touching(shape).isEmpty ? "No" : "Yes", "sample \(i)")
                XCTAssertTrue(touching(shape).allSatisfy(visible))
            case .attribute:
                let objects = touching(shape)
                XCTAssertEqual(objects.count, 1, "sample \(i): one \(shape) in the view")
                XCTAssertTrue(visible(objects[0]))
                XCTAssertEqual(answer, objects[0].color.name, "sample \(i)")
            case .spatial:
                let a = touching(shape), b = touching(try XCTUnwrap(ObjectShape(name: q.targetObjects[1])))
                XCTAssertEqual(a.count, 1)
                XCTAssertEqual(b.count, 1)
                XCTAssertTrue(visible(a[0]) && visible(b[0]))
                XCTAssertEqual(answer, a[0].box.centerX < b[0].box.centerX ? "left" : "right", "sample \(i)")
                XCTAssertGreaterThanOrEqual(a[0].box.horizontalGap(to: b[0].box), max(a[0].box.longestSide, b[0].box.longestSide))
            case .counting:
                let objects = touching(shape)
                XCTAssertTrue(objects.allSatisfy(visible))
                XCTAssertEqual(answer, String(objects.count), "sample \(i)")
                XCTAssertEqual(mc.options.sorted(), ["1", "2", "3", "4"])
            default:
                XCTFail("unexpected kind \(s.kind)")
            }
          }
        }
        XCTAssertEqual(seen, Set(SampleKind.allCases))
        XCTAssertGreaterThan(followUps, c.count / 2, "most views get follow-up turns")
    }

    func checkLookup(_ s: TrainingSample) throws {
        let q = try XCTUnwrap(s.question)
        XCTAssertNil(s.view)
        XCTAssertNil(s.imageIndex)
        XCTAssertTrue(s.followUps.isEmpty)
        let statement = QuestionText.statement(q)
        XCTAssertTrue(s.prompt.hasPrefix(statement + " "), s.prompt)
        let mc = parseMultipleChoice(String(s.prompt.dropFirst(statement.count + 1)))
        XCTAssertEqual(mc.question, q.question)
        XCTAssertEqual(mc.options[try XCTUnwrap(QuestionText.letters.firstIndex(of: s.answer))], q.answer)
        // The statement says the answer in words.
        switch q.type {
        case .attribute: XCTAssertEqual(statement, "The \(q.targetObjects[0]) is \(q.answer).")
        case .spatial: XCTAssertEqual(statement, "The \(q.targetObjects[0]) is on the \(q.answer) side of the \(q.targetObjects[1]).")
        case .existence: XCTAssertEqual(statement, q.answer == "Yes" ? "There is a \(q.targetObjects[0]) in the image." : "There is no \(q.targetObjects[0]) in the image.")
        case .counting:
            let shape = try XCTUnwrap(ObjectShape(name: q.targetObjects[0]))
            XCTAssertEqual(statement, q.answer == "1" ? "There is 1 \(shape.name) in the image." : "There are \(q.answer) \(shape.plural) in the image.")
        }
    }

    func checkExtraction(_ s: TrainingSample) throws {
        let q = try XCTUnwrap(s.question)
        XCTAssertEqual(s.prompt, "Question: \(q.question)\nIf you want to answer the question, which objects' information do you need?")
        XCTAssertTrue(s.answer.hasPrefix("So I need the information about the following objects: "))
        XCTAssertTrue(s.answer.hasSuffix("."))
        XCTAssertNil(s.view)
        switch q.type {
        case .spatial: XCTAssertEqual(s.answer, "So I need the information about the following objects: \(q.targetObjects[0]) and \(q.targetObjects[1]).")
        case .counting: XCTAssertEqual(s.answer, "So I need the information about the following objects: all \(ObjectShape(name: q.targetObjects[0])!.plural).")
        default: XCTAssertEqual(s.answer, "So I need the information about the following objects: \(q.targetObjects[0]).")
        }
    }

    func testYesNoBalanceAndMix() throws {
        let set = try TrainingSet(config: config(count: 1200))
        let out = temporaryDirectory()
        let summary = try set.write(to: out, workers: 2)
        let samples = try jsonLines(out.appendingPathComponent("samples.jsonl"))
        let verification = samples.filter { $0["kind"] as? String == "verification" }.map { $0["answer"] as! String }
        let yes = verification.filter { $0 == "Yes" }.count, no = verification.filter { $0 == "No" }.count
        XCTAssertEqual(yes + no, verification.count)
        // Fallbacks (a planned spatial question no view supports, common only in these tiny scenes
        // with a 32-pixel input) become verification questions, Yes or No by the sample's parity.
        XCTAssertLessThanOrEqual(abs(yes - no), 2 + summary.fallbacks, "yes \(yes), no \(no)")
        XCTAssertLessThan(summary.fallbacks, 1200 / 20)
        let mix = TrainingMix.standard
        for kind in SampleKind.allCases {
            let share = Double(summary.kinds[kind] ?? 0) / 1200
            XCTAssertEqual(share, mix.weight(kind), accuracy: 0.05, "\(kind)")
        }
        // Existence multiple choice: the correct option is Yes about half the time.
        let existence = samples.filter { $0["kind"] as? String == "existence" }
        let existenceYes = existence.filter { s in
            let prompt = s["prompt"] as! String, letter = s["answer"] as! String
            return prompt.contains("(\(letter)) Yes")
        }.count
        XCTAssertLessThanOrEqual(abs(2 * existenceYes - existence.count), 1 + 2 * summary.fallbacks)
    }

    /// With `nativeViewShare` 1 every crop's side is drawn from the input size to 1.5x it (a
    /// non-square one is at most sqrt(2) longer on one side); at 0 the sides reach the short side.
    func testNativeViewShareDrawsNearOneToOneCrops() throws {
        func sides(_ share: Double) throws -> [Int] {
            var c = config()
            c.nativeViewShare = share
            let set = try TrainingSet(config: c)
            let scene = set.scene(0)
            var rng = SynthRandom(seed: 7, purpose: .trainingSample, index: 0)
            return (0..<400).map { _ in
                let v = set.randomView(scene, near: nil, allowFull: false, rng: &rng)
                return max(v.width, v.height)
            }
        }
        let native = try sides(1), spread = try sides(0)
        XCTAssertLessThanOrEqual(native.max()!, Int((1.5 * 32 * 2.0.squareRoot()).rounded(.up)))
        XCTAssertGreaterThanOrEqual(native.min()!, 31)   // the longer side of a view is at least its drawn side
        XCTAssertGreaterThan(spread.max()!, 200)
        XCTAssertGreaterThan(spread.filter { $0 > 48 * 2 }.count, 400 / 3)
    }

    /// With `decoyColorShare` 1 the wrong options of an attribute sample are the colours of the other
    /// visible objects in its view, the largest objects' first, worked out here from the scene.
    func testDecoyColorsAreTheOtherObjectsColoursLargestFirst() throws {
        var c = config(count: 240)
        c.mix = try TrainingMix.parse("verification=0,existence=0,attribute=1,spatial=0,counting=0,extraction=0,listing=0,lookup=0")
        c.decoyColorShare = 1
        let set = try TrainingSet(config: c)
        var withDecoys = 0, checked = 0
        for i in 0..<c.count {
            let scene = set.scene(i / c.viewsPerScene)
            let s = set.sample(i, scene: scene)
            guard s.kind == .attribute, let q = s.question, let view = s.view else { continue }
            checked += 1
            let scale = 32.0 / Double(view.longestSide)
            let target = try XCTUnwrap(scene.objects.first { $0.shape.name == q.targetObjects[0] && $0.box.intersects(view) })
            let others = scene.objects.filter {
                $0 != target && Double($0.box.intersection(view)?.area ?? 0) >= 0.7 * Double($0.box.area)
                    && Double($0.box.longestSide) * scale >= c.minApparentSize
            }.sorted { ($0.box.area, $0.box.x, $0.box.y) > ($1.box.area, $1.box.x, $1.box.y) }
            var expected: [String] = []
            for o in others where o.color != target.color && !expected.contains(o.color.name) { expected.append(o.color.name) }
            let wrong = Set(q.options.filter { $0 != q.answer })
            XCTAssertEqual(wrong.count, 3, "sample \(i)")
            XCTAssertEqual(q.answer, target.color.name)
            XCTAssertTrue(Set(expected.prefix(3)).isSubset(of: wrong), "sample \(i): \(expected) against \(wrong)")
            if !expected.isEmpty { withDecoys += 1 }
        }
        XCTAssertGreaterThan(checked, 100)
        XCTAssertGreaterThan(withDecoys, checked / 3)

        c.decoyColorShare = 1.5
        expectSynthError(.badArgument, ["--decoy-color-share", "between 0 and 1"]) { try c.validate() }
    }

    /// The low-resolution likeness is a similarity (1 with itself, symmetric, below 1 between two
    /// shapes) that ranks the pairs the toy confuses in one-cell crops above unlike ones.
    func testLowResolutionSimilarityRanksLookAlikesFirst() {
        for a in ObjectShape.allCases {
            XCTAssertEqual(a.lowResolutionSimilarity(a), 1, accuracy: 1e-12)
            for b in ObjectShape.allCases where b != a {
                XCTAssertEqual(a.lowResolutionSimilarity(b), b.lowResolutionSimilarity(a), accuracy: 1e-12)
                XCTAssertLessThan(a.lowResolutionSimilarity(b), 0.99, "\(a) and \(b)")
            }
        }
        let others = ObjectShape.allCases.filter { $0 != .circle }
        let closest = others.max { ObjectShape.circle.lowResolutionSimilarity($0) < ObjectShape.circle.lowResolutionSimilarity($1) }
        XCTAssertEqual(closest, .hexagon)
        XCTAssertGreaterThan(ObjectShape.circle.lowResolutionSimilarity(.hexagon), ObjectShape.circle.lowResolutionSimilarity(.cross))
        XCTAssertGreaterThan(ObjectShape.square.lowResolutionSimilarity(.hexagon), ObjectShape.square.lowResolutionSimilarity(.ring))
    }

    /// With `hardNegativeShare` 1 every verification sample answered No asks about the absent shape
    /// most like a visible one in its view, worked out here from the scene.
    func testHardNegativesAskTheAbsentShapeMostLikeAVisibleOne() throws {
        var c = config(count: 240)
        c.mix = try TrainingMix.parse("verification=1,existence=0,attribute=0,spatial=0,counting=0,extraction=0,listing=0,lookup=0")
        c.hardNegativeShare = 1
        c.pluralVerification = 0
        let set = try TrainingSet(config: c)
        var hard = 0, negatives = 0, random = 0
        for i in 0..<c.count {
            let scene = set.scene(i / c.viewsPerScene)
            let s = set.sample(i, scene: scene)
            guard s.kind == .verification, s.answer == "No", let view = s.view, let asked = s.shape else { continue }
            negatives += 1
            let scale = 32.0 / Double(view.longestSide)
            let visible = Set(scene.objects.filter {
                Double($0.box.intersection(view)?.area ?? 0) >= 0.7 * Double($0.box.area)
                    && Double($0.box.longestSide) * scale >= c.minApparentSize
            }.map(\.shape))
            let absent = ObjectShape.allCases.filter { shape in !scene.objects.contains { $0.shape == shape && $0.box.intersects(view) } }
            XCTAssertTrue(absent.contains(asked), "sample \(i)")
            guard !visible.isEmpty else { random += 1; continue }
            let best = absent.map { a in visible.map { a.lowResolutionSimilarity($0) }.max()! }.max()!
            XCTAssertEqual(visible.map { asked.lowResolutionSimilarity($0) }.max()!, best, accuracy: 1e-12, "sample \(i): \(asked)")
            hard += 1
        }
        XCTAssertGreaterThan(negatives, 60)
        XCTAssertGreaterThan(hard, negatives / 3)

        c.hardNegativeShare = -0.1
        expectSynthError(.badArgument, ["--hard-negative-share", "between 0 and 1"]) { try c.validate() }
    }

    /// `verificationYesShare` sets the share of first-turn verification answers that are Yes (an exact
    /// rotation, so 0.3 of 200 gives 60) and leaves the multiple-choice existence samples balanced;
    /// 0.5 keeps the alternation T F T F of earlier generator versions.
    func testVerificationYesShareSetsTheShareOfYesAnswers() throws {
        var c = config(count: 400)
        c.mix = try TrainingMix.parse("verification=0.5,existence=0.5,attribute=0,spatial=0,counting=0,extraction=0,listing=0,lookup=0")
        c.turns = 1
        func plannedYes(_ share: Double) throws -> (verification: [Bool], existence: [Bool]) {
            c.verificationYesShare = share
            let set = try TrainingSet(config: c)
            return (set.plan.filter { $0.kind == .verification }.map(\.wantYes),
                    set.plan.filter { $0.kind == .existence }.map(\.wantYes))
        }
        let balanced = try plannedYes(0.5)
        XCTAssertEqual(Array(balanced.verification.prefix(4)), [true, false, true, false])
        let fewer = try plannedYes(0.3)
        let n = fewer.verification.count
        XCTAssertGreaterThan(n, 100)
        XCTAssertEqual(fewer.verification.filter { $0 }.count, Int((Double(n) * 0.3 + 0.7).rounded(.down)))
        XCTAssertEqual(fewer.existence, balanced.existence)

        // The samples follow the plan: a Yes names a shape in the view.
        let set = try TrainingSet(config: c)
        var yes = 0, all = 0
        for i in 0..<c.count where set.plan[i].kind == .verification {
            let s = set.sample(i, scene: set.scene(i / c.viewsPerScene))
            guard !s.fellBack else { continue }
            all += 1
            if s.answer == "Yes" { yes += 1 }
        }
        XCTAssertEqual(Double(yes) / Double(all), 0.3, accuracy: 0.05)

        for bad in [0.0, 1.0, -0.2] {
            c.verificationYesShare = bad
            expectSynthError(.badArgument, ["--verification-yes-share", "above 0 and below 1"]) { try c.validate() }
        }
    }

    /// `objectScale` bounds every scene's object sizes: 0.75x-1.25x a base drawn within the range
    /// (fractions of the 384-px short side), clamped to a third of it.
    func testObjectScaleBoundsTheScenesObjectSizes() throws {
        var c = config()
        c.objectScale = 0.15...0.3
        let set = try TrainingSet(config: c)
        for k in 0..<20 {
            for o in set.scene(k).objects {
                XCTAssertGreaterThanOrEqual(Double(o.box.longestSide) + 1, 0.75 * 0.15 * 384 * 0.7, "scene \(k)")
                XCTAssertLessThanOrEqual(o.box.longestSide, 384 / 3 + 1, "scene \(k)")
            }
        }
        c.objectScale = 0.01...0.02
        let small = try TrainingSet(config: c)
        for k in 0..<20 { for o in small.scene(k).objects { XCTAssertLessThanOrEqual(Double(o.box.longestSide), 1.25 * 0.02 * 384 + 2) } }
    }

    // MARK: - Bad arguments

    func testBadTrainingArguments() throws {
        expectSynthError(.badArgument, ["--mix", "unknown sample kind 'colour'"]) { _ = try TrainingMix.parse("colour=0.2") }
        expectSynthError(.badArgument, ["--mix", "KIND=WEIGHT"]) { _ = try TrainingMix.parse("verification") }
        expectSynthError(.badArgument, ["--mix", "at least 0"]) { _ = try TrainingMix.parse("spatial=-1") }
        expectSynthError(.badArgument, ["--mix", "positive weight"]) {
            _ = try TrainingMix.parse("verification=0,existence=0,attribute=0,spatial=0,counting=0,extraction=0,listing=0,lookup=0")
        }
        var c = config()
        c.inputSize = 8
        expectSynthError(.badArgument, ["--input-size"]) { try c.validate() }
        c = config()
        c.inputSize = 512
        expectSynthError(.badArgument, ["short side", "--input-size"]) { try c.validate() }
        c = config()
        c.count = 0
        expectSynthError(.badArgument, ["--count"]) { try c.validate() }
        c = config()
        c.turns = 9
        expectSynthError(.badArgument, ["--turns", "between 1 and 8"]) { try c.validate() }
        c = config()
        c.minLabelSize = 9
        expectSynthError(.badArgument, ["--min-label-size", "at most --min-apparent-size"]) { try c.validate() }
        c = config()
        c.objectScale = 0.1...0.5
        expectSynthError(.badArgument, ["--object-scale", "(0, 0.33]"]) { try c.validate() }
        c = config()
        c.nativeViewShare = 1.5
        expectSynthError(.badArgument, ["--native-view-share", "between 0 and 1"]) { try c.validate() }
        c = config()
        c.labelCell = 5
        expectSynthError(.badArgument, ["--label-cell", "32"]) { try c.validate() }

        let root = temporaryDirectory()
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let file = root.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let set = try TrainingSet(config: config(count: 4))
        expectSynthError(.output, ["cannot create the output directory", "plain-file/train"]) {
            try set.write(to: file.appendingPathComponent("train"), workers: 1)
        }
    }

    func testTemplates() {
        XCTAssertEqual(QuestionText.extractionAnswer(["star"]), "So I need the information about the following objects: star.")
        XCTAssertEqual(QuestionText.extractionAnswer(["star", "ring"]), "So I need the information about the following objects: star and ring.")
        XCTAssertEqual(QuestionText.extractionAnswer([QuestionText.allTarget(.cross)]), "So I need the information about the following objects: all crosses.")
        XCTAssertEqual(QuestionText.verification("star"), "Is there a star in the image? Answer Yes or No.")
        XCTAssertEqual(QuestionText.multipleChoice("Q?", options: ["x", "y"]),
                       "Q?\n(A) x\n(B) y\nAnswer with the option's letter from the given choices directly.")
    }
}
