import ArgumentParser
import FocusCommandLine
import Benchmarks
import Foundation

/// Keeps glibc from returning each freed multi-megabyte image to the kernel: the generators allocate
/// and free scene-sized buffers thousands of times, and without this a fifth of the time goes to
/// page faults. No effect on the output. (`mallopt` is looked up at run time: Swift's Glibc module
/// does not import malloc.h.)
func keepImageBuffersMapped() {
    #if os(Linux)
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
    _ = mallopt(-3, 32 << 20)   // M_MMAP_THRESHOLD: the largest value glibc accepts
    _ = mallopt(-1, 512 << 20)  // M_TRIM_THRESHOLD
    _ = mallopt(-2, 64 << 20)   // M_TOP_PAD
    #endif
}

/// `focus synth`: a synthetic fine-grained VQA benchmark in V*Bench's layout.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic fine-grained VQA benchmark (V*Bench layout) with known answers and boxes.",
        discussion: """
            Writes OUT/<category>/synth_NNNNNN.jpg (+ .png with --png) and .json per question, \
            OUT/test_questions.jsonl and OUT/manifest.json; prints a JSON summary. The same arguments \
            give byte-identical files. Object sizes: small <= 2% of the short side, large >= 15%.
            """)

    @Option(name: .long, help: "Output directory (created if missing).")
    var out: String

    @Option(name: .long, help: "Number of questions.")
    var count = 100

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Image size WIDTHxHEIGHT.")
    var size = "2048x1536"

    @Option(name: .long, help: "Distractor objects per scene (fewer when they do not fit).")
    var distractors = 40

    @Option(name: .long, help: "Target size: small, medium, large, or MIN-MAX pixels (longest side).")
    var objectSize = "small"

    @Option(name: .long, help: "Question types, comma-separated: attribute, spatial, existence, counting.")
    var types = "attribute,spatial,existence,counting"

    @Option(name: .long, help: "Shapes to use, comma-separated (default: all).")
    var shapes: String?

    @Option(name: .long, help: "Colours to use, comma-separated (default: all).")
    var colors: String?

    @Flag(name: .long, help: "Also write a lossless PNG beside each JPEG.")
    var png = false

    @Option(name: .long, help: "Worker threads (default: all cores); the output does not depend on it.")
    var workers: Int?

    func config() throws -> SynthBenchmarkConfig {
        do {
            var c = SynthBenchmarkConfig()
            (c.width, c.height) = try SynthArguments.parseSize(size)
            c.objectSize = try ObjectSizeRange.parse(objectSize, width: c.width, height: c.height)
            c.objectSizeArgument = objectSize
            c.count = count
            c.seed = seed
            c.distractors = distractors
            c.types = try SynthArguments.parseTypes(types)
            if let shapes { c.shapes = try SynthArguments.parseShapes(shapes) }
            if let colors { c.colors = try SynthArguments.parseColors(colors) }
            c.png = png
            try c.validate()
            return c
        } catch let error as SynthError {
            throw ValidationError(error.message)
        }
    }

    func validate() throws {
        _ = try config()
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1, got \(workers)") }
    }

    func run() throws {
        let benchmark = try SynthBenchmark(config: config())
        keepImageBuffersMapped()
        let summary = try benchmark.write(
            to: URL(fileURLWithPath: out), workers: workers ?? ProcessInfo.processInfo.activeProcessorCount)
        let counts = benchmark.config.types.map { ($0.category, JSONValue.int(summary.counts[$0.category] ?? 0)) }
        print(JSONValue.object([
            ("out", .string(out)), ("questions", .int(summary.questions)), ("counts", .object(counts)),
        ]).compact)
    }
}

/// `focus synth-train`: training views and questions for the toy model.
struct SynthTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth-train",
        abstract: "Write training data for the toy model: views of synthetic scenes with questions, plus target extraction.",
        discussion: """
            Writes OUT/images.u8 (uint8 [images, S, S, 3]: each view padded to a square with CLIP's mean \
            colour and bicubic-resized to S), OUT/labels.u8 (per-cell shape and colour labels), \
            OUT/samples.jsonl ({id, image_index, kind, prompt, answer, view, turns?}) and OUT/manifest.json. \
            The trainer wraps each prompt as "USER: {prompt} ASSISTANT: {answer}</s>", followed by one such \
            turn per follow-up in `turns` (--turns > 1). Deterministic for any --workers.
            """)

    @Option(name: .long, help: "Output directory (created if missing).")
    var out: String

    @Option(name: .long, help: "Number of samples.")
    var count = 100_000

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Vision input size S (pixels, square).")
    var inputSize = 96

    @Option(name: .long, help: "Scene size WIDTHxHEIGHT.")
    var size = "2048x1536"

    @Option(name: .long, help: "Samples (views) per rendered scene.")
    var viewsPerScene = 8

    @Option(name: .long, help: "At most this many distractors per scene (uniform from 0).")
    var distractors = 40

    @Option(name: .long, help: "Sample mix as KIND=WEIGHT pairs (verification, existence, attribute, spatial, counting, extraction, listing, lookup, spatial-word, answerable, latent, color-word); unlisted kinds keep 0.22/0.10/0.18/0.10/0.07/0.10/0.13/0.10/0/0/0/0.")
    var mix: String?

    @Option(name: .long, help: "Questions per view: the first, then follow-up turns about the same image (1-8).")
    var turns = 1

    @Option(name: .long, help: "An object is visible when its longest side is at least this many pixels after resizing.")
    var minApparentSize = 8.0

    @Option(name: .long, help: "labels.u8 names objects from this apparent size (pixels after resizing) on; default: --min-apparent-size.")
    var minLabelSize: Double?

    @Option(name: .long, help: "Side (input pixels) of the cells of labels.u8, the per-patch labels for the vision tower's auxiliary loss; must divide --input-size.")
    var labelCell = 8

    @Option(name: .long, help: "…and at least this share of its box is inside the view.")
    var minVisibleFraction = 0.7

    @Option(name: .long, help: "Share of verification questions naming the shape in the plural (FOCUS's type-2 targets).")
    var pluralVerification = 0.1

    @Option(name: .long, help: "Chance that a sample's first candidate view is the whole scene (0-1).")
    var fullViewProbability = 0.15

    @Option(name: .long, help: "Chance that a crop's side is near the input size (1x-1.5x, as FOCUS's verified regions and oracle crops of small objects) instead of log-uniform (0-1).")
    var nativeViewShare = 0.0

    @Option(name: .long, help: "Chance that an attribute sample's wrong options are the colours of other objects in the view, largest first (0-1).")
    var decoyColorShare = 0.0

    @Option(name: .long, help: "Chance that a verification or existence sample answered No asks about the absent shape most like one in the view (0-1).")
    var hardNegativeShare = 0.0

    @Option(name: .long, help: "Share of verification samples answered Yes (above 0, below 1; default 0.5). Below 0.5 the model says No more readily, as FOCUS's many checks of empty regions want.")
    var verificationYesShare = 0.5

    @Option(name: .long, help: "A scene's object scale, MIN-MAX fractions of the short side, log-uniform (default 0.008-0.22).")
    var objectScale: String?

    @Option(name: .long, help: "Cut the views from a JPEG round trip of the scene at this quality (1-100, 4:2:0, as focus synth writes benchmarks); default: lossless renders.")
    var jpegQuality: Int?

    @Option(name: .long, help: "With --jpeg-quality: the share of scenes that take the round trip (0-1).")
    var jpegShare = 1.0

    @Option(name: .long, help: "Worker threads (default: all cores); the output does not depend on it.")
    var workers: Int?

    func config() throws -> TrainingConfig {
        do {
            var c = TrainingConfig()
            (c.width, c.height) = try SynthArguments.parseSize(size)
            c.count = count
            c.seed = seed
            c.inputSize = inputSize
            c.viewsPerScene = viewsPerScene
            c.maxDistractors = distractors
            if let mix { c.mix = try TrainingMix.parse(mix) }
            c.minApparentSize = minApparentSize
            c.minLabelSize = minLabelSize
            c.minVisibleFraction = minVisibleFraction
            c.pluralVerification = pluralVerification
            c.fullViewProbability = fullViewProbability
            c.nativeViewShare = nativeViewShare
            c.decoyColorShare = decoyColorShare
            c.hardNegativeShare = hardNegativeShare
            c.verificationYesShare = verificationYesShare
            if let objectScale {
                let parts = objectScale.split(separator: "-").map { Double($0) }
                guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo <= hi else {
                    throw SynthError(.badArgument, "--object-scale must be MIN-MAX (fractions of the short side, MIN <= MAX), got '\(objectScale)'")
                }
                c.objectScale = lo...hi
            }
            c.labelCell = labelCell
            c.turns = turns
            c.jpegQuality = jpegQuality
            c.jpegShare = jpegShare
            try c.validate()
            return c
        } catch let error as SynthError {
            throw ValidationError(error.message)
        }
    }

    func validate() throws {
        _ = try config()
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1, got \(workers)") }
    }

    func run() throws {
        let set = try TrainingSet(config: config())
        keepImageBuffersMapped()
        let progressLine = ProgressLine()
        let step = max(1, set.config.count / 100)
        let summary = try set.write(
            to: URL(fileURLWithPath: out), workers: workers ?? ProcessInfo.processInfo.activeProcessorCount,
            progress: { done, total in
                guard done % step < set.config.viewsPerScene || done == total else { return }
                progressLine.update("synth-train: \(done)/\(total) samples")
            })
        progressLine.finish()
        let kinds = SampleKind.allCases.map { ($0.rawValue, JSONValue.int(summary.kinds[$0] ?? 0)) }
        print(JSONValue.object([
            ("out", .string(out)), ("samples", .int(summary.samples)), ("images", .int(summary.images)),
            ("kinds", .object(kinds)), ("fallbacks", .int(summary.fallbacks)),
        ]).compact)
    }
}
