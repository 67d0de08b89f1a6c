import Foundation
import Tensors
import XCTest

@testable import Models

final class SafetensorsFileTests: XCTestCase {
    // MARK: - Values against torch

    func testF32F16BF16ValuesEqualTorch() throws {
        let file = try SafetensorsFile(url: Fixtures.url("safetensors/single/model.safetensors"))
        let expected = try ExpectedTensor.load("safetensors/single/expected.json")
        for name in ["w_f32", "w_f16", "w_bf16", "scalar", "empty"] {
            assertValues(try file.tensor(name), expected[name]!, name)
        }
    }

    func testEntriesAndMetadataMatchHeader() throws {
        let file = try SafetensorsFile(url: Fixtures.url("safetensors/single/model.safetensors"))
        let expected = try ExpectedTensor.load("safetensors/single/expected.json")
        XCTAssertEqual(Set(file.entries.keys), Set(expected.keys))
        for (name, want) in expected {
            let entry = try XCTUnwrap(file.entries[name])
            XCTAssertEqual(entry.name, name)
            XCTAssertEqual(entry.dtype, want.dtype, name)
            XCTAssertEqual(entry.shape, want.shape, name)
            XCTAssertEqual(entry.byteRange, want.byteRange[0]..<want.byteRange[1], name)
        }
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.entries["scalar"]?.shape, [])
    }

    func testUnalignedF32IsCopiedAndUnalignedF16Converted() throws {
        let file = try SafetensorsFile(url: Fixtures.url("safetensors/unaligned/model.safetensors"))
        let expected = try ExpectedTensor.load("safetensors/unaligned/expected.json")
        XCTAssertNotEqual(file.entries["w"]!.byteRange.lowerBound % 4, 0, "the fixture must be unaligned")
        XCTAssertNotEqual(file.entries["h"]!.byteRange.lowerBound % 2, 0, "the fixture must be unaligned")
        for name in ["w", "h"] {
            assertValues(try file.tensor(name), expected[name]!, name)
        }
        let (a, b) = (try file.tensor("w"), try file.tensor("w"))
        XCTAssertNotEqual(a.pointer, b.pointer, "unaligned F32 is a copy")
    }

    // MARK: - Zero copy and lifetime

    func testAlignedF32IsAZeroCopyViewAndHalvesAreCopies() throws {
        let file = try SafetensorsFile(url: Fixtures.url("safetensors/single/model.safetensors"))
        let a = try file.tensor("w_f32")
        let b = try file.tensor("w_f32")
        XCTAssertEqual(a.pointer, b.pointer, "both views point into the same map")
        for name in ["w_f16", "w_bf16"] {
            let (c, d) = (try file.tensor(name), try file.tensor(name))  // both alive: distinct allocations
            XCTAssertNotEqual(c.pointer, d.pointer, "\(name) is converted into its own storage")
        }
    }

    func testViewKeepsTheMapAlive() throws {
        let expected = try ExpectedTensor.load("safetensors/single/expected.json")
        var file: SafetensorsFile? = try SafetensorsFile(url: Fixtures.url("safetensors/single/model.safetensors"))
        weak let weakFile = file
        var view: Tensor? = try file!.tensor("w_f32")
        file = nil
        XCTAssertNotNil(weakFile, "a view must keep its file mapped")
        assertValues(view!, expected["w_f32"]!, "w_f32")
        view = nil
        XCTAssertNil(weakFile, "the file is released (and unmapped) with its last view")
    }

    func testConcurrentLoadsFromOneFile() throws {
        let file = try SafetensorsFile(url: Fixtures.url("safetensors/single/model.safetensors"))
        let names = ["w_f32", "w_f16", "w_bf16"]
        let serial = try names.map { try file.tensor($0).array.map(\.bitPattern) }
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let got = try? file.tensor(names[i % 3]).array.map(\.bitPattern)
            XCTAssertEqual(got, serial[i % 3])
        }
    }

    // MARK: - Conversions

    func testHalfBitFormulaMatchesFloat16ForAllPatterns() {
        for bits in 0...UInt16.max {
            let reference = Float(Float16(bitPattern: bits))
            let got = halfBitsToFloat(bits)
            if reference.isNaN {
                XCTAssertTrue(got.isNaN, "0x\(String(bits, radix: 16))")
            } else if got.bitPattern != reference.bitPattern {
                XCTFail("0x\(String(bits, radix: 16)): \(got) != \(reference)")
            }
        }
    }

    func testConversionLoopsReadUnalignedSources() {
        // [pad, 1.0, -2.0] as F16 and as BF16, starting one byte into the buffer.
        let f16: [UInt8] = [0xAA, 0x00, 0x3C, 0x00, 0xC0]
        let bf16: [UInt8] = [0xAA, 0x80, 0x3F, 0x00, 0xC0]
        var out = [Float](repeating: 0, count: 2)
        f16.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { convertF16ToF32(from: raw.baseAddress! + 1, to: $0.baseAddress!, count: 2) } }
        XCTAssertEqual(out, [1, -2])
        out = [0, 0]
        bf16.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { convertBF16ToF32(from: raw.baseAddress! + 1, to: $0.baseAddress!, count: 2) } }
        XCTAssertEqual(out, [1, -2])
    }

    // MARK: - Errors

    func testUnsupportedDTypeIsReadButRejectedWhenLoaded() throws {
        let file = try SafetensorsFile(url: Fixtures.url("safetensors/single/model.safetensors"))
        XCTAssertEqual(file.entries["position_ids"]?.dtype, "I64")
        let error = assertCheckpointError(.unsupportedDType, []) { try file.tensor("position_ids") }
        XCTAssertEqual(error?.message, "tensor 'position_ids' in model.safetensors has dtype I64; focus loads F32, F16 and BF16")
    }

    func testMissingTensorNamesTensorAndFile() throws {
        let file = try SafetensorsFile(url: Fixtures.url("safetensors/single/model.safetensors"))
        assertCheckpointError(.missingTensor, ["'nope'", "model.safetensors"]) { try file.tensor("nope") }
    }

    func testMissingFile() {
        assertCheckpointError(.notFound, ["safetensors/absent.safetensors", "does not exist"]) {
            try SafetensorsFile(url: Fixtures.url("safetensors/absent.safetensors"))
        }
    }

    func testFileShorterThanLengthPrefix() {
        assertCheckpointError(.truncated, ["corrupt/short.safetensors has only 5 bytes", "truncated or not a safetensors file"]) {
            try SafetensorsFile(url: Self.corrupt("short"))
        }
    }

    func testHeaderLongerThanFile() {
        let message = "corrupt/header_too_long.safetensors: header says 123456 bytes but the file has only 1000 after the length prefix: the file is truncated or not a safetensors file"
        let error = assertCheckpointError(.truncated, [message]) { try SafetensorsFile(url: Self.corrupt("header_too_long")) }
        XCTAssertEqual(error?.message, Self.corrupt("header_too_long").path + message.dropFirst("corrupt/header_too_long.safetensors".count))
    }

    func testHeaderOverTheCap() {
        assertCheckpointError(.malformed, ["header_over_cap.safetensors: header says 1099511627776 bytes", "100000000-byte limit"]) {
            try SafetensorsFile(url: Self.corrupt("header_over_cap"))
        }
    }

    func testHeaderNotJSON() {
        assertCheckpointError(.malformed, ["garbage_json.safetensors", "header is not valid JSON"]) {
            try SafetensorsFile(url: Self.corrupt("garbage_json"))
        }
        assertCheckpointError(.malformed, ["not_object.safetensors", "not a JSON object"]) {
            try SafetensorsFile(url: Self.corrupt("not_object"))
        }
    }

    func testTruncatedDataIsRejectedWhenOpened() {
        // 'b' (16 floats) ends 10 bytes past the end of the file.
        assertCheckpointError(.truncated, ["truncated_data.safetensors", "tensor 'b' needs data bytes [16, 80)", "only 70", "truncated"]) {
            try SafetensorsFile(url: Self.corrupt("truncated_data"))
        }
    }

    func testInvalidTensorFields() {
        let cases: [(String, [String])] = [
            ("size_mismatch", ["tensor 'w'", "12 data bytes", "F32 and shape [2, 2] need 16"]),
            ("negative_shape", ["tensor 'w' has shape [-1, 4]", "not a non-negative integer"]),
            ("reversed_offsets", ["tensor 'w'", "[8, 4]", "end before they begin"]),
            ("missing_field", ["tensor 'w'", "\"data_offsets\""]),
            ("bad_metadata", ["__metadata__ field 'format' is not a string"]),
            ("shape_overflow", ["tensor 'w'", "element count overflows"]),
        ]
        for (name, fragments) in cases {
            assertCheckpointError(.malformed, ["\(name).safetensors"] + fragments) { try SafetensorsFile(url: Self.corrupt(name)) }
        }
    }

    // MARK: - Timing

    /// Set FOCUS_BENCH=1 to time a 100 MB F16 tensor (build with -c release for meaningful numbers).
    func testTimeLoading100MBOfF16() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["FOCUS_BENCH"] != nil, "set FOCUS_BENCH=1 to run")
        let count = 50_000_000  // 100 MB of F16
        let url = try temporaryDirectory(self).appendingPathComponent("big.safetensors")
        var header = Array(#"{"x":{"dtype":"F16","shape":[\#(count)],"data_offsets":[0,\#(2 * count)]}}"#.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(8 + header.count + 2 * count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: header)
        for i in 0..<count { withUnsafeBytes(of: Float16(Float(i % 1000) / 7).bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        try Data(bytes).write(to: url)
        bytes = []
        for attempt in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            let file = try SafetensorsFile(url: url)
            let tensor = try file.tensor("x")
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            XCTAssertEqual(tensor.pointer[999], Float(Float16(Float(999) / 7)))
            print("load 100 MB F16 (attempt \(attempt)): \(String(format: "%.3f", seconds)) s")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let storage = TensorStorage(count: count)  // the zero-filled destination alone, for comparison
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("of which allocating 200 MB of Float32: \(String(format: "%.3f", seconds)) s (\(storage.count))")
    }

    static func corrupt(_ name: String) -> URL { Fixtures.url("safetensors/corrupt/\(name).safetensors") }
}
