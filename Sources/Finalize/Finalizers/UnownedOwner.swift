import _FinalizeShims

/// An owner seen through one *unowned* reference count.
///
/// Finalize never holds an owner strongly. It counts one unowned reference
/// instead, which is what Swift's own `unowned` does: the owner's `deinit` runs
/// on time and its stored properties are destroyed, but the object's memory
/// stays allocated until the count is released, so `isDeallocating` and
/// `tryLoad()` are always safe to ask. Whoever holds the count releases it
/// exactly once with `release()`.
///
/// The value is a plain pointer; the unowned count it stands for is owned by
/// the structure that stores it (a `Finalizer` of a host owner, or the watched
/// table entry of any other owner).
struct UnownedOwner: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer

    /// Wraps `owner` without counting a reference (for a dead finalizer that
    /// will never look at its owner).
    init(uncounted owner: AnyObject) {
        pointer = Unmanaged.passUnretained(owner).toOpaque()
    }

    /// Counts one unowned reference to `owner`, which must not be freed.
    init(counting owner: AnyObject) {
        self.init(uncounted: owner)
        _ = swift_unownedRetain(pointer)
    }

    /// True once the owner's last strong reference is gone (its deinit is
    /// running or has run).
    var isDeallocating: Bool { swift_isDeallocating(pointer) }

    /// A strong reference to the owner, or nil once it is deallocating.
    func tryLoad() -> AnyObject? {
        guard swift_tryRetain(pointer) != nil else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(pointer).takeRetainedValue()
    }

    /// Gives the counted reference back.
    func release() { swift_unownedRelease(pointer) }

    /// Whether `owner` is already deinitializing (its last strong reference is
    /// gone). Safe on any live reference.
    static func isDeallocating(_ owner: AnyObject) -> Bool {
        swift_isDeallocating(Unmanaged.passUnretained(owner).toOpaque())
    }
}
