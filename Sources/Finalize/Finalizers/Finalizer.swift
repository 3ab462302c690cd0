import Synchronization

/// A handle to one cleanup tied to the life of one owner object.
///
/// Lifetime: the handle never keeps its owner alive. Keeping the handle is
/// optional: for a ``FinalizerHost`` owner the owner's bag keeps the
/// finalizer, for any other owner the registry does, until it runs or is
/// detached. Once it has run or been detached, the handle no longer holds the
/// cleanup, the resource or anything of its registry, so a kept handle costs
/// only its own few bytes, even after the registry itself is gone.
///
/// Threading: every member may be called from any thread at any time,
/// concurrently with the owner's release, a sweep or a shutdown. The cleanup
/// runs at most once, whichever trigger comes first: owner death, a sweep,
/// ``runNow()``, the end of a scope that adopted it, or a shutdown (including
/// process exit for the shared registry). The finalizer is marked dead
/// *before* its cleanup starts, so inside the cleanup `isAlive` is false,
/// `runNow()` returns false and `detach()` and `peek()` return nil. No lock
/// is held while a cleanup runs, so cleanups may use the registry freely.
///
/// ```swift
/// let f = finalize(socket, holding: socket.descriptor) { close($0) }   // the only close
/// f.isAlive          // true
/// try f.runNow()     // true: closes now; the socket's death later does nothing
/// f.state            // .ran(.runNow)
/// ```
///
/// Create finalizers with the free `finalize(_:_:)` and
/// `finalize(_:holding:_:)` functions (the shared registry) or the same
/// methods of a ``FinalizerRegistry``.
public final class Finalizer<Resource: Sendable>: Sendable {
    // Stored properties are declared in layout order, 72 bytes in all (an
    // 80-byte heap block), none of them depending on `Resource` (see
    // `CleanupPayload` and `ErasedFinalizer`). The registration line lives in the
    // status word.

    /// The cleanup and resource. Written at init, then touched only by the
    /// winner of the claim or by a reader holding `busy` while pending.
    @exclusivity(unchecked) nonisolated(unsafe) var storedPayload: CleanupPayload?
    let statusWord: Atomic<UInt32>
    /// The owner, by address. A watched owner's unowned count belongs to its
    /// table entry; a host owner needs none, because its bag (inside the
    /// owner) claims this finalizer before the owner's memory goes. Looked
    /// at only while the finalizer is pending and `busy` is held.
    let unownedOwner: UnownedOwner
    let registrationFile: _FileID
    /// Registration order within the registry, for newest-first shutdown.
    /// Assigned under the shard's lock, in the same critical section that
    /// makes the finalizer visible to shutdown (so a shutdown that has seen
    /// a sequence number also sees every registration up to it); never
    /// changed afterwards.
    @exclusivity(unchecked) nonisolated(unsafe) var sequence: UInt64
    /// Where the registry keeps track of this finalizer, until `settle`
    /// (nil afterwards):
    /// - for a host owner, its slot in the shard's exit log;
    /// - for a watched owner, its shard, *not* retained: the registry's end
    ///   claims or detaches every pending watched finalizer before it lets
    ///   its shards go, and every claim that may come later holds `busy`
    ///   while it touches the shard (see `claimWatchedForCaller`). From a
    ///   claim on, it may instead hold the registry core, retained, tagged
    ///   in bit 0 (`keepCore()`), for what runs after the claim.
    @exclusivity(unchecked) nonisolated(unsafe) var home: UnsafeMutableRawPointer?

    init(
        owner: UnownedOwner, fileID: _FileID, status: StatusWord, payload: consuming CleanupPayload?
    ) {
        storedPayload = payload
        statusWord = Atomic(status.raw)
        unownedOwner = owner
        registrationFile = fileID
        sequence = 0
        home = nil
    }

    deinit {
        // Settled finalizers (all of them, in practice) have no home left;
        // a kept core is released in any case.
        if StatusWord(raw: statusWord.load(ordering: .relaxed)).isWatched, let core = keptCore {
            Unmanaged.passUnretained(core).release()
        }
    }

    /// Whether the cleanup is still pending: not run, not detached.
    ///
    /// A snapshot: another thread may run or detach it right after. Stays
    /// true while a dead owner waits for its sweep.
    public var isAlive: Bool {
        StatusWord(raw: statusWord.load(ordering: .acquiring)).isPending
    }

    /// What has happened to this finalizer: pending, ran (and which trigger
    /// ran it), or detached. A snapshot, like ``isAlive``.
    public var state: FinalizerState {
        StatusWord(raw: statusWord.load(ordering: .acquiring)).state
    }

    /// Whether ``FinalizerRegistry/shutdown()`` (and process exit) runs this
    /// finalizer if it is still pending.
    ///
    /// Defaults to the `runsAtExit` argument of the registration. Reads
    /// false once the finalizer has run or was detached (it can no longer
    /// run at exit), and setting it then has no effect. Safe from any
    /// thread.
    public var runsAtExit: Bool {
        get {
            let word = StatusWord(raw: statusWord.load(ordering: .acquiring))
            return word.isPending && word.runsAtExit
        }
        set {
            if newValue {
                statusWord.bitwiseOr(StatusWord.exitBit, ordering: .acquiringAndReleasing)
            } else {
                statusWord.bitwiseAnd(~StatusWord.exitBit, ordering: .acquiringAndReleasing)
            }
        }
    }

    /// Runs the cleanup now, on the calling thread, if it is still pending.
    ///
    /// - Returns: true if this call ran the cleanup; false if it had already
    ///   run, was detached, or another thread is running it.
    /// - Throws: the cleanup's own error. The finalizer is dead either way:
    ///   a cleanup that throws is not run again. The error is not also sent
    ///   to the registry's `onFailure` handler.
    ///
    /// Runs even when the owner is already dead and waiting for a sweep: the
    /// point of `runNow()` is to not wait. State afterwards: `.ran(.runNow)`.
    @discardableResult
    public func runNow() throws -> Bool {
        try run(trigger: .runNow)
    }

    /// Cancels the cleanup and hands back the resource, if the finalizer is
    /// still pending and its owner is alive.
    ///
    /// - Returns: the resource (`()` for a finalizer without one), or nil if
    ///   the finalizer already ran, was detached, or its owner's last strong
    ///   reference is already gone: a dead host owner's bag is running its
    ///   cleanups right now; a dead watched owner's cleanup waits for the
    ///   next sweep (``runNow()`` still runs it). Either way it can no longer
    ///   be cancelled. Calling it twice, or after the run, is harmless.
    ///
    /// After a successful detach the finalizer holds neither the cleanup nor
    /// the resource; ownership of the resource passes to you.
    public func detach() -> Resource? {
        detachPayload(onlyIfOwnerAlive: true)?.resource(as: Resource.self)
    }

    /// Moves pending → detached and takes the payload; nil if the finalizer
    /// is no longer pending (or, with `onlyIfOwnerAlive`, if its owner is
    /// deallocating: its death is already running or awaiting the cleanup).
    func detachPayload(onlyIfOwnerAlive: Bool) -> CleanupPayload? {
        guard acquireBusy() else { return nil }
        if onlyIfOwnerAlive && unownedOwner.isDeallocating {
            releaseBusy()
            return nil
        }
        // Counted out while busy is held, which keeps a watched finalizer's
        // shard (see `home`).
        if StatusWord(raw: statusWord.load(ordering: .relaxed)).isWatched { watchedShard.watchedLeftPending() }
        let word = leaveBusy { $0.detached() }
        let payload = storedPayload.take()
        settle(word)
        return payload
    }

    /// The owner and the resource, if the finalizer is pending and the owner
    /// is alive.
    ///
    /// The returned owner is a new strong reference: holding it keeps the
    /// owner alive. Returns nil once the owner is deallocating, even while its
    /// cleanup still waits for its turn. Safe from any thread.
    ///
    /// - Returns: the owner (a new strong reference) and the resource (`()`
    ///   for a finalizer without one), or nil if the finalizer is no longer
    ///   pending or its owner is deallocating.
    public func peek() -> (owner: AnyObject, resource: Resource)? {
        guard acquireBusy() else { return nil }
        let owner = unownedOwner.tryLoad()
        let resource = owner == nil ? nil : storedPayload?.resource(as: Resource.self)
        releaseBusy()
        // Only now may `owner` be dropped: if ours was its last strong
        // reference, its deinit runs here, and its bag must be able to claim
        // this finalizer (a claim waits while `busy` is held).
        guard let owner, let resource else { return nil }
        return (owner, resource)
    }

    /// The registration's `#fileID` and line.
    var registrationSite: (fileID: String, line: Int) {
        (registrationFile.string, StatusWord(raw: statusWord.load(ordering: .relaxed)).line)
    }

    // MARK: - Claiming

    /// Runs the cleanup for `trigger` if still pending; rethrows its error,
    /// as is or passed through `failure` (which also receives the registry
    /// core, for callers that report the error there later; only they make
    /// a watched finalizer keep its core, see `claim`).
    @discardableResult
    func run(
        trigger: FinalizerTrigger,
        failure: ((any Error, _RegistryCore) -> any Error)? = nil
    ) throws -> Bool {
        guard let (payload, word) = claim(trigger, requiringExitFlag: false, keepingCore: failure != nil) else {
            return false
        }
        defer { settle(word) }
        do {
            try payload.run()
        } catch {
            guard let failure else { throw error }
            throw failure(error, registryCore)
        }
        return true
    }

    /// Moves pending → ran(trigger) and takes the payload; nil if another
    /// trigger won (or, with `requiringExitFlag`, if runsAtExit is off).
    /// The winner runs the payload and then calls `settle` with the word.
    ///
    /// - Parameters:
    ///   - counting: whether a watched finalizer is counted out of its
    ///     shard's pending ones now. A sweep batch passes false and counts
    ///     its claims itself (`SweepBatch`).
    ///   - keepingCore: for a watched finalizer claimed by its caller
    ///     (`claimWatchedForCaller`), whether it keeps its registry core
    ///     until `settle`: only if something after the claim needs the core
    ///     (an asynchronous cleanup's task, a failure passed on with it).
    @inline(__always)
    func claim(
        _ trigger: FinalizerTrigger, requiringExitFlag: Bool, counting: Bool = true, keepingCore: Bool = true
    ) -> (CleanupPayload, StatusWord)? {
        var current = statusWord.load(ordering: .acquiring)
        var spins = 0
        while true {
            let word = StatusWord(raw: current)
            guard word.isPending else { return nil }
            if requiringExitFlag && !word.runsAtExit { return nil }
            if word.isBusy {
                backOff(&spins)
                current = statusWord.load(ordering: .acquiring)
                continue
            }
            if word.isWatched && trigger.comesFromCaller {
                return claimWatchedForCaller(trigger, keepingCore: keepingCore)
            }
            let (exchanged, original) = statusWord.compareExchange(
                expected: current, desired: word.ran(trigger).raw, ordering: .acquiringAndReleasing)
            if exchanged {
                if word.isWatched && counting { watchedShard.watchedLeftPending() }
                return (storedPayload.take().unsafelyUnwrapped, word)
            }
            current = original
        }
    }

    /// The claim of a watched finalizer by its caller (`runNow()`, the end
    /// of a scope that adopted it).
    ///
    /// Unlike a sweep or a shutdown, such a caller does not keep the
    /// registry alive, and the finalizer does not keep its shard (see
    /// `home`). So the claim takes `busy` first: the registry's end waits
    /// for it before it claims or detaches this finalizer, and lets its
    /// shards go only after. While it holds `busy`, it counts the finalizer
    /// out of its shard and, with `keepingCore`, keeps the registry core for
    /// what comes after the claim (a failure passed on with it, an
    /// asynchronous cleanup's task); then it moves to ran, which clears
    /// `busy`.
    @inline(never)
    private func claimWatchedForCaller(
        _ trigger: FinalizerTrigger, keepingCore: Bool
    ) -> (CleanupPayload, StatusWord)? {
        guard acquireBusy() else { return nil }
        watchedShard.watchedLeftPending()
        if keepingCore || storedPayload.unsafelyUnwrapped.isAsync { keepCore() }
        let word = leaveBusy { $0.ran(trigger) }
        return (storedPayload.take().unsafelyUnwrapped, word)
    }

    /// Bookkeeping after this thread moved the finalizer out of pending and
    /// ran (or dropped) its payload: a host finalizer gives its exit-log
    /// slot back; a watched one forgets its shard, or lets the core it kept
    /// go. (A watched one was counted out at the claim; its table entry
    /// goes at the next sweep or compaction.)
    @inline(__always)
    func settle(_ word: StatusWord) {
        guard let home else { return }
        self.home = nil
        if !word.isWatched {
            ExitLog.release(home)
        } else if let core = Self.keptCore(in: home) {
            Unmanaged.passUnretained(core).release()
        }
    }

    /// The registry core, while the finalizer is pending or being run. A
    /// host finalizer's slot keeps it. A watched finalizer reads it through
    /// its shard, which lives while the finalizer is pending and while the
    /// thread that claimed it for a sweep, a shutdown or the registry's end
    /// runs it (those keep the registry's shards); a claim by the
    /// finalizer's own caller that needs the core afterwards keeps the core
    /// itself (`keepCore()`).
    var registryCore: _RegistryCore {
        if StatusWord(raw: statusWord.load(ordering: .relaxed)).isWatched {
            return keptCore ?? watchedShard.core
        }
        return ExitLog.shard(ofSlot: home.unsafelyUnwrapped)._withUnsafeGuaranteedRef { $0.core }
    }

    /// A pending watched finalizer's shard (not retained; see `home`).
    @inline(__always)
    var watchedShard: Shard {
        internalCheck(Self.keptCore(in: home.unsafelyUnwrapped) == nil, "the shard of a watched finalizer")
        return Unmanaged<Shard>.fromOpaque(home.unsafelyUnwrapped).takeUnretainedValue()
    }

    /// A watched finalizer, claimed or being claimed by this thread, keeps
    /// its registry core (retained, in `home`, until `settle`), unless it
    /// already does. Called while the shard is known to live: by the
    /// registry's own threads, or under `busy`.
    func keepCore() {
        guard keptCore == nil else { return }
        let core = Unmanaged.passRetained(watchedShard.core).toOpaque()
        home = UnsafeMutableRawPointer(bitPattern: UInt(bitPattern: core) | 1)
    }

    /// The core a watched finalizer keeps, if it keeps one.
    private var keptCore: _RegistryCore? {
        home.flatMap(Self.keptCore(in:))
    }

    /// The core `home` holds, if it is tagged as one (bit 0; objects are at
    /// least pointer-aligned, so a shard's address never has it).
    private static func keptCore(in home: UnsafeMutableRawPointer) -> _RegistryCore? {
        let bits = UInt(bitPattern: home)
        guard bits & 1 != 0, let core = UnsafeMutableRawPointer(bitPattern: bits & ~1) else { return nil }
        return Unmanaged<_RegistryCore>.fromOpaque(core).takeUnretainedValue()
    }

    /// Sets busy if pending; false if the finalizer is dead.
    ///
    /// Busy is held inside the fork gate (`ForkGate`, on the stripe of the
    /// finalizer's shard): a fork waits until no thread holds a busy bit,
    /// so no child inherits one that would never clear. `releaseBusy()` (or
    /// the move to detached, in `detachPayload`) leaves the gate.
    @inline(__always)
    func acquireBusy() -> Bool {
        var current = statusWord.load(ordering: .relaxed)
        guard StatusWord(raw: current).isPending else { return false }
        let stripe = StatusWord(raw: current).shard
        ForkGate.enter(stripe)
        var spins = 0
        while true {
            let word = StatusWord(raw: current)
            guard word.isPending else {
                ForkGate.leave(stripe)
                return false
            }
            if word.isBusy {
                backOff(&spins)
                current = statusWord.load(ordering: .relaxed)
                continue
            }
            let (exchanged, original) = statusWord.compareExchange(
                expected: current, desired: current | StatusWord.busyBit, ordering: .acquiring)
            if exchanged { return true }
            current = original
        }
    }

    /// With `busy` held: moves the status word to `leaving(word)` (a move
    /// out of pending, which clears `busy`) and leaves the fork gate;
    /// returns the word as it was, busy bit included. No claim can win
    /// meanwhile; only runsAtExit may flip, so the exchange is retried.
    @inline(__always)
    private func leaveBusy(_ leaving: (StatusWord) -> StatusWord) -> StatusWord {
        var current = statusWord.load(ordering: .relaxed)
        while true {
            let (exchanged, original) = statusWord.compareExchange(
                expected: current, desired: leaving(StatusWord(raw: current)).raw, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
        let word = StatusWord(raw: current)
        ForkGate.leave(word.shard)
        return word
    }

    @inline(__always)
    func releaseBusy() {
        let (old, _) = statusWord.bitwiseAnd(~StatusWord.busyBit, ordering: .releasing)
        ForkGate.leave(StatusWord(raw: old).shard)
    }
}
