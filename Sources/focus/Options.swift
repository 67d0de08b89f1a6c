import ArgumentParser
import Foundation
import Models
import Tensors

/// Where the checkpoint is; shared by every command that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Checkpoint directory in Hugging Face layout (config.json, *.safetensors, tokenizer.json).")
    var model: String

    @Option(name: .long, help: "OpenBLAS threads (default: all cores).")
    var threads: Int?

    var directory: URL { URL(fileURLWithPath: model) }

    func load() throws -> LlavaModel {
        if let threads { setBLASThreads(threads) }
        return try LlavaModel(directory: directory)
    }
}

/// The image and how it is prepared for the vision tower.
struct ImageOptions: ParsableArguments {
    @Option(name: .long, help: "Image file (JPEG or PNG).")
    var image: String

    @Flag(name: .long, help: "Pad the image to a square with the processor's mean colour first (original LLaVA-1.5 preprocessing) instead of resizing and center-cropping.")
    var padToSquare = false

    var preprocessing: ImagePreprocessing { padToSquare ? .padToSquare : .processor }

    func load() throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: URL(fileURLWithPath: image))
    }
}

/// Writes one JSON object on stdout, keys sorted, no escaped slashes.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}
