// ImageEncoder: RGB to PNG (libpng's simplified write API) or JPEG (libturbojpeg), for debug dumps
// and for tests that need image files; neither has to match Pillow's bytes.
import CImageIO
import Foundation

public enum ImageEncoder {
    /// A lossless 8-bit RGB PNG.
    public static func png(_ image: RGBImage) throws -> Data {
        guard image.width > 0, image.height > 0 else {
            throw ImageError("PNG encoder: cannot write an empty \(image.width)x\(image.height) image")
        }
        var header = png_image()
        header.version = png_uint_32(PNG_IMAGE_VERSION)
        header.width = png_uint_32(image.width)
        header.height = png_uint_32(image.height)
        header.format = png_uint_32(PNG_FORMAT_RGB)
        return try image.pixels.withUnsafeBytes { pixels -> Data in
            var size: png_alloc_size_t = 0
            // First call measures, second writes.
            guard png_image_write_to_memory(&header, nil, &size, 0, pixels.baseAddress, 0, nil) != 0 else {
                throw encoderFailure(&header)
            }
            var out = Data(count: Int(size))
            let ok = out.withUnsafeMutableBytes { buffer in
                png_image_write_to_memory(&header, buffer.baseAddress, &size, 0, pixels.baseAddress, 0, nil)
            }
            guard ok != 0 else { throw encoderFailure(&header) }
            out.count = Int(size)
            return out
        }
    }

    /// A baseline JPEG with 4:2:0 chroma subsampling; `quality` is 1...100 (Pillow's default is 75).
    public static func jpeg(_ image: RGBImage, quality: Int) throws -> Data {
        guard (1...100).contains(quality) else {
            throw ImageError("JPEG encoder: quality must be between 1 and 100, got \(quality)")
        }
        guard image.width > 0, image.height > 0 else {
            throw ImageError("JPEG encoder: cannot write an empty \(image.width)x\(image.height) image")
        }
        guard let handle = tjInitCompress() else { throw ImageError("JPEG encoder: cannot create a compressor") }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            tjCompress2(handle, pixels.baseAddress, Int32(image.width), Int32(image.width * 3), Int32(image.height),
                        Int32(TJPF_RGB.rawValue), &buffer, &size, Int32(TJSAMP_420.rawValue), Int32(quality),
                        TJFLAG_ACCURATEDCT)
        }
        defer { if let buffer { tjFree(buffer) } }
        guard status == 0, let buffer else {
            throw ImageError("JPEG encoder: \(String(cString: tjGetErrorStr2(handle)))")
        }
        return Data(bytes: buffer, count: Int(size))
    }

    private static func encoderFailure(_ header: inout png_image) -> ImageError {
        let message = withUnsafeBytes(of: &header.message) {
            String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
        }
        png_image_free(&header)
        return ImageError("PNG encoder: \(message)")
    }
}
