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

    /// A user turn holding the image (when `image` is true) and `question`, ending where the assistant's answer begins.
    public func prompt(question: String, image: Bool = true) -> String {
        let content = image ? "\(imageMarker)\n\(question)" : question
        switch style {
        case .llava15: return "USER: \(content) ASSISTANT:"
        case .chatml: return "<|im_start|>user\n\(content)<|im_end|>\n<|im_start|>assistant\n"
        }
    }
}
