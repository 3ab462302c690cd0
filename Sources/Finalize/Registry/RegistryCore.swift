import Synchronization

/// The state of one registry.
///
/// Ownership, chosen so that no reference count is shared between threads
/// on the hot paths:
/// - the public ``FinalizerRegistry`` owns the core, and through the core's
///   `shards` table the shards (the table holds one reference to each on
///   the registry's behalf, given back when the registry ends);
/// - each shard owns the core (`Shard.core`);
/// - finalizers point to their shard without owning it: a host finalizer
///   through its exit-log slot (a shard with pending host finalizers keeps
///   itself once the registry has ended), a watched one directly. A watched
///   finalizer touches its shard while it is pending, after a claim by a
///   sweep, a shutdown or the registry's end (threads that keep the
///   shards), or under its `busy` bit when its own caller claims it; the
///   registry's end claims or detaches every pending watched finalizer
///   before the shards are given back. What runs after a caller's claim
///   and needs the core (a failure passed on with it, an asynchronous
///   cleanup's task) keeps the core instead (`Finalizer.keepCore()`);
/// - the core reads its shards from the table without reference counting;
///   it does so only while the public registry is alive (registration,
///   sweeps, shutdown, diagnostics), and on the sweeper thread, which is
///   joined before the registry gives its shards back, or, if the registry
///   ends inside a cleanup of that thread's sweep, gives them back itself
///   once the sweep is done (`Sweeper.stopAndWait()`).
/// When the registry ends it empties the watched tables (which own their
/// finalizers); host finalizers still pending keep their shard, and so the
/// core, until their owners die.
///
/// What the core does lives beside it: registration (`Registration.swift`),
/// sweeping (`Sweeping/`), shutdown and the registry's end (`Shutdown/`).
@usableFromInline
final class _RegistryCore: Sendable {
    /// The shards, by index (`currentProcessor() & shardMask`).
    let shards: ShardTable
    let shardMask: Int
    /// The process's registration counter, held here so that a
    /// registration reads it without a global's lazy-initialization check.
    let counter = RegistrationCounter.process
    /// The asynchronous cleanups started and not yet finished.
    let asyncCleanups = RunningAsyncCleanups()
    let onFailure: @Sendable (FinalizerFailure) -> Void
    /// Where misuse warnings go (standard error unless a test says otherwise).
    let diagnose: @Sendable (String) -> Void
    /// Registration sites already warned about, so a loop warns once.
    let warnedSites = WarnedSites()
    /// The background sweeper: its thread (started by the first watched
    /// registration), its signal and its pacing.
    let sweeper: Sweeper
    /// Dead watched owners' entries that a sweep took out of the tables and
    /// is running; `shutdown()` runs what they still hold.
    let inFlight = InFlightSweeps()
    /// Shutdowns running now; while there is one, registrations are also
    /// recorded as newcomers (see `ShutdownRun`).
    let shutdownsInProgress = Atomic<Int>(0)
    /// How long process exit (or a signal shutdown) waits for this
    /// registry's asynchronous cleanups.
    let exitTimeout: Duration
    /// Which threads run those shutdowns (for a forked child: see
    /// `ForkSafety`).
    let shutdownThreads = ShutdownThreads()

    /// Creates a core and its shards.
    ///
    /// - Parameters:
    ///   - sweeperInterval: the sweeper thread's tick, or nil for none.
    ///   - pacing: the interval the sweeper's pacer assumes.
    init(
        onFailure: @escaping @Sendable (FinalizerFailure) -> Void,
        diagnose: @escaping @Sendable (String) -> Void, exitTimeout: Duration,
        sweeperInterval: Duration?, pacing: Duration
    ) {
        // Twice the processors, rounded up to a power of two: a thread's
        // shard is picked by the processor it runs on, or by its own number
        // where the system does not say (`currentProcessor()`).
        var count = 2
        while count < 2 * processorCount() && count < StatusWord.shardLimit { count <<= 1 }
        shards = ShardTable(count: count)
        shardMask = count - 1
        self.exitTimeout = exitTimeout
        sweeper = Sweeper(interval: sweeperInterval, pacing: pacing)
        self.onFailure = onFailure
        self.diagnose = diagnose
        let cohorts = Sweeper.Pacer(interval: pacing).youngCohorts
        for index in 0..<count {
            shards.fill(index, with: Shard(core: self, index: index, youngCohorts: cohorts))
        }
    }

    deinit {
        shards.deallocate()
    }

    func report(_ failure: FinalizerFailure) {
        onFailure(failure)
    }

    // MARK: - Diagnostics

    var pendingCount: Int {
        shards.sum { $0.hostCount } + inFlight.pendingWatched(in: self)
    }

    var hasWatchedEntries: Bool {
        shards.contains { $0.watchedEntries.load(ordering: .sequentiallyConsistent) > 0 }
    }

    /// Every pending finalizer (with `exitOnly`, those that run at exit)
    /// registered up to `horizon`, oldest registration first.
    func pendingFinalizers(exitOnly: Bool, upTo horizon: UInt64 = .max) -> [ErasedFinalizer] {
        var result: [ErasedFinalizer] = []
        appendPendingFinalizers(exitOnly: exitOnly, upTo: horizon, to: &result)
        sortBySequence(&result) { $0.sequence }
        return result
    }

    /// Appends the pending finalizers (see `pendingFinalizers`), in no
    /// particular order, to `result`.
    func appendPendingFinalizers(exitOnly: Bool, upTo horizon: UInt64, to result: inout [ErasedFinalizer]) {
        shards.forEachShard { $0.appendPendingFinalizers(exitOnly: exitOnly, upTo: horizon, to: &result) }
        if !exitOnly {
            // Diagnostics: dead owners a sweep is running right now are
            // still pending (shutdown runs those through `inFlight`).
            result.append(contentsOf: inFlight.pendingFinalizers().lazy.filter { $0.sequence <= horizon })
        }
    }
}
