import ArgumentParser
import Benchmarks
import Cluster
import ClusterMetrics
import FocusCommandLine
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Methods

/// focus-coord: shards a benchmark over focus-node processes.
struct FocusCoord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "focus-coord",
        abstract: "Run an evaluation over focus-node processes through ZeroMQ.",
        subcommands: [RunCommand.self, StatusCommand.self, KeygenCommand.self],
        defaultSubcommand: RunCommand.self)
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Answer a benchmark with a method, dispatching every model task to the least-loaded node.",
        discussion: """
            Binds a ROUTER socket (127.0.0.1 unless --bind says otherwise); start focus-node processes \
            pointed at it, before or after. Every finished question is appended to RUN/results.jsonl and \
            fsynced; --resume skips them. SIGINT/SIGTERM stop starting questions, wait for those in \
            flight (--drain-timeout) and write RUN/summary.json, RUN/summary.md and RUN/manifest.json.
            """)

    @OptionGroup var methodArguments: MethodArguments

    @OptionGroup var benchmark: BenchmarkOptions

    @Option(name: .long, help: "Run directory for results.jsonl, the summaries and manifest.json.")
    var out: String

    @Flag(name: .long, help: "Continue a run whose results.jsonl exists, skipping finished questions.")
    var resume = false

    @Option(name: .long, help: "Endpoint to bind.")
    var bind = "tcp://127.0.0.1:5555"

    @Option(name: .long, help: "The checkpoint the nodes must run (its digest is checked at Hello; default: the first node's).")
    var model: String?

    @Option(name: .long, help: "Questions in flight at once.")
    var concurrency = 16

    @Option(name: .long, help: "Seconds of silence after which a node is dead.")
    var liveness = 3.0

    @Option(name: .long, help: "Give up when no node has been connected for this many seconds.")
    var noNodeTimeout: Double?

    @Option(name: .long, help: "After SIGINT/SIGTERM, seconds to wait for questions in flight.")
    var drainTimeout = 30.0

    @Flag(name: .long, help: "Leave the nodes running when the run is over (default: send them Shutdown).")
    var keepNodes = false

    @Option(name: .long, help: "Serve /metrics (Prometheus) and /status (JSON) over HTTP on this port.")
    var metricsPort: Int?

    @Option(name: .long, help: "Address the metrics endpoint listens on.")
    var metricsHost = "127.0.0.1"

    @Option(name: .long, help: "CURVE: this coordinator's key pair PREFIX (PREFIX.key, PREFIX.pub from `focus-coord keygen`).")
    var curveKey: String?

    @Option(name: .long, help: "CURVE: file of node public keys allowed in, one per line.")
    var allowKeys: String?

    func run() throws {
        let progressLine = ProgressLine()
        let log: @Sendable (String) -> Void = { progressLine.message("focus-coord: \($0)") }
        let questions = try benchmark.load(run: URL(fileURLWithPath: out), log: log)
        let spec = try methodArguments.spec()
        var settings = CoordinatorSettings()
        settings.bind = bind
        settings.concurrency = concurrency
        settings.liveness = liveness
        settings.noNodeTimeout = noNodeTimeout
        settings.drainTimeout = drainTimeout
        settings.shutdownNodes = !keepNodes
        if let model { settings.expectedDigest = try ModelDigest.of(directory: URL(fileURLWithPath: model)) }
        if let curveKey {
            settings.curveSecretKey = try CurveKeys.read(prefix: curveKey).secretKey
            if let allowKeys { settings.allowedKeys = try CurveKeys.readAllowList(allowKeys) }
        } else if allowKeys != nil {
            throw ValidationError("--allow-keys needs --curve-key")
        }
        let journal = try ResultsJournal(directory: URL(fileURLWithPath: out), resume: resume)
        let coordinator = try Coordinator(settings: settings, spec: spec, journal: journal, log: log)
        log("listening on \(coordinator.boundEndpoint); \(questions.count) questions, \(journal.records.count) already done")
        if let metricsPort {
            MetricsServer(snapshot: { coordinator.statistics }).start(host: metricsHost, port: metricsPort, log: log)
        }

        // Signals stop dispatching; the run then drains and writes its summary.
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                log("signal \(sig): finishing the questions in flight, starting no more")
                coordinator.requestStop()
            }
            source.resume()
            sources.append(source)
        }
        let benchmarkDigest = try RunManifest.digest(of: try benchmark.digestFile)
        try coordinator.run(questions) { stats in progressLine.update(stats.progressLine) }
        progressLine.finish()
        let summary = try journal.writeSummary(method: spec.method.rawValue)
        let stats = coordinator.statistics
        try RunManifest(spec: spec, facts: coordinator.modelFacts, benchmark: try benchmark.source.description, benchmarkDigest: benchmarkDigest,
                        statistics: stats, nodeTotals: coordinator.nodeTotals,
                        overhead: coordinator.overhead).write(to: URL(fileURLWithPath: out))
        print(summary.markdown, terminator: "")
        if stats.questions_done < stats.questions_total {
            log("\(stats.questions_total - stats.questions_done) question(s) not done; rerun with --resume")
            throw ExitCode(1)
        }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Print a running coordinator's status (its --metrics-port endpoint) as a table.")

    @Argument(help: "The endpoint, e.g. http://127.0.0.1:9464 (/status is added when missing).")
    var url: String

    @Flag(name: .long, help: "Print the JSON document instead of the table.")
    var json = false

    func run() throws {
        let address = url.hasSuffix("/status") ? url : url.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/status"
        guard let endpoint = URL(string: address), endpoint.scheme == "http" || endpoint.scheme == "https" else {
            throw ValidationError("'\(url)' is not an http:// URL")
        }
        final class Reply: @unchecked Sendable {
            var data: Data?
            var problem = "no answer"
        }
        let reply = Reply(), done = DispatchSemaphore(value: 0)
        var request = URLRequest(url: endpoint)
        request.timeoutInterval = 10
        URLSession.shared.dataTask(with: request) { data, response, error in
            let code = (response as? HTTPURLResponse)?.statusCode
            if let data, code == 200 { reply.data = data } else {
                reply.problem = error?.localizedDescription ?? "HTTP status \(code.map(String.init) ?? "?")"
            }
            done.signal()
        }.resume()
        done.wait()
        guard let data = reply.data else {
            throw ValidationError("cannot read \(address): \(reply.problem) (is focus-coord running with --metrics-port?)")
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        guard let status = try? JSONDecoder().decode(StatusDocument.self, from: data) else {
            throw ValidationError("\(address) did not answer with a focus-coord status document")
        }
        print(status.table, terminator: "")
    }
}

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Write a CURVE key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub.")

    @Option(name: .long, help: "Path prefix of the key files.")
    var out: String

    func run() throws {
        let pair = try CurveKeys.generate(prefix: out)
        print(pair.publicKey)
    }
}

FocusCoord.main()
