// swift-tools-version: 6.1
import PackageDescription

// Layering (see docs/DESIGN.md): shims -> Tensor -> CLIP (model) ; shims -> Video ;
// the engine and the tools compose them. Model code knows nothing of SQLite or video.
let package = Package(
    name: "ResidualStore",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rstore", targets: ["rstore"]),
        .executable(name: "rstore-bench", targets: ["rstore-bench"]),
        .library(name: "CLIP", targets: ["CLIP"]),
        .library(name: "Video", targets: ["Video"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // /metrics: the server records through swift-metrics; swift-prometheus renders the text.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),

        .target(name: "Digest"),
        // The version `rstore --version`, /healthz and /openapi.json report (package constant + git commit).
        .target(name: "BuildInfo", plugins: ["GitDescribe"]),
        .plugin(name: "GitDescribe", capability: .buildTool()),
        // Which sampled frames are I and which anchor each P leans on: shared by model, store and engine.
        .target(name: "Timeline"),
        .target(name: "Support", dependencies: ["CLZ4", "CKernels"]),
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // FAISS (Debian's static libfaiss.a, built with OpenMP and BLAS/LAPACK) behind a small C
        // interface: stage 1's approximate index over the I-features of a large library.
        .target(
            name: "CFaiss",
            linkerSettings: [
                .linkedLibrary("faiss"), .linkedLibrary("openblas"), .linkedLibrary("gomp"), .linkedLibrary("stdc++"),
            ]),
        // No -Ounchecked anywhere: CLIP and the engine parse untrusted bytes (safetensors,
        // vocab, blobs, timestamps). The Tensor hot loops already work on unsafe pointers; the
        // before/after benches are in docs/DESIGN.md ("Hostile bytes").
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "CLIP", dependencies: ["Tensor", "Digest", "Timeline", "Support"]),
        // Training of A (backward pass, losses, AdamW, trainer): only `rstore train-tokenizer`
        // links it; the engine and the server run inference only.
        .target(
            name: "CLIPTraining", dependencies: ["CLIP", "Tensor", "Timeline", "Digest"],
            resources: [.copy("Resources/prompts.txt")]),
        .target(name: "Video", dependencies: ["CFFmpeg", "Support", "Digest"]),
        .target(
            name: "Store",
            dependencies: [
                "CLZ4", "Support", "Digest", "Timeline",
                .product(name: "GRDB", package: "GRDB.swift"),
            ], plugins: ["EmbedMigrations"]),
        // Migrations/*.sql compiled into the Store module (the installed binary needs no files).
        .executableTarget(name: "embed-migrations", path: "Plugins/EmbedMigrationsTool"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["embed-migrations"]),
        // The PostgreSQL backend of the store protocol (a shared library for many machines).
        .target(
            name: "StorePostgres",
            dependencies: [
                "Store", "Digest", "Timeline", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ], plugins: ["EmbedMigrations"]),
        .target(
            name: "ResidualStore",
            dependencies: [
                "CLIP", "Video", "Tensor", "Support", "Store", "StorePostgres", "Digest", "CKernels", "CFaiss",
                "Timeline",
            ]),
        // The HTTP front end sees the engine and Hummingbird only (see docs/DESIGN.md).
        // The OpenAPI document and the search page are checked-in files compiled into the binary
        // (`PackageResources`).
        .target(
            name: "Server",
            dependencies: [
                "ResidualStore", "BuildInfo", "Timeline",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [
                .embedInCode("Resources/openapi.json"),
                .embedInCode("Resources/page/index.html"), .embedInCode("Resources/page/page.css"),
                .embedInCode("Resources/page/page.js"),
            ]),
        .executableTarget(
            name: "rstore",
            dependencies: [
                "CLIP", "CLIPTraining", "Video", "Tensor", "Store", "ResidualStore", "Server", "Timeline", "BuildInfo",
                "RStoreCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // What `rstore` and `rstore-bench` share: option groups, JSON output, the OpenBLAS kernel choice at start.
        .target(
            name: "RStoreCommandLine",
            dependencies: [
                "CLIP", "Tensor", "Store", "Timeline", "Video", "ResidualStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // The benchmarks (`rstore bench ...` forwards here): figures and ratios, never pass/fail.
        .executableTarget(
            name: "rstore-bench",
            dependencies: [
                "CLIP", "Video", "Tensor", "Store", "StorePostgres", "ResidualStore", "Timeline", "RStoreCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Setup shared by the test targets (tiny CLIP, temp folders, ffmpeg, sample videos, the
        // rstore binary); checks stay in the tests.
        .target(name: "TestSupport", dependencies: ["CLIP", "Tensor"], path: "Tests/TestSupport"),
        .testTarget(
            name: "CLITests",
            dependencies: ["rstore", "CLIP", "Video", "Store", "StorePostgres", "TestSupport", "PostgresTestSupport"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "Digest", "Support"]),
        .testTarget(
            name: "CLIPTests", dependencies: ["CLIP", "Tensor", "Timeline", "TestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CLIPTrainingTests", dependencies: ["CLIPTraining", "CLIP", "Tensor", "Timeline", "TestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "ResidualStoreTests",
            dependencies: ["ResidualStore", "CLIP", "Video", "Timeline", "Store", "TestSupport"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "ResidualStore", "Store", "Video", "CLIP", "TestSupport", "StorePostgres",
                "PostgresTestSupport", "BuildInfo",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Timeline", "TestSupport"]),
        // One conformance suite over both store backends (PostgreSQL in a throwaway cluster).
        .testTarget(
            name: "StoreConformanceTests",
            dependencies: ["Store", "StorePostgres", "PostgresTestSupport", "ResidualStore", "CLIP", "Timeline"]),
        // The throwaway PostgreSQL cluster the tests start (Tools/pg-cluster.sh).
        .target(name: "PostgresTestSupport", path: "Tests/PostgresTestSupport"),
        // Seeded mutation fuzzing of every decoder of untrusted bytes (Tools/fuzz.sh: long run).
        .testTarget(name: "FuzzTests", dependencies: ["CLIP", "Store", "Support", "TestSupport", "ResidualStore"]),
        .testTarget(
            name: "VideoTests", dependencies: ["Video", "CLIP", "TestSupport"],
            resources: [.copy("Fixtures")]),
    ]
)
