import Foundation
import XCTest

@testable import Benchmarks

/// Temporary directories removed at the end of each test, and whole-tree byte comparison.
class SynthTestCase: XCTestCase {
    private var temporaries: [URL] = []

    func temporaryDirectory(_ name: String = "out") -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("focus-synth-\(UUID().uuidString)").appendingPathComponent(name)
        temporaries.append(url.deletingLastPathComponent())
        return url
    }

    override func tearDown() {
        for url in temporaries { try? FileManager.default.removeItem(at: url) }
        temporaries = []
        super.tearDown()
    }

    /// Relative path -> contents of every file under `root`.
    func files(under root: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])!
        for case let url as URL in enumerator {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            out[relative] = try Data(contentsOf: url)
        }
        return out
    }

    func jsonLines(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"), "\(url.lastPathComponent) ends with a newline")
        return try text.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
    }

    func jsonObject(_ url: URL) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], url.path)
    }

    /// Fails unless `body` throws a `SynthError` whose message contains every fragment.
    func expectSynthError(
        _ code: SynthError.Code, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> Void
    ) {
        do {
            try body()
            XCTFail("expected an error mentioning \(fragments)", file: file, line: line)
        } catch let error as SynthError {
            XCTAssertEqual(error.code, code, error.message, file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(error.message.contains(fragment), "'\(fragment)' not in: \(error.message)", file: file, line: line)
            }
        } catch {
            XCTFail("expected a SynthError, got \(error)", file: file, line: line)
        }
    }

    /// Splits "question\n(A) x\n(B) y\nAnswer with …" into the question and the shown options.
    func parseMultipleChoice(_ text: String) -> (question: String, options: [String], instruction: String) {
        var lines = text.components(separatedBy: "\n")
        let instruction = lines.removeLast()
        let question = lines.removeFirst()
        let options = lines.enumerated().map { i, line -> String in
            let prefix = "(\(QuestionText.letters[i])) "
            XCTAssertTrue(line.hasPrefix(prefix), "option line \(i) is '\(line)'")
            return String(line.dropFirst(prefix.count))
        }
        return (question, options, instruction)
    }
}
