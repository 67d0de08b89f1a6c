/// Contiguous Float32 memory, either allocated here or borrowed from a memory map.
///
/// A reference type because a weight matrix has identity: many `Tensor` values may view the same
/// storage, and a borrowed region must keep its mapping (`owner`) alive for as long as any view exists.
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    private let owner: AnyObject?
    private let ownsMemory: Bool

    /// Allocates `count` floats, zero-filled.
    public init(count: Int) {
        let n = max(count, 1)
        base = UnsafeMutablePointer<Float>.allocate(capacity: n)
        base.initialize(repeating: 0, count: n)
        self.count = count
        owner = nil
        ownsMemory = true
    }

    /// Views `count` floats at `base`, which stay valid while `owner` lives (e.g. an mmapped file).
    public init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
        ownsMemory = false
    }

    deinit {
        if ownsMemory { base.deallocate() }
    }
}

/// A row-major Float32 tensor: a shape over a `TensorStorage`.
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let storage: TensorStorage

    public init(shape: [Int], storage: TensorStorage) {
        precondition(shape.reduce(1, *) <= storage.count, "shape \(shape) exceeds storage of \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, storage: TensorStorage(count: shape.reduce(1, *)))
    }

    /// A tensor holding a copy of `values`.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        let storage = TensorStorage(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let s = src.baseAddress { storage.base.update(from: s, count: values.count) }
        }
        self.init(shape: shape, storage: storage)
    }

    public var count: Int { shape.reduce(1, *) }
    public var pointer: UnsafeMutablePointer<Float> { storage.base }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: storage.base, count: count) }

    /// The values as an array (a copy; for tests and small outputs, not for hot paths).
    public var array: [Float] { Array(buffer) }

    /// Same storage, another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(shape: newShape, storage: storage)
    }
}
