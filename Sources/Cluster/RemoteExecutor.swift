import Foundation
import Methods
import Models

/// What every node of a run agrees on (checked at Hello): how prompts are written and the encoder's
/// input size, which methods need before any task runs.
public struct ModelFacts: Sendable, Equatable {
    public var digest: String
    public var modelID: String
    public var chatTemplate: ChatTemplate
    public var inputSize: Int
    public var decoderLayers: Int
}

/// A ticket for one task: the job's thread waits on it; the coordinator's I/O thread fills it.
final class TaskTicket: @unchecked Sendable {
    let id: UInt64
    let task: Focus_Task
    let image: String?
    var attempts = 0
    var failures: [String] = []
    var sent = 0.0
    let submitted = Date().timeIntervalSince1970
    /// Seconds the coordinator itself spent on this task: from the moment it could be sent (queued
    /// and a node free) to the send, plus from its result's arrival to the job's wake-up.
    var overhead = 0.0
    private let done = DispatchSemaphore(value: 0)
    private(set) var outcome: Result<(output: TaskOutput, cost: TaskCost), Error>?

    init(id: UInt64, task: Focus_Task) {
        self.id = id
        self.task = task
        image = task.views.first?.path
    }

    func resolve(_ result: Result<(output: TaskOutput, cost: TaskCost), Error>) {
        guard outcome == nil else { return }
        outcome = result
        done.signal()
    }

    func wait() -> Result<(output: TaskOutput, cost: TaskCost), Error> {
        done.wait()
        return outcome!
    }
}

/// Runs a method's tasks on the cluster: each `run` hands the task to the coordinator and blocks this
/// job's thread until a node's result comes back. Methods see the same `TaskExecutor` as in one
/// process, which is why a cluster run gives the answers `focus eval` gives.
public final class RemoteExecutor: TaskExecutor {
    let submit: (ModelTask) -> TaskTicket
    let facts: ModelFacts
    public let answerScheme: AnswerScheme
    private var lastSize: (url: URL, size: (width: Int, height: Int))?

    init(facts: ModelFacts, answerScheme: AnswerScheme, submit: @escaping (ModelTask) -> TaskTicket) {
        self.facts = facts
        self.answerScheme = answerScheme
        self.submit = submit
    }

    public var chatTemplate: ChatTemplate { facts.chatTemplate }
    public var inputSize: Int { facts.inputSize }

    /// Read here, on the coordinator, which sees the same data root as the nodes.
    public func imageSize(of image: URL) throws -> (width: Int, height: Int) {
        if let last = lastSize, last.url == image { return last.size }
        let decoded = try ImageDecoder.decode(contentsOf: image)
        lastSize = (image, (decoded.width, decoded.height))
        return (decoded.width, decoded.height)
    }

    public func run(_ task: ModelTask) throws -> (output: TaskOutput, cost: TaskCost) {
        try submit(task).wait().get()
    }
}
