// ScenePlanner: random backgrounds and non-overlapping object placement, shared by the benchmark
// (`SynthBenchmark`) and the training data (`TrainingSet`).
import Foundation

/// Places boxes at random so that no two come closer than a gap proportional to their size.
public struct ScenePlanner {
    public let width: Int
    public let height: Int
    public private(set) var objects: [SceneObject] = []
    /// Tries per object before giving up on it.
    public var tries = 60

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// The free space kept around a box of longest side `size` (and around its neighbours).
    static func gap(_ size: Int) -> Int { max(2, size / 8) }

    /// Whether `box` lies inside the image and keeps its gap from every placed object.
    public func fits(_ box: SceneBox) -> Bool {
        guard box.x >= 0, box.y >= 0, box.maxX <= width, box.maxY <= height else { return false }
        for other in objects {
            let g = max(Self.gap(box.longestSide), Self.gap(other.box.longestSide))
            if box.expanded(by: g).intersects(other.box) { return false }
        }
        return true
    }

    /// A random box for `shape` at longest side `size` that fits and satisfies `accept`; nil after `tries`.
    public func findBox(
        shape: ObjectShape, size: Int, rng: inout SynthRandom, accept: (SceneBox) -> Bool = { _ in true }
    ) -> SceneBox? {
        let (w, h) = shape.boxSize(longestSide: size)
        guard w <= width, h <= height else { return nil }
        for _ in 0..<tries {
            let box = SceneBox(x: rng.int(width - w + 1), y: rng.int(height - h + 1), width: w, height: h)
            if fits(box) && accept(box) { return box }
        }
        return nil
    }

    /// Places an object (colour jittered by up to +-10 per channel); returns its box, or nil.
    @discardableResult
    public mutating func place(
        shape: ObjectShape, color: ObjectColor, size: Int, rng: inout SynthRandom,
        accept: (SceneBox) -> Bool = { _ in true }
    ) -> SceneBox? {
        guard let box = findBox(shape: shape, size: size, rng: &rng, accept: accept) else { return nil }
        add(SceneObject(shape: shape, color: color, fill: Self.jitter(color, &rng), box: box))
        return box
    }

    public mutating func add(_ object: SceneObject) { objects.append(object) }

    public mutating func removeAll() { objects.removeAll() }

    static func jitter(_ color: ObjectColor, _ rng: inout SynthRandom) -> (r: UInt8, g: UInt8, b: UInt8) {
        let c = color.rgb
        func j(_ v: UInt8) -> UInt8 { UInt8(clamping: Int(v) + rng.int(in: -10...10)) }
        let r = j(c.r), g = j(c.g), b = j(c.b)
        return (r, g, b)
    }

    /// Distractors: `count` attempts with shapes from `shapes`, any of `colors`, sizes in `sizes`;
    /// an attempt that finds no free spot is dropped (large objects fill the image quickly).
    public mutating func addDistractors(
        count: Int, shapes: [ObjectShape], colors: [ObjectColor], sizes: ClosedRange<Int>, rng: inout SynthRandom
    ) {
        guard !shapes.isEmpty else { return }
        for _ in 0..<count {
            place(shape: rng.pick(shapes), color: rng.pick(colors), size: rng.int(in: sizes), rng: &rng)
        }
    }

    // MARK: - Background

    /// A muted random background: low saturation, mid values, faint texture.
    public static func background(width: Int, height: Int, rng: inout SynthRandom) -> Background {
        func muted(saturation: ClosedRange<Double>, value: ClosedRange<Double>) -> Tint {
            hsv(rng.unit(), rng.uniform(saturation.lowerBound, saturation.upperBound),
                rng.uniform(value.lowerBound, value.upperBound))
        }
        let baseValue = rng.uniform(0.38, 0.62)
        let from = muted(saturation: 0.05...0.3, value: baseValue...(baseValue + 0.01))
        let to = muted(saturation: 0.05...0.3, value: max(0.33, baseValue - 0.1)...min(0.67, baseValue + 0.1))
        let angle = rng.uniform(0, 2 * Double.pi)
        func noiseTint(_ amplitude: Double) -> Tint {
            // Mostly luminance, a little hue.
            let l = Float(amplitude)
            return Tint(l + Float(rng.uniform(-0.3, 0.3) * amplitude), l + Float(rng.uniform(-0.3, 0.3) * amplitude),
                        l + Float(rng.uniform(-0.3, 0.3) * amplitude))
        }
        let diagonal = Double(width + height)
        let short = Double(min(width, height))
        let coarseCell = Float(max(32, short * rng.uniform(0.12, 0.3)))
        let fineCell = Float(max(16, short * rng.uniform(0.02, 0.05)))
        let coarseTint = noiseTint(rng.uniform(8, 18)), fineTint = noiseTint(rng.uniform(3, 7))
        let noiseSeed = rng.next()

        let blobs = (0..<rng.int(in: 8...24)).map { _ in
            Background.Blob(
                centerX: Float(rng.uniform(0, Double(width))), centerY: Float(rng.uniform(0, Double(height))),
                radiusX: Float(short * rng.uniform(0.03, 0.25)), radiusY: Float(short * rng.uniform(0.03, 0.25)),
                tint: muted(saturation: 0.0...0.35, value: 0.3...0.7), alpha: Float(rng.uniform(0.15, 0.4)))
        }
        let lines = (0..<rng.int(in: 10...36)).map { _ -> Background.Line in
            let x0 = rng.uniform(0, Double(width)), y0 = rng.uniform(0, Double(height))
            let direction = rng.uniform(0, 2 * Double.pi), length = diagonal * rng.uniform(0.03, 0.25)
            return Background.Line(
                x0: Float(x0), y0: Float(y0), x1: Float(x0 + cos(direction) * length), y1: Float(y0 + sin(direction) * length),
                width: Float(rng.uniform(1, max(1.5, short / 400))),
                tint: muted(saturation: 0.0...0.3, value: 0.25...0.8), alpha: Float(rng.uniform(0.15, 0.45)))
        }
        return Background(
            from: from, to: to, gradientX: Float(cos(angle)), gradientY: Float(sin(angle)),
            coarseCell: coarseCell, fineCell: fineCell, coarseTint: coarseTint, fineTint: fineTint,
            noiseSeed: noiseSeed, blobs: blobs, lines: lines, grain: Float(rng.uniform(2, 6)))
    }

    /// HSV (all in [0, 1]) to a 0...255 tint.
    static func hsv(_ h: Double, _ s: Double, _ v: Double) -> Tint {
        let sector = (h * 6).truncatingRemainder(dividingBy: 6)
        let c = v * s, x = c * (1 - abs(sector.truncatingRemainder(dividingBy: 2) - 1)), m = v - c
        let (r, g, b): (Double, Double, Double)
        switch Int(sector) {
        case 0: (r, g, b) = (c, x, 0)
        case 1: (r, g, b) = (x, c, 0)
        case 2: (r, g, b) = (0, c, x)
        case 3: (r, g, b) = (0, x, c)
        case 4: (r, g, b) = (x, 0, c)
        default: (r, g, b) = (c, 0, x)
        }
        return Tint(Float((r + m) * 255), Float((g + m) * 255), Float((b + m) * 255))
    }
}
