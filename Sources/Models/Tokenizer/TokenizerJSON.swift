import Foundation

// MARK: - JSON values

/// A parsed JSON value. Objects keep their members in file order with their keys exactly as written:
/// a `[String: Any]` from `JSONSerialization` would merge keys that are canonically equivalent
/// (LLaMA's vocabulary has both "ά" U+03AC and "ά" U+1F71, which Swift's `String` considers equal).
indirect enum JSONValue {
    /// One `"key": value` member of an object.
    struct Member {
        let key: String
        let value: JSONValue
    }

    case object([Member])
    case array([JSONValue])
    case string(String)
    /// The number, and its integer value when it was written as an integer.
    case number(Double, Int?)
    case bool(Bool)
    case null
}

/// A small recursive-descent JSON parser (RFC 8259) over UTF-8 bytes.
struct JSONParser {
    struct Failure: Error {
        let message: String
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var depth = 0

    static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var parser = JSONParser(bytes: raw.bindMemory(to: UInt8.self))
            // A UTF-8 byte order mark is tolerated, as Python's json tolerates it when decoding text.
            if parser.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.position = 3 }
            let value = try parser.parseValue()
            parser.skipWhitespace()
            guard parser.position == parser.bytes.count else { throw parser.failure("unexpected data after the JSON value") }
            return value
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func failure(_ message: String) -> Failure {
        Failure(message: "\(message) at byte \(position)")
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func expect(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw failure("unexpected end of input") }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[position + $0] == expected[$0] }
        }
        guard matches else { throw failure("unexpected character") }
        position += count
    }

    private mutating func parseValue() throws -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character")
        }
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= 512 else { throw failure("nesting is too deep") }
    }

    private mutating func parseObject() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1  // {
        var members: [JSONValue.Member] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a key") }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            position += 1
            members.append(JSONValue.Member(key: key, value: try parseValue()))
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of input") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            } else {
                throw failure("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of input") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            } else {
                throw failure("expected ',' or ']'")
            }
        }
    }

    private mutating func parseString() throws -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character in string") }
            position += 1
        }
        var buffer = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw failure("unexpected end of input") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escape)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800..<0xDC00).contains(code), position + 1 < bytes.count,
                        bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                    {
                        let saved = position
                        position += 2
                        let low = try parseHex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            position = saved
                        }
                    }
                    // A lone surrogate cannot be a scalar; it becomes U+FFFD.
                    let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                    ByteLevelAlphabet.appendUTF8(of: scalar) { buffer.append($0) }
                default:
                    throw failure("invalid escape")
                }
            default:
                if byte < 0x20 { throw failure("control character in string") }
                buffer.append(byte)
            }
        }
        throw failure("unterminated string")
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("unexpected end of input") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): position += 1
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-"):
                isInteger = false
                position += 1
            default:
                break
            }
            if position < bytes.count, !Self.isNumberByte(bytes[position]) { break }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let double = Double(text) else { throw failure("invalid number '\(text)'") }
        return .number(double, isInteger ? Int(text) : nil)
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
            UInt8(ascii: "+"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

// MARK: - JSON access

/// One value of a parsed tokenizer file together with the dotted path that led to it, so that every
/// error says where the problem is ("tokenizer.json: model.vocab must be an object").
struct JSONField {
    let value: JSONValue
    let path: String
    let file: String

    /// Parses `data` as the top-level object of `file`.
    static func parse(_ data: Data, file: String) throws -> JSONField {
        let value: JSONValue
        do {
            value = try JSONParser.parse(data)
        } catch let failure as JSONParser.Failure {
            throw TokenizerError(message: "\(file): malformed JSON (\(failure.message))")
        }
        guard case .object = value else {
            throw TokenizerError(message: "\(file): the top level must be a JSON object")
        }
        return JSONField(value: value, path: "", file: file)
    }

    func error(_ message: String) -> TokenizerError {
        TokenizerError(message: path.isEmpty ? "\(file): \(message)" : "\(file): \(path) \(message)")
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The member `key`, or nil when it is absent or JSON `null`.
    func optional(_ key: String) -> JSONField? {
        guard case .object(let members) = value,
            let member = members.last(where: { $0.key.utf8.elementsEqual(key.utf8) })
        else { return nil }
        if case .null = member.value { return nil }
        return JSONField(value: member.value, path: childPath(key), file: file)
    }

    func required(_ key: String) throws -> JSONField {
        guard isObject else { throw error("must be an object") }
        guard let child = optional(key) else {
            throw TokenizerError(message: "\(file): \(childPath(key)) is missing")
        }
        return child
    }

    var isObject: Bool {
        if case .object = value { return true }
        return false
    }

    func string() throws -> String {
        guard case .string(let string) = value else { throw error("must be a string") }
        return string
    }

    func bool() throws -> Bool {
        guard case .bool(let bool) = value else { throw error("must be true or false") }
        return bool
    }

    func int() throws -> Int {
        guard case .number(_, let int?) = value else { throw error("must be an integer") }
        return int
    }

    func array() throws -> [JSONField] {
        guard case .array(let elements) = value else { throw error("must be an array") }
        return elements.enumerated().map { JSONField(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// The members of an object in file order.
    func members() throws -> [(key: String, value: JSONField)] {
        guard case .object(let members) = value else { throw error("must be an object") }
        return members.compactMap { member in
            if case .null = member.value { return nil }
            return (member.key, JSONField(value: member.value, path: childPath(member.key), file: file))
        }
    }

    func string(_ key: String, default fallback: String) throws -> String {
        try optional(key)?.string() ?? fallback
    }

    func optionalString(_ key: String) throws -> String? { try optional(key)?.string() }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        try optional(key)?.bool() ?? fallback
    }

    func int(_ key: String, default fallback: Int) throws -> Int {
        try optional(key)?.int() ?? fallback
    }

    /// The `type` tag of a pipeline object.
    func typeName() throws -> String {
        guard isObject else { throw error("must be an object") }
        return try required("type").string()
    }

    /// A single character field such as Metaspace's `replacement`.
    func character(_ key: String) throws -> Unicode.Scalar {
        let field = try required(key)
        let scalars = Array(try field.string().unicodeScalars)
        guard scalars.count == 1 else { throw field.error("must be a single character") }
        return scalars[0]
    }
}
