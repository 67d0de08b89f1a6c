import Foundation
import XCTest

/// Paths to the committed reference data under `Tests/Fixtures` (written by
/// `scripts/fixtures/make_kernel_fixtures.py` from torch and transformers).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// Decodes `kernels/<name>` (snake_case keys).
    static func kernels<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        let data = try Data(contentsOf: url("kernels/\(name)"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: data)
    }
}

/// The fixtures store each Float32 as the shortest decimal that reads back to it through Double,
/// so decoding as Double and narrowing gives torch's exact bits (a direct Float parse might not).
extension Array where Element == Double {
    var float32: [Float] { map { Float($0) } }
}

/// The tolerance every kernel comparison uses, relative to the largest expected magnitude.
let kernelTolerance: Float = 1e-5

/// Fails unless `max |actual - expected| <= tolerance * max |expected|` (and the counts match and
/// nothing is NaN). The scale falls back to 1 when every expected value is 0.
func assertClose(
    _ actual: [Float], _ expected: [Float], tolerance: Float = kernelTolerance, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.count == expected.count else {
        XCTFail("\(what): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    let largest = expected.reduce(Float(0)) { max($0, abs($1)) }
    let scale = largest > 0 ? largest : 1
    var worst = 0, worstError: Float = -1
    for i in actual.indices {
        let error = abs(actual[i] - expected[i])
        if error.isNaN || actual[i].isNaN != expected[i].isNaN {
            XCTFail("\(what): NaN at \(i) (got \(actual[i]), want \(expected[i]))", file: file, line: line)
            return
        }
        if error > worstError { worst = i; worstError = error }
    }
    let relative = worstError / scale
    XCTAssertLessThanOrEqual(
        relative, tolerance,
        "\(what): max |Δ| = \(worstError) at [\(worst)] (got \(actual[worst]), want \(expected[worst])) is "
            + "\(relative) of max |expected| \(scale); tolerance \(tolerance) relative to the largest magnitude",
        file: file, line: line)
}
