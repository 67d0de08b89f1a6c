import CZeroMQ
import Foundation
import Methods
import Models

/// How a node finds and talks to its coordinator.
public struct NodeSettings: Sendable {
    public var coordinator: String
    public var nodeID: String
    public var heartbeatInterval: Double = 1
    /// Silence from the coordinator after which the node reconnects and says Hello again.
    public var liveness: Double = 3
    /// Longest wait between reconnection attempts (the wait doubles from 0.5 s).
    public var maxBackoff: Double = 8
    /// CURVE: this node's key pair and the coordinator's public key (all Z85), or nil for plain TCP.
    public var curve: (publicKey: String, secretKey: String, serverKey: String)?
    /// Overrides for tests of the handshake (a node of another protocol version).
    public var protocolVersionOverride: UInt32?
    /// Exit when the coordinator has not answered for this long (nil: keep trying forever).
    public var giveUpAfter: Double?
    /// Bytes of KV cache kept for image prefixes (0: none); see `PrefixCache`.
    public var prefixCacheBytes = LocalExecutor.defaultPrefixCacheBytes

    public init(coordinator: String, nodeID: String) {
        self.coordinator = coordinator
        self.nodeID = nodeID
    }
}

/// Why a node stopped.
public enum NodeExit: Equatable, Sendable {
    case shutdown(String)
    case rejected(String)
    case gaveUp
}

/// A focus-node: loads the model once, says Hello, executes the tasks it is sent one at a time on a
/// worker thread, and heartbeats from its I/O thread, so a long prefill never looks like a death.
/// It reconnects when the coordinator goes quiet and exits on Shutdown.
public final class ClusterNode: @unchecked Sendable {
    public let settings: NodeSettings
    let model: LlavaModel
    let digest: String
    let incarnation = UUID().uuidString
    let log: @Sendable (String) -> Void

    // Shared between the I/O thread and the worker, under `lock`.
    private let lock = NSCondition()
    private var queue: [(task: Focus_Task, received: Double)] = []
    private var outbox: [Focus_Result] = []
    private var running: UInt64?
    private var stopping = false
    private var padToSquare = true
    private var runID: String?
    private var tasksDone: UInt64 = 0
    private let wakeup: Wakeup

    public init(settings: NodeSettings, model: LlavaModel, modelDirectory: URL, log: @escaping @Sendable (String) -> Void) throws {
        self.settings = settings
        self.model = model
        self.log = log
        digest = try ModelDigest.of(directory: modelDirectory)
        wakeup = try Wakeup()
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// Runs until Shutdown, a Reject, or (with `giveUpAfter`) a coordinator that stays away.
    public func run() throws -> NodeExit {
        let worker = Thread { [self] in work() }
        worker.name = "focus-node worker"
        worker.start()
        defer {
            lock.withLock {
                stopping = true
                lock.broadcast()
            }
        }
        var backoff = 0.5
        var lastHeard = Self.now()
        while true {
            let socket = try connect()
            var welcomed = false
            var helloSent = Self.now()
            try send(.hello(hello()), on: socket)
            var nextHeartbeat = Self.now() + settings.heartbeatInterval
            connection: while true {
                let timeout = max(0, min(nextHeartbeat - Self.now(), settings.heartbeatInterval))
                let ready = try ZMQSocket.poll([socket], fds: [wakeup.readFD], timeout: timeout)
                if ready[1] { wakeup.drain() }
                if ready[0] {
                    while let frames = try socket.receive() {
                        lastHeard = Self.now()
                        guard frames.count == 1, let envelope = try? Focus_Envelope.decode(frames[0]) else {
                            log("dropped a malformed message from the coordinator (\(frames.count) frames)")
                            continue
                        }
                        switch envelope.body {
                        case .welcome(let w)?:
                            welcomed = true
                            backoff = 0.5
                            lock.withLock {
                                padToSquare = w.padToSquare
                                if let run = runID, run != w.runID {
                                    // A new coordinator process: the old one's tasks are nobody's.
                                    queue.removeAll()
                                    outbox.removeAll()
                                }
                                runID = w.runID
                            }
                            log("joined run \(w.runID) at \(settings.coordinator)")
                        case .reject(let r)? where r.helloAgain:
                            welcomed = false
                            try send(.hello(hello()), on: socket)
                            helloSent = Self.now()
                        case .reject(let r)?:
                            return .rejected(r.reason)
                        case .task(let t)?:
                            lock.withLock {
                                queue.append((t, Self.now()))
                                lock.signal()
                            }
                        case .cancel(let c)?:
                            lock.withLock { queue.removeAll { $0.task.taskID == c.taskID } }
                        case .shutdown(let s)?:
                            try? flushOutbox(socket)
                            return .shutdown(s.reason)
                        case .heartbeat?, .hello?, .result?, nil:
                            break
                        }
                    }
                }
                try flushOutbox(socket)
                let now = Self.now()
                if now >= nextHeartbeat {
                    try send(.heartbeat(heartbeat()), on: socket)
                    nextHeartbeat = now + settings.heartbeatInterval
                }
                if !welcomed && now - helloSent > settings.liveness {
                    // No answer to Hello yet: say it again (the coordinator may have started late).
                    try send(.hello(hello()), on: socket)
                    helloSent = now
                }
                if now - lastHeard > settings.liveness {
                    if let limit = settings.giveUpAfter, now - lastHeard > limit { return .gaveUp }
                    if welcomed { log("the coordinator has been silent for \(Int(now - lastHeard)) s; reconnecting") }
                    break connection
                }
            }
            Thread.sleep(forTimeInterval: backoff)
            backoff = min(backoff * 2, settings.maxBackoff)
        }
    }

    private func connect() throws -> ZMQSocket {
        let socket = try ZMQSocket(.dealer)
        try socket.setRoutingID(Array("\(settings.nodeID)/\(incarnation)".utf8))
        if let curve = settings.curve {
            try socket.makeCurveClient(publicKey: curve.publicKey, secretKey: curve.secretKey, serverKey: curve.serverKey)
        }
        try socket.setMaxMessageSize(64 << 20)
        try socket.connect(settings.coordinator)
        return socket
    }

    private func send(_ body: Focus_Envelope.OneOf_Body, on socket: ZMQSocket) throws {
        var envelope = Focus_Envelope(body)
        if let v = settings.protocolVersionOverride { envelope.protocolVersion = v }
        do {
            try socket.send([try envelope.frame()])
        } catch let e as ZMQError where e.code == EAGAIN {
            // The coordinator is away and the queue is full; heartbeats and hellos are resent anyway.
        }
    }

    private func flushOutbox(_ socket: ZMQSocket) throws {
        let results: [Focus_Result] = lock.withLock {
            defer { outbox.removeAll() }
            return outbox
        }
        for r in results { try send(.result(r), on: socket) }
    }

    private func hello() -> Focus_Hello {
        let template = ChatTemplate(model: model)
        return .with {
            $0.nodeID = settings.nodeID
            $0.incarnation = incarnation
            $0.modelID = model.directory.lastPathComponent
            $0.modelDigest = digest
            $0.slots = 1
            $0.chatFormat = .with {
                $0.style = template.style.rawValue
                $0.imageMarker = template.imageMarker
            }
            $0.inputSize = UInt32(model.config.vision.imageSize)
            $0.decoderLayers = UInt32(model.config.text.numHiddenLayers)
        }
    }

    private func heartbeat() -> Focus_Heartbeat {
        lock.withLock {
            Focus_Heartbeat.with {
                $0.inFlight = UInt32(queue.count + (running == nil ? 0 : 1))
                $0.slots = 1
                $0.tasksDone = tasksDone
                $0.residentBytes = ResidentMemory.bytes()
            }
        }
    }

    /// The worker thread: one task at a time, through the same executor `focus eval` uses.
    private func work() {
        var executors: [Bool: LocalExecutor] = [:]
        while true {
            let next: (task: Focus_Task, received: Double)? = lock.withLock {
                while queue.isEmpty && !stopping { lock.wait() }
                if stopping { return nil }
                let item = queue.removeFirst()
                running = item.task.taskID
                return item
            }
            guard let (task, received) = next else { return }
            let pad = lock.withLock { padToSquare }
            let executor = executors[pad] ?? LocalExecutor(model: model, preprocessing: pad ? .padToSquare : .processor,
                                                           prefixCacheBytes: settings.prefixCacheBytes)
            executors[pad] = executor
            let started = Self.now()
            var result: Focus_Result
            do {
                let (output, cost) = try executor.run(try task.modelTask())
                result = Focus_Result(taskID: task.taskID, attempt: task.attempt, output: output, cost: cost)
            } catch {
                result = Focus_Result(taskID: task.taskID, attempt: task.attempt, error: String(describing: error))
            }
            result.queueSeconds = started - received
            let first = lock.withLock {
                outbox.append(result)
                running = nil
                tasksDone += 1
                return tasksDone == 1
            }
            wakeup.signal()
            if first {
                // The first task allocates the working buffers and a prefix-cache entry.
                log("first task done: resident memory \(ResidentMemory.bytes() >> 20) MiB")
            }
        }
    }
}

/// This process's resident memory, from /proc (0 where there is none).
public enum ResidentMemory {
    public static func bytes() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return 0 }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }
}
