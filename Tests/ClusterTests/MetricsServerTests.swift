import Benchmarks
import ClusterMetrics
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Methods
import XCTest

@testable import Cluster

/// `/metrics` and `/status` over real HTTP from a coordinator that ran a benchmark with a real node,
/// and `focus-coord status` reading them.
final class MetricsServerTests: ClusterProcessTestCase {
    func fetch(_ url: String, within seconds: Double = 10) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            final class Box: @unchecked Sendable { var text: String? }
            let box = Box(), done = DispatchSemaphore(value: 0)
            URLSession.shared.dataTask(with: URL(string: url)!) { data, response, _ in
                if let data, (response as? HTTPURLResponse)?.statusCode == 200 { box.text = String(decoding: data, as: UTF8.self) }
                done.signal()
            }.resume()
            done.wait()
            if let text = box.text { return text }
            usleep(100_000)
        }
        return nil
    }

    func testMetricsAndStatusDescribeTheRun() throws {
        let dir = try temporary()
        let bench = try benchmark(count: 3, in: dir)
        var settings = CoordinatorSettings()
        settings.bind = "tcp://127.0.0.1:*"
        settings.noNodeTimeout = 60
        settings.shutdownNodes = true
        let journal = try ResultsJournal(directory: dir.appendingPathComponent("run"), resume: false)
        let coordinator = try Coordinator(settings: settings, spec: MethodSpec(method: .vanilla), journal: journal, log: { _ in })
        let port = Int.random(in: 20_000...60_000)
        MetricsServer(snapshot: { coordinator.statistics }).start(host: "127.0.0.1", port: port, log: { _ in })
        let finished = DispatchSemaphore(value: 0)
        let questions = try VStarBenchmark.load(directory: bench)
        Thread {
            try? coordinator.run(questions)
            finished.signal()
        }.start()
        let n = try node(coordinator.boundEndpoint, id: "metrics-node")
        XCTAssertEqual(finished.wait(timeout: .now() + 120), .success)
        XCTAssertEqual(n.wait(within: 20), 0, n.stderr)
        let run = coordinator.settings.runID
        let metrics = try XCTUnwrap(fetch("http://127.0.0.1:\(port)/metrics"), "no /metrics answer")
        XCTAssertTrue(metrics.contains("# TYPE focus_questions_done_total counter"), metrics)
        XCTAssertTrue(metrics.contains("focus_questions_done_total{run=\"\(run)\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("focus_questions{run=\"\(run)\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("focus_tasks_completed_total{run=\"\(run)\"} 3"), "one answer task per vanilla question: \(metrics)")
        let status = try XCTUnwrap(fetch("http://127.0.0.1:\(port)/status"))
        let doc = try JSONDecoder().decode(StatusDocument.self, from: Data(status.utf8))
        XCTAssertEqual(doc.statistics.questions_done, 3)
        XCTAssertEqual(doc.statistics.run_id, run)
        // The command-line reader.
        let p = Process()
        p.executableURL = Self.executable("focus-coord")
        p.arguments = ["status", "http://127.0.0.1:\(port)"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertTrue(text.contains("questions 3/3 done, 0 failed"), text)
        XCTAssertTrue(text.contains("| node | in flight |"), text)
        // Nothing listening: one clear error.
        let bad = Process()
        bad.executableURL = Self.executable("focus-coord")
        bad.arguments = ["status", "http://127.0.0.1:1"]
        let err = Pipe()
        bad.standardError = err
        bad.standardOutput = FileHandle.nullDevice
        try bad.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bad.waitUntilExit()
        XCTAssertNotEqual(bad.terminationStatus, 0)
        XCTAssertTrue(message.contains("cannot read http://127.0.0.1:1/status"), message)
    }
}
