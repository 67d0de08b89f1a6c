// Questions: the four question types, every template's exact text, and the multiple-choice and
// FOCUS target-extraction formats. The benchmark and the training data both build their text here,
// so a model trained on one reads the other verbatim.
import Foundation

public enum QuestionType: String, CaseIterable, Sendable {
    case attribute, spatial, existence, counting

    /// The V*Bench-style category folder (and `category` field).
    public var category: String {
        switch self {
        case .attribute: "direct_attributes"
        case .spatial: "relative_position"
        case .existence: "existence"
        case .counting: "counting"
        }
    }
}

/// A question about a scene (or a view of one), with its answer and ground truth.
public struct SynthQuestion: Sendable, Equatable {
    public var type: QuestionType
    public var question: String
    /// The correct option first, as in V*Bench's per-image JSON.
    public var options: [String]
    /// Names of the objects the question is about, once per name in question order (V*Bench's
    /// `target_object`): a counting question names its shape once for all its boxes, and an existence
    /// question about an absent shape names it with no box.
    public var targetObjects: [String]
    /// Every instance's box (`[x, y, w, h]`): one per target, all instances for counting, none when absent.
    public var boxes: [SceneBox]
    /// The answer to FOCUS step 1 (target extraction): `["star"]`, `["star", "ring"]`, `["all triangles"]`.
    public var targets: [String]

    public var answer: String { options[0] }
}

public enum QuestionText {
    public static let instruction = "Answer with the option's letter from the given choices directly."
    public static let letters = ["A", "B", "C", "D", "E", "F", "G", "H"]
    public static let yes = "Yes", no = "No"
    public static let left = "left", right = "right"

    public static func attribute(_ shape: ObjectShape) -> String { "What is the color of the \(shape.name)?" }

    public static func spatial(_ subject: ObjectShape, _ reference: ObjectShape) -> String {
        "Is the \(subject.name) on the left or right side of the \(reference.name)?"
    }

    public static func existence(_ shape: ObjectShape) -> String { "Is there a \(shape.name) in the image?" }

    public static func counting(_ shape: ObjectShape) -> String { "How many \(shape.plural) are there?" }

    /// FOCUS's verification prompt (steps 2 and 4), with `target` as the extraction step wrote it.
    public static func verification(_ target: String) -> String {
        "Is there a \(target) in the image? Answer Yes or No."
    }

    /// ZoomEye's question for one of several targets; must equal `ZoomEye.appearanceQuestion` (MethodsTests checks).
    public static func appearance(_ shape: ObjectShape) -> String { "What is the appearance of the \(shape.name)?" }

    /// ZoomEye's answering-confidence prompt (zoom_model.py, LLaVA-1.5; "the the" is in the original).
    /// It must equal `ZoomEye.answeringPrompt`, which MethodsTests checks: the toy learns it from here.
    public static func zoomEyeAnswering(_ question: String) -> String {
        "Question: \(question)\nCould you answer the question based on the the available visual information? Answer Yes or No."
    }

    /// ZoomEye's latent-confidence prompt; must equal `ZoomEye.latentPrompt` (MethodsTests checks).
    public static func zoomEyeLatent(_ cue: String) -> String {
        "According to your common sense knowledge and the content of the image, is it possible to find a \(cue) in the image? Answer Yes or No and tell the reason."
    }

    /// The listing prompt of the training data: every object word tied to what it looks like.
    public static let listing = "List the objects in the image from left to right."

    /// What a training prompt starts with when an image comes first.
    public static let imageMarker = "<image>\n"

    /// The answer of `q` as a sentence: "The heart is purple.", "The star is on the left side of the
    /// ring.", "There is no moon in the image.", "There are 3 hearts in the image."
    public static func statement(_ q: SynthQuestion) -> String {
        let name = q.targetObjects.first ?? ""
        switch q.type {
        case .attribute:
            return "The \(name) is \(q.answer)."
        case .spatial:
            return "The \(name) is on the \(q.answer) side of the \(q.targetObjects.count > 1 ? q.targetObjects[1] : "")."
        case .existence:
            return q.answer == yes ? "There is a \(name) in the image." : "There is no \(name) in the image."
        case .counting:
            let plural = ObjectShape(name: name)?.plural ?? name
            return q.answer == "1" ? "There is 1 \(name) in the image." : "There are \(q.answer) \(plural) in the image."
        }
    }

    /// "a red star, a blue ring and a green circle." (the objects in the order given).
    public static func listingAnswer(_ objects: [(color: String, shape: String)]) -> String {
        let items = objects.map { "a \($0.color) \($0.shape)" }
        guard items.count > 1 else { return (items.first ?? "nothing") + "." }
        return items.dropLast().joined(separator: ", ") + " and " + items.last! + "."
    }

    /// The type-2 target of a counting question.
    public static func allTarget(_ shape: ObjectShape) -> String { "all \(shape.plural)" }

    /// V*Bench's `text`: the question, one `(A) option` line per option, then the instruction.
    public static func multipleChoice(_ question: String, options: [String]) -> String {
        var lines = [question]
        for (i, option) in options.enumerated() { lines.append("(\(letters[i])) \(option)") }
        lines.append(instruction)
        return lines.joined(separator: "\n")
    }

    /// FOCUS step 1's user turn (text only).
    public static func extractionPrompt(_ question: String) -> String {
        "Question: \(question)\nIf you want to answer the question, which objects' information do you need?"
    }

    /// FOCUS step 1's answer line, which its parser splits on ", " and " and ".
    public static func extractionAnswer(_ targets: [String]) -> String {
        "So I need the information about the following objects: \(joinTargets(targets))."
    }

    /// "star", "star and ring", "star, ring and moon".
    public static func joinTargets(_ targets: [String]) -> String {
        guard targets.count > 1 else { return targets.first ?? "" }
        return targets.dropLast().joined(separator: ", ") + " and " + targets.last!
    }
}

// MARK: - Building questions from facts

extension SynthQuestion {
    /// "What is the color of the {shape}?" with the true colour and three others from `colors`: the
    /// `decoys` first (up to three, in their order), the rest drawn at random.
    public static func attribute(
        shape: ObjectShape, color: ObjectColor, box: SceneBox, colors: [ObjectColor],
        decoys: [ObjectColor] = [], rng: inout SynthRandom
    ) -> SynthQuestion {
        var others: [ObjectColor] = []
        for d in decoys where d != color && !others.contains(d) && others.count < 3 { others.append(d) }
        if others.count < 3 {
            others += rng.sample(colors.filter { $0 != color && !others.contains($0) }, count: 3 - others.count)
        }
        return SynthQuestion(
            type: .attribute, question: QuestionText.attribute(shape), options: [color.name] + others.map(\.name),
            targetObjects: [shape.name], boxes: [box], targets: [shape.name])
    }

    /// "Is the {subject} on the left or right side of the {reference}?"
    public static func spatial(subject: SceneObject, reference: SceneObject) -> SynthQuestion {
        let isLeft = subject.box.centerX < reference.box.centerX
        return SynthQuestion(
            type: .spatial, question: QuestionText.spatial(subject.shape, reference.shape),
            options: isLeft ? [QuestionText.left, QuestionText.right] : [QuestionText.right, QuestionText.left],
            targetObjects: [subject.shape.name, reference.shape.name], boxes: [subject.box, reference.box],
            targets: [subject.shape.name, reference.shape.name])
    }

    /// "Is there a {shape} in the image?"; `boxes` empty when absent.
    public static func existence(shape: ObjectShape, boxes: [SceneBox]) -> SynthQuestion {
        SynthQuestion(
            type: .existence, question: QuestionText.existence(shape),
            options: boxes.isEmpty ? [QuestionText.no, QuestionText.yes] : [QuestionText.yes, QuestionText.no],
            targetObjects: [shape.name], boxes: boxes,
            targets: [shape.name])
    }

    /// "How many {plural} are there?" with options 1 to 4 (the true count first).
    public static func counting(shape: ObjectShape, boxes: [SceneBox]) -> SynthQuestion {
        precondition((1...4).contains(boxes.count), "counting questions have 1 to 4 instances")
        let options = [boxes.count] + (1...4).filter { $0 != boxes.count }
        return SynthQuestion(
            type: .counting, question: QuestionText.counting(shape), options: options.map(String.init),
            targetObjects: [shape.name], boxes: boxes, targets: [QuestionText.allTarget(shape)])
    }

    /// Options in random order, and the letter of the correct one.
    public func shuffledOptions(_ rng: inout SynthRandom) -> (options: [String], label: String) {
        let order = rng.shuffled(Array(options.indices))
        let shown = order.map { options[$0] }
        return (shown, QuestionText.letters[order.firstIndex(of: 0)!])
    }
}
