import Foundation

/// A box in original-image pixels: `x, y` is the top-left corner.
public struct PixelBox: Sendable, Codable, Equatable, Hashable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// From V*Bench's `[x, y, w, h]`.
    public init?(xywh: [Double]) {
        guard xywh.count == 4 else { return nil }
        self.init(x: xywh[0], y: xywh[1], width: xywh[2], height: xywh[3])
    }

    public var centerX: Double { x + width / 2 }
    public var centerY: Double { y + height / 2 }
    public var area: Double { max(0, width) * max(0, height) }

    /// The box grown around its centre to at least `side`×`side`, shifted to stay inside an image of
    /// `imageWidth`×`imageHeight`, and clipped to it when the image is smaller.
    public func enlarged(toAtLeast side: Double, imageWidth: Int, imageHeight: Int) -> PixelBox {
        func axis(_ start: Double, _ length: Double, _ limit: Double) -> (Double, Double) {
            let size = min(max(length, side), limit)
            var origin = start + length / 2 - size / 2
            origin = min(max(origin, 0), limit - size)
            return (origin, size)
        }
        let (nx, nw) = axis(x, width, Double(imageWidth))
        let (ny, nh) = axis(y, height, Double(imageHeight))
        return PixelBox(x: nx, y: ny, width: nw, height: nh)
    }

    /// Whether any two of `boxes` have centres more than `distance` pixels apart (step 5's canvas rule).
    public static func centresSpread(_ boxes: [PixelBox], beyond distance: Double) -> Bool {
        for (i, a) in boxes.enumerated() {
            for b in boxes[(i + 1)...] {
                let dx = a.centerX - b.centerX, dy = a.centerY - b.centerY
                if (dx * dx + dy * dy).squareRoot() > distance { return true }
            }
        }
        return false
    }

    /// The smallest box holding all of `boxes` (not empty).
    public static func union(_ boxes: [PixelBox]) -> PixelBox {
        let x0 = boxes.map(\.x).min()!, y0 = boxes.map(\.y).min()!
        let x1 = boxes.map { $0.x + $0.width }.max()!, y1 = boxes.map { $0.y + $0.height }.max()!
        return PixelBox(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Boxes that overlap once grown by `buffer` on every side are replaced by their union, first
    /// pair first, until none do (FOCUS's type-2 regions with no buffer; ZoomEye's patches with 50 px).
    public static func mergingOverlaps(_ boxes: [PixelBox], buffer: Double = 0) -> [PixelBox] {
        var out = boxes
        var merged = true
        while merged {
            merged = false
            outer: for i in out.indices {
                for j in out.indices where j > i {
                    let p = out[i], q = out[j], b = buffer
                    if p.x - b < q.x + q.width && q.x - b < p.x + p.width && p.y - b < q.y + q.height && q.y - b < p.y + p.height {
                        out[i] = union([p, q])
                        out.remove(at: j)
                        merged = true
                        break outer
                    }
                }
            }
        }
        return out
    }

    /// Integer pixel bounds (floor of the origin, ceiling of the far edge).
    public var integral: (x: Int, y: Int, width: Int, height: Int) {
        let x0 = Int(x.rounded(.down)), y0 = Int(y.rounded(.down))
        let x1 = Int((x + width).rounded(.up)), y1 = Int((y + height).rounded(.up))
        return (x0, y0, max(1, x1 - x0), max(1, y1 - y0))
    }
}

/// Whether a question is about single instances (type 1) or about all instances of a kind (type 2).
public enum QuestionKind: String, Sendable, Codable {
    case single
    case all
}

/// A multiple-choice question about one image, as every method and benchmark sees it.
public struct Question: Sendable, Codable, Equatable {
    public var id: String
    /// Absolute path of the image.
    public var image: URL
    /// The question alone, without options ("What is the color of the star?").
    public var text: String
    /// Options in the order they are shown (letters A, B, … in this order).
    public var options: [String]
    /// The correct letter, when known.
    public var label: String?
    public var category: String
    public var kind: QuestionKind?
    /// Ground-truth target names and boxes, when the benchmark has them (diagnostics only: no
    /// method may read them except the oracle).
    public var targets: [String]
    public var boxes: [PixelBox]
    /// What FOCUS step 1 should answer, as written after "the following objects:" ("star", "all
    /// triangles"), when the benchmark provides it (focus's synthetic one does).
    public var extractionKey: [String]?
    /// Further groups the benchmark scores by, beside the category: HR-Bench's `cycle` (the option
    /// permutation round), MME-RealWorld's `task` and `subtask`.
    public var groups: [String: String]

    public init(id: String, image: URL, text: String, options: [String], label: String?, category: String,
                kind: QuestionKind? = nil, targets: [String] = [], boxes: [PixelBox] = [], extractionKey: [String]? = nil,
                groups: [String: String] = [:]) {
        self.id = id
        self.image = image
        self.text = text
        self.options = options
        self.label = label
        self.category = category
        self.kind = kind
        self.targets = targets
        self.boxes = boxes
        self.extractionKey = extractionKey
        self.groups = groups
    }

    /// Option letters in order: A, B, C, …
    public var letters: [String] { Self.letters(count: options.count) }

    /// The letters of `count` options: A, B, C, …
    public static func letters(count: Int) -> [String] {
        (0..<count).map { String(UnicodeScalar(UInt8(65 + $0))) }
    }

    /// The multiple-choice prompt of the method document (and of V*Bench's `text` field): the
    /// question, one `(A) option` line per option, then the instruction to answer with the letter.
    public var multipleChoicePrompt: String {
        var lines = [text]
        for (letter, option) in zip(letters, options) { lines.append("(\(letter)) \(option)") }
        lines.append("Answer with the option's letter from the given choices directly.")
        return lines.joined(separator: "\n")
    }
}
