// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets, kept out of the main package: they only link with -sanitize=fuzzer
// (libFuzzer supplies `main`). Build and run them with scripts/fuzz.
let package = Package(
    name: "recops-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "recops", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "SpecFuzzer", dependencies: ["FuzzDriver", .product(name: "Spec", package: "recops")]),
        .executableTarget(name: "WebhookFuzzer", dependencies: ["FuzzDriver", .product(name: "Transport", package: "recops"), .product(name: "Twilio", package: "recops"),
                                                                .product(name: "Pipeline", package: "recops")]),
    ]
)
