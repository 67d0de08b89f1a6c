// ImageDecoder: JPEG (libturbojpeg) and PNG (libpng) files to RGB, pixel-identical to what Pillow's
// `Image.open(f).convert("RGB")` gives for the same bytes, because the reference pipeline is Pillow's.
import CImageIO
import Foundation

public enum ImageDecoder {
    /// Pillow refuses images above 2 * `Image.MAX_IMAGE_PIXELS` (a decompression bomb); so do we,
    /// before any pixel memory is allocated.
    public static let maxPixels = 2 * 89_478_485

    public static func decode(contentsOf url: URL) throws -> RGBImage {
        let name = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: name, isDirectory: &isDirectory) else {
            throw ImageError("\(name): no such file")
        }
        guard !isDirectory.boolValue else { throw ImageError("\(name): is a directory, not an image file") }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ImageError("\(name): cannot read the file (\(error.localizedDescription))")
        }
        return try decode(data: data, name: name)
    }

    /// Decodes JPEG or PNG bytes; the format comes from the magic bytes, never from `name`, which
    /// only labels errors.
    public static func decode(data: Data, name: String) throws -> RGBImage {
        guard !data.isEmpty else { throw ImageError("\(name): the file is empty") }
        switch ImageFormat(sniffing: data) {
        case .jpeg: return try decodeJPEG(data, name: name)
        case .png: return try decodePNG(data, name: name)
        case .unsupported(let format):
            throw ImageError("\(name): \(format) images are not supported (only JPEG and PNG)")
        case .unknown:
            let head = data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw ImageError("\(name): not a JPEG or PNG file (starts with \(head))")
        }
    }
}

// MARK: - Format sniffing

enum ImageFormat: Equatable {
    case jpeg, png
    case unsupported(String)
    case unknown

    init(sniffing data: Data) {
        let b = [UInt8](data.prefix(12))
        func starts(_ magic: [UInt8]) -> Bool { b.count >= magic.count && Array(b.prefix(magic.count)) == magic }
        if starts([0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if starts(Array("GIF8".utf8)) {
            self = .unsupported("GIF")
        } else if starts(Array("BM".utf8)) {
            self = .unsupported("BMP")
        } else if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) {
            self = .unsupported("TIFF")
        } else if b.count >= 12, Array(b[0..<4]) == Array("RIFF".utf8), Array(b[8..<12]) == Array("WEBP".utf8) {
            self = .unsupported("WebP")
        } else if b.count >= 12, Array(b[4..<8]) == Array("ftyp".utf8) {
            self = .unsupported("HEIF/AVIF")
        } else {
            self = .unknown
        }
    }
}

// MARK: - JPEG

extension ImageDecoder {
    /// libturbojpeg with its defaults, which are Pillow's: the accurate integer IDCT (ISLOW) and fancy
    /// (smooth) chroma upsampling. The TurboJPEG API returns errors instead of calling `exit()`.
    static func decodeJPEG(_ data: Data, name: String) throws -> RGBImage {
        guard let handle = tjInitDecompress() else {
            throw ImageError("\(name): cannot create a JPEG decoder")
        }
        defer { tjDestroy(handle) }
        func failure(_ what: String) -> ImageError {
            ImageError("\(name): \(what) (libjpeg-turbo: \(String(cString: tjGetErrorStr2(handle))))")
        }

        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> RGBImage in
            let jpeg = raw.bindMemory(to: UInt8.self).baseAddress!
            let size = UInt(raw.count)
            var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
            guard tjDecompressHeader3(handle, jpeg, size, &width, &height, &subsampling, &colorspace) == 0 else {
                throw failure("corrupt or truncated JPEG header")
            }
            let w = Int(width), h = Int(height)
            guard w > 0, h > 0 else { throw ImageError("\(name): JPEG has an empty size (\(w)x\(h))") }
            guard w * h <= maxPixels else {
                throw ImageError("\(name): image is too large (\(w)x\(h) pixels, limit \(maxPixels))")
            }
            let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
            let channels = cmyk ? 4 : 3
            let format = cmyk ? TJPF_CMYK : TJPF_RGB
            var decoded = [UInt8](repeating: 0, count: w * h * channels)
            let status = decoded.withUnsafeMutableBufferPointer { out in
                tjDecompress2(handle, jpeg, size, out.baseAddress!, width, width * Int32(channels), height,
                              Int32(format.rawValue), TJFLAG_ACCURATEDCT)
            }
            if status != 0 {
                // A warning still returns every pixel. Pillow accepts warnings such as "extraneous bytes
                // before marker" but refuses a file whose data ends early ("image file is truncated").
                let message = String(cString: tjGetErrorStr2(handle))
                let truncated = message.lowercased().contains("premature end")
                if tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) || truncated {
                    throw failure(truncated ? "truncated JPEG" : "corrupt JPEG")
                }
            }
            guard cmyk else { return RGBImage(width: w, height: h, pixels: decoded) }
            return RGBImage(width: w, height: h, pixels: pillowCMYKToRGB(decoded, count: w * h))
        }
    }

    /// Pillow reads every CMYK JPEG as Adobe-inverted ("CMYK;I": each sample is 255 - stored), then
    /// `convert("RGB")` computes `clip(255 - k - (c * (255 - k)) / 255)` with its rounded integer
    /// divide-by-255 (`MULDIV255`).
    static func pillowCMYKToRGB(_ stored: [UInt8], count: Int) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: count * 3)
        for i in 0..<count {
            let nk = Int(stored[i * 4 + 3])  // 255 - k, with k = 255 - stored
            for c in 0..<3 {
                let ink = 255 - Int(stored[i * 4 + c])
                let t = ink * nk + 128
                let product = ((t >> 8) + t) >> 8
                rgb[i * 3 + c] = UInt8(clamping: nk - product)
            }
        }
        return rgb
    }
}

// MARK: - PNG

extension ImageDecoder {
    /// libpng's classic API (inside `focus_png_decode`, which owns the setjmp) so that no gamma or
    /// colour conversion is applied, then Pillow's rules for 8-bit RGB:
    /// - gray is replicated; alpha (including palette and tRNS transparency) is dropped, not composited;
    /// - 16-bit RGB, RGBA and gray+alpha keep the high byte (Pillow's "RGB;16B"/"RGBA;16B"/"LA;16B");
    /// - 16-bit gray is mode "I;16" in Pillow, and its conversion to RGB *clips* at 255 (it does not
    ///   shift): a 16-bit gray image from a real scanner comes out nearly white, exactly as in Pillow.
    static func decodePNG(_ data: Data, name: String) throws -> RGBImage {
        let data = endingWithIEND(data)
        var result = focus_png_result()
        let status = data.withUnsafeBytes { raw in
            focus_png_decode(raw.bindMemory(to: UInt8.self).baseAddress!, raw.count, UInt64(maxPixels), &result)
        }
        guard status == 0 else {
            let message = withUnsafeBytes(of: &result.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            throw ImageError("\(name): corrupt or truncated PNG (libpng: \(message))")
        }
        defer { free(result.pixels) }
        let w = Int(result.width), h = Int(result.height)
        let channels = Int(result.channels), rowBytes = result.rowbytes
        let sixteen = result.bit_depth == 16
        let gray16 = sixteen && channels == 1
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        pixels.withUnsafeMutableBufferPointer { out in
            let src = result.pixels!
            for y in 0..<h {
                let row = src + y * rowBytes
                let dst = out.baseAddress! + y * w * 3
                for x in 0..<w {
                    var rgb: (UInt8, UInt8, UInt8)
                    if sixteen {
                        let p = row + x * channels * 2
                        if gray16 {
                            let v = UInt8(clamping: Int(p[0]) << 8 | Int(p[1]))
                            rgb = (v, v, v)
                        } else if channels <= 2 {
                            rgb = (p[0], p[0], p[0])
                        } else {
                            rgb = (p[0], p[2], p[4])
                        }
                    } else {
                        let p = row + x * channels
                        rgb = channels <= 2 ? (p[0], p[0], p[0]) : (p[0], p[1], p[2])
                    }
                    dst[x * 3] = rgb.0
                    dst[x * 3 + 1] = rgb.1
                    dst[x * 3 + 2] = rgb.2
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    /// Pillow stops reading at the end of the image data, so a PNG whose chunks are whole but whose
    /// IEND is missing still opens; libpng insists on reading on. Such a file gets its IEND back here.
    /// A file cut inside a chunk is left alone, and libpng reports it as truncated.
    static func endingWithIEND(_ data: Data) -> Data {
        let whole = data.withUnsafeBytes { bytes -> Bool in
            var position = 8
            while position + 8 <= bytes.count {
                var length = 0
                for i in 0..<4 { length = length << 8 | Int(bytes[position + i]) }
                if bytes[position + 4..<position + 8].elementsEqual("IEND".utf8) { return false }
                position += 12 + length
            }
            return position == bytes.count
        }
        guard whole else { return data }
        var fixed = data
        fixed.append(contentsOf: [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
        return fixed
    }
}
