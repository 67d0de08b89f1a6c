import Foundation

/// Live numbers of a run, as the progress line, `/status` and `/metrics` show them.
public struct RunStatistics: Sendable, Codable {
    public struct Node: Sendable, Codable {
        public var node_id: String
        public var in_flight: Int
        public var slots: Int
        public var tasks_done: Int
        public var tasks_failed: Int
        public var busy_seconds: Double
        public var busy_share: Double
        public var latency_ms: Double?
        public var resident_bytes: UInt64
    }

    public var run_id: String
    public var questions_total: Int
    public var questions_done: Int
    public var questions_correct: Int
    public var questions_failed: Int
    public var tasks_dispatched: Int
    public var tasks_completed: Int
    public var tasks_requeued: Int
    public var duplicate_results: Int
    public var malformed_frames: Int
    public var rejected_nodes: Int
    public var queued_tasks: Int
    public var elapsed_seconds: Double
    public var nodes: [Node]

    public var accuracy: Double { questions_done == 0 ? 0 : Double(questions_correct) / Double(questions_done) }
    public var questionsPerSecond: Double { elapsed_seconds > 0 ? Double(questions_done) / elapsed_seconds : 0 }
}

/// What the coordinator itself adds per task (scripts/bench/cluster reads it from manifest.json).
public struct CoordinatorOverhead: Sendable, Codable {
    public var tasks: Int
    public var added_ms_p50: Double
    public var added_ms_p99: Double
    public var added_ms_max: Double
    /// The whole process's CPU time (I/O thread, job threads, start-up) and its share per task.
    public var cpu_seconds: Double
    public var cpu_ms_per_task: Double
}
