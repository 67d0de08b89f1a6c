// JSONValue: a tiny JSON tree whose objects keep their key order, serialised the way Python's
// `json.dumps` does by default (", " and ": " separators, ASCII-only with \u escapes), so the files
// read like V*Bench's and are byte-identical from run to run.
import Foundation

public indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    /// Keys in the order given.
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): x == y
        case let (.int(x), .int(y)): x == y
        case let (.double(x), .double(y)): x == y
        case let (.bool(x), .bool(y)): x == y
        case (.null, .null): true
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// One line, Python `json.dumps(value)` style.
    public var compact: String {
        var out = ""
        write(into: &out, indent: nil, depth: 0)
        return out
    }

    /// Python `json.dumps(value, indent=2)` style, no trailing newline.
    public var pretty: String {
        var out = ""
        write(into: &out, indent: 2, depth: 0)
        return out
    }

    private func write(into out: inout String, indent: Int?, depth: Int) {
        switch self {
        case .string(let s): Self.writeString(s, into: &out)
        case .int(let i): out += String(i)
        case .double(let d):
            // Shortest round-trip digits; integral values keep a ".0" as Python prints floats.
            out += d.isFinite ? "\(d)" : "null"
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: indent * (depth + 1)) }
                item.write(into: &out, indent: indent, depth: depth + 1)
            }
            if let indent { out += "\n" + String(repeating: " ", count: indent * depth) }
            out += "]"
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: indent * (depth + 1)) }
                Self.writeString(key, into: &out)
                out += ": "
                value.write(into: &out, indent: indent, depth: depth + 1)
            }
            if let indent { out += "\n" + String(repeating: " ", count: indent * depth) }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for unit in s.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default: out += String(format: "\\u%04x", unit)
            }
        }
        out += "\""
    }
}

extension JSONValue {
    public static func strings(_ items: [String]) -> JSONValue { .array(items.map { .string($0) }) }
    public static func box(_ box: SceneBox) -> JSONValue { .array(box.array.map { .int($0) }) }
    public static func boxes(_ boxes: [SceneBox]) -> JSONValue { .array(boxes.map { .box($0) }) }
}
