#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The activations Hugging Face configs name in `hidden_act` / `projector_hidden_act`.
public enum Activation: String, Sendable, Codable, CaseIterable {
    case quickGELU = "quick_gelu"
    case gelu = "gelu"
    case geluTanh = "gelu_pytorch_tanh"
    case geluNew = "gelu_new"
    case silu = "silu"
    case relu = "relu"

    /// Parses a config value, accepting the aliases transformers accepts (`swish` for `silu`, `gelu_fast`).
    public init?(configName: String) {
        switch configName {
        case "swish": self = .silu
        case "gelu_fast": self = .geluTanh
        default: self.init(rawValue: configName)
        }
    }

    /// Applies the activation in place to `count` values (SiLU and quick-GELU through `exp8`).
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .quickGELU:
            mapWithExp(x, count: count, scale: -1.702) { v, e in v / (1 + e) }
        case .gelu:
            for i in 0..<count { let v = x[i]; x[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752)) }
        case .geluTanh, .geluNew:
            for i in 0..<count {
                let v = x[i]
                x[i] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
            }
        case .silu:
            mapWithExp(x, count: count, scale: -1) { v, e in v / (1 + e) }
        case .relu:
            for i in 0..<count where x[i] < 0 { x[i] = 0 }
        }
    }

    /// `x = act(x) · up`, elementwise over `count` values: a gated MLP (LLaMA's SwiGLU) in one pass
    /// for SiLU, the activation then the product for the others.
    public func applyGated(_ x: UnsafeMutablePointer<Float>, times up: UnsafePointer<Float>, count: Int) {
        guard self == .silu else {
            apply(x, count: count)
            for i in 0..<count { x[i] *= up[i] }
            return
        }
        let raw = UnsafeRawPointer(up)
        transformBlocks(x, count: count, padding: 0) { v, offset in
            var u = SIMD8<Float>(repeating: 0)
            if offset + 8 <= count {
                u = raw.loadUnaligned(fromByteOffset: offset * 4, as: SIMD8<Float>.self)
            } else {
                for j in 0..<(count - offset) { u[j] = up[offset + j] }
            }
            return v / (1 + exp8(-v)) * u
        }
    }
}
