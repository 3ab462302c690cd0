/// A finalizer's cleanup and resource.
///
/// Deliberately not generic: `Finalizer<Resource>` then has no field whose
/// layout depends on `Resource`, so its unspecialized code (its deinit, and
/// the claims made through `ErasedFinalizer` by bags and sweeps) needs no
/// generic metadata at run time. The resource-less form stores the caller's
/// closure as is, so `finalize(owner) { ... }` allocates nothing beyond the
/// finalizer; a resource lives in one small box with its cleanup.
enum CleanupPayload: Sendable {
    case plain(@Sendable () throws -> Void)
    case holding(AnyResourceBox)
    /// The cleanup of an ``AsyncFinalizer``: a trigger that cannot await
    /// (an owner's release, a sweep, a synchronous shutdown) starts it as a
    /// task that the registry tracks.
    case asyncPlain(@Sendable () async throws -> Void)
    case asyncHolding(AnyResourceBox)

    var isAsync: Bool {
        switch self {
        case .plain, .holding: false
        case .asyncPlain, .asyncHolding: true
        }
    }

    /// Runs a synchronous payload. (Callers start asynchronous ones as
    /// tasks instead; see `Finalizer.fire`.)
    @inline(__always)
    func run() throws {
        switch self {
        case .plain(let cleanup): try cleanup()
        case .holding(let box): try box.run()
        case .asyncPlain, .asyncHolding: preconditionFailure("an async cleanup must be awaited")
        }
    }

    /// Runs any payload, awaiting an asynchronous one.
    nonisolated(nonsending) func runAwaiting() async throws {
        switch self {
        case .plain(let cleanup): try cleanup()
        case .holding(let box): try box.run()
        case .asyncPlain(let cleanup): try await cleanup()
        case .asyncHolding(let box): try await box.runAsync()
        }
    }

    /// The resource, for a payload of a `Finalizer<Resource>`.
    @inline(__always)
    func resource<Resource: Sendable>(as type: Resource.Type) -> Resource {
        switch self {
        // Only `Finalizer<Void>` is ever created with `.plain` or `.asyncPlain`.
        case .plain, .asyncPlain: unsafeBitCast((), to: Resource.self)
        case .holding(let box): unsafeDowncast(box, to: ResourceBox<Resource>.self).resource
        case .asyncHolding(let box): unsafeDowncast(box, to: AsyncResourceBox<Resource>.self).resource
        }
    }
}

/// The type-erased resource box of a `holding:` registration.
class AnyResourceBox: @unchecked Sendable {
    func run() throws {}
    nonisolated(nonsending) func runAsync() async throws {}
}

/// A resource and the cleanup that releases it.
final class ResourceBox<Resource: Sendable>: AnyResourceBox, @unchecked Sendable {
    let resource: Resource
    let cleanup: @Sendable (Resource) throws -> Void

    init(_ resource: Resource, _ cleanup: consuming @escaping @Sendable (Resource) throws -> Void) {
        self.resource = resource
        self.cleanup = cleanup
    }

    override func run() throws {
        try cleanup(resource)
    }
}

/// A resource and the asynchronous cleanup that releases it.
final class AsyncResourceBox<Resource: Sendable>: AnyResourceBox, @unchecked Sendable {
    let resource: Resource
    let cleanup: @Sendable (Resource) async throws -> Void

    init(_ resource: Resource, _ cleanup: consuming @escaping @Sendable (Resource) async throws -> Void) {
        self.resource = resource
        self.cleanup = cleanup
    }

    override nonisolated(nonsending) func runAsync() async throws {
        try await cleanup(resource)
    }
}
