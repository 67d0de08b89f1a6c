import Foundation
import Methods
import Models

/// `focus ask --explain DIR`: what a user wants to look at after a FOCUS answer. Per target, the
/// relevance map as a heatmap over the image and the proposals with their verdicts; the view the
/// answer was computed on; and `explain.json` with the same numbers.
enum Explanation {
    /// Longest side of the pictures written (the originals can be 8K).
    static let displaySide = 1024

    struct Record: Encodable {
        var question: String
        var answer: String
        var letter: String?
        var targets: [String]
        var type2: Bool
        var perTarget: [TargetEvidence]
        var finalView: ImageView
        var forwardPasses: [String: Int]
        var files: [String]
    }

    static func write(to directory: URL, question: Question, answer: Answer, evidence: FocusEvidence?, ledger: ComputeLedger,
                      executor: LocalExecutor) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw MethodError("cannot create the explanation directory \(directory.path): \(error.localizedDescription)")
        }
        let original = try executor.pixels(of: ImageView(image: question.image))
        let scale = min(1, Double(displaySide) / Double(max(original.width, original.height)))
        let display = scale < 1
            ? original.resized(width: max(1, Int(Double(original.width) * scale)), height: max(1, Int(Double(original.height) * scale)), resample: .bilinear)
            : original
        var files: [String] = []
        func save(_ image: RGBImage, _ name: String) throws {
            let url = directory.appendingPathComponent(name)
            do { try ImageEncoder.png(image).write(to: url) } catch {
                throw MethodError("cannot write \(url.path): \(error.localizedDescription)")
            }
            files.append(name)
        }
        for (i, t) in (evidence?.perTarget ?? []).enumerated() {
            let slug = t.target.map { $0.isLetter || $0.isNumber ? $0 : "-" }
            try save(heatmap(t, over: display, scale: scale), "\(i + 1)-\(String(slug))-heatmap.png")
            try save(regions(t, over: display, scale: scale), "\(i + 1)-\(String(slug))-regions.png")
        }
        let final = answer.views.first ?? ImageView(image: question.image)
        try save(try executor.pixels(of: final), "final-view.png")
        let record = Record(question: question.text, answer: answer.raw, letter: answer.letter, targets: evidence?.targets ?? [],
                            type2: evidence?.all ?? false, perTarget: evidence?.perTarget ?? [], finalView: final,
                            forwardPasses: Dictionary(uniqueKeysWithValues: ComputeBucket.allCases.map { ($0.rawValue, ledger.passes($0)) }),
                            files: files + ["explain.json"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(record).write(to: directory.appendingPathComponent("explain.json"))
    }

    /// The map, min-max normalised and bilinearly interpolated between cell centres in model-input
    /// coordinates, over a dimmed grey copy of the picture in an inferno-like scale (black, purple,
    /// orange, yellow as the score rises). Grey first: blended over a colourful scene, a red-to-
    /// yellow overlay was indistinguishable from the red and orange objects under it.
    static func heatmap(_ t: TargetEvidence, over image: RGBImage, scale: Double) -> RGBImage {
        var out = image
        let g = t.geometry, m = t.map
        let values = m.minMaxNormalized
        let cellW = Double(g.inputWidth) / Double(m.columns), cellH = Double(g.inputHeight) / Double(m.rows)
        func value(_ x: Double, _ y: Double) -> Double {
            let gx = min(max(x / cellW - 0.5, 0), Double(m.columns - 1)), gy = min(max(y / cellH - 0.5, 0), Double(m.rows - 1))
            let x0 = Int(gx), y0 = Int(gy), x1 = min(x0 + 1, m.columns - 1), y1 = min(y0 + 1, m.rows - 1)
            let fx = gx - Double(x0), fy = gy - Double(y0)
            func v(_ c: Int, _ r: Int) -> Double { Double(values[r * m.columns + c]) }
            return (v(x0, y0) * (1 - fx) + v(x1, y0) * fx) * (1 - fy) + (v(x0, y1) * (1 - fx) + v(x1, y1) * fx) * fy
        }
        out.pixels.withUnsafeMutableBufferPointer { p in
            for y in 0..<image.height {
                for x in 0..<image.width {
                    let input = g.fromOriginal(x: (Double(x) + 0.5) / scale, y: (Double(y) + 0.5) / scale)
                    let v = value(input.x, input.y)
                    let heat = inferno(v)
                    let alpha = 0.35 + 0.5 * v
                    let i = (y * image.width + x) * 3
                    let grey = 0.55 * (0.299 * Double(p[i]) + 0.587 * Double(p[i + 1]) + 0.114 * Double(p[i + 2]))
                    p[i] = UInt8(grey * (1 - alpha) + heat.r * alpha)
                    p[i + 1] = UInt8(grey * (1 - alpha) + heat.g * alpha)
                    p[i + 2] = UInt8(grey * (1 - alpha) + heat.b * alpha)
                }
            }
        }
        return out
    }

    /// Five stops of matplotlib's inferno, linearly interpolated; `v` in [0, 1].
    static func inferno(_ v: Double) -> (r: Double, g: Double, b: Double) {
        let stops: [(Double, Double, Double)] = [(0, 0, 4), (87, 16, 110), (188, 55, 84), (249, 142, 9), (252, 255, 164)]
        let x = min(max(v, 0), 1) * Double(stops.count - 1)
        let i = min(Int(x), stops.count - 2), f = x - Double(i)
        let a = stops[i], b = stops[i + 1]
        return (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f)
    }

    /// Proposals outlined: grey unchecked, green when the model said Yes, red when No; the chosen
    /// region in yellow and thicker.
    static func regions(_ t: TargetEvidence, over image: RGBImage, scale: Double) -> RGBImage {
        var out = image
        for (i, r) in t.regions.enumerated().reversed() {
            let color: (UInt8, UInt8, UInt8)
            if i == t.chosen { color = (255, 230, 0) } else if let c = r.confidence { color = c > 0 ? (40, 220, 60) : (230, 40, 40) } else { color = (160, 160, 160) }
            outline(&out, r.box, scale: scale, color: color, thickness: i == t.chosen ? 4 : 2)
        }
        return out
    }

    static func outline(_ image: inout RGBImage, _ box: PixelBox, scale: Double, color: (UInt8, UInt8, UInt8), thickness: Int) {
        let x0 = max(0, Int(box.x * scale)), y0 = max(0, Int(box.y * scale))
        let x1 = min(image.width - 1, Int((box.x + box.width) * scale)), y1 = min(image.height - 1, Int((box.y + box.height) * scale))
        guard x0 <= x1, y0 <= y1 else { return }
        let w = image.width
        image.pixels.withUnsafeMutableBufferPointer { p in
            func set(_ x: Int, _ y: Int) {
                let i = (y * w + x) * 3
                p[i] = color.0; p[i + 1] = color.1; p[i + 2] = color.2
            }
            for k in 0..<thickness {
                for x in x0...x1 {
                    if y0 + k <= y1 { set(x, y0 + k) }
                    if y1 - k >= y0 { set(x, y1 - k) }
                }
                for y in y0...y1 {
                    if x0 + k <= x1 { set(x0 + k, y) }
                    if x1 - k >= x0 { set(x1 - k, y) }
                }
            }
        }
    }
}
