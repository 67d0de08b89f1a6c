/// Scaled dot-product attention for one head, through two `sgemm` calls.
///
/// Queries are `rows` vectors `qStride` floats apart; keys and values are `keys` vectors `kStride` /
/// `vStride` apart; the output is written `outStride` floats apart. With `causalOffset = c`, query `i`
/// sees keys `0...c+i` (its absolute position is `c + i`); nil means every query sees every key.
/// `scores` is scratch of `rows * keys` floats; afterwards it holds the attention probabilities,
/// which is how callers record them without a second pass.
public func attendHead(
    queries q: UnsafePointer<Float>, qStride: Int, rows: Int,
    keys k: UnsafePointer<Float>, kStride: Int,
    values v: UnsafePointer<Float>, vStride: Int, keyCount: Int,
    headDim: Int, scale: Float, causalOffset: Int?,
    scores: UnsafeMutablePointer<Float>,
    output: UnsafeMutablePointer<Float>, outStride: Int
) {
    // scores[rows, keys] = scale · Q · Kᵀ
    matmulTransposedB(q, lda: qStride, k, ldb: kStride, scores, ldc: keyCount,
                      m: rows, n: keyCount, k: headDim, alpha: scale)
    for i in 0..<rows {
        let row = scores + i * keyCount
        let visible = causalOffset.map { min(keyCount, $0 + i + 1) } ?? keyCount
        softmaxInPlace(row, count: visible)
        if visible < keyCount { (row + visible).update(repeating: 0, count: keyCount - visible) }
    }
    // output[rows, headDim] = P · V
    matmul(scores, lda: keyCount, v, ldb: vStride, output, ldc: outStride, m: rows, n: headDim, k: keyCount)
}
