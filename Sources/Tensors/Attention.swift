/// Scaled dot-product attention for one head, through `sgemm` calls (two per block of queries).
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
    // With a causal mask, query blocks of `causalBlock` rows multiply only the keys their last row
    // sees: a prefill's products shrink to about half (the upper triangle is never computed).
    let block = causalOffset == nil ? max(rows, 1) : causalBlock
    var first = 0
    while first < rows {
        let m = min(block, rows - first)
        let seen = causalOffset.map { min(keyCount, $0 + first + m) } ?? keyCount
        let blockScores = scores + first * keyCount
        // scores[m, seen] = scale · Q · Kᵀ
        matmulTransposedB(q + first * qStride, lda: qStride, k, ldb: kStride, blockScores, ldc: keyCount,
                          m: m, n: seen, k: headDim, alpha: scale)
        for i in first..<(first + m) {
            let row = scores + i * keyCount
            let visible = causalOffset.map { min(keyCount, $0 + i + 1) } ?? keyCount
            softmaxInPlace(row, count: visible)
            if visible < keyCount { (row + visible).update(repeating: 0, count: keyCount - visible) }
        }
        // output[m, headDim] = P · V over the keys the block sees
        matmul(blockScores, lda: keyCount, v, ldb: vStride, output + first * outStride, ldc: outStride,
               m: m, n: headDim, k: seen)
        first += m
    }
}

/// Query rows per block of a causal `attendHead`: small enough that skipping the masked keys saves
/// most of the upper triangle, large enough that each product stays a matrix-matrix one.
let causalBlock = 64
