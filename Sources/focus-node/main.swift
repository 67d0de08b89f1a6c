import ArgumentParser
import Cluster
import FocusCommandLine
import Foundation
import Models

/// focus-node: one model, loaded once, executing the tasks a focus-coord sends it.
struct FocusNode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "focus-node",
        abstract: "Run the model for a focus-coord: load it once, connect, execute tasks until told to stop.",
        discussion: """
            The node connects a DEALER socket to the coordinator's ROUTER, says Hello (protocol version, \
            model digest, chat format), heartbeats every second from its I/O thread, and runs one task \
            at a time on a worker thread. It reconnects when the coordinator is silent for 3 s and exits \
            0 on Shutdown, 2 when rejected (the reason is printed).
            """)

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "The coordinator's endpoint.")
    var coordinator = "tcp://127.0.0.1:5555"

    @Option(name: .long, help: "This node's name (default: hostname:pid).")
    var id: String?

    @Option(name: .long, help: "CURVE: this node's key pair, as written by `focus-coord keygen --out PREFIX` (reads PREFIX.key and PREFIX.pub).")
    var curveKey: String?

    @Option(name: .long, help: "CURVE: the coordinator's public key file (PREFIX.pub).")
    var serverKey: String?

    @Option(name: .long, help: "Exit (status 3) after this many seconds without the coordinator.")
    var giveUpAfter: Double?

    @Option(name: .long, help: .hidden)
    var protocolVersion: UInt32?

    func run() throws {
        let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("focus-node: \($0)\n".utf8)) }
        let name = id ?? "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        var settings = NodeSettings(coordinator: coordinator, nodeID: name)
        settings.giveUpAfter = giveUpAfter
        settings.prefixCacheBytes = model.prefixCacheBytes
        settings.protocolVersionOverride = protocolVersion
        if curveKey != nil || serverKey != nil {
            guard let curveKey, let serverKey else { throw ValidationError("--curve-key and --server-key go together") }
            let pair = try CurveKeys.read(prefix: curveKey)
            settings.curve = (pair.publicKey, pair.secretKey, try CurveKeys.readPublic(serverKey))
        }
        let llava = try model.load()
        log("loaded \(model.directory.path): resident memory \(ResidentMemory.bytes() >> 20) MiB")
        let node = try ClusterNode(settings: settings, model: llava, modelDirectory: model.directory, log: log)
        switch try node.run() {
        case .shutdown(let reason):
            log("shut down: \(reason)")
        case .rejected(let reason):
            log("rejected by the coordinator: \(reason)")
            throw ExitCode(2)
        case .gaveUp:
            log("no coordinator at \(coordinator) for \(Int(giveUpAfter ?? 0)) s; giving up")
            throw ExitCode(3)
        }
    }
}

FocusNode.main()
