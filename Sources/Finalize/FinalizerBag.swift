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
    struct Entries {
        /// The first finalizer, stored inline: most owners have one.
        var first: (any _AnyFinalizer)?
        var rest: [any _AnyFinalizer] = []
        var compactAt = 16
    }

    let _entries = Mutex(Entries())

    /// Creates an empty bag for one owner.
    public init() {}

    /// The bag itself: a bag is its own host.
    public var finalizers: FinalizerBag { self }

    /// The number of finalizers in the bag that are still pending.
    public var pendingCount: Int {
        _entries.withLock { entries in
            (entries.first?._isPendingNow == true ? 1 : 0)
                + entries.rest.reduce(0) { $0 + ($1._isPendingNow ? 1 : 0) }
        }
    }

    func _append(_ finalizer: any _AnyFinalizer) {
        _entries.withLock { entries in
            if entries.first == nil {
                entries.first = finalizer
                return
            }
            if let first = entries.first, !first._isPendingNow {
                entries.first = finalizer
                return
            }
            entries.rest.append(finalizer)
            if entries.rest.count >= entries.compactAt {
                entries.rest.removeAll { !$0._isPendingNow }
                entries.compactAt = max(16, 2 * entries.rest.count)
            }
        }
    }

    deinit {
        let (first, rest) = _entries.withLock { entries in
            let taken = (entries.first, entries.rest)
            entries = Entries()
            return taken
        }
        guard let first else { return }
        if rest.isEmpty {
            _ = first._fire(.ownerDeinit, requiringExitFlag: false)
            return
        }
        var all = rest
        all.append(first)
        // Newest registration first (appends from several threads may
        // interleave, so order by the registration sequence).
        all.sort { $0._sequence > $1._sequence }
        for finalizer in all {
            _ = finalizer._fire(.ownerDeinit, requiringExitFlag: false)
        }
    }
}
