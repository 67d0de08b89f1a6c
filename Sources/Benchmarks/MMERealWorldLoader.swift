import Foundation
import Methods

/// MME-RealWorld and MME-RealWorld-Lite in their official JSON form: an array of records with
/// `Question_id`, `Image` (relative to the image root), `Text`, `Answer choices` (`"(A) …"` strings),
/// `Ground truth` (a letter), `Task`, `Subtask` and `Category`.
///
/// The category of a question is the record's `Category`; `Task` and `Subtask` go into its scoring
/// groups, because the benchmark reports accuracy per task, per subtask and per category.
public struct MMERealWorldLoader {
    public var json: URL
    public var imageRoot: URL

    public init(json: URL, imageRoot: URL) {
        self.json = json
        self.imageRoot = imageRoot
    }

    public func load(skipBad: Bool, skipped: inout [SkippedRecord]) throws -> [Question] {
        let data: Data
        do { data = try Data(contentsOf: json, options: .mappedIfSafe) } catch {
            throw BenchmarkLoadError("\(json.path) cannot be read (\(error.localizedDescription))")
        }
        let top: Any
        do { top = try JSONSerialization.jsonObject(with: data) } catch {
            throw BenchmarkLoadError("\(json.lastPathComponent) is not JSON (\(error.localizedDescription))")
        }
        // The official file is a bare array; some mirrors wrap it as {"data": [...]}.
        guard let records = (top as? [Any]) ?? ((top as? [String: Any])?["data"] as? [Any]) else {
            throw BenchmarkLoadError("\(json.lastPathComponent) is not an array of MME-RealWorld records")
        }
        var questions: [Question] = []
        for (n, item) in records.enumerated() {
            var place = "\(json.lastPathComponent) record \(n + 1)"
            if let id = (item as? [String: Any])?["Question_id"] { place += " (Question_id \(id))" }
            do {
                questions.append(try question(item))
            } catch let bad as BenchmarkLoadError {
                try skipOrThrow(place, bad.message, skipBad: skipBad, skipped: &skipped)
            }
        }
        return questions
    }

    private func question(_ item: Any) throws -> Question {
        guard let r = item as? [String: Any] else { throw BenchmarkLoadError("not a JSON object") }
        func string(_ name: String) throws -> String {
            if let s = r[name] as? String, !s.trimmingCharacters(in: .whitespaces).isEmpty { return s }
            if let i = r[name] as? Int { return String(i) }
            throw BenchmarkLoadError(r[name] == nil ? "field '\(name)' is missing" : "field '\(name)' is not a non-empty string")
        }
        let id = try string("Question_id")
        let imagePath = try string("Image")
        let image = imageRoot.appendingPathComponent(imagePath)
        guard FileManager.default.fileExists(atPath: image.path) else {
            throw BenchmarkLoadError("field 'Image': \(image.path) does not exist (image root \(imageRoot.path); set it with --images)")
        }
        let text = try string("Text")
        guard let choices = r["Answer choices"] as? [String], !choices.isEmpty else {
            throw BenchmarkLoadError(r["Answer choices"] == nil ? "field 'Answer choices' is missing" : "field 'Answer choices' is not a list of strings")
        }
        var options: [String] = []
        for (i, choice) in choices.enumerated() {
            let letter = Question.letters(count: i + 1)[i]
            let t = choice.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("(\(letter))") else {
                throw BenchmarkLoadError("field 'Answer choices': choice \(i + 1) does not start with '(\(letter))': \(choice.prefix(40))")
            }
            options.append(String(t.dropFirst(3)).trimmingCharacters(in: .whitespaces))
        }
        let truth = try string("Ground truth").trimmingCharacters(in: .whitespaces)
        let letters = Question.letters(count: options.count)
        guard letters.contains(truth) else {
            throw BenchmarkLoadError("field 'Ground truth': '\(truth)' is not one of the option letters \(letters.joined(separator: ", "))")
        }
        let category = try string("Category")
        var groups = ["task": try string("Task"), "subtask": try string("Subtask")]
        if let dataset = r["Dataset"] as? String { groups["dataset"] = dataset }
        return Question(id: id, image: image, text: text, options: options, label: truth, category: category, groups: groups)
    }
}
