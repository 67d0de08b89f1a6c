import Tensors
import XCTest

/// `attendHead` against `torch.nn.functional.scaled_dot_product_attention`, one head at a time out
/// of rows that interleave all heads (`[rows, heads, headDim]`), with grouped key/value heads.
final class AttentionTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let rows: Int, keys: Int, heads: Int, kvHeads: Int, headDim: Int
        let scale: Double
        let causalOffset: Int?
        let q: [Double], k: [Double], v: [Double]
        let output: [Double]          // [rows, heads, headDim]
        let probabilities: [Double]   // [heads, rows, keys]
    }

    struct File: Decodable { let attention: [Case] }

    func testMatchesScaledDotProductAttention() throws {
        let cases = try Fixtures.kernels("attention.json", as: File.self).attention
        // Non-causal, causal from 0 (is_causal) and causal at the end of a longer key sequence.
        XCTAssertTrue(cases.contains { $0.causalOffset == nil })
        XCTAssertTrue(cases.contains { $0.causalOffset == 0 && $0.rows == $0.keys })
        XCTAssertTrue(cases.contains { ($0.causalOffset ?? 0) > 0 && $0.rows > 1 })
        // Causal cases longer than the query blocks, from 0 and after cached keys.
        XCTAssertTrue(cases.contains { $0.causalOffset == 0 && $0.rows > 128 })
        XCTAssertTrue(cases.contains { ($0.causalOffset ?? 0) > 0 && $0.rows > 64 })
        for c in cases {
            let d = c.headDim, qStride = c.heads * d, kvStride = c.kvHeads * d
            let q = c.q.float32, k = c.k.float32, v = c.v.float32
            let expectedProbabilities = c.probabilities.float32
            var output = [Float](repeating: .nan, count: c.rows * qStride)
            for h in 0..<c.heads {
                let kvHead = h / (c.heads / c.kvHeads)
                var scores = [Float](repeating: 99, count: c.rows * c.keys)   // stale scratch
                q.withUnsafeBufferPointer { q in
                    k.withUnsafeBufferPointer { k in
                        v.withUnsafeBufferPointer { v in
                            scores.withUnsafeMutableBufferPointer { scores in
                                output.withUnsafeMutableBufferPointer { out in
                                    attendHead(
                                        queries: q.baseAddress! + h * d, qStride: qStride, rows: c.rows,
                                        keys: k.baseAddress! + kvHead * d, kStride: kvStride,
                                        values: v.baseAddress! + kvHead * d, vStride: kvStride, keyCount: c.keys,
                                        headDim: d, scale: Float(c.scale), causalOffset: c.causalOffset,
                                        scores: scores.baseAddress!,
                                        output: out.baseAddress! + h * d, outStride: qStride)
                                }
                            }
                        }
                    }
                }
                let expected = Array(expectedProbabilities[h * c.rows * c.keys..<(h + 1) * c.rows * c.keys])
                assertClose(scores, expected, "\(c.name) head \(h): scores hold the probabilities")
                for i in 0..<c.rows {
                    for j in 0..<c.keys where expected[i * c.keys + j] == 0 {
                        XCTAssertEqual(scores[i * c.keys + j], 0, "\(c.name) head \(h): masked [\(i), \(j)] is exactly 0")
                    }
                }
            }
            assertClose(output, c.output.float32, "\(c.name): output [rows, heads, headDim]")
        }
    }
}
