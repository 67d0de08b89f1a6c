import Foundation
import XCTest
@testable import Methods

/// Scoring by groups: HR-Bench's accuracy per cycle then averaged, MME-RealWorld's per task.
final class EvaluationSummaryTests: XCTestCase {
    func record(_ id: Int, _ category: String, _ correct: Bool, _ groups: [String: String]) -> QuestionRecord {
        QuestionRecord(question_id: "\(id)", category: category, method: "vanilla", label: "A", raw: "A", letter: "A",
                       scheme: .generatedLetter, correct: correct, targets: nil, views: [], forward_passes: [:],
                       search_forward_passes: 0, prefill_tokens: 1, cached_tokens: nil, generated_tokens: 1, groups: groups,
                       flops: 0, seconds: 0, error: nil)
    }

    func testHRBenchAveragesOverCyclesNotQuestions() {
        var records: [QuestionRecord] = []
        let rows: [(String, String, Bool)] = [
            ("c0", "single", true), ("c0", "single", true), ("c0", "cross", true),
            ("c1", "single", true), ("c1", "cross", false),
            ("c2", "single", false), ("c2", "cross", false),
            ("c3", "single", true), ("c3", "cross", false),
        ]
        for (i, (cycle, category, ok)) in rows.enumerated() { records.append(record(i, category, ok, ["cycle": cycle])) }
        let s = EvaluationSummary(method: "vanilla", records: records)
        // single: c0 2/2, c1 1/1, c2 0/1, c3 1/1 -> 0.75; cross: 1, 0, 0, 0 -> 0.25; all: 1, 1/2, 0, 1/2 -> 0.5.
        XCTAssertEqual(s.cycleAverage?["single"] ?? -1, 0.75, accuracy: 1e-12)
        XCTAssertEqual(s.cycleAverage?["cross"] ?? -1, 0.25, accuracy: 1e-12)
        XCTAssertEqual(s.cycleAverage?["all"] ?? -1, 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.overall.accuracy, 5.0 / 9.0, accuracy: 1e-12, "the micro average differs")
        XCTAssertTrue(s.markdown.contains("| **average %** | 25.0 | 75.0 | 50.0 |"), s.markdown)
    }

    func testGroupsScoreSeparately() {
        let s = EvaluationSummary(method: "vanilla", records: [
            record(0, "OCR", true, ["task": "Perception", "subtask": "OCR with Complex Context"]),
            record(1, "Intention", false, ["task": "Reasoning", "subtask": "Autonomous_Driving"]),
            record(2, "Intention", true, ["task": "Reasoning", "subtask": "Autonomous_Driving"]),
        ])
        XCTAssertEqual(s.groups?["task"]?["Perception"]?.accuracy, 1)
        XCTAssertEqual(s.groups?["task"]?["Reasoning"]?.accuracy, 0.5)
        XCTAssertEqual(s.groups?["subtask"]?["Autonomous_Driving"]?.questions, 2)
        XCTAssertNil(s.cycleAverage)
        XCTAssertTrue(s.markdown.contains("| Reasoning | 2 | 50.0 |"), s.markdown)
    }
}
