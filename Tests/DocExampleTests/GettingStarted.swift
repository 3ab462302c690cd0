// The samples of Sources/Finalize/Finalize.docc/GettingStarted.md.

import Finalize
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

// MARK: Host owners and watched owners

func watchedOwner(decoder: ImageDecoder, data: [UInt8], memoryGauge: MemoryGauge) {
    let image = decoder.decode(data)          // some class from another module
    finalize(image, holding: image.byteCount) { bytes in memoryGauge.subtract(bytes) }
}

// MARK: Run a cleanup at a point in your code

func greet(over connection: Connection) throws {
    try withCleanupStack { stack in
        stack.defer { try connection.close() }   // at the end of the scope; its error is thrown
        try send("hello", over: connection)
    }
}

func adoptedByAScope(session: Session, report: String) throws {
    let revocation = finalize(session, holding: session.token) { token in try revoke(token) }
    try withCleanupStack { stack in
        stack.adopt(revocation)    // at the end of the scope, or at the session's death if that is first
        try session.upload(report)
    }
}

// MARK: Resources are Sendable

/// Memory owned by one `Image`.
///
/// `@unchecked Sendable`: one thread at a time uses the pointer. The image's
/// methods use it while the image is alive; the cleanup runs once, after the
/// image's last use (inside its release) or in `close()`, and the image must
/// not be used during or after `close()`.
struct PixelBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

final class Image: FinalizerHost {
    let finalizers = FinalizerBag()
    let pixels: PixelBuffer

    init(byteCount: Int) {
        pixels = PixelBuffer(pointer: .allocate(byteCount: byteCount, alignment: 16))
        finalize(self, holding: pixels) { $0.pointer.deallocate() }
    }

    func close() throws {
        try finalizers.runAll()
    }
}

// MARK: Errors

func loggingRegistry(logger: Logger) -> FinalizerRegistry {
    let registry = FinalizerRegistry(onFailure: { failure in
        logger.error("cleanup failed", metadata: ["site": "\(failure.fileID):\(failure.line)",
                                                  "trigger": "\(failure.trigger)",
                                                  "error": "\(failure.error)"])
    })
    return registry
}

// MARK: Finding leaks

func printPending() {
    for info in FinalizerRegistry.shared.pending {
        print(info)     // "Connection at App/Connection.swift:12 (runs at exit)"
    }
}

// MARK: Testing (a real test: it runs with the others)

@Test func closesOnRelease() {
    let registry = FinalizerRegistry(sweepInterval: nil)
    var owner: Widget? = Widget()
    let f = registry.finalize(owner!) { /* ... */ }
    owner = nil
    registry.sweep()                 // a watched owner: runs here, not before
    #expect(f.state == .ran(.sweep))
}
