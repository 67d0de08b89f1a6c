import Foundation
import Methods
import Models
import XCTest

@testable import Cluster

/// The protobuf contract: every task and result a method can produce survives the wire unchanged,
/// and what no method could send is refused with a message naming what is wrong.
final class WireTests: XCTestCase {
    let image = URL(fileURLWithPath: "/data/bench/attribute/synth_000001.jpg")

    func roundTrip(_ task: ModelTask, file: StaticString = #filePath, line: UInt = #line) throws -> ModelTask {
        let frame = try Focus_Envelope(.task(Focus_Task(task, id: 42, attempt: 1))).frame()
        let envelope = try Focus_Envelope.decode(frame)
        XCTAssertEqual(envelope.protocolVersion, protocolVersion, file: file, line: line)
        guard case .task(let t)? = envelope.body else {
            XCTFail("not a task", file: file, line: line)
            return task
        }
        XCTAssertEqual(t.taskID, 42, file: file, line: line)
        XCTAssertEqual(t.attempt, 1, file: file, line: line)
        return try t.modelTask()
    }

    func testEveryOperationSurvivesTheWire() throws {
        let crop = PixelBox(x: 10.5, y: 20, width: 300, height: 200.25)
        let canvas = [PixelBox(x: 0, y: 0, width: 10, height: 10), PixelBox(x: 5, y: 6, width: 7, height: 8)]
        var options = RelevanceOptions(source: .keys, aggregation: .product, layers: 2..<4)
        let tasks = [
            ModelTask(prompt: "USER: <image>\nWhat? ASSISTANT:", views: [ImageView(image: image)], operation: .generate(maxNewTokens: 8), bucket: .answer),
            ModelTask(prompt: "p", views: [ImageView(image: image, crop: crop)], operation: .candidates(["Yes", "No"]), bucket: .search),
            ModelTask(prompt: "p", views: [ImageView(image: image, canvas: canvas)], operation: .relevance(phrase: "star", options: options), bucket: .search),
            ModelTask(prompt: "p", views: [ImageView(image: image), ImageView(image: image, crop: crop)], operation: .attention(layer: 1), bucket: .search),
            ModelTask(prompt: "text only", views: [], operation: .generate(maxNewTokens: 64), bucket: .extraction),
        ]
        for task in tasks {
            let back = try roundTrip(task)
            XCTAssertEqual(back.prompt, task.prompt)
            XCTAssertEqual(back.views, task.views)
            XCTAssertEqual(back.bucket, task.bucket)
            XCTAssertEqual(String(describing: back.operation), String(describing: task.operation))
        }
        options.layers = nil
        let back = try roundTrip(ModelTask(prompt: "p", views: [ImageView(image: image)], operation: .relevance(phrase: "ring", options: options), bucket: .search))
        guard case .relevance(_, let o) = back.operation else { return XCTFail("not relevance") }
        XCTAssertNil(o.layers, "no layer range stays the model's default")
    }

    func testResultsSurviveTheWire() throws {
        let cost = TaskCost(bucket: .search, forwardPasses: 1, prefillTokens: 180, generatedTokens: 3, flops: 1.5e9, seconds: 0.25)
        let geometry = ImageGeometry(originalWidth: 2048, originalHeight: 1536, padLeft: 0, padTop: 256, paddedWidth: 2048,
                                     paddedHeight: 2048, resizedWidth: 96, resizedHeight: 96, inputWidth: 96, inputHeight: 96)
        let outputs: [TaskOutput] = [
            .text("So I need the information about the following objects: star.", ids: [1, 2, 3, 600]),
            .logits([1.5, -2.25, .greatestFiniteMagnitude]),
            .relevance(RelevanceMap(rows: 2, columns: 3, scores: [0, 0.1, 0.2, 0.3, 0.15, 0.25]), geometry: geometry),
        ]
        for output in outputs {
            let frame = try Focus_Envelope(.result(Focus_Result(taskID: 7, attempt: 2, output: output, cost: cost))).frame()
            guard case .result(let r)? = try Focus_Envelope.decode(frame).body else { return XCTFail("not a result") }
            guard case .success(let value) = try r.decoded() else { return XCTFail("decoded as a failure") }
            XCTAssertEqual(value.output, output)
            XCTAssertEqual(value.cost, cost)
        }
        let failed = try Focus_Envelope(.result(Focus_Result(taskID: 8, attempt: 0, error: "image /x.jpg: not a JPEG"))).frame()
        guard case .result(let r)? = try Focus_Envelope.decode(failed).body else { return XCTFail("not a result") }
        XCTAssertEqual(try r.decoded().map { _ in 0 }, .failure(TaskFailure(message: "image /x.jpg: not a JPEG")))
    }

    func testMalformedMessagesAreNamed() throws {
        XCTAssertThrowsError(try Focus_Envelope.decode([0xFF, 0xFF, 0xFF, 0x01, 0x02])) {
            XCTAssertTrue(String(describing: $0).contains("5-byte frame is not a focus Envelope"), "\($0)")
        }
        var empty = Focus_Envelope()
        empty.protocolVersion = protocolVersion
        XCTAssertThrowsError(try Focus_Envelope.decode(try empty.frame())) {
            XCTAssertTrue(String(describing: $0).contains("without a message"), "\($0)")
        }
        var task = Focus_Task()
        task.taskID = 9
        XCTAssertThrowsError(try task.modelTask()) { XCTAssertTrue(String(describing: $0).contains("task 9 has no operation")) }
        task.generate = .with { $0.maxNewTokens = 3 }
        XCTAssertThrowsError(try task.modelTask()) { XCTAssertTrue(String(describing: $0).contains("unknown compute bucket")) }
        task.bucket = .search
        task.views = [.with { $0.path = "/a.png"; $0.crop = .with { $0.width = -1; $0.height = 4 } }]
        XCTAssertThrowsError(try task.modelTask()) { XCTAssertTrue(String(describing: $0).contains("is not a box"), "\($0)") }
        task.views = []
        task.relevance = .with { $0.phrase = "star"; $0.options = .with { $0.source = "queries"; $0.aggregation = "sum" } }
        XCTAssertThrowsError(try task.modelTask()) { XCTAssertTrue(String(describing: $0).contains("unknown relevance source 'queries'")) }
        var result = Focus_Result()
        result.taskID = 3
        result.relevance = .with { $0.rows = 2; $0.columns = 2; $0.scores = [1, 2, 3] }
        XCTAssertThrowsError(try result.decoded()) { XCTAssertTrue(String(describing: $0).contains("2x2 map with 3 scores"), "\($0)") }
    }

    /// FIPS 180-2 appendix B test vectors.
    func testSHA256KnownAnswers() {
        XCTAssertEqual(SHA256.hex(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(SHA256.hash([UInt8]())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var h = SHA256()
        for _ in 0..<1000 { h.update([UInt8](repeating: 0x61, count: 1000)) }
        XCTAssertEqual(SHA256.hex(h.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testModelDigestTellsCheckpointsApart() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models")
        let sp = try ModelDigest.of(directory: fixtures.appendingPathComponent("tiny-llava-sp"))
        XCTAssertEqual(sp, try ModelDigest.of(directory: fixtures.appendingPathComponent("tiny-llava-sp")))
        XCTAssertNotEqual(sp, try ModelDigest.of(directory: fixtures.appendingPathComponent("tiny-llava-bl")))
        // The same files with one weight byte changed: a different model.
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("digest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("tiny-llava-sp"), to: copy)
        let weights = try FileManager.default.contentsOfDirectory(atPath: copy.path).first { $0.hasSuffix(".safetensors") }!
        var data = try Data(contentsOf: copy.appendingPathComponent(weights))
        data[data.count - 1] ^= 0x01
        try data.write(to: copy.appendingPathComponent(weights))
        XCTAssertNotEqual(sp, try ModelDigest.of(directory: copy))
        XCTAssertThrowsError(try ModelDigest.of(directory: copy.appendingPathComponent("nothing"))) { _ in }
    }
}
