import Synchronization

/// A watched owner in a shard's table: the entry holds the owner's unowned
/// count, so a sweep may test the owner for as long as the entry exists.
struct _WatchedEntry: Sendable {
    let owner: _UnownedOwner
    let finalizer: any _AnyFinalizer
}

/// One slice of a registry's bookkeeping, with its own lock.
///
/// Registrations go to the shard of the processor the registering thread
/// runs on, so threads registering at once rarely meet on a lock. Nothing is
/// removed eagerly when a finalizer runs or is detached (the release path
/// takes no shard lock at all); dead entries are dropped in amortized
/// compactions, which keep each table within about twice its live entries.
final class _Shard: Sendable {
    struct State {
        /// Finalizers of host owners (the owner's bag runs them; this list is
        /// what shutdown and `pending` see).
        var hosts: [any _AnyFinalizer] = []
        /// Finalizers of other owners, swept when their owner dies.
        var watched: [_WatchedEntry] = []
        var compactHostsAt = _Shard.minimumCompaction
        var sweepWatchedAt = _Shard.minimumCompaction
    }

    static let minimumCompaction = 64
    /// Dead host entries tolerated before a release compacts.
    static let releaseCompactionSlack = 1024

    let state = Mutex(State())
    /// Pending finalizers in this shard (exact; decremented by whoever
    /// claims one).
    let liveHosts = Atomic<Int>(0)
    let liveWatched = Atomic<Int>(0)
    /// Entry counts, mirrored for lock-free reads.
    let hostEntries = Atomic<Int>(0)
    let watchedEntries = Atomic<Int>(0)

    init() {}

    func appendHost(_ finalizer: any _AnyFinalizer) {
        liveHosts.wrappingAdd(1, ordering: .relaxed)
        state.withLock { state in
            state.hosts.append(finalizer)
            if state.hosts.count >= state.compactHostsAt {
                compactHosts(&state)
            }
            hostEntries.store(state.hosts.count, ordering: .relaxed)
        }
    }

    /// Adds a watched entry; returns the cleanups an amortized sweep found
    /// due, to be run by the caller after the lock is released.
    func appendWatched(_ entry: _WatchedEntry) -> [_WatchedEntry] {
        liveWatched.wrappingAdd(1, ordering: .relaxed)
        return state.withLock { state in
            state.watched.append(entry)
            var due: [_WatchedEntry] = []
            if state.watched.count >= state.sweepWatchedAt {
                collect(&state, into: &due, dueOwners: true, dropDetached: true)
            }
            // Sequentially consistent: pairs with the sweeper's idle check.
            watchedEntries.store(state.watched.count, ordering: .sequentiallyConsistent)
            return due
        }
    }

    /// Removes every watched entry whose owner is dead (and, with
    /// `dropDetached`, every entry whose finalizer is no longer pending).
    /// The dead owners' entries are returned; their unowned counts are
    /// released by `_RegistryCore.runDue(_:)` after the claim.
    func sweep(dropDetached: Bool) -> [_WatchedEntry] {
        state.withLock { state in
            var due: [_WatchedEntry] = []
            collect(&state, into: &due, dueOwners: true, dropDetached: dropDetached)
            watchedEntries.store(state.watched.count, ordering: .sequentiallyConsistent)
            return due
        }
    }

    /// After a host finalizer left pending: compacts the host list if many
    /// entries died since the last compaction.
    func hostLeftPending() {
        let live = liveHosts.wrappingSubtract(1, ordering: .relaxed).newValue
        guard hostEntries.load(ordering: .relaxed) > 2 * live + Self.releaseCompactionSlack else { return }
        state.withLock { state in
            compactHosts(&state)
            hostEntries.store(state.hosts.count, ordering: .relaxed)
        }
    }

    /// After a watched finalizer left pending (run or detached while its
    /// owner may live): drops entries of dead finalizers if many piled up.
    /// Never runs anything: entries of dead owners stay for the sweep.
    func watchedLeftPending() {
        let live = liveWatched.wrappingSubtract(1, ordering: .relaxed).newValue
        guard watchedEntries.load(ordering: .relaxed) > 2 * live + Self.releaseCompactionSlack else { return }
        state.withLock { state in
            var none: [_WatchedEntry] = []
            collect(&state, into: &none, dueOwners: false, dropDetached: true)
            watchedEntries.store(state.watched.count, ordering: .sequentiallyConsistent)
        }
    }

    /// Snapshot of the pending finalizers, for shutdown and diagnostics.
    func pendingFinalizers(newerThan horizon: UInt64, exitOnly: Bool) -> [any _AnyFinalizer] {
        state.withLock { state in
            var result: [any _AnyFinalizer] = []
            for finalizer in state.hosts where finalizer._sequence > horizon {
                if exitOnly ? finalizer._isPendingAtExit : finalizer._isPendingNow { result.append(finalizer) }
            }
            for entry in state.watched where entry.finalizer._sequence > horizon {
                let finalizer = entry.finalizer
                if exitOnly ? finalizer._isPendingAtExit : finalizer._isPendingNow { result.append(finalizer) }
            }
            return result
        }
    }

    /// Empties both tables (the registry is ending). Host finalizers stay
    /// with their bags; the watched entries are returned for the caller to
    /// settle and release.
    func removeAll() -> [_WatchedEntry] {
        state.withLock { state in
            let entries = state.watched
            state.watched = []
            state.hosts = []
            watchedEntries.store(0, ordering: .sequentiallyConsistent)
            hostEntries.store(0, ordering: .relaxed)
            return entries
        }
    }

    // MARK: - Under the lock

    private func compactHosts(_ state: inout State) {
        state.hosts.removeAll { !$0._isPendingNow }
        state.compactHostsAt = max(Self.minimumCompaction, 2 * state.hosts.count)
    }

    private func collect(
        _ state: inout State, into due: inout [_WatchedEntry], dueOwners: Bool, dropDetached: Bool
    ) {
        var kept = 0
        let count = state.watched.count
        state.watched.withUnsafeMutableBufferPointer { entries in
            for index in 0..<count {
                let entry = entries[index]
                if dueOwners && entry.owner.isDeallocating {
                    // The claim must come before the unowned count goes:
                    // `runDue` releases it after firing the finalizer.
                    due.append(entry)
                } else if dropDetached && !entry.finalizer._isPendingNow {
                    entry.owner.release()
                } else {
                    if kept != index { entries.swapAt(kept, index) }
                    kept += 1
                }
            }
        }
        state.watched.removeLast(count - kept)
        if dropDetached {
            state.sweepWatchedAt = max(Self.minimumCompaction, 2 * state.watched.count)
        }
    }
}
