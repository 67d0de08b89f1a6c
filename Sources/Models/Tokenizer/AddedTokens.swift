import Foundation

// Added tokens (`added_tokens` in `tokenizer.json`: `<s>`, `<image>`, `<|im_start|>`, …) are cut out
// of the text before anything else runs, as `tokenizers`' `AddedVocabulary::extract_and_normalize`
// does:
//   1. tokens with `normalized: false` are matched on the raw text;
//   2. every stretch between them is normalized on its own, then tokens with `normalized: true` are
//      matched on the normalized stretch (against their normalized content).
// Matching is leftmost-longest and non-overlapping; `single_word`, `lstrip` and `rstrip` are applied
// to each match in turn.

/// One entry of `added_tokens`.
struct AddedToken {
    var content: String
    var singleWord = false
    var lstrip = false
    var rstrip = false
    var normalized = true
    var special = false

    init(content: String, special: Bool, normalized: Bool) {
        self.content = content
        self.special = special
        self.normalized = normalized
    }

    init(field: JSONField) throws {
        content = try field.required("content").string()
        singleWord = try field.bool("single_word", default: false)
        lstrip = try field.bool("lstrip", default: false)
        rstrip = try field.bool("rstrip", default: false)
        special = try field.bool("special", default: false)
        normalized = try field.bool("normalized", default: !special)
    }

    /// Same content (byte for byte) and the same matching options.
    func isIdentical(to other: AddedToken) -> Bool {
        ExactString(content) == ExactString(other.content) && singleWord == other.singleWord
            && lstrip == other.lstrip && rstrip == other.rstrip && normalized == other.normalized
            && special == other.special
    }
}

/// A stretch of input after added-token extraction: an added token's id, or text still to tokenize.
enum Segment {
    case token(Int)
    case text(TextPiece)
}

final class AddedVocabulary: Sendable {
    /// Added token by id, and id by content.
    let tokens: [Int: AddedToken]
    let ids: [ExactString: Int]
    /// Contents of the special tokens; `decode(skipSpecialTokens: true)` drops these.
    let specialContents: Set<ExactString>
    /// What a `normalized` token looks like after the normalizer, where that differs from `content`.
    let normalizedContents: [Int: String]

    private let rawMatcher: TokenMatcher
    private let normalizedMatcher: TokenMatcher
    private let normalizer: (any Normalizer)?

    /// Adds `batches` in order with `tokenizers`' `add_tokens` rules: a content already known (to
    /// the model or an earlier entry) keeps its id, anything else gets the next id after the model
    /// vocabulary. The ids written in the file are not consulted, exactly as in Python.
    init(batches: [[AddedToken]], model: BPEModel, normalizer: (any Normalizer)?) {
        var tokens: [Int: AddedToken] = [:]
        var ids: [ExactString: Int] = [:]
        for batch in batches {
            var nextID = model.vocab.count
            if let maxID = tokens.keys.max() {
                nextID = maxID >= model.vocab.count || model.vocab.isEmpty ? maxID + 1 : model.vocab.count
            }
            for token in batch where !token.content.isEmpty {
                let key = ExactString(token.content)
                if let id = ids[key], let existing = tokens[id], existing.isIdentical(to: token) { continue }
                let id: Int
                if let known = ids[key] ?? model.vocab[key] {
                    id = known
                } else {
                    id = nextID
                    nextID += 1
                }
                ids[key] = id
                tokens[id] = token
            }
        }
        self.tokens = tokens
        self.ids = ids
        self.normalizer = normalizer

        var specialContents = Set<ExactString>()
        var normalizedContents: [Int: String] = [:]
        var raw: [(pattern: [Unicode.Scalar], id: Int)] = []
        var normalizedPatterns: [(pattern: [Unicode.Scalar], id: Int)] = []
        for (id, token) in tokens {
            if token.special { specialContents.insert(ExactString(token.content)) }
            let scalars = Array(token.content.unicodeScalars)
            if token.normalized {
                let pattern = normalizer?.normalize(scalars) ?? scalars
                if pattern != scalars { normalizedContents[id] = String(scalars: pattern) }
                normalizedPatterns.append((pattern, id))
            } else {
                raw.append((scalars, id))
            }
        }
        self.specialContents = specialContents
        self.normalizedContents = normalizedContents
        rawMatcher = TokenMatcher(raw)
        normalizedMatcher = TokenMatcher(normalizedPatterns)
    }

    /// The token text Python reports for `id` (the normalized form for normalized tokens).
    func token(forID id: Int) -> String? {
        normalizedContents[id] ?? tokens[id]?.content
    }

    /// Cuts `text` into added tokens and normalized stretches of text.
    func extractAndNormalize(_ text: [Unicode.Scalar]) -> [Segment] {
        var segments: [Segment] = []
        for first in split(TextPiece(text, startsText: true), matcher: rawMatcher) {
            guard case .text(let piece) = first else {
                segments.append(first)
                continue
            }
            var normalized = piece
            if let normalizer { normalized.scalars = normalizer.normalize(piece.scalars) }
            segments.append(contentsOf: split(normalized, matcher: normalizedMatcher))
        }
        return segments
    }

    /// `AddedVocabulary::find_matches` + `split_with_indices` on one piece; empty text is dropped.
    private func split(_ piece: TextPiece, matcher: TokenMatcher) -> [Segment] {
        let text = piece.scalars
        if text.isEmpty { return [] }
        if matcher.isEmpty { return [.text(piece)] }
        var segments: [Segment] = []
        var emitted = 0  // end of what has been emitted so far
        var searchFrom = 0  // matches are found non-overlapping from the previous match's end
        while let match = matcher.leftmostLongest(in: text, from: searchFrom) {
            searchFrom = match.range.upperBound
            guard let token = tokens[match.id] else { continue }
            var start = match.range.lowerBound
            var stop = match.range.upperBound
            if token.singleWord {
                let wordBefore = start > 0 && UnicodeClass.isWord(text[start - 1])
                let wordAfter = stop < text.count && UnicodeClass.isWord(text[stop])
                if wordBefore || wordAfter { continue }
            }
            if token.lstrip {
                var newStart = start
                while newStart > 0 && UnicodeClass.isWhitespace(text[newStart - 1]) { newStart -= 1 }
                start = max(newStart, emitted)
            }
            if token.rstrip {
                while stop < text.count && UnicodeClass.isWhitespace(text[stop]) { stop += 1 }
            }
            if emitted < start {
                segments.append(.text(TextPiece(Array(text[emitted..<start]),
                                                startsText: piece.startsText && emitted == 0)))
            }
            segments.append(.token(match.id))
            emitted = max(emitted, stop)
        }
        if emitted < text.count {
            segments.append(.text(TextPiece(Array(text[emitted...]), startsText: piece.startsText && emitted == 0)))
        }
        return segments
    }
}

// MARK: - Matching

/// Leftmost-longest matching of a small set of literal patterns (what the Aho-Corasick automaton in
/// `tokenizers` computes). Added vocabularies are small, so candidates are bucketed by first scalar.
struct TokenMatcher: Sendable {
    private let byFirstScalar: [Unicode.Scalar: [(pattern: [Unicode.Scalar], id: Int)]]

    init(_ patterns: [(pattern: [Unicode.Scalar], id: Int)]) {
        var buckets: [Unicode.Scalar: [(pattern: [Unicode.Scalar], id: Int)]] = [:]
        for entry in patterns {
            guard let first = entry.pattern.first else { continue }
            buckets[first, default: []].append(entry)
        }
        // Longest first, so the first hit at a position is the longest one there.
        byFirstScalar = buckets.mapValues { $0.sorted { $0.pattern.count > $1.pattern.count } }
    }

    var isEmpty: Bool { byFirstScalar.isEmpty }

    func leftmostLongest(in text: [Unicode.Scalar], from start: Int) -> (range: Range<Int>, id: Int)? {
        var position = start
        while position < text.count {
            if let candidates = byFirstScalar[text[position]] {
                for candidate in candidates where position + candidate.pattern.count <= text.count {
                    if text[position..<position + candidate.pattern.count].elementsEqual(candidate.pattern) {
                        return (position..<position + candidate.pattern.count, candidate.id)
                    }
                }
            }
            position += 1
        }
        return nil
    }
}
