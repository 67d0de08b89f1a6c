import Foundation
import XCTest
import Methods
@testable import Benchmarks

/// The V*Bench-layout loader on files written in V*Bench's published form (options only inside
/// `text`, boxes only in the per-image JSON), and its errors on malformed records.
final class VStarBenchmarkTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("focus-vstar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("direct_attributes"), withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// Writes test_questions.jsonl and an (empty) file for every image it names: the loader checks
    /// that images exist, not what they hold.
    func write(_ lines: [String]) throws {
        try Data(lines.joined(separator: "\n").utf8).write(to: dir.appendingPathComponent("test_questions.jsonl"))
        for line in lines {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let image = object["image"] as? String else { continue }
            let url = dir.appendingPathComponent(image)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: url.path, contents: Data())
        }
    }

    func testReadsThePublishedLayout() throws {
        try Data(#"{"target_object": ["glove"], "bbox": [[564, 142, 155, 157]], "question": "What is the material of the glove?", "options": ["rubber", "cotton", "kevlar", "leather"]}"#.utf8)
            .write(to: dir.appendingPathComponent("direct_attributes/sa_4690.json"))
        try write([#"{"image": "direct_attributes/sa_4690.jpg", "text": "What is the material of the glove?\n(A) rubber\n(B) cotton\n(C) kevlar\n(D) leather\nAnswer with the option's letter from the given choices directly.", "category": "direct_attributes", "question_id": "0", "label": "A"}"#])
        let q = try XCTUnwrap(VStarBenchmark.load(directory: dir).first)
        XCTAssertEqual(q.id, "0")
        XCTAssertEqual(q.text, "What is the material of the glove?")
        XCTAssertEqual(q.options, ["rubber", "cotton", "kevlar", "leather"])
        XCTAssertEqual(q.label, "A")
        XCTAssertEqual(q.targets, ["glove"])
        XCTAssertEqual(q.boxes, [PixelBox(x: 564, y: 142, width: 155, height: 157)])
        XCTAssertEqual(q.image.lastPathComponent, "sa_4690.jpg")
        XCTAssertEqual(q.kind, .single)
    }

    func testPrefersExplicitFieldsAndMarksCounting() throws {
        try write([#"{"image": "counting/synth_000001.jpg", "text": "ignored", "category": "counting", "question_id": 7, "label": "C", "question": "How many triangles are there?", "options": ["1", "2", "3", "4"], "bbox": [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], "target_object": ["triangle"], "type": "counting"}"#])
        let q = try XCTUnwrap(VStarBenchmark.load(directory: dir).first)
        XCTAssertEqual(q.id, "7")
        XCTAssertEqual(q.options.count, 4)
        XCTAssertEqual(q.boxes.count, 3)
        XCTAssertEqual(q.kind, .all)
    }

    func testMalformedRecordsNameLineAndField() throws {
        func expect(_ line: String, _ fragments: [String]) throws {
            try write([#"{"image": "a.jpg", "text": "Q?\n(A) x\n(B) y", "category": "c", "question_id": "1", "label": "A"}"#, line])
            XCTAssertThrowsError(try VStarBenchmark.load(directory: dir)) { error in
                let m = String(describing: error)
                for f in fragments { XCTAssertTrue(m.contains(f), "'\(f)' not in \(m)") }
            }
        }
        try expect(#"{"text": "Q?\n(A) x", "category": "c", "question_id": "2", "label": "A"}"#, ["line 2", "image"])
        try expect(#"{"image": "b.jpg", "text": "Q?\n(A) x\n(B) y", "category": "c", "question_id": "2", "label": "E"}"#, ["line 2", "label", "'E'"])
        try expect(#"{"image": "b.jpg", "text": "no options", "category": "c", "question_id": "2"}"#, ["line 2", "option"])
        try expect("not json", ["line 2", "JSON"])
        XCTAssertThrowsError(try VStarBenchmark.load(directory: dir.appendingPathComponent("missing"))) { error in
            XCTAssertTrue(String(describing: error).contains("test_questions.jsonl"))
        }
    }
}
