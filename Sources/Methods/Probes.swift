import Foundation
import Models

/// The scored result of asking one thing about one question.
public struct Outcome: Sendable {
    /// Suffix appended to the question id when a probe asks several things per question ("/with").
    public var idSuffix: String
    public var answer: Answer
    public var correct: Bool

    public init(idSuffix: String = "", answer: Answer, correct: Bool) {
        self.idSuffix = idSuffix
        self.answer = answer
        self.correct = correct
    }
}

/// Anything an evaluation can run per question: an answering method, or a diagnostic of one step.
public protocol EvaluationProbe: Sendable {
    var name: String { get }
    func evaluate(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> [Outcome]
}

/// A method scored by its letter against the label.
public struct MethodProbe: EvaluationProbe {
    public let method: any AnsweringMethod
    public var name: String { method.name }

    public init(_ method: any AnsweringMethod) { self.method = method }

    public func evaluate(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> [Outcome] {
        let answer = try method.answer(question, executor: executor, ledger: &ledger)
        return [Outcome(answer: answer, correct: answer.letter != nil && answer.letter == question.label)]
    }
}

/// FOCUS step 1 alone: do the parsed targets equal the answer key (the benchmark's extraction key,
/// else its target names), and is a type-2 question recognised as one?
public struct TargetExtractionProbe: EvaluationProbe {
    public let name = "extraction"
    public let extractor: TargetExtractor

    public init(extractor: TargetExtractor) { self.extractor = extractor }

    public func evaluate(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> [Outcome] {
        let targets = try extractor.extract(question.text, executor: executor, ledger: &ledger)
        let key = question.extractionKey.map { TargetExtractor.parse("\(TargetExtractor.answerLead) \($0.joined(separator: " and "))") }
        let expected = key?.names ?? question.targets
        let expectedAll = key?.all ?? (question.kind == .all)
        let correct = Set(targets.names) == Set(expected) && targets.names.count == expected.count && targets.all == expectedAll
        let answer = Answer(raw: targets.raw, letter: nil, scheme: .generatedLetter, views: [], targets: targets.names)
        return [Outcome(answer: answer, correct: correct)]
    }
}

/// FOCUS's verification prompt on crops: the oracle crop of the first target (the answer should be
/// Yes) and a crop of the same size that does not overlap any target box (No, since a target is the
/// only object of its shape). Questions without boxes are skipped.
public struct ExistenceOnCropsProbe: EvaluationProbe {
    public let name = "existence-on-crops"

    public init() {}

    public static func prompt(target: String, template: ChatTemplate) -> String {
        template.prompt(question: "Is there a \(target) in the image? Answer Yes or No.")
    }

    public func evaluate(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> [Outcome] {
        guard let box = question.boxes.first, let target = question.targets.first else { return [] }
        let size = try executor.imageSize(of: question.image)
        let side = Double(executor.inputSize)
        let positive = box.enlarged(toAtLeast: side, imageWidth: size.width, imageHeight: size.height)
        guard let negative = Self.emptyCrop(like: positive, avoiding: question.boxes, width: size.width, height: size.height) else {
            return []
        }
        var outcomes: [Outcome] = []
        for (suffix, crop, expected) in [("/with", positive, true), ("/without", negative, false)] {
            let view = ImageView(image: question.image, crop: crop)
            let l = try executor.yesNoLogits(prompt: Self.prompt(target: target, template: executor.chatTemplate), views: [view],
                                             ledger: &ledger)
            let yes = l.yes > l.no
            let answer = Answer(raw: yes ? "Yes" : "No", letter: nil, scheme: .logitMatching, views: [view], targets: [target])
            outcomes.append(Outcome(idSuffix: suffix, answer: answer, correct: yes == expected))
        }
        return outcomes
    }

    /// The crop of `like`'s size farthest from every box (scanning a coarse grid), if one overlaps none.
    static func emptyCrop(like crop: PixelBox, avoiding boxes: [PixelBox], width: Int, height: Int) -> PixelBox? {
        var best: (PixelBox, Double)?
        let steps = 16
        for i in 0...steps {
            for j in 0...steps {
                let x = (Double(width) - crop.width) * Double(i) / Double(steps)
                let y = (Double(height) - crop.height) * Double(j) / Double(steps)
                let candidate = PixelBox(x: x, y: y, width: crop.width, height: crop.height)
                let overlaps = boxes.contains { b in
                    b.x < candidate.x + candidate.width && candidate.x < b.x + b.width &&
                        b.y < candidate.y + candidate.height && candidate.y < b.y + b.height
                }
                if overlaps { continue }
                let distance = boxes.map { hypot($0.centerX - candidate.centerX, $0.centerY - candidate.centerY) }.min() ?? 0
                if best == nil || distance > best!.1 { best = (candidate, distance) }
            }
        }
        return best?.0
    }
}

/// FOCUS steps 2 and 3 alone, with the ground-truth targets: does the value-cache relevance map put
/// the target where it is? Per target that has its own box (type-1 questions), the map's proposals
/// are taken in FOCUS's order and the probe records the rank of the first one that holds the box's
/// centre; correct when that rank is within the verification budget (`steps`), so a perfect
/// verifier would find the object. One search pass per target, no verification.
public struct RelevanceHitProbe: EvaluationProbe {
    public let name = "relevance-hit"
    public let options: FocusOptions

    public init(options: FocusOptions = FocusOptions()) { self.options = options }

    public func evaluate(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> [Outcome] {
        guard !question.targets.isEmpty, question.targets.count == question.boxes.count else { return [] }
        var o = options
        o.ranking = false   // proposals only: step 4 is what this probe leaves out
        let focus = Focus(options: o, extractor: TargetExtractor(examples: []))
        var outcomes: [Outcome] = []
        for (target, box) in zip(question.targets, question.boxes) {
            let evidence = try focus.search(target, image: question.image, executor: executor, ledger: &ledger)
            let rank = evidence.regions.firstIndex { r in
                r.box.x <= box.centerX && box.centerX <= r.box.x + r.box.width
                    && r.box.y <= box.centerY && box.centerY <= r.box.y + r.box.height
            }
            let view = rank.map { ImageView(image: question.image, crop: evidence.regions[$0].box) } ?? ImageView(image: question.image)
            let answer = Answer(raw: rank.map { "rank \($0 + 1) of \(evidence.regions.count)" } ?? "miss (\(evidence.regions.count) proposals)",
                                letter: nil, scheme: .generatedLetter, views: [view], targets: [target])
            outcomes.append(Outcome(idSuffix: "/" + target, answer: answer, correct: rank.map { $0 < options.steps } ?? false))
        }
        return outcomes
    }
}
