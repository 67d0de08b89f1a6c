import Foundation
import Methods

/// HR-Bench 4K/8K as published (`hr_bench_4k.tsv`, `hr_bench_8k.tsv`): columns `index, question,
/// answer, A, B, C, D, category, cycle_category, image`, the image a base64 JPEG in every row.
///
/// The 8K file is 4.6 GB, so it is streamed a record at a time and each image is written once to
/// `imageFolder/<index>.jpg` (methods and cluster nodes read images by path; a later load finds the
/// file and does not write it again). Memory stays at one record. As in VLMEvalKit's TSVs, an `image`
/// field of a few digits refers to the row with that index instead of repeating the picture.
public struct HRBenchLoader {
    public var tsv: URL
    public var imageFolder: URL
    static let required = ["index", "question", "answer", "A", "B", "category", "image"]

    public init(tsv: URL, imageFolder: URL) {
        self.tsv = tsv
        self.imageFolder = imageFolder
    }

    public func load(skipBad: Bool, skipped: inout [SkippedRecord]) throws -> [Question] {
        guard FileManager.default.fileExists(atPath: tsv.path) else {
            throw BenchmarkLoadError("\(tsv.path) does not exist")
        }
        let reader = try TSVReader(url: tsv)
        guard let header = try reader.next() else { throw BenchmarkLoadError("\(tsv.path) is empty; HR-Bench's TSV starts with a header row") }
        var column: [String: Int] = [:]
        for (i, name) in header.enumerated() { column[name.trimmingCharacters(in: .whitespaces)] = i }
        let missing = Self.required.filter { column[$0] == nil }
        guard missing.isEmpty else {
            throw BenchmarkLoadError("\(tsv.lastPathComponent) line 1: the header has no column \(missing.map { "'\($0)'" }.joined(separator: ", ")) (HR-Bench columns: index, question, answer, A, B, C, D, category, cycle_category, image)")
        }
        do { try FileManager.default.createDirectory(at: imageFolder, withIntermediateDirectories: true) } catch {
            throw BenchmarkLoadError("cannot create the image folder \(imageFolder.path) (\(error.localizedDescription)); choose one with --images")
        }
        var questions: [Question] = []
        var imageOf: [String: URL] = [:]   // index → written image, for rows that refer to another
        let imageColumn = column["image"]!
        while let raw = try reader.nextRaw() {
            let place = "\(tsv.lastPathComponent) line \(reader.recordLine)"
            do {
                // Every field but the image as text; the image stays bytes until it is decoded.
                let fields = try raw.enumerated().map { $0.offset == imageColumn ? "" : try reader.text($0.element) }
                let image = imageColumn < raw.count ? raw[imageColumn] : []
                let q = try question(fields, image: image, column: column, imageOf: &imageOf)
                questions.append(q)
            } catch let bad as BenchmarkLoadError {
                try skipOrThrow(place, bad.message, skipBad: skipBad, skipped: &skipped)
            } catch let bad as TSVReader.FormatError {
                try skipOrThrow(place, bad.message, skipBad: skipBad, skipped: &skipped)
            }
        }
        return questions
    }

    private func question(_ fields: [String], image imageBytes: [UInt8], column: [String: Int], imageOf: inout [String: URL]) throws -> Question {
        func field(_ name: String) -> String? {
            guard let i = column[name], i < fields.count else { return nil }
            return fields[i]
        }
        func required(_ name: String) throws -> String {
            guard let v = field(name)?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else {
                throw BenchmarkLoadError("field '\(name)' is missing or empty")
            }
            return v
        }
        guard fields.count == column.count else {
            throw BenchmarkLoadError("\(fields.count) fields, but the header has \(column.count) (a tab or quote out of place?)")
        }
        let index = try required("index")
        let text = try required("question")
        var options: [String] = []
        for letter in ["A", "B", "C", "D", "E", "F"] {
            // pandas writes a missing option as an empty field (or "nan" after a round trip).
            guard let v = field(letter)?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty, v != "nan" else { break }
            options.append(v)
        }
        guard options.count >= 2 else { throw BenchmarkLoadError("fields 'A' and 'B' must both hold an option") }
        let answer = try required("answer")
        let letters = Question.letters(count: options.count)
        guard letters.contains(answer) else {
            throw BenchmarkLoadError("field 'answer': '\(answer)' is not one of the option letters \(letters.joined(separator: ", "))")
        }
        let category = try required("category")
        guard !imageBytes.isEmpty else { throw BenchmarkLoadError("field 'image' is missing or empty") }
        let image: URL
        if imageBytes.count <= 16, imageBytes.allSatisfy({ (48...57).contains($0) }) {
            let reference = String(decoding: imageBytes, as: UTF8.self)
            guard let earlier = imageOf[reference] else {
                throw BenchmarkLoadError("field 'image' refers to row \(reference), which is not an earlier row with an image")
            }
            image = earlier
        } else {
            image = try write(imageBytes, index: index)
        }
        imageOf[index] = image
        var groups: [String: String] = [:]
        if let cycle = field("cycle_category")?.trimmingCharacters(in: .whitespaces), !cycle.isEmpty { groups["cycle"] = cycle }
        return Question(id: index, image: image, text: text, options: options, label: answer, category: category,
                        groups: groups)
    }

    /// Decodes one base64 image and writes it, unless a file of its decoded size is already there
    /// (a second load of the same TSV, which then decodes only the first bytes to name the file).
    private func write(_ base64: [UInt8], index: String) throws -> URL {
        guard let head = Base64.decode(Array(base64.prefix(12))) else {
            throw BenchmarkLoadError("field 'image' is not valid base64")
        }
        let ext: String
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { ext = "jpg" }
        else if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { ext = "png" }
        else { throw BenchmarkLoadError("field 'image' does not decode to a JPEG or a PNG (it starts with bytes \(head.prefix(4).map { String(format: "%02x", $0) }.joined()))") }
        let safe = index.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }
        let url = imageFolder.appendingPathComponent("\(String(safe)).\(ext)")
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int,
           size == Base64.decodedCount(base64) {
            return url
        }
        guard let decoded = Base64.decode(base64), !decoded.isEmpty else {
            throw BenchmarkLoadError("field 'image' is not valid base64")
        }
        let bytes = Data(decoded)
        let partial = url.appendingPathExtension("partial")
        do { try bytes.write(to: partial) } catch {
            throw BenchmarkLoadError("cannot write \(partial.path) (\(error.localizedDescription)); choose another image folder with --images")
        }
        guard rename(partial.path, url.path) == 0 else {
            throw BenchmarkLoadError("cannot rename \(partial.path) to \(url.lastPathComponent) (\(String(cString: strerror(errno))))")
        }
        return url
    }
}
