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
        let mean = laneSum(x, count: dim) { $0 } / Float(dim)
        let m = SIMD8<Float>(repeating: mean)
        let variance = laneSum(x, count: dim) { let d = $0 - m; return d * d } / Float(dim)
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
        let inv = 1 / (laneSum(x, count: dim) { $0 * $0 } / Float(dim) + eps).squareRoot()
        for i in 0..<dim { y[i] = w[i] * (x[i] * inv) }
    }
}

/// Σ term(x) over `count` floats in eight lanes (a scalar float loop is not vectorised: the compiler
/// may not reorder its additions). The tail goes through `term` one value at a time, in lane 0.
@inline(__always)
func laneSum(_ x: UnsafePointer<Float>, count: Int, _ term: (SIMD8<Float>) -> SIMD8<Float>) -> Float {
    let raw = UnsafeRawPointer(x)
    var lanes = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        lanes += term(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        i += 8
    }
    var sum = lanes.sum()
    while i < count {
        var v = SIMD8<Float>(repeating: 0)
        v[0] = x[i]
        sum += term(v)[0]
        i += 1
    }
    return sum
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
    transformBlocks(row, count: count, padding: -.infinity) { v, _ in
        let e = exp8(v - shift)
        lanes += e
        return e
    }
    let inv = SIMD8<Float>(repeating: 1 / lanes.sum())
    transformBlocks(row, count: count, padding: 0) { v, _ in v * inv }
}
