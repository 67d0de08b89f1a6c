import Foundation

// The text representation shared by every tokenizer stage, and the one splitting routine that the
// pre-tokenizers reuse (`tokenizers`' `NormalizedString::split` with its five delimiter behaviours).
//
// Text is held as an array of Unicode scalars, never as `Character`s: grapheme clustering would fuse
// "\r\n", combining marks and emoji ZWJ sequences, while `tokenizers` (Rust `char`) sees scalars.

// MARK: - Text piece

/// A run of text on its way from the caller's string to the BPE model.
struct TextPiece {
    var scalars: [Unicode.Scalar]
    /// Whether the piece begins at offset 0 of the caller's text. Metaspace's `prepend_scheme: first`
    /// adds its "▁" only there (`tokenizers` checks `offsets_original().0 == 0`).
    var startsText: Bool

    init(_ scalars: [Unicode.Scalar], startsText: Bool) {
        self.scalars = scalars
        self.startsText = startsText
    }
}

extension String {
    init(scalars: some Sequence<Unicode.Scalar>) {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        self.init(view)
    }
}

// MARK: - Character classes (as Rust's `char` and `regex` define them)

enum UnicodeClass {
    /// Rust `char::is_whitespace` and regex `\s`: the White_Space property.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }

    /// Rust `char::is_numeric`: general categories Nd, Nl and No.
    static func isNumeric(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Rust regex `\w`: Alphabetic, marks, decimal digits, connector punctuation and joiners.
    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isAlphabetic || scalar.properties.isJoinControl { return true }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// `tokenizers`' `is_punc`: ASCII punctuation (which includes symbols such as `$` and `+`) or
    /// any Unicode punctuation category.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v)
                || (0x7B...0x7E).contains(v)
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    /// Combining marks (Mn, Mc, Me), which StripAccents removes.
    static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }
}

// MARK: - Regular expressions

/// A compiled pattern from a tokenizer file. `tokenizers` uses Oniguruma; ICU (through
/// `NSRegularExpression`) accepts the same syntax for every pattern in use (`\p{L}`, `(?i:…)`,
/// `\s+(?!\S)`), and its `\s` is the White_Space property, as Oniguruma's is.
final class CompiledRegex: @unchecked Sendable {
    // NSRegularExpression is immutable once built and documented as safe to share between threads.
    private let regex: NSRegularExpression

    init(pattern: String, field: JSONField) throws {
        do {
            // Oniguruma's `^` and `$` always match at line boundaries.
            regex = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
        } catch {
            throw field.error("has a regular expression that cannot be compiled: \(pattern)")
        }
    }

    /// Non-overlapping matches, left to right, as ranges of scalar indices.
    func matches(in scalars: [Unicode.Scalar]) -> [Range<Int>] {
        if scalars.isEmpty { return [] }
        // UTF-16 offset -> scalar index, so that ICU's ranges can be mapped back.
        var scalarIndex = [Int]()
        scalarIndex.reserveCapacity(scalars.count + 8)
        for (index, scalar) in scalars.enumerated() {
            scalarIndex.append(index)
            if scalar.value > 0xFFFF { scalarIndex.append(index) }
        }
        scalarIndex.append(scalars.count)
        let string = String(scalars: scalars)
        let whole = NSRange(location: 0, length: scalarIndex.count - 1)
        return regex.matches(in: string, options: [], range: whole).compactMap { match in
            let range = match.range
            guard range.location != NSNotFound else { return nil }
            return scalarIndex[range.location]..<scalarIndex[range.location + range.length]
        }
    }
}

// MARK: - Patterns and splitting

/// How a split treats the delimiters it finds (`SplitDelimiterBehavior`).
enum SplitBehavior {
    case removed, isolated, mergedWithPrevious, mergedWithNext, contiguous

    init(field: JSONField) throws {
        switch try field.string().lowercased() {
        case "removed": self = .removed
        case "isolated": self = .isolated
        case "mergedwithprevious", "merged_with_previous": self = .mergedWithPrevious
        case "mergedwithnext", "merged_with_next": self = .mergedWithNext
        case "contiguous": self = .contiguous
        case let other: throw field.error("'\(other)' is not a split behaviour")
        }
    }
}

/// What a split looks for.
enum TextPattern {
    case literal([Unicode.Scalar])
    case regex(CompiledRegex)
    case predicate(@Sendable (Unicode.Scalar) -> Bool)

    /// Reads the `{"String": …}` / `{"Regex": …}` pattern object of Split and Replace.
    init(field: JSONField) throws {
        if let literal = field.optional("String") {
            self = .literal(Array(try literal.string().unicodeScalars))
        } else if let regex = field.optional("Regex") {
            self = .regex(try CompiledRegex(pattern: try regex.string(), field: regex))
        } else {
            throw field.error("must be {\"String\": …} or {\"Regex\": …}")
        }
    }

    /// Spans that tile `scalars` in order, each flagged as a match or not (`Pattern::find_matches`).
    func spans(in scalars: [Unicode.Scalar]) -> [(range: Range<Int>, isMatch: Bool)] {
        if scalars.isEmpty { return [(0..<0, false)] }
        switch self {
        case .literal(let needle):
            if needle.isEmpty { return [(0..<scalars.count, false)] }
            return tile(literalMatches(of: needle, in: scalars), count: scalars.count)
        case .regex(let regex):
            return tile(regex.matches(in: scalars), count: scalars.count)
        case .predicate(let isDelimiter):
            // Every delimiter character is its own match, as in the Rust closure pattern.
            var spans: [(range: Range<Int>, isMatch: Bool)] = []
            var last = 0
            for (index, scalar) in scalars.enumerated() where isDelimiter(scalar) {
                if last < index { spans.append((last..<index, false)) }
                spans.append((index..<index + 1, true))
                last = index + 1
            }
            if last < scalars.count { spans.append((last..<scalars.count, false)) }
            return spans
        }
    }

    private func tile(_ matches: [Range<Int>], count: Int) -> [(range: Range<Int>, isMatch: Bool)] {
        var spans: [(range: Range<Int>, isMatch: Bool)] = []
        spans.reserveCapacity(matches.count * 2 + 1)
        var previous = 0
        for match in matches {
            if previous != match.lowerBound { spans.append((previous..<match.lowerBound, false)) }
            spans.append((match, true))
            previous = match.upperBound
        }
        if previous != count { spans.append((previous..<count, false)) }
        return spans
    }

    private func literalMatches(of needle: [Unicode.Scalar], in haystack: [Unicode.Scalar]) -> [Range<Int>] {
        var matches: [Range<Int>] = []
        var start = 0
        let first = needle[0]
        while start + needle.count <= haystack.count {
            if haystack[start] == first && haystack[start..<start + needle.count].elementsEqual(needle) {
                matches.append(start..<start + needle.count)
                start += needle.count
            } else {
                start += 1
            }
        }
        return matches
    }
}

extension TextPiece {
    /// Splits the piece on `pattern` (`NormalizedString::split`); empty results are dropped, as
    /// `PreTokenizedString::split` drops them.
    func split(on pattern: TextPattern, behavior: SplitBehavior, invert: Bool = false) -> [TextPiece] {
        var spans = pattern.spans(in: scalars)
        if invert { spans = spans.map { ($0.range, !$0.isMatch) } }

        // (range, remove) pairs, following each behaviour's fold in `normalizer.rs`.
        var pieces: [(range: Range<Int>, remove: Bool)] = []
        pieces.reserveCapacity(spans.count)
        switch behavior {
        case .isolated:
            pieces = spans.map { ($0.range, false) }
        case .removed:
            pieces = spans.map { ($0.range, $0.isMatch) }
        case .contiguous:
            var previousMatch = false
            for span in spans {
                if span.isMatch == previousMatch, let last = pieces.last {
                    pieces[pieces.count - 1].range = last.range.lowerBound..<span.range.upperBound
                } else {
                    pieces.append((span.range, false))
                }
                previousMatch = span.isMatch
            }
        case .mergedWithPrevious:
            var previousMatch = false
            for span in spans {
                if span.isMatch && !previousMatch, let last = pieces.last {
                    pieces[pieces.count - 1].range = last.range.lowerBound..<span.range.upperBound
                } else {
                    pieces.append((span.range, false))
                }
                previousMatch = span.isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for span in spans.reversed() {
                if span.isMatch && !previousMatch, let last = pieces.last {
                    pieces[pieces.count - 1].range = span.range.lowerBound..<last.range.upperBound
                } else {
                    pieces.append((span.range, false))
                }
                previousMatch = span.isMatch
            }
            pieces.reverse()
        }

        var result: [TextPiece] = []
        result.reserveCapacity(pieces.count)
        for piece in pieces where !piece.remove && !piece.range.isEmpty {
            result.append(TextPiece(Array(scalars[piece.range]),
                                    startsText: startsText && piece.range.lowerBound == 0))
        }
        return result
    }
}

// MARK: - Exact string keys

/// A string compared and hashed by its exact UTF-8 bytes. Swift's `String` equality uses canonical
/// equivalence ("é" == "e\u{301}"), but a vocabulary maps the two spellings to different tokens.
struct ExactString: Hashable, Sendable {
    let string: String

    init(_ string: String) {
        var contiguous = string
        contiguous.makeContiguousUTF8()
        self.string = contiguous
    }

    static func == (a: ExactString, b: ExactString) -> Bool {
        a.string.utf8.count == b.string.utf8.count && a.string.utf8.elementsEqual(b.string.utf8)
    }

    func hash(into hasher: inout Hasher) {
        let hashed: Void? = string.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            for byte in string.utf8 { hasher.combine(byte) }
        }
    }
}
