// Scene: the description of one synthetic image (background recipe and objects). Questions and their
// answers are computed from this description, never from rendered pixels; `SceneRenderer` draws it.
import Foundation

/// An axis-aligned box in pixels: [x, x + width) x [y, y + height), as V*Bench's `[x, y, w, h]`.
public struct SceneBox: Sendable, Equatable, Hashable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var area: Int { width * height }
    public var centerX: Double { Double(x) + Double(width) / 2 }
    public var centerY: Double { Double(y) + Double(height) / 2 }
    public var longestSide: Int { max(width, height) }
    /// `[x, y, w, h]`, V*Bench's bbox form.
    public var array: [Int] { [x, y, width, height] }

    public func intersection(_ other: SceneBox) -> SceneBox? {
        let x0 = max(x, other.x), y0 = max(y, other.y)
        let x1 = min(maxX, other.maxX), y1 = min(maxY, other.maxY)
        guard x0 < x1, y0 < y1 else { return nil }
        return SceneBox(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    public func intersects(_ other: SceneBox) -> Bool { intersection(other) != nil }

    /// The box grown by `margin` on every side.
    public func expanded(by margin: Int) -> SceneBox {
        SceneBox(x: x - margin, y: y - margin, width: width + 2 * margin, height: height + 2 * margin)
    }

    /// The gap between the boxes along x (negative when their x ranges overlap).
    public func horizontalGap(to other: SceneBox) -> Int {
        max(other.x - maxX, x - other.maxX)
    }
}

/// One drawn object.
public struct SceneObject: Sendable, Equatable {
    public var shape: ObjectShape
    public var color: ObjectColor
    /// The drawn colour: the named colour with a small per-object jitter.
    public var fill: (r: UInt8, g: UInt8, b: UInt8)
    public var box: SceneBox

    public init(shape: ObjectShape, color: ObjectColor, fill: (r: UInt8, g: UInt8, b: UInt8), box: SceneBox) {
        self.shape = shape
        self.color = color
        self.fill = fill
        self.box = box
    }

    public static func == (a: SceneObject, b: SceneObject) -> Bool {
        a.shape == b.shape && a.color == b.color && a.box == b.box
            && a.fill.r == b.fill.r && a.fill.g == b.fill.g && a.fill.b == b.fill.b
    }
}

/// A colour as three floats in 0...255 (background recipe).
public struct Tint: Sendable, Equatable {
    public var r: Float, g: Float, b: Float
    public init(_ r: Float, _ g: Float, _ b: Float) { self.r = r; self.g = g; self.b = b }
}

/// The background: a two-colour gradient, two octaves of value noise that shift the colour, soft
/// blobs, faint line segments and per-pixel grain. All muted, so objects stand out by colour.
public struct Background: Sendable, Equatable {
    public struct Blob: Sendable, Equatable {
        public var centerX: Float, centerY: Float, radiusX: Float, radiusY: Float
        public var tint: Tint
        public var alpha: Float
    }

    public struct Line: Sendable, Equatable {
        public var x0: Float, y0: Float, x1: Float, y1: Float
        public var width: Float
        public var tint: Tint
        public var alpha: Float
    }

    public var from: Tint
    public var to: Tint
    /// Unit direction of the gradient.
    public var gradientX: Float, gradientY: Float
    /// Lattice spacing of the coarse and the fine noise octave, in pixels.
    public var coarseCell: Float, fineCell: Float
    /// Colour added at noise +1 (subtracted at -1), per octave.
    public var coarseTint: Tint, fineTint: Tint
    public var noiseSeed: UInt64
    public var blobs: [Blob]
    public var lines: [Line]
    /// Grain amplitude in levels (+-).
    public var grain: Float
}

public struct Scene: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var background: Background
    /// Drawn in order; boxes never overlap.
    public var objects: [SceneObject]

    public var bounds: SceneBox { SceneBox(x: 0, y: 0, width: width, height: height) }

    public func objects(of shape: ObjectShape) -> [SceneObject] { objects.filter { $0.shape == shape } }
}
