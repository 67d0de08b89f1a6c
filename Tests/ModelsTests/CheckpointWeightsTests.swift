import Foundation
import Tensors
import XCTest

@testable import Models

final class CheckpointWeightsTests: XCTestCase {
    // MARK: - Layouts

    func testSingleFile() throws {
        let weights = try CheckpointWeights(directory: Fixtures.url("safetensors/single"))
        let expected = try ExpectedTensor.load("safetensors/single/expected.json")
        XCTAssertEqual(weights.names, expected.keys.sorted())
        XCTAssertEqual(weights.files.map(\.url.lastPathComponent), ["model.safetensors"])
        XCTAssertTrue(weights.contains("w_bf16"))
        XCTAssertFalse(weights.contains("w_bf"))
        XCTAssertEqual(weights.shape(of: "w_bf16"), [2, 3, 4])
        XCTAssertNil(weights.shape(of: "nope"))
        for name in ["w_f32", "w_f16", "w_bf16", "scalar", "empty"] {
            assertValues(try weights.tensor(name, shape: expected[name]!.shape), expected[name]!, name)
        }
    }

    func testShardedOpensOnlyTheIndexedShards() throws {
        // The directory also holds stray.safetensors, which is not a safetensors file: opening it would throw.
        let weights = try CheckpointWeights(directory: Fixtures.url("safetensors/sharded"))
        let expected = try ExpectedTensor.load("safetensors/sharded/expected.json")
        XCTAssertEqual(weights.files.map(\.url.lastPathComponent), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        XCTAssertEqual(weights.names, expected.keys.sorted())
        for (name, want) in expected {
            XCTAssertEqual(weights.entry(name)?.file.lastPathComponent, want.file, name)
            XCTAssertEqual(weights.entry(name)?.entry.byteRange, want.byteRange[0]..<want.byteRange[1], name)
            assertValues(try weights.tensor(name, shape: want.shape), want, name)
        }
    }

    func testLooseFilesWhenThereIsNoIndex() throws {
        let weights = try CheckpointWeights(directory: Fixtures.url("safetensors/loose"))
        let expected = try ExpectedTensor.load("safetensors/loose/expected.json")
        XCTAssertEqual(weights.names, ["decoder.weight", "encoder.weight"])
        XCTAssertEqual(weights.files.map(\.url.lastPathComponent), ["decoder.safetensors", "encoder.safetensors"])
        for (name, want) in expected {
            assertValues(try weights.tensor(name, shape: want.shape), want, name)
        }
    }

    // MARK: - Name resolution

    func testFirstPrefix() throws {
        let weights = try CheckpointWeights(directory: Fixtures.url("safetensors/sharded"))
        let vision = ["vision_tower.vision_model.", "model.vision_tower.vision_model.", "model.vision_tower.", "vision_tower."]
        XCTAssertEqual(weights.firstPrefix(among: vision), "model.vision_tower.vision_model.")
        XCTAssertEqual(weights.firstPrefix(among: ["language_model.model.", "model.language_model."]), "model.language_model.")
        XCTAssertEqual(weights.firstPrefix(among: ["lm_head."]), "lm_head.")
        XCTAssertEqual(weights.firstPrefix(among: ["", "lm_head."]), "")
        XCTAssertNil(weights.firstPrefix(among: ["vision_tower.", "zzz", "a"]))
        XCTAssertNil(weights.firstPrefix(among: []))
    }

    func testAnyOfTakesTheFirstCandidateThatExists() throws {
        let weights = try CheckpointWeights(directory: Fixtures.url("safetensors/sharded"))
        let expected = try ExpectedTensor.load("safetensors/sharded/expected.json")
        let name = "model.multi_modal_projector.linear_1.weight"
        let tensor = try weights.tensor(anyOf: ["multi_modal_projector.linear_1.weight", name, "lm_head.weight"], shape: [4, 8])
        assertValues(tensor, expected[name]!, name)
    }

    // MARK: - Lookup errors

    func testMissingTensorListsEveryCandidate() throws {
        let weights = try CheckpointWeights(directory: Fixtures.url("safetensors/sharded"))
        let dir = Fixtures.url("safetensors/sharded").path
        assertCheckpointError(.missingTensor, ["none of the tensors 'a.linear_2.weight', 'b.linear_2.weight' is in checkpoint \(dir)"]) {
            try weights.tensor(anyOf: ["a.linear_2.weight", "b.linear_2.weight"], shape: [4, 8])
        }
        // A layout mismatch: the message shows the name that is there.
        assertCheckpointError(.missingTensor, ["tensor 'multi_modal_projector.linear_1.weight' is not in checkpoint", "'model.multi_modal_projector.linear_1.weight'"]) {
            try weights.tensor("multi_modal_projector.linear_1.weight", shape: [4, 8])
        }
    }

    func testWrongShapeNamesTensorFileAndBothShapes() throws {
        let weights = try CheckpointWeights(directory: Fixtures.url("safetensors/sharded"))
        let error = assertCheckpointError(.shapeMismatch, []) { try weights.tensor("lm_head.weight", shape: [4, 10]) }
        XCTAssertEqual(
            error?.message,
            "tensor 'lm_head.weight' in model-00002-of-00002.safetensors has shape [10, 4] but [4, 10] was expected: the checkpoint does not match its config"
        )
    }

    func testUnsupportedDTypeThroughTheCheckpoint() throws {
        let weights = try CheckpointWeights(directory: Fixtures.url("safetensors/single"))
        assertCheckpointError(.unsupportedDType, ["tensor 'position_ids' in model.safetensors has dtype I64; focus loads F32, F16 and BF16"]) {
            try weights.tensor("position_ids", shape: [1, 6])
        }
    }

    // MARK: - Directory errors

    func testDirectoryDoesNotExist() {
        let url = Fixtures.url("safetensors/no_such_dir")
        assertCheckpointError(.notFound, ["checkpoint directory \(url.path) does not exist"]) { try CheckpointWeights(directory: url) }
    }

    func testDirectoryIsAFile() {
        let url = Fixtures.url("safetensors/single/model.safetensors")
        assertCheckpointError(.notFound, ["\(url.path) is a file"]) { try CheckpointWeights(directory: url) }
    }

    func testNoSafetensorsInDirectory() {
        let url = Fixtures.url("safetensors/no_weights")
        assertCheckpointError(.noWeights, ["no safetensors in \(url.path)"]) { try CheckpointWeights(directory: url) }
    }

    func testIndexNamesMissingShard() {
        let url = Fixtures.url("safetensors/missing_shard")
        assertCheckpointError(.notFound, ["model.safetensors.index.json names shard model-00002-of-00002.safetensors (for 'b')", "not in \(url.path)"]) {
            try CheckpointWeights(directory: url)
        }
    }

    func testMalformedIndex() {
        let url = Fixtures.url("safetensors/bad_index")
        assertCheckpointError(.malformed, ["\(url.path)/model.safetensors.index.json is not valid JSON"]) { try CheckpointWeights(directory: url) }
    }

    func testIndexMapsTensorToShardThatLacksIt() {
        assertCheckpointError(.missingTensor, ["maps tensor 'ghost' to model-00001-of-00001.safetensors", "has no such tensor"]) {
            try CheckpointWeights(directory: Fixtures.url("safetensors/index_mismatch"))
        }
    }

    func testSameTensorInTwoLooseFiles() {
        assertCheckpointError(.duplicateTensor, ["tensor 'w' is in both a.safetensors and b.safetensors"]) {
            try CheckpointWeights(directory: Fixtures.url("safetensors/duplicate"))
        }
    }

    func testCorruptModelFileNamesItsPath() throws {
        let dir = try temporaryDirectory(self)
        let target = dir.appendingPathComponent("model.safetensors")
        try FileManager.default.copyItem(at: SafetensorsFileTests.corrupt("header_too_long"), to: target)
        let error = assertCheckpointError(.truncated, []) { try CheckpointWeights(directory: dir) }
        XCTAssertEqual(
            error?.message,
            "\(target.path): header says 123456 bytes but the file has only 1000 after the length prefix: the file is truncated or not a safetensors file"
        )
    }
}
