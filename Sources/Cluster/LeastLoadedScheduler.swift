import Foundation

/// What the coordinator knows about one node.
public struct NodeState: Sendable {
    /// The ZeroMQ routing id (node id / incarnation): a restarted node is a new peer.
    public let routingID: [UInt8]
    public let nodeID: String
    public var slots: Int
    public var inFlight: Set<UInt64> = []
    public var lastSeen: Double
    /// Exponential moving average of task round trips, seconds (nil until the first result).
    public var latency: Double?
    /// The image the node last ran a task on: its decoded-image cache holds it.
    public var lastImage: String?
    public var tasksDone = 0
    public var tasksFailed = 0
    public var busySeconds = 0.0
    public var joined: Double
    public var residentBytes: UInt64 = 0

    public init(routingID: [UInt8], nodeID: String, slots: Int, now: Double) {
        self.routingID = routingID
        self.nodeID = nodeID
        self.slots = max(1, slots)
        lastSeen = now
        joined = now
    }

    /// The node's figures for the statistics, its busy share taken over joined..<`until`.
    public func summary(until: Double) -> RunStatistics.Node {
        RunStatistics.Node(node_id: nodeID, in_flight: inFlight.count, slots: slots, tasks_done: tasksDone,
                           tasks_failed: tasksFailed, busy_seconds: busySeconds,
                           busy_share: min(1, busySeconds / max(until - joined, 1e-9)),
                           latency_ms: latency.map { $0 * 1000 }, resident_bytes: residentBytes)
    }

    /// In-flight tasks per slot: the scheduler's first key.
    public var load: Double { Double(inFlight.count) / Double(slots) }
}

/// Picks the node for a task: the least loaded (in-flight tasks per slot), then the one whose cache
/// already holds the task's image, then the lowest recent latency, then the earliest joined. A node
/// takes at most `depth` tasks per slot, so a node that dies strands few tasks and a fast node is
/// never starved behind a long queue on a slow one.
public struct LeastLoadedScheduler: Sendable {
    public var nodes: [[UInt8]: NodeState] = [:]
    public var depth: Int

    public init(depth: Int = 2) { self.depth = max(1, depth) }

    public func pick(image: String?) -> [UInt8]? {
        var best: NodeState?
        for node in nodes.values where node.inFlight.count < node.slots * depth {
            guard let b = best else { best = node; continue }
            if node.load != b.load {
                if node.load < b.load { best = node }
                continue
            }
            let nodeHit = image != nil && node.lastImage == image, bestHit = image != nil && b.lastImage == image
            if nodeHit != bestHit {
                if nodeHit { best = node }
                continue
            }
            let nl = node.latency ?? 0, bl = b.latency ?? 0
            if nl != bl {
                if nl < bl { best = node }
                continue
            }
            if (node.joined, node.nodeID) < (b.joined, b.nodeID) { best = node }
        }
        return best?.routingID
    }

    public mutating func assign(_ taskID: UInt64, to node: [UInt8], image: String?) {
        nodes[node]?.inFlight.insert(taskID)
        if let image { nodes[node]?.lastImage = image }
    }

    /// Books a finished task; returns false when the node did not hold it (a late duplicate).
    public mutating func complete(_ taskID: UInt64, on node: [UInt8], roundTrip: Double, busy: Double, failed: Bool) -> Bool {
        guard nodes[node]?.inFlight.remove(taskID) != nil else { return false }
        let old = nodes[node]!.latency
        nodes[node]!.latency = old.map { 0.8 * $0 + 0.2 * roundTrip } ?? roundTrip
        nodes[node]!.busySeconds += busy
        if failed { nodes[node]!.tasksFailed += 1 } else { nodes[node]!.tasksDone += 1 }
        return true
    }

    /// Removes nodes silent since before `deadline`; returns them with the tasks they held.
    public mutating func expire(before deadline: Double) -> [NodeState] {
        let dead = nodes.values.filter { $0.lastSeen < deadline }
        for node in dead { nodes[node.routingID] = nil }
        return dead
    }

    public var capacity: Int { nodes.values.reduce(0) { $0 + $1.slots * depth - $1.inFlight.count } }
}
