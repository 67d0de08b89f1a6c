// Vocabulary: the shapes and colours of synthetic objects, named in one place. The names appear in
// questions, options and target-extraction answers, so each is one common English word, and no shape
// starts with a vowel ("Is there a {shape} in the image?" is FOCUS's fixed template, without "an").
import Foundation

/// A colour with its RGB value. Values are saturated and far apart; scene backgrounds are muted, so an
/// object's colour never blends into its surroundings.
public enum ObjectColor: String, CaseIterable, Sendable, Codable {
    case red, orange, yellow, green, cyan, blue, purple, pink, white, black

    /// The word used in questions and options.
    public var name: String { rawValue }

    public var rgb: (r: UInt8, g: UInt8, b: UInt8) {
        switch self {
        case .red: (220, 35, 35)
        case .orange: (245, 135, 20)
        case .yellow: (245, 220, 35)
        case .green: (40, 165, 60)
        case .cyan: (40, 205, 225)
        case .blue: (35, 75, 220)
        case .purple: (140, 55, 190)
        case .pink: (250, 135, 195)
        case .white: (248, 248, 248)
        case .black: (18, 18, 18)
        }
    }

    public init?(name: String) { self.init(rawValue: name.lowercased()) }
}

/// A shape: a filled region inside the object's box. Each shape has a natural aspect ratio (box width
/// over height), so the ground-truth box is tight around what is drawn.
public enum ObjectShape: String, CaseIterable, Sendable, Codable {
    case circle, square, triangle, star, ring, cross, diamond, hexagon, heart, moon

    /// The word used in questions and target lists.
    public var name: String { rawValue }

    /// The plural used in counting questions and in type-2 targets (`all {plural}`).
    public var plural: String {
        switch self {
        case .cross: "crosses"
        default: rawValue + "s"
        }
    }

    public init?(name: String) { self.init(rawValue: name.lowercased()) }

    /// Box width over box height.
    public var aspect: Double {
        let b = ShapeGeometry.bounds(self)
        return (b.maxX - b.minX) / (b.maxY - b.minY)
    }

    /// Box (width, height) for a longest side of `size` pixels.
    public func boxSize(longestSide size: Int) -> (width: Int, height: Int) {
        let a = aspect
        if a >= 1 { return (size, max(1, Int((Double(size) / a).rounded()))) }
        return (max(1, Int((Double(size) * a).rounded())), size)
    }

    /// Whether the point (u, v) of the unit box (u right, v down, both in [0, 1]) is inside the shape.
    @inline(__always)
    public func contains(u: Float, v: Float) -> Bool {
        ShapeGeometry.contains(self, u: u, v: v)
    }
}

extension ObjectShape {
    /// How alike two shapes look when drawn small: the soft IoU (Σ min / Σ max) of their coverage on
    /// a 12 × 12 grid, each drawn with its own aspect, longest side 12 cells, centred, 4 × 4 samples
    /// per cell. 1 for a shape with itself. Twelve cells is the size at which FOCUS's one-cell crops
    /// show small objects to the toy model, and where it confuses a hexagon with a circle.
    public func lowResolutionSimilarity(_ other: ObjectShape) -> Double {
        ShapeSimilarity.table[ShapeGeometry.shapeIndex[self]!][ShapeGeometry.shapeIndex[other]!]
    }
}

enum ShapeSimilarity {
    static let side = 12, samples = 4

    static func coverage(_ shape: ObjectShape) -> [Double] {
        let (w, h) = shape.boxSize(longestSide: side)
        let x0 = Double(side - w) / 2, y0 = Double(side - h) / 2
        var out = [Double](repeating: 0, count: side * side)
        for j in 0..<side {
            for i in 0..<side {
                var hits = 0
                for sy in 0..<samples {
                    for sx in 0..<samples {
                        let u = (Double(i) + (Double(sx) + 0.5) / Double(samples) - x0) / Double(w)
                        let v = (Double(j) + (Double(sy) + 0.5) / Double(samples) - y0) / Double(h)
                        if (0...1).contains(u) && (0...1).contains(v) && shape.contains(u: Float(u), v: Float(v)) { hits += 1 }
                    }
                }
                out[j * side + i] = Double(hits) / Double(samples * samples)
            }
        }
        return out
    }

    static let table: [[Double]] = {
        let masks = ObjectShape.allCases.map(coverage)
        return masks.map { a in
            masks.map { b in
                let lo = zip(a, b).reduce(0) { $0 + min($1.0, $1.1) }, hi = zip(a, b).reduce(0) { $0 + max($1.0, $1.1) }
                return hi == 0 ? 0 : lo / hi
            }
        }
    }()
}

// MARK: - Geometry

/// Each shape is defined in its own natural coordinates (x right, y down) and mapped onto the unit box
/// through its bounds.
enum ShapeGeometry {
    struct Bounds { var minX, maxX, minY, maxY: Double }

    static func bounds(_ shape: ObjectShape) -> Bounds {
        switch shape {
        case .circle, .ring, .square, .cross: Bounds(minX: -1, maxX: 1, minY: -1, maxY: 1)
        // Equilateral, apex up: height sqrt(3)/2 of the side.
        case .triangle: Bounds(minX: -1, maxX: 1, minY: 0, maxY: 3.0.squareRoot())
        // Flat top and bottom, vertices at (+-1, 0).
        case .hexagon: Bounds(minX: -1, maxX: 1, minY: -(3.0.squareRoot() / 2), maxY: 3.0.squareRoot() / 2)
        case .diamond: Bounds(minX: -0.7, maxX: 0.7, minY: -1, maxY: 1)
        case .star: starBounds
        case .heart: heartBounds
        // Unit disc minus the disc of radius 0.85 around (0.5, 0); the circles cross at x = 0.5275.
        case .moon: Bounds(minX: -1, maxX: 0.5275, minY: -1, maxY: 1)
        }
    }

    /// Unit-box point to natural coordinates, per shape, as Float constants (hot loop).
    struct Mapping { let x0, sx, y0, sy: Float }

    static let mappings: [Mapping] = ObjectShape.allCases.map { shape in
        let b = bounds(shape)
        return Mapping(x0: Float(b.minX), sx: Float(b.maxX - b.minX), y0: Float(b.minY), sy: Float(b.maxY - b.minY))
    }

    static let shapeIndex: [ObjectShape: Int] = Dictionary(
        uniqueKeysWithValues: ObjectShape.allCases.enumerated().map { ($1, $0) })

    @inline(__always)
    static func contains(_ shape: ObjectShape, u: Float, v: Float) -> Bool {
        let m = mappings[shapeIndex[shape]!]
        return containsNatural(shape, x: m.x0 + u * m.sx, y: m.y0 + v * m.sy)
    }

    @inline(__always)
    static func containsNatural(_ shape: ObjectShape, x: Float, y: Float) -> Bool {
        switch shape {
        case .circle:
            return x * x + y * y <= 1
        case .ring:
            let r2 = x * x + y * y
            return r2 <= 1 && r2 >= 0.55 * 0.55
        case .square:
            return abs(x) <= 1 && abs(y) <= 1
        case .cross:
            let arm: Float = 1.0 / 3.0
            return abs(x) <= 1 && abs(y) <= 1 && (abs(x) <= arm || abs(y) <= arm)
        case .triangle:
            // Apex (0, 0), base y = sqrt(3): |x| <= y / sqrt(3).
            return y >= 0 && y <= 1.7320508 && abs(x) * 1.7320508 <= y
        case .hexagon:
            // |y| <= sqrt(3)/2 and the slanted edges |x| + |y| / sqrt(3) <= 1.
            return abs(y) <= 0.8660254 && abs(x) + abs(y) * 0.57735027 <= 1
        case .diamond:
            return abs(x) / 0.7 + abs(y) <= 1
        case .star:
            return polygonContains(starVertices, x: x, y: y)
        case .heart:
            // (X^2 + Y^2 - 1)^3 <= X^2 Y^3 with Y up.
            let yy = -y
            let q = x * x + yy * yy - 1
            return q * q * q <= x * x * yy * yy * yy
        case .moon:
            let r2 = x * x + y * y
            let dx = x - 0.5
            return r2 <= 1 && dx * dx + y * y > 0.85 * 0.85
        }
    }

    /// Even-odd rule over the polygon's edges.
    @inline(__always)
    static func polygonContains(_ vertices: [(Float, Float)], x: Float, y: Float) -> Bool {
        var inside = false
        var j = vertices.count - 1
        for i in 0..<vertices.count {
            let (xi, yi) = vertices[i], (xj, yj) = vertices[j]
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi { inside.toggle() }
            j = i
        }
        return inside
    }

    /// Five points, outer radius 1 (first point straight up), inner radius 0.42.
    static let starVertices: [(Float, Float)] = (0..<10).map { i in
        let r = i % 2 == 0 ? 1.0 : 0.42
        let angle = -Double.pi / 2 + Double(i) * Double.pi / 5
        return (Float(r * cos(angle)), Float(r * sin(angle)))
    }

    static let starBounds: Bounds = {
        let xs = starVertices.map { Double($0.0) }, ys = starVertices.map { Double($0.1) }
        return Bounds(minX: xs.min()!, maxX: xs.max()!, minY: ys.min()!, maxY: ys.max()!)
    }()

    /// The implicit heart has no closed-form extent; scan it once on a fine grid.
    static let heartBounds: Bounds = {
        var b = Bounds(minX: .infinity, maxX: -.infinity, minY: .infinity, maxY: -.infinity)
        let n = 1200
        for j in 0...n {
            let y = -1.5 + 3.0 * Double(j) / Double(n)
            for i in 0...n {
                let x = -1.5 + 3.0 * Double(i) / Double(n)
                if containsNatural(.heart, x: Float(x), y: Float(y)) {
                    b.minX = min(b.minX, x); b.maxX = max(b.maxX, x)
                    b.minY = min(b.minY, y); b.maxY = max(b.maxY, y)
                }
            }
        }
        return b
    }()
}
