// ImageGeometry: how the model-input pixel grid relates to the original image, so that a point, a box
// or a cell of the vision tower's patch grid can be drawn on the user's picture.
import Foundation

/// The three steps of preprocessing, as numbers: the original may sit on a padded square canvas
/// (`padToSquare`), the canvas is resized, and a `inputWidth` x `inputHeight` window is cut from the
/// resized image at (`cropLeft`, `cropTop`); negative crop offsets mean zero padding.
///
/// Coordinates are continuous pixel coordinates: pixel (i, j) covers [i, i + 1) x [j, j + 1). That is
/// also Pillow's resize convention (output pixel centre i + 0.5 samples input position
/// (i + 0.5) * in / out), so the mapping is a pure per-axis scale and offset.
public struct ImageGeometry: Sendable, Equatable, Codable {
    public var originalWidth: Int
    public var originalHeight: Int
    /// Where the original's top-left corner sits on the canvas that was resized (0 unless padded).
    public var padLeft: Int
    public var padTop: Int
    /// The canvas that was resized: the original, or the padded square.
    public var paddedWidth: Int
    public var paddedHeight: Int
    public var resizedWidth: Int
    public var resizedHeight: Int
    /// Top-left of the model input inside the resized image.
    public var cropLeft: Int
    public var cropTop: Int
    /// The model input (pixel_values) size.
    public var inputWidth: Int
    public var inputHeight: Int

    public init(
        originalWidth: Int, originalHeight: Int, padLeft: Int = 0, padTop: Int = 0,
        paddedWidth: Int, paddedHeight: Int, resizedWidth: Int, resizedHeight: Int,
        cropLeft: Int = 0, cropTop: Int = 0, inputWidth: Int, inputHeight: Int
    ) {
        self.originalWidth = originalWidth
        self.originalHeight = originalHeight
        self.padLeft = padLeft
        self.padTop = padTop
        self.paddedWidth = paddedWidth
        self.paddedHeight = paddedHeight
        self.resizedWidth = resizedWidth
        self.resizedHeight = resizedHeight
        self.cropLeft = cropLeft
        self.cropTop = cropTop
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
    }

    enum CodingKeys: String, CodingKey {
        case originalWidth = "original_width", originalHeight = "original_height"
        case padLeft = "pad_left", padTop = "pad_top"
        case paddedWidth = "padded_width", paddedHeight = "padded_height"
        case resizedWidth = "resized_width", resizedHeight = "resized_height"
        case cropLeft = "crop_left", cropTop = "crop_top"
        case inputWidth = "input_width", inputHeight = "input_height"
    }

    /// Original pixels per resized pixel, per axis (the shortest-edge rule truncates, so the two axes
    /// can differ slightly).
    public var scaleX: Double { Double(paddedWidth) / Double(resizedWidth) }
    public var scaleY: Double { Double(paddedHeight) / Double(resizedHeight) }

    /// A point of the model-input grid in original-image pixels (not clamped: padding maps outside).
    public func toOriginal(x: Double, y: Double) -> (x: Double, y: Double) {
        ((x + Double(cropLeft)) * scaleX - Double(padLeft), (y + Double(cropTop)) * scaleY - Double(padTop))
    }

    /// The inverse of `toOriginal`: an original-image point in model-input pixels.
    public func fromOriginal(x: Double, y: Double) -> (x: Double, y: Double) {
        ((x + Double(padLeft)) / scaleX - Double(cropLeft), (y + Double(padTop)) / scaleY - Double(cropTop))
    }

    /// A box [x0, x1) x [y0, y1) of the model input in original pixels; `clamped` cuts it to the image
    /// (a box that lies wholly in padding collapses to an empty box on the border).
    public func boxToOriginal(
        x0: Double, y0: Double, x1: Double, y1: Double, clamped: Bool = true
    ) -> (x0: Double, y0: Double, x1: Double, y1: Double) {
        let a = toOriginal(x: x0, y: y0), b = toOriginal(x: x1, y: y1)
        guard clamped else { return (a.x, a.y, b.x, b.y) }
        let w = Double(originalWidth), h = Double(originalHeight)
        func clamp(_ v: Double, _ hi: Double) -> Double { min(max(v, 0), hi) }
        return (clamp(a.x, w), clamp(a.y, h), clamp(b.x, w), clamp(b.y, h))
    }

    /// Cell (`column`, `row`) of a `columns` x `rows` grid laid over the model input (the vision tower's
    /// patch grid: 24 x 24 patches of 14 pixels for a 336 input), in original pixels.
    public func cellToOriginal(
        column: Int, row: Int, columns: Int, rows: Int, clamped: Bool = true
    ) -> (x0: Double, y0: Double, x1: Double, y1: Double) {
        let cw = Double(inputWidth) / Double(columns), ch = Double(inputHeight) / Double(rows)
        return boxToOriginal(
            x0: Double(column) * cw, y0: Double(row) * ch, x1: Double(column + 1) * cw, y1: Double(row + 1) * ch,
            clamped: clamped)
    }
}
