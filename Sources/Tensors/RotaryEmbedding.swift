#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the rotary frequencies are scaled (`rope_scaling` / `rope_parameters` in a config).
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor`.
    case linear(factor: Float)
    /// Llama 3's frequency-dependent scaling.
    case llama3(factor: Float, lowFreqFactor: Float, highFreqFactor: Float, originalMaxPositions: Int)
}

/// Rotary position embedding in Hugging Face's "rotate half" layout (not the interleaved one).
///
/// Frequencies and angles are computed in Float32, as transformers does, so that long positions round
/// the same way.
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    public let inverseFrequencies: [Float]   // [headDim / 2]

    public init(headDim: Int, theta: Float, scaling: RopeScaling = .none) {
        precondition(headDim % 2 == 0, "RoPE needs an even head dimension, got \(headDim)")
        self.headDim = headDim
        let half = headDim / 2
        var inv = (0..<half).map { i in 1 / powf(theta, Float(2 * i) / Float(headDim)) }
        switch scaling {
        case .none:
            break
        case .linear(let factor):
            inv = inv.map { $0 / factor }
        case let .llama3(factor, low, high, original):
            let lowWavelength = Float(original) / low
            let highWavelength = Float(original) / high
            inv = inv.map { f in
                let wavelength = 2 * Float(Double.pi) / f   // torch rounds π to nearest; Float.pi rounds down
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return f / factor }
                let smooth = (Float(original) / wavelength - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        }
        inverseFrequencies = inv
    }

    /// Rotates `heads` contiguous vectors of `headDim` values (one token) in place by the angles in the tables.
    @inline(__always)
    public func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int,
                       cos cosTable: UnsafeMutablePointer<Float>, sin sinTable: UnsafeMutablePointer<Float>) {
        let half = headDim / 2
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<half {
                let a = v[i], b = v[i + half]
                v[i] = a * cosTable[i] - b * sinTable[i]
                v[i + half] = b * cosTable[i] + a * sinTable[i]
            }
        }
    }

    /// Fills `cos`/`sin` (each `[headDim / 2]`) for `position`.
    @inline(__always)
    public func angles(position: Int, cos cosTable: UnsafeMutablePointer<Float>, sin sinTable: UnsafeMutablePointer<Float>) {
        let p = Float(position)
        for i in 0..<(headDim / 2) {
            let angle = p * inverseFrequencies[i]
            cosTable[i] = cosf(angle)
            sinTable[i] = sinf(angle)
        }
    }

    /// Applies RoPE to `rows` tokens at positions `start..<start+rows`; each token holds `heads`
    /// contiguous head vectors and rows are `rowStride` floats apart.
    public func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, rowStride: Int, heads: Int, start: Int) {
        let half = headDim / 2
        let table = UnsafeMutablePointer<Float>.allocate(capacity: 2 * half)
        defer { table.deallocate() }
        for r in 0..<rows {
            angles(position: start + r, cos: table, sin: table + half)
            rotate(x + r * rowStride, heads: heads, cos: table, sin: table + half)
        }
    }

    /// Undoes the rotation (rotates by the negative angle): recovers pre-RoPE keys from a cache.
    public func unapply(_ x: UnsafeMutablePointer<Float>, rows: Int, rowStride: Int, heads: Int, start: Int) {
        let half = headDim / 2
        let table = UnsafeMutablePointer<Float>.allocate(capacity: 2 * half)
        defer { table.deallocate() }
        for r in 0..<rows {
            angles(position: start + r, cos: table, sin: table + half)
            for i in 0..<half { table[half + i] = -table[half + i] }
            rotate(x + r * rowStride, heads: heads, cos: table, sin: table + half)
        }
    }
}
