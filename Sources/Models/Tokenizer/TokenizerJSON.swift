import Foundation

// MARK: - Error

/// A tokenizer file that focus cannot read, with a sentence naming the file and the field.
public struct TokenizerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    public init(message: String) { self.message = message }
}

// MARK: - JSON access

/// One value of a parsed tokenizer file together with the dotted path that led to it, so that every
/// error says where the problem is ("tokenizer.json: model.vocab must be an object").
///
/// `JSONSerialization` is used rather than `Codable`: the pipeline objects are tagged unions with
/// optional fields whose defaults differ between `tokenizers` versions, and a 150k-entry vocabulary
/// decodes several times faster this way.
struct JSONField {
    let value: Any
    let path: String
    let file: String

    /// Parses `data` as the top-level object of `file`.
    static func parse(_ data: Data, file: String) throws -> JSONField {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw TokenizerError(message: "\(file): malformed JSON (\(error.localizedDescription))")
        }
        guard object is [String: Any] else {
            throw TokenizerError(message: "\(file): the top level must be a JSON object")
        }
        return JSONField(value: object, path: "", file: file)
    }

    func error(_ message: String) -> TokenizerError {
        TokenizerError(message: path.isEmpty ? "\(file): \(message)" : "\(file): \(path) \(message)")
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The member `key`, or nil when it is absent or JSON `null`.
    func optional(_ key: String) -> JSONField? {
        guard let object = value as? [String: Any], let child = object[key], !(child is NSNull) else { return nil }
        return JSONField(value: child, path: childPath(key), file: file)
    }

    func required(_ key: String) throws -> JSONField {
        guard value is [String: Any] else { throw error("must be an object") }
        guard let child = optional(key) else {
            throw TokenizerError(message: "\(file): \(childPath(key)) is missing")
        }
        return child
    }

    var isObject: Bool { value is [String: Any] }

    func string() throws -> String {
        guard let string = value as? String else { throw error("must be a string") }
        return string
    }

    func bool() throws -> Bool {
        guard let bool = value as? Bool else { throw error("must be true or false") }
        return bool
    }

    func int() throws -> Int {
        if let int = value as? Int { return int }
        if let double = value as? Double, double == double.rounded(), abs(double) < 1e15 { return Int(double) }
        throw error("must be an integer")
    }

    func array() throws -> [JSONField] {
        guard let array = value as? [Any] else { throw error("must be an array") }
        return array.enumerated().map { JSONField(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// The members of an object, sorted by key so that iteration is deterministic.
    func members() throws -> [(key: String, value: JSONField)] {
        guard let object = value as? [String: Any] else { throw error("must be an object") }
        return object.keys.sorted().compactMap { key in optional(key).map { (key, $0) } }
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
