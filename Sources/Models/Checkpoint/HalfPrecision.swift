// Half-precision to Float32 conversion loops for checkpoint loading.
//
// A 7B checkpoint holds ~7e9 values, so these are plain loops over raw pointers with no per-element
// allocation: the compiler vectorises them (with `-target-cpu haswell`, F16 becomes `vcvtph2ps`).
// Sources are read with `loadUnaligned` because a hand-made file may place a tensor at any byte offset;
// on x86 an unaligned load costs the same as an aligned one. Both conversions are exact.

/// Converts `count` little-endian IEEE binary16 values at `source` (any alignment) to Float32.
func convertF16ToF32(from source: UnsafeRawPointer, to destination: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self))
        #if os(macOS) && arch(x86_64)
        destination[i] = halfBitsToFloat(bits)  // Float16 is unavailable on Intel Macs.
        #else
        destination[i] = Float(Float16(bitPattern: bits))
        #endif
    }
}

/// Converts `count` little-endian bfloat16 values at `source` (any alignment) to Float32:
/// a bfloat16 is the top half of a Float32, so the conversion is a shift.
func convertBF16ToF32(from source: UnsafeRawPointer, to destination: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 &* i, as: UInt16.self))
        destination[i] = Float(bitPattern: UInt32(bits) << 16)
    }
}

/// binary16 bits to Float32 without `Float16`, for platforms that lack it (tested against `Float16`).
@inline(__always)
func halfBitsToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F {  // infinity or NaN: keep the payload
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    if exponent == 0 {  // zero or subnormal: mantissa × 2^-24, exact in Float32
        let magnitude = Float(mantissa) * 0x1p-24
        return Float(bitPattern: sign | magnitude.bitPattern)
    }
    return Float(bitPattern: sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13))
}
