#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// LayerNorm over the last dimension, as `torch.nn.LayerNorm` (biased variance, eps inside the root).
/// `input` and `output` may be the same buffer.
public func layerNorm(
    _ input: UnsafePointer<Float>, rows: Int, dim: Int, weight: Tensor, bias: Tensor, eps: Float,
    into output: UnsafeMutablePointer<Float>
) {
    let w = weight.pointer, b = bias.pointer
    for r in 0..<rows {
        let x = input + r * dim, y = output + r * dim
        var mean: Float = 0
        for i in 0..<dim { mean += x[i] }
        mean /= Float(dim)
        var variance: Float = 0
        for i in 0..<dim { let d = x[i] - mean; variance += d * d }
        variance /= Float(dim)
        let inv = 1 / (variance + eps).squareRoot()
        for i in 0..<dim { y[i] = (x[i] - mean) * inv * w[i] + b[i] }
    }
}

/// RMSNorm as LLaMA defines it: `x / sqrt(mean(x²) + eps) * weight`. `input` and `output` may alias.
public func rmsNorm(
    _ input: UnsafePointer<Float>, rows: Int, dim: Int, weight: Tensor, eps: Float,
    into output: UnsafeMutablePointer<Float>
) {
    let w = weight.pointer
    for r in 0..<rows {
        let x = input + r * dim, y = output + r * dim
        var sumSquares: Float = 0
        for i in 0..<dim { sumSquares += x[i] * x[i] }
        let inv = 1 / (sumSquares / Float(dim) + eps).squareRoot()
        for i in 0..<dim { y[i] = w[i] * (x[i] * inv) }
    }
}

/// Numerically stable softmax of one row, in place.
@inline(__always)
public func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var maxValue = row[0]
    for i in 1..<count where row[i] > maxValue { maxValue = row[i] }
    // e^(x - max) through exp8, summed in eight lanes.
    var lanes = SIMD8<Float>(repeating: 0)
    let shift = SIMD8<Float>(repeating: maxValue)
    let raw = UnsafeMutableRawPointer(row)
    var i = 0
    while i + 8 <= count {
        let e = exp8(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - shift)
        raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
        lanes += e
        i += 8
    }
    var sum = lanes.sum()
    if i < count {
        var v = SIMD8<Float>(repeating: 0)
        for j in 0..<(count - i) { v[j] = row[i + j] }
        let e = exp8(v - shift)
        for j in 0..<(count - i) { row[i + j] = e[j]; sum += e[j] }
    }
    let inv = 1 / sum
    for i in 0..<count { row[i] *= inv }
}
