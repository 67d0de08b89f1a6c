// PILResize: `Image.resize(size, resample)` for 8-bit RGB, byte for byte what Pillow computes
// (src/libImaging/Resample.c and, for NEAREST, the affine scale in Geometry.c). CLIP was trained on
// Pillow-resized pixels and the reference pipeline uses Pillow, so "close" is not good enough.
import Foundation

/// Pillow's resampling filters, with Pillow's numbering (`Image.Resampling`), as stored in
/// `preprocessor_config.json` under "resample". The two Magic Kernel Sharp filters are new in Pillow 13.
public enum Resample: Int, Sendable {
    case nearest = 0, lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5, mks2013 = 6, mks2021 = 7
}

extension RGBImage {
    /// Bit-exact with Pillow's `Image.resize((width, height), resample)` on an RGB image.
    public func resized(width: Int, height: Int, resample: Resample) -> RGBImage {
        precondition(width > 0 && height > 0, "resize target must be at least 1x1")
        precondition(self.width > 0 && self.height > 0, "cannot resize an empty image")
        if width == self.width && height == self.height { return self }  // Pillow returns a copy
        if resample == .nearest { return PillowNearest.resize(self, width: width, height: height) }
        return PillowResampler.resize(self, width: width, height: height, filter: resample)
    }
}

// MARK: - Filters

/// Pillow's filter kernels, evaluated in double exactly as written in Resample.c.
enum PillowFilter {
    static func support(_ filter: Resample) -> Double {
        switch filter {
        case .box: 0.5
        case .bilinear, .hamming: 1.0
        case .bicubic: 2.0
        case .lanczos: 3.0
        case .mks2013: 2.5
        case .mks2021: 4.5
        case .nearest: 0.0
        }
    }

    static func weight(_ filter: Resample, _ x: Double) -> Double {
        switch filter {
        case .box:
            return x > -0.5 && x <= 0.5 ? 1.0 : 0.0
        case .bilinear:
            let x = abs(x)
            return x < 1.0 ? 1.0 - x : 0.0
        case .hamming:
            var x = abs(x)
            if x == 0.0 { return 1.0 }
            if x >= 1.0 { return 0.0 }
            x = x * Double.pi
            // 0.54f and 0.46f are float literals in Pillow's C: their float values, widened.
            return sin(x) / x * (Double(Float(0.54)) + Double(Float(0.46)) * cos(x))
        case .bicubic:
            // Keys' cubic with a = -0.5: (a + 2) = 1.5 and (a + 3) = 2.5 exactly.
            let a = -0.5
            let x = abs(x)
            if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
            if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0.0
        case .lanczos:
            return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0
        case .mks2013:
            // Pillow writes pow(x, 2); compilers fold that to x * x.
            let x = abs(x)
            if x < 0.5 { return 17.0 / 16.0 - 7.0 / 4.0 * (x * x) }
            if x < 1.5 { return (1.0 - x) * (7.0 / 4.0 - x) }
            if x < 2.5 { let d = x - 5.0 / 2.0; return -1.0 / 8.0 * (d * d) }
            return 0
        case .mks2021:
            let x = abs(x)
            if x < 0.5 { return 577.0 / 576.0 - 239.0 / 144.0 * (x * x) }
            if x < 1.5 { return 35.0 / 36.0 * (x - 1.0) * (x - 239.0 / 140.0) }
            if x < 2.5 { return 1.0 / 6.0 * (x - 2.0) * (65.0 / 24.0 - x) }
            if x < 3.5 { return 1.0 / 36.0 * (x - 3.0) * (x - 15.0 / 4.0) }
            if x < 4.5 { let d = x - 9.0 / 2.0; return -1.0 / 288.0 * (d * d) }
            return 0
        case .nearest:
            return 0.0
        }
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0.0 { return 1.0 }
        let x = x * Double.pi
        return sin(x) / x
    }
}

// MARK: - Coefficients

/// One axis of a resample: for every output index, the first input index, the number of taps and the
/// fixed-point weights (Pillow's `precompute_coeffs` then `normalize_coeffs_8bpc`).
struct ResampleCoefficients {
    /// Pillow's PRECISION_BITS: 32 bits minus 8 for the pixel minus 2 for overshoot of negative lobes.
    static let precisionBits = 32 - 8 - 2

    let taps: Int           // ksize: the stride of `weights`
    var starts: [Int]       // [outSize]
    var counts: [Int]       // [outSize]
    var weights: [Int32]    // [outSize, taps], zero past counts[i]

    init(inSize: Int, outSize: Int, filter: Resample) {
        // The box is (0, inSize) in C floats; `in1 - in0` is a float subtraction, exact for any real size.
        let in0 = 0.0
        let scale = Double(Float(inSize) - Float(0)) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = PillowFilter.support(filter) * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        let invFilterScale = 1.0 / filterScale
        let one = Double(1 << Self.precisionBits)

        self.taps = taps
        starts = [Int](repeating: 0, count: outSize)
        counts = [Int](repeating: 0, count: outSize)
        weights = [Int32](repeating: 0, count: outSize * taps)
        var k = [Double](repeating: 0, count: taps)
        for xx in 0..<outSize {
            let center = in0 + (Double(xx) + 0.5) * scale
            // C's (int) cast truncates toward zero.
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var ww = 0.0
            for x in 0..<max(xmax, 0) {
                let w = PillowFilter.weight(filter, (Double(x + xmin) - center + 0.5) * invFilterScale)
                k[x] = w
                ww += w
            }
            for x in 0..<max(xmax, 0) {
                if ww != 0.0 { k[x] /= ww }
                // (int)(±0.5 + w * 2^22): round half away from zero, then truncate.
                let scaled = k[x] * one
                weights[xx * taps + x] = Int32(scaled < 0 ? -0.5 + scaled : 0.5 + scaled)
            }
            starts[xx] = xmin
            counts[xx] = max(xmax, 0)
        }
    }
}

// MARK: - Convolution

enum PillowResampler {
    static func resize(_ image: RGBImage, width: Int, height: Int, filter: Resample) -> RGBImage {
        let needHorizontal = width != image.width
        let needVertical = height != image.height
        // Pillow 13: "if height is being scaled down more than twice the amount the width is, run the
        // vertical pass first" (in pixels dropped, not ratios). Pillow 12 and older always ran the
        // horizontal pass first; the two orders differ by 1 in some bytes.
        let droppedRows = image.height - height, droppedColumns = image.width - width
        let horizontalFirst = !(droppedRows > 0 && droppedRows > droppedColumns * 2)

        let vertical = needVertical || (needHorizontal && horizontalFirst)
            ? ResampleCoefficients(inSize: image.height, outSize: height, filter: filter) : nil
        let horizontal = needHorizontal
            ? ResampleCoefficients(inSize: image.width, outSize: width, filter: filter) : nil

        var source = image
        if horizontalFirst {
            var verticalStarts = vertical!.starts
            if let horizontal {
                // Only the rows the vertical pass will read are resampled horizontally.
                let firstRow = verticalStarts[0]
                let lastRow = verticalStarts[height - 1] + vertical!.counts[height - 1]
                source = horizontalPass(source, rows: firstRow..<lastRow, coefficients: horizontal)
                verticalStarts = verticalStarts.map { $0 - firstRow }
            }
            if needVertical { source = verticalPass(source, starts: verticalStarts, coefficients: vertical!) }
        } else {
            if needVertical { source = verticalPass(source, starts: vertical!.starts, coefficients: vertical!) }
            if let horizontal { source = horizontalPass(source, rows: 0..<source.height, coefficients: horizontal) }
        }
        return source
    }

    /// Each output pixel of row `y` is sum(k[i] * in[y, start + i]) in fixed point, rounded and
    /// clipped to 0...255. // out: [rows.count, outWidth, 3]
    static func horizontalPass(_ image: RGBImage, rows: Range<Int>, coefficients c: ResampleCoefficients) -> RGBImage {
        let outWidth = c.starts.count
        let inStride = image.width * 3
        let bits = Int32(ResampleCoefficients.precisionBits)
        let half: Int32 = 1 << (bits - 1)
        var out = [UInt8](repeating: 0, count: rows.count * outWidth * 3)
        image.pixels.withUnsafeBufferPointer { inBuffer in
        c.weights.withUnsafeBufferPointer { weightBuffer in
        c.starts.withUnsafeBufferPointer { starts in
        c.counts.withUnsafeBufferPointer { counts in
        out.withUnsafeMutableBufferPointer { outBuffer in
            let src = inBuffer.baseAddress!, dst = outBuffer.baseAddress!, kk = weightBuffer.baseAddress!
            for (row, y) in rows.enumerated() {
                let line = src + y * inStride
                let outLine = dst + row * outWidth * 3
                for xx in 0..<outWidth {
                    let k = kk + xx * c.taps
                    var p = line + starts[xx] * 3
                    var s0 = half, s1 = half, s2 = half
                    for x in 0..<counts[xx] {
                        let w = k[x]
                        s0 &+= Int32(p[0]) &* w
                        s1 &+= Int32(p[1]) &* w
                        s2 &+= Int32(p[2]) &* w
                        p += 3
                    }
                    outLine[xx * 3] = clip8(s0, bits)
                    outLine[xx * 3 + 1] = clip8(s1, bits)
                    outLine[xx * 3 + 2] = clip8(s2, bits)
                }
            }
        }}}}}
        return RGBImage(width: outWidth, height: rows.count, pixels: out)
    }

    /// Each output row is sum(k[i] * in[start + i, :]); every byte of a row shares the same weights,
    /// so the sum runs over whole rows (the integer result does not depend on the order).
    static func verticalPass(_ image: RGBImage, starts: [Int], coefficients c: ResampleCoefficients) -> RGBImage {
        let outHeight = starts.count
        let rowLength = image.width * 3
        let bits = Int32(ResampleCoefficients.precisionBits)
        let half: Int32 = 1 << (bits - 1)
        var out = [UInt8](repeating: 0, count: outHeight * rowLength)
        var sums = [Int32](repeating: 0, count: rowLength)  // [width * 3]
        image.pixels.withUnsafeBufferPointer { inBuffer in
        c.weights.withUnsafeBufferPointer { weightBuffer in
        sums.withUnsafeMutableBufferPointer { sumBuffer in
        out.withUnsafeMutableBufferPointer { outBuffer in
            let src = inBuffer.baseAddress!, dst = outBuffer.baseAddress!
            let acc = sumBuffer.baseAddress!, kk = weightBuffer.baseAddress!
            for yy in 0..<outHeight {
                acc.update(repeating: half, count: rowLength)
                let k = kk + yy * c.taps
                for y in 0..<c.counts[yy] {
                    let w = k[y]
                    let line = src + (starts[yy] + y) * rowLength
                    for i in 0..<rowLength { acc[i] &+= Int32(line[i]) &* w }
                }
                let outLine = dst + yy * rowLength
                for i in 0..<rowLength { outLine[i] = clip8(acc[i], bits) }
            }
        }}}}
        return RGBImage(width: image.width, height: outHeight, pixels: out)
    }

    /// Pillow's `clip8`: the fixed-point sum shifted down (arithmetic shift) and clamped to a byte.
    @inline(__always)
    static func clip8(_ value: Int32, _ bits: Int32) -> UInt8 {
        UInt8(clamping: value >> bits)
    }
}

// MARK: - Nearest

/// NEAREST is not a convolution in Pillow: `resize` runs an affine scale (`ImagingScaleAffine`) whose
/// source position starts at half a step and is advanced by repeated double additions; doing the same
/// additions reproduces its rounding.
enum PillowNearest {
    static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        let stepX = Double(Float(image.width) - Float(0)) / Double(width)
        let stepY = Double(Float(image.height) - Float(0)) / Double(height)
        var columns = [Int](repeating: -1, count: width)
        var xo = 0.0 + stepX * 0.5
        for x in 0..<width {
            let xin = xo < 0.0 ? -1 : Int(xo)
            if xin >= 0 && xin < image.width { columns[x] = xin }
            xo += stepX
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)  // Pillow fills with 0 first
        var yo = 0.0 + stepY * 0.5
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let yin = yo < 0.0 ? -1 : Int(yo)
                    yo += stepY
                    guard yin >= 0 && yin < image.height else { continue }
                    let line = src.baseAddress! + yin * image.width * 3
                    let outLine = dst.baseAddress! + y * width * 3
                    for x in 0..<width where columns[x] >= 0 {
                        let p = line + columns[x] * 3
                        outLine[x * 3] = p[0]
                        outLine[x * 3 + 1] = p[1]
                        outLine[x * 3 + 2] = p[2]
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
