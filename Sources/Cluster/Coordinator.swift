import CZeroMQ
import Foundation
import Methods
import Models

/// focus-coord's engine: a ROUTER socket on one I/O thread that admits nodes, dispatches tasks to the
/// least-loaded one, heartbeats, re-queues the tasks of dead nodes, and a pool of job threads that
/// drive each question's method through `RemoteExecutor`s and journal each finished question.
public final class Coordinator: @unchecked Sendable {
    public let settings: CoordinatorSettings
    let spec: MethodSpec
    let journal: ResultsJournal
    let log: @Sendable (String) -> Void

    private let lock = NSCondition()
    private var scheduler = LeastLoadedScheduler()
    private var queue: [TaskTicket] = []
    private var tickets: [UInt64: TaskTicket] = [:]
    private var owner: [UInt64: [UInt8]] = [:]
    /// Task ids start at a random point, so a result a node computed for an earlier coordinator
    /// process can never pass for one of this run's tasks.
    private var nextTaskID = UInt64.random(in: 1...(UInt64(1) << 62))
    private var facts: ModelFacts?
    private var stats: RunStatistics
    private var stopRequested = false
    /// Set when the run gives up on questions in flight (drain timeout, no node): their failures are
    /// the run's, not the questions', so they are not journaled and a resumed run asks them again.
    private var abandoned = false
    private var nextQuestion = 0
    private var activeJobs = 0
    private var probe: (any EvaluationProbe)?
    public private(set) var rejections: [Rejection] = []
    private let wakeup: Wakeup
    private let started = Date().timeIntervalSince1970
    public private(set) var boundEndpoint = ""
    private var socket: ZMQSocket?
    private var zap: ZAPHandler?
    /// Nodes that died or left, kept for the per-node totals.
    private var departed: [NodeState] = []
    /// When a node last gained room for a task (a result, a join): a task queued before that could
    /// only be sent from then on, so the wait before it is the nodes', not the coordinator's.
    private var lastRoom = 0.0
    private var overheads: [Double] = []

    public init(settings: CoordinatorSettings, spec: MethodSpec, journal: ResultsJournal,
                log: @escaping @Sendable (String) -> Void) throws {
        self.settings = settings
        self.spec = spec
        self.journal = journal
        self.log = log
        wakeup = try Wakeup()
        stats = RunStatistics(run_id: settings.runID, questions_total: 0, questions_done: 0, questions_correct: 0,
                              questions_failed: 0, tasks_dispatched: 0, tasks_completed: 0, tasks_requeued: 0,
                              duplicate_results: 0, malformed_frames: 0, rejected_nodes: 0, queued_tasks: 0,
                              elapsed_seconds: 0, nodes: [])
        let socket = try ZMQSocket(.router)
        try socket.setRouterMandatory()
        try socket.setRouterHandover()
        try socket.setMaxMessageSize(settings.maxFrameBytes)
        if let secret = settings.curveSecretKey {
            // The handler must exist before the socket binds, or libzmq admits everyone.
            if !settings.allowedKeys.isEmpty { zap = try ZAPHandler(allowed: settings.allowedKeys) }
            try socket.makeCurveServer(secretKey: secret)
        }
        try socket.bind(settings.bind)
        boundEndpoint = socket.lastEndpoint
        self.socket = socket
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// A snapshot of the live numbers.
    public var statistics: RunStatistics {
        lock.withLock {
            var s = stats
            let now = Self.now()
            s.elapsed_seconds = now - started
            s.queued_tasks = queue.count
            s.nodes = scheduler.nodes.values.sorted { $0.joined < $1.joined }.map { $0.summary(until: now) }
            return s
        }
    }

    /// Per-node totals over the whole run, departed nodes included.
    public var nodeTotals: [RunStatistics.Node] {
        let now = Self.now()
        // A departed node's share is over the time it was there.
        return lock.withLock { departed + scheduler.nodes.values.sorted { $0.joined < $1.joined } }
            .map { $0.summary(until: min(now, $0.lastSeen)) }
    }

    /// The coordinator's own cost per completed task (see `TaskTicket.overhead`) and its CPU time.
    public var overhead: CoordinatorOverhead {
        let samples = lock.withLock { overheads }.sorted()
        func q(_ p: Double) -> Double { samples.isEmpty ? 0 : samples[min(samples.count - 1, Int(p * Double(samples.count)))] * 1000 }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return CoordinatorOverhead(tasks: samples.count, added_ms_p50: q(0.5), added_ms_p99: q(0.99), added_ms_max: samples.last.map { $0 * 1000 } ?? 0,
                                   cpu_seconds: cpu, cpu_ms_per_task: samples.isEmpty ? 0 : cpu * 1000 / Double(samples.count))
    }

    /// The model facts the nodes agreed on (nil until a node has joined).
    public var modelFacts: ModelFacts? { lock.withLock { facts } }

    /// Stop starting questions; the run ends when those in flight are done or `drainTimeout` passes.
    public func requestStop() {
        lock.withLock {
            stopRequested = true
            lock.broadcast()
        }
        wakeup.signal()
    }

    // MARK: - The run

    /// Answers every question not yet in the journal; returns when all are journaled (or after a stop
    /// request). `progress` is called on the I/O thread about once a second.
    public func run(_ questions: [Question], progress: @escaping (RunStatistics) -> Void = { _ in }) throws {
        let pending = questions.filter { !journal.isDone($0.id) }
        lock.withLock {
            stats.questions_total = questions.count
            for r in journal.records {
                stats.questions_done += 1
                if r.correct { stats.questions_correct += 1 }
                if r.error != nil { stats.questions_failed += 1 }
            }
        }
        nextQuestion = 0
        let jobs = min(settings.concurrency, pending.count)
        for _ in 0..<jobs {
            lock.withLock { activeJobs += 1 }
            let thread = Thread { [self] in
                defer {
                    lock.withLock {
                        activeJobs -= 1
                        lock.broadcast()
                    }
                    wakeup.signal()
                }
                while true {
                    // Wait for a node (the model facts), then take the next question.
                    let item: (Question, ModelFacts)? = lock.withLock {
                        while facts == nil && !stopRequested { lock.wait() }
                        guard !stopRequested, nextQuestion < pending.count, let f = facts else { return nil }
                        nextQuestion += 1
                        return (pending[nextQuestion - 1], f)
                    }
                    guard let (question, facts) = item else { return }
                    let p: any EvaluationProbe
                    do {
                        p = try lock.withLock {
                            if let probe { return probe }
                            let made = try spec.probe(decoderLayers: facts.decoderLayers)
                            probe = made
                            return made
                        }
                    } catch {
                        log("cannot build the method: \(error)")
                        requestStop()
                        return
                    }
                    let executor = RemoteExecutor(facts: facts, answerScheme: spec.answerScheme) { [self] task in submit(task) }
                    let (records, failed) = p.score(question, executor: executor)
                    if failed && lock.withLock({ abandoned }) { return }
                    do {
                        if try journal.append(records) {
                            lock.withLock {
                                stats.questions_done += 1
                                if records.allSatisfy(\.correct) { stats.questions_correct += 1 }
                                if failed { stats.questions_failed += 1 }
                            }
                        }
                    } catch {
                        log("cannot journal \(question.id): \(error); stopping")
                        requestStop()
                        return
                    }
                }
            }
            thread.name = "focus-coord job"
            thread.start()
        }
        try eventLoop(until: { [self] in
            lock.withLock { activeJobs == 0 && (nextQuestion >= pending.count || stopRequested) }
        }, progress: progress)
    }

    /// Queues a task for dispatch (called on job threads).
    func submit(_ task: ModelTask) -> TaskTicket {
        let ticket: TaskTicket = lock.withLock {
            let id = nextTaskID
            nextTaskID += 1
            let t = TaskTicket(id: id, task: Focus_Task(task, id: id))
            tickets[id] = t
            queue.append(t)
            return t
        }
        wakeup.signal()
        return ticket
    }

    // MARK: - I/O thread

    private func eventLoop(until done: () -> Bool, progress: (RunStatistics) -> Void) throws {
        guard let socket else { return }
        var nextHeartbeat = Self.now() + settings.heartbeatInterval
        var nextProgress = Self.now() + 1
        var stopSince: Double?
        var lastNode = Self.now()
        while !done() {
            let ready = try ZMQSocket.poll([socket] + (zap.map { [$0.socket] } ?? []), fds: [wakeup.readFD], timeout: 0.1)
            if ready.last! { wakeup.drain() }
            if let zap, ready[1] { try zap.serve() }
            if ready[0] {
                // Dispatch after each message: a result frees a node, and the next task should not wait
                // behind the rest of the batch.
                while let frames = try socket.receive() {
                    handle(frames)
                    dispatch()
                }
            }
            let now = Self.now()
            expireNodes(now: now)
            dispatch()
            if now >= nextHeartbeat {
                let peers = lock.withLock { Array(scheduler.nodes.keys) }
                for peer in peers { send(.heartbeat(Focus_Heartbeat()), to: peer) }
                nextHeartbeat = now + settings.heartbeatInterval
            }
            if now >= nextProgress {
                progress(statistics)
                nextProgress = now + 1
            }
            if lock.withLock({ !scheduler.nodes.isEmpty }) { lastNode = now }
            if let limit = settings.noNodeTimeout, now - lastNode > limit, !lock.withLock({ stopRequested }) {
                log("no node for \(Int(limit)) s; stopping")
                failAll("no node was available for \(Int(limit)) s")
                requestStop()
            }
            if lock.withLock({ stopRequested }) {
                stopSince = stopSince ?? now
                if now - stopSince! > settings.drainTimeout && !lock.withLock({ abandoned }) {
                    failAll("stopped before this task finished")
                }
            }
        }
        progress(statistics)
        if settings.shutdownNodes {
            let peers = lock.withLock { Array(scheduler.nodes.keys) }
            for peer in peers { send(.shutdown(.with { $0.reason = "the run is over" }), to: peer) }
        }
    }

    private func handle(_ frames: [[UInt8]]) {
        guard frames.count == 2, !frames[0].isEmpty else {
            lock.withLock { stats.malformed_frames += 1 }
            return
        }
        let peer = frames[0]
        let envelope: Focus_Envelope
        do { envelope = try Focus_Envelope.decode(frames[1]) } catch {
            lock.withLock { stats.malformed_frames += 1 }
            return
        }
        let now = Self.now()
        if envelope.protocolVersion != protocolVersion {
            reject(peer, nodeID: envelope.hello.nodeID.isEmpty ? String(decoding: peer, as: UTF8.self) : envelope.hello.nodeID,
                   reason: "protocol version \(envelope.protocolVersion) is not this coordinator's \(protocolVersion)")
            return
        }
        switch envelope.body {
        case .hello(let h)?: admit(peer, hello: h, now: now)
        case .heartbeat(let hb)?:
            lock.withLock {
                scheduler.nodes[peer]?.lastSeen = now
                scheduler.nodes[peer]?.residentBytes = hb.residentBytes
            }
            if lock.withLock({ scheduler.nodes[peer] == nil }) { askForHello(peer) }
        case .result(let r)?:
            if lock.withLock({ scheduler.nodes[peer] == nil }) {
                lock.withLock { stats.duplicate_results += 1 }
                askForHello(peer)
            } else {
                complete(r, from: peer, now: now)
            }
        case .reject(let r)?: log("a node refused this coordinator: \(r.reason)")
        default:
            lock.withLock { stats.malformed_frames += 1 }
        }
    }

    /// A node this coordinator does not know (it expired it, or restarted) is still talking: not a
    /// refusal, it must say Hello again.
    private func askForHello(_ peer: [UInt8]) {
        send(.reject(.with {
            $0.reason = "unknown node: say Hello first"
            $0.helloAgain = true
        }), to: peer)
    }

    private func admit(_ peer: [UInt8], hello: Focus_Hello, now: Double) {
        let expected = settings.expectedDigest ?? lock.withLock { facts?.digest }
        if let expected, hello.modelDigest != expected {
            reject(peer, nodeID: hello.nodeID,
                   reason: "model digest \(hello.modelDigest.prefix(12))… of \(hello.modelID) differs from this run's \(expected.prefix(12))…")
            return
        }
        guard let style = ChatTemplate.Style(rawValue: hello.chatFormat.style), hello.inputSize > 0 else {
            reject(peer, nodeID: hello.nodeID, reason: "unknown chat format '\(hello.chatFormat.style)' or input size 0")
            return
        }
        let joined: Bool = lock.withLock {
            if facts == nil {
                facts = ModelFacts(digest: hello.modelDigest, modelID: hello.modelID,
                                   chatTemplate: ChatTemplate(style: style, imageMarker: hello.chatFormat.imageMarker),
                                   inputSize: Int(hello.inputSize), decoderLayers: Int(hello.decoderLayers))
                lock.broadcast()
            }
            if scheduler.nodes[peer] != nil {
                scheduler.nodes[peer]!.lastSeen = now
                return false
            }
            scheduler.nodes[peer] = NodeState(routingID: peer, nodeID: hello.nodeID, slots: Int(hello.slots), now: now)
            lastRoom = now
            return true
        }
        if joined { log("node \(hello.nodeID) joined (\(hello.slots) slot\(hello.slots == 1 ? "" : "s"))") }
        send(.welcome(.with {
            $0.runID = settings.runID
            $0.heartbeatIntervalMs = UInt32(settings.heartbeatInterval * 1000)
            $0.livenessMs = UInt32(settings.liveness * 1000)
            $0.padToSquare = spec.padToSquare
        }), to: peer)
    }

    private func reject(_ peer: [UInt8], nodeID: String, reason: String) {
        lock.withLock {
            stats.rejected_nodes += 1
            rejections.append(Rejection(nodeID: nodeID, reason: reason))
        }
        log("rejected node \(nodeID): \(reason)")
        send(.reject(.with { $0.reason = reason }), to: peer)
    }

    private func complete(_ r: Focus_Result, from peer: [UInt8], now: Double) {
        lock.withLock { lastRoom = now }
        let ticket: TaskTicket? = lock.withLock {
            scheduler.nodes[peer]?.lastSeen = now
            guard let t = tickets[r.taskID], owner[r.taskID] == peer else {
                stats.duplicate_results += 1
                return nil
            }
            let failed: Bool
            if case .error? = r.output { failed = true } else { failed = false }
            _ = scheduler.complete(r.taskID, on: peer, roundTrip: now - t.sent, busy: r.cost.seconds, failed: failed)
            owner[r.taskID] = nil
            return t
        }
        guard let ticket else { return }
        let outcome: Result<(output: TaskOutput, cost: TaskCost), Error>
        do {
            switch try r.decoded() {
            case .success(let value): outcome = .success(value)
            case .failure(let f): outcome = .failure(f)
            }
        } catch {
            outcome = .failure(error)
        }
        if case .failure(let error) = outcome {
            retryOrFail(ticket, because: "\(nodeName(peer)): \(error)")
        } else {
            ticket.resolve(outcome)
            lock.withLock {
                tickets[ticket.id] = nil
                stats.tasks_completed += 1
                overheads.append(ticket.overhead + (Self.now() - now))
            }
        }
    }

    private func nodeName(_ peer: [UInt8]) -> String {
        lock.withLock { scheduler.nodes[peer]?.nodeID } ?? String(decoding: peer, as: UTF8.self)
    }

    /// A failed attempt: back to the queue, or after `maxAttempts` the question's error.
    private func retryOrFail(_ ticket: TaskTicket, because reason: String) {
        let give = lock.withLock { () -> Bool in
            ticket.failures.append(reason)
            if ticket.failures.count >= settings.maxAttempts {
                tickets[ticket.id] = nil
                return true
            }
            stats.tasks_requeued += 1
            queue.insert(ticket, at: 0)
            return false
        }
        if give {
            ticket.resolve(.failure(TaskFailure(message: "task failed on \(ticket.failures.count) attempts: "
                                                + ticket.failures.joined(separator: "; "))))
        }
    }

    private func expireNodes(now: Double) {
        let dead: [NodeState] = lock.withLock {
            let d = scheduler.expire(before: now - settings.liveness)
            departed += d
            return d
        }
        for node in dead {
            log("node \(node.nodeID) silent for \(Int(settings.liveness)) s: dead; re-queueing \(node.inFlight.count) task(s)")
            requeue(node)
        }
    }

    /// A node whose connection is gone (a send to it failed): dead at once, its tasks re-queued.
    private func drop(_ peer: [UInt8]) {
        let node: NodeState? = lock.withLock {
            guard let n = scheduler.nodes.removeValue(forKey: peer) else { return nil }
            departed.append(n)
            return n
        }
        guard let node else { return }
        log("node \(node.nodeID) is unreachable: dead; re-queueing \(node.inFlight.count) task(s)")
        requeue(node)
    }

    private func requeue(_ node: NodeState) {
        for id in node.inFlight.sorted() {
            let t: TaskTicket? = lock.withLock {
                owner[id] = nil
                return tickets[id]
            }
            if let t { retryOrFail(t, because: "node \(node.nodeID) died while running it") }
        }
    }

    private func dispatch() {
        while true {
            let pick: (TaskTicket, [UInt8])? = lock.withLock {
                guard let first = queue.first, let node = scheduler.pick(image: first.image) else { return nil }
                queue.removeFirst()
                scheduler.assign(first.id, to: node, image: first.image)
                owner[first.id] = node
                first.sent = Self.now()
                first.overhead = first.sent - max(first.submitted, lastRoom)
                stats.tasks_dispatched += 1
                return (first, node)
            }
            guard let (ticket, node) = pick else { return }
            var task = ticket.task
            task.attempt = UInt32(ticket.failures.count)
            if !send(.task(task), to: node) {
                // The node is gone (EHOSTUNREACH). This task was not delivered, so it is no failed
                // attempt; the node's other tasks are.
                lock.withLock {
                    scheduler.nodes[node]?.inFlight.remove(ticket.id)
                    owner[ticket.id] = nil
                    queue.insert(ticket, at: 0)
                }
                drop(node)
            }
        }
    }

    private func failAll(_ reason: String) {
        lock.withLock { abandoned = true }
        let all: [TaskTicket] = lock.withLock {
            defer {
                queue.removeAll()
                tickets.removeAll()
                owner.removeAll()
            }
            return Array(tickets.values)
        }
        for t in all { t.resolve(.failure(TaskFailure(message: reason))) }
    }

    @discardableResult
    private func send(_ body: Focus_Envelope.OneOf_Body, to peer: [UInt8]) -> Bool {
        guard let socket, let frame = try? Focus_Envelope(body).frame() else { return false }
        do {
            try socket.send([peer, frame])
            return true
        } catch {
            return false
        }
    }
}
