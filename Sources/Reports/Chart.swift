import Foundation
import Models

/// A chart as a list of primitives in a fixed coordinate space, written as SVG (vector, for papers)
/// or rendered into pixels (PNG, for a quick look anywhere), so both show the same thing.
public struct Chart: Sendable {
    public struct Color: Sendable, Equatable {
        public var r: UInt8, g: UInt8, b: UInt8
        public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
        var hex: String { String(format: "#%02x%02x%02x", r, g, b) }
    }

    public enum Anchor: String, Sendable { case start, middle, end }

    public enum Element: Sendable {
        case line(x1: Double, y1: Double, x2: Double, y2: Double, color: Color, width: Double, dashed: Bool)
        case circle(x: Double, y: Double, radius: Double, color: Color)
        case text(x: Double, y: Double, String, size: Double, color: Color, anchor: Anchor)
    }

    public var width: Double
    public var height: Double
    public var elements: [Element] = []

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    public var svg: String {
        func n(_ v: Double) -> String { String(format: "%.1f", v) }
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" font-family=\"Helvetica, Arial, sans-serif\">",
                   "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>"]
        for e in elements {
            switch e {
            case let .line(x1, y1, x2, y2, color, width, dashed):
                out.append("<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(color.hex)\" stroke-width=\"\(n(width))\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>")
            case let .circle(x, y, r, color):
                out.append("<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" fill=\"\(color.hex)\"/>")
            case let .text(x, y, s, size, color, anchor):
                out.append("<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\" fill=\"\(color.hex)\" text-anchor=\"\(anchor.rawValue)\">\(escape(s))</text>")
            }
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// The chart in pixels, `scale` pixels per unit: anti-aliased lines and dots, 5×7 bitmap text.
    public func render(scale: Double = 2) -> RGBImage {
        let w = Int((width * scale).rounded()), h = Int((height * scale).rounded())
        var canvas = Raster(width: w, height: h)
        for e in elements {
            switch e {
            case let .line(x1, y1, x2, y2, color, lineWidth, dashed):
                let (ax, ay, bx, by) = (x1 * scale, y1 * scale, x2 * scale, y2 * scale)
                if !dashed {
                    canvas.segment(ax, ay, bx, by, width: lineWidth * scale, color: color)
                    continue
                }
                let length = hypot(bx - ax, by - ay), dash = 6 * scale, gap = 4 * scale
                var t = 0.0
                while t < length {
                    let e = min(length, t + dash)
                    canvas.segment(ax + (bx - ax) * t / length, ay + (by - ay) * t / length,
                                   ax + (bx - ax) * e / length, ay + (by - ay) * e / length, width: lineWidth * scale, color: color)
                    t = e + gap
                }
            case let .circle(x, y, r, color):
                canvas.disc(x * scale, y * scale, radius: r * scale, color: color)
            case let .text(x, y, s, size, color, anchor):
                canvas.text(s, x: x * scale, baseline: y * scale, pixel: max(1, (size * scale / 9).rounded()), color: color, anchor: anchor)
            }
        }
        return RGBImage(width: w, height: h, pixels: canvas.pixels)
    }
}

/// RGB pixels with coverage-blended drawing.
struct Raster {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func blend(_ x: Int, _ y: Int, _ c: Chart.Color, _ alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let a = min(1, alpha), i = (y * width + x) * 3
        for (k, v) in [c.r, c.g, c.b].enumerated() {
            pixels[i + k] = UInt8((Double(pixels[i + k]) * (1 - a) + Double(v) * a).rounded())
        }
    }

    /// Pixels whose centre lies within width/2 of the segment, with a one-pixel soft edge.
    mutating func segment(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, width w: Double, color: Chart.Color) {
        let half = max(w, 1) / 2
        let dx = x2 - x1, dy = y2 - y1, len2 = dx * dx + dy * dy
        let x0 = Int((min(x1, x2) - half - 1).rounded(.down)), xe = Int((max(x1, x2) + half + 1).rounded(.up))
        let y0 = Int((min(y1, y2) - half - 1).rounded(.down)), ye = Int((max(y1, y2) + half + 1).rounded(.up))
        for y in max(0, y0)...max(0, min(height - 1, ye)) {
            for x in max(0, x0)...max(0, min(width - 1, xe)) {
                let px = Double(x) + 0.5, py = Double(y) + 0.5
                let t = len2 == 0 ? 0 : max(0, min(1, ((px - x1) * dx + (py - y1) * dy) / len2))
                let d = hypot(px - (x1 + t * dx), py - (y1 + t * dy))
                blend(x, y, color, half + 0.5 - d)
            }
        }
    }

    mutating func disc(_ cx: Double, _ cy: Double, radius r: Double, color: Chart.Color) {
        for y in max(0, Int(cy - r - 1))...max(0, min(height - 1, Int(cy + r + 1))) {
            for x in max(0, Int(cx - r - 1))...max(0, min(width - 1, Int(cx + r + 1))) {
                blend(x, y, color, r + 0.5 - hypot(Double(x) + 0.5 - cx, Double(y) + 0.5 - cy))
            }
        }
    }

    /// Text with its baseline at `baseline`, each font pixel `pixel` pixels square.
    mutating func text(_ s: String, x: Double, baseline: Double, pixel p: Double, color: Chart.Color, anchor: Chart.Anchor) {
        let step = Double(BitmapFont.width + 1) * p
        let total = Double(s.count) * step - p
        var left = x
        switch anchor {
        case .start: break
        case .middle: left -= total / 2
        case .end: left -= total
        }
        let top = baseline - Double(BitmapFont.height) * p
        let size = Int(p)
        for (i, ch) in s.enumerated() {
            for gx in 0..<BitmapFont.width {
                for gy in 0..<BitmapFont.height where BitmapFont.pixel(ch, gx, gy) {
                    let ox = Int((left + Double(i) * step + Double(gx) * p).rounded()), oy = Int((top + Double(gy) * p).rounded())
                    for yy in 0..<size { for xx in 0..<size { blend(ox + xx, oy + yy, color, 1) } }
                }
            }
        }
    }
}
