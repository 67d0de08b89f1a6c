// swift-tools-version: 6.0
import PackageDescription

/// Hot numeric code needs FMA/AVX2: without a target CPU, `addingProduct` becomes a libm call per lane.
let releaseFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release)),
]

let package = Package(
    name: "focus",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "focus", targets: ["focus"]),
        .executable(name: "focus-bench", targets: ["focus-bench"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "Methods", targets: ["Methods"]),
        .library(name: "Benchmarks", targets: ["Benchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries: nothing else in the package talks to C directly.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CImageIO", pkgConfig: "libpng", providers: [.apt(["libturbojpeg0-dev", "libpng-dev"])]),

        .target(name: "Tensors", dependencies: ["CBLAS"], swiftSettings: releaseFlags),
        .target(name: "Models", dependencies: ["Tensors", "CImageIO"], swiftSettings: releaseFlags),
        .target(name: "Methods", dependencies: ["Models", "Tensors"], swiftSettings: releaseFlags),
        .target(name: "Benchmarks", dependencies: ["Models", "Methods"], swiftSettings: releaseFlags),
        .executableTarget(
            name: "focus",
            dependencies: ["Models", "Tensors", "Methods", "Benchmarks", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: releaseFlags
        ),
        .executableTarget(name: "focus-bench", dependencies: ["Models", "Tensors"], swiftSettings: releaseFlags),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tensors"]),
        .testTarget(name: "MethodsTests", dependencies: ["Methods", "Models"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Models"]),
        .testTarget(name: "FocusCLITests", dependencies: ["focus"]),
    ],
    swiftLanguageModes: [.v6]
)
