import Cluster
import Foundation
import Hummingbird
import Prometheus

/// The coordinator's HTTP endpoint: `/metrics` in Prometheus text format (swift-prometheus) and
/// `/status` as JSON, both read from a statistics snapshot at request time.
public final class MetricsServer: Sendable {
    let snapshot: @Sendable () -> RunStatistics
    let exporter: PrometheusExporter

    public init(snapshot: @escaping @Sendable () -> RunStatistics) {
        self.snapshot = snapshot
        exporter = PrometheusExporter()
    }

    /// Serves on `host:port` until the process ends; `ready` is called once the socket is bound.
    public func start(host: String, port: Int, log: @escaping @Sendable (String) -> Void) {
        let router = Router()
        let snapshot = self.snapshot, exporter = self.exporter
        router.get("metrics") { _, _ -> Response in
            let text = exporter.render(snapshot())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("status") { _, _ -> Response in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let data = (try? encoder.encode(StatusDocument(snapshot()))) ?? Data("{}".utf8)
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)),
                              onServerRunning: { _ in log("metrics on http://\(host):\(port)/metrics and /status") })
        Task.detached {
            do { try await app.run() } catch { log("the metrics endpoint stopped: \(error)") }
        }
    }
}

/// `/status`: the statistics with the derived rates a person reads first.
public struct StatusDocument: Codable, Sendable {
    public var statistics: RunStatistics
    public var accuracy: Double
    public var questions_per_second: Double
    public var eta_seconds: Double?

    public init(_ s: RunStatistics) {
        statistics = s
        accuracy = s.accuracy
        questions_per_second = s.questionsPerSecond
        let rate = s.questionsPerSecond
        eta_seconds = rate > 0 ? Double(s.questions_total - s.questions_done) / rate : nil
    }

    /// The status as a terminal table (`focus-coord status URL`).
    public var table: String {
        let s = statistics
        var lines = [
            "run \(s.run_id)",
            String(format: "questions %d/%d done, %d failed; accuracy %.1f%%; %.2f q/s; ETA %@",
                   s.questions_done, s.questions_total, s.questions_failed, 100 * accuracy, questions_per_second,
                   eta_seconds.map { String(format: "%.0f s", $0) } ?? "?"),
            "tasks: \(s.tasks_dispatched) dispatched, \(s.tasks_completed) completed, \(s.tasks_requeued) re-queued, \(s.queued_tasks) queued; "
                + "\(s.duplicate_results) duplicate results, \(s.malformed_frames) malformed frames, \(s.rejected_nodes) rejected nodes",
            "",
            "| node | in flight | slots | tasks done | failed | busy % | latency ms | resident MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n in s.nodes {
            lines.append(String(format: "| %@ | %d | %d | %d | %d | %.0f | %@ | %d |", n.node_id, n.in_flight, n.slots, n.tasks_done,
                                n.tasks_failed, 100 * n.busy_share, n.latency_ms.map { String(format: "%.1f", $0) } ?? "-",
                                Int(n.resident_bytes >> 20)))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Keeps one Prometheus registry and brings it up to date with each snapshot: counters advance by
/// what happened since the last scrape, gauges are set.
final class PrometheusExporter: @unchecked Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let lock = NSLock()
    private var counters: [String: (Counter, Double)] = [:]
    private var gauges: [String: Gauge] = [:]

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)], to value: Double) {
        let key = name + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let (c, last) = counters[key] ?? (registry.makeCounter(name: name, labels: labels, help: help), 0)
        if value > last { c.increment(by: value - last) }
        counters[key] = (c, max(value, last))
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
        let key = name + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        let g = gauges[key] ?? registry.makeGauge(name: name, labels: labels, help: help)
        gauges[key] = g
        g.set(to: value)
    }

    func render(_ s: RunStatistics) -> String {
        lock.withLock {
            let run = [("run", s.run_id)]
            gauge("focus_questions", "Questions in the run", run, Double(s.questions_total))
            counter("focus_questions_done_total", "Questions answered and journaled", run, to: Double(s.questions_done))
            counter("focus_questions_correct_total", "Questions answered correctly", run, to: Double(s.questions_correct))
            counter("focus_questions_failed_total", "Questions that ended with an error", run, to: Double(s.questions_failed))
            counter("focus_tasks_dispatched_total", "Tasks sent to nodes", run, to: Double(s.tasks_dispatched))
            counter("focus_tasks_completed_total", "Tasks whose result came back", run, to: Double(s.tasks_completed))
            counter("focus_tasks_requeued_total", "Tasks sent again after a failure or a dead node", run, to: Double(s.tasks_requeued))
            counter("focus_duplicate_results_total", "Late or unknown results ignored", run, to: Double(s.duplicate_results))
            counter("focus_malformed_frames_total", "Frames dropped as malformed", run, to: Double(s.malformed_frames))
            counter("focus_rejected_nodes_total", "Hellos refused (protocol version, model digest)", run, to: Double(s.rejected_nodes))
            gauge("focus_queued_tasks", "Tasks waiting for a node", run, Double(s.queued_tasks))
            gauge("focus_nodes", "Live nodes", run, Double(s.nodes.count))
            gauge("focus_accuracy", "Accuracy so far", run, s.accuracy)
            gauge("focus_elapsed_seconds", "Seconds since the coordinator started", run, s.elapsed_seconds)
            for n in s.nodes {
                let l = [("run", s.run_id), ("node", n.node_id)]
                gauge("focus_node_in_flight", "Tasks sent to the node and not yet answered", l, Double(n.in_flight))
                counter("focus_node_tasks_done_total", "Tasks the node completed", l, to: Double(n.tasks_done))
                counter("focus_node_tasks_failed_total", "Tasks the node failed", l, to: Double(n.tasks_failed))
                counter("focus_node_busy_seconds_total", "Seconds the node spent running tasks", l, to: n.busy_seconds)
                gauge("focus_node_busy_share", "Share of its time in the run the node was busy", l, n.busy_share)
                gauge("focus_node_latency_seconds", "Recent round trip of a task (moving average)", l, (n.latency_ms ?? 0) / 1000)
                gauge("focus_node_resident_bytes", "The node's resident memory", l, Double(n.resident_bytes))
            }
            return registry.emitToString()
        }
    }
}
