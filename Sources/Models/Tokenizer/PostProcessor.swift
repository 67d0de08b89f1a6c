import Foundation

// The `post_processor` stage: the special tokens around a single sequence (`<s>` for LLaMA, nothing
// for Qwen2). It runs only when special tokens are requested; pairs of sequences are not supported.

protocol PostProcessor: Sendable {
    func process(_ ids: [Int]) -> [Int]
}

/// Builds the post-processor described by `field` (`tokenizer.json`'s `post_processor`).
func makePostProcessor(_ field: JSONField) throws -> any PostProcessor {
    switch try field.typeName() {
    case "Sequence":
        return SequenceProcessor(steps: try field.required("processors").array().map(makePostProcessor))
    case "TemplateProcessing":
        return try TemplateProcessor(field: field)
    case "ByteLevel":
        // Only trims offsets, which focus does not report.
        return SequenceProcessor(steps: [])
    case "RobertaProcessing", "BertProcessing":
        return TemplateProcessor(pieces: [.special([try specialID(field, "cls")]), .sequence,
                                          .special([try specialID(field, "sep")])])
    case let other:
        throw field.error("type '\(other)' is not supported; focus reads Sequence, TemplateProcessing, ByteLevel, "
                          + "RobertaProcessing and BertProcessing post-processors")
    }
}

/// The id of Bert/Roberta's `["</s>", 2]`-style token fields.
private func specialID(_ field: JSONField, _ key: String) throws -> Int {
    let pair = try field.required(key).array()
    guard pair.count == 2 else { throw try field.required(key).error("must be [token, id]") }
    return try pair[1].int()
}

// MARK: - Processors

struct SequenceProcessor: PostProcessor {
    let steps: [any PostProcessor]

    func process(_ ids: [Int]) -> [Int] {
        steps.reduce(ids) { $1.process($0) }
    }
}

/// `TemplateProcessing`'s `single` template, e.g. `<s> $A` -> [1] + ids.
struct TemplateProcessor: PostProcessor {
    enum Piece {
        case sequence
        case special([Int])
    }

    let pieces: [Piece]

    init(pieces: [Piece]) { self.pieces = pieces }

    init(field: JSONField) throws {
        // special_tokens: {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}
        var specialIDs: [String: [Int]] = [:]
        if let specials = field.optional("special_tokens") {
            for (name, entry) in try specials.members() {
                specialIDs[name] = try entry.required("ids").array().map { try $0.int() }
            }
        }
        let single = try field.required("single")
        var pieces: [Piece] = []
        if case .string(let text) = single.value {
            // The constructor form "<s>:0 $A:0", accepted for hand-written files.
            for word in text.unicodeScalars.split(separator: " ") {
                let name = String(String.UnicodeScalarView(word.split(separator: ":", maxSplits: 1).first ?? word))
                if name.hasPrefix("$") {
                    pieces.append(.sequence)
                } else if let ids = specialIDs[name] {
                    pieces.append(.special(ids))
                } else {
                    throw single.error("names '\(name)', which is not in special_tokens")
                }
            }
        } else {
            for piece in try single.array() {
                if piece.optional("Sequence") != nil {
                    pieces.append(.sequence)
                } else if let special = piece.optional("SpecialToken") {
                    let name = try special.required("id").string()
                    guard let ids = specialIDs[name] else {
                        throw special.error("names '\(name)', which is not in special_tokens")
                    }
                    pieces.append(.special(ids))
                } else {
                    throw piece.error("must be {\"Sequence\": …} or {\"SpecialToken\": …}")
                }
            }
        }
        self.pieces = pieces
    }

    func process(_ ids: [Int]) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(ids.count + 4)
        for piece in pieces {
            switch piece {
            case .sequence: result.append(contentsOf: ids)
            case .special(let special): result.append(contentsOf: special)
            }
        }
        return result
    }
}
