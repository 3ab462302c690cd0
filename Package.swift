// swift-tools-version:6.2
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
        // observe an owner without retaining it, and one helper of its own (a
        // per-thread number, for picking a shard where the processor is unknown).
        .target(name: "_FinalizeShims"),
        .target(
            name: "Finalize",
            dependencies: ["_FinalizeShims"],
            // Checks of the library's own bookkeeping (Support/InternalChecks.swift):
            // on in debug builds (`swift test`, the ThreadSanitizer run), off in release.
            swiftSettings: [.define("FINALIZE_INTERNAL_CHECKS", .when(configuration: .debug))]
        ),
        .executableTarget(name: "finalize-demo", dependencies: ["Finalize"]),
        // Reads the C heap's usage for the memory figures (bench only).
        .target(name: "_FinalizeBenchSupport"),
        .executableTarget(name: "finalize-bench", dependencies: ["Finalize", "_FinalizeBenchSupport", "_FinalizeShims"]),
        // Helpers the tests and the fixture share (threads, locks, recorders,
        // owners, the scenario across registries); not a product.
        .target(name: "FinalizeTestSupport", dependencies: ["Finalize"]),
        // A child process for the tests that signal it, fork from it or must
        // kill it when it hangs (see its main.swift); the other process-exit
        // tests are Swift Testing exit tests.
        .executableTarget(name: "finalize-fixture", dependencies: ["Finalize", "FinalizeTestSupport"]),
        .testTarget(
            name: "FinalizeTests",
            dependencies: ["Finalize", "FinalizeTestSupport", "finalize-fixture"]
        ),
        // Every Swift sample of README.md and of the DocC catalog, verbatim, so
        // that `swift build --build-tests` compiles them
        // (Scripts/check-doc-samples.py checks that each one is here).
        .testTarget(name: "DocExampleTests", dependencies: ["Finalize"]),
    ],
    swiftLanguageModes: [.v6]
)
