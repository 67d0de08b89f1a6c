import Foundation
import Models
import XCTest

@testable import Benchmarks

/// `focus synth`: determinism, V*Bench layout, every answer checked against the scene description,
/// object sizes, rendered target colours, and the messages for bad arguments.
final class SynthBenchmarkTests: SynthTestCase {
    /// A small, fast configuration (512x384, objects scaled to it).
    func config(count: Int = 12, seed: UInt64 = 7, size: String = "medium", png: Bool = false) throws -> SynthBenchmarkConfig {
        var c = SynthBenchmarkConfig()
        (c.width, c.height) = (512, 384)
        c.objectSize = try ObjectSizeRange.parse(size, width: 512, height: 384)
        c.objectSizeArgument = size
        c.count = count
        c.seed = seed
        c.distractors = 25
        c.png = png
        return c
    }

    // MARK: - Determinism

    func testSameArgumentsGiveIdenticalBytesForAnyWorkerCount() throws {
        let bench = try SynthBenchmark(config: config(count: 8, png: true))
        let a = temporaryDirectory("a"), b = temporaryDirectory("b")
        try bench.write(to: a, workers: 1)
        try bench.write(to: b, workers: 3)
        let filesA = try files(under: a), filesB = try files(under: b)
        XCTAssertEqual(filesA.count, 2 + 8 * 3, "jsonl, manifest, and jpg + png + json per question")
        XCTAssertEqual(Set(filesA.keys), Set(filesB.keys))
        for (name, data) in filesA { XCTAssertEqual(data, filesB[name], name) }

        let other = try SynthBenchmark(config: config(count: 8, seed: 8, png: true))
        let c = temporaryDirectory("c")
        try other.write(to: c, workers: 2)
        let filesC = try files(under: c)
        XCTAssertNotEqual(filesA["test_questions.jsonl"], filesC["test_questions.jsonl"])
        XCTAssertNotEqual(filesA["direct_attributes/synth_000000.png"], filesC["direct_attributes/synth_000000.png"])
    }

    func testRewritingRemovesFilesOfALargerEarlierRun() throws {
        let out = temporaryDirectory()
        try SynthBenchmark(config: config(count: 8)).write(to: out, workers: 2)
        let mine = out.appendingPathComponent("direct_attributes/notes.txt")
        try Data("keep".utf8).write(to: mine)
        var fewer = try config(count: 4)
        fewer.types = [.attribute, .spatial]
        try SynthBenchmark(config: fewer).write(to: out, workers: 2)
        let names = try files(under: out).keys.sorted()
        XCTAssertFalse(names.contains("direct_attributes/synth_000004.jpg"), "\(names)")
        XCTAssertFalse(names.contains { $0.hasPrefix("counting/synth_") }, "categories not in this run are emptied too")
        XCTAssertTrue(names.contains("direct_attributes/notes.txt"), "files that are not ours stay")
        XCTAssertEqual(try jsonLines(out.appendingPathComponent("test_questions.jsonl")).count, 4)
    }

    // MARK: - Layout

    func testVStarLayoutAndRecords() throws {
        let c = try config(count: 16)
        let bench = try SynthBenchmark(config: c)
        let out = temporaryDirectory()
        try bench.write(to: out, workers: 2)
        let records = try jsonLines(out.appendingPathComponent("test_questions.jsonl"))
        XCTAssertEqual(records.count, 16)
        var perCategory: [String: Int] = [:]
        for (i, r) in records.enumerated() {
            let image = try XCTUnwrap(r["image"] as? String)
            let category = try XCTUnwrap(r["category"] as? String)
            let type = try XCTUnwrap(QuestionType(rawValue: r["type"] as? String ?? ""))
            perCategory[category, default: 0] += 1
            XCTAssertEqual(type, QuestionType.allCases[i % 4], "types take turns")
            XCTAssertEqual(category, type.category)
            XCTAssertEqual(image, String(format: "\(category)/synth_%06d.jpg", i))
            XCTAssertEqual(r["question_id"] as? String, String(i))
            XCTAssertEqual(r["seed"] as? Int, 7)
            XCTAssertEqual(r["object_size"] as? String, "medium")
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(image).path))
            let decoded = try ImageDecoder.decode(contentsOf: out.appendingPathComponent(image))
            XCTAssertEqual([decoded.width, decoded.height], [512, 384])

            // text = question, "(A) option" lines in the shown order, instruction.
            let text = try XCTUnwrap(r["text"] as? String)
            let shown = try XCTUnwrap(r["options"] as? [String])
            let mc = parseMultipleChoice(text)
            XCTAssertEqual(mc.question, r["question"] as? String)
            XCTAssertEqual(mc.options, shown)
            XCTAssertEqual(mc.instruction, "Answer with the option's letter from the given choices directly.")
            XCTAssertEqual(shown.count, type == .spatial || type == .existence ? 2 : 4)

            // The per-image JSON: V*Bench's fields, correct option first; the label points at it.
            let annotation = try jsonObject(out.appendingPathComponent(image).deletingPathExtension().appendingPathExtension("json"))
            XCTAssertEqual(Array(annotation.keys).sorted(), ["bbox", "options", "question", "target_object"])
            let options = try XCTUnwrap(annotation["options"] as? [String])
            XCTAssertEqual(Set(options), Set(shown))
            let label = try XCTUnwrap(r["label"] as? String)
            let index = try XCTUnwrap(QuestionText.letters.firstIndex(of: label))
            XCTAssertEqual(shown[index], options[0], "label \(label) of question \(i)")
            XCTAssertEqual(annotation["question"] as? String, r["question"] as? String)
            XCTAssertEqual(annotation["target_object"] as? [String], r["target_object"] as? [String])
            let boxes = try XCTUnwrap(annotation["bbox"] as? [[Int]])
            XCTAssertEqual(boxes, r["bbox"] as? [[Int]])
            for box in boxes {
                XCTAssertTrue(box[0] >= 0 && box[1] >= 0 && box[0] + box[2] <= 512 && box[1] + box[3] <= 384, "\(box)")
            }
        }
        let manifest = try jsonObject(out.appendingPathComponent("manifest.json"))
        XCTAssertEqual(manifest["generator"] as? String, "focus synth")
        XCTAssertEqual(manifest["counts"] as? [String: Int], perCategory)
        XCTAssertEqual(perCategory, ["direct_attributes": 4, "relative_position": 4, "existence": 4, "counting": 4])
    }

    /// The V*Bench loader reads the synthetic benchmark unchanged.
    func testTheVStarLoaderReadsIt() throws {
        let c = try config(count: 8)
        let bench = try SynthBenchmark(config: c)
        let out = temporaryDirectory()
        try bench.write(to: out, workers: 2)
        let questions = try VStarBenchmark.load(directory: out)
        XCTAssertEqual(questions.count, 8)
        for (i, q) in questions.enumerated() {
            let item = try bench.item(i)
            XCTAssertEqual(q.id, String(i))
            XCTAssertEqual(q.text, item.question.question)
            XCTAssertEqual(q.options, item.shownOptions)
            XCTAssertEqual(q.label, item.label)
            XCTAssertEqual(q.category, item.question.type.category)
            XCTAssertEqual(q.kind, item.question.type == .counting ? .all : .single)
            XCTAssertEqual(q.targets, item.question.targetObjects)
            XCTAssertEqual(q.boxes.map { [Int($0.x), Int($0.y), Int($0.width), Int($0.height)] }, item.question.boxes.map(\.array))
            XCTAssertTrue(FileManager.default.fileExists(atPath: q.image.path))
        }
    }

    func testTypesSubsetAndPNG() throws {
        var c = try config(count: 3, png: true)
        c.types = try SynthArguments.parseTypes("counting")
        let out = temporaryDirectory()
        try SynthBenchmark(config: c).write(to: out, workers: 2)
        let names = try files(under: out).keys.sorted()
        XCTAssertEqual(names.filter { $0.hasPrefix("counting/") }.count, 9)
        XCTAssertFalse(names.contains { $0.hasPrefix("direct_attributes") })
        let png = try ImageDecoder.decode(contentsOf: out.appendingPathComponent("counting/synth_000001.png"))
        let item = try SynthBenchmark(config: c).item(1)
        XCTAssertEqual(png, SceneRenderer.render(item.scene), "the PNG is lossless")
    }

    // MARK: - Answers against the scene description

    func testEveryAnswerFollowsFromTheScene() throws {
        let bench = try SynthBenchmark(config: config(count: 80))
        var existence: [Bool] = []
        for i in 0..<80 {
            let item = try bench.item(i)
            let q = item.question, scene = item.scene
            let objects = scene.objects
            // No two objects overlap; all inside the image.
            for (a, o) in objects.enumerated() {
                XCTAssertTrue(o.box.x >= 0 && o.box.y >= 0 && o.box.maxX <= scene.width && o.box.maxY <= scene.height)
                for p in objects[(a + 1)...] { XCTAssertFalse(o.box.intersects(p.box), "question \(i)") }
            }
            // Shown options are a permutation; the label points at the correct one.
            XCTAssertEqual(item.shownOptions.sorted(), q.options.sorted())
            XCTAssertEqual(item.shownOptions[QuestionText.letters.firstIndex(of: item.label)!], q.answer)
            func only(_ name: String) throws -> SceneObject {
                let matches = objects.filter { $0.shape.name == name }
                XCTAssertEqual(matches.count, 1, "the target shape \(name) is unique (question \(i))")
                return try XCTUnwrap(matches.first)
            }
            switch q.type {
            case .attribute:
                let target = try only(q.targetObjects[0])
                XCTAssertEqual(q.question, "What is the color of the \(target.shape.name)?")
                XCTAssertEqual(q.answer, target.color.name)
                XCTAssertEqual(Set(q.options).count, 4)
                XCTAssertTrue(q.options.allSatisfy { ObjectColor(name: $0) != nil })
                XCTAssertEqual(q.boxes, [target.box])
                XCTAssertEqual(q.targets, [target.shape.name])
            case .spatial:
                let subject = try only(q.targetObjects[0]), reference = try only(q.targetObjects[1])
                XCTAssertEqual(q.question, "Is the \(subject.shape.name) on the left or right side of the \(reference.shape.name)?")
                XCTAssertEqual(q.answer, subject.box.centerX < reference.box.centerX ? "left" : "right")
                XCTAssertGreaterThanOrEqual(subject.box.horizontalGap(to: reference.box),
                                            max(subject.box.longestSide, reference.box.longestSide))
                XCTAssertEqual(q.boxes, [subject.box, reference.box])
                XCTAssertEqual(q.targets, [subject.shape.name, reference.shape.name])
            case .existence:
                let shape = try XCTUnwrap(ObjectShape(name: q.targetObjects[0]))
                let matches = scene.objects(of: shape)
                XCTAssertEqual(q.question, "Is there a \(shape.name) in the image?")
                XCTAssertEqual(q.answer, matches.isEmpty ? "No" : "Yes")
                XCTAssertLessThanOrEqual(matches.count, 1)
                XCTAssertEqual(q.boxes, matches.map(\.box))
                existence.append(!matches.isEmpty)
            case .counting:
                let shape = try XCTUnwrap(ObjectShape(name: q.targetObjects[0]))
                let matches = scene.objects(of: shape)
                XCTAssertEqual(q.question, "How many \(shape.plural) are there?")
                XCTAssertEqual(q.answer, String(matches.count))
                XCTAssertEqual(q.options.sorted(), ["1", "2", "3", "4"])
                XCTAssertEqual(q.boxes, matches.map(\.box))
                XCTAssertEqual(q.targets, ["all \(shape.plural)"])
            }
        }
        XCTAssertEqual(existence.filter { $0 }.count, existence.count / 2, "half the existence questions have the object")
    }

    func testDistractorsFillTheScene() throws {
        var c = try config(count: 4, size: "small")
        (c.width, c.height, c.distractors) = (2048, 1536, 40)
        c.objectSize = try ObjectSizeRange.parse("small", width: 2048, height: 1536)
        let item = try SynthBenchmark(config: c).item(0)
        XCTAssertGreaterThanOrEqual(item.scene.objects.count, 40, "small objects leave room for every distractor")
        XCTAssertGreaterThan(Set(item.scene.objects.map(\.shape)).count, 5)
    }

    // MARK: - Sizes

    func testObjectSizeClasses() throws {
        for (name, label) in [("small", "small"), ("medium", "medium"), ("large", "large"), ("20-24", "small")] {
            var c = SynthBenchmarkConfig()
            c.count = 8
            c.objectSize = try ObjectSizeRange.parse(name, width: 2048, height: 1536)
            XCTAssertEqual(c.objectSize.label, label, name)
            let short = 1536.0
            switch name {
            case "small": XCTAssertLessThanOrEqual(Double(c.objectSize.max), 0.02 * short)
            case "large": XCTAssertGreaterThanOrEqual(Double(c.objectSize.min), 0.15 * short)
            case "medium":
                XCTAssertGreaterThan(Double(c.objectSize.min), 0.02 * short)
                XCTAssertLessThan(Double(c.objectSize.max), 0.15 * short)
            default: XCTAssertEqual([c.objectSize.min, c.objectSize.max], [20, 24])
            }
            let bench = try SynthBenchmark(config: c)
            for i in 0..<8 {
                let item = try bench.item(i)
                for o in item.scene.objects {
                    XCTAssertTrue((c.objectSize.min...c.objectSize.max).contains(o.box.longestSide),
                                  "\(name): \(o.shape) of \(o.box.longestSide) px")
                }
            }
        }
        XCTAssertEqual(ObjectSizeRange.classify(min: 10, max: 300, shortSide: 1536), "mixed")
    }

    // MARK: - Pixels

    func testRenderedTargetHasItsColourInsideItsBox() throws {
        for size in ["16-24", "medium"] {
            var c = try config(count: 24, size: size)
            c.types = [.attribute]
            let bench = try SynthBenchmark(config: c)
            for i in 0..<6 {
                let item = try bench.item(i)
                let image = SceneRenderer.render(item.scene)
                let target = item.scene.objects.first { $0.shape.name == item.question.targetObjects[0] }!
                let want = target.color.rgb
                var close = 0
                for y in target.box.y..<target.box.maxY {
                    for x in target.box.x..<target.box.maxX {
                        let p = image[x, y]
                        let d = abs(Int(p.r) - Int(want.r)) + abs(Int(p.g) - Int(want.g)) + abs(Int(p.b) - Int(want.b))
                        if d <= 30 { close += 1 }
                    }
                }
                // Even a ring or a moon covers a third of its box.
                XCTAssertGreaterThan(Double(close) / Double(target.box.area), 0.25,
                                     "\(size) \(target.color.name) \(target.shape.name) in question \(i)")
            }
        }
    }

    func testShapesFillTheirBoxTightly() {
        for shape in ObjectShape.allCases {
            var inside = 0, rows = Set<Int>(), columns = Set<Int>()
            let n = 200
            for j in 0..<n {
                for i in 0..<n where shape.contains(u: (Float(i) + 0.5) / Float(n), v: (Float(j) + 0.5) / Float(n)) {
                    inside += 1
                    rows.insert(j)
                    columns.insert(i)
                }
            }
            let fill = Double(inside) / Double(n * n)
            XCTAssertGreaterThan(fill, 0.3, "\(shape)")
            XCTAssertGreaterThanOrEqual(rows.count, n - 4, "\(shape) reaches the top and bottom of its box")
            XCTAssertGreaterThanOrEqual(columns.count, n - 4, "\(shape) reaches the left and right of its box")
        }
        XCTAssertFalse(ObjectShape.ring.contains(u: 0.5, v: 0.5), "a ring has a hole")
        XCTAssertEqual(Set(ObjectShape.allCases.map(\.plural)).count, ObjectShape.allCases.count)
        XCTAssertTrue(ObjectShape.allCases.allSatisfy { !"aeiou".contains($0.name.first!) }, "\"a {shape}\" reads right")
    }

    func testARenderIsFast() throws {
        var c = SynthBenchmarkConfig()
        c.count = 1
        let item = try SynthBenchmark(config: c).item(0)
        let start = Date()
        let image = SceneRenderer.render(item.scene)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual([image.width, image.height], [2048, 1536])
        // Debug builds are ~10x slower than release (where this takes a few tens of milliseconds).
        XCTAssertLessThan(seconds, 10)
    }

    // MARK: - Bad arguments

    func testBadArgumentsSayWhatIsWrong() throws {
        expectSynthError(.badArgument, ["--size", "positive", "0x100"]) { _ = try SynthArguments.parseSize("0x100") }
        expectSynthError(.badArgument, ["--size", "WIDTHxHEIGHT", "big"]) { _ = try SynthArguments.parseSize("big") }
        expectSynthError(.badArgument, ["--size", "WIDTHxHEIGHT"]) { _ = try SynthArguments.parseSize("640x") }
        expectSynthError(.badArgument, ["unknown shape 'blob'", "circle"]) { _ = try SynthArguments.parseShapes("circle,blob") }
        expectSynthError(.badArgument, ["unknown colour 'mauve'", "red"]) { _ = try SynthArguments.parseColors("red,mauve") }
        expectSynthError(.badArgument, ["unknown question type 'color'", "attribute"]) { _ = try SynthArguments.parseTypes("color") }
        expectSynthError(.badArgument, ["listed twice"]) { _ = try SynthArguments.parseTypes("counting,counting") }
        expectSynthError(.badArgument, ["--object-size", "larger than the 2048x1536 image"]) {
            _ = try ObjectSizeRange.parse("1000-2000", width: 2048, height: 1536)
        }
        expectSynthError(.badArgument, ["--object-size", "a third"]) { _ = try ObjectSizeRange.parse("600-700", width: 2048, height: 1536) }
        expectSynthError(.badArgument, ["--object-size", "small, medium, large"]) { _ = try ObjectSizeRange.parse("tiny", width: 2048, height: 1536) }
        expectSynthError(.badArgument, ["MIN <= MAX"]) { _ = try ObjectSizeRange.parse("30-20", width: 2048, height: 1536) }
        expectSynthError(.badArgument, ["too small for small objects"]) { _ = try ObjectSizeRange.parse("small", width: 100, height: 100) }

        var c = try config()
        c.count = 0
        expectSynthError(.badArgument, ["--count"]) { try c.validate() }
        c = try config()
        c.shapes = [.star, .ring]
        expectSynthError(.badArgument, ["--shapes", "at least 3"]) { try c.validate() }
        c = try config()
        c.colors = [.red, .blue, .green]
        expectSynthError(.badArgument, ["--colors", "at least 4"]) { try c.validate() }
    }

    func testUnwritableOutputDirectory() throws {
        let root = temporaryDirectory()
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let file = root.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let bench = try SynthBenchmark(config: config(count: 1))
        expectSynthError(.output, ["cannot create the output directory", "plain-file/bench"]) {
            try bench.write(to: file.appendingPathComponent("bench"), workers: 1)
        }
        expectSynthError(.output, ["plain-file", "it is a file"]) { try bench.write(to: file, workers: 1) }
    }
}
