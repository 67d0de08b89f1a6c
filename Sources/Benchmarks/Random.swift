// Random: the generators behind every synthetic scene. Output must be byte-identical for the same
// arguments on any machine and any number of workers, so nothing here uses the standard library's
// random APIs (their algorithms are not part of any contract) and every draw comes from a stream
// derived from (seed, purpose, index).
import Foundation

/// SplitMix64 (Steele, Lea and Flood 2014): turns one 64-bit seed into a sequence of well-mixed words.
/// Used only to seed `SynthRandom` and to hash lattice coordinates.
public struct SplitMix64: Sendable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finaliser: a bijective avalanche of one word.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What a stream of random numbers is for; part of the stream's identity, so that adding draws to
/// one purpose never shifts the numbers of another.
public enum RandomPurpose: UInt64, Sendable {
    case benchmarkQuestion = 1
    case trainingScene = 2
    case trainingSample = 3
    case trainingPlan = 4
}

/// xoshiro256** (Blackman and Vigna 2018), seeded through SplitMix64 from (seed, purpose, index).
public struct SynthRandom: Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64, purpose: RandomPurpose, index: Int) {
        let key = SplitMix64.mix(SplitMix64.mix(seed ^ 0x5EED_F0C5_0000_0000) ^ purpose.rawValue)
        var mixer = SplitMix64(state: key ^ SplitMix64.mix(UInt64(truncatingIfNeeded: index) &+ 0x1D))
        s0 = mixer.next(); s1 = mixer.next(); s2 = mixer.next(); s3 = mixer.next()
    }

    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1), 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [a, b).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * unit() }

    /// Log-uniform in [a, b) (a, b > 0): every scale equally likely.
    public mutating func logUniform(_ a: Double, _ b: Double) -> Double {
        exp(uniform(log(a), log(b)))
    }

    /// Uniform in 0..<n (n > 0), unbiased (Lemire's multiply-and-reject).
    public mutating func int(_ n: Int) -> Int {
        precondition(n > 0, "int(_:) needs a positive bound")
        let bound = UInt64(n)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return Int(product.high)
    }

    /// Uniform in `range` (inclusive).
    public mutating func int(in range: ClosedRange<Int>) -> Int { range.lowerBound + int(range.count) }

    public mutating func bool(_ probability: Double = 0.5) -> Bool { unit() < probability }

    public mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

    /// Fisher-Yates, from the last element down.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, int(i + 1))
        }
    }

    public mutating func shuffled<T>(_ items: [T]) -> [T] {
        var copy = items
        shuffle(&copy)
        return copy
    }

    /// `count` distinct elements of `items`, in random order.
    public mutating func sample<T>(_ items: [T], count: Int) -> [T] {
        Array(shuffled(items).prefix(count))
    }

    /// An index drawn with probability proportional to `weights` (non-negative, not all zero).
    public mutating func weightedIndex(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var r = unit() * total
        for (i, w) in weights.enumerated() where w > 0 {
            if r < w { return i }
            r -= w
        }
        return weights.lastIndex { $0 > 0 } ?? 0
    }
}
