#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
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
//    any lock held so far); then the sweeper thread's lock, the in-flight
//    lock, the warned-sites lock, the pacer's lock, the shutdown list's lock
//    and last the sweeper's pthread mutex. For a registry that has ended,
//    the shard locks of the shards its pending host finalizers still use.
// `parent` releases all of it in reverse. `child` releases it too (the
// forking thread holds every lock, so each one is simply unlocked), and
// also: re-initializes the sweeper's condition variable (its waiters were
// the parent's), forgets the sweeper thread (it is the parent's: it is
// never joined or detached in the child, and a new one starts with the
// child's first watched registration), keeps only the shutdowns the forking
// thread itself is running, and resets the gate's counters.
//
// Rules that keep `prepare` from deadlocking (keep them when changing the
// library): no user code runs while a library lock is held or inside the
// gate, so a cleanup that forks never waits for itself; no lock holder enters
// the gate, and no gate section enters another; a thread that counted a
// collection takes, until it publishes it, no lock but the sweeper thread's,
// the sweeper's mutex and the in-flight lock; and nothing takes another
// library lock while holding the sweeper's mutex (the one `waitForSweep`
// waits with).
//
// What remains: Finalize's one-time setup (the first registry created in
// the process, which installs the handlers) is not covered while it runs,
// like any lazily initialized Swift global; every later fork is.

/// Counts the threads inside the short sections whose locks the fork
/// handlers cannot enumerate: a finalizer's busy bit (`peek`, `detach`,
/// `pending`), a bag's lock bit (a second finalizer on one owner, a bag's
/// `pendingCount`), and a sweep's collection from several shards. `prepare`
/// closes it and waits for the count to reach zero, so a fork never
/// happens with one of them held.
///
/// The counters are striped (one cache line each), so threads on different
/// processors do not share a line; a section enters and leaves the same
/// stripe. Entering costs one sequentially consistent add and one load;
/// leaving, one releasing subtract.
enum ForkGate {
    static let stripeCount = StatusWord.shardLimit
    private static let storage = ForkGateStorage(stripes: stripeCount)

    /// The stripe for a section that is not about one finalizer.
    @inline(__always)
    static var currentStripe: Int {
        currentProcessor() & (stripeCount - 1)
    }

    @inline(__always)
    static func enter(_ stripe: Int) {
        let storage = storage
        storage.counter(stripe).pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if storage.closed.pointee.load(ordering: .sequentiallyConsistent) { enterSlow(stripe, storage) }
    }

    @inline(__always)
    static func leave(_ stripe: Int) {
        storage.counter(stripe).pointee.wrappingSubtract(1, ordering: .releasing)
    }

    /// A fork is being prepared: step out, wait for the gate to open, and
    /// enter again.
    @inline(never)
    private static func enterSlow(_ stripe: Int, _ storage: ForkGateStorage) {
        var spins = 0
        repeat {
            storage.counter(stripe).pointee.wrappingSubtract(1, ordering: .releasing)
            while storage.closed.pointee.load(ordering: .acquiring) { backOff(&spins) }
            storage.counter(stripe).pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        } while storage.closed.pointee.load(ordering: .sequentiallyConsistent)
    }

    /// `prepare`: closes the gate and waits until nobody is inside.
    static func closeAndDrain() {
        let storage = storage
        storage.closed.pointee.store(true, ordering: .sequentiallyConsistent)
        for stripe in 0..<stripeCount {
            var spins = 0
            while storage.counter(stripe).pointee.load(ordering: .sequentiallyConsistent) != 0 { backOff(&spins) }
        }
    }

    /// `parent`: opens the gate again.
    static func open() {
        storage.closed.pointee.store(false, ordering: .releasing)
    }

    /// `child`: the threads that were waiting to enter are gone; so is any
    /// that had counted itself after the drain and had not yet stepped out.
    static func resetInChild() {
        let storage = storage
        for stripe in 0..<stripeCount { storage.counter(stripe).pointee.store(0, ordering: .relaxed) }
        storage.closed.pointee.store(false, ordering: .releasing)
    }

    /// Initializes the storage (before the fork handlers are installed).
    static func touch() {
        _ = storage
    }
}

/// The gate's closed flag and counters, each on its own cache line;
/// allocated once, never freed.
final class ForkGateStorage: @unchecked Sendable {
    /// Line 0: the closed flag; line 1 + n: stripe n's counter.
    private let base: UnsafeMutableRawPointer

    init(stripes: Int) {
        base = UnsafeMutableRawPointer.allocate(byteCount: (stripes + 1) * cacheLineSize, alignment: cacheLineSize)
        base.bindMemory(to: Atomic<Bool>.self, capacity: 1).initialize(to: Atomic(false))
        for stripe in 0..<stripes {
            (base + (stripe + 1) * cacheLineSize).bindMemory(to: Atomic<Int>.self, capacity: 1)
                .initialize(to: Atomic(0))
        }
    }

    @inline(__always)
    var closed: UnsafeMutablePointer<Atomic<Bool>> {
        base.assumingMemoryBound(to: Atomic<Bool>.self)
    }

    @inline(__always)
    func counter(_ stripe: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (base + (stripe + 1) * cacheLineSize).assumingMemoryBound(to: Atomic<Int>.self)
    }
}

// MARK: - The registries a fork must quiesce

/// The process-wide list of registry cores, and the fork handlers.
enum ForkSafety {
    /// Created (and the handlers installed) with the first registry.
    private static let state: ForkRecords = {
        ForkGate.touch()
        let state = ForkRecords()
        pthread_atfork(
            { ForkSafety.prepare() },
            { ForkSafety.parent() },
            { ForkSafety.child() })
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
    static func registryEnded(_ core: _RegistryCore, shards: [Shard]) {
        let orphans = shards.filter { $0.hostCount > 0 }
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

    static func parent() {
        let state = state
        for record in state.records.reversed() { record.unlockAfterFork(inChild: false) }
        state.lock.unlock()
        ProcessExit.unlockAfterFork()
        SignalShutdown.unlockAfterFork(inChild: false)
        ForkGate.open()
    }

    static func child() {
        let state = state
        for record in state.records.reversed() { record.unlockAfterFork(inChild: true) }
        state.lock.unlock()
        ProcessExit.unlockAfterFork()
        SignalShutdown.unlockAfterFork(inChild: true)
        ForkGate.resetInChild()
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
        for shard in core.shards { shard.stateLock.lock() }
        // A collection is counted under its shard's lock; the thread that
        // counted it publishes it next, taking at most the sweeper thread's
        // lock, the sweeper's mutex and the in-flight lock, none held yet.
        // (Sweeps that collect from several shards are kept out by the gate.)
        core.inFlight.waitForCollections()
        core.sweeperThread.lock.lock()
        core.inFlight.lockForFork()
        core.warnedSites.lockForFork()
        core.pacer.lock.lock()
        core.shutdownThreads.lock.lock()
        core.asyncCleanups.lockForFork()
        core.signal.lockForFork()
    }

    /// `parent` and `child`: releases what `lockForFork` took; in the child,
    /// also drops what belonged to the threads that are gone.
    func unlockAfterFork(inChild: Bool) {
        if let orphans {
            for shard in orphans.reversed() { shard.stateLock.unlock() }
            return
        }
        let core = core
        if inChild {
            core.signal.resetInChild()
            // Shutdowns that other threads were running are theirs; the
            // forking thread may be inside one of its own (it forked from a
            // cleanup), which goes on in the child.
            core.shutdownsInProgress.store(
                core.shutdownThreads.keepOnlyCallingThreadInChild(), ordering: .sequentiallyConsistent)
            core.sweeperThread.forgetInChild(signal: core.signal)
        } else {
            core.signal.unlockAfterFork()
        }
        core.asyncCleanups.unlockAfterFork(inChild: inChild)
        core.shutdownThreads.lock.unlock()
        core.pacer.lock.unlock()
        core.warnedSites.unlockAfterFork()
        core.inFlight.unlockAfterFork()
        core.sweeperThread.lock.unlock()
        for shard in core.shards.reversed() { shard.stateLock.unlock() }
    }
}

// MARK: - The sweeper thread

/// A registry's background sweeper thread: whether it runs, and how to stop
/// it.
///
/// The thread starts lazily, with the first watched registration (through
/// `_RegistryCore.wakeSweeper()`: the sweeper's `idle` flag is set while a
/// start is due, so the registration's existing idle check finds it). In a
/// forked child the parent's thread does not exist: `forgetInChild` drops
/// it without joining or detaching it, and the child's first watched
/// registration starts a thread of its own.
final class _SweeperThread: @unchecked Sendable {
    /// The interval between sweeps, or nil for a registry without a sweeper.
    let interval: Duration?
    /// Guards `thread` and `stopped`.
    let lock = SpinLock()
    private var thread: pthread_t?
    private var stopped = false
    /// A thread should be started at the next watched registration.
    let needsStart: Atomic<Bool>

    init(interval: Duration?) {
        self.interval = interval
        needsStart = Atomic(interval != nil)
    }

    /// Starts the thread if one is due (and the registry is not stopping).
    func start(core: _RegistryCore) {
        lock.lock()
        defer { lock.unlock() }
        guard needsStart.load(ordering: .relaxed), !stopped, let interval else { return }
        needsStart.store(false, ordering: .relaxed)
        // The thread is not waiting for work yet; it looks for work before
        // it waits (see `_SweepSignal.waitForSweep`).
        core.signal.idle.store(false, ordering: .sequentiallyConsistent)
        // If it cannot be created, sweeps happen during registration and
        // on `sweep()` only.
        thread = _startSweeper(core: core, interval: interval)
    }

    /// Stops the thread and waits for it to end (the registry is ending).
    func stopAndWait(signal: _SweepSignal) {
        guard let thread = stop(signal: signal) else { return }
        if pthread_equal(thread, pthread_self()) != 0 {
            // The registry died inside a cleanup the sweeper ran.
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }

    /// At process exit: stop, and detach the thread rather than wait (it
    /// may be running a cleanup; the process is ending either way).
    func stopWithoutWaiting(signal: _SweepSignal) {
        if let thread = stop(signal: signal) { pthread_detach(thread) }
    }

    private func stop(signal: _SweepSignal) -> pthread_t? {
        signal.stop()
        lock.lock()
        defer { lock.unlock() }
        stopped = true
        needsStart.store(false, ordering: .relaxed)
        let thread = self.thread
        self.thread = nil
        return thread
    }

    /// In a forked child, with `lock` held by the forking thread: the thread
    /// is the parent's. Forget it, and start one of the child's own at the
    /// next watched registration.
    func forgetInChild(signal: _SweepSignal) {
        thread = nil
        if interval != nil && !stopped {
            needsStart.store(true, ordering: .relaxed)
            signal.idle.store(true, ordering: .sequentiallyConsistent)
        }
    }
}

// MARK: - Shutdowns by thread

/// The threads running a shutdown of one registry, so that a forked child
/// counts only the forking thread's own (`_RegistryCore.shutdownsInProgress`
/// stays the number that matters on every hot path).
final class ShutdownThreads: @unchecked Sendable {
    let lock = SpinLock()
    private var threads: [pthread_t] = []

    func begin() {
        let me = pthread_self()
        lock.withLock { threads.append(me) }
    }

    func end() {
        let me = pthread_self()
        lock.withLock {
            if let index = threads.lastIndex(where: { pthread_equal($0, me) != 0 }) { threads.remove(at: index) }
        }
    }

    /// In a forked child, with `lock` held: keeps the calling thread's
    /// shutdowns and returns how many there are.
    func keepOnlyCallingThreadInChild() -> Int {
        let me = pthread_self()
        threads.removeAll { pthread_equal($0, me) == 0 }
        return threads.count
    }
}

// MARK: - A value under a spin lock

/// A value guarded by a `SpinLock` (the sweep pacer): unlike `Mutex`, its
/// lock can be held across a fork by the fork handlers.
final class SpinLocked<Value: Sendable>: @unchecked Sendable {
    let lock = SpinLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

// MARK: - Registry hooks

extension _RegistryCore {
    /// A watched registration found the sweeper idle (or not started yet):
    /// start it if due, and wake it.
    @inline(never)
    func wakeSweeper() {
        if sweeperThread.needsStart.load(ordering: .acquiring) { sweeperThread.start(core: self) }
        signal.wake()
    }
}
