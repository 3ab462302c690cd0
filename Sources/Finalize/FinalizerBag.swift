import Synchronization

/// The finalizers of one ``FinalizerHost`` owner, run when the owner dies.
///
/// Lifetime: store one in your class as `let finalizers = FinalizerBag()` and
/// never share it. The bag lives exactly as long as its owner, so its
/// `deinit` is a sentinel for the owner's: when the owner's last strong
/// reference goes away, the bag runs every pending finalizer registered on
/// the owner, synchronously, on the releasing thread, newest first, each with
/// the trigger ``FinalizerTrigger/ownerDeinit``. The bag holds the finalizers
/// strongly, so you need not keep the handles that `finalize` returns.
///
/// Threading: registration on the same owner from several threads at once is
/// safe. The cleanups run inside the owner's release, so a cleanup must not
/// expect the owner to be reachable (it is not: `peek()` returns nil).
///
/// A bag is itself a host: `finalize(bag) { ... }` ties a cleanup to the
/// bag's own life, which is handy in tests and for owning a bag directly.
///
/// ```swift
/// final class TempFile: FinalizerHost {
///     let finalizers = FinalizerBag()
///     let path: String
///     init(path: String) {
///         self.path = path
///         finalize(self, holding: path) { unlink($0) }
///     }
/// }
/// do { _ = TempFile(path: "/tmp/x") }   // unlinked here, on this thread
/// ```
public final class FinalizerBag: FinalizerHost, Sendable {
    /// The inline slot's state: 0 empty, 1 being filled, 2 filled. Most
    /// owners have one finalizer, which takes the slot with one
    /// compare-and-exchange and no lock.
    let _firstState = Atomic<Int>(0)
    /// Written once, by the thread that moved `_firstState` from 0 to 1;
    /// afterwards replaced only under `_restLock` (when its finalizer is dead).
    @exclusivity(unchecked) nonisolated(unsafe) var _first: _AnyFinalizer?
    /// Further finalizers; guarded by `_restLock`.
    @exclusivity(unchecked) nonisolated(unsafe) var _rest: [_AnyFinalizer] = []
    @exclusivity(unchecked) nonisolated(unsafe) var _compactAt = 16
    /// The lock of the slow path (a second finalizer on one owner,
    /// registered from two threads at the same instant, is the only
    /// contention it can see); held for an append or a compaction, never
    /// while a cleanup runs.
    let _restLock = _SpinLock()

    /// Creates an empty bag for one owner.
    ///
    /// Store it as your class's `let finalizers` and never share it: the
    /// bag's deinit is the owner's deinit sentinel.
    public init() {}

    /// The bag itself: a bag is its own host.
    public var finalizers: FinalizerBag { self }

    /// The number of finalizers in the bag that are still pending.
    ///
    /// A snapshot: another thread may register, run or detach one right
    /// after.
    public var pendingCount: Int {
        _restLock.withLock {
            var count = _rest.reduce(0) { $0 + ($1._isPendingNow ? 1 : 0) }
            if _waitForFirst(), _first?._isPendingNow == true { count += 1 }
            return count
        }
    }

    @inline(__always)
    func _append(_ finalizer: consuming _AnyFinalizer) {
        if _firstState.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            _first = consume finalizer
            _firstState.store(2, ordering: .releasing)
        } else {
            _appendSlow(copy finalizer)
        }
    }

    /// A second finalizer on the same owner. Reuses the inline slot if its
    /// finalizer is dead, and drops dead entries in amortized compactions,
    /// so an owner that registers and detaches in a loop keeps a bounded bag.
    @inline(never)
    func _appendSlow(_ finalizer: _AnyFinalizer) {
        _restLock.withLock {
            if _waitForFirst(), let first = _first, !first._isPendingNow {
                _first = finalizer
                return
            }
            _rest.append(finalizer)
            if _rest.count >= _compactAt {
                _rest.removeAll { !$0._isPendingNow }
                _compactAt = max(16, 2 * _rest.count)
            }
        }
    }

    /// Under `_restLock`: waits out a concurrent fast-path fill of the inline
    /// slot; true if the slot holds a finalizer.
    private func _waitForFirst() -> Bool {
        var spins = 0
        while true {
            switch _firstState.load(ordering: .acquiring) {
            case 0: return false
            case 2: return true
            default: _backOff(&spins)
            }
        }
    }

    deinit {
        // No lock: a deinitializing bag has no other reference, so no other
        // thread can be appending.
        guard _firstState.load(ordering: .acquiring) == 2, let first = _first.take() else { return }
        if _rest.isEmpty {
            _ = first._fire(.ownerDeinit, requiringExitFlag: false)
            return
        }
        var all = [first]
        all.append(contentsOf: _rest)
        _rest = []
        // Newest registration first (appends from several threads may
        // interleave, so order by the registration sequence).
        for finalizer in _orderedBySequence(all, newestFirst: true, { $0._sequence }) {
            _ = finalizer._fire(.ownerDeinit, requiringExitFlag: false)
        }
    }
}
