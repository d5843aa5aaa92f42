// swift-tools-version:6.1
import PackageDescription

// Sluice: a pretraining data-curation pipeline.
// Dependencies: swift-argument-parser (the CLI), Yams (pipeline files), swift-log (logging).
let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .library(name: "SluicePipeline", targets: ["SluicePipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CSluiceShims"),
        .target(name: "SluiceCore"),
        .target(name: "SluiceIO", dependencies: ["SluiceCore", "CZstd", "CZlib"]),
        .target(name: "SluiceFilters", dependencies: ["SluiceCore"]),
        .target(name: "SluiceWeb", dependencies: ["SluiceCore", "SluiceIO", "CLibXML2"]),
        .target(name: "SluiceFastText", dependencies: ["SluiceCore", "CSluiceShims"]),
        .target(name: "SluiceDedup", dependencies: ["SluiceCore", "SluiceIO"]),
        .target(name: "SluiceLLM", dependencies: ["SluiceCore", "SluiceIO", "CCurl"]),
        .target(name: "SluiceSynth", dependencies: ["SluiceCore", "SluiceLLM"]),
        .target(name: "SluiceStats", dependencies: ["SluiceCore", "SluiceIO"]),
        .target(name: "SluiceLM", dependencies: ["SluiceCore"]),
        .target(
            name: "SluiceQuality",
            dependencies: ["SluiceCore", "SluiceIO", "SluiceFilters", "SluiceFastText", "SluiceLLM", "SluiceLM"]),
        .target(
            name: "SluicePipeline",
            dependencies: [
                "SluiceCore", "SluiceIO", "SluiceFilters", "SluiceWeb", "SluiceFastText", "SluiceDedup", "SluiceStats",
                "SluiceLLM", "SluiceSynth", "SluiceLM", "SluiceQuality",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(name: "SluiceTestSupport", dependencies: ["SluiceCore", "SluiceIO", "SluicePipeline"]),
        .executableTarget(
            name: "sluice",
            dependencies: ["SluicePipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "sluice-bench",
            dependencies: [
                "SluicePipeline", "SluiceIO", "SluiceCore", "SluiceDedup", "SluiceFastText", "SluiceFilters", "SluiceWeb",
                "SluiceLM", "SluiceQuality",
            ]),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore", "SluiceTestSupport"]),
        .testTarget(name: "SluiceIOTests", dependencies: ["SluiceIO", "SluiceTestSupport"]),
        .testTarget(name: "SluiceFiltersTests", dependencies: ["SluiceFilters", "SluiceTestSupport"]),
        .testTarget(name: "SluiceWebTests", dependencies: ["SluiceWeb", "SluiceTestSupport"]),
        .testTarget(name: "SluiceFastTextTests", dependencies: ["SluiceFastText", "SluiceTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SluiceDedupTests", dependencies: ["SluiceDedup", "SluiceTestSupport"]),
        .testTarget(name: "SluiceStatsTests", dependencies: ["SluiceStats", "SluicePipeline", "SluiceTestSupport"]),
        .testTarget(name: "SluiceLLMTests", dependencies: ["SluiceLLM", "SluiceSynth", "SluiceTestSupport", "sluice"]),
        .testTarget(name: "SluiceLMTests", dependencies: ["SluiceLM", "SluiceTestSupport", "sluice"]),
        .testTarget(
            name: "SluiceQualityTests", dependencies: ["SluiceQuality", "SluiceLM", "SluiceTestSupport", "sluice"]),
        .testTarget(name: "SluicePipelineTests", dependencies: ["SluicePipeline", "SluiceTestSupport", "sluice"]),
    ]
)
