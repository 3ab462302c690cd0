// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Finalize",
    // Synchronization's Atomic and Mutex.
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "Finalize", targets: ["Finalize"]),
        .executable(name: "finalize-demo", targets: ["finalize-demo"]),
        .executable(name: "finalize-bench", targets: ["finalize-bench"]),
    ],
    targets: [
        // Declarations of the few Swift runtime entry points the registry uses to
        // observe an owner without retaining it (no code of its own).
        .target(name: "_FinalizeShims"),
        .target(
            name: "Finalize",
            dependencies: ["_FinalizeShims"]
        ),
        .executableTarget(name: "finalize-demo", dependencies: ["Finalize"]),
        // Reads the C heap's usage for the memory figures (bench only).
        .target(name: "_FinalizeBenchSupport"),
        .executableTarget(name: "finalize-bench", dependencies: ["Finalize", "_FinalizeBenchSupport"]),
        // A child process for the tests that need a real process exit.
        .executableTarget(name: "finalize-fixture", dependencies: ["Finalize"]),
        .testTarget(
            name: "FinalizeTests",
            dependencies: ["Finalize", "finalize-fixture"]
        ),
        // Every Swift sample of README.md and of the DocC catalog, verbatim, so
        // that `swift build --build-tests` compiles them
        // (Scripts/check-doc-samples.py checks that each one is here).
        .testTarget(name: "DocExampleTests", dependencies: ["Finalize"]),
    ],
    swiftLanguageModes: [.v6]
)
