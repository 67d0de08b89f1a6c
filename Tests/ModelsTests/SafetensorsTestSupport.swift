import Foundation
import Tensors
import XCTest

@testable import Models

/// One tensor of a fixture's `expected.json`, written by scripts/fixtures/make_safetensors_fixtures.py
/// from the header and from torch's `.float()` values (as Float32 bit patterns).
struct ExpectedTensor: Decodable {
    let file: String
    let dtype: String
    let shape: [Int]
    let byteRange: [Int]
    let bits: [UInt32]?

    enum CodingKeys: String, CodingKey {
        case file, dtype, shape, bits
        case byteRange = "byte_range"
    }

    static func load(_ relative: String) throws -> [String: ExpectedTensor] {
        let data = try Data(contentsOf: Fixtures.url(relative))
        return try JSONDecoder().decode([String: ExpectedTensor].self, from: data)
    }
}

/// Asserts `tensor` holds exactly the reference values: the same bits, or NaN where the reference is NaN.
func assertValues(_ tensor: Tensor, _ expected: ExpectedTensor, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(tensor.shape, expected.shape, "shape of \(name)", file: file, line: line)
    guard let bits = expected.bits else { return XCTFail("\(name) has no reference values", file: file, line: line) }
    let values = tensor.array
    XCTAssertEqual(values.count, bits.count, "count of \(name)", file: file, line: line)
    for (i, (value, reference)) in zip(values, bits).enumerated() {
        let want = Float(bitPattern: reference)
        if want.isNaN {
            XCTAssertTrue(value.isNaN, "\(name)[\(i)] = \(value), expected NaN", file: file, line: line)
        } else if value.bitPattern != reference {
            XCTFail("\(name)[\(i)] = \(value) (0x\(String(value.bitPattern, radix: 16))), expected \(want) (0x\(String(reference, radix: 16)))", file: file, line: line)
        }
    }
}

/// Runs `body`, expects a `CheckpointError` with `code` whose message contains every one of `fragments`.
@discardableResult
func assertCheckpointError<T>(
    _ code: CheckpointError.Code, _ fragments: [String],
    file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) -> CheckpointError? {
    do {
        _ = try body()
        XCTFail("expected a \(code) error", file: file, line: line)
        return nil
    } catch let error as CheckpointError {
        XCTAssertEqual(error.code, code, error.message, file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' does not contain '\(fragment)'", file: file, line: line)
        }
        XCTAssertEqual("\(error)", error.message, file: file, line: line)
        return error
    } catch {
        XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
        return nil
    }
}

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("focus-st-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
