/// The conversation format a checkpoint was trained with, for single-turn questions about an image.
///
/// focus does not run Jinja chat templates; it recognises the two formats its models use.
/// LLaVA-1.5 (Vicuna) checkpoints use `USER: <image>\n{question} ASSISTANT:`; checkpoints whose
/// tokenizer has ChatML markers (`<|im_start|>`, Qwen2-style) use ChatML.
public struct ChatTemplate: Sendable, Equatable {
    public enum Style: String, Sendable { case llava15, chatml }

    public let style: Style
    /// The literal image marker of the checkpoint (`<image>`).
    public let imageMarker: String

    public init(style: Style, imageMarker: String = "<image>") {
        self.style = style
        self.imageMarker = imageMarker
    }

    /// Picks the style from the model's tokenizer.
    public init(model: LlavaModel) {
        let marker = model.tokenizer.token(forID: model.config.imageTokenID) ?? "<image>"
        self.init(style: model.tokenizer.id(forToken: "<|im_start|>") != nil ? .chatml : .llava15, imageMarker: marker)
    }

    /// A user turn holding the image (when `image` is true) and `question`, ending where the assistant's
    /// answer begins; `history` holds earlier (user, assistant) turns, e.g. few-shot examples.
    public func prompt(question: String, image: Bool = true, history: [(user: String, assistant: String)] = []) -> String {
        let content = image ? "\(imageMarker)\n\(question)" : question
        var text = ""
        for turn in history {
            text += user(turn.user) + answerPrefix + turn.assistant + endOfTurn
        }
        return text + user(content)
    }

    /// What separates the assistant marker from the answer's first word.
    public var answerPrefix: String { style == .llava15 ? " " : "" }

    private func user(_ content: String) -> String {
        switch style {
        case .llava15: return "USER: \(content) ASSISTANT:"
        case .chatml: return "<|im_start|>user\n\(content)<|im_end|>\n<|im_start|>assistant\n"
        }
    }

    /// Closes an assistant turn (Vicuna's `</s>`, ChatML's `<|im_end|>`).
    private var endOfTurn: String {
        switch style {
        case .llava15: return "</s>"
        case .chatml: return "<|im_end|>\n"
        }
    }
}
