// SynthBenchmark: `focus synth`. Question i is built from its own random stream (seed, i), so the
// output is byte-identical for the same arguments whatever the number of workers, and written in
// V*Bench's layout (category folders with an image and a JSON per question, test_questions.jsonl).
import Foundation
import Models

public struct SynthBenchmarkConfig: Sendable {
    public var width = 2048
    public var height = 1536
    public var count = 100
    public var seed: UInt64 = 0
    /// Distractor placement attempts per scene (fewer are placed when the image is full).
    public var distractors = 40
    public var objectSize: ObjectSizeRange
    /// The text given to `--object-size`, recorded in the manifest.
    public var objectSizeArgument: String
    public var types: [QuestionType] = QuestionType.allCases
    public var shapes: [ObjectShape] = ObjectShape.allCases
    public var colors: [ObjectColor] = ObjectColor.allCases
    public var png = false
    public var jpegQuality = 95

    public static let generatorVersion = 1

    /// Defaults: 2048x1536, small objects.
    public init() {
        objectSizeArgument = "small"
        objectSize = try! ObjectSizeRange.parse("small", width: 2048, height: 1536)
    }

    /// Checks everything the command line cannot (counts, vocabulary sizes, room for the objects).
    public func validate() throws {
        guard count >= 1, count <= 1_000_000 else {
            throw SynthError(.badArgument, "--count must be between 1 and 1000000, got \(count)")
        }
        guard distractors >= 0, distractors <= 2000 else {
            throw SynthError(.badArgument, "--distractors must be between 0 and 2000, got \(distractors)")
        }
        guard shapes.count >= 3 else {
            throw SynthError(.badArgument,
                "--shapes needs at least 3 shapes (two targets and one for distractors), got \(shapes.count)")
        }
        if types.contains(.attribute) && colors.count < 4 {
            throw SynthError(.badArgument,
                "--colors needs at least 4 colours for attribute questions (four options), got \(colors.count)")
        }
        guard objectSize.max <= min(width, height) else {
            throw SynthError(.badArgument,
                "--object-size: objects up to \(objectSize.max) pixels are larger than the \(width)x\(height) image")
        }
    }
}

/// One generated question with its scene.
public struct BenchmarkItem: Sendable {
    public var index: Int
    public var scene: Scene
    public var question: SynthQuestion
    /// The options as `text` shows them, and the letter of the correct one.
    public var shownOptions: [String]
    public var label: String

    /// "synth_000123"
    public var stem: String { String(format: "synth_%06d", index) }
    public var imagePath: String { "\(question.type.category)/\(stem).jpg" }
    public var text: String { QuestionText.multipleChoice(question.question, options: shownOptions) }
}

public struct SynthBenchmark: Sendable {
    public let config: SynthBenchmarkConfig

    public init(config: SynthBenchmarkConfig) throws {
        try config.validate()
        self.config = config
    }

    /// The question type of question `index`: the types in turn, so every type gets an equal share.
    public func type(of index: Int) -> QuestionType { config.types[index % config.types.count] }

    // MARK: - Scenes and questions

    /// Question `index` and its scene, from the stream (seed, index) only.
    public func item(_ index: Int) throws -> BenchmarkItem {
        var rng = SynthRandom(seed: config.seed, purpose: .benchmarkQuestion, index: index)
        let type = type(of: index)
        let c = config
        let background = ScenePlanner.background(width: c.width, height: c.height, rng: &rng)
        let sizes = c.objectSize.min...c.objectSize.max
        var planner = ScenePlanner(width: c.width, height: c.height)

        for _ in 0..<50 {
            planner.removeAll()
            guard let (question, excluded) = placeTargets(type: type, index: index, planner: &planner, rng: &rng) else {
                continue
            }
            planner.addDistractors(
                count: c.distractors, shapes: c.shapes.filter { !excluded.contains($0) }, colors: c.colors,
                sizes: sizes, rng: &rng)
            let scene = Scene(width: c.width, height: c.height, background: background, objects: planner.objects)
            let (shown, label) = question.shuffledOptions(&rng)
            return BenchmarkItem(index: index, scene: scene, question: question, shownOptions: shown, label: label)
        }
        throw SynthError(.impossibleScene,
            "cannot place the \(type.rawValue) targets of question \(index) in a \(c.width)x\(c.height) image with objects of \(c.objectSize.min)-\(c.objectSize.max) pixels; use a smaller --object-size")
    }

    /// Places the question's targets; returns the question and the shapes distractors must not use.
    private func placeTargets(
        type: QuestionType, index: Int, planner: inout ScenePlanner, rng: inout SynthRandom
    ) -> (SynthQuestion, Set<ObjectShape>)? {
        let c = config
        let sizes = c.objectSize.min...c.objectSize.max
        switch type {
        case .attribute:
            let shape = rng.pick(c.shapes), color = rng.pick(c.colors)
            guard let box = planner.place(shape: shape, color: color, size: rng.int(in: sizes), rng: &rng) else { return nil }
            return (.attribute(shape: shape, color: color, box: box, colors: c.colors, rng: &rng), [shape])
        case .spatial:
            let pair = rng.sample(c.shapes, count: 2)
            let sizeA = rng.int(in: sizes), sizeB = rng.int(in: sizes)
            guard planner.place(shape: pair[0], color: rng.pick(c.colors), size: sizeA, rng: &rng) != nil else { return nil }
            let a = planner.objects[0]
            let minimumGap = max(sizeA, sizeB)
            guard planner.place(shape: pair[1], color: rng.pick(c.colors), size: sizeB, rng: &rng,
                                accept: { $0.horizontalGap(to: a.box) >= minimumGap }) != nil else { return nil }
            let b = planner.objects[1]
            // Which one the question asks about is random, so "left" is not always the first placed.
            let (subject, reference) = rng.bool() ? (a, b) : (b, a)
            return (.spatial(subject: subject, reference: reference), Set(pair))
        case .existence:
            let shape = rng.pick(c.shapes)
            // Every other existence question has its object; the rest have none of that shape.
            let present = (index / c.types.count) % 2 == 0
            guard present else { return (.existence(shape: shape, boxes: []), [shape]) }
            guard let box = planner.place(shape: shape, color: rng.pick(c.colors), size: rng.int(in: sizes), rng: &rng) else {
                return nil
            }
            return (.existence(shape: shape, boxes: [box]), [shape])
        case .counting:
            let shape = rng.pick(c.shapes)
            let n = rng.int(in: 1...4)
            var boxes: [SceneBox] = []
            for _ in 0..<n {
                guard let box = planner.place(shape: shape, color: rng.pick(c.colors), size: rng.int(in: sizes), rng: &rng) else {
                    return nil
                }
                boxes.append(box)
            }
            return (.counting(shape: shape, boxes: boxes), [shape])
        }
    }

    // MARK: - Records

    /// The per-image JSON (V*Bench's fields, correct option first).
    public func imageRecord(_ item: BenchmarkItem) -> JSONValue {
        .object([
            ("target_object", .strings(item.question.targetObjects)),
            ("bbox", .boxes(item.question.boxes)),
            ("question", .string(item.question.question)),
            ("options", .strings(item.question.options)),
        ])
    }

    /// The `test_questions.jsonl` line: V*Bench's fields, then ours.
    public func questionRecord(_ item: BenchmarkItem) -> JSONValue {
        let q = item.question
        return .object([
            ("image", .string(item.imagePath)),
            ("text", .string(item.text)),
            ("category", .string(q.type.category)),
            ("question_id", .string(String(item.index))),
            ("label", .string(item.label)),
            ("type", .string(q.type.rawValue)),
            ("question", .string(q.question)),
            ("options", .strings(item.shownOptions)),
            ("target_object", .strings(q.targetObjects)),
            ("bbox", .boxes(q.boxes)),
            ("targets", .strings(q.targets)),
            ("object_size", .string(config.objectSize.label)),
            ("object_size_px", .array([.int(config.objectSize.min), .int(config.objectSize.max)])),
            ("seed", .int(Int(truncatingIfNeeded: config.seed))),
        ])
    }

    public func manifest(counts: [String: Int]) -> JSONValue {
        let c = config
        return .object([
            ("generator", .string("focus synth")),
            ("version", .int(SynthBenchmarkConfig.generatorVersion)),
            ("arguments", .object([
                ("count", .int(c.count)),
                ("seed", .int(Int(truncatingIfNeeded: c.seed))),
                ("size", .string("\(c.width)x\(c.height)")),
                ("distractors", .int(c.distractors)),
                ("object_size", .string(c.objectSizeArgument)),
                ("types", .strings(c.types.map(\.rawValue))),
                ("shapes", .strings(c.shapes.map(\.name))),
                ("colors", .strings(c.colors.map(\.name))),
                ("png", .bool(c.png)),
            ])),
            ("object_size", .object([
                ("class", .string(c.objectSize.label)),
                ("min", .int(c.objectSize.min)),
                ("max", .int(c.objectSize.max)),
            ])),
            ("jpeg_quality", .int(c.jpegQuality)),
            ("questions", .int(c.count)),
            ("counts", .object(c.types.map { ($0.category, .int(counts[$0.category] ?? 0)) })),
            ("plurals", .object(c.shapes.map { ($0.name, .string($0.plural)) })),
        ])
    }

    // MARK: - Writing

    public struct Summary: Sendable {
        public var directory: URL
        public var questions: Int
        public var counts: [String: Int]
    }

    /// Writes the whole benchmark into `directory` with `workers` threads.
    @discardableResult
    public func write(to directory: URL, workers: Int) throws -> Summary {
        try Output.makeDirectory(directory)
        // Files of an earlier run go from every category folder, so a folder scan sees only this run.
        for type in QuestionType.allCases {
            let folder = directory.appendingPathComponent(type.category)
            try Output.removeStale(in: folder) { Self.isGeneratedFile($0) }
            if config.types.contains(type) { try Output.makeDirectory(folder) }
        }
        let lines = Slots<String>(count: config.count)
        let benchmark = self
        try parallelFor(config.count, workers: workers) { index in
            let item = try benchmark.item(index)
            let image = SceneRenderer.render(item.scene)
            let folder = directory.appendingPathComponent(item.question.type.category)
            let jpeg: Data
            do { jpeg = try ImageEncoder.jpeg(image, quality: benchmark.config.jpegQuality) } catch {
                throw SynthError(.output, "cannot encode \(item.imagePath): \(error)")
            }
            try Output.write(jpeg, to: folder.appendingPathComponent(item.stem + ".jpg"))
            if benchmark.config.png {
                let png: Data
                do { png = try ImageEncoder.png(image) } catch {
                    throw SynthError(.output, "cannot encode \(item.stem).png: \(error)")
                }
                try Output.write(png, to: folder.appendingPathComponent(item.stem + ".png"))
            }
            try Output.write(benchmark.imageRecord(item).compact + "\n", to: folder.appendingPathComponent(item.stem + ".json"))
            lines[index] = benchmark.questionRecord(item).compact
        }
        var counts: [String: Int] = [:]
        for index in 0..<config.count { counts[type(of: index).category, default: 0] += 1 }
        try Output.write(lines.all.joined(separator: "\n") + "\n", to: directory.appendingPathComponent("test_questions.jsonl"))
        try Output.write(manifest(counts: counts).pretty + "\n", to: directory.appendingPathComponent("manifest.json"))
        return Summary(directory: directory, questions: config.count, counts: counts)
    }

    /// `synth_<digits>.jpg|png|json`: the only files a run removes from its category folders.
    static func isGeneratedFile(_ name: String) -> Bool {
        guard name.hasPrefix("synth_") else { return false }
        let rest = name.dropFirst("synth_".count)
        guard let dot = rest.firstIndex(of: ".") else { return false }
        let digits = rest[..<dot], ext = rest[rest.index(after: dot)...]
        return !digits.isEmpty && digits.allSatisfy(\.isNumber) && ["jpg", "png", "json"].contains(String(ext))
    }
}
