// TrainingSet's output: images.u8, samples.jsonl and manifest.json (the recipe the training script
// reads), written by parallel workers; the same bytes for any number of them.
import Foundation
import Models

extension TrainingSet {
    // MARK: - Writing

    public struct Summary: Sendable {
        public var samples: Int
        public var images: Int
        public var kinds: [SampleKind: Int]
        public var answers: [String: Int]
        public var fallbacks: Int
    }

    /// Writes images.u8, samples.jsonl and manifest.json into `directory` with `workers` threads.
    @discardableResult
    public func write(to directory: URL, workers: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> Summary {
        try Output.makeDirectory(directory)
        let imageBytes = config.inputSize * config.inputSize * 3
        let imagesURL = directory.appendingPathComponent("images.u8")
        let fd = try Self.openSized(imagesURL, bytes: imageCount * imageBytes)
        defer { close(fd) }
        let grid = config.inputSize / config.labelCell
        let labelBytes = grid * grid * 2
        let labelsURL = directory.appendingPathComponent("labels.u8")
        let labelsFD = try Self.openSized(labelsURL, bytes: imageCount * labelBytes)
        defer { close(labelsFD) }

        let lines = Slots<String>(count: config.count)
        let outcomes = Slots<(SampleKind, String, Bool)>(count: config.count)
        let set = self
        let views = config.viewsPerScene
        let counter = ProgressCounter()
        try parallelFor(sceneCount, workers: workers) { k in
            let first = k * views, last = min(first + views, set.config.count)
            let scene = set.scene(k)
            var rendered: RGBImage?
            for i in first..<last {
                let s = set.sample(i, scene: scene)
                if let view = s.view, let slot = s.imageIndex {
                    if rendered == nil { rendered = try set.viewSource(k, scene: scene) }
                    let pixels = set.pixels(of: view, in: rendered!)
                    let written = pixels.pixels.withUnsafeBytes { raw in
                        pwrite(fd, raw.baseAddress, imageBytes, off_t(slot * imageBytes))
                    }
                    guard written == imageBytes else {
                        throw SynthError(.output, "cannot write \(imagesURL.path) (\(String(cString: strerror(errno))))")
                    }
                    let labels = set.cellLabels(scene, view: view)
                    let wroteLabels = labels.withUnsafeBytes { raw in
                        pwrite(labelsFD, raw.baseAddress, labelBytes, off_t(slot * labelBytes))
                    }
                    guard wroteLabels == labelBytes else {
                        throw SynthError(.output, "cannot write \(labelsURL.path) (\(String(cString: strerror(errno))))")
                    }
                }
                lines[i] = s.record.compact
                outcomes[i] = (s.kind, s.answer, s.fellBack)
            }
            if let progress { progress(counter.add(last - first), set.config.count) }
        }

        var kinds: [SampleKind: Int] = [:], answers: [String: Int] = [:], fallbacks = 0
        for (kind, answer, fellBack) in outcomes.all {
            kinds[kind, default: 0] += 1
            if kind == .verification || kind == .existence { answers["\(kind.rawValue)/\(answer)", default: 0] += 1 }
            if fellBack { fallbacks += 1 }
        }
        try Output.write(lines.all.joined(separator: "\n") + "\n", to: directory.appendingPathComponent("samples.jsonl"))
        let summary = Summary(samples: config.count, images: imageCount, kinds: kinds, answers: answers, fallbacks: fallbacks)
        try Output.write(manifest(summary).pretty + "\n", to: directory.appendingPathComponent("manifest.json"))
        return summary
    }

    /// A file created (or truncated) at `url` and sized to `bytes`, for slot writes with `pwrite`.
    static func openSized(_ url: URL, bytes: Int) throws -> Int32 {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw SynthError(.output, "cannot write \(url.path) (\(String(cString: strerror(errno))))")
        }
        guard ftruncate(fd, off_t(bytes)) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SynthError(.output, "cannot size \(url.path) to \(bytes) bytes (\(reason))")
        }
        return fd
    }

    public func manifest(_ summary: Summary) -> JSONValue {
        let c = config
        let pad = TrainingConfig.padColor
        return .object([
            ("generator", .string("focus synth-train")),
            ("version", .int(TrainingConfig.generatorVersion)),
            ("count", .int(c.count)),
            ("images", .int(summary.images)),
            ("input_size", .int(c.inputSize)),
            ("images_layout", .string("images.u8: uint8 [images, input_size, input_size, 3], RGB, row-major")),
            ("label_cell", .int(c.labelCell)),
            ("labels_layout", .string("labels.u8: uint8 [images, input_size / label_cell, input_size / label_cell, 2], (shape index + 1, colour index + 1) per cell; 0 background, 255 ignore")),
            ("shapes", .array(ObjectShape.allCases.map { .string($0.name) })),
            ("colors", .array(ObjectColor.allCases.map { .string($0.rawValue) })),
            ("seed", .int(Int(truncatingIfNeeded: c.seed))),
            ("size", .string("\(c.width)x\(c.height)")),
            ("views_per_scene", .int(c.viewsPerScene)),
            ("scenes", .int(sceneCount)),
            ("max_distractors", .int(c.maxDistractors)),
            ("mix", .object(SampleKind.allCases.map { ($0.rawValue, .double(c.mix.weight($0))) })),
            ("kinds", .object(SampleKind.allCases.map { ($0.rawValue, .int(summary.kinds[$0] ?? 0)) })),
            ("answers", .object(summary.answers.keys.sorted().map { ($0, .int(summary.answers[$0]!)) })),
            ("fallbacks", .int(summary.fallbacks)),
            ("min_visible_fraction", .double(c.minVisibleFraction)),
            ("min_apparent_size", .double(c.minApparentSize)),
            ("min_label_size", .double(c.minLabelSize ?? c.minApparentSize)),
            ("plural_verification", .double(c.pluralVerification)),
            ("full_view_probability", .double(c.fullViewProbability)),
            ("native_view_share", .double(c.nativeViewShare)),
            ("decoy_color_share", .double(c.decoyColorShare)),
            ("hard_negative_share", .double(c.hardNegativeShare)),
            ("verification_yes_share", .double(c.verificationYesShare)),
            ("object_scale", .array([.double(c.objectScale.lowerBound), .double(c.objectScale.upperBound)])),
            ("jpeg_quality", c.jpegQuality.map { .int($0) } ?? .null),
            ("jpeg_share", .double(c.jpegQuality == nil ? 0 : c.jpegShare)),
            ("preprocessing", .object([
                ("pad_to_square", .array([.int(Int(pad.r)), .int(Int(pad.g)), .int(Int(pad.b))])),
                ("resample", .string("bicubic")),
            ])),
            ("turns", .int(c.turns)),
            ("chat_format", .string("USER: {prompt} ASSISTANT: {answer}</s>, then USER: {turns[i].prompt} ASSISTANT: {turns[i].answer}</s> for each follow-up turn")),
            ("plurals", .object(ObjectShape.allCases.map { ($0.name, .string($0.plural)) })),
        ])
    }
}

/// Samples finished so far, for progress lines.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func add(_ n: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        value += n
        return value
    }
}
