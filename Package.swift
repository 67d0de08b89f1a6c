// swift-tools-version: 6.0
import PackageDescription

/// Hot numeric code needs FMA/AVX2: without a target CPU, `addingProduct` becomes a libm call per lane.
let releaseFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release)),
]

/// The kernels are optimised in debug builds too: unoptimised SIMD8 code (`exp8`) runs ~200x slower
/// than optimised, which made every model test of the debug test build crawl.
let kernelFlags: [SwiftSetting] = releaseFlags + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "focus",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "focus", targets: ["focus"]),
        .executable(name: "focus-bench", targets: ["focus-bench"]),
        .executable(name: "focus-coord", targets: ["focus-coord"]),
        .executable(name: "focus-node", targets: ["focus-node"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Methods", targets: ["Methods"]),
        .library(name: "Benchmarks", targets: ["Benchmarks"]),
        .library(name: "Cluster", targets: ["Cluster"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System libraries: nothing else in the package talks to C directly.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CImageIO", pkgConfig: "libpng", providers: [.apt(["libturbojpeg0-dev", "libpng-dev"])]),

        .target(name: "Tensors", dependencies: ["CBLAS"], swiftSettings: kernelFlags),
        .target(name: "Models", dependencies: ["Tensors", "CImageIO"], swiftSettings: releaseFlags),
        .target(name: "Methods", dependencies: ["Models", "Tensors"], swiftSettings: releaseFlags),
        .target(name: "Benchmarks", dependencies: ["Models", "Methods"], swiftSettings: releaseFlags),
        .target(
            name: "Cluster",
            dependencies: ["Methods", "Models", "CZeroMQ", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: releaseFlags
        ),
        .target(
            name: "FocusCommandLine",
            dependencies: ["Models", "Tensors", "Methods", "Benchmarks", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "focus",
            dependencies: ["Models", "Tensors", "Methods", "Benchmarks", "FocusCommandLine", "Reports", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: releaseFlags
        ),
        .target(
            name: "Reports",
            dependencies: ["Methods", "Models"]
        ),
        .target(
            name: "ClusterMetrics",
            dependencies: ["Cluster", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        .executableTarget(
            name: "focus-coord",
            dependencies: ["Cluster", "ClusterMetrics", "Methods", "Benchmarks", "FocusCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: releaseFlags
        ),
        .executableTarget(
            name: "focus-node",
            dependencies: ["Cluster", "Models", "FocusCommandLine", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: releaseFlags
        ),
        .executableTarget(name: "focus-bench", dependencies: ["Models", "Methods", "Tensors"], swiftSettings: releaseFlags),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tensors"]),
        .testTarget(name: "MethodsTests", dependencies: ["Methods", "Models", "Benchmarks"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Models"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Methods", "Models"]),
        .testTarget(name: "FocusCLITests", dependencies: ["focus", "FocusCommandLine"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "ClusterMetrics", "Methods", "Models", "Benchmarks"]),
    ],
    swiftLanguageModes: [.v6]
)
