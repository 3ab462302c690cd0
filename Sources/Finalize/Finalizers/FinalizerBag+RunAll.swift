extension FinalizerBag {
    /// Runs the owner's pending finalizers now, newest registration first:
    /// the body of an explicit `close()` whose safety net is the owner's
    /// death.
    ///
    /// Lifetime: you reach the bag through its owner (`finalizers.runAll()`
    /// in one of the owner's methods, or `owner.finalizers.runAll()`), so the
    /// owner is alive for the whole call, and the call does not end its life.
    /// Each finalizer that runs moves to `.ran(.runNow)`, so the owner's
    /// death later finds nothing to do for it. The call runs what is pending
    /// when it starts; a finalizer registered meanwhile (by another thread,
    /// or by one of the cleanups) stays pending and runs at the next call or
    /// at the owner's death. Calling it again, or on an empty bag, runs only
    /// what was registered since, or nothing.
    ///
    /// Threading: the synchronous cleanups run on the calling thread, before
    /// the call returns. Safe from any thread, concurrently with
    /// registrations, other calls and every other trigger: each cleanup runs
    /// once, and one that another trigger has claimed (or a detached one) is
    /// skipped. No lock is held while a cleanup runs, so a cleanup may
    /// register finalizers, run or detach them, or call `runAll()` itself.
    ///
    /// Errors: every cleanup runs, even when an earlier one throws. If none
    /// throws, the call returns normally; if one throws, its error is
    /// rethrown unchanged; if several throw, ``CleanupErrors`` lists them in
    /// the order they happened (newest registration first). The errors are
    /// not also sent to the registry's `onFailure`, as with
    /// ``Finalizer/runNow()``.
    ///
    /// Asynchronous finalizers: this synchronous form cannot await, so it
    /// starts each pending ``AsyncFinalizer`` cleanup, in its turn, as a task
    /// that its registry tracks, as the owner's death and the synchronous
    /// ``FinalizerRegistry/shutdown()`` do. Such a cleanup may still be
    /// running when the call returns (``FinalizerRegistry/drain()`` waits for
    /// it), and its error goes to its registry's `onFailure`. In async code,
    /// `try await finalizers.runAll()` awaits every cleanup and rethrows
    /// every error.
    ///
    /// ```swift
    /// final class Connection: FinalizerHost {
    ///     let finalizers = FinalizerBag()
    ///
    ///     init(fd: CInt) {
    ///         // The safety net; closeDescriptor(_:) calls close(2) and throws its error.
    ///         finalize(self, holding: fd, closeDescriptor)
    ///     }
    ///
    ///     func close() throws {
    ///         try finalizers.runAll()   // closes now; the owner's death then does nothing
    ///     }
    /// }
    /// ```
    ///
    /// - Throws: the one error a cleanup threw, unchanged; or
    ///   ``CleanupErrors`` with every error, when several cleanups threw.
    public func runAll() throws {
        var errors: [any Error] = []
        let (single, several) = pendingSnapshot()
        if let single {
            Self.runClaimed(single, collectingErrorsIn: &errors)
        } else {
            for finalizer in several { Self.runClaimed(finalizer, collectingErrorsIn: &errors) }
        }
        try Self.throwIfAny(errors)
    }

    /// Runs the owner's pending finalizers now, newest registration first,
    /// awaiting each asynchronous cleanup before the next.
    ///
    /// Lifetime: as for the synchronous ``runAll()``: the owner stays alive
    /// for the whole call (you reach the bag through it), each finalizer that
    /// runs moves to `.ran(.runNow)`, and finalizers registered meanwhile stay
    /// pending.
    ///
    /// Threading: callable from any task, concurrently with every other
    /// trigger; each cleanup runs once. Synchronous cleanups run on the
    /// calling task; each asynchronous one runs in a task of its own, tracked
    /// by its registry, and the call returns only once it has finished.
    /// Cancelling the calling task cancels none of them.
    ///
    /// Errors: every cleanup runs, even when an earlier one throws. One error
    /// is rethrown unchanged; several are thrown as ``CleanupErrors``, in the
    /// order they happened (newest registration first). None goes to the
    /// registry's `onFailure`.
    ///
    /// In an `async` context Swift picks this overload over the synchronous
    /// ``runAll()``, and asks for `await`: async code cannot leave an
    /// asynchronous cleanup running by accident.
    ///
    /// ```swift
    /// final class Pool: FinalizerHost {
    ///     let finalizers = FinalizerBag()
    ///
    ///     init(connections: Connections) {   // a Sendable class with `closeAll() async throws`
    ///         finalize(self, holding: connections) { try await $0.closeAll() }
    ///     }
    ///
    ///     func close() async throws {
    ///         try await finalizers.runAll()   // awaits closeAll()
    ///     }
    /// }
    /// ```
    ///
    /// - Throws: the one error a cleanup threw, unchanged; or
    ///   ``CleanupErrors`` with every error, when several cleanups threw.
    public func runAll() async throws {
        var errors: [any Error] = []
        let (single, several) = pendingSnapshot()
        for finalizer in single.map({ [$0] }) ?? several {
            guard let (payload, word) = finalizer.claim(.runNow, requiringExitFlag: false) else { continue }
            if payload.isAsync {
                do {
                    try await finalizer.startTracked(payload, trigger: .runNow, reporting: false).value
                } catch {
                    errors.append(error)
                }
                continue
            }
            do {
                try payload.run()
            } catch {
                errors.append(error)
            }
            finalizer.settle(word)
        }
        try Self.throwIfAny(errors)
    }

    /// Claims `finalizer` for `runNow` and runs it: a synchronous cleanup
    /// here, its error appended to `errors`; an asynchronous one started as
    /// a tracked task that reports its own error.
    @inline(__always)
    static func runClaimed(_ finalizer: ErasedFinalizer, collectingErrorsIn errors: inout [any Error]) {
        guard let (payload, word) = finalizer.claim(.runNow, requiringExitFlag: false) else { return }
        if payload.isAsync {
            finalizer.startTracked(payload, trigger: .runNow, reporting: true)
            return
        }
        do {
            try payload.run()
        } catch {
            errors.append(error)
        }
        finalizer.settle(word)
    }

    /// The bag's finalizers, retained, as they are when the bag's lock bit
    /// is taken: the only one (no array allocated), or several, newest
    /// registration first (the order of the owner's death). Some may no
    /// longer be pending; claiming them sorts that out.
    func pendingSnapshot() -> (single: ErasedFinalizer?, several: [ErasedFinalizer]) {
        // The lock bit is held inside the fork gate (see `addSlow`).
        let stripe = ForkGate.currentStripe
        ForkGate.enter(stripe)
        defer { ForkGate.leave(stripe) }
        let word = lock()
        defer { contents.store(word, ordering: .releasing) }
        guard word != 0 else { return (nil, []) }
        if word & Self.overflowBit == 0 {
            return (Self.finalizerReference(word).takeUnretainedValue(), [])
        }
        return (nil, Self.overflowReference(word)._withUnsafeGuaranteedRef { $0.newestFirst() })
    }

    /// Nothing, the one error as is, or several as one `CleanupErrors`.
    static func throwIfAny(_ errors: [any Error]) throws {
        switch errors.count {
        case 0: return
        case 1: throw errors[0]
        default: throw CleanupErrors(errors)
        }
    }
}
