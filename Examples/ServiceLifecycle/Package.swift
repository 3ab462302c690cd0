// swift-tools-version:6.0
import PackageDescription

// An example service: resources with asynchronous finalizers, run under
// swift-service-lifecycle, whose graceful shutdown awaits the registry's
// shutdown last. Its own package, so the library itself keeps no dependencies.

// A path dependency's package identity is the name of its folder (whatever
// the clone is called), not the `name:` in its manifest, so the product
// reference below derives it rather than spelling "Finalize".
let finalizePath = "../.."
let finalizeIdentity = Context.packageDirectory.split(separator: "/").dropLast(2).last.map(String.init) ?? "Finalize"

let package = Package(
    name: "ServiceLifecycleExample",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    dependencies: [
        .package(path: finalizePath),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "finalize-service-example",
            dependencies: [
                .product(name: "Finalize", package: finalizeIdentity),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
