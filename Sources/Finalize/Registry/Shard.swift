import Synchronization
import _FinalizeShims

/// One slice of a registry's bookkeeping, with its own lock.
///
/// Registrations go to the shard of the processor the registering thread
/// runs on (or, where the system does not say, of the thread's own number:
/// see `currentProcessor()`), so threads registering at once rarely meet on
/// a lock or a cache line.
///
/// - Host finalizers each hold a slot of the shard's exit log (`ExitLog`):
///   registration writes the finalizer's address into a free slot, and the
///   finalizer gives the slot back once it has run or been detached. The
///   log does not own them (their owners' bags do); a slot is given back,
///   under this lock, before its bag can release the finalizer. So every
///   finalizer in the log is alive.
/// - Watched finalizers live in tables of entries that own them, by age
///   (see `Sweeper.Pacer`): `young`, in cohorts by registration time, and
///   `old`. Entries of finalizers
///   that ran or were detached are dropped lazily, in amortized compactions
///   that keep the tables within about twice their live entries.
final class Shard: @unchecked Sendable {
    struct State: ~Copyable {
        var log = ExitLog()
        var young: Cohorts<WatchedEntry>
        var old = _EntryBuffer<WatchedEntry>()
        var sweepWatchedAt = Shard.minimumCompaction
        /// The state of the generator that picks the entries a
        /// registration compaction samples first.
        var sampler: UInt64
        /// Registration compactions that scanned the tables.
        var compactionScans = 0
        /// Registrations made while a shutdown runs (see
        /// `_RegistryCore.shutdown()`), retained.
        var newcomers: [ErasedFinalizer] = []

        var watchedCount: Int { young.count + old.count }

        init(youngCohorts: Int, seed: UInt64) {
            young = Cohorts(count: youngCohorts)
            sampler = seed
        }

        /// `body`'s answer about the watched entry at `index` in
        /// registration order (the old table, then the young cohorts).
        func withWatchedEntry<Result>(at index: Int, _ body: (borrowing WatchedEntry) -> Result) -> Result {
            if index < old.count { return old.withEntry(at: index, body) }
            return young.withEntry(at: index - old.count, body)
        }

        /// A number in `0..<bound` (SplitMix64).
        mutating func sample(below bound: Int) -> Int {
            sampler &+= 0x9E37_79B9_7F4A_7C15
            var z = sampler
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    static let minimumCompaction = 64

    /// The registry core; shards own it, so that what keeps a shard alive
    /// (the registry, or its pending host finalizers) keeps the core too.
    let core: _RegistryCore
    let index: Int
    /// Guards `lockedState`.
    let stateLock = SpinLock()
    @exclusivity(unchecked) private nonisolated(unsafe) var lockedState: State
    /// Watched finalizers registered in this shard, ever. Written only
    /// under the lock, so a registration stores it without a
    /// read-modify-write; read lock-free.
    private let watchedRegistered = Atomic<Int>(0)
    /// Watched finalizers of this shard that left pending (ran or were
    /// detached), ever; counted by whoever claims one.
    private let watchedFinished = Atomic<Int>(0)
    /// Watched entry count, mirrored for lock-free reads (the sweeper's
    /// idle check).
    let watchedEntries = Atomic<Int>(0)

    /// Keeps neighbouring shards (allocated one after another) off each
    /// other's cache lines: two processors working on two shards must not
    /// share a line.
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init(core: _RegistryCore, index: Int, youngCohorts: Int) {
        self.core = core
        self.index = index
        lockedState = State(youngCohorts: youngCohorts, seed: UInt64(truncatingIfNeeded: index) &+ 0x5EED)
    }

    /// Runs `body` with the shard's state, under its lock.
    @inline(__always)
    private func withState<Result>(_ body: (inout State) -> Result) -> Result {
        stateLock.lock()
        defer { stateLock.unlock() }
        checkWatchedCount(lockedState)
        return body(&lockedState)
    }

    /// Under the lock: the lock-free mirror of the watched tables' size is
    /// up to date (every change to the tables stores it before the lock is
    /// released).
    @inline(__always)
    private func checkWatchedCount(_ state: borrowing State) {
        internalCheck(
            watchedEntries.load(ordering: .relaxed) == state.watchedCount,
            "shard \(index): \(watchedEntries.load(ordering: .relaxed)) watched entries mirrored, "
                + "\(state.watchedCount) in the tables")
    }

    // MARK: - Hosts

    /// Numbers a new host finalizer and gives it a slot in the exit log, in
    /// one critical section.
    ///
    /// The caller holds the finalizer; passing it unretained spares a
    /// retain and a release per registration.
    @inline(__always)
    func enterHost(_ unmanaged: Unmanaged<ErasedFinalizer>) {
        stateLock.lock()
        unmanaged._withUnsafeGuaranteedRef { finalizer in
            // The number first, then the shutdown check (see `ShutdownRun.init`).
            finalizer.sequence = core.counter.next()
            finalizer.home = lockedState.log.insert(finalizer, shard: self)
        }
        if core.shutdownsInProgress.load(ordering: .sequentiallyConsistent) > 0 {
            lockedState.newcomers.append(unmanaged.takeUnretainedValue())
        }
        stateLock.unlock()
    }

    /// A host finalizer that ran or was detached gives its slot back.
    @inline(__always)
    func leaveHost(_ slot: UnsafeMutableRawPointer) {
        stateLock.lock()
        let orphanDone = lockedState.log.remove(slot)
        stateLock.unlock()
        if orphanDone {
            // The registry is gone and this was the shard's last pending
            // host finalizer: drop the reference that kept the shard.
            Unmanaged.passUnretained(self).release()
        }
    }

    /// Host finalizers pending in this shard. (The log also holds those
    /// whose cleanup is running, so this looks at each one's state.)
    var hostCount: Int {
        withState { state in
            var count = 0
            state.log.forEachFinalizer { if $0.isPendingNow { count += 1 } }
            return count
        }
    }

    /// Where the host finalizers whose cleanup is running now were
    /// registered (they keep their slot until it ends).
    func runningHostSites() -> [(fileID: String, line: Int)] {
        withState { state in
            var sites: [(fileID: String, line: Int)] = []
            state.log.forEachFinalizer { if !$0.isPendingNow { sites.append($0.registrationSite) } }
            return sites
        }
    }

    /// The registry is ending: host finalizers still pending keep this
    /// shard (and its core) alive until the last of them settles.
    func orphanHostFinalizers() {
        let keep = withState { $0.log.orphanIfLive() }
        if keep { _ = Unmanaged.passUnretained(self).retain() }
    }

    /// The watched tables' allocated capacity, in entries (for tests: a
    /// dead registry's tables must be freed).
    var watchedCapacity: Int {
        withState { $0.young.capacity + $0.old.capacity }
    }

    // MARK: - Watched

    /// Numbers and adds a watched entry (`finalizer` is its finalizer);
    /// returns the entries an amortized sweep found due, to be run by the
    /// caller after the lock is released.
    func appendWatched(_ entry: consuming WatchedEntry, _ finalizer: ErasedFinalizer) -> [WatchedEntry] {
        // Locked by hand rather than through `withState`: a closure would
        // capture `entry` and so copy it.
        stateLock.lock()
        defer { stateLock.unlock() }
        checkWatchedCount(lockedState)
        finalizer.sequence = core.counter.next()
        watchedRegistered.store(watchedRegistered.load(ordering: .relaxed) + 1, ordering: .relaxed)
        lockedState.young.append(entry)
        if core.shutdownsInProgress.load(ordering: .sequentiallyConsistent) > 0 {
            lockedState.newcomers.append(finalizer)
        }
        let count = lockedState.watchedCount
        guard count >= lockedState.sweepWatchedAt else {
            if count == 1 {
                // The tables were empty: sequentially consistent, paired
                // with the sweeper's idle check (it may have seen them
                // empty and gone to sleep; the registering thread then
                // sees it idle and wakes it).
                watchedEntries.store(count, ordering: .sequentiallyConsistent)
            } else {
                // The mirror already said "not empty", and every store to
                // it happens under this lock, so this store cannot be the
                // one the idle check misses.
                watchedEntries.store(count, ordering: .relaxed)
            }
            return []
        }
        return compact(&lockedState)
    }

    /// Entries a registration compaction samples before it decides to scan.
    static let compactionSamples = 32
    /// Tables up to this size are scanned without sampling first.
    static let compactionScansOutright = 1_024

    /// A registration's amortized compaction (the tables reached
    /// `sweepWatchedAt`): keeps the tables within about twice their live
    /// entries, and runs the dead owners' cleanups it finds.
    ///
    /// A scan reads every owner's header and costs a cache miss per
    /// scattered owner, so a large table is sampled first: a scan happens
    /// only if the counters say that more than a quarter of the entries'
    /// finalizers ran or were detached, or if one of `compactionSamples`
    /// entries picked at random has a dead owner or a finalizer no longer
    /// pending. Otherwise the next compaction waits until the tables have
    /// doubled again. If half the entries or more were dead, all samples
    /// would miss them with probability 2⁻³², so the bound holds, and
    /// growing tables of live owners (the usual case) are not rescanned.
    private func compact(_ state: inout State) -> [WatchedEntry] {
        let count = state.watchedCount
        // Finalizers that ran or were detached (the count may lag a claim
        // on another thread; such an entry waits for the next compaction).
        let finished = count - liveWatched
        // A sampled finalizer that ran or was detached means the scan must
        // drop such entries, whatever the counters (which may lag) say.
        var sampledFinished = false
        let scan = Self.compactionScans(
            count: count, finished: finished, pick: { state.sample(below: count) },
            isDead: { index in
                state.withWatchedEntry(at: index) { entry in
                    if entry.owner.isDeallocating { return true }
                    sampledFinished = !entry.withFinalizer { $0.isPendingNow }
                    return sampledFinished
                }
            })
        guard scan else {
            state.sweepWatchedAt = 2 * count
            // Sequentially consistent: pairs with the sweeper's idle check.
            watchedEntries.store(count, ordering: .sequentiallyConsistent)
            return []
        }
        // Dropping the entries of finalizers that ran or were detached
        // costs a look at every live owner's finalizer: only when there
        // are some.
        state.compactionScans += 1
        let dropFinished = count <= Self.compactionScansOutright || finished > 0 || sampledFinished
        let due = collectDue(&state, .all, dropDetached: dropFinished)
        state.sweepWatchedAt = max(Self.minimumCompaction, 2 * state.watchedCount)
        return due
    }

    /// The decision of `compact(_:)`: whether a registration compaction
    /// scans tables of `count` entries, `finished` of whose finalizers the
    /// counters say ran or were detached. `pick` picks an entry's index,
    /// `isDead` tells whether that entry's owner is dead or its finalizer
    /// no longer pending.
    static func compactionScans(
        count: Int, finished: Int, pick: () -> Int, isDead: (Int) -> Bool
    ) -> Bool {
        if count <= compactionScansOutright || finished > count / 4 { return true }
        for _ in 0..<compactionSamples where isDead(pick()) { return true }
        return false
    }

    /// Registration compactions that scanned the tables (for tests).
    var compactionScanCount: Int {
        withState { $0.compactionScans }
    }

    /// Which watched tables a sweep looks at.
    enum Generations {
        case young, old, all
    }

    /// Removes every watched entry of `generations` whose owner is dead
    /// (and, with `dropDetached`, every entry whose finalizer is no longer
    /// pending). The dead owners' entries are returned; their unowned
    /// counts are released with their batch, after the claim (see `SweepBatch`).
    func sweep(_ generations: Generations, dropDetached: Bool) -> [WatchedEntry] {
        withState { state in collectDue(&state, generations, dropDetached: dropDetached) }
    }

    /// Moves the oldest young cohort to the old table (see `Sweeper.Pacer`).
    func promote() {
        withState { state in state.young.promote(into: &state.old) }
    }

    /// Entries per generation (for tests of the pacing).
    var generationCounts: (young: Int, old: Int) {
        withState { ($0.young.count, $0.old.count) }
    }

    /// After a watched finalizer left pending (run or detached while its
    /// owner may live). Only a count: its entry stays until the next sweep or
    /// registration compaction drops it, so `runNow()` and `detach()` never
    /// take the shard's lock (the cleanup and resource are already gone;
    /// what waits is the entry and the finalizer's 72 bytes).
    @inline(__always)
    func watchedLeftPending(_ count: Int = 1) {
        watchedFinished.wrappingAdd(count, ordering: .relaxed)
    }

    /// Pending watched finalizers in this shard (a snapshot).
    var liveWatched: Int {
        let finished = watchedFinished.load(ordering: .relaxed)
        return max(0, watchedRegistered.load(ordering: .relaxed) - finished)
    }

    /// Whether enough watched entries are dead (their finalizers ran or were
    /// detached while the owners live) for a sweep to drop them too: more
    /// than half as many as the live ones. Dropping costs a look at every
    /// entry's finalizer, so this keeps that cost proportional to the dead
    /// entries, and a sweep over live entries cheap.
    var hasManyDeadWatchedEntries: Bool {
        let live = liveWatched
        let dead = watchedEntries.load(ordering: .relaxed) - live
        return dead > 0 && dead > live / 2
    }

    // MARK: - Snapshots

    /// Appends every finalizer of this shard that is pending (with
    /// `exitOnly`, and runs at exit) and was registered up to `horizon`,
    /// for shutdown and diagnostics: strong references, taken under the
    /// lock. The host finalizers come in exit-log order (registration order
    /// until a freed slot is reused), then the watched ones in registration
    /// order: two ordered runs, which the caller's sort merges.
    func appendPendingFinalizers(exitOnly: Bool, upTo horizon: UInt64, to result: inout [ErasedFinalizer]) {
        withState { state in
            let wanted: (ErasedFinalizer) -> Bool = {
                (exitOnly ? $0.isPendingAtExit : $0.isPendingNow) && $0.sequence <= horizon
            }
            state.log.forEachFinalizerOldestFirst { finalizer in
                if wanted(finalizer) { result.append(finalizer) }
            }
            // Old entries, then young ones: registration order.
            let visit: (borrowing WatchedEntry) -> Void = { entry in
                entry.withFinalizer { finalizer in
                    if wanted(finalizer) { result.append(finalizer) }
                }
            }
            state.old.forEachFromOldest(visit)
            state.young.forEachFromOldest(visit)
        }
    }

    /// Starts recording newcomers for a shutdown; returns where its reading
    /// starts.
    func newcomerCursor() -> Int {
        withState { $0.newcomers.count }
    }

    /// The newcomers recorded since `cursor` (which moves past them).
    func newcomers(since cursor: inout Int) -> [ErasedFinalizer] {
        withState { state in
            let start = min(cursor, state.newcomers.count)
            cursor = state.newcomers.count
            return Array(state.newcomers[start...])
        }
    }

    /// The last shutdown finished: forget the newcomers, unless another
    /// shutdown started meanwhile.
    func clearNewcomersIfIdle() {
        withState { state in
            if core.shutdownsInProgress.load(ordering: .sequentiallyConsistent) == 0 {
                state.newcomers = []
            }
        }
    }

    /// Empties the watched tables (the registry is ending); the entries are
    /// returned for the caller to settle and release. Host finalizers stay
    /// in the log: they leave it when their bags run them.
    func removeAllWatched() -> [WatchedEntry] {
        withState { state in
            var entries = state.young.removeAll()
            entries.append(contentsOf: state.old.removeAll())
            watchedEntries.store(0, ordering: .sequentiallyConsistent)
            return entries
        }
    }

    // MARK: - Under the lock

    /// Takes the dead owners' entries of `generations` out of the tables
    /// (and, with `dropDetached`, drops the entries of finalizers no longer
    /// pending); with any found, counts a collection, in this critical
    /// section, so that a shutdown that finds the entries gone from the
    /// table also finds the collection pending (see `InFlightSweeps`).
    private func collectDue(
        _ state: inout State, _ generations: Generations, dropDetached: Bool
    ) -> [WatchedEntry] {
        var due: [WatchedEntry] = []
        collect(&state, generations, into: &due, dropDetached: dropDetached)
        if !due.isEmpty { core.inFlight.beginCollection() }
        // Sequentially consistent: pairs with the sweeper's idle check.
        watchedEntries.store(state.watchedCount, ordering: .sequentiallyConsistent)
        return due
    }

    /// Collects in registration order: the old table, then the young
    /// cohorts oldest first (each table is in registration order, and
    /// every old entry is older than every young one), so one shard's due
    /// entries need no sort (`SweepBatch`).
    private func collect(
        _ state: inout State, _ generations: Generations, into due: inout [WatchedEntry], dropDetached: Bool
    ) {
        if generations != .young {
            collect(&state.old, into: &due, dropDetached: dropDetached)
        }
        if generations != .old {
            state.young.forEachCohortFromOldest { collect(&$0, into: &due, dropDetached: dropDetached) }
        }
        if dropDetached && generations == .all {
            state.sweepWatchedAt = max(Self.minimumCompaction, 2 * state.watchedCount)
        }
    }

    private func collect(
        _ table: inout _EntryBuffer<WatchedEntry>, into due: inout [WatchedEntry], dropDetached: Bool
    ) {
        table.removeAll { entry in
            !entry.owner.isDeallocating && !(dropDetached && !entry.withFinalizer { $0.isPendingNow })
        } removed: { entry in
            // Asking again is sound: an owner never stops deallocating.
            if entry.owner.isDeallocating {
                // The claim must come before the unowned count goes:
                // the batch releases the entry after firing the finalizer.
                due.append(entry)
            } else {
                entry.release()
            }
        } lookingAhead: { entry in
            _finalize_prefetch(entry.owner.pointer)
        }
    }
}
