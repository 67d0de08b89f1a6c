import ArgumentParser
import FocusCommandLine

@main
struct Focus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "focus",
        abstract: "Fine-grained visual question answering on high-resolution images with LLaVA models, on the CPU.",
        discussion: """
            Model commands print JSON on stdout (tokenize, logits, generate) or the answer as text (ask); \
            errors go to stderr with a non-zero exit status.
            """,
        subcommands: [Ask.self, Eval.self, Generate.self, Inspect.self, Logits.self, ReportCmd.self, Synth.self, SynthTrain.self, Tokenize.self]
    )
}
