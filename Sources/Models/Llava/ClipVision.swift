import Tensors

/// The CLIP ViT vision tower: patch embedding (a convolution with stride = kernel, done as one
/// matrix product over flattened patches), class and position embeddings, `pre_layrnorm`, and pre-LN
/// transformer blocks. `post_layernorm` is never used: LLaVA reads intermediate hidden states.
final class CLIPVisionTower: @unchecked Sendable {
    let config: CLIPVisionConfig
    let patchEmbedding: Linear          // [hidden, 3 * patch * patch], no bias
    let classEmbedding: Tensor          // [hidden]
    let positionEmbedding: Tensor       // [patches + 1, hidden]
    let preNormWeight: Tensor, preNormBias: Tensor
    let blocks: [Block]

    struct Block {
        let norm1Weight: Tensor, norm1Bias: Tensor
        let q: Linear, k: Linear, v: Linear, out: Linear
        let norm2Weight: Tensor, norm2Bias: Tensor
        let fc1: Linear, fc2: Linear
    }

    /// Loads the tower's weights under `prefix`, only the blocks up to `layersNeeded`.
    init(config c: CLIPVisionConfig, weights: CheckpointWeights, prefix p: String, layersNeeded: Int) throws {
        config = c
        let h = c.hiddenSize, patchFloats = c.numChannels * c.patchSize * c.patchSize
        let conv = try weights.tensor(p + "embeddings.patch_embedding.weight", shape: [h, c.numChannels, c.patchSize, c.patchSize])
        patchEmbedding = Linear(weight: conv.reshaped([h, patchFloats]), bias: nil)
        classEmbedding = try weights.tensor(p + "embeddings.class_embedding", shape: [h])
        positionEmbedding = try weights.tensor(p + "embeddings.position_embedding.weight", shape: [c.numPatches + 1, h])
        preNormWeight = try weights.tensor(p + "pre_layrnorm.weight", shape: [h])
        preNormBias = try weights.tensor(p + "pre_layrnorm.bias", shape: [h])
        func linear(_ name: String, _ out: Int, _ inp: Int) throws -> Linear {
            Linear(weight: try weights.tensor(name + ".weight", shape: [out, inp]),
                   bias: try weights.tensor(name + ".bias", shape: [out]))
        }
        blocks = try (0..<layersNeeded).map { i in
            let b = p + "encoder.layers.\(i)."
            return Block(
                norm1Weight: try weights.tensor(b + "layer_norm1.weight", shape: [h]),
                norm1Bias: try weights.tensor(b + "layer_norm1.bias", shape: [h]),
                q: try linear(b + "self_attn.q_proj", h, h),
                k: try linear(b + "self_attn.k_proj", h, h),
                v: try linear(b + "self_attn.v_proj", h, h),
                out: try linear(b + "self_attn.out_proj", h, h),
                norm2Weight: try weights.tensor(b + "layer_norm2.weight", shape: [h]),
                norm2Bias: try weights.tensor(b + "layer_norm2.bias", shape: [h]),
                fc1: try linear(b + "mlp.fc1", c.intermediateSize, h),
                fc2: try linear(b + "mlp.fc2", h, c.intermediateSize))
        }
    }

    /// Hidden states at the requested indices (0 = embeddings after `pre_layrnorm`, i = after block i),
    /// each `[patches + 1, hidden]` with the CLS token first, for `pixels` `[3, size, size]`.
    func hiddenStates(pixels: UnsafePointer<Float>, at indices: [Int]) -> [Int: Tensor] {
        let c = config, h = c.hiddenSize, n = c.numPatches + 1, side = c.patchesPerSide, ps = c.patchSize
        let patchFloats = c.numChannels * ps * ps

        // im2col: patch (gy, gx) → row gy*side+gx holding [channel, ky, kx], the conv weight's order.
        let patches = Tensor(zeros: [c.numPatches, patchFloats])
        for gy in 0..<side {
            for gx in 0..<side {
                let row = patches.pointer + (gy * side + gx) * patchFloats
                for ch in 0..<c.numChannels {
                    for ky in 0..<ps {
                        let src = pixels + (ch * c.imageSize + gy * ps + ky) * c.imageSize + gx * ps
                        (row + (ch * ps + ky) * ps).update(from: src, count: ps)
                    }
                }
            }
        }
        let x = Tensor(zeros: [n, h])   // [tokens, hidden], CLS first
        x.pointer.update(from: classEmbedding.pointer, count: h)
        patchEmbedding.apply(patches.pointer, rows: c.numPatches, into: x.pointer + h)
        for i in 0..<(n * h) { x.pointer[i] += positionEmbedding.pointer[i] }
        layerNorm(x.pointer, rows: n, dim: h, weight: preNormWeight, bias: preNormBias, eps: c.layerNormEps, into: x.pointer)

        var out: [Int: Tensor] = [:]
        func keep(_ index: Int) {
            if indices.contains(index) { out[index] = Tensor(shape: [n, h], values: x.array) }
        }
        keep(0)
        let last = indices.max() ?? 0
        let scratch = BlockScratch(tokens: n, hidden: h, intermediate: c.intermediateSize)
        for i in 0..<min(last, blocks.count) {
            run(blocks[i], on: x, scratch: scratch)
            keep(i + 1)
        }
        return out
    }

    private final class BlockScratch {
        let normed, q, k, v, attended, scores, mlp: Tensor
        init(tokens n: Int, hidden h: Int, intermediate: Int) {
            normed = Tensor(zeros: [n, h]); q = Tensor(zeros: [n, h]); k = Tensor(zeros: [n, h])
            v = Tensor(zeros: [n, h]); attended = Tensor(zeros: [n, h])
            scores = Tensor(zeros: [n, n]); mlp = Tensor(zeros: [n, intermediate])
        }
    }

    private func run(_ b: Block, on x: Tensor, scratch s: BlockScratch) {
        let c = config, h = c.hiddenSize, n = x.shape[0], hd = c.headDim
        layerNorm(x.pointer, rows: n, dim: h, weight: b.norm1Weight, bias: b.norm1Bias, eps: c.layerNormEps, into: s.normed.pointer)
        b.q.apply(s.normed.pointer, rows: n, into: s.q.pointer)
        b.k.apply(s.normed.pointer, rows: n, into: s.k.pointer)
        b.v.apply(s.normed.pointer, rows: n, into: s.v.pointer)
        let scale = 1 / Float(hd).squareRoot()
        for head in 0..<c.numAttentionHeads {
            attendHead(queries: s.q.pointer + head * hd, qStride: h, rows: n,
                       keys: s.k.pointer + head * hd, kStride: h,
                       values: s.v.pointer + head * hd, vStride: h, keyCount: n,
                       headDim: hd, scale: scale, causalOffset: nil,
                       scores: s.scores.pointer, output: s.attended.pointer + head * hd, outStride: h)
        }
        b.out.apply(s.attended.pointer, rows: n, into: x.pointer, accumulate: true)

        layerNorm(x.pointer, rows: n, dim: h, weight: b.norm2Weight, bias: b.norm2Bias, eps: c.layerNormEps, into: s.normed.pointer)
        b.fc1.apply(s.normed.pointer, rows: n, into: s.mlp.pointer)
        c.hiddenAct.apply(s.mlp.pointer, count: n * c.intermediateSize)
        b.fc2.apply(s.mlp.pointer, rows: n, into: x.pointer, accumulate: true)
    }
}
