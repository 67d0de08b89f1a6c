/// Floating-point operations of a forward pass, estimated from the model's shape (a multiply-add is
/// two operations). Counts the matrix products and attention, which are nearly all of the work; the
/// compute ledger and the benchmarks report throughput against it.
public struct ComputeEstimate: Sendable, Equatable {
    public var vision: Double = 0
    public var projector: Double = 0
    public var decoder: Double = 0
    public var total: Double { vision + projector + decoder }
}

extension LlavaConfig {
    /// FLOPs of appending `newTokens` tokens (of which `images` images' worth are image tokens) after
    /// `cached` tokens already in the cache, with logits for the last position only.
    public func estimate(newTokens n: Int, images: Int, cached: Int = 0) -> ComputeEstimate {
        var e = ComputeEstimate()
        let v = vision, vt = Double(v.numPatches + 1), vh = Double(v.hiddenSize)
        let visionLayers = Double(resolvedFeatureLayers.max() ?? 0)
        let patchEmbedding = 2 * Double(v.numPatches) * vh * Double(v.numChannels * v.patchSize * v.patchSize)
        let visionBlock = 2 * vt * (4 * vh * vh + 2 * vh * Double(v.intermediateSize)) + 4 * vt * vt * vh
        e.vision = Double(images) * (patchEmbedding + visionLayers * visionBlock)
        let th = Double(text.hiddenSize), rows = Double(images * imageTokenCount)
        e.projector = 2 * rows * (vh * Double(visionFeatureLayers.count) * th + th * th)

        let t = text, tokens = Double(n)
        let qDim = Double(t.numAttentionHeads * t.headDim), kvDim = Double(t.numKeyValueHeads * t.headDim)
        let projections = 2 * tokens * (th * qDim + 2 * th * kvDim + qDim * th + 3 * th * Double(t.intermediateSize))
        // Each new token attends to the cached tokens and to itself and the new tokens before it.
        let attendedKeys = tokens * Double(cached) + tokens * (tokens + 1) / 2
        let attention = 4 * attendedKeys * Double(t.numAttentionHeads * t.headDim)
        e.decoder = Double(t.numHiddenLayers) * (projections + attention) + 2 * th * Double(t.vocabSize)
        return e
    }
}
