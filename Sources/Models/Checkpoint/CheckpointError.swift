import Foundation

/// A checkpoint that cannot be read: one sentence naming the file, tensor or field, and what to do.
///
/// A struct with an open set of codes rather than an enum, so that new cases do not break callers
/// that switch over them; code that only reports the error needs `message` alone.
public struct CheckpointError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// What kind of problem this is, for callers that react differently (e.g. try another layout).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A directory, file or shard that does not exist.
        public static let notFound = Code("notFound")
        /// A directory with no safetensors files in it.
        public static let noWeights = Code("noWeights")
        /// A file shorter than its header or its tensors say it is.
        public static let truncated = Code("truncated")
        /// A header or index that is not valid JSON or has invalid fields.
        public static let malformed = Code("malformed")
        /// A tensor stored in a dtype that focus does not load.
        public static let unsupportedDType = Code("unsupportedDType")
        /// A tensor name that is not in the checkpoint.
        public static let missingTensor = Code("missingTensor")
        /// A tensor whose shape is not the one the config implies.
        public static let shapeMismatch = Code("shapeMismatch")
        /// The same tensor name in two files.
        public static let duplicateTensor = Code("duplicateTensor")
        /// The operating system refused to open or map a file.
        public static let io = Code("io")
        /// Anything else (e.g. a config value the model cannot use).
        public static let general = Code("general")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public init(message: String, code: Code = .general) {
        self.init(code, message)
    }

    public var description: String { message }
    public var errorDescription: String? { message }
}
