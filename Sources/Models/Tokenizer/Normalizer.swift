import Foundation

// The `normalizer` stage of `tokenizer.json`. It runs on each stretch of text between added tokens
// separately (see `AddedVocabulary`), which is why LLaMA's legacy `Prepend("▁")` puts a "▁" after
// every `<image>`.

protocol Normalizer: Sendable {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar]
}

/// Builds the normalizer described by `field` (`tokenizer.json`'s `normalizer`).
func makeNormalizer(_ field: JSONField) throws -> any Normalizer {
    switch try field.typeName() {
    case "Sequence":
        return SequenceNormalizer(steps: try field.required("normalizers").array().map(makeNormalizer))
    case "Prepend":
        return PrependNormalizer(prefix: Array(try field.required("prepend").string().unicodeScalars))
    case "Replace":
        return ReplaceNormalizer(pattern: try TextPattern(field: try field.required("pattern")),
                                 content: Array(try field.required("content").string().unicodeScalars))
    case "NFC": return UnicodeNormalizer(form: .nfc)
    case "NFD": return UnicodeNormalizer(form: .nfd)
    case "NFKC": return UnicodeNormalizer(form: .nfkc)
    case "NFKD": return UnicodeNormalizer(form: .nfkd)
    case "Lowercase": return LowercaseNormalizer()
    case "Strip":
        return StripNormalizer(left: try field.bool("strip_left", default: true),
                               right: try field.bool("strip_right", default: true))
    case "StripAccents": return StripAccentsNormalizer()
    case "ByteLevel": return ByteLevelNormalizer()
    case let other:
        throw field.error("type '\(other)' is not supported; focus reads Sequence, Prepend, Replace, NFC, NFD, "
                          + "NFKC, NFKD, Lowercase, Strip, StripAccents and ByteLevel normalizers")
    }
}

// MARK: - Normalizers

struct SequenceNormalizer: Normalizer {
    let steps: [any Normalizer]

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        steps.reduce(text) { $1.normalize($0) }
    }
}

/// Prepends `prefix` to non-empty text (LLaMA's dummy-prefix "▁").
struct PrependNormalizer: Normalizer {
    let prefix: [Unicode.Scalar]

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        text.isEmpty ? text : prefix + text
    }
}

/// Replaces every match of `pattern` with `content` (LLaMA: " " -> "▁").
struct ReplaceNormalizer: Normalizer {
    let pattern: TextPattern
    let content: [Unicode.Scalar]

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        replace(text, pattern: pattern, with: content)
    }
}

func replace(_ text: [Unicode.Scalar], pattern: TextPattern, with content: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var result: [Unicode.Scalar] = []
    result.reserveCapacity(text.count)
    for span in pattern.spans(in: text) {
        if span.isMatch {
            result.append(contentsOf: content)
        } else {
            result.append(contentsOf: text[span.range])
        }
    }
    return result
}

struct UnicodeNormalizer: Normalizer {
    enum Form { case nfc, nfd, nfkc, nfkd }
    let form: Form

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        // Pure ASCII is invariant under every form; skip the Foundation round trip.
        if text.allSatisfy(\.isASCII) { return text }
        let string = String(scalars: text)
        let normalized: String
        switch form {
        case .nfc: normalized = string.precomposedStringWithCanonicalMapping
        case .nfd: normalized = string.decomposedStringWithCanonicalMapping
        case .nfkc: normalized = string.precomposedStringWithCompatibilityMapping
        case .nfkd: normalized = string.decomposedStringWithCompatibilityMapping
        }
        return Array(normalized.unicodeScalars)
    }
}

/// Lowercases scalar by scalar, as Rust's `char::to_lowercase` does: no context-dependent rules
/// (a final capital sigma becomes "σ", not "ς").
struct LowercaseNormalizer: Normalizer {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.count)
        for scalar in text {
            if scalar.isASCII {
                let v = scalar.value
                result.append((0x41...0x5A).contains(v) ? Unicode.Scalar(UInt8(v + 32)) : scalar)
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return result
    }
}

struct StripNormalizer: Normalizer {
    let left: Bool
    let right: Bool

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var start = 0
        var end = text.count
        if left { while start < end && UnicodeClass.isWhitespace(text[start]) { start += 1 } }
        if right { while end > start && UnicodeClass.isWhitespace(text[end - 1]) { end -= 1 } }
        return Array(text[start..<end])
    }
}

struct StripAccentsNormalizer: Normalizer {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        text.filter { !UnicodeClass.isMark($0) }
    }
}

/// Maps every UTF-8 byte to its printable stand-in (the byte-level alphabet).
struct ByteLevelNormalizer: Normalizer {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        ByteLevelAlphabet.encode(text)
    }
}
