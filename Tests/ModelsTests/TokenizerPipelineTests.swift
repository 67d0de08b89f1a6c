import Foundation
import XCTest

@testable import Models

/// Pipeline details that the golden cases do not reach, on small hand-written tokenizer files.
/// Expected values were checked against the Python `tokenizers` library (0.23).
final class TokenizerPipelineTests: XCTestCase {
    private func tokenizer(_ json: String, config: String? = nil) throws -> Tokenizer {
        try Tokenizer(tokenizerJSON: Data(json.utf8), tokenizerConfigJSON: config.map { Data($0.utf8) })
    }

    /// A SentencePiece-style file whose vocabulary has two canonically equivalent spellings of "ά"
    /// (U+03AC and U+1F71), as the real LLaMA vocabulary does. Swift's `String` equality would merge them.
    private let canonicalPairs = #"""
        {"normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
           {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
         "added_tokens": [{"id": 0, "content": "<unk>", "special": true, "normalized": false,
           "single_word": false, "lstrip": false, "rstrip": false}],
         "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": false, "fuse_unk": true,
           "vocab": {"<unk>": 0, "▁": 1, "\u03ac": 2, "\u1f71": 3, "e": 4, "\u0301": 5, "e\u0301": 6, "é": 7},
           "merges": ["e \u0301"]},
         "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
           {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}}
        """#

    func testCanonicallyEquivalentTokensStayDistinct() throws {
        let tokenizer = try tokenizer(canonicalPairs)
        XCTAssertEqual(tokenizer.vocabularySize, 8)
        XCTAssertEqual(tokenizer.id(forToken: "\u{03AC}"), 2)
        XCTAssertEqual(tokenizer.id(forToken: "\u{1F71}"), 3)
        XCTAssertEqual(tokenizer.encode("\u{03AC}\u{1F71}", addSpecialTokens: false), [1, 2, 3])
        // The legacy "a b" merge whose right side is a lone combining mark.
        XCTAssertEqual(tokenizer.encode("e\u{301}é", addSpecialTokens: false), [1, 6, 7])
        XCTAssertEqual(tokenizer.decode([1, 6, 7], skipSpecialTokens: false).unicodeScalars.map(\.value),
                       [0x65, 0x301, 0xE9])
        // Unknown characters fuse into one <unk>.
        XCTAssertEqual(tokenizer.encode("xyz", addSpecialTokens: false), [1, 0])
    }

    func testConfigControlsSpecialTokens() throws {
        let sp = try Data(contentsOf: Fixtures.url("models/tiny-llava-sp/tokenizer.json"))
        let text = "Is there a star?"
        let plain = try Tokenizer(tokenizerJSON: sp, tokenizerConfigJSON: nil)
        XCTAssertEqual(plain.encode(text, addSpecialTokens: true).first, 1)
        XCTAssertNil(plain.bosTokenID)

        // Names from the config give bosTokenID/eosTokenID; add_bos_token/add_eos_token do not change
        // the template, because transformers ignores them when tokenizer.json exists.
        let configured = try Tokenizer(tokenizerJSON: sp, tokenizerConfigJSON: Data(
            #"{"bos_token": {"content": "<s>"}, "eos_token": "</s>", "add_bos_token": false, "add_eos_token": true}"#.utf8))
        XCTAssertEqual(configured.encode(text, addSpecialTokens: true), plain.encode(text, addSpecialTokens: true))
        XCTAssertEqual(configured.bosTokenID, 1)
        XCTAssertEqual(configured.eosTokenID, 2)

        // A special token named only in the config becomes an added token (transformers adds it).
        let extra = try Tokenizer(tokenizerJSON: sp, tokenizerConfigJSON: Data(
            #"{"extra_special_tokens": {"video_token": "<video>"}}"#.utf8))
        XCTAssertEqual(extra.id(forToken: "<video>"), 1002)
        XCTAssertEqual(extra.vocabularySize, 1003)
        XCTAssertEqual(extra.encode("a<video>", addSpecialTokens: false).last, 1002)
        XCTAssertEqual(extra.decode([1002, 300], skipSpecialTokens: true), plain.decode([300], skipSpecialTokens: true))
    }

    func testDecodingPartialCharacters() throws {
        let sp = try Tokenizer(directory: Fixtures.url("models/tiny-llava-sp"))
        let bytes = ["<0xE6>", "<0x97>", "▁red", "<0xE6>", "<0x97>", "<0xA5>", "<0xFF>"].compactMap { sp.id(forToken: $0) }
        XCTAssertEqual(bytes.count, 7)
        // Each byte of an invalid run becomes U+FFFD (ByteFallback).
        XCTAssertEqual(sp.decode(bytes, skipSpecialTokens: false), "\u{FFFD}\u{FFFD} red\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}")
        // Unknown ids are skipped.
        XCTAssertEqual(sp.decode([300, 5000, 301], skipSpecialTokens: false), sp.decode([300, 301], skipSpecialTokens: false))

        let bl = try Tokenizer(directory: Fixtures.url("models/tiny-llava-bl"))
        let ids = bl.encode("日本", addSpecialTokens: false)
        // ByteLevel replaces each maximal invalid UTF-8 subsequence, as Rust's from_utf8_lossy does.
        XCTAssertEqual(bl.decode(Array(ids.dropLast()), skipSpecialTokens: false), "日\u{FFFD}")
        XCTAssertEqual(bl.decode(Array(ids.dropFirst()), skipSpecialTokens: false), "\u{FFFD}\u{FFFD}本")
    }

    func testJSONParser() throws {
        let value = try JSONParser.parse(Data(#" {"a": [1, -2.5e1, true, null, "x\u00e9\ud83d\ude00\n"], "b": {}} "#.utf8))
        guard case .object(let members) = value, members.count == 2, case .array(let items) = members[0].value,
            items.count == 5, case .number(-25, nil) = items[1], case .string(let text) = items[4]
        else { return XCTFail("unexpected parse: \(value)") }
        XCTAssertEqual(text, "xé😀\n")
        XCTAssertThrowsError(try JSONParser.parse(Data("{} x".utf8)))
        XCTAssertThrowsError(try JSONParser.parse(Data(#"{"a": "unterminated}"#.utf8)))
        XCTAssertThrowsError(try JSONParser.parse(Data(String(repeating: "[", count: 1000).utf8)))
    }

    func testTemplateNamesUnknownSpecialToken() {
        let json = #"""
            {"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
             "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
               {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {}}}
            """#
        XCTAssertThrowsError(try tokenizer(json)) { error in
            XCTAssertTrue("\(error)".contains("post_processor.single[0].SpecialToken names '<s>'"), "\(error)")
        }
    }
}
