import Foundation

// The `pre_tokenizer` stage: cuts normalized text into the words that BPE merges within.
// LLaMA's legacy files have none (the whole text is one word); Metaspace is the newer SentencePiece
// form; ByteLevel (GPT-2) and Split + ByteLevel (Qwen2, Llama 3) are the byte-level forms.

protocol PreTokenizer: Sendable {
    func preTokenize(_ pieces: [TextPiece]) -> [TextPiece]
}

/// Builds the pre-tokenizer described by `field` (`tokenizer.json`'s `pre_tokenizer`).
func makePreTokenizer(_ field: JSONField) throws -> any PreTokenizer {
    switch try field.typeName() {
    case "Sequence":
        return SequencePreTokenizer(steps: try field.required("pretokenizers").array().map(makePreTokenizer))
    case "ByteLevel":
        return ByteLevelPreTokenizer(addPrefixSpace: try field.bool("add_prefix_space", default: true),
                                     useRegex: try field.bool("use_regex", default: true))
    case "Split":
        return SplitPreTokenizer(pattern: try TextPattern(field: try field.required("pattern")),
                                 behavior: try SplitBehavior(field: try field.required("behavior")),
                                 invert: try field.bool("invert", default: false))
    case "Metaspace":
        return try MetaspacePreTokenizer(field: field)
    case "Digits":
        return SplitPreTokenizer(pattern: .predicate { UnicodeClass.isNumeric($0) },
                                 behavior: try field.bool("individual_digits", default: false) ? .isolated : .contiguous,
                                 invert: false)
    case "Punctuation":
        let behavior = try field.optional("behavior").map(SplitBehavior.init(field:)) ?? .isolated
        return SplitPreTokenizer(pattern: .predicate { UnicodeClass.isPunctuation($0) }, behavior: behavior, invert: false)
    case "WhitespaceSplit":
        return SplitPreTokenizer(pattern: .predicate { UnicodeClass.isWhitespace($0) }, behavior: .removed, invert: false)
    case "Whitespace":
        // Keeps runs of word characters and runs of other non-space characters.
        let regex = try CompiledRegex(pattern: #"\w+|[^\w\s]+"#, field: field)
        return SplitPreTokenizer(pattern: .regex(regex), behavior: .removed, invert: true)
    case let other:
        throw field.error("type '\(other)' is not supported; focus reads Sequence, ByteLevel, Split, Metaspace, "
                          + "Digits, Punctuation, Whitespace and WhitespaceSplit pre-tokenizers")
    }
}

// MARK: - Pre-tokenizers

struct SequencePreTokenizer: PreTokenizer {
    let steps: [any PreTokenizer]

    func preTokenize(_ pieces: [TextPiece]) -> [TextPiece] {
        steps.reduce(pieces) { $1.preTokenize($0) }
    }
}

struct SplitPreTokenizer: PreTokenizer {
    let pattern: TextPattern
    let behavior: SplitBehavior
    let invert: Bool

    func preTokenize(_ pieces: [TextPiece]) -> [TextPiece] {
        pieces.flatMap { $0.split(on: pattern, behavior: behavior, invert: invert) }
    }
}

/// SentencePiece-style: spaces become `replacement` ("▁"), which is prepended to the text
/// (always, only at the start of the caller's text, or never) and optionally split on.
struct MetaspacePreTokenizer: PreTokenizer {
    enum PrependScheme { case always, first, never }

    let replacement: Unicode.Scalar
    let prependScheme: PrependScheme
    let split: Bool

    init(field: JSONField) throws {
        replacement = try field.character("replacement")
        split = try field.bool("split", default: true)
        prependScheme = try Self.prependScheme(field)
    }

    /// `prepend_scheme` (default "always"); older files carry `add_prefix_space` instead.
    static func prependScheme(_ field: JSONField) throws -> PrependScheme {
        let scheme: PrependScheme
        if let value = field.optional("prepend_scheme") {
            switch try value.string() {
            case "always": scheme = .always
            case "first": scheme = .first
            case "never": scheme = .never
            case let other: throw value.error("'\(other)' is not one of always, first, never")
            }
        } else {
            scheme = .always
        }
        if try field.bool("add_prefix_space", default: true) == false { return .never }
        return scheme
    }

    func preTokenize(_ pieces: [TextPiece]) -> [TextPiece] {
        var result: [TextPiece] = []
        for piece in pieces {
            var scalars = piece.scalars.map { $0 == " " ? replacement : $0 }
            let prepend: Bool
            switch prependScheme {
            case .always: prepend = scalars.first != replacement
            case .first: prepend = scalars.first != replacement && piece.startsText
            case .never: prepend = false
            }
            if prepend && !scalars.isEmpty { scalars.insert(replacement, at: 0) }
            let replaced = TextPiece(scalars, startsText: piece.startsText)
            if split {
                result.append(contentsOf: replaced.split(on: .literal([replacement]), behavior: .mergedWithNext))
            } else if !scalars.isEmpty {
                result.append(replaced)
            }
        }
        return result
    }
}

/// GPT-2 byte-level pre-tokenization: optional leading space, the GPT-2 word regex, then every
/// UTF-8 byte mapped to its printable stand-in.
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool

    func preTokenize(_ pieces: [TextPiece]) -> [TextPiece] {
        var words: [TextPiece] = []
        for var piece in pieces {
            if addPrefixSpace && piece.scalars.first != " " { piece.scalars.insert(" ", at: 0) }
            if useRegex {
                words.append(contentsOf: piece.split(on: .regex(ByteLevelAlphabet.gpt2Regex), behavior: .isolated))
            } else if !piece.scalars.isEmpty {
                words.append(piece)
            }
        }
        for index in words.indices {
            words[index].scalars = ByteLevelAlphabet.encode(words[index].scalars)
        }
        return words
    }
}

// MARK: - Byte-level alphabet

/// GPT-2's reversible byte <-> printable-character table (`bytes_to_unicode` in OpenAI's encoder.py).
enum ByteLevelAlphabet {
    /// Printable stand-in for each byte value.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // 256 + n stays below U+0200: always a valid scalar.
                table[byte] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    /// Byte value of each stand-in, indexed by scalar value (all stand-ins are below U+0144).
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x200)
        for (byte, scalar) in byteToScalar.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < scalarToByte.count, scalarToByte[value] >= 0 else { return nil }
        return UInt8(scalarToByte[value])
    }

    static func encode(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(scalars.count)
        for scalar in scalars {
            if scalar.isASCII {
                result.append(byteToScalar[Int(scalar.value)])
            } else {
                appendUTF8(of: scalar) { result.append(byteToScalar[Int($0)]) }
            }
        }
        return result
    }

    /// Calls `body` with each UTF-8 byte of `scalar`.
    @inline(__always)
    static func appendUTF8(of scalar: Unicode.Scalar, _ body: (UInt8) -> Void) {
        let v = scalar.value
        switch v {
        case 0..<0x80:
            body(UInt8(v))
        case 0x80..<0x800:
            body(UInt8(0xC0 | (v >> 6)))
            body(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            body(UInt8(0xE0 | (v >> 12)))
            body(UInt8(0x80 | ((v >> 6) & 0x3F)))
            body(UInt8(0x80 | (v & 0x3F)))
        default:
            body(UInt8(0xF0 | (v >> 18)))
            body(UInt8(0x80 | ((v >> 12) & 0x3F)))
            body(UInt8(0x80 | ((v >> 6) & 0x3F)))
            body(UInt8(0x80 | (v & 0x3F)))
        }
    }

    static let gpt2Regex: CompiledRegex = {
        let pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        // The pattern is a constant known to compile; a failure here is a programming error.
        guard let regex = try? CompiledRegex(pattern: pattern, field: JSONField(value: .string(pattern), path: "", file: "gpt2"))
        else { preconditionFailure("GPT-2 pattern does not compile") }
        return regex
    }()
}
