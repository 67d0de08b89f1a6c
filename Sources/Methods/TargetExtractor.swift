import Foundation
import Models

/// FOCUS step 1: the model names the objects the question is about, text only, with a few-shot
/// prompt (focus-method.md). A target starting with `all ` marks a type-2 question.
public struct TargetExtractor: Sendable {
    public struct Example: Sendable, Codable, Equatable {
        public var question: String
        public var answer: String
    }

    public static let instruction = "If you want to answer the question, which objects' information do you need?"
    public static let answerLead = "So I need the information about the following objects:"

    public let examples: [Example]
    public let maxNewTokens: Int

    public init(examples: [Example], maxNewTokens: Int = 64) {
        self.examples = examples
        self.maxNewTokens = maxNewTokens
    }

    /// Reads a few-shot file (`[{"question": …, "answer": …}]`).
    public init(fewShotFile url: URL, maxNewTokens: Int = 64) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw MethodError("few-shot file \(url.path) cannot be read: \(error.localizedDescription)")
        }
        do {
            self.init(examples: try JSONDecoder().decode([Example].self, from: data), maxNewTokens: maxNewTokens)
        } catch {
            throw MethodError("few-shot file \(url.path) is not a JSON list of {question, answer}: \(error)")
        }
    }

    static func turn(_ question: String) -> String { "Question: \(question)\n\(instruction)" }

    /// The text-only prompt in the executor's chat format.
    public func prompt(for question: String, template: ChatTemplate) -> String {
        template.prompt(question: Self.turn(question), image: false,
                        history: examples.map { (Self.turn($0.question), $0.answer) })
    }

    public struct Targets: Sendable, Codable, Equatable {
        public var names: [String]
        /// True when a target was written `all …` (a type-2 question).
        public var all: Bool
        public var raw: String
    }

    public func extract(_ question: String, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> Targets {
        let task = ModelTask(prompt: prompt(for: question, template: executor.chatTemplate), views: [],
                             operation: .generate(maxNewTokens: maxNewTokens), bucket: .extraction)
        guard case .text(let text, _) = try executor.run(task, ledger: &ledger) else { preconditionFailure("generate returns text") }
        return Self.parse(text)
    }

    /// Parses the last "So I need the information about the following objects: …" line: strip the
    /// final period, split on ", " and " and ", trim, drop empties and duplicates; `all ` marks type 2.
    public static func parse(_ text: String) -> Targets {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let line = lines.last(where: { $0.contains(answerLead) }),
              let range = line.range(of: answerLead, options: .backwards) else {
            return Targets(names: [], all: false, raw: text)
        }
        var list = line[range.upperBound...].trimmingCharacters(in: .whitespaces)
        if list.hasSuffix(".") { list.removeLast() }
        var names: [String] = [], all = false
        for part in list.components(separatedBy: ", ").flatMap({ $0.components(separatedBy: " and ") }) {
            var name = part.trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("all ") {
                all = true
                name = String(name.dropFirst(4)).trimmingCharacters(in: .whitespaces)
            }
            if !name.isEmpty, !names.contains(name) { names.append(name) }
        }
        return Targets(names: names, all: all, raw: text)
    }
}

/// A method-level failure a user can act on (a missing few-shot file, a malformed answer key).
public struct MethodError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
