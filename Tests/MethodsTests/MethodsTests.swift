import Foundation
import XCTest
import Models
@testable import Methods

final class QuestionTests: XCTestCase {
    func testMultipleChoicePromptFollowsTheMethodDocument() {
        let q = Question(id: "1", image: URL(fileURLWithPath: "/x.jpg"), text: "What is the color of the star?",
                         options: ["red", "blue", "green", "white"], label: "B", category: "direct_attributes")
        XCTAssertEqual(q.letters, ["A", "B", "C", "D"])
        XCTAssertEqual(q.multipleChoicePrompt, """
            What is the color of the star?
            (A) red
            (B) blue
            (C) green
            (D) white
            Answer with the option's letter from the given choices directly.
            """)
    }

    func testEnlargedBoxIsCentredShiftedInsideAndClipped() {
        // A 20×10 box at (100, 50) grown to 96: centred on (110, 55) → origin (62, 7).
        let b = PixelBox(x: 100, y: 50, width: 20, height: 10).enlarged(toAtLeast: 96, imageWidth: 2048, imageHeight: 1536)
        XCTAssertEqual(b, PixelBox(x: 62, y: 7, width: 96, height: 96))
        // Near the top-left corner it is shifted inside.
        let corner = PixelBox(x: 2, y: 3, width: 10, height: 10).enlarged(toAtLeast: 96, imageWidth: 2048, imageHeight: 1536)
        XCTAssertEqual(corner, PixelBox(x: 0, y: 0, width: 96, height: 96))
        // Near the bottom-right corner too.
        let far = PixelBox(x: 2040, y: 1530, width: 8, height: 6).enlarged(toAtLeast: 96, imageWidth: 2048, imageHeight: 1536)
        XCTAssertEqual(far, PixelBox(x: 1952, y: 1440, width: 96, height: 96))
        // Larger than the target size: unchanged. Image smaller than the target: the whole image.
        let big = PixelBox(x: 10, y: 10, width: 300, height: 200)
        XCTAssertEqual(big.enlarged(toAtLeast: 96, imageWidth: 2048, imageHeight: 1536), big)
        XCTAssertEqual(PixelBox(x: 5, y: 5, width: 4, height: 4).enlarged(toAtLeast: 96, imageWidth: 60, imageHeight: 40),
                       PixelBox(x: 0, y: 0, width: 60, height: 40))
    }
}

final class TargetExtractorTests: XCTestCase {
    func testParsesTheLastAnswerLine() {
        let t = TargetExtractor.parse("The question asks about colours.\nSo I need the information about the following objects: star and ring.")
        XCTAssertEqual(t.names, ["star", "ring"])
        XCTAssertFalse(t.all)
        let many = TargetExtractor.parse("So I need the information about the following objects: a, b.\nSo I need the information about the following objects: red car, blue bus and dog.")
        XCTAssertEqual(many.names, ["red car", "blue bus", "dog"])
    }

    func testTypeTwoTargetsAndDuplicates() {
        let t = TargetExtractor.parse("So I need the information about the following objects: all triangles and all triangles.")
        XCTAssertEqual(t.names, ["triangles"])
        XCTAssertTrue(t.all)
    }

    func testNoAnswerLineGivesNoTargets() {
        XCTAssertEqual(TargetExtractor.parse("I don't know.").names, [])
        XCTAssertEqual(TargetExtractor.parse("So I need the information about the following objects: .").names, [])
    }

    func testFewShotPromptInTheChatFormat() {
        let e = TargetExtractor(examples: [.init(question: "Is the cat left of the dog?",
                                                 answer: "So I need the information about the following objects: cat and dog.")])
        let prompt = e.prompt(for: "What is the color of the star?", template: ChatTemplate(style: .llava15))
        XCTAssertEqual(prompt, "USER: Question: Is the cat left of the dog?\nIf you want to answer the question, which objects' information do you need? ASSISTANT: So I need the information about the following objects: cat and dog.</s>USER: Question: What is the color of the star?\nIf you want to answer the question, which objects' information do you need? ASSISTANT:")
    }
}

final class ExistenceOnCropsTests: XCTestCase {
    func testEmptyCropAvoidsEveryBox() {
        let boxes = [PixelBox(x: 900, y: 700, width: 40, height: 40), PixelBox(x: 100, y: 100, width: 30, height: 30)]
        let like = PixelBox(x: 0, y: 0, width: 96, height: 96)
        let crop = try? XCTUnwrap(ExistenceOnCropsProbe.emptyCrop(like: like, avoiding: boxes, width: 2048, height: 1536))
        XCTAssertNotNil(crop)
        for b in boxes {
            let overlap = b.x < crop!.x + crop!.width && crop!.x < b.x + b.width && b.y < crop!.y + crop!.height && crop!.y < b.y + b.height
            XCTAssertFalse(overlap)
        }
        XCTAssertEqual(crop!.width, 96)
        // Nothing fits when one box covers the whole image.
        XCTAssertNil(ExistenceOnCropsProbe.emptyCrop(like: like, avoiding: [PixelBox(x: 0, y: 0, width: 200, height: 200)], width: 200, height: 200))
    }
}
