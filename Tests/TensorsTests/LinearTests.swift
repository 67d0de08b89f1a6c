import Tensors
import XCTest

/// `Linear` (sgemv for one row, sgemm for several) and the strided product helpers, against
/// `torch.nn.functional.linear` and `torch.addmm` on sub-matrix views.
final class LinearTests: XCTestCase {
    struct LinearCase: Decodable {
        let name: String
        let rows: Int, inFeatures: Int, outFeatures: Int
        let input: [Double], weight: [Double], bias: [Double]?, output: [Double]
    }

    struct ProductCase: Decodable {
        let name: String
        let transposedB: Bool
        let m: Int, n: Int, k: Int
        let alpha: Double, beta: Double
        let a: [Double], aOffset: Int, lda: Int
        let b: [Double], bOffset: Int, ldb: Int
        let c: [Double], cOffset: Int, ldc: Int
        let cExpected: [Double]
    }

    struct File: Decodable {
        let linear: [LinearCase]
        let products: [ProductCase]
    }

    func linearLayer(_ c: LinearCase) -> Linear {
        Linear(weight: Tensor(shape: [c.outFeatures, c.inFeatures], values: c.weight.float32),
               bias: c.bias.map { Tensor(shape: [c.outFeatures], values: $0.float32) })
    }

    func testLinearMatchesTorch() throws {
        let file = try Fixtures.kernels("linear.json", as: File.self)
        // Both paths, with and without bias.
        XCTAssertEqual(Set(file.linear.map { $0.rows == 1 }), [true, false])
        XCTAssertEqual(Set(file.linear.map { $0.bias == nil }), [true, false])
        for c in file.linear {
            let layer = linearLayer(c)
            XCTAssertEqual(layer.inFeatures, c.inFeatures)
            XCTAssertEqual(layer.outFeatures, c.outFeatures)
            let y = layer(Tensor(shape: [c.rows, c.inFeatures], values: c.input.float32))
            XCTAssertEqual(y.shape, [c.rows, c.outFeatures], c.name)
            assertClose(y.array, c.output.float32, "\(c.name) (rows \(c.rows))")
        }
    }

    /// `apply` writes the output: it neither accumulates into nor reads what the buffer held (NaN here).
    func testLinearApplyOverwritesStaleOutput() throws {
        let file = try Fixtures.kernels("linear.json", as: File.self)
        for c in file.linear {
            let layer = linearLayer(c)
            let input = c.input.float32
            var output = [Float](repeating: .nan, count: c.rows * c.outFeatures)
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    layer.apply(x.baseAddress!, rows: c.rows, into: y.baseAddress!)
                }
            }
            assertClose(output, c.output.float32, "\(c.name) into a stale buffer")
        }
    }

    /// A, B and C are views inside wider buffers; everything outside C's view must stay as it was.
    func testStridedProductsMatchTorch() throws {
        let file = try Fixtures.kernels("linear.json", as: File.self)
        XCTAssertEqual(Set(file.products.map(\.transposedB)), [true, false])
        for p in file.products {
            XCTAssertGreaterThan(p.lda, p.k, "\(p.name): the A view must be narrower than its buffer")
            let a = p.a.float32, b = p.b.float32
            var c = p.c.float32
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        let aView = a.baseAddress! + p.aOffset, bView = b.baseAddress! + p.bOffset
                        let cView = c.baseAddress! + p.cOffset
                        if p.transposedB {
                            matmulTransposedB(aView, lda: p.lda, bView, ldb: p.ldb, cView, ldc: p.ldc,
                                              m: p.m, n: p.n, k: p.k, alpha: Float(p.alpha), beta: Float(p.beta))
                        } else {
                            matmul(aView, lda: p.lda, bView, ldb: p.ldb, cView, ldc: p.ldc,
                                   m: p.m, n: p.n, k: p.k, alpha: Float(p.alpha), beta: Float(p.beta))
                        }
                    }
                }
            }
            assertClose(c, p.cExpected.float32, "\(p.name): whole C buffer, view and padding")
        }
    }
}
