import Synchronization

/// Time and floating-point work spent inside OpenBLAS products (`Linear`, `matmul`,
/// `matmulTransposedB`), for `scripts/bench/forward`'s "share of the sgemm peak in the matrix
/// products". Off by default: when off, a product pays one relaxed atomic load.
public enum MatrixProductProfile {
    private static let enabled = Atomic<Bool>(false)
    private static let totals = Mutex(Totals())

    public struct Totals: Sendable, Equatable {
        public var calls = 0
        public var flops: Double = 0
        public var seconds: Double = 0
        public var gflopsPerSecond: Double { seconds > 0 ? flops / seconds / 1e9 : 0 }
        public init() {}
    }

    public static var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Starts counting from zero.
    public static func start() {
        totals.withLock { $0 = Totals() }
        enabled.store(true, ordering: .relaxed)
    }

    /// Stops counting and returns what was counted since `start()`.
    @discardableResult
    public static func stop() -> Totals {
        enabled.store(false, ordering: .relaxed)
        return totals.withLock { $0 }
    }

    /// Runs `body` (one product of `flops` operations), timing it when profiling is on.
    @inline(__always)
    static func measure(flops: @autoclosure () -> Double, _ body: () -> Void) {
        guard isEnabled else { body(); return }
        let clock = ContinuousClock()
        let s = clock.measure(body).seconds
        let f = flops()
        totals.withLock { $0.calls += 1; $0.flops += f; $0.seconds += s }
    }
}
