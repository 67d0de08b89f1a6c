extension Duration {
    /// The duration in seconds as a Double (timings in ledgers, progress lines and benchmarks).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
