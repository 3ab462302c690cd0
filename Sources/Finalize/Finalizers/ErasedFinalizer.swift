/// A finalizer as the registry tables and bags hold it, whatever its
/// `Resource`: the `Finalizer<Void>` view of it.
///
/// No stored property of `Finalizer` depends on `Resource` (see its layout
/// note), and nothing the registry does with a finalizer (number it, claim
/// it, run it, report it, detach it) touches a `Resource`: `CleanupPayload` runs a
/// holding cleanup through its own box. So a `Finalizer<R>` is held and used
/// as a `Finalizer<Void>`: one word, no existential, no witness-table call.
/// Releasing it through this view deinitializes the real object (its own
/// class metadata does that). `Finalizer<R>.erased` makes the view.
///
/// Never call `detach()`, `peek()` or anything that reads the resource
/// (`CleanupPayload.resource(as:)`) through this view: for a `holding:` finalizer
/// it would reinterpret a `ResourceBox<R>` as a `ResourceBox<Void>`. Only
/// the members of the extension below, which never touch a resource, are
/// meant for it.
typealias ErasedFinalizer = Finalizer<Void>

extension Finalizer {
    /// This finalizer seen as `ErasedFinalizer` (the same object).
    @inline(__always)
    var erased: ErasedFinalizer {
        Unmanaged<ErasedFinalizer>.fromOpaque(Unmanaged.passUnretained(self).toOpaque()).takeUnretainedValue()
    }

    /// Pending right now (a snapshot).
    var isPendingNow: Bool { isAlive }

    /// Pending with runsAtExit set (a snapshot).
    var isPendingAtExit: Bool {
        let word = StatusWord(raw: statusWord.load(ordering: .relaxed))
        return word.isPending && word.runsAtExit
    }

    /// Claims and runs the cleanup for `trigger`; a thrown error goes to the
    /// registry's failure handler. True if this call ran it.
    ///
    /// An asynchronous cleanup (of an ``AsyncFinalizer``) is started as a
    /// task that its registry tracks (`drain()` waits for it); its error
    /// goes to the failure handler when it ends.
    func fire(_ trigger: FinalizerTrigger, requiringExitFlag: Bool) -> Bool {
        guard let (payload, word) = claim(trigger, requiringExitFlag: requiringExitFlag) else { return false }
        runClaimed(payload, word, trigger: trigger)
        return true
    }

    /// Runs what this thread claimed for `trigger` (see `fire`).
    @inline(__always)
    func runClaimed(_ payload: consuming CleanupPayload, _ word: StatusWord, trigger: FinalizerTrigger) {
        if payload.isAsync {
            startTracked(payload, trigger: trigger, reporting: true)
        } else {
            runReporting(payload, word, trigger: trigger)
        }
    }

    /// Claims for `trigger` and runs the cleanup, awaiting it if it is
    /// asynchronous; its error goes to the failure handler. True if this
    /// call ran it. The cleanup runs in a task of its own, tracked by the
    /// registry, so cancelling the caller does not cancel it.
    func fireAwaiting(_ trigger: FinalizerTrigger, requiringExitFlag: Bool) async -> Bool {
        guard let (payload, word) = claim(trigger, requiringExitFlag: requiringExitFlag) else { return false }
        if payload.isAsync {
            _ = await startTracked(payload, trigger: trigger, reporting: true).result
        } else {
            runReporting(payload, word, trigger: trigger)
        }
        return true
    }

    /// Runs a claimed synchronous payload; its error goes to the failure
    /// handler. Then settles the finalizer.
    private func runReporting(_ payload: CleanupPayload, _ word: StatusWord, trigger: FinalizerTrigger) {
        do {
            try payload.run()
        } catch {
            let site = registrationSite
            registryCore.report(FinalizerFailure(error: error, trigger: trigger, fileID: site.fileID, line: site.line))
        }
        settle(word)
    }

    /// Starts a claimed asynchronous payload as a task the registry
    /// tracks; the task settles the finalizer when the cleanup ends, and
    /// reports its error (with `reporting`) or hands it to whoever awaits
    /// the task.
    ///
    /// The task starts *immediately* where the platform has it
    /// (`Task.immediate`): the cleanup runs on the calling thread until its
    /// first suspension, then on the global concurrent executor. A cleanup
    /// that does not suspend costs no thread hop at all.
    ///
    /// The claimed payload goes back into `storedPayload` for the task to
    /// take: once claimed, nothing else reads that field, and the task's
    /// closure then captures the finalizer alone, which Swift passes as the
    /// closure's context without allocating one. The trigger and the
    /// watched bit are in the status word from the claim on.
    ///
    /// Never inlined: its task machinery (a generic metadata lookup and a
    /// dynamically sized stack slot for `Task.immediate`'s arguments) would
    /// otherwise sit on every synchronous claim path that calls it.
    @discardableResult @inline(never)
    func startTracked(
        _ payload: consuming CleanupPayload, trigger: FinalizerTrigger, reporting: Bool
    ) -> Task<Void, any Error> {
        internalCheck(
            StatusWord(raw: statusWord.load(ordering: .relaxed)).state == .ran(trigger),
            "an async cleanup starts only after its claim")
        // A host finalizer's slot keeps the core until `settle`; a watched
        // finalizer keeps it itself from here on, since its task may start
        // after the registry has ended. The task keeps its own reference
        // from its start.
        if StatusWord(raw: statusWord.load(ordering: .relaxed)).isWatched { keepCore() }
        registryCore.asyncCleanups.started()
        storedPayload = payload
        let erased = erased
        // One literal per `reporting` value: each captures the finalizer
        // alone (capturing the flag too would allocate a context).
        if #available(macOS 26.0, iOS 26.0, tvOS 26.0, watchOS 26.0, visionOS 26.0, *) {
            if reporting {
                return Task.immediate { try await erased.runStartedCleanup(reporting: true) }
            }
            return Task.immediate { try await erased.runStartedCleanup(reporting: false) }
        }
        if reporting {
            return Task { try await erased.runStartedCleanup(reporting: true) }
        }
        return Task { try await erased.runStartedCleanup(reporting: false) }
    }

    /// The body of the task `startTracked` starts: runs the payload put
    /// back for it, settles the finalizer and counts the cleanup out.
    private nonisolated(nonsending) func runStartedCleanup(reporting: Bool) async throws {
        let core = registryCore
        let payload = storedPayload.take().unsafelyUnwrapped
        // The status word's watched bit never changes; `settle` needs no more.
        let word = StatusWord(raw: statusWord.load(ordering: .relaxed))
        defer {
            settle(word)
            core.asyncCleanups.finished()
        }
        do {
            try await payload.runAwaiting()
        } catch {
            guard reporting else { throw error }
            let site = registrationSite
            let trigger: FinalizerTrigger =
                switch StatusWord(raw: statusWord.load(ordering: .relaxed)).state {
                case .ran(let trigger): trigger
                case .pending, .detached: .runNow
                }
            core.report(FinalizerFailure(error: error, trigger: trigger, fileID: site.fileID, line: site.line))
        }
    }

    /// A diagnostic snapshot, or nil if no longer pending.
    func info() -> FinalizerInfo? {
        guard acquireBusy() else { return nil }
        let word = StatusWord(raw: statusWord.load(ordering: .relaxed))
        // No strong reference: dropping the owner's last one here would run
        // its deinit on this thread, and its bag's claim of this very
        // finalizer would wait for `busy` forever. The unowned count keeps
        // the object's memory (and so its type) valid, dying or not.
        let typeName =
            unownedOwner.isDeallocating
            ? "<deallocated>"
            : Unmanaged<AnyObject>.fromOpaque(unownedOwner.pointer)._withUnsafeGuaranteedRef {
                _typeName(type(of: $0), qualified: false)
            }
        releaseBusy()
        return FinalizerInfo(
            fileID: registrationSite.fileID, line: registrationSite.line, ownerType: typeName,
            runsAtExit: word.runsAtExit)
    }

    /// Detaches without handing anything back (the registry is going away).
    func abandon() {
        _ = detachPayload(onlyIfOwnerAlive: false)
    }
}
