import Foundation

/// SHA-256 (FIPS 180-4), for model and benchmark digests. Foundation on Linux has no CryptoKit, and
/// these digests identify files, they do not protect secrets, so a small streaming implementation
/// (checked against the standard's test vectors) beats a dependency on a TLS library.
public struct SHA256 {
    private var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    public init() {}

    public mutating func update<D: Sequence>(_ bytes: D) where D.Element == UInt8 {
        // Whole 64-byte blocks go to `compress` straight from the input; only a partial tail waits in
        // `pending` (model digests hash tens of MiB at start-up).
        let input = Array(bytes)
        length &+= UInt64(input.count)
        var i = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, input.count)
            pending += input[0..<take]
            i = take
            guard pending.count == 64 else { return }
            compress(pending[...])
            pending.removeAll(keepingCapacity: true)
        }
        while input.count - i >= 64 {
            compress(input[i..<(i + 64)])
            i += 64
        }
        pending += input[i...]
    }

    public mutating func update(_ string: String) { update(Array(string.utf8)) }

    public mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var tail = pending + [0x80]
        while tail.count % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        for start in stride(from: 0, to: tail.count, by: 64) { compress(tail[start..<(start + 64)]) }
        pending.removeAll()
        return state.flatMap { w in (0..<4).reversed().map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } }
    }

    public static func hash<D: Sequence>(_ bytes: D) -> [UInt8] where D.Element == UInt8 {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    public static func hex(_ digest: [UInt8]) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    private mutating func compress(_ block: ArraySlice<UInt8>) {
        var w = [UInt32](repeating: 0, count: 64)
        let o = block.startIndex
        for i in 0..<16 {
            w[i] = UInt32(block[o + 4 * i]) << 24 | UInt32(block[o + 4 * i + 1]) << 16
                | UInt32(block[o + 4 * i + 2]) << 8 | UInt32(block[o + 4 * i + 3])
        }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7]
        for i in 0..<64 {
            let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ Self.k[i] &+ w[i]
            let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
            h = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }
}

/// A checkpoint's identity, cheap enough to compute on every start of a 14 GB model: SHA-256 over
/// the configuration, tokenizer and processor files, and for every weight file its name, size,
/// safetensors header, and 1 MiB sampled every 256 MiB (a fine-tune with the same shapes changes
/// every sample). The coordinator computes the same digest from the folder without loading weights.
public enum ModelDigest {
    public static func of(directory: URL) throws -> String {
        let fm = FileManager.default
        var h = SHA256()
        let names = try fm.contentsOfDirectory(atPath: directory.path).sorted()
        let metadata = names.filter { $0.hasSuffix(".json") && $0 != "model.safetensors.index.json" }
        let weights = names.filter { $0.hasSuffix(".safetensors") }
        guard names.contains("config.json") else {
            throw WireError("\(directory.path) has no config.json: not a checkpoint folder")
        }
        guard !weights.isEmpty else { throw WireError("\(directory.path) has no *.safetensors weights") }
        for name in metadata {
            h.update(name)
            h.update(try Data(contentsOf: directory.appendingPathComponent(name)))
        }
        let sample = 1 << 20, stride = 256 << 20
        for name in weights {
            let url = directory.appendingPathComponent(name)
            guard let file = FileHandle(forReadingAtPath: url.path) else { throw WireError("cannot read \(url.path)") }
            defer { try? file.close() }
            let size = try file.seekToEnd()
            h.update(name)
            h.update(String(size))
            try file.seek(toOffset: 0)
            let head = try file.read(upToCount: 8) ?? Data()
            guard head.count == 8 else { throw WireError("\(url.path) is truncated: no safetensors header") }
            let headerLength = head.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
            guard headerLength < size else { throw WireError("\(url.path): header length \(headerLength) exceeds the file") }
            h.update(head)
            h.update(try file.read(upToCount: Int(headerLength)) ?? Data())
            var offset: UInt64 = 8 + headerLength
            while offset < size {
                try file.seek(toOffset: offset)
                h.update(try file.read(upToCount: sample) ?? Data())
                offset += UInt64(stride)
            }
        }
        return SHA256.hex(h.finalize())
    }
}
