/// A handle to one asynchronous cleanup tied to the life of one owner
/// object: close a connection pool, flush a buffer, send a goodbye frame.
///
/// Lifetime: as for ``Finalizer``: the handle never keeps its owner alive,
/// and keeping it is optional (the owner's bag, or the registry for a
/// watched owner, keeps the finalizer until it runs or is detached). The
/// cleanup runs at most once, whichever trigger comes first: owner death,
/// a sweep, ``runNow()``, or a shutdown. A `deinit` cannot await, so owner
/// death, a sweep and a synchronous ``FinalizerRegistry/shutdown()`` (and
/// process exit) *start* the cleanup as a task that the registry tracks:
/// ``FinalizerRegistry/drain()`` returns once every such task has finished,
/// and `await` ``FinalizerRegistry/shutdown()`` awaits each cleanup in turn.
/// Errors of those triggers go to the registry's `onFailure` with the
/// registration site; ``runNow()`` rethrows.
///
/// Threading: every member may be called from any thread or task at any
/// time. The cleanup runs in a task of its own (on the global concurrent
/// executor), never on the thread that triggered it, so it must not need
/// the main actor if it may run at process exit (the main thread is then
/// busy exiting).
///
/// ```swift
/// let f = registry.finalize(pool) { () async throws in
///     try await connections.closeAll()
/// }
/// try await f.runNow()   // awaits the close; the pool's death later does nothing
/// ```
public struct AsyncFinalizer<Resource: Sendable>: Sendable {
    /// The underlying finalizer, whose payload is asynchronous.
    let base: Finalizer<Resource>

    init(_ base: Finalizer<Resource>) {
        self.base = base
    }

    /// Whether the cleanup is still pending: not started, not detached. A
    /// snapshot; false from the moment a trigger claims it, while it may
    /// still be running.
    public var isAlive: Bool { base.isAlive }

    /// What has happened to this finalizer: pending, ran (started, and by
    /// which trigger), or detached. A snapshot, like ``isAlive``.
    public var state: FinalizerState { base.state }

    /// Whether shutdown and process exit run this finalizer if it is still
    /// pending; false once it has run or was detached. Safe from any thread.
    public var runsAtExit: Bool {
        get { base.runsAtExit }
        nonmutating set { base.runsAtExit = newValue }
    }

    /// Cancels the cleanup and hands back the resource, if the finalizer is
    /// still pending and its owner is alive; nil otherwise (see
    /// ``Finalizer/detach()``).
    public func detach() -> Resource? {
        base.detach()
    }

    /// The owner (a new strong reference) and the resource, if the
    /// finalizer is pending and the owner is alive (see
    /// ``Finalizer/peek()``).
    public func peek() -> (owner: AnyObject, resource: Resource)? {
        base.peek()
    }

    /// Runs the cleanup now and awaits it, if it is still pending.
    ///
    /// The cleanup runs in a task of its own, tracked by the registry:
    /// cancelling the task that awaits `runNow()` does not cancel the
    /// cleanup, and `runNow()` still returns only once it has finished.
    ///
    /// - Returns: true if this call ran the cleanup; false if it had already
    ///   run (or is running), was detached, or another trigger took it.
    /// - Throws: the cleanup's own error (not also sent to `onFailure`).
    @discardableResult
    public func runNow() async throws -> Bool {
        guard let (payload, word) = base.claim(.runNow, requiringExitFlag: false) else { return false }
        try await base.startTracked(payload, word, trigger: .runNow, reporting: false).value
        return true
    }
}

extension FinalizerRegistry {
    /// Registers an asynchronous `cleanup` to run once when the host `owner`
    /// dies (started as a task inside its last release), or earlier by
    /// ``AsyncFinalizer/runNow()`` or a shutdown.
    ///
    /// Lifetime and threading: as for the synchronous
    /// ``finalize(_:runsAtExit:fileID:line:_:)-(Owner,_,_,_,_)``, except that
    /// the cleanup runs in a task the registry tracks (see
    /// ``AsyncFinalizer``). A closure without `await` picks the synchronous
    /// overload; this one is chosen when the closure awaits, or is
    /// annotated `() async throws in`.
    ///
    /// - Parameters:
    ///   - owner: the object whose death starts the cleanup. Not retained.
    ///   - runsAtExit: whether shutdown and process exit run it while
    ///     still pending.
    ///   - fileID: the call site's `#fileID`, for diagnostics; leave the default.
    ///   - line: the call site's line, for diagnostics; leave the default.
    ///   - cleanup: runs at most once; must not capture `owner`.
    /// - Returns: the handle, which you may ignore.
    @discardableResult
    public func finalize<Owner: FinalizerHost>(
        _ owner: Owner, runsAtExit: Bool = true,
        fileID: StaticString = #fileID, line: Int = #line,
        _ cleanup: consuming @escaping @Sendable () async throws -> Void
    ) -> AsyncFinalizer<Void> {
        AsyncFinalizer(_core.registerHost(
            owner: owner, bag: owner.finalizers, runsAtExit: runsAtExit,
            payload: .asyncPlain(consume cleanup), site: _RegistrationSite(fileID: fileID, line: line)))
    }

    /// Registers an asynchronous `cleanup` to run once when `owner` dies: a
    /// host owner's starts inside its last release, any other owner's at
    /// the first sweep that finds it dead; or earlier by
    /// ``AsyncFinalizer/runNow()`` or a shutdown.
    ///
    /// Lifetime and threading: as for the synchronous `AnyObject` overload,
    /// except that the cleanup runs in a task the registry tracks (see
    /// ``AsyncFinalizer``).
    ///
    /// - Parameters:
    ///   - owner: any class instance. Not retained.
    ///   - runsAtExit: whether shutdown and process exit run it while
    ///     still pending.
    ///   - fileID: the call site's `#fileID`, for diagnostics; leave the default.
    ///   - line: the call site's line, for diagnostics; leave the default.
    ///   - cleanup: runs at most once; must not capture `owner`.
    /// - Returns: the handle, which you may ignore.
    @_disfavoredOverload
    @discardableResult
    public func finalize(
        _ owner: AnyObject, runsAtExit: Bool = true,
        fileID: StaticString = #fileID, line: Int = #line,
        _ cleanup: consuming @escaping @Sendable () async throws -> Void
    ) -> AsyncFinalizer<Void> {
        AsyncFinalizer(_core.register(
            owner: owner, runsAtExit: runsAtExit,
            payload: .asyncPlain(consume cleanup), site: _RegistrationSite(fileID: fileID, line: line)))
    }

    /// Registers an asynchronous `cleanup` to run once with `resource` when
    /// the host `owner` dies, or earlier by ``AsyncFinalizer/runNow()`` or a
    /// shutdown; ``AsyncFinalizer/detach()`` hands the resource back.
    ///
    /// Lifetime and threading: as for the synchronous `holding:` overload,
    /// except that the cleanup runs in a task the registry tracks (see
    /// ``AsyncFinalizer``).
    ///
    /// - Parameters:
    ///   - owner: the object whose death starts the cleanup. Not retained.
    ///   - resource: what the cleanup releases; held strongly until the
    ///     cleanup runs or is detached. Must not be `owner`.
    ///   - runsAtExit: whether shutdown and process exit run it while
    ///     still pending.
    ///   - fileID: the call site's `#fileID`, for diagnostics; leave the default.
    ///   - line: the call site's line, for diagnostics; leave the default.
    ///   - cleanup: receives `resource`; runs at most once.
    /// - Returns: the handle, which you may ignore.
    @discardableResult
    public func finalize<Owner: FinalizerHost, Resource: Sendable>(
        _ owner: Owner, holding resource: Resource, runsAtExit: Bool = true,
        fileID: StaticString = #fileID, line: Int = #line,
        _ cleanup: consuming @escaping @Sendable (Resource) async throws -> Void
    ) -> AsyncFinalizer<Resource> {
        let site = _RegistrationSite(fileID: fileID, line: line)
        _core.checkResource(resource, owner: owner, runsAtExit: runsAtExit, site: site)
        return AsyncFinalizer(_core.registerHost(
            owner: owner, bag: owner.finalizers, runsAtExit: runsAtExit,
            payload: .asyncHolding(AsyncResourceBox(resource, consume cleanup)), site: site))
    }

    /// Registers an asynchronous `cleanup` to run once with `resource` when
    /// `owner` dies (host owners at their release, others at the first sweep
    /// that finds them dead), or earlier by ``AsyncFinalizer/runNow()`` or a
    /// shutdown.
    ///
    /// Lifetime and threading: as for the synchronous `holding:` overload,
    /// except that the cleanup runs in a task the registry tracks (see
    /// ``AsyncFinalizer``).
    ///
    /// - Parameters:
    ///   - owner: any class instance. Not retained.
    ///   - resource: what the cleanup releases; held strongly until the
    ///     cleanup runs or is detached. Must not be `owner`.
    ///   - runsAtExit: whether shutdown and process exit run it while
    ///     still pending.
    ///   - fileID: the call site's `#fileID`, for diagnostics; leave the default.
    ///   - line: the call site's line, for diagnostics; leave the default.
    ///   - cleanup: receives `resource`; runs at most once.
    /// - Returns: the handle, which you may ignore.
    @_disfavoredOverload
    @discardableResult
    public func finalize<Resource: Sendable>(
        _ owner: AnyObject, holding resource: Resource, runsAtExit: Bool = true,
        fileID: StaticString = #fileID, line: Int = #line,
        _ cleanup: consuming @escaping @Sendable (Resource) async throws -> Void
    ) -> AsyncFinalizer<Resource> {
        let site = _RegistrationSite(fileID: fileID, line: line)
        _core.checkResource(resource, owner: owner, runsAtExit: runsAtExit, site: site)
        return AsyncFinalizer(_core.register(
            owner: owner, runsAtExit: runsAtExit,
            payload: .asyncHolding(AsyncResourceBox(resource, consume cleanup)), site: site))
    }
}

// MARK: - The shared registry

/// Registers an asynchronous `cleanup` on the host `owner`, in the shared
/// registry; see ``FinalizerRegistry/finalize(_:runsAtExit:fileID:line:_:)-(Owner,_,_,_,()async->Void)``.
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
