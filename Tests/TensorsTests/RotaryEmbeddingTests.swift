import Tensors
import XCTest

/// `RotaryEmbedding` against transformers' `LlamaRotaryEmbedding` + `apply_rotary_pos_emb`
/// (default, linear ×2 and llama3 scaling; positions from 0, from 7 and from 1000).
final class RotaryEmbeddingTests: XCTestCase {
    struct Scaling: Decodable {
        let type: String
        let factor: Double?
        let lowFreqFactor: Double?
        let highFreqFactor: Double?
        let originalMaxPositionEmbeddings: Int?
    }

    struct Case: Decodable {
        let name: String
        let scaling: Scaling
        let theta: Double
        let headDim: Int, start: Int, rows: Int, qHeads: Int, kHeads: Int
        let inverseFrequencies: [Double]
        let q: [Double], k: [Double], qRotated: [Double], kRotated: [Double]

        var ropeScaling: RopeScaling {
            get throws {
                switch scaling.type {
                case "none": return .none
                case "linear": return .linear(factor: Float(try XCTUnwrap(scaling.factor)))
                case "llama3":
                    return .llama3(factor: Float(try XCTUnwrap(scaling.factor)),
                                   lowFreqFactor: Float(try XCTUnwrap(scaling.lowFreqFactor)),
                                   highFreqFactor: Float(try XCTUnwrap(scaling.highFreqFactor)),
                                   originalMaxPositions: try XCTUnwrap(scaling.originalMaxPositionEmbeddings))
                default:
                    XCTFail("\(name): unknown scaling \(scaling.type)")
                    return .none
                }
            }
        }

        var rope: RotaryEmbedding {
            get throws { RotaryEmbedding(headDim: headDim, theta: Float(theta), scaling: try ropeScaling) }
        }
    }

    struct File: Decodable { let rotary: [Case] }

    func cases() throws -> [Case] {
        let cases = try Fixtures.kernels("rotary.json", as: File.self).rotary
        XCTAssertEqual(Set(cases.map(\.scaling.type)), ["none", "linear", "llama3"])
        XCTAssertTrue(cases.contains { $0.start >= 1000 }, "large positions are covered")
        return cases
    }

    /// Each frequency within 2.5e-7 of its own value (about 2 ulp, not relative to the largest: the
    /// low ones are ~1e-4). Tighter than the outputs' 1e-5 because the angle is `position × frequency`:
    /// at position 1000 a few ulp in a frequency already moves cos/sin by ~1e-4.
    func testInverseFrequenciesMatchTransformers() throws {
        for c in try cases() {
            let actual = try c.rope.inverseFrequencies, expected = c.inverseFrequencies.float32
            XCTAssertEqual(actual.count, expected.count, c.name)
            for (i, (a, e)) in zip(actual, expected).enumerated() {
                XCTAssertLessThanOrEqual(abs(a - e), 2.5e-7 * abs(e),
                                         "\(c.name) inv_freq[\(i)]: got \(a) (bits \(a.bitPattern)), want \(e) "
                                             + "(bits \(e.bitPattern)); tolerance 2.5e-7 relative to each value")
            }
        }
    }

    /// Rotates `values` (`rows` tokens of `heads` vectors) with rows `rowStride` floats apart; the
    /// padding between rows is filled with a sentinel that must survive.
    func rotated(_ values: [Float], rope: RotaryEmbedding, rows: Int, heads: Int, padding: Int,
                 start: Int, inverse: Bool = false) -> (values: [Float], paddingIntact: Bool) {
        let width = heads * rope.headDim, stride = width + padding
        var buffer = [Float](repeating: -123.25, count: rows * stride)
        for r in 0..<rows { buffer.replaceSubrange(r * stride..<r * stride + width, with: values[r * width..<(r + 1) * width]) }
        buffer.withUnsafeMutableBufferPointer { x in
            if inverse {
                rope.unapply(x.baseAddress!, rows: rows, rowStride: stride, heads: heads, start: start)
            } else {
                rope.apply(x.baseAddress!, rows: rows, rowStride: stride, heads: heads, start: start)
            }
        }
        var out: [Float] = [], intact = true
        for r in 0..<rows {
            out += buffer[r * stride..<r * stride + width]
            intact = intact && buffer[r * stride + width..<(r + 1) * stride].allSatisfy { $0 == -123.25 }
        }
        return (out, intact)
    }

    func testApplyMatchesTransformers() throws {
        for c in try cases() {
            let rope = try c.rope
            for padding in [0, 5] {
                let q = rotated(c.q.float32, rope: rope, rows: c.rows, heads: c.qHeads, padding: padding, start: c.start)
                assertClose(q.values, c.qRotated.float32, "\(c.name) queries (row padding \(padding))")
                XCTAssertTrue(q.paddingIntact, "\(c.name): floats between rows are untouched")
                let k = rotated(c.k.float32, rope: rope, rows: c.rows, heads: c.kHeads, padding: padding, start: c.start)
                assertClose(k.values, c.kRotated.float32, "\(c.name) keys (row padding \(padding))")
            }
        }
    }

    /// `unapply` takes transformers' rotated vectors back to the originals, and undoes `apply`.
    func testUnapplyInvertsApply() throws {
        for c in try cases() {
            let rope = try c.rope
            let fromTorch = rotated(c.qRotated.float32, rope: rope, rows: c.rows, heads: c.qHeads, padding: 3,
                                    start: c.start, inverse: true)
            assertClose(fromTorch.values, c.q.float32, "\(c.name): unapply(transformers' rotation)")
            XCTAssertTrue(fromTorch.paddingIntact, c.name)

            let forward = rotated(c.k.float32, rope: rope, rows: c.rows, heads: c.kHeads, padding: 0, start: c.start)
            let back = rotated(forward.values, rope: rope, rows: c.rows, heads: c.kHeads, padding: 0,
                               start: c.start, inverse: true)
            assertClose(back.values, c.k.float32, "\(c.name): unapply(apply(k))")
        }
    }
}
