/// One shutdown over one or more registries (process exit: all of them):
/// which finalizers run, in which order.
///
/// It first announces itself to each core (`shutdownsInProgress`), so that
/// every registration from then on is also recorded as a newcomer, then
/// reads the process-wide registration counter: the *horizon*. It sweeps
/// (dead owners are overdue, whatever their flag), runs what other sweeps
/// took out of their tables and have not run yet, and queues the pending
/// `runsAtExit` finalizers up to the horizon, oldest first. `next()` hands
/// out the newest; before each, finalizers registered since (the recorded
/// newcomers, all newer than anything queued) go first, up to a budget of
/// at least `newcomerMinimum`, so a registration storm (or a cleanup that
/// always registers another) cannot keep a shutdown from returning.
///
/// Used by one thread or task at a time; `finish()` must be called once.
final class ShutdownRun {
    /// Newcomers a shutdown runs at the least.
    static let newcomerMinimum = 65_536

    private let cores: [_RegistryCore]
    private var cursors: [[Int]]
    private let horizon: UInt64
    private var seen: UInt64
    private var queue: [ErasedFinalizer]
    private var newcomerBudget: Int
    /// Cleanups run (or started) so far, the sweep's included.
    var ran = 0

    init(_ cores: [_RegistryCore]) {
        self.cores = cores
        for core in cores {
            core.shutdownsInProgress.wrappingAdd(1, ordering: .sequentiallyConsistent)
            core.shutdownThreads.begin()
        }
        cursors = cores.map { core in core.shards.all.map { $0.newcomerCursor() } }
        horizon = RegistrationCounter.process.current()
        seen = horizon
        var pending: [ErasedFinalizer] = []
        for core in cores {
            ran += core.sweep()
            // Dead owners that another sweep (or an outer one on this
            // thread) took and has not run yet.
            ran += core.inFlight.runForShutdown()
            core.appendPendingFinalizers(exitOnly: true, upTo: horizon, to: &pending)
        }
        sortBySequence(&pending) { $0.sequence }
        queue = pending
        newcomerBudget = max(Self.newcomerMinimum, 2 * queue.count)
    }

    /// The next finalizer to run, newest first; nil when done.
    func next() -> ErasedFinalizer? {
        let latest = RegistrationCounter.process.current()
        if latest > seen && newcomerBudget > 0 {
            var newcomers: [ErasedFinalizer] = []
            for (coreIndex, core) in cores.enumerated() {
                for shardIndex in cursors[coreIndex].indices {
                    let shard = core.shards[shardIndex]
                    newcomers.append(contentsOf: shard.newcomers(since: &cursors[coreIndex][shardIndex]))
                }
            }
            let horizon = horizon
            newcomers = newcomers.filter { $0.sequence > horizon && $0.isPendingAtExit }
            newcomerBudget -= newcomers.count
            queue.append(contentsOf: orderedBySequence(newcomers, newestFirst: false) { $0.sequence })
            seen = latest
        }
        return queue.popLast()
    }

    /// Ends the announcement (once).
    func finish() {
        for core in cores {
            core.shutdownThreads.end()
            core.shutdownsInProgress.wrappingSubtract(1, ordering: .sequentiallyConsistent)
            core.shards.forEachShard { $0.clearNewcomersIfIdle() }
        }
    }

    /// A whole synchronous shutdown: asynchronous cleanups are started as
    /// tracked tasks, not awaited. Returns how many cleanups ran or started.
    static func run(_ cores: [_RegistryCore]) -> Int {
        let run = ShutdownRun(cores)
        defer { run.finish() }
        while let next = run.next() {
            if next.fire(.shutdown, requiringExitFlag: true) { run.ran += 1 }
        }
        return run.ran
    }

    /// A whole asynchronous shutdown: every cleanup awaited in turn, then
    /// every asynchronous cleanup still running (started by owner deaths,
    /// sweeps, `runNow()`) awaited too.
    static func runAwaiting(_ cores: [_RegistryCore]) async -> Int {
        let run = ShutdownRun(cores)
        while let next = run.next() {
            if await next.fireAwaiting(.shutdown, requiringExitFlag: true) { run.ran += 1 }
        }
        run.finish()
        for core in cores { await core.asyncCleanups.drain() }
        return run.ran
    }
}
