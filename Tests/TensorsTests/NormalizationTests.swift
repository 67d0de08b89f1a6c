import Tensors
import XCTest

/// `layerNorm`, `rmsNorm` and `softmaxInPlace` against torch.
final class NormalizationTests: XCTestCase {
    struct NormCase: Decodable {
        let name: String
        let rows: Int, dim: Int
        let eps: Double
        let input: [Double], weight: [Double], bias: [Double]?, output: [Double]
    }

    struct NormFile: Decodable {
        let layerNorm: [NormCase]
        let rmsNorm: [NormCase]
    }

    struct SoftmaxCase: Decodable {
        let name: String
        let input: [Double], output: [Double]
    }

    struct SoftmaxFile: Decodable { let softmax: [SoftmaxCase] }

    /// Runs `norm` into a separate buffer and in place; both must match torch.
    func check(_ c: NormCase, _ norm: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let input = c.input.float32, expected = c.output.float32
        var output = [Float](repeating: .nan, count: input.count)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in norm(x.baseAddress!, y.baseAddress!) }
        }
        assertClose(output, expected, "\(c.name), separate output")

        var inPlace = input
        inPlace.withUnsafeMutableBufferPointer { x in norm(x.baseAddress!, x.baseAddress!) }
        assertClose(inPlace, expected, "\(c.name), in place")
    }

    func testLayerNormMatchesTorch() throws {
        let file = try Fixtures.kernels("norms.json", as: NormFile.self)
        XCTAssertFalse(file.layerNorm.isEmpty)
        for c in file.layerNorm {
            let weight = Tensor(shape: [c.dim], values: c.weight.float32)
            let bias = Tensor(shape: [c.dim], values: try XCTUnwrap(c.bias).float32)
            check(c) { x, y in
                layerNorm(x, rows: c.rows, dim: c.dim, weight: weight, bias: bias, eps: Float(c.eps), into: y)
            }
        }
    }

    func testRMSNormMatchesLlamaFormula() throws {
        let file = try Fixtures.kernels("norms.json", as: NormFile.self)
        XCTAssertFalse(file.rmsNorm.isEmpty)
        for c in file.rmsNorm {
            let weight = Tensor(shape: [c.dim], values: c.weight.float32)
            check(c) { x, y in
                rmsNorm(x, rows: c.rows, dim: c.dim, weight: weight, eps: Float(c.eps), into: y)
            }
        }
    }

    /// Includes logits around ±1000, where a softmax without the max shift overflows or gives 0/0.
    func testSoftmaxMatchesTorch() throws {
        let file = try Fixtures.kernels("softmax.json", as: SoftmaxFile.self)
        XCTAssertTrue(file.softmax.contains { $0.name == "large_positive" })
        for c in file.softmax {
            var row = c.input.float32
            row.withUnsafeMutableBufferPointer { softmaxInPlace($0.baseAddress!, count: $0.count) }
            assertClose(row, c.output.float32, c.name)
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5, "\(c.name): probabilities sum to 1 (±1e-5)")
        }
    }

    /// `count` bounds the row: values past it are neither read nor written.
    func testSoftmaxTouchesOnlyCount() throws {
        let file = try Fixtures.kernels("softmax.json", as: SoftmaxFile.self)
        let c = try XCTUnwrap(file.softmax.first { $0.name == "small" })
        var row = c.input.float32 + [1e30, -3]
        row.withUnsafeMutableBufferPointer { softmaxInPlace($0.baseAddress!, count: c.input.count) }
        assertClose(Array(row.prefix(c.input.count)), c.output.float32, "\(c.name) with trailing values")
        XCTAssertEqual(Array(row.suffix(2)), [1e30, -3], "values past count are untouched")
    }
}
