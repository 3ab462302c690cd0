import Synchronization

/// The dead watched owners' entries one sweep runs, newest first.
///
/// The batch owns the entries' counts (see `WatchedEntry`). The sweep that
/// made it runs it (`sweep()`) a chunk at a time and gives each chunk's
/// counts back right after running it, while the owners and finalizers are
/// still in the cache: the owners' memory and the finalizers are freed as
/// the sweep goes. A shutdown may find the same batch (`InFlightSweeps`)
/// and run what is still pending in it (`fireForShutdown()`), from another
/// thread, while the sweep is running it, and so may a diagnostic
/// (`pendingFinalizers()`). They meet in one atomic word, which holds how
/// many entries (from the end) are given back, and how many readers are
/// looking at the others:
/// - the sweep gives entries back only by moving the *released* mark past
///   them, with a compare-and-exchange from a word with no reader;
/// - a reader counts itself in and reads the mark in one step, touches
///   only the entries below it, and counts itself out when done.
/// While a reader looks, the sweep keeps what it has run and gives it back
/// with a later chunk; what it still holds at the end goes with the
/// batch's `deinit` (whoever drops the last reference). Claims make each
/// cleanup run once, whoever gets there first.
final class SweepBatch: @unchecked Sendable {
    /// Oldest registration first; run from the end.
    private let entries: [WatchedEntry]
    /// Entries given back, counted from the end, shifted left by
    /// `readerBits`; below them, the readers looking at the others.
    private let released = Atomic<Int>(0)
    private static let readerBits = 16
    /// The finalizers the sweep claimed and has not yet counted out of
    /// their shards' pending ones (`InFlightSweeps` counts them out when it
    /// withdraws the batch, and `pendingCount` subtracts them meanwhile):
    /// one counter that only the sweep writes, instead of a
    /// read-modify-write of a shard's counter per cleanup.
    let uncounted = Atomic<Int>(0)
    /// The same, by shard index (only the sweep's thread touches it; plain
    /// memory rather than an array: no uniqueness check per claim).
    private let uncountedByShard: UnsafeMutablePointer<Int>

    /// Entries run, then given back, together.
    static let chunk = 64

    /// - Parameters:
    ///   - due: the entries, owning their counts.
    ///   - inOrder: `due` is known to be in registration order (one
    ///     shard's collection: see `Shard.collect`), so the check is
    ///     skipped (it would read every finalizer once more).
    init(_ due: consuming [WatchedEntry], inOrder: Bool) {
        if inOrder {
            internalCheck(isOrderedBySequence(due) { $0.sequence }, "a shard's due entries are in registration order")
            entries = due
        } else {
            entries = orderedBySequence(due, newestFirst: false) { $0.sequence }
        }
        uncountedByShard = .allocate(capacity: StatusWord.shardLimit)
        uncountedByShard.initialize(repeating: 0, count: StatusWord.shardLimit)
    }

    deinit {
        let kept = entries.count - (released.load(ordering: .acquiring) >> Self.readerBits)
        for index in stride(from: kept - 1, through: 0, by: -1) { entries[index].release() }
        uncountedByShard.deallocate()
    }

    /// Calls `body` with each shard index and how many of its finalizers
    /// the sweep claimed without counting them out (after `sweep()`, on
    /// the sweep's thread).
    func forEachUncountedShard(_ body: (_ shard: Int, _ count: Int) -> Void) {
        for shard in 0..<StatusWord.shardLimit where uncountedByShard[shard] > 0 {
            body(shard, uncountedByShard[shard])
        }
    }

    /// The sweep that made the batch: runs every finalizer still pending,
    /// newest first (trigger `.sweep`), giving the entries back after each
    /// chunk unless a reader is looking; returns how many cleanups this call
    /// ran. Called once, by one thread.
    func sweep() -> Int {
        var ran = 0
        var end = entries.count
        // Entries from here on are given back.
        var givenBackFrom = entries.count
        while end > 0 {
            let start = max(0, end - Self.chunk)
            for index in stride(from: end - 1, through: start, by: -1) {
                entries[index].withFinalizer { finalizer in
                    guard let (payload, word) = finalizer.claim(.sweep, requiringExitFlag: false, counting: false)
                    else { return }
                    // Counted before the cleanup runs, as a claim counts
                    // (so a cleanup that reads `pendingCount` does not see
                    // itself). Only this thread writes `uncounted`.
                    ran += 1
                    uncountedByShard[word.shard] += 1
                    uncounted.store(ran, ordering: .relaxed)
                    finalizer.runClaimed(payload, word, trigger: .sweep)
                }
            }
            // Only this thread moves the mark, so the word is known unless a
            // reader is in: then nothing is given back until a later chunk.
            let (exchanged, _) = released.compareExchange(
                expected: (entries.count - givenBackFrom) << Self.readerBits,
                desired: (entries.count - start) << Self.readerBits, ordering: .acquiringAndReleasing)
            if exchanged {
                for index in stride(from: givenBackFrom - 1, through: start, by: -1) { entries[index].release() }
                givenBackFrom = start
            }
            end = start
        }
        return ran
    }

    /// Counts a reader in and returns how many entries (from the front) it
    /// may look at, until `leave()`: those the sweep has not given back.
    private func enter() -> Int {
        let (word, _) = released.wrappingAdd(1, ordering: .acquiringAndReleasing)
        return entries.count - (word >> Self.readerBits)
    }

    /// Counts a reader out.
    private func leave() {
        released.wrappingSubtract(1, ordering: .releasing)
    }

    /// For a shutdown: runs every finalizer of the batch still pending,
    /// newest first, as a sweep (trigger `.sweep`); returns how many this
    /// call ran. Safe while the sweep runs the batch.
    func fireForShutdown() -> Int {
        var ran = 0
        let held = enter()
        defer { leave() }
        for index in stride(from: held - 1, through: 0, by: -1)
        where entries[index].withFinalizer({ $0.fire(.sweep, requiringExitFlag: false) }) {
            ran += 1
        }
        return ran
    }

    /// The batch's finalizers that are still pending (for diagnostics).
    /// Safe while the sweep runs the batch.
    func pendingFinalizers() -> [ErasedFinalizer] {
        let held = enter()
        defer { leave() }
        return entries[..<held].compactMap { entry in
            entry.withFinalizer { $0.isPendingNow ? $0 : nil }
        }
    }
}
