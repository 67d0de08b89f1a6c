import Foundation

// The `decoder` stage: token strings back to text. Each decoder maps a list of token strings to a
// new list (`decode_chain`), and the final list is concatenated. LLaMA uses
// Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0)]; byte-level models use ByteLevel.

protocol TokenDecoder: Sendable {
    func decodeChain(_ tokens: [String]) -> [String]
}

/// Builds the decoder described by `field` (`tokenizer.json`'s `decoder`).
func makeTokenDecoder(_ field: JSONField) throws -> any TokenDecoder {
    switch try field.typeName() {
    case "Sequence":
        return SequenceDecoder(steps: try field.required("decoders").array().map(makeTokenDecoder))
    case "ByteLevel":
        return ByteLevelDecoder()
    case "Metaspace":
        return MetaspaceDecoder(replacement: try field.character("replacement"),
                                prependScheme: try MetaspacePreTokenizer.prependScheme(field))
    case "Replace":
        return ReplaceDecoder(pattern: try TextPattern(field: try field.required("pattern")),
                              content: Array(try field.required("content").string().unicodeScalars))
    case "ByteFallback":
        return ByteFallbackDecoder()
    case "Fuse":
        return FuseDecoder()
    case "Strip":
        return StripDecoder(content: try field.character("content"),
                            start: try field.int("start", default: 0), stop: try field.int("stop", default: 0))
    case "BPEDecoder":
        return BPESuffixDecoder(suffix: Array(try field.string("suffix", default: "</w>").unicodeScalars))
    case let other:
        throw field.error("type '\(other)' is not supported; focus reads Sequence, ByteLevel, Metaspace, Replace, "
                          + "ByteFallback, Fuse, Strip and BPEDecoder decoders")
    }
}

// MARK: - Decoders

struct SequenceDecoder: TokenDecoder {
    let steps: [any TokenDecoder]

    func decodeChain(_ tokens: [String]) -> [String] {
        steps.reduce(tokens) { $1.decodeChain($0) }
    }
}

/// Maps byte-level stand-ins back to bytes across all tokens, then decodes UTF-8 once, so that a
/// character split over several tokens comes back whole. Invalid UTF-8 becomes U+FFFD, as Rust's
/// `from_utf8_lossy` does.
struct ByteLevelDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for token in tokens {
            let start = bytes.count
            var allMapped = true
            for scalar in token.unicodeScalars {
                guard let byte = ByteLevelAlphabet.byte(for: scalar) else { allMapped = false; break }
                bytes.append(byte)
            }
            // A token outside the alphabet (an added token such as "<|im_end|>") passes through as UTF-8.
            if !allMapped {
                bytes.removeSubrange(start...)
                bytes.append(contentsOf: token.utf8)
            }
        }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

/// Turns `replacement` back into spaces; on the first token the prepended one is dropped.
struct MetaspaceDecoder: TokenDecoder {
    let replacement: Unicode.Scalar
    let prependScheme: MetaspacePreTokenizer.PrependScheme

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            var scalars = String.UnicodeScalarView()
            for scalar in token.unicodeScalars {
                if scalar == replacement {
                    if index == 0 && prependScheme != .never { continue }
                    scalars.append(" ")
                } else {
                    scalars.append(scalar)
                }
            }
            return String(scalars)
        }
    }
}

struct ReplaceDecoder: TokenDecoder {
    let pattern: TextPattern
    let content: [Unicode.Scalar]

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { String(scalars: replace(Array($0.unicodeScalars), pattern: pattern, with: content)) }
    }
}

/// Joins runs of `<0xNN>` tokens into the UTF-8 text they spell; a run that is not valid UTF-8
/// becomes one U+FFFD per byte.
struct ByteFallbackDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var result: [String] = []
        result.reserveCapacity(tokens.count)
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if Self.isValidUTF8(pending) {
                result.append(String(decoding: pending, as: UTF8.self))
            } else {
                result.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
            }
            pending.removeAll(keepingCapacity: true)
        }
        for token in tokens {
            if let byte = Self.byte(of: token) {
                pending.append(byte)
            } else {
                flush()
                result.append(token)
            }
        }
        flush()
        return result
    }

    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// The byte named by a `<0xNN>` token (exactly six bytes long, two hex digits).
    static func byte(of token: String) -> UInt8? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 6, utf8[0] == UInt8(ascii: "<"), utf8[1] == UInt8(ascii: "0"),
            utf8[2] == UInt8(ascii: "x"), utf8[5] == UInt8(ascii: ">")
        else { return nil }
        return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
    }
}

struct FuseDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

/// Removes up to `start` leading and `stop` trailing `content` characters from each token.
struct StripDecoder: TokenDecoder {
    let content: Unicode.Scalar
    let start: Int
    let stop: Int

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { token in
            let scalars = Array(token.unicodeScalars)
            var startCut = 0
            while startCut < min(start, scalars.count) && scalars[startCut] == content { startCut += 1 }
            var stopCut = scalars.count
            var removed = 0
            while removed < stop && stopCut > startCut && scalars[stopCut - 1] == content {
                stopCut -= 1
                removed += 1
            }
            return String(scalars: scalars[startCut..<stopCut])
        }
    }
}

/// Classic BPE end-of-word suffix: becomes a space, except on the last token.
struct BPESuffixDecoder: TokenDecoder {
    let suffix: [Unicode.Scalar]

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            let replacement: [Unicode.Scalar] = index == tokens.count - 1 ? [] : [" "]
            return String(scalars: replace(Array(token.unicodeScalars), pattern: .literal(suffix), with: replacement))
        }
    }
}
