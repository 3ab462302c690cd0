import Synchronization

/// The dead watched owners that sweeps have taken out of the tables and not
/// yet run, so that a shutdown can still find them.
///
/// Taken out of its table, such an owner's finalizer is in no list a
/// shutdown reads. So every sweep goes through two steps, both here:
/// 1. *Collection.* A shard that hands dead owners' entries to a sweep
///    counts a collection (`beginCollection()`), under its lock, in the
///    same critical section that removes the entries.
/// 2. *Publication.* The sweep publishes the entries as one batch and ends
///    its collections (`publish(_:collections:)`), then runs the batch,
///    giving its entries back as it goes, and withdraws it (`run(_:in:)`),
///    counting the finalizers it claimed out of their shards.
/// A shutdown first waits until every collection counted so far is
/// published (no user code runs in between, so the wait is short), then
/// runs what the published batches have not run yet and still hold
/// (`runForShutdown()`, see `SweepBatch`):
/// a process that exits while a sweep's cleanup is slow, blocked or calls
/// `exit()` itself still runs the rest of that batch. Claims make each
/// cleanup run once, whoever gets there first.
final class InFlightSweeps: Sendable {
    private let lock = SpinLock()
    /// The published batches (rarely more than one).
    nonisolated(unsafe) private var batches: [SweepBatch] = []
    /// Collections counted and not yet published.
    private let collecting = Atomic<Int>(0)

    /// Called under a shard's lock when it hands over dead owners' entries.
    func beginCollection() {
        collecting.wrappingAdd(1, ordering: .relaxed)
    }

    /// Publishes `due` as one batch and ends the `collections` that
    /// gathered it. One collection's entries come from one shard, in
    /// registration order; several are put in order.
    func publish(_ due: consuming [WatchedEntry], collections: Int) -> SweepBatch {
        let batch = SweepBatch(due, inOrder: collections == 1)
        lock.withLock { batches.append(batch) }
        collecting.wrappingSubtract(collections, ordering: .releasing)
        return batch
    }

    /// Runs a published batch, newest first, giving its entries back as it
    /// goes (`SweepBatch.sweep()`), and withdraws it; returns how many
    /// cleanups ran.
    func run(_ batch: SweepBatch, in core: _RegistryCore) -> Int {
        let ran = batch.sweep()
        lock.withLock {
            if let index = batches.lastIndex(where: { $0 === batch }) { batches.remove(at: index) }
            // Under the lock, so that `pendingWatched(in:)` sees the claims
            // either in the batch or in the shards, never in both or neither.
            batch.forEachUncountedShard { shard, count in
                core.shards.withShard(shard) { $0.watchedLeftPending(count) }
            }
        }
        // The batch is released by the caller, after the lock is dropped.
        return ran
    }

    /// For a shutdown: runs what every batch published so far, or being
    /// collected now, has not run yet; returns how many cleanups ran.
    func runForShutdown() -> Int {
        waitForCollections()
        var ran = 0
        for batch in lock.withLock({ batches }) { ran += batch.fireForShutdown() }
        return ran
    }

    /// The pending watched finalizers of `core` (whose `inFlight` this
    /// is): the shards' counts, less the claims of the sweeps running now
    /// that these do not count yet. A snapshot.
    func pendingWatched(in core: _RegistryCore) -> Int {
        lock.withLock {
            let claimed = batches.reduce(0) { $0 + $1.uncounted.load(ordering: .relaxed) }
            return max(0, core.shards.sum { $0.liveWatched } - claimed)
        }
    }

    /// The batches' finalizers that are still pending (for diagnostics).
    func pendingFinalizers() -> [ErasedFinalizer] {
        lock.withLock { batches }.flatMap { $0.pendingFinalizers() }
    }

    /// Waits until every collection counted so far is published.
    func waitForCollections() {
        var spins = 0
        while collecting.load(ordering: .acquiring) > 0 { backOff(&spins) }
    }

    /// Fork handlers (`ForkSafety`). In a child, the batches that other
    /// threads were running stay listed: their finalizers still pending
    /// there run at the child's shutdown, like any other.
    func lockForFork() { lock.lock() }
    func unlockAfterFork() { lock.unlock() }
}
