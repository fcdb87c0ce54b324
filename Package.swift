// swift-tools-version:6.1
import PackageDescription

// One library target per layer (see ../shared/STYLE.md); dependencies flow one way:
// RecopsBase → Spec → clients (AWS, Twilio, Airtable) → Provision → Verify → Pipeline →
// SQLiteStore and PostgresStore (engines of Pipeline's JobStore) → PipelineAssembly → recops.
let package = Package(
    name: "recops",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "recops", targets: ["recops"]),
        // For Fuzz/ (a package of its own, built with -sanitize=fuzzer): the spec loader, and the
        // webhook's form decoder, signature check and callback parser.
        .library(name: "Spec", targets: ["Spec"]),
        .library(name: "Transport", targets: ["Transport"]),
        .library(name: "Twilio", targets: ["Twilio"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // JSONValue and Locked: shared by the clients, the spec and the pipeline, so none of them
        // needs another's module (and its dependencies) for them.
        .target(name: "RecopsBase"),
        .target(
            name: "Spec",
            dependencies: ["RecopsBase", .product(name: "Yams", package: "Yams")]
        ),
        // The one HTTP abstraction under every client, and its AsyncHTTPClient implementation.
        .target(
            name: "Transport",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // zlib, for CloudTrail's gzipped log files (Debian's zlib1g-dev; scripts/test installs it).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // libmpg123, to decode MP3 for the quality check (Debian's libmpg123-dev; scripts/test installs it).
        .systemLibrary(name: "CMPG123", path: "Sources/CMPG123", providers: [.apt(["libmpg123-dev"])]),
        // What a recording's audio says: decoding (MP3, WAV) in bounded memory, levels per
        // channel, and the verdicts. No network, no store.
        .target(name: "AudioQuality", dependencies: ["CMPG123"]),
        .target(
            name: "AWS",
            dependencies: [
                "Transport", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Twilio",
            dependencies: ["Transport", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Airtable",
            dependencies: ["RecopsBase", "Transport", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Provision",
            dependencies: ["Spec", "AWS", "Twilio", "Airtable", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Sandbox",
            dependencies: [
                "Spec", "Twilio", "Transport", "Airtable",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "Verify", dependencies: ["Spec", "Transport", "AWS", "Twilio", "Provision"]),
        // The webhook service: routes, signature check, the job state machine, the store contract
        // (`JobStore`), the steps and the worker. No database engine and no spec: those come in
        // from the targets below.
        .target(
            name: "Pipeline",
            dependencies: [
                "RecopsBase", "Transport", "AWS", "Twilio", "Airtable",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The embedded JobStore engine (SQLite through GRDB).
        .target(
            name: "SQLiteStore",
            dependencies: [
                "Pipeline", "Twilio", "RecopsBase",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The shared JobStore engine for several replicas (PostgreSQL through postgres-nio), and
        // the Airtable budget all replicas draw from.
        .target(
            name: "PostgresStore",
            dependencies: [
                "Pipeline", "Twilio", "Airtable", "RecopsBase",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The one place the pipeline is put together from the spec: store, clients, steps,
        // worker, application. `serve`, the commands and the test fixtures all call it.
        .target(
            name: "PipelineAssembly",
            dependencies: [
                "Spec", "Transport", "AWS", "Twilio", "Airtable", "Provision", "Pipeline", "SQLiteStore", "PostgresStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Real local servers for tests and benchmarks (moto_server, later the sandbox), like HummingbirdTesting.
        .target(
            name: "RecopsTesting",
            dependencies: [
                "Spec", "AWS", "Transport", "Provision", "Sandbox", "Twilio", "Airtable", "Pipeline", "PipelineAssembly", "SQLiteStore", "PostgresStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "recops",
            dependencies: [
                "Spec", "Transport", "AWS", "Twilio", "Airtable", "Provision", "Verify", "Pipeline", "PipelineAssembly", "SQLiteStore", "PostgresStore", "Sandbox", "AudioQuality",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "SpecTests", dependencies: ["Spec", "RecopsTesting"]),
        .testTarget(name: "AudioQualityTests", dependencies: ["AudioQuality"]),
        .testTarget(name: "AWSTests", dependencies: ["AWS", "Transport", "RecopsTesting"]),
        .testTarget(name: "TwilioTests", dependencies: ["Twilio", "Transport", "RecopsTesting", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "AirtableTests", dependencies: ["Airtable", "Transport", "RecopsBase", "RecopsTesting", "Sandbox", "Spec"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "Airtable", "Twilio", "Spec", "Transport", "RecopsTesting", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "VerifyTests", dependencies: ["Verify", "Provision", "Spec", "AWS", "Transport", "RecopsTesting"]),
        .testTarget(name: "ProvisionTests", dependencies: ["Provision", "Spec", "RecopsBase", "AWS", "Twilio", "Airtable", "Sandbox", "Transport", "RecopsTesting"]),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "PipelineAssembly", "SQLiteStore", "PostgresStore", "RecopsBase", "Spec", "AWS", "Twilio", "Airtable", "Sandbox", "Transport", "RecopsTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(name: "recopsTests", dependencies: ["recops", "Spec", "RecopsTesting", "Pipeline", "SQLiteStore", "PostgresStore", "Sandbox", "Twilio", "Transport"]),
    ]
)
