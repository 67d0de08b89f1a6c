// RGBImage: the one pixel container the image pipeline passes around (decoder -> resize -> processor).
import Foundation

/// An image-pipeline failure: a file that cannot be read or decoded, or an unusable processor config.
/// The message always names the file (or directory) and says what is wrong.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// 8-bit RGB, interleaved, row-major.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// [height, width, 3]
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "image size must not be negative")
        precondition(pixels.count == width * height * 3, "pixels must hold width * height * 3 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A `width` x `height` image filled with one colour.
    public init(width: Int, height: Int, fill: (r: UInt8, g: UInt8, b: UInt8)) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        if fill.r != 0 || fill.g != 0 || fill.b != 0 {
            for i in stride(from: 0, to: pixels.count, by: 3) {
                pixels[i] = fill.r
                pixels[i + 1] = fill.g
                pixels[i + 2] = fill.b
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// PIL's `Image.crop((x, y, x + width, y + height))`: the box may reach outside the image, and
    /// whatever lies outside is black (0, 0, 0).
    public func cropped(x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        var out = RGBImage(width: max(width, 0), height: max(height, 0), fill: (0, 0, 0))
        out.paste(self, x: -x, y: -y)
        return out
    }

    /// PIL's `Image.paste(image, (x, y))`: copies `image` with its top-left corner at (x, y); the
    /// parts that fall outside `self` are dropped.
    public mutating func paste(_ image: RGBImage, x: Int, y: Int) {
        let x0 = max(x, 0), x1 = min(x + image.width, width)
        let y0 = max(y, 0), y1 = min(y + image.height, height)
        guard x0 < x1, y0 < y1 else { return }
        let rowBytes = (x1 - x0) * 3
        let dstStride = width * 3, srcStride = image.width * 3
        image.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for row in y0..<y1 {
                    let d = row * dstStride + x0 * 3
                    let s = (row - y) * srcStride + (x0 - x) * 3
                    (dst.baseAddress! + d).update(from: src.baseAddress! + s, count: rowBytes)
                }
            }
        }
    }
}
