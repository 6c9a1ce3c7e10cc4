// swift-tools-version: 6.2
import Foundation
import PackageDescription

// The pure-Swift kernels are written for 8-wide FMA. On x86_64 we ask the
// compiler for the Haswell level (AVX2 + FMA, every x86 server CPU since
// 2013). Set BERT_PORTABLE=1 when building for an older x86 machine.
#if arch(x86_64)
  let portable = ProcessInfo.processInfo.environment["BERT_PORTABLE"] != nil
  let kernelFlags: [SwiftSetting] = portable ? [] : [.unsafeFlags(["-target-cpu", "haswell"])]
#else
  let kernelFlags: [SwiftSetting] = []
#endif

let package = Package(
  name: "BERT",
  platforms: [.macOS(.v14)],
  // MARK: - Public API
  products: [
    .library(name: "BERT", targets: ["BERT"]),
    .library(name: "Tensors", targets: ["Tensors"]),
    .library(name: "BERTAssets", targets: ["BERTAssets"]),
    .library(name: "BERTServer", targets: ["BERTServer"]),
    .executable(name: "bert", targets: ["bert"]),
    .executable(name: "bert-bench", targets: ["BertBench"]),
  ],
  traits: [
    .trait(
      name: "OpenBLAS",
      description: "Route GEMM and LAPACK calls to the system OpenBLAS and LAPACKE."),
    .trait(
      name: "MPI",
      description: "Data-parallel fine-tuning and sharded inference over Open MPI (mpirun)."),
    .default(enabledTraits: ["OpenBLAS"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
  ],
  targets: [
    // MARK: - Libraries
    .target(
      name: "Tensors",
      dependencies: [
        "CInt8GEMM", .target(name: "COpenBLAS", condition: .when(traits: ["OpenBLAS"])),
      ],
      swiftSettings: kernelFlags),
    .target(
      name: "BERT",
      dependencies: [
        "Tensors", .product(name: "Logging", package: "swift-log"),
        .target(name: "CMPI", condition: .when(traits: ["MPI"])),
      ],
      swiftSettings: kernelFlags),
    .target(name: "BERTAssets", dependencies: ["BERT"], exclude: ["README.md"]),
    .target(
      name: "BERTServer",
      dependencies: [
        "BERT",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      exclude: ["README.md"]),

    // MARK: - Executables
    .executableTarget(
      name: "bert",
      dependencies: [
        "BERT", "BERTAssets", "BERTServer",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      exclude: ["README.md"]),
    .executableTarget(
      name: "BertBench",
      dependencies: [
        "BERT", "Tensors", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Benchmarks/BertBench",
      exclude: ["README.md"],
      swiftSettings: kernelFlags),

    // MARK: - Implementation details
    .target(name: "CInt8GEMM", exclude: ["README.md"]),
    .systemLibrary(
      name: "COpenBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
    .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

    // MARK: - Tests
    .target(
      name: "TestSupport", dependencies: ["Tensors"], path: "Tests/TestSupport",
      exclude: ["README.md"]),
    .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"]),
    .testTarget(
      name: "BERTTests",
      dependencies: ["BERT", "BERTAssets", "Tensors", "TestSupport"],
      resources: [.copy("Fixtures")]),
    .testTarget(name: "BERTAssetsTests", dependencies: ["BERTAssets", "BERT"]),
    .testTarget(
      name: "BERTServerTests",
      dependencies: [
        "BERTServer", "BERT", "BERTAssets",
        .product(name: "HummingbirdTesting", package: "hummingbird"),
      ]),
  ],
  swiftLanguageModes: [.v5]
)
