// SceneRenderer: draws a `Scene` into an `RGBImage`. The background is computed on a grid 4x coarser
// than the image and interpolated (it is smooth by design), then grain, lines and objects are drawn at
// full resolution, each only inside its own bounding box. Objects are anti-aliased: a pixel whose
// four corners disagree about the shape gets 4x4 supersampled coverage.
import Foundation
import Models

public enum SceneRenderer {
    /// Background grid spacing in pixels.
    static let gridStep = 4

    public static func render(_ scene: Scene) -> RGBImage {
        var image = RGBImage(width: scene.width, height: scene.height, fill: (0, 0, 0))
        image.pixels.withUnsafeMutableBufferPointer { buffer in
            let canvas = Canvas(pixels: buffer.baseAddress!, width: scene.width, height: scene.height)
            drawBackground(scene.background, on: canvas)
            for line in scene.background.lines { drawLine(line, on: canvas) }
            for object in scene.objects { drawObject(object, on: canvas) }
        }
        return image
    }

    /// A raw view of the image being drawn. // pixels: [height, width, 3]
    struct Canvas {
        let pixels: UnsafeMutablePointer<UInt8>
        let width: Int
        let height: Int
    }

    // MARK: - Background

    static func drawBackground(_ bg: Background, on canvas: Canvas) {
        let step = gridStep
        let gw = canvas.width / step + 2, gh = canvas.height / step + 2
        var grid = [Float](repeating: 0, count: gw * gh * 3)  // [gh, gw, 3]
        let w = Float(canvas.width), h = Float(canvas.height)
        let extent = abs(w * bg.gradientX) + abs(h * bg.gradientY)
        let coarse = NoiseLattice(cell: bg.coarseCell, width: canvas.width, height: canvas.height, seed: bg.noiseSeed)
        let fine = NoiseLattice(cell: bg.fineCell, width: canvas.width, height: canvas.height, seed: bg.noiseSeed ^ 0xF1E)
        grid.withUnsafeMutableBufferPointer { g in
            for j in 0..<gh {
                let py = Float(j * step) + 0.5
                for i in 0..<gw {
                    let px = Float(i * step) + 0.5
                    var t = ((px - w / 2) * bg.gradientX + (py - h / 2) * bg.gradientY) / extent + 0.5
                    t = min(max(t, 0), 1)
                    let n1 = coarse.value(x: px, y: py), n2 = fine.value(x: px, y: py)
                    let k = (j * gw + i) * 3
                    g[k] = bg.from.r + (bg.to.r - bg.from.r) * t + bg.coarseTint.r * n1 + bg.fineTint.r * n2
                    g[k + 1] = bg.from.g + (bg.to.g - bg.from.g) * t + bg.coarseTint.g * n1 + bg.fineTint.g * n2
                    g[k + 2] = bg.from.b + (bg.to.b - bg.from.b) * t + bg.coarseTint.b * n1 + bg.fineTint.b * n2
                }
            }
            // Soft elliptical blobs: coverage (1 - d)^2 inside the ellipse, d the normalised squared radius.
            for blob in bg.blobs {
                let i0 = max(0, Int((blob.centerX - blob.radiusX) / Float(step))), i1 = min(gw - 1, Int((blob.centerX + blob.radiusX) / Float(step)) + 1)
                let j0 = max(0, Int((blob.centerY - blob.radiusY) / Float(step))), j1 = min(gh - 1, Int((blob.centerY + blob.radiusY) / Float(step)) + 1)
                guard i0 <= i1, j0 <= j1 else { continue }
                for j in j0...j1 {
                    let dy = (Float(j * step) + 0.5 - blob.centerY) / blob.radiusY
                    for i in i0...i1 {
                        let dx = (Float(i * step) + 0.5 - blob.centerX) / blob.radiusX
                        let d = dx * dx + dy * dy
                        guard d < 1 else { continue }
                        let a = blob.alpha * (1 - d) * (1 - d)
                        let k = (j * gw + i) * 3
                        g[k] += (blob.tint.r - g[k]) * a
                        g[k + 1] += (blob.tint.g - g[k + 1]) * a
                        g[k + 2] += (blob.tint.b - g[k + 2]) * a
                    }
                }
            }
        }

        // Full resolution: bilinear between grid points plus luminance grain, in 8.8 fixed point. The
        // grid step is 4 (shifts, not divisions: this loop touches every pixel). Grain comes from a
        // table of 65536 random levels read at a per-row random offset.
        precondition(step == 4, "the full-resolution pass assumes a grid step of 4")
        var row = [Float](repeating: 0, count: gw * 3)  // [gw, 3]
        let grainScale = bg.grain / 127.5 * 256
        var mixer = SplitMix64(state: bg.noiseSeed ^ 0x6A1A)
        var grainTable = [Int32](repeating: 0, count: 1 << 16)  // [65536], 8.8 fixed point
        for i in 0..<grainTable.count { grainTable[i] = Int32((Float(mixer.next() >> 56) - 127.5) * grainScale) }
        let width = canvas.width
        grid.withUnsafeBufferPointer { g in
        row.withUnsafeMutableBufferPointer { r in
        grainTable.withUnsafeBufferPointer { grain in
            for y in 0..<canvas.height {
                let j = y >> 2, fy = Float(y & 3) * 0.25
                let a = (j * gw) * 3, b = ((j + 1) * gw) * 3
                for k in 0..<(gw * 3) { r[k] = g[a + k] + (g[b + k] - g[a + k]) * fy }
                let out = canvas.pixels + y * width * 3
                let offset = Int(truncatingIfNeeded: SplitMix64.mix(UInt64(y) ^ bg.noiseSeed) & 0xFFFF)
                var x = 0
                while x < width {
                    let k = (x >> 2) * 3
                    // 8.8 fixed point, +128 for rounding.
                    var vr = Int32(r[k] * 256) + 128, vg = Int32(r[k + 1] * 256) + 128, vb = Int32(r[k + 2] * 256) + 128
                    let dr = Int32((r[k + 3] - r[k]) * 64), dg = Int32((r[k + 4] - r[k + 1]) * 64)
                    let db = Int32((r[k + 5] - r[k + 2]) * 64)
                    let end = min(x + 4, width)
                    while x < end {
                        let n = grain[(x &+ offset) & 0xFFFF]
                        let p = out + x * 3
                        p[0] = clampByte((vr + n) >> 8)
                        p[1] = clampByte((vg + n) >> 8)
                        p[2] = clampByte((vb + n) >> 8)
                        vr &+= dr; vg &+= dg; vb &+= db
                        x += 1
                    }
                }
            }
        }}}
    }

    @inline(__always)
    static func clampByte(_ i: Int32) -> UInt8 {
        UInt8(truncatingIfNeeded: i < 0 ? 0 : (i > 255 ? 255 : i))
    }

    @inline(__always)
    static func toByte(_ v: Float) -> UInt8 {
        // Values stay within a few hundred levels of the range, so the integer conversion cannot
        // overflow; integer clamping compiles to conditional moves, not branches.
        let i = Int32(v + 0.5)
        return UInt8(truncatingIfNeeded: i < 0 ? 0 : (i > 255 ? 255 : i))
    }

    /// Value noise: random values in [-1, 1] on a lattice of spacing `cell`, smoothstep-interpolated.
    struct NoiseLattice {
        let cell: Float
        let columns: Int
        let values: [Float]  // [rows, columns]

        init(cell: Float, width: Int, height: Int, seed: UInt64) {
            self.cell = cell
            columns = Int(Float(width) / cell) + 3
            let rows = Int(Float(height) / cell) + 3
            var mixer = SplitMix64(state: seed)
            values = (0..<(rows * columns)).map { _ in Float(mixer.next() >> 40) / Float(1 << 23) - 1 }
        }

        @inline(__always)
        func value(x: Float, y: Float) -> Float {
            let gx = x / cell, gy = y / cell
            let ix = Int(gx), iy = Int(gy)
            var fx = gx - Float(ix), fy = gy - Float(iy)
            fx = fx * fx * (3 - 2 * fx)
            fy = fy * fy * (3 - 2 * fy)
            let k = iy * columns + ix
            let top = values[k] + (values[k + 1] - values[k]) * fx
            let bottom = values[k + columns] + (values[k + columns + 1] - values[k + columns]) * fx
            return top + (bottom - top) * fy
        }
    }

    // MARK: - Lines

    /// An anti-aliased segment with round caps, blended at `alpha`; visits only the pixels within
    /// half the width (plus one) of the segment, walking along its major axis.
    static func drawLine(_ line: Background.Line, on canvas: Canvas) {
        let dx = line.x1 - line.x0, dy = line.y1 - line.y0
        let length2 = dx * dx + dy * dy
        guard length2 > 0 else { return }
        let length = length2.squareRoot()
        let half = line.width / 2
        let reach = half + 1
        let steep = abs(dy) > abs(dx)
        // Major axis a, minor axis b.
        let (a0, a1, b0, b1) = steep ? (line.y0, line.y1, line.x0, line.x1) : (line.x0, line.x1, line.y0, line.y1)
        let majorLimit = steep ? canvas.height : canvas.width
        let minorLimit = steep ? canvas.width : canvas.height
        let slope = (b1 - b0) / (a1 - a0)
        let spread = reach * length / abs(a1 - a0)
        let aStart = max(0, Int((min(a0, a1) - reach).rounded(.down)))
        let aEnd = min(majorLimit - 1, Int((max(a0, a1) + reach).rounded(.up)))
        guard aStart <= aEnd else { return }
        for a in aStart...aEnd {
            let ac = Float(a) + 0.5
            let clampedA = min(max(ac, min(a0, a1)), max(a0, a1))
            let bc = b0 + (clampedA - a0) * slope
            let bStart = max(0, Int((bc - spread).rounded(.down)))
            let bEnd = min(minorLimit - 1, Int((bc + spread).rounded(.up)))
            guard bStart <= bEnd else { continue }
            for b in bStart...bEnd {
                let (px, py) = steep ? (Float(b) + 0.5, ac) : (ac, Float(b) + 0.5)
                var t = ((px - line.x0) * dx + (py - line.y0) * dy) / length2
                t = min(max(t, 0), 1)
                let ex = px - (line.x0 + t * dx), ey = py - (line.y0 + t * dy)
                let coverage = min(max(half + 0.5 - (ex * ex + ey * ey).squareRoot(), 0), 1)
                guard coverage > 0 else { continue }
                let alpha = line.alpha * coverage
                let (x, y) = steep ? (b, a) : (a, b)
                let p = canvas.pixels + (y * canvas.width + x) * 3
                p[0] = toByte(Float(p[0]) + (line.tint.r - Float(p[0])) * alpha)
                p[1] = toByte(Float(p[1]) + (line.tint.g - Float(p[1])) * alpha)
                p[2] = toByte(Float(p[2]) + (line.tint.b - Float(p[2])) * alpha)
            }
        }
    }

    // MARK: - Objects

    /// Samples per axis for an edge pixel (16 coverage levels).
    static let supersampling = 4

    /// Fills the object's shape over its box; coverage is exact at 4x4 samples per pixel on edges.
    static func drawObject(_ object: SceneObject, on canvas: Canvas) {
        let box = object.box
        guard box.width > 0, box.height > 0 else { return }
        let shape = object.shape
        let m = ShapeGeometry.mappings[ShapeGeometry.shapeIndex[shape]!]
        let w = box.width, h = box.height
        let invW = 1 / Float(w), invH = 1 / Float(h)
        @inline(__always) func inside(_ px: Float, _ py: Float) -> Bool {
            ShapeGeometry.containsNatural(shape, x: m.x0 + px * invW * m.sx, y: m.y0 + py * invH * m.sy)
        }
        // Small objects: supersample every pixel (thin parts may fall between pixel corners).
        let everyPixel = min(w, h) < 16
        var corners = [Bool](repeating: false, count: everyPixel ? 0 : (w + 1) * (h + 1))  // [h + 1, w + 1]
        if !everyPixel {
            for j in 0...h { for i in 0...w { corners[j * (w + 1) + i] = inside(Float(i), Float(j)) } }
        }
        let n = supersampling, total = n * n
        let fill = (Int(object.fill.r), Int(object.fill.g), Int(object.fill.b))
        for j in 0..<h {
            let y = box.y + j
            guard y >= 0, y < canvas.height else { continue }
            for i in 0..<w {
                let x = box.x + i
                guard x >= 0, x < canvas.width else { continue }
                var coverage = 0
                var uniform = false
                if !everyPixel {
                    let c = j * (w + 1) + i
                    let a = corners[c], b = corners[c + 1], d = corners[c + w + 1], e = corners[c + w + 2]
                    if a == b && a == d && a == e { uniform = true; coverage = a ? total : 0 }
                }
                if !uniform {
                    for sy in 0..<n {
                        let py = Float(j) + (Float(sy) + 0.5) / Float(n)
                        for sx in 0..<n where inside(Float(i) + (Float(sx) + 0.5) / Float(n), py) { coverage += 1 }
                    }
                }
                guard coverage > 0 else { continue }
                let p = canvas.pixels + (y * canvas.width + x) * 3
                if coverage == total {
                    p[0] = UInt8(fill.0); p[1] = UInt8(fill.1); p[2] = UInt8(fill.2)
                } else {
                    let keep = total - coverage, half = total / 2
                    p[0] = UInt8((Int(p[0]) * keep + fill.0 * coverage + half) / total)
                    p[1] = UInt8((Int(p[1]) * keep + fill.1 * coverage + half) / total)
                    p[2] = UInt8((Int(p[2]) * keep + fill.2 * coverage + half) / total)
                }
            }
        }
    }
}
