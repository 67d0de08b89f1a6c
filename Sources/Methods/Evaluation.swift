import Foundation

/// One line of `results.jsonl`: everything about one scored question.
public struct QuestionRecord: Codable, Sendable {
    public var question_id: String
    public var category: String
    public var method: String
    public var label: String?
    public var raw: String
    public var letter: String?
    public var scheme: AnswerScheme
    public var correct: Bool
    public var targets: [String]?
    /// The fallbacks the method took (`Answer.fallbacks`); absent when none, and in older runs.
    public var fallbacks: [String]?
    /// The regions the search verified (`Answer.checks`); absent for methods that check none, and in older runs.
    public var checks: [RegionCheck]?
    public var views: [ImageView]
    public var forward_passes: [String: Int]
    public var search_forward_passes: Int
    public var prefill_tokens: Int
    /// Of `prefill_tokens`, those served by the executor's prefix cache (absent in older runs).
    public var cached_tokens: Int?
    public var generated_tokens: Int
    /// The question's scoring groups beside its category (HR-Bench `cycle`, MME-RealWorld `task`, `subtask`).
    public var groups: [String: String]?
    public var flops: Double
    public var seconds: Double
    public var error: String?
}

/// Accuracy and compute over a set of records, overall and per category.
public struct EvaluationSummary: Codable, Sendable {
    public struct Group: Codable, Sendable {
        public var questions = 0
        public var correct = 0
        public var errors = 0
        public var accuracy: Double { questions == 0 ? 0 : Double(correct) / Double(questions) }
        public var searchForwardPasses = 0
        public var seconds: Double = 0
        public var prefillTokens = 0
        public var cachedTokens = 0

        enum CodingKeys: String, CodingKey {
            case questions, correct, errors, accuracy, mean_search_forward_passes, mean_seconds, prefill_tokens, cached_prefill_tokens
        }
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            questions = try c.decode(Int.self, forKey: .questions)
            correct = try c.decode(Int.self, forKey: .correct)
            errors = try c.decode(Int.self, forKey: .errors)
            prefillTokens = try c.decodeIfPresent(Int.self, forKey: .prefill_tokens) ?? 0
            cachedTokens = try c.decodeIfPresent(Int.self, forKey: .cached_prefill_tokens) ?? 0
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(questions, forKey: .questions)
            try c.encode(correct, forKey: .correct)
            try c.encode(errors, forKey: .errors)
            try c.encode(accuracy, forKey: .accuracy)
            try c.encode(questions == 0 ? 0 : Double(searchForwardPasses) / Double(questions), forKey: .mean_search_forward_passes)
            try c.encode(questions == 0 ? 0 : seconds / Double(questions), forKey: .mean_seconds)
            try c.encode(prefillTokens, forKey: .prefill_tokens)
            try c.encode(cachedTokens, forKey: .cached_prefill_tokens)
        }

        mutating func add(_ r: QuestionRecord) {
            questions += 1
            if r.correct { correct += 1 }
            if r.error != nil { errors += 1 }
            searchForwardPasses += r.search_forward_passes
            seconds += r.seconds
            prefillTokens += r.prefill_tokens
            cachedTokens += r.cached_tokens ?? 0
        }
    }

    public var method: String
    public var overall = Group()
    public var categories: [String: Group] = [:]
    /// Accuracy per value of each scoring group: `groups["task"]["Perception"]`.
    public var groups: [String: [String: Group]]?
    /// HR-Bench's headline: per category (and "all"), the accuracy within each cycle, averaged over
    /// the cycles. Present when the records have a `cycle` group.
    public var cycleAverage: [String: Double]?
    /// Questions per fallback kind (`no-target`, `nowhere`, `no-region`, `full-image`; the target
    /// names dropped); nil when no answer fell back.
    public var fallbacks: [String: Int]?

    public init(method: String, records: [QuestionRecord]) {
        self.method = method
        var groups: [String: [String: Group]] = [:]
        var byCycle: [String: [String: Group]] = [:]   // cycle → category or "all" → group
        var fallbacks: [String: Int] = [:]
        for r in records {
            for kind in Set((r.fallbacks ?? []).map { String($0.prefix { $0 != ":" }) }) { fallbacks[kind, default: 0] += 1 }
            overall.add(r)
            categories[r.category, default: Group()].add(r)
            for (name, value) in r.groups ?? [:] { groups[name, default: [:]][value, default: Group()].add(r) }
            if let cycle = r.groups?["cycle"] {
                byCycle[cycle, default: [:]][r.category, default: Group()].add(r)
                byCycle[cycle, default: [:]]["all", default: Group()].add(r)
            }
        }
        if !groups.isEmpty { self.groups = groups }
        if !fallbacks.isEmpty { self.fallbacks = fallbacks }
        if !byCycle.isEmpty {
            var average: [String: Double] = [:]
            for key in Set(byCycle.values.flatMap(\.keys)) {
                let accuracies = byCycle.values.compactMap { $0[key]?.accuracy }
                average[key] = accuracies.reduce(0, +) / Double(accuracies.count)
            }
            cycleAverage = average
        }
    }

    /// A Markdown table: one row per category, then the overall row.
    public var markdown: String {
        func pct(_ x: Double) -> String { String(format: "%.1f", 100 * x) }
        func row(_ name: String, _ g: Group) -> String {
            let fps = g.questions == 0 ? 0 : Double(g.searchForwardPasses) / Double(g.questions)
            let secs = g.questions == 0 ? 0 : g.seconds / Double(g.questions)
            return "| \(name) | \(g.questions) | \(pct(g.accuracy)) | \(String(format: "%.2f", fps)) | \(String(format: "%.2f", secs)) | \(g.errors) |"
        }
        var lines = ["## \(method)", "",
                     "| category | questions | accuracy % | search FPs / question | s / question | errors |",
                     "|---|---:|---:|---:|---:|---:|"]
        for name in categories.keys.sorted() { lines.append(row(name, categories[name]!)) }
        lines.append(row("**overall**", overall))
        if let cycleAverage {
            let names = cycleAverage.keys.filter { $0 != "all" }.sorted() + ["all"]
            lines += ["", "HR-Bench scoring (accuracy within each cycle, averaged over the cycles):", "",
                      "| | " + names.joined(separator: " | ") + " |", "|---|" + names.map { _ in "---:|" }.joined(),
                      "| **average %** | " + names.map { pct(cycleAverage[$0] ?? 0) }.joined(separator: " | ") + " |"]
        }
        for (name, values) in (groups ?? [:]).sorted(by: { $0.key < $1.key }) {
            lines += ["", "| \(name) | questions | accuracy % | search FPs / question | s / question | errors |",
                      "|---|---:|---:|---:|---:|---:|"]
            for (value, group) in values.sorted(by: { $0.key < $1.key }) { lines.append(row(value, group)) }
        }
        if let fallbacks {
            lines += ["", "Fallbacks (questions): " + fallbacks.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "."]
        }
        if overall.prefillTokens > 0 {
            let share = Double(overall.cachedTokens) / Double(overall.prefillTokens)
            lines += ["", "Prefill tokens: \(overall.prefillTokens), \(pct(share)) % of them served by the prefix cache."]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The run's `results.jsonl`: every scored question is appended and fsynced before anything else
/// happens, so an interrupted run loses nothing and a resumed one skips what is done. Safe to append
/// from several threads (the coordinator's jobs finish concurrently).
public final class ResultsJournal: @unchecked Sendable {
    public let directory: URL
    private let handle: FileHandle
    private let lock = NSLock()
    private var _records: [QuestionRecord] = []
    private var done: Set<String> = []
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    public init(directory: URL, resume: Bool) throws {
        self.directory = directory
        let fm = FileManager.default
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw MethodError("cannot create the run directory \(directory.path): \(error.localizedDescription)")
        }
        let results = directory.appendingPathComponent("results.jsonl")
        if fm.fileExists(atPath: results.path) {
            guard resume else {
                throw MethodError("\(results.path) already exists; pass --resume to continue that run or choose another --out")
            }
            let text = try String(contentsOf: results, encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            for (n, line) in lines.enumerated() where !line.isEmpty {
                guard let r = try? JSONDecoder().decode(QuestionRecord.self, from: Data(line.utf8)) else {
                    // A last line cut off by a crash mid-write is the only one that may be broken.
                    if n == lines.count - 1 && !text.hasSuffix("\n") { break }
                    throw MethodError("\(results.path) line \(n + 1) is not a result record; fix or remove it")
                }
                _records.append(r)
                done.insert(r.question_id)
            }
            if !text.isEmpty && !text.hasSuffix("\n") {
                // Drop the torn tail so the next record starts on its own line.
                let keep = text[..<(text.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex)]
                try Data(keep.utf8).write(to: results)
            }
        } else {
            _ = fm.createFile(atPath: results.path, contents: nil)
        }
        guard let h = FileHandle(forWritingAtPath: results.path) else {
            throw MethodError("cannot write \(results.path)")
        }
        handle = h
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    public var records: [QuestionRecord] { lock.withLock { _records } }

    /// Whether a question (or a probe's "/with" half of it) is already recorded.
    public func isDone(_ questionID: String) -> Bool {
        lock.withLock { done.contains(questionID) || done.contains(questionID + "/with") }
    }

    /// Appends and fsyncs; records of a question already done are ignored (a late duplicate).
    @discardableResult
    public func append(_ new: [QuestionRecord]) throws -> Bool {
        try lock.withLock {
            guard let first = new.first, !done.contains(first.question_id) else { return false }
            var data = Data()
            for r in new {
                data.append(try encoder.encode(r))
                data.append(0x0A)
            }
            handle.write(data)
            try handle.synchronize()
            _records.append(contentsOf: new)
            for r in new { done.insert(r.question_id) }
            return true
        }
    }

    /// Writes `summary.json` and `summary.md` for everything recorded so far.
    @discardableResult
    public func writeSummary(method: String) throws -> EvaluationSummary {
        let summary = EvaluationSummary(method: method, records: records)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(summary).write(to: directory.appendingPathComponent("summary.json"))
        try Data(summary.markdown.utf8).write(to: directory.appendingPathComponent("summary.md"))
        return summary
    }
}

extension QuestionRecord {
    /// The records of one question: one per outcome, or one failed record when the probe threw.
    public static func records(for q: Question, probe: String, outcomes: [Outcome]?, ledger: ComputeLedger,
                               failure: String?) -> [QuestionRecord] {
        let outcomes = outcomes ?? [Outcome(answer: Answer(raw: "", letter: nil, scheme: .generatedLetter, views: []), correct: false)]
        return outcomes.map { o in
            QuestionRecord(
                question_id: q.id + o.idSuffix, category: q.category, method: probe, label: q.label,
                raw: o.answer.raw, letter: o.answer.letter, scheme: o.answer.scheme, correct: o.correct,
                targets: o.answer.targets, fallbacks: o.answer.fallbacks, checks: o.answer.checks, views: o.answer.views,
                forward_passes: Dictionary(uniqueKeysWithValues: ledger.forwardPasses.map { ($0.key.rawValue, $0.value) }),
                search_forward_passes: ledger.passes(.search) / max(outcomes.count, 1),
                prefill_tokens: ledger.prefillTokens, cached_tokens: ledger.cachedTokens, generated_tokens: ledger.generatedTokens,
                groups: q.groups.isEmpty ? nil : q.groups,
                flops: ledger.flops, seconds: ledger.seconds.values.reduce(0, +) / Double(max(outcomes.count, 1)),
                error: failure)
        }
    }
}

extension EvaluationProbe {
    /// Scores one question: its records (one failed record when the probe threw), and whether it threw.
    /// `focus eval` and the cluster coordinator both score through this.
    public func score(_ q: Question, executor: TaskExecutor) -> (records: [QuestionRecord], failed: Bool) {
        var ledger = ComputeLedger()
        var outcomes: [Outcome]?
        var failure: String?
        do {
            outcomes = try evaluate(q, executor: executor, ledger: &ledger)
        } catch {
            failure = String(describing: error)
        }
        return (QuestionRecord.records(for: q, probe: name, outcomes: outcomes, ledger: ledger, failure: failure), failure != nil)
    }
}

/// Runs a probe over questions in one process, journaling each question as soon as it is scored.
public final class EvaluationRun {
    public let probe: any EvaluationProbe
    public let journal: ResultsJournal
    public var directory: URL { journal.directory }
    public var records: [QuestionRecord] { journal.records }

    public init(directory: URL, probe: any EvaluationProbe, resume: Bool) throws {
        self.probe = probe
        journal = try ResultsJournal(directory: directory, resume: resume)
    }

    /// Scores every question not yet done; `progress` is called after each.
    public func run(_ questions: [Question], executor: TaskExecutor, progress: (Int, Int, EvaluationSummary) -> Void = { _, _, _ in }) throws {
        for (i, q) in questions.enumerated() {
            if journal.isDone(q.id) { continue }
            try journal.append(probe.score(q, executor: executor).records)
            progress(i + 1, questions.count, EvaluationSummary(method: probe.name, records: journal.records))
        }
    }

    /// Writes `summary.json` and `summary.md` for everything recorded so far.
    @discardableResult
    public func writeSummary() throws -> EvaluationSummary {
        try journal.writeSummary(method: probe.name)
    }
}
