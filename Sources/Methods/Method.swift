import Foundation
import Models

/// A way of answering a question with a model: it issues tasks through an executor and returns the
/// answer; every task's cost lands in the ledger.
public protocol AnsweringMethod: Sendable {
    var name: String { get }
    func answer(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> Answer
}

extension TaskExecutor {
    /// Runs a task and books its cost.
    public func run(_ task: ModelTask, ledger: inout ComputeLedger) throws -> TaskOutput {
        let (output, cost) = try run(task)
        ledger.add(cost)
        return output
    }

    /// The next-token logits of "Yes" and "No" after `prompt` on `views`: one search pass (FOCUS's
    /// verification, ZoomEye's confidences, the existence probe).
    public func yesNoLogits(prompt: String, views: [ImageView], ledger: inout ComputeLedger) throws -> (yes: Float, no: Float) {
        let output = try run(ModelTask(prompt: prompt, views: views, operation: .candidates(["Yes", "No"]), bucket: .search), ledger: &ledger)
        guard case .logits(let l) = output, l.count == 2 else { preconditionFailure("candidates return two logits") }
        return (l[0], l[1])
    }

    /// Asks the multiple-choice question on `views` and reads the generated letter.
    public func answerMultipleChoice(_ question: Question, on views: [ImageView], ledger: inout ComputeLedger) throws -> Answer {
        // A question without options (`focus ask` without --option) is answered in free text.
        let text = question.options.isEmpty ? question.text : question.multipleChoicePrompt
        // One marker per view (ViCrop answers on [image, crop]).
        let extra = String(repeating: chatTemplate.imageMarker + "\n", count: max(0, views.count - 1))
        let prompt = chatTemplate.prompt(question: extra + text, image: !views.isEmpty)
        if answerScheme == .optionLikelihood && !question.options.isEmpty {
            let plain = chatTemplate.prompt(question: extra + question.text, image: !views.isEmpty)
            let output = try run(ModelTask(prompt: plain, views: views, operation: .continuations(question.options), bucket: .answer),
                                 ledger: &ledger)
            guard case .logits(let l) = output, l.count == question.options.count else { preconditionFailure("one score per option") }
            let letter = question.letters[argmax(l)]
            return Answer(raw: letter, letter: letter, scheme: .optionLikelihood, views: views)
        }
        if answerScheme == .logitMatching && !question.options.isEmpty {
            // The option whose letter has the highest next-token logit.
            let output = try run(ModelTask(prompt: prompt, views: views, operation: .candidates(question.letters), bucket: .answer),
                                 ledger: &ledger)
            guard case .logits(let l) = output, l.count == question.letters.count else { preconditionFailure("one logit per letter") }
            let letter = question.letters[argmax(l)]
            return Answer(raw: letter, letter: letter, scheme: .logitMatching, views: views)
        }
        let output = try run(ModelTask(prompt: prompt, views: views, operation: .generate(maxNewTokens: question.options.isEmpty ? 64 : 8),
                                       bucket: .answer), ledger: &ledger)
        guard case .text(let text, _) = output else { preconditionFailure("generate returns text") }
        return Answer(raw: text, letter: Answer.letter(in: text, letters: question.letters), scheme: .generatedLetter, views: views)
    }
}

/// The question on the full image.
public struct Vanilla: AnsweringMethod {
    public let name = "vanilla"
    public init() {}

    public func answer(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> Answer {
        try executor.answerMultipleChoice(question, on: [ImageView(image: question.image)], ledger: &ledger)
    }
}

/// The question on the ground-truth region: the union of the target boxes, enlarged around its
/// centre to the vision encoder's input size. A diagnostic upper bound for search methods, not a
/// method (it reads the answer key's boxes); questions without boxes fall back to the full image.
public struct OracleCrop: AnsweringMethod {
    public let name = "oracle"
    /// Single-target boxes whose centres are farther apart go on a canvas, as in FOCUS's step 5;
    /// nil: FOCUS's default for the model's encoder (`FocusOptions.defaultCanvasDistance(inputSize:)`).
    public var canvasDistance: Double?

    public init(canvasDistance: Double? = nil) {
        self.canvasDistance = canvasDistance
    }

    public func answer(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> Answer {
        try executor.answerMultipleChoice(question, on: [view(for: question, executor: executor)], ledger: &ledger)
    }

    /// The ground-truth boxes, each grown to the encoder's input size, shown the way FOCUS would
    /// show them if it had found exactly them: one crop of their union, or (single targets far
    /// apart) a canvas of the grown boxes. Questions about all instances (counting) get the union.
    public func view(for question: Question, executor: TaskExecutor) throws -> ImageView {
        guard !question.boxes.isEmpty else { return ImageView(image: question.image) }
        let size = try executor.imageSize(of: question.image)
        let input = Double(executor.inputSize)
        let distance = canvasDistance ?? FocusOptions.defaultCanvasDistance(inputSize: executor.inputSize)
        // Decided on the objects' own centres; the canvas shows the boxes grown to the input size.
        if question.kind != .all && PixelBox.centresSpread(question.boxes, beyond: distance) {
            return ImageView(image: question.image, canvas: question.boxes.map {
                $0.enlarged(toAtLeast: input, imageWidth: size.width, imageHeight: size.height)
            })
        }
        let union = PixelBox.union(question.boxes)
        return ImageView(image: question.image,
                         crop: union.enlarged(toAtLeast: input, imageWidth: size.width, imageHeight: size.height))
    }
}
