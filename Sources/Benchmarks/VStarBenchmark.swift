import Foundation
import Methods

/// A benchmark in V*Bench's layout: `test_questions.jsonl` at the root (`image`, `text`, `category`,
/// `question_id`, `label`) and, beside each image, a JSON with `target_object` and `bbox` (`[x,y,w,h]`).
/// focus's synthetic benchmark writes the same layout plus optional fields (`question`, `options`,
/// `bbox`, `target_object`, `type`) that this loader prefers when present.
public enum VStarBenchmark {
    struct Record: Decodable {
        var image: String?
        var text: String?
        var category: String?
        var question_id: QuestionID?
        var label: String?
        var question: String?
        var options: [String]?
        var bbox: [[Double]]?
        var target_object: [String]?
        var type: String?
        /// focus's synthetic benchmark: the target-extraction answer key ("star", "all triangles").
        var targets: [String]?
    }

    /// V*Bench writes ids as strings, some tools as integers.
    enum QuestionID: Decodable {
        case string(String)
        var value: String { if case .string(let s) = self { return s }; return "" }
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .string(String(i)) } else { self = .string(try c.decode(String.self)) }
        }
    }

    struct ImageAnnotation: Decodable {
        var target_object: [String]?
        var bbox: [[Double]]?
    }

    /// Reads every question; a malformed record is an error naming its line and field.
    public static func load(directory: URL) throws -> [Question] {
        var skipped: [SkippedRecord] = []
        return try load(directory: directory, skipBad: false, skipped: &skipped)
    }

    /// Reads every question; a malformed record is an error naming its line and field, or, with
    /// `skipBad`, is skipped and recorded in `skipped`.
    public static func load(directory: URL, skipBad: Bool, skipped: inout [SkippedRecord]) throws -> [Question] {
        let file = directory.appendingPathComponent("test_questions.jsonl")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw BenchmarkLoadError("\(file.path) does not exist or is not UTF-8 text; a V*Bench-layout benchmark has test_questions.jsonl at its root")
        }
        var questions: [Question] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let place = "\(file.lastPathComponent) line \(n + 1)"
            do {
                questions.append(try question(trimmed, directory: directory))
            } catch let bad as BenchmarkLoadError {
                try skipOrThrow(place, bad.message, skipBad: skipBad, skipped: &skipped)
            }
        }
        return questions
    }

    /// One record of test_questions.jsonl; errors name the field, not the place.
    static func question(_ line: String, directory: URL) throws -> Question {
        let record: Record
        do { record = try JSONDecoder().decode(Record.self, from: Data(line.utf8)) } catch {
            throw BenchmarkLoadError("not a JSON object (\(error))")
        }
        guard let image = record.image else { throw BenchmarkLoadError("field 'image' is missing") }
        guard let id = record.question_id?.value else { throw BenchmarkLoadError("field 'question_id' is missing") }
        guard let category = record.category else { throw BenchmarkLoadError("field 'category' is missing") }
        let imageURL = directory.appendingPathComponent(image)
        guard FileManager.default.fileExists(atPath: imageURL.path) else {
            throw BenchmarkLoadError("field 'image': \(imageURL.path) does not exist")
        }
        var questionText = record.question, options = record.options
        if questionText == nil || options == nil {
            guard let full = record.text else { throw BenchmarkLoadError("field 'text' is missing") }
            (questionText, options) = parse(full)
        }
        guard let options, !options.isEmpty else { throw BenchmarkLoadError("field 'text' has no '(A) …' option lines") }
        let letters = Question.letters(count: options.count)
        if let label = record.label, !letters.contains(label) {
            throw BenchmarkLoadError("field 'label': '\(label)' is not one of the option letters \(letters.joined(separator: ", "))")
        }
        let typeTwo = record.type == "counting" || (record.targets ?? []).contains { $0.hasPrefix("all ") }
        var targets = record.target_object, boxes = record.bbox
        if targets == nil || boxes == nil {
            let annotation = imageURL.deletingPathExtension().appendingPathExtension("json")
            if let data = try? Data(contentsOf: annotation) {
                guard let a = try? JSONDecoder().decode(ImageAnnotation.self, from: data) else {
                    throw BenchmarkLoadError("\(annotation.path) is not a V*Bench annotation (target_object, bbox)")
                }
                targets = targets ?? a.target_object
                boxes = boxes ?? a.bbox
            }
        }
        let pixelBoxes = try (boxes ?? []).map { b -> PixelBox in
            guard let box = PixelBox(xywh: b) else { throw BenchmarkLoadError("field 'bbox': a box is not [x, y, w, h]") }
            return box
        }
        return Question(
            id: id, image: imageURL, text: questionText ?? "", options: options, label: record.label,
            category: category, kind: typeTwo ? .all : .single,
            targets: targets ?? [], boxes: pixelBoxes, extractionKey: record.targets)
    }

    /// Splits V*Bench's `text` into the question and its options: lines before the first `(A)` are
    /// the question; `(X) option` lines are options; the closing instruction is dropped.
    static func parse(_ text: String) -> (String, [String]) {
        var question: [String] = [], options: [String] = []
        for line in text.components(separatedBy: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.count >= 3, t.hasPrefix("("), t.dropFirst(2).hasPrefix(")"),
               let letter = t.dropFirst().first, letter.isUppercase {
                options.append(String(t.dropFirst(3)).trimmingCharacters(in: .whitespaces))
            } else if options.isEmpty, !t.hasPrefix("Answer with the option") {
                question.append(line)
            }
        }
        return (question.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines), options)
    }
}
