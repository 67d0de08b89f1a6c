import Tensors

/// Keys and values of every decoder layer for the tokens seen so far, plus what FOCUS needs to read
/// them: which positions hold image tokens, and (only when asked) attention probabilities.
///
/// Layout per layer: `[kvHeads, capacity, headDim]`, so one head's keys for the first `count` tokens
/// are contiguous (`count * headDim` floats) and feed `sgemm` without a copy. Keys are stored after
/// RoPE, as transformers stores them. A reference type: a cache has identity (a prefix that several
/// prompts extend through `fork`).
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let kvHeads: Int
    public let headDim: Int
    public private(set) var capacity: Int
    /// Tokens held.
    public private(set) var count: Int = 0
    /// Token id at every position (image positions hold the image token id).
    public private(set) var tokens: [Int] = []
    /// Absolute positions of image tokens, ascending.
    public private(set) var imagePositions: [Int] = []
    /// Attention probabilities of the last forward pass for the layers that were asked for:
    /// layer → `[heads, newTokens, count]`.
    public internal(set) var attention: [Int: Tensor] = [:]

    private var keyStorage: [UnsafeMutablePointer<Float>]     // per layer [kvHeads, capacity, headDim]
    private var valueStorage: [UnsafeMutablePointer<Float>]   // per layer [kvHeads, capacity, headDim]

    public init(layers: Int, kvHeads: Int, headDim: Int, capacity: Int = 256) {
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.capacity = max(capacity, 1)
        let size = kvHeads * self.capacity * headDim
        keyStorage = (0..<layers).map { _ in Self.allocate(size) }
        valueStorage = (0..<layers).map { _ in Self.allocate(size) }
    }

    deinit {
        keyStorage.forEach { $0.deallocate() }
        valueStorage.forEach { $0.deallocate() }
    }

    private static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        p.initialize(repeating: 0, count: max(n, 1))
        return p
    }

    /// Grows every layer so that `needed` tokens fit (doubling, so appends are amortised).
    func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let rowFloats = headDim
        func grow(_ old: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
            let new = Self.allocate(kvHeads * newCapacity * headDim)
            for h in 0..<kvHeads {
                (new + h * newCapacity * rowFloats).update(from: old + h * capacity * rowFloats, count: count * rowFloats)
            }
            old.deallocate()
            return new
        }
        keyStorage = keyStorage.map(grow)
        valueStorage = valueStorage.map(grow)
        capacity = newCapacity
    }

    /// Writes `rows` tokens' keys and values (each row `kvHeads * headDim` floats, `rowStride` apart)
    /// for `layer` at positions `count..<count+rows`. `commit` advances `count` after the last layer.
    func write(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rows: Int, rowStride: Int) {
        precondition(count + rows <= capacity, "reserve before writing")
        let k = keyStorage[layer], v = valueStorage[layer]
        for r in 0..<rows {
            for h in 0..<kvHeads {
                let dst = (h * capacity + count + r) * headDim
                (k + dst).update(from: keys + r * rowStride + h * headDim, count: headDim)
                (v + dst).update(from: values + r * rowStride + h * headDim, count: headDim)
            }
        }
    }

    func commit(tokens newTokens: [Int], imageTokenID: Int) {
        for (i, t) in newTokens.enumerated() where t == imageTokenID { imagePositions.append(count + i) }
        tokens += newTokens
        count += newTokens.count
    }

    /// Keys of one head for the first `count` tokens: `[count, headDim]`, contiguous.
    public func keys(layer: Int, head: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: keyStorage[layer] + head * capacity * headDim, count: count * headDim)
    }

    /// Values of one head for the first `count` tokens: `[count, headDim]`, contiguous.
    public func values(layer: Int, head: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: valueStorage[layer] + head * capacity * headDim, count: count * headDim)
    }

    /// Pointer form of `keys(layer:head:)` for kernels that also read positions being written.
    func keyPointer(layer: Int, head: Int) -> UnsafePointer<Float> {
        UnsafePointer(keyStorage[layer] + head * capacity * headDim)
    }

    func valuePointer(layer: Int, head: Int) -> UnsafePointer<Float> {
        UnsafePointer(valueStorage[layer] + head * capacity * headDim)
    }

    /// A copy of one layer's values as `[kvHeads, count, headDim]`.
    public func valueTensor(layer: Int) -> Tensor {
        copyLayer(valueStorage[layer])
    }

    /// A copy of one layer's keys (after RoPE) as `[kvHeads, count, headDim]`.
    public func keyTensor(layer: Int) -> Tensor {
        copyLayer(keyStorage[layer])
    }

    private func copyLayer(_ source: UnsafeMutablePointer<Float>) -> Tensor {
        let out = Tensor(zeros: [kvHeads, count, headDim])
        for h in 0..<kvHeads {
            (out.pointer + h * count * headDim).update(from: source + h * capacity * headDim, count: count * headDim)
        }
        return out
    }

    /// Bytes of key and value storage held (the whole capacity, not only the tokens in use).
    public var byteCount: Int { 2 * layers * kvHeads * capacity * headDim * MemoryLayout<Float>.stride }

    /// A new cache holding the first `prefix` tokens of this one, with room for `room` more tokens:
    /// several prompts about the same image extend one prefill instead of repeating it.
    public func fork(keeping prefix: Int? = nil, room: Int = 64) -> KVCache {
        let keep = min(prefix ?? count, count)
        let copy = KVCache(layers: layers, kvHeads: kvHeads, headDim: headDim, capacity: max(keep + max(room, 0), 1))
        for l in 0..<layers {
            for h in 0..<kvHeads {
                (copy.keyStorage[l] + h * copy.capacity * headDim).update(from: keyStorage[l] + h * capacity * headDim, count: keep * headDim)
                (copy.valueStorage[l] + h * copy.capacity * headDim).update(from: valueStorage[l] + h * capacity * headDim, count: keep * headDim)
            }
        }
        copy.count = keep
        copy.tokens = Array(tokens.prefix(keep))
        copy.imagePositions = imagePositions.filter { $0 < keep }
        return copy
    }

    /// Drops every token from position `length` on.
    public func truncate(to length: Int) {
        guard length < count else { return }
        count = max(0, length)
        tokens.removeLast(tokens.count - count)
        imagePositions.removeAll { $0 >= count }
        attention = [:]
    }
}
