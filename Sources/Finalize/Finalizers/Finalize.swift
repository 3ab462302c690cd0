/// Registers `cleanup` to run once when the host `owner` dies, in the shared
/// registry.
///
/// Lifetime: the cleanup runs at most once: synchronously inside the owner's
/// last release (trigger ``FinalizerTrigger/ownerDeinit``), or earlier
/// through ``Finalizer/runNow()``, or at process exit if `runsAtExit` is
/// true and it is still pending. The owner's bag keeps the finalizer, so the
/// returned handle may be dropped.
///
/// Threading: call it from any thread. The cleanup runs on the thread that
/// releases the owner's last strong reference (or the thread that calls
/// `runNow()`, or exits). This overload is chosen statically for a
/// ``FinalizerHost`` owner, with no dynamic cast.
///
/// ```swift
/// final class Session: FinalizerHost {
///     let finalizers = FinalizerBag()
///     init(id: Int) {
///         finalize(self) { print("session \(id) closed") }   // captures id, not self
///     }
/// }
/// ```
///
/// - Parameters:
///   - owner: the object whose death runs the cleanup. Never retained.
///   - runsAtExit: whether process exit runs it while still pending.
///   - fileID: the call site's `#fileID`, recorded for diagnostics
///     (``FinalizerRegistry/pending``, ``FinalizerFailure``); leave the default.
///   - line: the call site's line, recorded with `fileID`; leave the default.
///   - cleanup: runs at most once. Never capture `owner` in it: the owner
///     would never die. For non-`Sendable` owners the compiler rejects the
///     capture; for `Sendable` owners it cannot, so take care, and use
///     ``FinalizerRegistry/pending`` to find such leaks.
/// - Returns: the handle; ignoring it is fine.
@inlinable
@discardableResult
public func finalize<Owner: FinalizerHost>(
    _ owner: Owner, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable () throws -> Void
) -> Finalizer<Void> {
    FinalizerRegistry.shared.finalize(owner, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

/// Registers `cleanup` to run once when `owner` dies, in the shared registry.
///
/// Lifetime: a ``FinalizerHost`` owner runs it inside its last release. Any
/// other object is *watched*: the cleanup runs at the first sweep that finds
/// the owner dead (the shared registry's sweeper ticks every 100 ms while it
/// watches anything: young owners within about 200 ms of their death, old
/// ones paced by the sweep's cost; trigger ``FinalizerTrigger/sweep``), or
/// earlier through
/// ``Finalizer/runNow()``, or at process exit if `runsAtExit` is true. The
/// registry keeps a watched finalizer until it runs or is detached, so the
/// returned handle may be dropped.
///
/// Threading: call it from any thread. A watched owner's cleanup runs on
/// whichever thread finds the owner dead first: the registry's sweeper
/// thread, a thread calling ``FinalizerRegistry/sweep()`` or
/// ``FinalizerRegistry/shutdown()``, or a thread that registers another
/// watched owner (registration sweeps now and then, and runs the due
/// cleanups inside that `finalize` call). Make no assumption about the
/// thread, and do not register a watched owner while holding a lock that a
/// watched cleanup may take.
///
/// ```swift
/// let image = Image(width: 512, height: 512)
/// finalize(image) { print("image freed") }
/// ```
///
/// - Parameters:
///   - owner: any class instance. Never retained.
///   - runsAtExit: whether process exit runs it while still pending.
///   - fileID: the call site's `#fileID`, recorded for diagnostics
///     (``FinalizerRegistry/pending``, ``FinalizerFailure``); leave the default.
///   - line: the call site's line, recorded with `fileID`; leave the default.
///   - cleanup: runs at most once; must not capture `owner`.
/// - Returns: the handle; ignoring it is fine.
@_disfavoredOverload
@discardableResult
public func finalize(
    _ owner: AnyObject, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable () throws -> Void
) -> Finalizer<Void> {
    FinalizerRegistry.shared.finalize(owner, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

/// Registers `cleanup` to run once with `resource` when the host `owner`
/// dies, in the shared registry.
///
/// Lifetime: as for the resource-less host form: at most once, inside the owner's last release, or earlier by `runNow()`,
/// or at exit. `resource` is what the cleanup frees, so the closure need not
/// capture the owner; ``Finalizer/detach()`` hands it back instead. The
/// resource is held strongly until the cleanup runs or is detached: passing
/// the owner itself as the resource (`holding: self`) would keep it alive
/// forever, so that registration is diagnosed on standard error (once per
/// call site); its cleanup then runs only by `runNow()` or, with
/// `runsAtExit`, at exit.
///
/// Threading: call it from any thread; the cleanup runs inside the owner's
/// last release, on the releasing thread.
///
/// ```swift
/// final class Connection: FinalizerHost {
///     let finalizers = FinalizerBag()
///     init(fd: Int32) {
///         finalize(self, holding: fd) { close($0) }
///     }
/// }
/// ```
///
/// - Parameters:
///   - owner: the object whose death runs the cleanup. Never retained.
///   - resource: what the cleanup releases. Must not be `owner`.
///   - runsAtExit: whether process exit runs it while still pending.
///   - fileID: the call site's `#fileID`, recorded for diagnostics; leave the default.
///   - line: the call site's line; leave the default.
///   - cleanup: receives `resource`; runs at most once. Never capture `owner`.
/// - Returns: the handle; ignoring it is fine (the owner's bag keeps the
///   finalizer).
@discardableResult
public func finalize<Owner: FinalizerHost, Resource: Sendable>(
    _ owner: Owner, holding resource: Resource, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable (Resource) throws -> Void
) -> Finalizer<Resource> {
    FinalizerRegistry.shared.finalize(
        owner, holding: resource, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

/// Registers `cleanup` to run once with `resource` when `owner` dies, in the
/// shared registry: host owners at their release, others at the next sweep.
///
/// Lifetime: as the resource-less form for any owner, and the resource as
/// in the host form: held strongly until the cleanup runs or
/// ``Finalizer/detach()`` hands it back; `holding: owner` is diagnosed.
///
/// Threading: call it from any thread. For a watched owner the cleanup runs
/// on whichever thread finds the owner dead first (the sweeper, a caller of
/// `sweep()` or `shutdown()`, or another watched registration), as for the
/// resource-less form.
///
/// ```swift
/// let buffer = Buffer(count: 4096)
/// finalize(buffer, holding: buffer.handle) { $0.release() }
/// ```
///
/// - Parameters:
///   - owner: any class instance. Never retained.
///   - resource: what the cleanup releases. Must not be `owner`.
///   - runsAtExit: whether process exit runs it while still pending.
///   - fileID: the call site's `#fileID`, recorded for diagnostics; leave the default.
///   - line: the call site's line; leave the default.
///   - cleanup: receives `resource`; runs at most once. Never capture `owner`.
/// - Returns: the handle; ignoring it is fine.
@_disfavoredOverload
@discardableResult
public func finalize<Resource: Sendable>(
    _ owner: AnyObject, holding resource: Resource, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable (Resource) throws -> Void
) -> Finalizer<Resource> {
    FinalizerRegistry.shared.finalize(
        owner, holding: resource, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

// MARK: - Asynchronous cleanups

/// Registers an asynchronous `cleanup` on the host `owner`, in the shared
/// registry; see ``FinalizerRegistry/finalize(_:runsAtExit:fileID:line:_:)``.
///
/// Lifetime and threading: started as a tracked task inside the owner's
/// last release (see ``AsyncFinalizer``); at most once.
///
/// - Parameters:
///   - owner: the object whose death starts the cleanup. Never retained.
///   - runsAtExit: whether process exit runs it while still pending.
///   - fileID: the call site's `#fileID`, for diagnostics; leave the default.
///   - line: the call site's line, for diagnostics; leave the default.
///   - cleanup: runs at most once; must not capture `owner`.
/// - Returns: the handle; ignoring it is fine.
@discardableResult
public func finalize<Owner: FinalizerHost>(
    _ owner: Owner, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable () async throws -> Void
) -> AsyncFinalizer<Void> {
    FinalizerRegistry.shared.finalize(owner, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

/// Registers an asynchronous `cleanup` on any `owner`, in the shared
/// registry.
///
/// Lifetime and threading: a host owner's cleanup starts inside its last
/// release, any other owner's at the first sweep that finds it dead, as a
/// tracked task (see ``AsyncFinalizer``); at most once.
///
/// - Parameters:
///   - owner: any class instance. Never retained.
///   - runsAtExit: whether process exit runs it while still pending.
///   - fileID: the call site's `#fileID`, for diagnostics; leave the default.
///   - line: the call site's line, for diagnostics; leave the default.
///   - cleanup: runs at most once; must not capture `owner`.
/// - Returns: the handle; ignoring it is fine.
@_disfavoredOverload
@discardableResult
public func finalize(
    _ owner: AnyObject, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable () async throws -> Void
) -> AsyncFinalizer<Void> {
    FinalizerRegistry.shared.finalize(owner, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

/// Registers an asynchronous `cleanup` with `resource` on the host `owner`,
/// in the shared registry.
///
/// Lifetime and threading: started as a tracked task inside the owner's
/// last release (see ``AsyncFinalizer``); at most once; `detach()` hands
/// the resource back.
///
/// - Parameters:
///   - owner: the object whose death starts the cleanup. Never retained.
///   - resource: what the cleanup releases. Must not be `owner`.
///   - runsAtExit: whether process exit runs it while still pending.
///   - fileID: the call site's `#fileID`, for diagnostics; leave the default.
///   - line: the call site's line, for diagnostics; leave the default.
///   - cleanup: receives `resource`; runs at most once.
/// - Returns: the handle; ignoring it is fine.
@discardableResult
public func finalize<Owner: FinalizerHost, Resource: Sendable>(
    _ owner: Owner, holding resource: Resource, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable (Resource) async throws -> Void
) -> AsyncFinalizer<Resource> {
    FinalizerRegistry.shared.finalize(
        owner, holding: resource, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

/// Registers an asynchronous `cleanup` with `resource` on any `owner`, in
/// the shared registry.
///
/// Lifetime and threading: a host owner's cleanup starts inside its last
/// release, any other owner's at the first sweep that finds it dead, as a
/// tracked task (see ``AsyncFinalizer``); at most once.
///
/// - Parameters:
///   - owner: any class instance. Never retained.
///   - resource: what the cleanup releases. Must not be `owner`.
///   - runsAtExit: whether process exit runs it while still pending.
///   - fileID: the call site's `#fileID`, for diagnostics; leave the default.
///   - line: the call site's line, for diagnostics; leave the default.
///   - cleanup: receives `resource`; runs at most once.
/// - Returns: the handle; ignoring it is fine.
@_disfavoredOverload
@discardableResult
public func finalize<Resource: Sendable>(
    _ owner: AnyObject, holding resource: Resource, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable (Resource) async throws -> Void
) -> AsyncFinalizer<Resource> {
    FinalizerRegistry.shared.finalize(
        owner, holding: resource, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}
