import Tensors

/// The LLaMA-family decoder (LLaMA, Mistral, Qwen2): RMSNorm, RoPE, grouped-query attention with a
/// KV cache, SwiGLU MLP. Runs any number of new tokens against what the cache already holds.
final class LlamaDecoder: @unchecked Sendable {
    let config: TextConfig
    let embedTokens: Tensor        // [vocab, hidden]
    let layers: [Layer]
    let finalNorm: Tensor          // [hidden]
    let lmHead: Linear             // [vocab, hidden]
    let rope: RotaryEmbedding

    struct Layer {
        let inputNorm: Tensor, postAttentionNorm: Tensor
        let q: Linear, k: Linear, v: Linear, o: Linear
        let gate: Linear, up: Linear, down: Linear
    }

    init(config c: TextConfig, weights: CheckpointWeights, prefix p: String, lmHeadNames: [String]) throws {
        config = c
        let h = c.hiddenSize, qDim = c.numAttentionHeads * c.headDim, kvDim = c.numKeyValueHeads * c.headDim
        embedTokens = try weights.tensor(p + "embed_tokens.weight", shape: [c.vocabSize, h])
        func linear(_ name: String, _ out: Int, _ inp: Int, bias: Bool) throws -> Linear {
            Linear(weight: try weights.tensor(name + ".weight", shape: [out, inp]),
                   bias: bias ? try weights.tensor(name + ".bias", shape: [out]) : nil)
        }
        layers = try (0..<c.numHiddenLayers).map { i in
            let b = p + "layers.\(i)."
            return Layer(
                inputNorm: try weights.tensor(b + "input_layernorm.weight", shape: [h]),
                postAttentionNorm: try weights.tensor(b + "post_attention_layernorm.weight", shape: [h]),
                q: try linear(b + "self_attn.q_proj", qDim, h, bias: c.qkvBias),
                k: try linear(b + "self_attn.k_proj", kvDim, h, bias: c.qkvBias),
                v: try linear(b + "self_attn.v_proj", kvDim, h, bias: c.qkvBias),
                o: try linear(b + "self_attn.o_proj", h, qDim, bias: c.outputBias),
                gate: try linear(b + "mlp.gate_proj", c.intermediateSize, h, bias: c.mlpBias),
                up: try linear(b + "mlp.up_proj", c.intermediateSize, h, bias: c.mlpBias),
                down: try linear(b + "mlp.down_proj", h, c.intermediateSize, bias: c.mlpBias))
        }
        finalNorm = try weights.tensor(p + "norm.weight", shape: [h])
        if let name = lmHeadNames.first(where: weights.contains) {
            lmHead = Linear(weight: try weights.tensor(name, shape: [c.vocabSize, h]), bias: nil)
        } else if c.tieWordEmbeddings {
            lmHead = Linear(weight: embedTokens, bias: nil)
        } else {
            throw CheckpointError(message: "\(weights.directory.path): no language-model head (looked for \(lmHeadNames.map { "'\($0)'" }.joined(separator: ", "))) and tie_word_embeddings is false")
        }
        rope = RotaryEmbedding(headDim: c.headDim, theta: c.ropeTheta, scaling: c.ropeScaling)
    }

    /// Copies the embedding rows of `tokens` into `output` `[tokens, hidden]`.
    func embed(_ tokens: [Int], into output: UnsafeMutablePointer<Float>) {
        let h = config.hiddenSize
        for (i, t) in tokens.enumerated() {
            (output + i * h).update(from: embedTokens.pointer + t * h, count: h)
        }
    }

    /// Runs `x` (`[rows, hidden]`, the new tokens' input embeddings) through every layer, appending
    /// keys and values at the cache's current end, and returns the final-normed last hidden state.
    /// The caller commits the tokens to the cache afterwards.
    func forward(_ x: Tensor, cache: KVCache, recordAttention: Set<Int>) -> Tensor {
        let c = config, n = x.shape[0], h = c.hiddenSize, hd = c.headDim
        let heads = c.numAttentionHeads, kvHeads = c.numKeyValueHeads, group = heads / kvHeads
        let qDim = heads * hd, kvDim = kvHeads * hd
        let start = cache.count, total = start + n
        cache.reserve(total)

        let normed = Tensor(zeros: [n, h])
        let q = Tensor(zeros: [n, qDim]), k = Tensor(zeros: [n, kvDim]), v = Tensor(zeros: [n, kvDim])
        let attended = Tensor(zeros: [n, qDim])
        let scores = Tensor(zeros: [n, total])
        let gate = Tensor(zeros: [n, c.intermediateSize]), up = Tensor(zeros: [n, c.intermediateSize])
        let scale = 1 / Float(hd).squareRoot()
        cache.attention = [:]

        for (l, layer) in layers.enumerated() {
            rmsNorm(x.pointer, rows: n, dim: h, weight: layer.inputNorm, eps: c.rmsNormEps, into: normed.pointer)
            layer.q.apply(normed.pointer, rows: n, into: q.pointer)
            layer.k.apply(normed.pointer, rows: n, into: k.pointer)
            layer.v.apply(normed.pointer, rows: n, into: v.pointer)
            rope.apply(q.pointer, rows: n, rowStride: qDim, heads: heads, start: start)
            rope.apply(k.pointer, rows: n, rowStride: kvDim, heads: kvHeads, start: start)
            cache.write(layer: l, keys: k.pointer, values: v.pointer, rows: n, rowStride: kvDim)

            let probabilities = recordAttention.contains(l) ? Tensor(zeros: [heads, n, total]) : nil
            for head in 0..<heads {
                let kvHead = head / group
                attendHead(queries: q.pointer + head * hd, qStride: qDim, rows: n,
                           keys: cache.keyPointer(layer: l, head: kvHead), kStride: hd,
                           values: cache.valuePointer(layer: l, head: kvHead), vStride: hd, keyCount: total,
                           headDim: hd, scale: scale, causalOffset: start,
                           scores: scores.pointer, output: attended.pointer + head * hd, outStride: qDim)
                if let probabilities {
                    (probabilities.pointer + head * n * total).update(from: scores.pointer, count: n * total)
                }
            }
            if let probabilities { cache.attention[l] = probabilities }
            layer.o.apply(attended.pointer, rows: n, into: x.pointer, accumulate: true)

            rmsNorm(x.pointer, rows: n, dim: h, weight: layer.postAttentionNorm, eps: c.rmsNormEps, into: normed.pointer)
            layer.gate.apply(normed.pointer, rows: n, into: gate.pointer)
            layer.up.apply(normed.pointer, rows: n, into: up.pointer)
            c.hiddenAct.applyGated(gate.pointer, times: up.pointer, count: n * c.intermediateSize)
            layer.down.apply(gate.pointer, rows: n, into: x.pointer, accumulate: true)
        }
        let last = Tensor(zeros: [1, h])
        rmsNorm(x.pointer + (n - 1) * h, rows: 1, dim: h, weight: finalNorm, eps: c.rmsNormEps, into: last.pointer)
        return last
    }

    /// Logits over the whole vocabulary for one final hidden state.
    func logits(_ hidden: Tensor) -> [Float] {
        let out = lmHead(hidden)
        return out.array
    }
}
