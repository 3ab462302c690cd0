import Synchronization

// Fork safety.
//
// `fork()` copies the calling thread only. A lock that another thread held at
// that instant stays held in the child forever, and bookkeeping that another
// thread was half-way through stays half-done. So the library's
// `pthread_atfork` handlers, installed when the first registry is created,
// make sure that nothing of the library is held or half-done at the fork:
//
// `prepare` (on the forking thread, before the fork), in this order:
// 1. completes the lazy initialization of `FinalizerRegistry.shared` if
//    another thread is in the middle of it (it takes none of the locks
//    below), so no child inherits a `swift_once` in progress;
// 2. closes `ForkGate` and waits until no thread is inside it: the gate
//    counts the holders of the locks that cannot be enumerated (a
//    finalizer's busy bit, a bag's lock bit) and the sweeps that collect
//    from several shards (such a sweep holds a counted collection while it
//    waits for the next shard's lock, so it must not be caught between
//    shards);
// 3. takes the list lock, then for each live registry core: every shard
//    lock; waits for the collections counted under those locks to be
//    published (a registration's amortized sweep publishes without taking
//    any lock held so far); then the in-flight lock, the warned-sites lock,
//    the shutdown list's lock, the async cleanups' lock, the sweeper's
//    pacer lock and last the sweeper's own lock (`Sweeper.lockForFork()`).
//    For a registry that has ended, the shard locks of the shards its
//    pending host finalizers still use.
// `parent` releases all of it in reverse. `child` releases it too (the
// forking thread holds every lock, so each one is simply unlocked), and
// also: re-initializes the sweeper's and the async cleanups' condition
// variables (their waiters were the parent's), forgets the sweeper thread
// (it is the parent's: it is never joined or detached in the child, and a
// new one starts with the child's first watched registration), forgets the
// async cleanups that were running (the parent's tasks), keeps only the
// shutdowns the forking thread itself is running, and resets the gate's
// counters.
//
// Rules that keep `prepare` from deadlocking (keep them when changing the
// library): no user code runs while a library lock is held or inside the
// gate, so a cleanup that forks never waits for itself; no lock holder enters
// the gate, and no gate section enters another; a thread that counted a
// collection takes, until it publishes it, no lock but the sweeper's and
// the in-flight lock; and nothing takes another library lock while holding
// the sweeper's lock (the one its thread waits with).
//
// What remains: Finalize's one-time setup (the first registry created in
// the process, which installs the handlers) is not covered while it runs,
// like any lazily initialized Swift global; every later fork is.

// MARK: - The registries a fork must quiesce

/// The process-wide list of registry cores, and the fork handlers.
enum ForkSafety {
    /// Created (and the handlers installed) with the first registry.
    private static let state: ForkRecords = {
        ForkGate.touch()
        let state = ForkRecords()
        installForkHandlers(
            prepare: { ForkSafety.prepare() },
            parent: { ForkSafety.parent() },
            child: { ForkSafety.child() })
        return state
    }()

    /// A new registry's core (called once, from the registry's initializer).
    static func track(_ core: _RegistryCore) {
        let state = state
        let pruned = state.lock.withLock { () -> [ForkRecord] in
            state.records.append(ForkRecord(core: core))
            return state.pruneOrphans()
        }
        withExtendedLifetime(pruned) {}
    }

    /// The registry of `core` has ended (`_RegistryCore.end()` returned):
    /// from now on only the shards its pending host finalizers use can be
    /// locked (when those finalizers settle), so only those stay listed.
    static func registryEnded(_ core: _RegistryCore) {
        let orphans = core.shards.all.filter { $0.hostCount > 0 }
        let state = state
        let dropped = state.lock.withLock { () -> [ForkRecord] in
            var dropped = state.pruneOrphans()
            if let index = state.records.firstIndex(where: { $0.core === core }) {
                if orphans.isEmpty {
                    dropped.append(state.records.remove(at: index))
                } else {
                    state.records[index].orphans = orphans
                }
            }
            return dropped
        }
        // Released here, after the list lock: a shard or core may end now.
        withExtendedLifetime(dropped) {}
    }

    // MARK: Handlers

    static func prepare() {
        // 1. Another thread may be initializing the shared registry right
        // now; wait for it (it needs none of the locks below), so that no
        // child inherits its initialization half-done.
        _ = FinalizerRegistry.shared
        // 2. The sections the handlers cannot enumerate.
        ForkGate.closeAndDrain()
        // 3. The signal shutdown's and process exit's locks (taken by
        // nothing that holds another library lock), then every registry's.
        SignalShutdown.lockForFork()
        ProcessExit.lockForFork()
        let state = state
        state.lock.lock()
        for record in state.records { record.lockForFork() }
    }

    static func parent() { afterFork(inChild: false) }

    static func child() { afterFork(inChild: true) }

    /// Releases what `prepare` took, in reverse; in the child, also drops
    /// what belonged to the threads that are gone.
    private static func afterFork(inChild: Bool) {
        let state = state
        for record in state.records.reversed() { record.unlockAfterFork(inChild: inChild) }
        state.lock.unlock()
        ProcessExit.unlockAfterFork()
        SignalShutdown.unlockAfterFork(inChild: inChild)
        if inChild {
            ForkGate.resetInChild()
        } else {
            ForkGate.open()
        }
    }
}

final class ForkRecords: @unchecked Sendable {
    let lock = SpinLock()
    /// Guarded by `lock`.
    var records: [ForkRecord] = []

    /// Under `lock`: forgets the orphaned shards whose host finalizers have
    /// all settled (nothing will lock them again), and the ended registries
    /// left with none; returns the records and shards to release after the
    /// lock is dropped.
    func pruneOrphans() -> [ForkRecord] {
        var dropped: [ForkRecord] = []
        records.removeAll { record in
            guard let orphans = record.orphans else { return false }
            let remaining = orphans.filter { $0.hostCount > 0 }
            if remaining.count != orphans.count {
                dropped.append(ForkRecord(core: record.core, orphans: orphans))
                record.orphans = remaining
            }
            return remaining.isEmpty
        }
        return dropped
    }
}

/// One registry core in the fork list. It holds the core strongly (a core is
/// small, and it lives as long as its shards anyway).
final class ForkRecord: @unchecked Sendable {
    let core: _RegistryCore
    /// nil while the registry lives (the core reaches all its shards); once
    /// it has ended, the shards still used by pending host finalizers,
    /// retained until they have none.
    var orphans: [Shard]?

    init(core: _RegistryCore, orphans: [Shard]? = nil) {
        self.core = core
        self.orphans = orphans
    }

    /// `prepare`: takes every lock of this registry (see the order above).
    func lockForFork() {
        if let orphans {
            for shard in orphans { shard.stateLock.lock() }
            return
        }
        let core = core
        core.shards.forEachShard { $0.stateLock.lock() }
        // A collection is counted under its shard's lock; the thread that
        // counted it publishes it next, taking at most the sweeper thread's
        // lock, the sweeper's mutex and the in-flight lock, none held yet.
        // (Sweeps that collect from several shards are kept out by the gate.)
        core.inFlight.waitForCollections()
        core.inFlight.lockForFork()
        core.warnedSites.lockForFork()
        core.shutdownThreads.lock.lock()
        core.asyncCleanups.lockForFork()
        core.sweeper.lockForFork()
    }

    /// `parent` and `child`: releases what `lockForFork` took; in the child,
    /// also drops what belonged to the threads that are gone.
    func unlockAfterFork(inChild: Bool) {
        if let orphans {
            for shard in orphans.reversed() { shard.stateLock.unlock() }
            return
        }
        let core = core
        core.sweeper.unlockAfterFork(inChild: inChild)
        core.asyncCleanups.unlockAfterFork(inChild: inChild)
        if inChild {
            // Shutdowns that other threads were running are theirs; the
            // forking thread may be inside one of its own (it forked from a
            // cleanup), which goes on in the child.
            core.shutdownsInProgress.store(
                core.shutdownThreads.keepOnlyCallingThreadInChild(), ordering: .sequentiallyConsistent)
        }
        core.shutdownThreads.lock.unlock()
        core.warnedSites.unlockAfterFork()
        core.inFlight.unlockAfterFork()
        core.shards.forEachShardReversed { $0.stateLock.unlock() }
    }
}
