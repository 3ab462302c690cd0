/// A watched owner in a shard's table: the entry holds the owner's unowned
/// count, so a sweep may test the owner for as long as the entry exists, and
/// it holds the finalizer strongly (nothing else does).
///
/// Both references are counted by hand, so an entry is two plain words that
/// the table, sweeps and sorts copy and move without touching a reference
/// count. Whoever takes an entry out of its table for good gives both back
/// with `release()`, exactly once.
struct WatchedEntry: @unchecked Sendable {
    let owner: UnownedOwner
    private let finalizerReference: Unmanaged<ErasedFinalizer>

    /// Takes the owner's unowned count and a strong reference to `finalizer`.
    @inline(__always)
    init(counting owner: AnyObject, finalizer: ErasedFinalizer) {
        self.owner = UnownedOwner(counting: owner)
        finalizerReference = .passRetained(finalizer)
    }

    /// Runs `body` on the finalizer, borrowing the entry's own reference.
    @inline(__always)
    func withFinalizer<Result>(_ body: (ErasedFinalizer) -> Result) -> Result {
        finalizerReference._withUnsafeGuaranteedRef(body)
    }

    /// The finalizer's registration number.
    @inline(__always)
    var sequence: UInt64 {
        withFinalizer { $0.sequence }
    }

    /// Gives back the owner's unowned count and the finalizer reference.
    @inline(__always)
    func release() {
        owner.release()
        finalizerReference.release()
    }
}
