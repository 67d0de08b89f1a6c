import Foundation
import XCTest
import Models
@testable import Methods

/// The evaluation machinery on a real (tiny, random) checkpoint: records are written and flushed per
/// question, a bad image is recorded as an error without stopping the run, and a resumed run skips
/// what is done.
final class EvaluationRunTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func testRunWritesRecordsAndResumes() throws {
        let model = try LlavaModel(directory: Self.fixtures.appendingPathComponent("models/tiny-llava-sp"))
        let executor = LocalExecutor(model: model)
        let image = Self.fixtures.appendingPathComponent("references/tiny-llava-sp/wide.png")
        let questions = [
            Question(id: "q1", image: image, text: "What is the color of the star?", options: ["red", "blue"], label: "A",
                     category: "direct_attributes", targets: ["star"], boxes: [PixelBox(x: 10, y: 5, width: 6, height: 6)]),
            Question(id: "q2", image: URL(fileURLWithPath: "/nonexistent/image.jpg"), text: "Is there a star?",
                     options: ["Yes", "No"], label: "B", category: "existence"),
            Question(id: "q3", image: image, text: "Is the star left or right of the ring?", options: ["left", "right"],
                     label: "A", category: "relative_position"),
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("focus-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }

        let first = try EvaluationRun(directory: dir, probe: MethodProbe(Vanilla()), resume: false)
        try first.run(Array(questions.prefix(2)), executor: executor)
        let summary = try first.writeSummary()
        XCTAssertEqual(summary.overall.questions, 2)
        XCTAssertEqual(summary.overall.errors, 1)
        let lines = try String(contentsOf: dir.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let failed = try JSONDecoder().decode(QuestionRecord.self, from: Data(lines[1].utf8))
        XCTAssertEqual(failed.question_id, "q2")
        XCTAssertFalse(failed.correct)
        XCTAssertTrue(failed.error?.contains("/nonexistent/image.jpg") ?? false, failed.error ?? "no error")
        let ok = try JSONDecoder().decode(QuestionRecord.self, from: Data(lines[0].utf8))
        XCTAssertEqual(ok.forward_passes["answer"], 1)
        XCTAssertGreaterThan(ok.prefill_tokens, 16)

        // Without --resume an existing run is refused; with it only q3 is new.
        XCTAssertThrowsError(try EvaluationRun(directory: dir, probe: MethodProbe(Vanilla()), resume: false))
        let second = try EvaluationRun(directory: dir, probe: MethodProbe(Vanilla()), resume: true)
        try second.run(questions, executor: executor)
        let all = try String(contentsOf: dir.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(all.map { try! JSONDecoder().decode(QuestionRecord.self, from: Data($0.utf8)).question_id }, ["q1", "q2", "q3"])
        XCTAssertEqual(try second.writeSummary().categories.keys.sorted(), ["direct_attributes", "existence", "relative_position"])
    }

    func testOracleCropsTheUnionOfTheBoxesAtTheInputSize() throws {
        let model = try LlavaModel(directory: Self.fixtures.appendingPathComponent("models/tiny-llava-sp"))
        let executor = LocalExecutor(model: model)
        let image = Self.fixtures.appendingPathComponent("references/tiny-llava-sp/wide.png")   // 45×31
        let q = Question(id: "q", image: image, text: "?", options: ["a", "b"], label: "A", category: "c",
                         boxes: [PixelBox(x: 2, y: 2, width: 3, height: 3), PixelBox(x: 10, y: 4, width: 4, height: 4)])
        // Union (2,2)-(14,8), 12×6, grown to the 28 px input around (8, 5) and shifted inside: (0, 0, 28, 28).
        XCTAssertEqual(try OracleCrop().view(for: q, executor: executor).crop, PixelBox(x: 0, y: 0, width: 28, height: 28))
    }

    /// The oracle follows FOCUS's step 5: single targets whose centres (here 9.0 px apart) are
    /// farther apart than the canvas distance go on a canvas of their boxes, each grown to the input
    /// size first; counting keeps the union; the default distance scales 1200 px to the 28-px
    /// encoder (100 px), so these two stay a union.
    func testOracleUsesACanvasForSingleTargetsFartherApartThanTheCanvasDistance() throws {
        let model = try LlavaModel(directory: Self.fixtures.appendingPathComponent("models/tiny-llava-sp"))
        let executor = LocalExecutor(model: model)
        let image = Self.fixtures.appendingPathComponent("references/tiny-llava-sp/wide.png")   // 45×31
        var q = Question(id: "q", image: image, text: "?", options: ["a", "b"], label: "A", category: "c", kind: .single,
                         boxes: [PixelBox(x: 2, y: 2, width: 3, height: 3), PixelBox(x: 10, y: 4, width: 4, height: 4)])
        XCTAssertEqual(FocusOptions().canvasDistance(inputSize: 28), 100, accuracy: 1e-9)
        XCTAssertNil(try OracleCrop().view(for: q, executor: executor).canvas)
        let view = try OracleCrop(canvasDistance: 8).view(for: q, executor: executor)
        // (2,2,3,3) grown to 28 around (3.5, 3.5), shifted inside: (0,0,28,28); (10,4,4,4) around (12, 6): (0,0,28,28) too.
        XCTAssertEqual(view.canvas, [PixelBox(x: 0, y: 0, width: 28, height: 28), PixelBox(x: 0, y: 0, width: 28, height: 28)])
        XCTAssertNil(view.crop)
        q.kind = .all
        XCTAssertEqual(try OracleCrop(canvasDistance: 8).view(for: q, executor: executor).crop, PixelBox(x: 0, y: 0, width: 28, height: 28))
    }
}
