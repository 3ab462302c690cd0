import Synchronization

/// The state of one registry.
///
/// Ownership, chosen so that no reference count is shared between threads
/// on the hot paths:
/// - the public ``FinalizerRegistry`` owns the core and the shards;
/// - each shard owns the core (`Shard.core`), and each finalizer owns its
///   shard, so a finalizer's retain and release touch the per-processor
///   shard, never an object every thread touches;
/// - the core reaches its shards through `shardTable`, unretained: it only
///   does so while the public registry is alive (registration, sweeps,
///   shutdown, diagnostics; the sweeper thread is joined before the
///   registry lets its shards go).
/// When the registry ends it empties the watched tables (the only place
/// where finalizers and shards form a cycle); host finalizers still pending
/// keep their shard, and so the core, until their owners die.
@usableFromInline
final class _RegistryCore: Sendable {
    /// The shards, unretained (the public registry owns them).
    let shardTable: ShardTable
    let shardMask: Int
    /// The last registration's sequence number (newest-first order), one
    /// counter for every registry of the process, so that process exit can
    /// run newest first across registries. Taken under the registering
    /// shard's lock; see `Finalizer.sequence`. On a cache line of its own.
    var sequence: RegistrationCounter { _RegistryCore.processSequence }
    static let processSequence = RegistrationCounter()
    /// The asynchronous cleanups started and not yet finished.
    let asyncCleanups = RunningAsyncCleanups()
    let onFailure: @Sendable (FinalizerFailure) -> Void
    /// Where misuse warnings go (standard error unless a test says otherwise).
    let diagnose: @Sendable (String) -> Void
    /// Registration sites already warned about, so a loop warns once.
    let warnedSites = WarnedSites()
    let signal = _SweepSignal()
    /// The background sweeper thread, started by the first watched
    /// registration (see `_SweeperThread`).
    let sweeperThread: _SweeperThread
    /// Dead watched owners' entries that a sweep took out of the tables and
    /// is running; `shutdown()` runs what they still hold.
    let inFlight = InFlightSweeps()
    /// Shutdowns running now; while there is one, registrations are also
    /// recorded as newcomers (see `shutdown()`).
    let shutdownsInProgress = Atomic<Int>(0)
    /// How long process exit (or a signal shutdown) waits for this
    /// registry's asynchronous cleanups.
    let exitTimeout: Duration
    /// Which threads run those shutdowns (for a forked child: see
    /// `ForkSafety`).
    let shutdownThreads = ShutdownThreads()
    /// When the background sweeper looks at which generation (its thread,
    /// or a test, drives it through `sweepTick(now:)`).
    let pacer: SpinLocked<SweepPacer>

    deinit {
        shardTable.deallocate()
    }

    /// Creates a core and its shards; the caller keeps the shards alive.
    static func make(
        onFailure: @escaping @Sendable (FinalizerFailure) -> Void,
        diagnose: @escaping @Sendable (String) -> Void = writeToStandardError,
        sweepInterval: Duration = .milliseconds(100), exitTimeout: Duration = .seconds(5),
        sweeperInterval: Duration? = nil
    ) -> (_RegistryCore, [Shard]) {
        // Twice the processors, rounded up to a power of two: a thread's
        // shard is picked by the processor it runs on.
        var count = 2
        while count < 2 * processorCount() && count < StatusWord.shardLimit { count <<= 1 }
        let core = _RegistryCore(
            shardCount: count, onFailure: onFailure, diagnose: diagnose, sweepInterval: sweepInterval,
            exitTimeout: exitTimeout, sweeperInterval: sweeperInterval)
        let cohorts = SweepPacer(interval: sweepInterval).youngCohorts
        let shards = (0..<count).map { Shard(core: core, index: $0, youngCohorts: cohorts) }
        for (index, shard) in shards.enumerated() { core.shardTable.set(index, shard) }
        return (core, shards)
    }

    private init(
        shardCount: Int, onFailure: @escaping @Sendable (FinalizerFailure) -> Void,
        diagnose: @escaping @Sendable (String) -> Void, sweepInterval: Duration, exitTimeout: Duration,
        sweeperInterval: Duration?
    ) {
        self.exitTimeout = exitTimeout
        pacer = SpinLocked(SweepPacer(interval: sweepInterval))
        sweeperThread = _SweeperThread(interval: sweeperInterval)
        // The first watched registration finds the sweeper "idle" and
        // starts it (`wakeSweeper()`).
        if sweeperInterval != nil { signal.idle.store(true, ordering: .sequentiallyConsistent) }
        shardTable = ShardTable(count: shardCount)
        shardMask = shardCount - 1
        self.onFailure = onFailure
        self.diagnose = diagnose
    }

    /// The shards (valid while the public registry is alive).
    var shards: [Shard] {
        (0..<shardTable.count).map { index in shardTable.withShard(index) { $0 } }
    }

    // MARK: - Registration

    /// The entry point of the inlinable host overloads: the client passes
    /// the owner's bag borrowed, straight from its stored property.
    @usableFromInline
    func _registerHost(
        owner: AnyObject, bag: borrowing FinalizerBag, runsAtExit: Bool,
        cleanup: consuming @escaping @Sendable () throws -> Void, site: _RegistrationSite
    ) -> Finalizer<Void> {
        registerHost(owner: owner, bag: bag, runsAtExit: runsAtExit, payload: .plain(consume cleanup), site: site)
    }

    /// Registers on a host owner: the finalizer takes a slot in this
    /// processor's shard's exit log and goes to the owner's bag.
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
        let finalizer = Finalizer<Resource>(
            owner: UnownedOwner(uncounted: owner), fileID: site.file,
            status: StatusWord(runsAtExit: runsAtExit, watched: false, shard: shardIndex, line: site.lineNumber),
            payload: consume payload)
        shardTable.withShard(shardIndex) { $0.enterHost(finalizer.erased) }
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
        // finalizer holds its shard.
        let shardIndex = currentProcessor() & shardMask
        let shard = shardTable.unmanagedShard(shardIndex)
        let finalizer = Finalizer<Resource>(
            owner: UnownedOwner(uncounted: owner), fileID: site.file,
            status: StatusWord(runsAtExit: runsAtExit, watched: true, shard: shardIndex, line: site.lineNumber),
            payload: consume payload)
        finalizer.home = shard.retain().toOpaque()
        let entry = WatchedEntry(counting: owner, finalizer: finalizer.erased)
        let due = shard._withUnsafeGuaranteedRef { $0.appendWatched(entry, finalizer.erased) }
        if signal.idle.load(ordering: .sequentiallyConsistent) { wakeSweeper() }
        if !due.isEmpty { _ = runDue(due, collections: 1) }
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

    // MARK: - Bookkeeping

    func report(_ failure: FinalizerFailure) {
        onFailure(failure)
    }

    var pendingCount: Int {
        shards.reduce(0) { $0 + $1.hostCount + $1.liveWatched.load(ordering: .relaxed) }
    }

    var hasWatchedEntries: Bool {
        shards.contains { $0.watchedEntries.load(ordering: .sequentiallyConsistent) > 0 }
    }

    /// Every pending finalizer (with `exitOnly`, those that run at exit),
    /// oldest registration first.
    func pendingFinalizers(exitOnly: Bool) -> [ErasedFinalizer] {
        var result: [ErasedFinalizer] = []
        for shard in shards {
            result.append(contentsOf: shard.pendingFinalizers(exitOnly: exitOnly))
        }
        if !exitOnly {
            // Diagnostics: dead owners a sweep is running right now are
            // still pending (shutdown runs those through `inFlight`).
            for batch in inFlight.snapshot() {
                result.append(contentsOf: batch.pendingFinalizers())
            }
        }
        return orderedBySequence(result, newestFirst: false) { $0.sequence }
    }

    // MARK: - Sweep and shutdown

    /// A full sweep of every generation (`FinalizerRegistry.sweep()`).
    func sweep() -> Int {
        sweep(.all)
    }

    func sweep(_ generations: Shard.Generations) -> Int {
        var due: [WatchedEntry] = []
        var collections = 0
        // Between shards this sweep holds counted collections while it waits
        // for the next shard's lock: a fork must not come then (see
        // `ForkGate`), until the batch is published.
        let stripe = ForkGate.currentStripe
        ForkGate.enter(stripe)
        for shard in shards where shard.watchedEntries.load(ordering: .relaxed) > 0 {
            let found = shard.sweep(generations, dropDetached: shard.hasManyDeadWatchedEntries)
            if !found.isEmpty {
                collections += 1
                due.append(contentsOf: found)
            }
        }
        guard !due.isEmpty else {
            ForkGate.leave(stripe)
            return 0
        }
        let batch = publishDue(due, collections: collections)
        ForkGate.leave(stripe)
        return runPublished(batch)
    }

    /// One step of the background sweeper at `now` (a monotonic instant):
    /// sweeps what `pacer` says is due and returns how many cleanups ran.
    /// The sweeper thread calls it every interval; tests call it with a
    /// clock of their own.
    func sweepTick(now: Duration) -> Int {
        let plan = pacer.withLock { $0.plan(at: now) }
        var ran = plan.sweepYoung ? sweep(.young) : 0
        if plan.promote {
            for shard in shards { shard.promote() }
        }
        if plan.sweepOld {
            let started = monotonicNow()
            ran += sweep(.old)
            let took = monotonicNow() - started
            pacer.withLock { $0.oldSweepFinished(at: now, took: took) }
        }
        return ran
    }

    /// Runs the finalizers of dead watched owners, newest first; the
    /// entries' counts are given back when the batch goes.
    ///
    /// Taken out of its table, such a finalizer is in no list `shutdown()`
    /// reads; so the batch is published while it runs, and a shutdown that
    /// comes meanwhile (the process exits while a cleanup of the batch is
    /// slow, blocked, or calls `exit()` itself) runs what the batch has not
    /// run yet. Claims make each run exactly once, whoever gets there first.
    /// Each shard that handed over entries counted a collection under its
    /// lock (`collections` in all); they end once the batch is published,
    /// and shutdown waits for collections in progress before it looks.
    func runDue(_ due: [WatchedEntry], collections: Int) -> Int {
        runPublished(publishDue(due, collections: collections))
    }

    /// The first half of `runDue`: sorts and publishes the batch, and ends
    /// its collections.
    func publishDue(_ due: [WatchedEntry], collections: Int) -> SweepBatch {
        let batch = SweepBatch(due)
        inFlight.insert(batch)
        inFlight.endCollections(collections)
        return batch
    }

    /// The second half of `runDue`: runs the published batch and withdraws it.
    func runPublished(_ batch: SweepBatch) -> Int {
        let ran = batch.fire()
        inFlight.remove(batch)
        return ran
    }

    func shutdown() -> Int {
        ShutdownRun.run([self])
    }

    /// The public registry is gone: run what shutdown runs, and detach the
    /// watched finalizers that no sweep could ever run, dropping the table
    /// that owns them, so no cycle through this core remains. Host
    /// finalizers stay with their bags (the exit logs do not own them) and
    /// still run when their owners die; their shards keep this core alive
    /// until then.
    func end() {
        _ = shutdown()
        for shard in shards {
            for entry in shard.removeAllWatched() {
                if entry.owner.isDeallocating {
                    _ = entry.withFinalizer { $0.fire(.sweep, requiringExitFlag: false) }
                } else {
                    entry.withFinalizer { $0.abandon() }
                }
                entry.release()
            }
            shard.orphanHostFinalizers()
        }
    }
}

/// A fixed table of unretained shard references, so registration reaches
/// its shard without reference counting. The public registry owns the
/// shards for as long as the table is used.
struct ShardTable: @unchecked Sendable {
    private let base: UnsafeMutablePointer<Unmanaged<Shard>>
    let count: Int

    init(count: Int) {
        self.count = count
        // Read by every registration: cache-line aligned and padded, so no
        // other allocation (a shard's lock, say) shares its line.
        base = UnsafeMutableRawPointer.allocate(
            byteCount: max(count * MemoryLayout<Unmanaged<Shard>>.stride, cacheLineSize),
            alignment: cacheLineSize
        ).bindMemory(to: Unmanaged<Shard>.self, capacity: count)
    }

    /// Fills slot `index`, once, before the core is shared.
    func set(_ index: Int, _ shard: Shard) {
        (base + index).initialize(to: Unmanaged.passUnretained(shard))
    }

    @inline(__always)
    func withShard<Result>(_ index: Int, _ body: (Shard) -> Result) -> Result {
        base[index]._withUnsafeGuaranteedRef(body)
    }

    /// Shard `index`, unretained.
    @inline(__always)
    func unmanagedShard(_ index: Int) -> Unmanaged<Shard> {
        base[index]
    }

    /// Frees the table (the shards themselves belong to the registry).
    func deallocate() {
        base.deallocate()
    }
}

/// The registration counter, alone on its cache line (and the next one: some
/// processors fetch lines in pairs), allocated once per registry.
struct RegistrationCounter: @unchecked Sendable {
    private let pointer: UnsafeMutablePointer<Atomic<UInt64>>

    init() {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: 2 * cacheLineSize, alignment: 2 * cacheLineSize)
            .bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        pointer.initialize(to: Atomic(0))
    }

    /// Adds one (relaxed: the callers order it with the shard lock) and
    /// returns the new value.
    @inline(__always)
    func next() -> UInt64 {
        pointer.pointee.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// The latest value handed out, with acquiring order.
    @inline(__always)
    func current() -> UInt64 {
        pointer.pointee.load(ordering: .acquiring)
    }

    /// Frees the counter (the owning core is being deinitialized).
    func deallocate() {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}

/// The cache line size assumed for padding (64 bytes on the x86_64 and
/// arm64 processors Finalize targets).
let cacheLineSize = 64

/// The registration sites a registry has warned about (rarely touched: only
/// on misuse).
final class WarnedSites: Sendable {
    private let lock = SpinLock()
    nonisolated(unsafe) private var sites: Set<SiteKey> = []

    /// Records `site`; true the first time.
    func insert(_ site: _RegistrationSite) -> Bool {
        lock.withLock { sites.insert(SiteKey(site)).inserted }
    }

    /// Fork handlers (`ForkSafety`).
    func lockForFork() { lock.lock() }
    func unlockAfterFork() { lock.unlock() }
}

/// A registration site as a hashable key: the `#fileID` literal's address
/// and the line.
struct SiteKey: Hashable, Sendable {
    let file: UInt
    let line: UInt32

    init(_ site: _RegistrationSite) {
        file = UInt(bitPattern: site.file.start)
        line = site.line
    }
}

/// The dead watched owners' entries one sweep runs, newest first. The batch
/// owns the entries' counts and gives them back when it goes, so whoever
/// still holds the batch (the sweep, a shutdown that found it) may fire
/// its finalizers.
final class SweepBatch: @unchecked Sendable {
    /// Oldest registration first (as the tables hold them; sorted only if
    /// several shards or generations interleave); run from the end.
    private let entries: [WatchedEntry]

    init(_ due: [WatchedEntry]) {
        entries = orderedBySequence(due, newestFirst: false) { $0.sequence }
    }

    deinit {
        for entry in entries.reversed() { entry.release() }
    }

    /// Runs every finalizer of the batch still pending, newest first, as a
    /// sweep (trigger `.sweep`); returns how many this call ran.
    func fire() -> Int {
        var ran = 0
        for entry in entries.reversed() where entry.withFinalizer({ $0.fire(.sweep, requiringExitFlag: false) }) {
            ran += 1
        }
        return ran
    }

    func pendingFinalizers() -> [ErasedFinalizer] {
        entries.compactMap { entry in
            entry.withFinalizer { $0.isPendingNow ? $0 : nil }
        }
    }
}

/// The batches being run by sweeps right now (rarely more than one), and
/// the collections on their way to becoming one.
final class InFlightSweeps: Sendable {
    private let lock = SpinLock()
    nonisolated(unsafe) private var batches: [SweepBatch] = []
    /// Shards that handed dead owners' entries to a sweep not yet published.
    private let collecting = Atomic<Int>(0)

    /// Called under a shard's lock when it hands over dead owners' entries.
    func beginCollection() {
        collecting.wrappingAdd(1, ordering: .relaxed)
    }

    /// The batch holding `count` collections is published.
    func endCollections(_ count: Int) {
        collecting.wrappingSubtract(count, ordering: .releasing)
    }

    /// Waits until every collection counted so far is published.
    func waitForCollections() {
        var spins = 0
        while collecting.load(ordering: .acquiring) > 0 { backOff(&spins) }
    }

    func insert(_ batch: SweepBatch) {
        lock.withLock { batches.append(batch) }
    }

    func remove(_ batch: SweepBatch) {
        // The batch is released by the caller, after the lock is dropped.
        lock.withLock {
            if let index = batches.lastIndex(where: { $0 === batch }) { batches.remove(at: index) }
        }
    }

    /// The batches running now, retained.
    func snapshot() -> [SweepBatch] {
        lock.withLock { batches }
    }

    /// Fork handlers (`ForkSafety`). In a child, the batches that other
    /// threads were running stay listed: their finalizers still pending
    /// there run at the child's shutdown, like any other.
    func lockForFork() { lock.lock() }
    func unlockAfterFork() { lock.unlock() }
}
