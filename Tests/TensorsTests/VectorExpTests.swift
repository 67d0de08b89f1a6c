import Foundation
import Tensors
import XCTest

/// `exp8` against the C library's double-precision `exp` (the reference: correctly rounded to well
/// below Float's precision), over the whole range a softmax or an activation feeds it.
final class VectorExpTests: XCTestCase {
    func testWithinTwoUlpOfDoubleExpOverTheFloatRange() {
        var worst = 0.0, at: Float = 0
        var x: Float = -87
        while x < 88 {
            var lanes = SIMD8<Float>(repeating: 0)
            for i in 0..<8 { lanes[i] = x + Float(i) * 0.000_37 }
            let e = exp8(lanes)
            for i in 0..<8 {
                let reference = Foundation.exp(Double(lanes[i]))
                let relative = abs(Double(e[i]) - reference) / reference
                if relative > worst { worst = relative; at = lanes[i] }
            }
            x += 0.003_1
        }
        // One Float ulp is 6e-8 to 1.2e-7 of the value.
        XCTAssertLessThan(worst, 1.2e-7, "largest relative error \(worst) at x = \(at)")
    }

    func testExactWhereExpIsExact() {
        let e = exp8(SIMD8(0, 0, 0, 0, 0, 0, 0, 0))
        XCTAssertEqual(e, SIMD8(repeating: 1))
    }

    func testMaskedAndHugeInputsStayFinite() {
        let e = exp8(SIMD8(-.infinity, -1000, -87.5, 88.5, 1000, .infinity, -20, 20))
        for i in 0..<8 { XCTAssertTrue(e[i].isFinite, "lane \(i): \(e[i])") }
        XCTAssertLessThan(e[0], 1e-37)
        XCTAssertLessThan(e[1], 1e-37)
        XCTAssertGreaterThan(e[4], 1e38)
        XCTAssertEqual(Double(e[6]), Foundation.exp(-20.0), accuracy: Foundation.exp(-20.0) * 1.2e-7)
        XCTAssertEqual(Double(e[7]), Foundation.exp(20.0), accuracy: Foundation.exp(20.0) * 1.2e-7)
    }

    /// A softmax row whose length is not a multiple of eight (the tail path) sums to one and
    /// matches a double-precision softmax.
    func testSoftmaxTailMatchesDoubleSoftmax() {
        for count in [1, 7, 8, 13, 619] {
            var row = (0..<count).map { Float(sin(Double($0) * 1.7)) * 9 }
            let reference: [Double] = {
                let m = row.map(Double.init).max()!
                let e = row.map { Foundation.exp(Double($0) - m) }
                let s = e.reduce(0, +)
                return e.map { $0 / s }
            }()
            row.withUnsafeMutableBufferPointer { softmaxInPlace($0.baseAddress!, count: count) }
            for i in 0..<count {
                XCTAssertEqual(Double(row[i]), reference[i], accuracy: 1e-6 * max(reference[i], 1e-3), "count \(count), entry \(i)")
            }
        }
    }
}
