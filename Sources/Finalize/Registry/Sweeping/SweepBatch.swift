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

    /// The batch's finalizers that are still pending.
    func pendingFinalizers() -> [ErasedFinalizer] {
        entries.compactMap { entry in
            entry.withFinalizer { $0.isPendingNow ? $0 : nil }
        }
    }
}
