import Synchronization

/// A registry's background sweeper: its thread, how the thread sleeps and is
/// woken or stopped, and its pacing (`Sweeper.Pacer`).
///
/// The thread starts lazily, with the first watched registration: while a
/// start is due, `idle` is set, so the registration's usual idle check
/// (one load) finds it and calls `wake(core:)`. It holds the registry's
/// core, never the public registry, and sleeps without a deadline while
/// nothing is watched (`idle` is then set again); a registration that adds
/// the first watched entry wakes it. While something is watched it ticks
/// every `interval` and asks the core to sweep what the pacer says is due
/// (`_RegistryCore.sweepTick(now:)`).
///
/// In a forked child the parent's thread does not exist: the fork handlers
/// forget it without joining or detaching it, and the child's first watched
/// registration starts a thread of its own.
final class Sweeper: @unchecked Sendable {
    /// The tick, or nil for a registry without a sweeper thread.
    let interval: Duration?
    /// When the sweeper looks at which generation (its thread, or a test,
    /// drives it through `_RegistryCore.sweepTick(now:)`).
    let pacer: SpinLocked<Pacer>
    /// True while the thread waits for the first watched entry, or while a
    /// thread is due to start.
    let idle = Atomic<Bool>(false)
    /// A thread should be started at the next watched registration.
    private let needsStart: Atomic<Bool>
    /// The registry ended on the sweeper thread, in a cleanup of a sweep:
    /// the thread gives the shards back when that sweep is done (see
    /// `stopAndWait()`).
    private let releasesShardsWhenDone = Atomic<Bool>(false)
    /// Where the thread sleeps; its lock guards `thread` and `stopped`.
    private let condition = MonotonicCondition()
    private var thread: PlatformThread?
    private var stopped = false
    /// The thread was detached without being joined (at process exit): it
    /// may still be in a sweep.
    private var detachedRunning = false

    /// - Parameters:
    ///   - interval: the tick of a sweeper thread, or nil for none.
    ///   - pacing: the interval the pacer assumes (the tick, unless a test
    ///     drives the pacing itself).
    init(interval: Duration?, pacing: Duration) {
        self.interval = interval
        pacer = SpinLocked(Pacer(interval: pacing))
        needsStart = Atomic(interval != nil)
        // The first watched registration finds the sweeper "idle" and
        // starts it.
        if interval != nil { idle.store(true, ordering: .sequentiallyConsistent) }
    }

    /// A watched registration found the sweeper idle (or not started yet):
    /// start the thread if one is due, and wake it.
    @inline(never)
    func wake(core: _RegistryCore) {
        condition.withLock {
            if needsStart.load(ordering: .relaxed) { start(core: core) }
            condition.signal()
        }
    }

    /// With the lock held: starts the thread, unless the registry is
    /// stopping.
    private func start(core: _RegistryCore) {
        guard !stopped, let interval else { return }
        needsStart.store(false, ordering: .relaxed)
        // The thread is not waiting for work yet; it looks for work before
        // it waits (see `waitForTick`).
        idle.store(false, ordering: .sequentiallyConsistent)
        // If it cannot be created, sweeps happen during registration and on
        // `sweep()` only.
        thread = PlatformThread.start { [self] in
            while waitForTick(interval: interval, hasWork: { core.hasWatchedEntries }) {
                _ = core.sweepTick(now: monotonicNow())
            }
            if releasesShardsWhenDone.load(ordering: .relaxed) { core.shards.releaseShards() }
        }
    }

    /// Blocks until something is watched and `interval` has passed; false
    /// once stopped.
    private func waitForTick(interval: Duration, hasWork: () -> Bool) -> Bool {
        condition.withLock {
            while !stopped {
                if !hasWork() {
                    idle.store(true, ordering: .sequentiallyConsistent)
                    if !hasWork() && !stopped { condition.wait() }
                    idle.store(false, ordering: .sequentiallyConsistent)
                    continue
                }
                let deadline = monotonicNow() + interval
                while !stopped {
                    if !condition.wait(until: deadline) { break }
                }
                return !stopped
            }
            return false
        }
    }

    /// Stops the thread and waits for it to end (the registry is ending);
    /// returns false if the caller *is* the thread.
    ///
    /// Then the registry died inside a cleanup that the thread's sweep is
    /// running, and the thread is detached instead: it finishes that sweep
    /// (which still reads the shards, their tables and the batch's counts)
    /// and its tick, and only then ends. The caller must not give the
    /// shards back; `releaseShardsWhenDone()` hands that to the thread.
    /// Also false if process exit detached the thread earlier
    /// (`stopWithoutWaiting()`): it may still be in a sweep.
    @discardableResult
    func stopAndWait() -> Bool {
        guard let thread = stop() else { return condition.withLock { !detachedRunning } }
        if thread.isCurrent {
            thread.detach()
            return false
        }
        thread.join()
        return true
    }

    /// Called on the sweeper thread by the registry that ends there (see
    /// `stopAndWait()`): the thread gives the shards back once its tick is
    /// done.
    func releaseShardsWhenDone() {
        releasesShardsWhenDone.store(true, ordering: .relaxed)
    }

    /// At process exit: stop, and detach the thread rather than wait (it
    /// may be running a cleanup; the process is ending either way).
    func stopWithoutWaiting() {
        guard let thread = stop() else { return }
        condition.withLock { detachedRunning = true }
        thread.detach()
    }

    private func stop() -> PlatformThread? {
        condition.withLock {
            stopped = true
            needsStart.store(false, ordering: .relaxed)
            condition.broadcast()
            defer { thread = nil }
            return thread
        }
    }

    // MARK: - Fork

    /// `prepare`: the pacer's lock, and last the sweeper's own lock (the one
    /// its thread waits with; nothing takes another library lock while
    /// holding it).
    func lockForFork() {
        pacer.lock.lock()
        condition.lock()
    }

    /// `parent` and `child`. In a child, the thread is the parent's: forget
    /// it, start one of the child's own at the next watched registration,
    /// and give the condition variable a fresh start. Unless the sweeper
    /// thread itself forked (in a cleanup it runs): then the child's copy
    /// of that thread goes on with the sweeper's loop, and stays the
    /// sweeper.
    func unlockAfterFork(inChild: Bool) {
        if inChild {
            condition.resetInChild()
            // A sweeper thread that forked stays the sweeper in the child.
            if thread?.isCurrent != true {
                thread = nil
                if interval != nil && !stopped {
                    needsStart.store(true, ordering: .relaxed)
                    idle.store(true, ordering: .sequentiallyConsistent)
                }
            }
        }
        condition.unlock()
        pacer.lock.unlock()
    }
}
