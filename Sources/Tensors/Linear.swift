import CBLAS

/// A dense layer in Hugging Face's layout: `weight` is `[out, in]`, `y = x · Wᵀ + b`.
///
/// Every product goes through OpenBLAS: `sgemm` for several rows, `sgemv` for one (a decode step).
public struct Linear: Sendable {
    public let weight: Tensor   // [outFeatures, inFeatures]
    public let bias: Tensor?    // [outFeatures]

    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.shape.count == 2, "Linear weight must be 2-D, got \(weight.shape)")
        if let bias { precondition(bias.count == weight.shape[0], "bias \(bias.shape) does not match weight \(weight.shape)") }
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// `output[rows, out] = input[rows, in] · Wᵀ + b`; `input` and `output` must not overlap.
    /// `accumulate` adds the result to what `output` holds (sgemm's β = 1): a residual connection
    /// without a second pass over the activations.
    public func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                      accumulate: Bool = false) {
        let n = inFeatures, m = outFeatures
        let beta: Float = accumulate ? 1 : 0
        MatrixProductProfile.measure(flops: 2 * Double(rows) * Double(m) * Double(n)) {
            if rows == 1 {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(n), 1, weight.pointer, Int32(n),
                            input, 1, beta, output, 1)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(m), Int32(n), 1,
                            input, Int32(n), weight.pointer, Int32(n), beta, output, Int32(m))
            }
        }
        if let bias {
            let b = bias.pointer
            for r in 0..<rows {
                let row = output + r * m
                for j in 0..<m { row[j] += b[j] }
            }
        }
    }

    /// Convenience for whole tensors: `[rows, in] -> [rows, out]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let rows = input.count / inFeatures
        precondition(rows * inFeatures == input.count, "input \(input.shape) is not a multiple of \(inFeatures)")
        let out = Tensor(zeros: [rows, outFeatures])
        apply(input.pointer, rows: rows, into: out.pointer)
        return out
    }
}

/// `C[m, n] = A[m, k] · B[n, k]ᵀ` with explicit leading dimensions (row-major), through `cblas_sgemm`.
@inline(__always)
public func matmulTransposedB(
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0
) {
    MatrixProductProfile.measure(flops: 2 * Double(m) * Double(n) * Double(k)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// `C[m, n] = A[m, k] · B[k, n]` with explicit leading dimensions (row-major), through `cblas_sgemm`.
@inline(__always)
public func matmul(
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0
) {
    MatrixProductProfile.measure(flops: 2 * Double(m) * Double(n) * Double(k)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Sets the number of OpenBLAS threads (call once, before heavy work; not per product).
public func setBLASThreads(_ n: Int) {
    openblas_set_num_threads(Int32(max(1, n)))
}
