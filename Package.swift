// swift-tools-version: 6.1
import PackageDescription

// Layering (see docs/DESIGN.md): shims -> Tensor -> CLIP (model) ; shims -> Video ;
// the engine and the tools compose them. Model code knows nothing of SQLite or video.
let package = Package(
    name: "ResidualStore",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rstore", targets: ["rstore"]),
        .library(name: "CLIP", targets: ["CLIP"]),
        .library(name: "Video", targets: ["Video"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),

        .target(name: "Digest"),
        .target(name: "Support", dependencies: ["CLZ4"]),
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // No -Ounchecked anywhere: CLIP and the engine parse untrusted bytes (safetensors,
        // vocab, blobs, timestamps). The Tensor hot loops already work on unsafe pointers; the
        // before/after benches are in docs/DESIGN.md ("Hostile bytes").
        .target(name: "Tensor", dependencies: ["CBLAS"]),
        .target(name: "CLIP", dependencies: ["Tensor", "Digest"]),
        .target(name: "Video", dependencies: ["CFFmpeg", "Support", "Digest"]),
        .target(name: "Store", dependencies: [
            "CLZ4", "Support", "Digest",
            .product(name: "GRDB", package: "GRDB.swift"),
        ], plugins: ["EmbedMigrations"]),
        // Migrations/*.sql compiled into the Store module (the installed binary needs no files).
        .executableTarget(name: "embed-migrations", path: "Plugins/EmbedMigrationsTool"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["embed-migrations"]),
        // The PostgreSQL backend of the store protocol (a shared library for many machines).
        .target(name: "StorePostgres", dependencies: [
            "Store", "Digest", .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], plugins: ["EmbedMigrations"]),
        .target(name: "ResidualStore", dependencies: ["CLIP", "Video", "Tensor", "Support", "Store", "Digest", "CKernels"]),
        .target(name: "Server", dependencies: [
            "ResidualStore", "Store", "Video", "CLIP", "Support",
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .executableTarget(name: "rstore", dependencies: [
            "CLIP", "Video", "Tensor", "Store", "StorePostgres", "ResidualStore", "Server",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "CLITests", dependencies: ["rstore", "CLIP", "Video", "Store", "StorePostgres", "PostgresTestSupport"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "Digest", "Support"]),
        .testTarget(name: "CLIPTests", dependencies: ["CLIP", "Tensor"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "ResidualStoreTests", dependencies: ["ResidualStore", "CLIP", "Video"]),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "ResidualStore", "Store", "Video", "CLIP",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "StoreTests", dependencies: ["Store"]),
        // One conformance suite over both store backends (PostgreSQL in a throwaway cluster).
        .testTarget(name: "StoreConformanceTests", dependencies: ["Store", "StorePostgres", "PostgresTestSupport", "ResidualStore", "CLIP"]),
        // The throwaway PostgreSQL cluster the tests start (Tools/pg-cluster.sh).
        .target(name: "PostgresTestSupport", path: "Tests/PostgresTestSupport"),
        // Seeded mutation fuzzing of every decoder of untrusted bytes (Tools/fuzz.sh: long run).
        .testTarget(name: "FuzzTests", dependencies: ["CLIP", "Store", "Support"]),
        .testTarget(name: "VideoTests", dependencies: ["Video", "CLIP"],
                    resources: [.copy("Fixtures")]),
    ]
)
