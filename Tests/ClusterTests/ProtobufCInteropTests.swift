import Foundation
import Methods
import XCTest

@testable import Cluster

/// The wire contract is usable from C: protoc-c's code for proto/focus.proto, built against Debian's
/// libprotobuf-c, reads what Swift writes, and Swift reads what it writes.
final class ProtobufCInteropTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ tool: String, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + arguments
        p.currentDirectoryURL = directory
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testSwiftAndCReadEachOthersMessages() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/protoc-c"),
              FileManager.default.fileExists(atPath: "/usr/include/protobuf-c/protobuf-c.h") else {
            throw XCTSkip("protoc-c and libprotobuf-c-dev are not installed (scripts/install-deps installs them)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let proto = Self.root.appendingPathComponent("proto")
        var r = try run("protoc-c", ["--c_out=\(dir.path)", "-I", proto.path, proto.appendingPathComponent("focus.proto").path], in: dir)
        XCTAssertEqual(r.status, 0, r.output)
        let source = Self.root.appendingPathComponent("Tests/Fixtures/interop/interop.c").path
        r = try run("cc", ["-O1", "-o", "interop", source, "focus.pb-c.c", "-I", ".", "-lprotobuf-c"], in: dir)
        XCTAssertEqual(r.status, 0, r.output)

        // Swift -> C.
        let task = ModelTask(prompt: "USER: <image>\nIs there a star in the image? Answer Yes or No. ASSISTANT:",
                             views: [ImageView(image: URL(fileURLWithPath: "/data/a.jpg"), crop: PixelBox(x: 12.5, y: 40, width: 336, height: 300.25))],
                             operation: .candidates(["Yes", "No"]), bucket: .search)
        try Data(try Focus_Envelope(.task(Focus_Task(task, id: 77, attempt: 1))).frame()).write(to: dir.appendingPathComponent("task.bin"))
        r = try run("./interop", ["decode", "task.bin"], in: dir)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(r.output, """
            version \(protocolVersion)
            task 77 attempt 1 bucket 2
            prompt USER: <image>
            Is there a star in the image? Answer Yes or No. ASSISTANT:
            view /data/a.jpg crop 12.50 40.00 336.00 300.25 canvas 0
            candidates Yes No

            """)
        let relevance = ModelTask(prompt: "p", views: [ImageView(image: URL(fileURLWithPath: "/b.png"))],
                                  operation: .relevance(phrase: "red star", options: RelevanceOptions(source: .keys, aggregation: .sum, layers: 14..<32)),
                                  bucket: .search)
        try Data(try Focus_Envelope(.task(Focus_Task(relevance, id: 5))).frame()).write(to: dir.appendingPathComponent("rel.bin"))
        r = try run("./interop", ["decode", "rel.bin"], in: dir)
        XCTAssertTrue(r.output.contains("relevance red star keys sum layers 1 14 32"), r.output)

        // C -> Swift.
        r = try run("./interop", ["encode", "result.bin"], in: dir)
        XCTAssertEqual(r.status, 0, r.output)
        let envelope = try Focus_Envelope.decode(Array(try Data(contentsOf: dir.appendingPathComponent("result.bin"))))
        guard case .result(let result)? = envelope.body else { return XCTFail("not a result") }
        XCTAssertEqual(result.taskID, 78)
        XCTAssertEqual(result.queueSeconds, 0.5)
        XCTAssertTrue(result.prefixCacheHit)
        guard case .success(let value) = try result.decoded(), case .relevance(let map, let geometry) = value.output else {
            return XCTFail("not a relevance map")
        }
        XCTAssertEqual(map, RelevanceMap(rows: 2, columns: 3, scores: [0, 0.125, 0.25, 0.375, 0.125, 0.125]))
        XCTAssertEqual(geometry.padTop, 256)
        XCTAssertEqual(geometry.paddedHeight, 2048)
        XCTAssertEqual(value.cost, TaskCost(bucket: .search, forwardPasses: 1, prefillTokens: 183, generatedTokens: 0, flops: 2.5e9, seconds: 0.03125))
    }
}
