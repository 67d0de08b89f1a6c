import Foundation
import XCTest

/// Runs the real `focus` executable: the JSON forms scripts rely on, and one clear error with a
/// non-zero exit for each kind of bad input.
final class FocusCLITests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let sp = fixtures.appendingPathComponent("models/tiny-llava-sp").path
    static let spImage = fixtures.appendingPathComponent("references/tiny-llava-sp/wide.png").path

    struct Run { let status: Int32; let stdout: String; let stderr: String }

    /// The `focus` binary in the build products folder, next to the test bundle (a file on Linux,
    /// a directory in Xcode-style layouts).
    static var executable: URL {
        let candidates = Bundle.allBundles.map(\.bundleURL) + [Bundle.main.bundleURL]
        for base in candidates {
            for folder in [base, base.deletingLastPathComponent()] {
                let url = folder.appendingPathComponent("focus")
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
        }
        return Bundle.main.bundleURL.appendingPathComponent("focus")
    }

    func focus(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    func json(_ run: Run) throws -> [String: Any] {
        XCTAssertEqual(run.status, 0, run.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
    }

    /// Fails unless the command exits non-zero with a message on stderr containing every `fragment`.
    func expectFailure(_ arguments: [String], mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try focus(arguments)
        XCTAssertNotEqual(run.status, 0, "expected a failure: \(arguments)", file: file, line: line)
        XCTAssertTrue(run.stdout.isEmpty, "nothing on stdout on failure: \(run.stdout)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(run.stderr.contains(fragment), "stderr should mention '\(fragment)': \(run.stderr)", file: file, line: line)
        }
        XCTAssertFalse(run.stderr.contains("Fatal error"), "crashed: \(run.stderr)", file: file, line: line)
    }

    // MARK: - Reference data

    struct Reference: Decodable {
        struct Case: Decodable { let prompt: String; let image: String?; let input_ids: [Int]; let last_logits: [Float]; let generated_ids: [Int]; let generated_text: String }
        let cases: [Case]
    }

    func reference(_ name: String) throws -> Reference {
        let url = Self.fixtures.appendingPathComponent("references/\(name)/reference.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    struct TokenizerCase: Decodable { let text: String; let ids: [Int]; let ids_special: [Int] }

    // MARK: - Forms

    func testTokenizePrintsTheIdsOfTokenizers() throws {
        let url = Self.fixtures.appendingPathComponent("tokenizer-cases/tiny-llava-sp.json")
        let all = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        let cases = try JSONDecoder().decode([TokenizerCase].self, from: JSONSerialization.data(withJSONObject: (all as? [String: Any])?["cases"] ?? all))
        for c in cases.prefix(5) + cases.suffix(3) {
            let plain = try json(focus(["tokenize", "--model", Self.sp, "--text", c.text]))
            XCTAssertEqual(plain["ids"] as? [Int], c.ids, c.text)
            let special = try json(focus(["tokenize", "--model", Self.sp, "--text", c.text, "--special"]))
            XCTAssertEqual(special["ids"] as? [Int], c.ids_special, c.text)
        }
    }

    func testLogitsAndGenerateMatchTransformers() throws {
        for name in ["tiny-llava-sp", "tiny-llava-bl", "tiny-llava-qw"] {
            let model = Self.fixtures.appendingPathComponent("models/\(name)").path
            for c in try reference(name).cases {
                guard let image = c.image else { continue }
                let imagePath = Self.fixtures.appendingPathComponent("references/\(name)/\(image)").path
                let logits = try json(focus(["logits", "--model", model, "--image", imagePath, "--prompt", c.prompt]))
                XCTAssertEqual(logits["tokens"] as? Int, c.input_ids.count)
                let values = try XCTUnwrap(logits["last_logits"] as? [Double]).map(Float.init)
                let scale = max(1, c.last_logits.map(abs).max()!)
                XCTAssertLessThan(zip(values, c.last_logits).map { abs($0 - $1) }.max()! / scale, 1e-4)
                let generated = try json(focus(["generate", "--model", model, "--image", imagePath, "--prompt", c.prompt,
                                                "--max-new-tokens", String(c.generated_ids.count)]))
                XCTAssertEqual(generated["ids"] as? [Int], c.generated_ids)
                XCTAssertEqual(generated["text"] as? String, c.generated_text)
            }
        }
    }

    func testAskPrintsAnAnswer() throws {
        let run = try focus(["ask", "--model", Self.sp, "--image", Self.spImage, "--question", "What is the color of the star?", "--max-new-tokens", "4"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    // MARK: - Bad input

    /// A copy of the fixture checkpoint in a temporary directory, to break.
    func copyOfCheckpoint(_ name: String = "tiny-llava-sp") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("focus-cli-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent("models/\(name)"), to: dir)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func editConfig(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("config.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
    }

    func logitsArguments(_ model: String, prompt: String = "USER: <image>\nWhat? ASSISTANT:", image: String = spImage) -> [String] {
        ["logits", "--model", model, "--image", image, "--prompt", prompt]
    }

    func testMissingModelDirectory() throws {
        try expectFailure(logitsArguments("/nonexistent/model"), mentions: ["/nonexistent/model", "does not exist"])
    }

    func testMissingConfigFile() throws {
        let dir = try copyOfCheckpoint()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        try expectFailure(logitsArguments(dir.path), mentions: ["config.json"])
    }

    func testUnknownModelType() throws {
        let dir = try copyOfCheckpoint()
        try editConfig(dir) { $0["model_type"] = "blip2" }
        try expectFailure(logitsArguments(dir.path), mentions: ["config.json", "blip2"])
    }

    func testTensorMissingForTheConfig() throws {
        let dir = try copyOfCheckpoint()
        try editConfig(dir) { c in
            var text = c["text_config"] as! [String: Any]
            text["num_hidden_layers"] = 3
            c["text_config"] = text
        }
        try expectFailure(logitsArguments(dir.path), mentions: ["layers.2."])
    }

    func testTensorOfTheWrongShape() throws {
        let dir = try copyOfCheckpoint()
        try editConfig(dir) { c in
            var text = c["text_config"] as! [String: Any]
            text["intermediate_size"] = 100
            c["text_config"] = text
        }
        try expectFailure(logitsArguments(dir.path), mentions: ["gate_proj.weight", "[100, 48]", "[96, 48]"])
    }

    func testTruncatedSafetensors() throws {
        let dir = try copyOfCheckpoint()
        let file = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: file)
        try data.prefix(data.count / 2).write(to: file)
        try expectFailure(logitsArguments(dir.path), mentions: ["model.safetensors"])
    }

    func testCorruptSafetensorsHeader() throws {
        let dir = try copyOfCheckpoint()
        let file = dir.appendingPathComponent("model.safetensors")
        var data = try Data(contentsOf: file)
        data.replaceSubrange(8..<16, with: Array("garbage!".utf8))
        try data.write(to: file)
        try expectFailure(logitsArguments(dir.path), mentions: ["model.safetensors", "header"])
    }

    func testCorruptImage() throws {
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("focus-bad-\(UUID().uuidString).jpg")
        var data = try Data(contentsOf: URL(fileURLWithPath: Self.spImage))
        data = data.prefix(data.count / 3)
        try data.write(to: bad)
        addTeardownBlock { try? FileManager.default.removeItem(at: bad) }
        try expectFailure(logitsArguments(Self.sp, image: bad.path), mentions: [bad.lastPathComponent])
    }

    func testPromptWithoutOrWithTwoImageMarkers() throws {
        try expectFailure(logitsArguments(Self.sp, prompt: "USER: no image here ASSISTANT:"), mentions: ["0 <image> markers"])
        try expectFailure(logitsArguments(Self.sp, prompt: "USER: <image> and <image> ASSISTANT:"), mentions: ["2 <image> markers"])
    }

    func testNonPositiveCanvasDistance() throws {
        for value in ["0", "-5"] {
            try expectFailure(["ask", "--model", Self.sp, "--image", Self.spImage, "--question", "Is the star left of the ring?",
                               "--method", "focus", "--canvas-distance=\(value)"],
                              mentions: ["--canvas-distance must be a positive number of pixels"])
        }
    }

    func testPromptLongerThanTheContext() throws {
        let long = "USER: <image>\n" + String(repeating: "red star blue ring ", count: 200) + "ASSISTANT:"
        try expectFailure(logitsArguments(Self.sp, prompt: long), mentions: ["context", "256"])
    }
}
