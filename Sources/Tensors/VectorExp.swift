/// e^x eight lanes at a time, for the loops a prefill spends its non-product time in (softmax rows,
/// SiLU and quick-GELU over the MLP's intermediate activations): Glibc's `expf` is a call per value,
/// about 6 ns each here, and a quarter-width LLaVA prefill takes some 10^8 of them.
///
/// Cody-Waite reduction x = n·ln 2 + r (ln 2 split in two so that n·ln 2 is exact), the Cephes
/// degree-6 polynomial for e^r on |r| ≤ ln 2 / 2, and 2^n put together in the exponent bits. The
/// largest relative error against a Double e^x over [-87, 88] is 7.7e-8 (about one ulp), so results
/// stay within the tolerances the reference tests already use. Inputs below -87.34 give e^-87.34
/// (about 1e-38; a softmax row's masked entries, -inf, become that, not NaN), above 88.38 give
/// e^88.38.
@inline(__always)
public func exp8(_ value: SIMD8<Float>) -> SIMD8<Float> {
    // `replacing(with:where:)` compiles to blends; pointwiseMin/Max stay generic calls.
    let lo = SIMD8<Float>(repeating: -87.33654), hi = SIMD8<Float>(repeating: 88.37626)
    var x = value.replacing(with: lo, where: value .< lo)
    x = x.replacing(with: hi, where: x .> hi)
    // Adding 1.5·2^23 rounds x·log2(e) to an integer and leaves it in the low mantissa bits of t.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let t = x * 1.442_695_040_888_963_4 + magic
    let n = t - magic
    let r = (x - n * 0.693_359_375) + n * 2.121_944_40e-4
    var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    p = p * (r * r) + r + 1
    let exponent = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return p * unsafeBitCast(exponent, to: SIMD8<Float>.self)
}

/// Replaces `count` floats in place by `body(block, offset of its first value)`, eight at a time, in
/// order. The last, partial block is filled up with `padding` (a value `body` maps to something
/// harmless: 0 for activations, -inf for softmax, whose e^-inf lanes add ~1e-38 to a sum of at
/// least 1) and only its real lanes are stored.
@inline(__always)
func transformBlocks(_ x: UnsafeMutablePointer<Float>, count: Int, padding: Float,
                     _ body: (SIMD8<Float>, Int) -> SIMD8<Float>) {
    let raw = UnsafeMutableRawPointer(x)
    var i = 0
    while i + 8 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        raw.storeBytes(of: body(v, i), toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    if i < count {
        var v = SIMD8<Float>(repeating: padding)
        for j in 0..<(count - i) { v[j] = x[i + j] }
        let out = body(v, i)
        for j in 0..<(count - i) { x[i + j] = out[j] }
    }
}

/// Applies `transform(x, e^(scale·x))` to `count` floats in place, eight at a time.
@inline(__always)
func mapWithExp(_ x: UnsafeMutablePointer<Float>, count: Int, scale: Float,
                _ transform: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) {
    transformBlocks(x, count: count, padding: 0) { v, _ in transform(v, exp8(v * scale)) }
}
