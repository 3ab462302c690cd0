/// Registration: a new finalizer joins its owner's bag (a host owner) or a
/// shard's watched table (any other owner), numbered in registration order.
extension _RegistryCore {
    /// The entry point of the inlinable host overloads: the client passes
    /// the owner's bag borrowed, straight from its stored property.
    @usableFromInline
    func _registerHost(
        owner: AnyObject, bag: borrowing FinalizerBag, runsAtExit: Bool,
        cleanup: consuming @escaping @Sendable () throws -> Void, site: _RegistrationSite
    ) -> Finalizer<Void> {
        registerHost(owner: owner, bag: bag, runsAtExit: runsAtExit, payload: .plain(consume cleanup), site: site)
    }

    /// Registers on a host owner: the finalizer takes a slot in the exit log
    /// of the calling thread's shard (see `currentProcessor()`) and goes to
    /// the owner's bag.
    @inline(__always)
    func registerHost<Resource>(
        owner: AnyObject, bag: borrowing FinalizerBag, runsAtExit: Bool,
        payload: consuming CleanupPayload, site: _RegistrationSite
    ) -> Finalizer<Resource> {
        if UnownedOwner.isDeallocating(owner) {
            return runOnDeallocatingOwner(owner: owner, runsAtExit: runsAtExit, payload: consume payload, site: site)
        }
        let finalizer: Finalizer<Resource> = makeHostFinalizer(
            owner: owner, runsAtExit: runsAtExit, payload: consume payload, site: site)
        bag.add(Unmanaged.passRetained(finalizer.erased))
        return finalizer
    }

    /// A new pending host finalizer, numbered and in the exit log (not yet
    /// in a bag).
    @inline(__always)
    private func makeHostFinalizer<Resource>(
        owner: AnyObject, runsAtExit: Bool, payload: consuming CleanupPayload, site: _RegistrationSite
    ) -> Finalizer<Resource> {
        let shardIndex = currentProcessor() & shardMask
        // The counter's line may sit in another processor's cache (threads
        // registering at once all write it): ask for it now, so that it
        // travels while the finalizer is allocated, not under the lock
        // (see `RegistrationCounter.prefetch()`).
        counter.prefetch()
        let finalizer = Finalizer<Resource>(
            owner: UnownedOwner(uncounted: owner), fileID: site.file,
            status: StatusWord(runsAtExit: runsAtExit, watched: false, shard: shardIndex, line: site.lineNumber),
            payload: consume payload)
        let erased = Unmanaged.passUnretained(finalizer.erased)
        shards.unmanagedShard(shardIndex)._withUnsafeGuaranteedRef { $0.enterHost(erased) }
        return finalizer
    }

    /// Registers on any owner: a host owner (found at run time, through the
    /// per-class cache) goes to its bag, any other is watched.
    @inline(__always)
    func register<Resource>(
        owner: AnyObject, runsAtExit: Bool, payload: consuming CleanupPayload, site: _RegistrationSite
    ) -> Finalizer<Resource> {
        if UnownedOwner.isDeallocating(owner) {
            return runOnDeallocatingOwner(owner: owner, runsAtExit: runsAtExit, payload: consume payload, site: site)
        }
        if let host = HostTypeCache.accessor(for: owner) {
            let finalizer: Finalizer<Resource> = makeHostFinalizer(
                owner: owner, runsAtExit: runsAtExit, payload: consume payload, site: site)
            host.add(Unmanaged.passRetained(finalizer.erased), toBagOf: owner)
            return finalizer
        }
        // The watched entry, not the finalizer, holds the owner's count; the
        // finalizer points to its shard without holding it (see
        // `Finalizer.home`).
        let shardIndex = currentProcessor() & shardMask
        counter.prefetch()
        let shard = shards.unmanagedShard(shardIndex)
        let finalizer = Finalizer<Resource>(
            owner: UnownedOwner(uncounted: owner), fileID: site.file,
            status: StatusWord(runsAtExit: runsAtExit, watched: true, shard: shardIndex, line: site.lineNumber),
            payload: consume payload)
        finalizer.home = shard.toOpaque()
        let entry = WatchedEntry(counting: owner, finalizer: finalizer.erased)
        let due = shard._withUnsafeGuaranteedRef { $0.appendWatched(entry, finalizer.erased) }
        if sweeper.idle.load(ordering: .sequentiallyConsistent) { sweeper.wake(core: self) }
        if !due.isEmpty { _ = runDue(due) }
        return finalizer
    }

    /// Misuse, handled: the owner is already in its deinit. Run the cleanup
    /// now (as its death would) and hand back a dead finalizer.
    @inline(never)
    private func runOnDeallocatingOwner<Resource>(
        owner: AnyObject, runsAtExit: Bool, payload: consuming CleanupPayload, site: _RegistrationSite
    ) -> Finalizer<Resource> {
        let finalizer = Finalizer<Resource>(
            owner: UnownedOwner(uncounted: owner), fileID: site.file,
            status: StatusWord(runsAtExit: runsAtExit, watched: false, shard: 0, line: site.lineNumber)
                .ran(.ownerDeinit),
            payload: nil)
        do {
            try payload.run()
        } catch {
            report(FinalizerFailure(error: error, trigger: .ownerDeinit, fileID: site.fileID, line: site.lineNumber))
        }
        return finalizer
    }

    /// Misuse, diagnosed (Go's `AddCleanup` panics on it, JavaScript's
    /// `register` throws): the resource is the owner itself. The finalizer
    /// then holds its owner strongly, so the owner can never be
    /// deinitialized: the cleanup runs only by `runNow()` or, with
    /// `runsAtExit`, at shutdown; without it, never. It is registered as
    /// asked, with one warning per registration site.
    ///
    /// Detected when the resource's type is a class or `AnyObject` (the
    /// common `holding: self`); a resource that wraps the owner (an
    /// optional, a protocol existential, a struct field) is not looked into.
    @inline(__always)
    func checkResource<Resource>(
        _ resource: Resource, owner: AnyObject, runsAtExit: Bool, site: _RegistrationSite
    ) {
        // A class instance, or an `AnyObject` existential (one word: the
        // object). Both tests fold away for a value type once specialized.
        if Resource.self is AnyObject.Type || ObjectIdentifier(Resource.self) == ObjectIdentifier(AnyObject.self),
            unsafeBitCast(resource, to: AnyObject.self) === owner
        {
            warnResourceIsOwner(owner, runsAtExit: runsAtExit, site: site)
        }
    }

    @inline(never)
    private func warnResourceIsOwner(_ owner: AnyObject, runsAtExit: Bool, site: _RegistrationSite) {
        guard warnedSites.insert(site) else { return }
        let ownerType = _typeName(type(of: owner), qualified: false)
        let consequence =
            runsAtExit
            ? "the cleanup runs only by runNow() or shutdown()"
            : "with runsAtExit false the cleanup runs only by runNow(), and otherwise never"
        diagnose(
            "Finalize: warning: the finalizer registered at \(site.fileID):\(site.lineNumber) holds its owner "
                + "(\(ownerType)) as its resource, so the owner can never be deinitialized and \(consequence); "
                + "pass what the cleanup needs instead of the owner")
    }
}
