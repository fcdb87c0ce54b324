// swift-tools-version:6.0
import PackageDescription

// One library target per layer (see ../shared/STYLE.md); dependencies flow one way:
// Spec → clients (AWS, Twilio, Airtable) → Provision → Verify → Pipeline → recops.
let package = Package(
    name: "recops",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "recops", targets: ["recops"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "Spec",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "recops",
            dependencies: [
                "Spec",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SpecTests", dependencies: ["Spec"]),
        .testTarget(name: "recopsTests", dependencies: ["recops", "Spec"]),
    ]
)
