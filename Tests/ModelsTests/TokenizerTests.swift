import Foundation
import XCTest

@testable import Models

/// Golden cases from `scripts/fixtures/make_tokenizer_fixtures.py`: ids and decodes computed by the
/// Python `tokenizers`/`transformers` libraries on the committed tokenizer files.
final class TokenizerTests: XCTestCase {
    struct CaseFile: Decodable {
        let tokenizer: String
        let vocabulary_size: Int
        let cases: [Case]
    }

    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_special: [Int]
        let decoded: String
        let decoded_skip: String
    }

    private func loadCases(_ name: String) throws -> (Tokenizer, CaseFile) {
        let data = try Data(contentsOf: Fixtures.url("tokenizer-cases/\(name).json"))
        let file = try JSONDecoder().decode(CaseFile.self, from: data)
        let tokenizer = try Tokenizer(directory: Fixtures.url(file.tokenizer))
        return (tokenizer, file)
    }

    /// Checks every case and reports each mismatch with the input, so one run shows all failures.
    private func checkGoldenCases(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (tokenizer, cases) = try loadCases(name)
        XCTAssertGreaterThanOrEqual(cases.cases.count, 100, file: file, line: line)
        XCTAssertEqual(tokenizer.vocabularySize, cases.vocabulary_size, "\(name): vocabulary size", file: file, line: line)
        for golden in cases.cases {
            let input = golden.text.debugDescription
            XCTAssertEqual(tokenizer.encode(golden.text, addSpecialTokens: false), golden.ids,
                           "\(name): ids of \(input)", file: file, line: line)
            XCTAssertEqual(tokenizer.encode(golden.text, addSpecialTokens: true), golden.ids_special,
                           "\(name): ids_special of \(input)", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(golden.ids_special, skipSpecialTokens: false), golden.decoded,
                           "\(name): decode of \(input)", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(golden.ids_special, skipSpecialTokens: true), golden.decoded_skip,
                           "\(name): decode (skip special) of \(input)", file: file, line: line)
        }
    }

    // MARK: - Golden cases

    func testLlavaSentencePieceMatchesPython() throws { try checkGoldenCases("tiny-llava-sp") }
    func testLlavaByteLevelMatchesPython() throws { try checkGoldenCases("tiny-llava-bl") }
    func testMetaspaceFirstMatchesPython() throws { try checkGoldenCases("metaspace") }
    func testMetaspaceAlwaysMatchesPython() throws { try checkGoldenCases("metaspace-always") }
    func testGPT2MatchesPython() throws { try checkGoldenCases("gpt2") }

    // MARK: - LLaVA specifics

    func testLlavaPromptHasSpaceTokenAfterImage() throws {
        let tokenizer = try Tokenizer(directory: Fixtures.url("models/tiny-llava-sp"))
        let image = try XCTUnwrap(tokenizer.id(forToken: "<image>"))
        let ids = tokenizer.encode("USER: <image>\nWhat", addSpecialTokens: true)
        let at = try XCTUnwrap(ids.firstIndex(of: image))
        // Legacy LLaMA normalizes each stretch after an added token on its own: "▁" then "<0x0A>".
        XCTAssertEqual(tokenizer.token(forID: ids[at + 1]), "▁")
        XCTAssertEqual(tokenizer.token(forID: ids[at + 2]), "<0x0A>")
        XCTAssertEqual(ids.first, tokenizer.bosTokenID)
    }

    func testSpecialTokenIDs() throws {
        let sp = try Tokenizer(directory: Fixtures.url("models/tiny-llava-sp"))
        XCTAssertEqual(sp.bosTokenID, 1)
        XCTAssertEqual(sp.eosTokenID, 2)
        XCTAssertEqual(sp.id(forToken: "<image>"), 1000)
        XCTAssertEqual(sp.id(forToken: "<pad>"), 1001)
        XCTAssertEqual(sp.token(forID: 13), "<0x0A>")
        XCTAssertEqual(sp.vocabularySize, 1002)

        let bl = try Tokenizer(directory: Fixtures.url("models/tiny-llava-bl"))
        XCTAssertNil(bl.bosTokenID)
        XCTAssertEqual(bl.eosTokenID, bl.id(forToken: "<|endoftext|>"))
        XCTAssertNotNil(bl.id(forToken: "<image>"))
        XCTAssertNil(bl.id(forToken: "definitely not a token"))
        XCTAssertNil(bl.token(forID: 1_000_000))
    }

    // MARK: - Errors

    private func assertThrows(_ expected: String, _ body: () throws -> Tokenizer,
                              file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected an error containing \(expected)", file: file, line: line)
        } catch {
            XCTAssertTrue("\(error)".contains(expected), "\(error)", file: file, line: line)
        }
    }

    func testMissingFile() {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("focus-no-tokenizer-\(UUID())")
        assertThrows("tokenizer.json does not exist") { try Tokenizer(directory: directory) }
    }

    func testMalformedJSON() {
        assertThrows("tokenizer.json: malformed JSON") {
            try Tokenizer(tokenizerJSON: Data("{\"model\": ".utf8), tokenizerConfigJSON: nil)
        }
        assertThrows("tokenizer_config.json: malformed JSON") {
            try Tokenizer(tokenizerJSON: Data(#"{"model": {"type": "BPE", "vocab": {}, "merges": []}}"#.utf8),
                          tokenizerConfigJSON: Data("[1,".utf8))
        }
    }

    func testUnsupportedModelType() {
        let json = #"{"model": {"type": "WordPiece", "vocab": {"a": 0}}}"#
        assertThrows("tokenizer.json: model.type 'WordPiece' is not supported; focus reads BPE tokenizers") {
            try Tokenizer(tokenizerJSON: Data(json.utf8), tokenizerConfigJSON: nil)
        }
    }

    func testMissingAndMistypedFields() {
        assertThrows("tokenizer.json: model is missing") {
            try Tokenizer(tokenizerJSON: Data("{}".utf8), tokenizerConfigJSON: nil)
        }
        assertThrows("tokenizer.json: model.merges is missing") {
            try Tokenizer(tokenizerJSON: Data(#"{"model": {"type": "BPE", "vocab": {}}}"#.utf8), tokenizerConfigJSON: nil)
        }
        assertThrows("model.merges[0] names 'b'") {
            try Tokenizer(tokenizerJSON: Data(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#.utf8),
                          tokenizerConfigJSON: nil)
        }
        assertThrows("tokenizer.json: pre_tokenizer type 'UnicodeScripts' is not supported") {
            try Tokenizer(tokenizerJSON: Data(#"{"pre_tokenizer": {"type": "UnicodeScripts"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}"#.utf8),
                          tokenizerConfigJSON: nil)
        }
    }

    // MARK: - Speed

    func testEncodingAPromptIsFast() throws {
        for directory in ["models/tiny-llava-sp", "models/tiny-llava-bl"] {
            let tokenizer = try Tokenizer(directory: Fixtures.url(directory))
            let sentence = "USER: <image>\nIs there a red triangle in the image? Answer Yes or No. ASSISTANT: Yes. "
            let text = String(repeating: sentence, count: 24)  // about 2000 characters
            _ = tokenizer.encode(text, addSpecialTokens: true)
            let start = Date()
            let rounds = 20
            for _ in 0..<rounds { _ = tokenizer.encode(text, addSpecialTokens: true) }
            let milliseconds = Date().timeIntervalSince(start) * 1000 / Double(rounds)
            print("\(directory): encoding \(text.unicodeScalars.count) characters takes \(String(format: "%.2f", milliseconds)) ms")
            XCTAssertLessThan(milliseconds, 250)
        }
    }
}
