import Benchmarks
import Foundation
import Methods
import XCTest

@testable import Cluster

/// Real focus-coord and focus-node processes on 127.0.0.1, running FOCUS with the toy model over a
/// small synthetic benchmark: the answers equal `focus eval`'s, a node killed with SIGKILL loses
/// nothing, a killed coordinator resumes without recomputing, and bad peers are turned away.
/// Helpers shared by the tests that run real focus-coord and focus-node processes.
class ClusterProcessTestCase: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let toy = root.appendingPathComponent("models/focus-toy").path
    static let fewShot = root.appendingPathComponent("data/target-extraction/synthetic.json").path
    static let method = ["--method", "focus", "--few-shot", fewShot, "--steps", "4"]

    var temporaries: [URL] = []
    var processes: [Process] = []

    override func tearDown() {
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for url in temporaries { try? FileManager.default.removeItem(at: url) }
        super.tearDown()
    }

    func temporary() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        temporaries.append(url)
        return url
    }

    static func executable(_ name: String) -> URL {
        for base in Bundle.allBundles.map(\.bundleURL) + [Bundle.main.bundleURL] {
            for folder in [base, base.deletingLastPathComponent()] {
                let url = folder.appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
        }
        return Bundle.main.bundleURL.appendingPathComponent(name)
    }

    /// A running child process with its stderr collected.
    final class Child: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var buffer = ""
        var stderr: String { lock.withLock { buffer } }

        init(_ name: String, _ arguments: [String]) throws {
            process.executableURL = ClusterProcessTestCase.executable(name)
            process.arguments = arguments
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            err.fileHandleForReading.readabilityHandler = { [weak self] h in
                let data = h.availableData
                guard let self, !data.isEmpty else { return }
                lock.withLock { buffer += String(decoding: data, as: UTF8.self) }
            }
            try process.run()
        }

        func waitFor(_ text: String, within seconds: Double = 30) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if stderr.contains(text) { return true }
                usleep(20_000)
            }
            return false
        }

        func wait(within seconds: Double = 120) -> Int32? {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            return process.isRunning ? nil : process.terminationStatus
        }
    }

    func start(_ name: String, _ arguments: [String]) throws -> Child {
        let child = try Child(name, arguments)
        processes.append(child.process)
        return child
    }

    /// Waits (up to a minute) until a run's results.jsonl holds `count` lines.
    func waitForLines(_ results: URL, _ count: Int) {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? String(contentsOf: results, encoding: .utf8)) ?? "").split(separator: "\n").count < count {
            usleep(20_000)
        }
    }

    /// The endpoint a coordinator logged ("listening on tcp://…;").
    func endpoint(of coordinator: Child) -> String {
        XCTAssertTrue(coordinator.waitFor("listening on tcp://"), coordinator.stderr)
        return String((coordinator.stderr.components(separatedBy: "listening on ").last ?? "").prefix { $0 != ";" })
    }

    /// Starts a coordinator on a free port and returns it with its endpoint.
    func coordinator(bench: URL, out: URL, extra: [String] = [], bind: String = "tcp://127.0.0.1:*") throws -> (Child, String) {
        let child = try start("focus-coord", ["run", "--bench", bench.path, "--out", out.path, "--bind", bind,
                                              "--no-node-timeout", "60", "--concurrency", "4"] + Self.method + extra)
        return (child, endpoint(of: child))
    }

    func node(_ endpoint: String, id: String, extra: [String] = []) throws -> Child {
        try start("focus-node", ["--model", Self.toy, "--coordinator", endpoint, "--id", id, "--threads", "1"] + extra)
    }

    func benchmark(count: Int, in dir: URL) throws -> URL {
        var config = SynthBenchmarkConfig()
        config.width = 512
        config.height = 384
        config.count = count
        config.seed = 31
        config.distractors = 10
        config.objectSize = try ObjectSizeRange.parse("medium", width: 512, height: 384)
        config.objectSizeArgument = "medium"
        let url = dir.appendingPathComponent("bench")
        try SynthBenchmark(config: config).write(to: url, workers: 2)
        return url
    }

    /// Records by question id; fails on a question recorded twice.
    func records(_ run: URL, file: StaticString = #filePath, line: UInt = #line) throws -> [String: QuestionRecord] {
        let text = try String(contentsOf: run.appendingPathComponent("results.jsonl"), encoding: .utf8)
        var out: [String: QuestionRecord] = [:]
        for l in text.split(separator: "\n") {
            let r = try JSONDecoder().decode(QuestionRecord.self, from: Data(l.utf8))
            XCTAssertNil(out[r.question_id], "\(r.question_id) recorded twice", file: file, line: line)
            out[r.question_id] = r
        }
        return out
    }

    /// `focus eval` of the same benchmark and method in one process.
    func reference(_ bench: URL, in dir: URL) throws -> [String: QuestionRecord] {
        let out = dir.appendingPathComponent("reference")
        let p = Process()
        p.executableURL = Self.executable("focus")
        p.arguments = ["eval", "--model", Self.toy, "--threads", "1", "--bench", bench.path, "--out", out.path] + Self.method
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "focus eval failed: \(stderr)")
        let answers = try records(out)
        assertLogReadable(stderr, finalProgress: "[\(answers.count)/\(answers.count)]")
        return answers
    }

    /// Stderr that is not a terminal gets plain lines: no carriage return glues the progress into one
    /// line, and the last progress state is there.
    func assertLogReadable(_ stderr: String, finalProgress: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(stderr.contains("\r"), "carriage returns in a log: \(stderr.debugDescription)", file: file, line: line)
        XCTAssertTrue(stderr.split(separator: "\n").last { $0.hasPrefix("[") }?.hasPrefix(finalProgress) ?? false,
                      "the last progress line should start with \(finalProgress): \(stderr)", file: file, line: line)
    }

    func assertSameAnswers(_ got: [String: QuestionRecord], _ want: [String: QuestionRecord], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(got.keys), Set(want.keys), file: file, line: line)
        for (id, w) in want {
            guard let g = got[id] else { continue }
            XCTAssertEqual(g.raw, w.raw, id, file: file, line: line)
            XCTAssertEqual(g.letter, w.letter, id, file: file, line: line)
            XCTAssertEqual(g.correct, w.correct, id, file: file, line: line)
            XCTAssertEqual(g.views, w.views, id, file: file, line: line)
            XCTAssertEqual(g.forward_passes, w.forward_passes, id, file: file, line: line)
            XCTAssertEqual(g.targets, w.targets, id, file: file, line: line)
            XCTAssertNil(g.error, id, file: file, line: line)
        }
    }

}

final class ClusterRunTests: ClusterProcessTestCase {
    // MARK: - Tests

    func testThreeNodesGiveTheAnswersOfOneProcess() throws {
        let dir = try temporary()
        let bench = try benchmark(count: 12, in: dir)
        let run = dir.appendingPathComponent("run")
        let (coord, endpoint) = try coordinator(bench: bench, out: run)
        let nodes = try (1...3).map { try node(endpoint, id: "n\($0)") }
        XCTAssertEqual(coord.wait(), 0, coord.stderr)
        for n in nodes { XCTAssertEqual(n.wait(within: 20), 0, "nodes exit 0 on Shutdown: \(n.stderr)") }
        XCTAssertTrue(coord.waitFor("[12/12]", within: 5), coord.stderr)
        assertLogReadable(coord.stderr, finalProgress: "[12/12]")
        assertSameAnswers(try records(run), try reference(bench, in: dir))
        let manifest = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("manifest.json"))) as? [String: Any])
        let listed = try XCTUnwrap(manifest["nodes"] as? [[String: Any]])
        XCTAssertEqual(Set(listed.compactMap { $0["node_id"] as? String }), ["n1", "n2", "n3"])
        XCTAssertEqual(manifest["model_digest"] as? String, try ModelDigest.of(directory: URL(fileURLWithPath: Self.toy)))
        XCTAssertEqual(manifest["questions_done"] as? Int, 12)
        for name in ["summary.json", "summary.md"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), name)
        }
    }

    func testANodeKilledMidRunLosesNothing() throws {
        let dir = try temporary()
        let bench = try benchmark(count: 16, in: dir)
        let run = dir.appendingPathComponent("run")
        let (coord, endpoint) = try coordinator(bench: bench, out: run)
        let nodes = try (1...3).map { try node(endpoint, id: "n\($0)") }
        // Kill one node once the run is under way.
        let results = run.appendingPathComponent("results.jsonl")
        waitForLines(results, 3)
        kill(nodes[0].process.processIdentifier, SIGKILL)
        XCTAssertEqual(coord.wait(), 0, coord.stderr)
        XCTAssertTrue(coord.stderr.contains("node n1 silent for 3 s: dead") || coord.stderr.contains("node n1 is unreachable: dead"),
                      coord.stderr)
        assertSameAnswers(try records(run), try reference(bench, in: dir))
    }

    func testACoordinatorRestartedWithResumeRecomputesNothing() throws {
        let dir = try temporary()
        let bench = try benchmark(count: 16, in: dir)
        let run = dir.appendingPathComponent("run")
        var (coord, endpoint) = try coordinator(bench: bench, out: run)
        _ = try (1...2).map { try node(endpoint, id: "n\($0)") }
        let results = run.appendingPathComponent("results.jsonl")
        waitForLines(results, 4)
        kill(coord.process.processIdentifier, SIGKILL)
        _ = coord.wait(within: 10)
        let text = try String(contentsOf: results, encoding: .utf8)
        // Whole lines only: a line torn by the kill is dropped on resume.
        let before = String(text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)])
        let finished = before.split(separator: "\n").count
        XCTAssertLessThan(finished, 16, "killed mid-run")
        // The same endpoint: the nodes reconnect to it by themselves.
        (coord, _) = try coordinator(bench: bench, out: run, extra: ["--resume"], bind: endpoint)
        XCTAssertEqual(coord.wait(), 0, coord.stderr)
        XCTAssertTrue(coord.stderr.contains("\(finished) already done"), coord.stderr)
        let after = try String(contentsOf: results, encoding: .utf8)
        XCTAssertTrue(after.hasPrefix(before), "finished lines stay as they were")
        let got = try records(run)
        let want = try reference(bench, in: dir)
        assertSameAnswers(got, want)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json"))) as? [String: Any]
        let overall = summary?["overall"] as? [String: Any]
        XCTAssertEqual(overall?["questions"] as? Int, 16)
        XCTAssertEqual(overall?["correct"] as? Int, want.values.filter(\.correct).count)
    }

    func testPeersOfAnotherVersionOrModelAreRejectedWithTheReason() throws {
        let dir = try temporary()
        let bench = try benchmark(count: 2, in: dir)
        let sp = Self.root.appendingPathComponent("Tests/Fixtures/models/tiny-llava-sp").path
        let (coord, endpoint) = try coordinator(bench: bench, out: dir.appendingPathComponent("run"), extra: ["--model", sp])
        let old = try node(endpoint, id: "old", extra: ["--protocol-version", "99"])
        XCTAssertEqual(old.wait(within: 30), 2, old.stderr)
        XCTAssertTrue(old.stderr.contains("protocol version 99 is not this coordinator's \(protocolVersion)"), old.stderr)
        let other = try node(endpoint, id: "other")
        XCTAssertEqual(other.wait(within: 30), 2, other.stderr)
        XCTAssertTrue(other.stderr.contains("model digest"), other.stderr)
        XCTAssertTrue(other.stderr.contains("differs from this run's"), other.stderr)
        kill(coord.process.processIdentifier, SIGTERM)
        XCTAssertNotNil(coord.wait(within: 40), "SIGTERM ends the run")
        XCTAssertTrue(coord.stderr.contains("rejected node old"), coord.stderr)
    }

    func testGarbageFramesAreCountedAndIgnored() throws {
        let dir = try temporary()
        let bench = try benchmark(count: 4, in: dir)
        var settings = CoordinatorSettings()
        settings.bind = "tcp://127.0.0.1:*"
        settings.noNodeTimeout = 60
        let spec = MethodSpec(method: .vanilla)
        let journal = try ResultsJournal(directory: dir.appendingPathComponent("run"), resume: false)
        let coordinator = try Coordinator(settings: settings, spec: spec, journal: journal, log: { _ in })
        let questions = try VStarBenchmark.load(directory: bench)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            try? coordinator.run(questions)
            finished.signal()
        }.start()
        // Garbage from a peer that never says Hello, then a real node.
        let rogue = try ZMQSocket(.dealer)
        try rogue.connect(coordinator.boundEndpoint)
        try rogue.send([[0xde, 0xad, 0xbe, 0xef]], dontWait: false)
        try rogue.send([[]], dontWait: false)
        try rogue.send([[1, 2], [3, 4]], dontWait: false)
        try rogue.send([try Focus_Envelope(.result(Focus_Result(taskID: 999, attempt: 0, error: "made up"))).frame()], dontWait: false)
        _ = try node(coordinator.boundEndpoint, id: "n1")
        XCTAssertEqual(finished.wait(timeout: .now() + 120), .success)
        let stats = coordinator.statistics
        XCTAssertEqual(stats.questions_done, 4)
        XCTAssertEqual(stats.malformed_frames, 3)
        XCTAssertEqual(stats.duplicate_results, 1, "a result for a task nobody sent")
    }

    func testSIGINTDrainsAndWritesTheSummary() throws {
        let dir = try temporary()
        let bench = try benchmark(count: 16, in: dir)
        let run = dir.appendingPathComponent("run")
        let (coord, endpoint) = try coordinator(bench: bench, out: run)
        _ = try node(endpoint, id: "n1")
        let results = run.appendingPathComponent("results.jsonl")
        waitForLines(results, 2)
        kill(coord.process.processIdentifier, SIGINT)
        XCTAssertEqual(coord.wait(within: 60), 1, "not every question done: exit 1 \(coord.stderr)")
        XCTAssertTrue(coord.stderr.contains("finishing the questions in flight"), coord.stderr)
        let done = try records(run)
        XCTAssertLessThan(done.count, 16)
        XCTAssertTrue(done.values.allSatisfy { $0.error == nil }, "questions in flight finished, none cut off")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json"))) as? [String: Any]
        XCTAssertEqual((summary?["overall"] as? [String: Any])?["questions"] as? Int, done.count)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("manifest.json").path))
    }

    func testATaskThatFailsEverywhereFailsOnlyItsQuestion() throws {
        let dir = try temporary()
        let bench = try benchmark(count: 6, in: dir)
        // Cut one image short: every node fails to decode it.
        let lines = try String(contentsOf: bench.appendingPathComponent("test_questions.jsonl"), encoding: .utf8).split(separator: "\n")
        let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        let image = bench.appendingPathComponent(try XCTUnwrap(first["image"] as? String))
        let bytes = try Data(contentsOf: image)
        try bytes.prefix(bytes.count / 3).write(to: image)
        let run = dir.appendingPathComponent("run")
        let child = try start("focus-coord", ["run", "--bench", bench.path, "--out", run.path, "--bind", "tcp://127.0.0.1:*",
                                              "--no-node-timeout", "60", "--method", "vanilla"])
        let endpoint = endpoint(of: child)
        _ = try node(endpoint, id: "n1")
        _ = try node(endpoint, id: "n2")
        XCTAssertEqual(child.wait(), 0, child.stderr)
        let got = try records(run)
        XCTAssertEqual(got.count, 6, "the evaluation went on")
        let failed = got.values.filter { $0.error != nil }
        XCTAssertEqual(failed.count, 1)
        let message = failed.first?.error ?? ""
        XCTAssertTrue(message.contains("failed on 3 attempts"), message)
        XCTAssertTrue(message.contains(image.lastPathComponent), "names the file: \(message)")
    }
}
