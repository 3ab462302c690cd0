import Synchronization

/// A watched owner in a shard's table: the entry holds the owner's unowned
/// count, so a sweep may test the owner for as long as the entry exists, and
/// it holds the finalizer strongly (nothing else does).
///
/// Both references are counted by hand, so an entry is two plain words that
/// the table, sweeps and sorts copy and move without touching a reference
/// count. Whoever takes an entry out of its table for good gives both back
/// with `release()`, exactly once.
struct _WatchedEntry: @unchecked Sendable {
    let owner: _UnownedOwner
    private let _finalizer: Unmanaged<_AnyFinalizer>

    /// Takes the owner's unowned count and a strong reference to `finalizer`.
    @inline(__always)
    init(counting owner: AnyObject, finalizer: _AnyFinalizer) {
        self.owner = _UnownedOwner(counting: owner)
        _finalizer = .passRetained(finalizer)
    }

    /// Runs `body` on the finalizer, borrowing the entry's own reference.
    @inline(__always)
    func withFinalizer<Result>(_ body: (_AnyFinalizer) -> Result) -> Result {
        _finalizer._withUnsafeGuaranteedRef(body)
    }

    /// The finalizer's registration number.
    @inline(__always)
    var sequence: UInt64 {
        withFinalizer { $0._sequence }
    }

    /// Gives back the owner's unowned count and the finalizer reference.
    @inline(__always)
    func release() {
        owner.release()
        _finalizer.release()
    }
}

/// One slice of a registry's bookkeeping, with its own lock.
///
/// Registrations go to the shard of the processor the registering thread
/// runs on, so threads registering at once rarely meet on a lock or a cache
/// line.
///
/// - Host finalizers are linked into an intrusive list through their own
///   `_previous`/`_next` fields: no allocation, no reference counting. The
///   list does not own them (their owner's bag does); a finalizer unlinks
///   itself, under this lock, when it leaves pending, before its bag can
///   release it. So every linked finalizer is alive.
/// - Watched finalizers live in an array of entries that own them. Entries
///   of finalizers that ran or were detached are dropped lazily, in
///   amortized compactions that keep the array within about twice its live
///   entries.
final class _Shard: Sendable {
    struct State: ~Copyable {
        var hostHead: _Link?
        var hostTail: _Link?
        var hostCount = 0
        var watched = _EntryBuffer<_WatchedEntry>()
        var sweepWatchedAt = _Shard.minimumCompaction
    }

    static let minimumCompaction = 64

    /// The registry core; shards own it, so that finalizers (which own
    /// their shard) keep it alive without touching a shared reference count.
    let core: _RegistryCore
    let index: Int
    /// Guards `_state`.
    private let stateLock = _SpinLock()
    @exclusivity(unchecked) private nonisolated(unsafe) var _state = State()
    /// Pending watched finalizers in this shard (decremented by whoever
    /// claims one).
    let liveWatched = Atomic<Int>(0)
    /// Watched entry count, mirrored for lock-free reads (the sweeper's
    /// idle check).
    let watchedEntries = Atomic<Int>(0)

    /// Keeps neighbouring shards (allocated one after another) off each
    /// other's cache lines: two processors working on two shards must not
    /// share a line.
    private let _padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init(core: _RegistryCore, index: Int) {
        self.core = core
        self.index = index
    }

    /// Runs `body` with the shard's state, under its lock.
    @inline(__always)
    private func withState<Result>(_ body: (inout State) -> Result) -> Result {
        stateLock.lock()
        defer { stateLock.unlock() }
        return body(&_state)
    }

    // MARK: - Hosts

    /// Numbers and links a new host finalizer, in one critical section.
    @inline(__always)
    func linkHost(_ node: _Link) {
        withState { state in
            _FinalizerLinks.setSequence(of: node, to: core.sequence.next())
            _FinalizerLinks.setPrevious(of: node, to: state.hostTail)
            _FinalizerLinks.setNext(of: node, to: nil)
            if let tail = state.hostTail {
                _FinalizerLinks.setNext(of: tail, to: node)
            } else {
                state.hostHead = node
            }
            state.hostTail = node
            state.hostCount += 1
        }
    }

    @inline(__always)
    func unlinkHost(_ node: _Link) {
        withState { state in
            let previous = _FinalizerLinks.previous(of: node)
            let next = _FinalizerLinks.next(of: node)
            if let previous {
                _FinalizerLinks.setNext(of: previous, to: next)
            } else {
                state.hostHead = next
            }
            if let next {
                _FinalizerLinks.setPrevious(of: next, to: previous)
            } else {
                state.hostTail = previous
            }
            _FinalizerLinks.setPrevious(of: node, to: nil)
            _FinalizerLinks.setNext(of: node, to: nil)
            state.hostCount -= 1
        }
    }

    var hostCount: Int {
        withState { $0.hostCount }
    }

    /// The watched table's allocated capacity, in entries (for tests: a
    /// dead registry's tables must be freed).
    var watchedCapacity: Int {
        withState { $0.watched.capacity }
    }

    // MARK: - Watched

    /// Numbers and adds a watched entry (`node` is its finalizer); returns
    /// the entries an amortized sweep found due, to be run by the caller
    /// after the lock is released.
    func appendWatched(_ entry: consuming _WatchedEntry, _ node: _Link) -> [_WatchedEntry] {
        liveWatched.wrappingAdd(1, ordering: .relaxed)
        // Locked by hand rather than through `withState`: a closure would
        // capture `entry` and so copy it.
        stateLock.lock()
        defer { stateLock.unlock() }
        _FinalizerLinks.setSequence(of: node, to: core.sequence.next())
        _state.watched.append(entry)
        var due: [_WatchedEntry] = []
        if _state.watched.count >= _state.sweepWatchedAt {
            collect(&_state, into: &due, dueOwners: true, dropDetached: true)
            // Under the lock: a shutdown that finds these entries gone from
            // the table also finds this collection pending (see `runDue`).
            if !due.isEmpty { core.inFlight.beginCollection() }
        }
        // Sequentially consistent: pairs with the sweeper's idle check.
        watchedEntries.store(_state.watched.count, ordering: .sequentiallyConsistent)
        return due
    }

    /// Removes every watched entry whose owner is dead (and, with
    /// `dropDetached`, every entry whose finalizer is no longer pending).
    /// The dead owners' entries are returned; their unowned counts are
    /// released by `_RegistryCore.runDue(_:)` after the claim.
    func sweep(dropDetached: Bool) -> [_WatchedEntry] {
        withState { state in
            var due: [_WatchedEntry] = []
            collect(&state, into: &due, dueOwners: true, dropDetached: dropDetached)
            // Under the lock, as in `appendWatched`.
            if !due.isEmpty { core.inFlight.beginCollection() }
            watchedEntries.store(state.watched.count, ordering: .sequentiallyConsistent)
            return due
        }
    }

    /// After a watched finalizer left pending (run or detached while its
    /// owner may live). Only a count: its entry stays until the next sweep or
    /// registration compaction drops it, so `runNow()` and `detach()` never
    /// take the shard's lock (the cleanup and resource are already gone;
    /// what waits is the entry and the finalizer's 88 bytes).
    @inline(__always)
    func watchedLeftPending() {
        liveWatched.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Whether enough watched entries are dead (their finalizers ran or were
    /// detached while the owners live) for a sweep to drop them too: more
    /// than half as many as the live ones. Dropping costs a look at every
    /// entry's finalizer, so this keeps that cost proportional to the dead
    /// entries, and a sweep over live entries cheap.
    var hasManyDeadWatchedEntries: Bool {
        let live = liveWatched.load(ordering: .relaxed)
        let dead = watchedEntries.load(ordering: .relaxed) - live
        return dead > 0 && dead > live / 2
    }

    // MARK: - Snapshots

    /// The pending finalizers registered after `horizon`, for shutdown and
    /// diagnostics (strong references, taken under the lock).
    func pendingFinalizers(newerThan horizon: UInt64, exitOnly: Bool) -> [_AnyFinalizer] {
        withState { state in
            // Both lists are in registration order (numbers are taken under
            // this lock, entries appended at the end), so walk back from the
            // newest and stop at the horizon: a rescan during shutdown costs
            // what was registered since, not the whole shard.
            var result: [_AnyFinalizer] = []
            var node = state.hostTail
            while let current = node, _FinalizerLinks.sequence(of: current) > horizon {
                // Linked finalizers are alive (see the type's discussion).
                let finalizer = Unmanaged<_AnyFinalizer>.fromOpaque(current.address).takeUnretainedValue()
                if exitOnly ? finalizer._isPendingAtExit : finalizer._isPendingNow {
                    result.append(finalizer)
                }
                node = _FinalizerLinks.previous(of: current)
            }
            state.watched.forEachFromNewest { entry in
                entry.withFinalizer { finalizer in
                    guard finalizer._sequence > horizon else { return false }
                    if exitOnly ? finalizer._isPendingAtExit : finalizer._isPendingNow {
                        result.append(finalizer)
                    }
                    return true
                }
            }
            return result
        }
    }

    /// Empties the watched table (the registry is ending); the entries are
    /// returned for the caller to settle and release. Host finalizers stay
    /// linked: they unlink themselves when their bags run them.
    func removeAllWatched() -> [_WatchedEntry] {
        withState { state in
            let entries = state.watched.removeAll()
            watchedEntries.store(0, ordering: .sequentiallyConsistent)
            return entries
        }
    }

    // MARK: - Under the lock

    private func collect(
        _ state: inout State, into due: inout [_WatchedEntry], dueOwners: Bool, dropDetached: Bool
    ) {
        state.watched.removeAll { entry in
            !(dueOwners && entry.owner.isDeallocating)
                && !(dropDetached && !entry.withFinalizer { $0._isPendingNow })
        } removed: { entry in
            // Asking again is sound: an owner never stops deallocating.
            if dueOwners && entry.owner.isDeallocating {
                // The claim must come before the unowned count goes:
                // `runDue` releases the entry after firing the finalizer.
                due.append(entry)
            } else {
                entry.release()
            }
        }
        if dropDetached {
            state.sweepWatchedAt = max(Self.minimumCompaction, 2 * state.watched.count)
        }
    }
}

/// The address of a linked host finalizer. Only dereferenced under the
/// shard's lock, while the finalizer is linked (and therefore alive).
struct _Link: @unchecked Sendable, Equatable {
    let address: UnsafeMutableRawPointer

    @inline(__always)
    init<Resource>(_ finalizer: Finalizer<Resource>) {
        address = Unmanaged.passUnretained(finalizer).toOpaque()
    }
}

/// Access to the intrusive links of a host finalizer through its address.
///
/// No stored property of `Finalizer` depends on `Resource`, so the links sit
/// at the same offsets in every instantiation; the helpers reach them
/// through `Finalizer<Void>`, the canonical one, which lets one list hold
/// finalizers of any resource type without boxing or reference counting.
enum _FinalizerLinks {
    /// Runs `body` on the finalizer behind `link` without a retain and
    /// release around it (a link is only followed under the shard lock,
    /// while its finalizer is linked and so alive).
    @inline(__always)
    static func withNode<Result>(_ link: _Link, _ body: (Finalizer<Void>) -> Result) -> Result {
        Unmanaged<Finalizer<Void>>.fromOpaque(link.address)._withUnsafeGuaranteedRef(body)
    }

    @inline(__always)
    static func sequence(of link: _Link) -> UInt64 {
        withNode(link) { $0._sequence }
    }

    @inline(__always)
    static func setSequence(of link: _Link, to sequence: UInt64) {
        withNode(link) { $0._sequence = sequence }
    }

    @inline(__always)
    static func next(of link: _Link) -> _Link? {
        withNode(link) { $0._next }
    }

    @inline(__always)
    static func previous(of link: _Link) -> _Link? {
        withNode(link) { $0._previous }
    }

    @inline(__always)
    static func setNext(of link: _Link, to next: _Link?) {
        withNode(link) { $0._next = next }
    }

    @inline(__always)
    static func setPrevious(of link: _Link, to previous: _Link?) {
        withNode(link) { $0._previous = previous }
    }
}
