import Foundation
import Models
import Tensors

/// How FOCUS step 2 reads the cache. Every field is a switch the paper's ablations turn.
public struct RelevanceOptions: Sendable, Codable, Equatable, Hashable {
    /// Which cached vectors are compared.
    public enum Source: String, Sendable, Codable, CaseIterable {
        /// Value vectors (FOCUS).
        case values
        /// Keys with RoPE undone (ablation: 69.10 vs 72.77 on V*Bench in the paper).
        case keys
    }

    /// How the per-layer rows are combined.
    public enum LayerAggregation: String, Sendable, Codable, CaseIterable {
        /// Sum over the selected layers (FOCUS).
        case sum
        /// Element-wise product over layers, renormalised after each ("rollout" ablation).
        case product
    }

    public var source: Source = .values
    public var aggregation: LayerAggregation = .sum
    /// Half-open decoder layer range; nil: the model's default (`defaultLayers`).
    public var layers: Range<Int>?

    public init(source: Source = .values, aggregation: LayerAggregation = .sum, layers: Range<Int>? = nil) {
        self.source = source
        self.aggregation = aggregation
        self.layers = layers
    }

    /// LLaVA-1.5 (32 layers): 14..<32, as the paper; otherwise round(0.44 × layers)..<layers, the same
    /// share of the depth (method document, step 2).
    public static func defaultLayers(count: Int) -> Range<Int> {
        if count == 32 { return 14..<32 }
        return min(count - 1, max(0, Int((0.44 * Double(count)).rounded())))..<count
    }

    public func layerRange(count: Int) -> Range<Int> { layers ?? Self.defaultLayers(count: count) }
}

/// A map over the visual grid, row-major: FOCUS's relevance (non-negative, summing to 1) or ViCrop's
/// attention.
public struct RelevanceMap: Sendable, Codable, Equatable {
    public var rows: Int
    public var columns: Int
    public var scores: [Float]

    public init(rows: Int, columns: Int, scores: [Float]) {
        precondition(scores.count == rows * columns, "a \(rows)x\(columns) map needs \(rows * columns) scores")
        self.rows = rows
        self.columns = columns
        self.scores = scores
    }

    public subscript(row: Int, column: Int) -> Float { scores[row * columns + column] }

    /// Scores scaled to [0, 1] (all zero when the map is flat), the form region proposal works on.
    public var minMaxNormalized: [Float] {
        guard let lo = scores.min(), let hi = scores.max(), hi > lo else { return [Float](repeating: 0, count: scores.count) }
        return scores.map { ($0 - lo) / (hi - lo) }
    }

    /// A map of equal scores (the fallback when every score clamps to zero).
    public static func uniform(rows: Int, columns: Int) -> RelevanceMap {
        RelevanceMap(rows: rows, columns: columns, scores: [Float](repeating: 1 / Float(rows * columns), count: rows * columns))
    }

    /// The visual grid of `count` image tokens: a square, or a square plus a leading class token
    /// (the `full` feature strategy), which the map leaves out.
    public static func grid(imageTokens count: Int) -> (side: Int, skip: Int)? {
        let side = Int(Double(count).squareRoot().rounded(.down))
        if side * side == count { return (side, 0) }
        if side * side + 1 == count { return (side, 1) }
        return nil
    }
}

/// FOCUS step 2 on a filled cache: for each target token, the similarity of its cached vector to
/// every position (sum over heads of cosines), the target row of (S + I)/2 normalised to sum 1 and
/// restricted to the visual positions, summed (or multiplied) over layers; then the product over
/// the phrase's tokens. Only the target rows are computed, never the N×N matrix.
public enum RelevanceComputer {
    /// The map of the phrase at `targetPositions` over the image tokens at `visualPositions`
    /// (row-major over the grid). `rope` is needed for `.keys` (the cache holds keys after RoPE).
    public static func map(
        cache: KVCache, targetPositions: [Int], visualPositions: [Int], options: RelevanceOptions,
        rope: RotaryEmbedding? = nil
    ) throws -> RelevanceMap {
        guard let (side, skip) = RelevanceMap.grid(imageTokens: visualPositions.count) else {
            throw MethodError("\(visualPositions.count) image tokens do not form a square grid; the relevance map needs one image of a global-view model")
        }
        guard !targetPositions.isEmpty else { throw MethodError("the target phrase has no tokens in the prompt") }
        guard targetPositions.allSatisfy({ $0 >= 0 && $0 < cache.count }) else {
            throw MethodError("a target token position is outside the cache (\(cache.count) tokens)")
        }
        let visual = Array(visualPositions.dropFirst(skip))
        let layers = options.layerRange(count: cache.layers)
        guard !layers.isEmpty, layers.lowerBound >= 0, layers.upperBound <= cache.layers else {
            throw MethodError("layer range \(layers.lowerBound)..<\(layers.upperBound) is not inside the model's \(cache.layers) layers")
        }
        if options.source == .keys && rope == nil {
            throw MethodError("relevance from keys needs the model's RoPE to undo it")
        }
        var product: [Float]?
        for t in targetPositions {
            var a = tokenScores(cache: cache, target: t, visual: visual, layers: layers, options: options, rope: rope)
            for i in a.indices where a[i] < 0 { a[i] = 0 }
            normalize(&a)
            if var p = product {
                for i in p.indices { p[i] *= a[i] }
                normalize(&p)
                product = p
            } else {
                product = a
            }
        }
        return RelevanceMap(rows: side, columns: side, scores: product!)
    }

    /// `a_t` before clamping: Σ_l (or Π_l) R_l[t, visual].
    static func tokenScores(
        cache: KVCache, target: Int, visual: [Int], layers: Range<Int>, options: RelevanceOptions, rope: RotaryEmbedding?
    ) -> [Float] {
        let n = cache.count, d = cache.headDim
        var total = [Float](repeating: options.aggregation == .sum ? 0 : 1, count: visual.count)
        let similarity = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: options.source == .keys ? n * d : 1)
        defer { similarity.deallocate(); scratch.deallocate() }
        for l in layers {
            similarity.initialize(repeating: 0, count: n)
            for h in 0..<cache.kvHeads {
                let vectors: UnsafePointer<Float>
                switch options.source {
                case .values:
                    vectors = cache.values(layer: l, head: h).baseAddress!
                case .keys:
                    scratch.update(from: cache.keys(layer: l, head: h).baseAddress!, count: n * d)
                    rope!.unapply(scratch, rows: n, rowStride: d, heads: 1, start: 0)
                    vectors = UnsafePointer(scratch)
                }
                addCosines(vectors, count: n, dim: d, target: target, into: similarity)
            }
            var rowSum: Float = 0
            for q in 0..<n { rowSum += similarity[q] }
            let denominator = rowSum + 1
            switch options.aggregation {
            case .sum:
                for (j, p) in visual.enumerated() { total[j] += similarity[p] / denominator }
            case .product:
                var row = visual.map { max(0, similarity[$0] / denominator) }
                normalize(&row)
                for j in total.indices { total[j] *= row[j] }
                normalize(&total)
            }
        }
        return total
    }

    /// similarity[q] += cos(v_target, v_q) for every q.
    static func addCosines(_ v: UnsafePointer<Float>, count n: Int, dim d: Int, target: Int, into similarity: UnsafeMutablePointer<Float>) {
        let t = v + target * d
        var tNorm: Float = 0
        for i in 0..<d { tNorm += t[i] * t[i] }
        tNorm = tNorm.squareRoot()
        guard tNorm > 0 else { return }
        for q in 0..<n {
            let row = v + q * d
            var dot: Float = 0, norm: Float = 0
            for i in 0..<d {
                dot += t[i] * row[i]
                norm += row[i] * row[i]
            }
            if norm > 0 { similarity[q] += dot / (tNorm * norm.squareRoot()) }
        }
    }

    /// Scales to sum 1; a vector of zeros becomes uniform.
    static func normalize(_ x: inout [Float]) {
        let s = x.reduce(0, +)
        if s > 0 {
            for i in x.indices { x[i] /= s }
        } else if !x.isEmpty {
            x = [Float](repeating: 1 / Float(x.count), count: x.count)
        }
    }
}

/// Where a phrase's tokens sit in a prompt as the model sees it (image markers expanded).
public enum PhraseTokens {
    /// Positions in `model.input(prompt:…)`'s tokens of the tokens of the last occurrence of `phrase`
    /// in `prompt`, leaving out a piece that is only the word-boundary marker (method document, step 2).
    /// Found as the tokens that encoding the prompt up to the phrase's end adds to encoding it up to
    /// the phrase's start; the first must be a prefix of the whole prompt's encoding.
    public static func positions(of phrase: String, in prompt: String, model: LlavaModel) throws -> [Int] {
        guard !phrase.isEmpty, let range = prompt.range(of: phrase, options: .backwards) else {
            throw MethodError("the target phrase '\(phrase)' does not occur in the prompt")
        }
        let tokenizer = model.tokenizer
        let full = tokenizer.encode(prompt, addSpecialTokens: true)
        let before = tokenizer.encode(String(prompt[..<range.lowerBound]), addSpecialTokens: true)
        let through = tokenizer.encode(String(prompt[..<range.upperBound]), addSpecialTokens: true)
        guard through.count <= full.count, Array(full.prefix(through.count)) == through else {
            throw MethodError("the tokens of '\(phrase)' merge with the text after it; cannot place the target")
        }
        var common = 0
        while common < before.count, common < through.count, before[common] == through[common] { common += 1 }
        let imageID = model.config.imageTokenID, extra = model.config.imageTokenCount - 1
        var positions: [Int] = []
        for i in common..<through.count {
            let piece = tokenizer.token(forID: through[i]) ?? ""
            if piece == "\u{2581}" || piece == "\u{0120}" { continue }   // "▁" (SentencePiece) or "Ġ" (byte-level) alone
            let shift = full[..<i].filter { $0 == imageID }.count * extra
            positions.append(i + shift)
        }
        guard !positions.isEmpty else { throw MethodError("the target phrase '\(phrase)' has no tokens of its own in the prompt") }
        return positions
    }
}
