import Foundation
import Methods

/// `manifest.json`: what produced a run, so a result can be traced to its code, model, method and data.
public struct RunManifest: Encodable {
    public var git_revision: String
    public var protocol_version: UInt32
    public var model_id: String?
    public var model_digest: String?
    public var method: MethodSpec
    public var benchmark: String
    public var benchmark_digest: String
    public var run_id: String
    public var questions_total: Int
    public var questions_done: Int
    public var elapsed_seconds: Double
    public var nodes: [RunStatistics.Node]
    public var statistics: RunStatistics
    public var coordinator: CoordinatorOverhead?

    public init(spec: MethodSpec, facts: ModelFacts?, benchmark: String, benchmarkDigest: String,
                statistics: RunStatistics, nodeTotals: [RunStatistics.Node], overhead: CoordinatorOverhead? = nil) {
        self.statistics = statistics
        coordinator = overhead
        git_revision = Self.gitRevision()
        protocol_version = protocolVersion
        model_id = facts?.modelID
        model_digest = facts?.digest
        method = spec
        self.benchmark = benchmark
        benchmark_digest = benchmarkDigest
        run_id = statistics.run_id
        questions_total = statistics.questions_total
        questions_done = statistics.questions_done
        elapsed_seconds = statistics.elapsed_seconds
        nodes = nodeTotals
    }

    public func write(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: directory.appendingPathComponent("manifest.json"))
    }

    /// SHA-256 of a file, hex.
    public static func digest(of file: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw WireError("cannot read \(file.path)") }
        defer { try? handle.close() }
        var h = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { h.update(chunk) }
        return SHA256.hex(h.finalize())
    }

    /// `git rev-parse HEAD` of the working directory (with "-dirty" when it has changes), or "unknown".
    static func gitRevision() -> String {
        func git(_ args: [String]) -> String? {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["git"] + args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return nil }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
        }
        guard let head = git(["rev-parse", "HEAD"]) else { return "unknown" }
        let dirty = !(git(["status", "--porcelain", "--untracked-files=no"]) ?? "").isEmpty
        return head + (dirty ? "-dirty" : "")
    }
}

extension RunStatistics {
    /// One terminal line: questions done/total, rates, ETA, busy share per node, accuracy so far.
    public var progressLine: String {
        let rate = questionsPerSecond
        let remaining = questions_total - questions_done
        let eta = rate > 0 ? String(format: "%.0fs", Double(remaining) / rate) : "?"
        let taskRate = elapsed_seconds > 0 ? Double(tasks_completed) / elapsed_seconds : 0
        let busy = nodes.map { String(format: "%@ %.0f%%", $0.node_id, 100 * $0.busy_share) }.joined(separator: " ")
        return String(format: "[%d/%d] %.2f q/s ETA %@ | %.1f tasks/s, %d queued | %d node%@ %@ | accuracy %.1f%%",
                      questions_done, questions_total, rate, eta, taskRate, queued_tasks, nodes.count,
                      nodes.count == 1 ? "" : "s", busy.isEmpty ? "" : "(\(busy))", 100 * accuracy)
    }
}
