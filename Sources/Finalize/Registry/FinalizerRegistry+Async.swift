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
        AsyncFinalizer(
            _core.registerHost(
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
        AsyncFinalizer(
            _core.register(
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
        return AsyncFinalizer(
            _core.registerHost(
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
        return AsyncFinalizer(
            _core.register(
                owner: owner, runsAtExit: runsAtExit,
                payload: .asyncHolding(AsyncResourceBox(resource, consume cleanup)), site: site))
    }
}
