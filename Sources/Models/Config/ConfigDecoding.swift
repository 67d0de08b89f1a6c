import Foundation

/// A JSON value that may be an integer or a list of integers (`vision_feature_layer`, `eos_token_id`).
enum IntOrList: Decodable, Sendable, Equatable {
    case one(Int)
    case many([Int])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int.self) { self = .one(v); return }
        self = .many(try c.decode([Int].self))
    }

    var values: [Int] {
        switch self {
        case .one(let v): [v]
        case .many(let v): v
        }
    }
}

/// Turns a `DecodingError` into one sentence naming the file and the field path.
func describe(_ error: Error, file: String) -> String {
    func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    guard let error = error as? DecodingError else { return "\(file): \(error)" }
    switch error {
    case .typeMismatch(let type, let ctx):
        return "\(file): field '\(path(ctx.codingPath))' has the wrong type (expected \(type))"
    case .valueNotFound(let type, let ctx):
        return "\(file): field '\(path(ctx.codingPath))' is null (expected \(type))"
    case .keyNotFound(let key, let ctx):
        return "\(file): required field '\(path(ctx.codingPath + [key]))' is missing"
    case .dataCorrupted(let ctx):
        let underlying = (ctx.underlyingError as NSError?)?.localizedDescription ?? ctx.debugDescription
        return ctx.codingPath.isEmpty
            ? "\(file): not valid JSON (\(underlying))"
            : "\(file): field '\(path(ctx.codingPath))' is invalid: \(ctx.debugDescription)"
    @unknown default:
        return "\(file): \(error)"
    }
}

/// Reads and decodes a JSON file of a checkpoint, with errors that name the file and field.
func decodeJSONFile<T: Decodable>(_ type: T.Type, at url: URL) throws -> T {
    guard FileManager.default.fileExists(atPath: url.path) else {
        throw CheckpointError(message: "\(url.path) does not exist")
    }
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
        throw CheckpointError(message: "\(url.path) cannot be read: \(error.localizedDescription)")
    }
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
        throw CheckpointError(message: describe(error, file: url.path))
    }
}
