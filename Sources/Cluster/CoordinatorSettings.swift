import Foundation

/// How a coordinator runs.
public struct CoordinatorSettings: Sendable {
    public var bind = "tcp://127.0.0.1:5555"
    public var heartbeatInterval = 1.0
    /// A node silent this long is dead; its tasks go back to the queue.
    public var liveness = 3.0
    /// A task that fails (an error, or its node dying) on this many attempts fails its question.
    public var maxAttempts = 3
    /// Questions in flight at once (each a job thread waiting on its tasks).
    public var concurrency = 16
    /// The model digest every node must have; nil: the first node's.
    public var expectedDigest: String?
    public var runID = UUID().uuidString
    /// Tell the nodes to exit when the run is over.
    public var shutdownNodes = true
    /// Stop after this long without any node (nil: wait forever).
    public var noNodeTimeout: Double?
    /// Largest frame accepted; libzmq drops the connection of a peer that sends more.
    public var maxFrameBytes: Int64 = 64 << 20
    /// CURVE: the coordinator's secret key (Z85) and the public keys of the nodes allowed in.
    public var curveSecretKey: String?
    public var allowedKeys: [String] = []
    /// After a stop request, how long in-flight questions may take to finish.
    public var drainTimeout = 30.0

    public init() {}
}

/// Why a node was turned away.
public struct Rejection: Sendable, Equatable {
    public var nodeID: String
    public var reason: String
}
