// `focus-bench forward --model DIR`: one model's forward-pass figures, as one JSON line, for
// scripts/bench/forward (which runs each model in its own process, so that peak RSS is the model's,
// and runs transformers on the same token ids and pixel values written to --dump).
import Foundation
import Methods
import Models
import Tensors

struct ForwardBench {
    var model: URL
    var repeats: Int
    var threads: Int
    var decodeTokens = 16
    var dump: URL?

    /// The prompt every backend runs: V*Bench's multiple-choice form, as FOCUS answers.
    static let question = "What is the color of the star?\n(A) red\n(B) blue\n(C) green\n(D) yellow\n"
        + "Answer with the option's letter from the given choices directly."

    /// A deterministic 1024×768 picture (the content does not change the work).
    static func picture() -> RGBImage {
        let w = 1024, h = 768
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 3
                pixels[i] = UInt8((x * 255) / w); pixels[i + 1] = UInt8((y * 255) / h); pixels[i + 2] = UInt8(((x ^ y) & 0xFF))
            }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }


    /// The best of five `n`³ products after a warm-up: the machine's `cblas_sgemm` rate with these threads.
    static func sgemmPeak(n: Int = 2048) -> Double {
        let a = Tensor(zeros: [n, n]), b = Tensor(zeros: [n, n]), c = Tensor(zeros: [n, n])
        for i in 0..<(n * n) { a.pointer[i] = Float(i % 7) * 0.01; b.pointer[i] = Float(i % 5) * 0.01 }
        let clock = ContinuousClock()
        matmul(a.pointer, lda: n, b.pointer, ldb: n, c.pointer, ldc: n, m: n, n: n, k: n)   // threads up, caches warm
        var best = Double.infinity
        for _ in 0..<5 {
            best = min(best, clock.measure { matmul(a.pointer, lda: n, b.pointer, ldb: n, c.pointer, ldc: n, m: n, n: n, k: n) }.seconds)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }

    /// Peak resident set of this process (bytes).
    static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// The Float32 size of every tensor of the checkpoint.
    static func float32WeightBytes(_ directory: URL) throws -> Int {
        let weights = try CheckpointWeights(directory: directory)
        return weights.files.reduce(0) { sum, file in
            sum + file.entries.values.reduce(0) { $0 + $1.shape.reduce(1, *) * 4 }
        }
    }

    func run() throws -> [String: Any] {
        setBLASThreads(threads)
        let clock = ContinuousClock()
        var loaded: LlavaModel?
        let load = try clock.measure { loaded = try LlavaModel(directory: model) }.seconds
        let llava = loaded!
        let rssAfterLoad = Self.peakRSS()
        let picture = Self.picture()
        let template = ChatTemplate(model: llava)
        let input = try llava.input(prompt: template.prompt(question: Self.question), images: [picture],
                                    preprocessing: .padToSquare)
        let capacity = input.tokens.count + decodeTokens
        if let dump {
            try FileManager.default.createDirectory(at: dump, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: ["input_ids": input.tokens, "decode_tokens": decodeTokens,
                                                        "image_size": llava.config.vision.imageSize])
                .write(to: dump.appendingPathComponent("input.json"))
            try input.images[0].pixelValues.withUnsafeBufferPointer { Data(buffer: $0) }
                .write(to: dump.appendingPathComponent("pixel_values.f32"))
        }

        // Prefill and greedy decode (EOS ignored, so every backend decodes the same count).
        _ = try llava.prefill(input, cache: llava.makeCache(capacity: capacity))   // warm-up
        var vision: [Double] = [], prefill: [Double] = [], decode: [Double] = []
        var products = MatrixProductProfile.Totals()
        for r in 0..<repeats {
            vision.append(clock.measure { _ = llava.imageFeatures(input.images[0]) }.seconds)
            let cache = llava.makeCache(capacity: capacity)
            var logits: [Float] = []
            if r == 0 { MatrixProductProfile.start() }
            prefill.append(try clock.measure { logits = try llava.prefill(input, cache: cache) }.seconds)
            if r == 0 { products = MatrixProductProfile.stop() }
            decode.append(try clock.measure {
                for _ in 0..<decodeTokens {
                    logits = try llava.prefill(LlavaInput(tokens: [argmax(logits)], images: []), cache: cache)
                }
            }.seconds)
        }

        // FOCUS's two search passes through the executor (no prefix cache, so each is a full pass).
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("focus-bench-\(getpid()).png")
        try ImageEncoder.png(picture).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let executor = LocalExecutor(model: llava, prefixCacheBytes: 0)
        let verify = executor.chatTemplate.prompt(question: Focus.verificationQuestion("star"))
        let full = ImageView(image: file), crop = ImageView(image: file, crop: PixelBox(x: 300, y: 200, width: 400, height: 300))
        var relevance: [Double] = [], verification: [Double] = []
        let relevanceTask = ModelTask(prompt: verify, views: [full], operation: .relevance(phrase: "star", options: RelevanceOptions()),
                                      bucket: .search)
        // A tokenizer that merges the phrase with its neighbours cannot place the target (byte-level
        // BPE fixtures): the relevance pass is then not measured, the rest is.
        var relevanceError: String?
        do { _ = try executor.run(relevanceTask) } catch { relevanceError = "\(error)" }
        for _ in 0..<repeats {
            if relevanceError == nil { relevance.append(try executor.run(relevanceTask).cost.seconds) }
            verification.append(try executor.run(ModelTask(prompt: verify, views: [crop], operation: .candidates(["Yes", "No"]),
                                                           bucket: .search)).cost.seconds)
        }

        // Last, so that its three 2048² matrices do not count in the model's peak RSS.
        let peakRSS = Self.peakRSS()
        let peak = Self.sgemmPeak()
        let c = llava.config
        let flops = c.estimate(newTokens: input.tokens.count, images: 1).total
        let kvBytes = c.text.numHiddenLayers * 2 * c.text.numKeyValueHeads * c.text.headDim * capacity * 4
        let weightBytes = try Self.float32WeightBytes(model)
        let p = median(prefill)
        return [
            "model": model.lastPathComponent, "threads": threads, "prompt_tokens": input.tokens.count,
            "load_s": load, "vision_ms": median(vision) * 1000, "prefill_ms": p * 1000,
            "prefill_gflop": flops / 1e9, "prefill_gflops_per_s": flops / p / 1e9,
            "products_gflops_per_s": products.gflopsPerSecond, "products_share_of_prefill": products.seconds / prefill[0],
            "sgemm_peak_gflops_per_s": peak,
            "decode_tokens": decodeTokens, "decode_tokens_per_s": Double(decodeTokens) / median(decode),
            "relevance_ms": relevance.isEmpty ? NSNull() : median(relevance) * 1000 as Any,
            "relevance_error": relevanceError ?? NSNull(), "verification_ms": median(verification) * 1000,
            "rss_after_load_bytes": rssAfterLoad, "peak_rss_bytes": peakRSS,
            "float32_weight_bytes": weightBytes, "kv_cache_bytes": kvBytes,
        ]
    }
}
