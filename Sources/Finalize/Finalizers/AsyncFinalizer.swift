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
/// time. The cleanup runs in a task of its own, not isolated to any actor:
/// where the platform has `Task.immediate`, it starts on the thread that
/// triggered it and continues on the global concurrent executor after its
/// first suspension (elsewhere it starts there). It must not need the main
/// actor if it may run at process exit (the main thread is then busy
/// exiting).
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
        guard let (payload, _) = base.claim(.runNow, requiringExitFlag: false) else { return false }
        try await base.startTracked(payload, trigger: .runNow, reporting: false).value
        return true
    }
}
