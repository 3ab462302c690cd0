import Synchronization

/// The finalizers of one ``FinalizerHost`` owner, stored inside the owner and
/// run when the owner dies.
///
/// Lifetime: declare one in your class as `let finalizers = FinalizerBag()`.
/// The bag is a noncopyable value stored inline in the owner (one word, no
/// allocation of its own), so it lives exactly as long as its owner and can
/// never be shared or outlive it. Swift destroys it as part of the owner's
/// destruction, right after the owner's own `deinit`: at that moment the bag
/// runs every pending finalizer registered on the owner, synchronously, on
/// the thread that released the owner's last strong reference, newest
/// registration first, each with the trigger
/// ``FinalizerTrigger/ownerDeinit``. The bag holds its finalizers strongly,
/// so you need not keep the handles that `finalize` returns.
///
/// Threading: registering on the same owner from several threads at once is
/// safe (the first finalizer takes the bag's word with one
/// compare-and-exchange; further ones go to a small side list under a lock
/// held for a few instructions). The cleanups run inside the owner's
/// release, so a cleanup must not expect the owner to be reachable: it is
/// not, and ``Finalizer/peek()`` returns nil.
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
public struct FinalizerBag: ~Copyable, Sendable {
    /// The bag's one word:
    /// - 0: no finalizer;
    /// - the address of one finalizer (the common case), which the word
    ///   holds strongly;
    /// - the address of a `BagOverflow` (several finalizers) with
    ///   `overflowBit` set, held strongly;
    /// - `lockBit` set while a registration rearranges the bag (a second
    ///   finalizer arrives, or a diagnostic reads it).
    /// Objects are at least 16-byte aligned, so the low bits are free.
    let contents = Atomic<UInt>(0)

    static var overflowBit: UInt { 1 }
    static var lockBit: UInt { 2 }
    static var addressMask: UInt { ~UInt(15) }

    /// Creates an empty bag. Store it as your class's
    /// `let finalizers = FinalizerBag()`; it lives and dies with that object.
    public init() {}

    deinit {
        // Nothing else can reach the bag now: its owner's last strong
        // reference is gone, so no registration or reader is running.
        let word = contents.load(ordering: .acquiring)
        guard word != 0 else { return }
        internalCheck(word & Self.lockBit == 0, "bag: locked while its owner is destroyed")
        Self.runAndRelease(word, trigger: .ownerDeinit)
    }

    /// The number of finalizers in the bag that are still pending.
    ///
    /// A snapshot: another thread may register, run or detach one right
    /// after. Safe from any thread while you hold the owner.
    public var pendingCount: Int {
        // The lock bit is held inside the fork gate (see `addSlow`).
        let stripe = ForkGate.currentStripe
        ForkGate.enter(stripe)
        defer { ForkGate.leave(stripe) }
        let word = lock()
        defer { contents.store(word, ordering: .releasing) }
        guard word != 0 else { return 0 }
        if word & Self.overflowBit == 0 {
            return Self.finalizerReference(word)._withUnsafeGuaranteedRef { $0.isPendingNow ? 1 : 0 }
        }
        return Self.overflowReference(word)._withUnsafeGuaranteedRef { $0.pendingCount }
    }

    // MARK: - Registration

    /// Adds a finalizer, taking over one strong reference to it.
    @inline(__always)
    func add(_ finalizer: Unmanaged<ErasedFinalizer>) {
        let address = UInt(bitPattern: finalizer.toOpaque())
        internalCheck(address & ~Self.addressMask == 0, "bag: a finalizer address with tag bits")
        if contents.compareExchange(expected: 0, desired: address, ordering: .releasing).exchanged { return }
        addSlow(address)
    }

    /// A second finalizer on the same owner: under the bag's lock bit,
    /// replace a dead single finalizer, or move to (or append to) the
    /// side list, which drops dead entries as it grows.
    @inline(never)
    func addSlow(_ address: UInt) {
        // The lock bit is held inside the fork gate (`ForkGate`): a fork
        // waits until no bag is locked, so no child inherits a bag that
        // stays locked.
        let stripe = ForkGate.currentStripe
        ForkGate.enter(stripe)
        defer { ForkGate.leave(stripe) }
        let word = lock(orInstall: address)
        guard word != 0 else { return }  // installed into an empty bag
        // Locked by this thread: the word as it was is one finalizer or the
        // side list, never locked, never anything else.
        internalCheck(
            word & Self.lockBit == 0 && word & ~(Self.addressMask | Self.overflowBit) == 0,
            "bag: unexpected word \(word) under the lock")
        if word & Self.overflowBit != 0 {
            Self.overflowReference(word)._withUnsafeGuaranteedRef { $0.append(address) }
            contents.store(word, ordering: .releasing)
            return
        }
        let single = Self.finalizerReference(word)
        if single._withUnsafeGuaranteedRef({ $0.isPendingNow }) {
            let overflow = BagOverflow(first: UInt(bitPattern: single.toOpaque()), second: address)
            contents.store(
                UInt(bitPattern: Unmanaged.passRetained(overflow).toOpaque()) | Self.overflowBit,
                ordering: .releasing)
        } else {
            // The single finalizer ran or was detached: it no longer needs
            // its owner's death; let the new one take its place.
            contents.store(address, ordering: .releasing)
            single.release()
        }
    }

    /// Sets the lock bit and returns the word as it was, without it
    /// (restore it to unlock); or, given an `address` and an empty bag,
    /// installs the address instead and returns 0.
    func lock(orInstall address: UInt? = nil) -> UInt {
        var spins = 0
        var current = contents.load(ordering: .relaxed)
        while true {
            if current & Self.lockBit != 0 {
                backOff(&spins)
                current = contents.load(ordering: .relaxed)
                continue
            }
            let desired = current == 0 ? address ?? Self.lockBit : current | Self.lockBit
            let (exchanged, original) = contents.compareExchange(
                expected: current, desired: desired, ordering: .acquiringAndReleasing)
            if exchanged { return current }
            current = original
        }
    }

    // MARK: - Running

    /// Runs (with `trigger`) and releases everything a bag word held,
    /// newest registration first.
    static func runAndRelease(_ word: UInt, trigger: FinalizerTrigger) {
        if word & overflowBit == 0 {
            let finalizer = finalizerReference(word)
            _ = finalizer._withUnsafeGuaranteedRef { $0.fire(trigger, requiringExitFlag: false) }
            finalizer.release()
            return
        }
        let overflow = overflowReference(word).takeRetainedValue()
        for finalizer in overflow.newestFirst() {
            _ = finalizer.fire(trigger, requiringExitFlag: false)
        }
    }

    @inline(__always)
    static func finalizerReference(_ word: UInt) -> Unmanaged<ErasedFinalizer> {
        Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: word & addressMask).unsafelyUnwrapped)
    }

    @inline(__always)
    static func overflowReference(_ word: UInt) -> Unmanaged<BagOverflow> {
        Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: word & addressMask).unsafelyUnwrapped)
    }
}

/// The finalizers of an owner that has more than one. Guarded by its bag's
/// lock bit (or owned outright by a deinitializing bag).
final class BagOverflow: @unchecked Sendable {
    /// Strong references, counted by hand (addresses of `ErasedFinalizer`s).
    private var addresses: [UInt]
    private var compactAt = 16

    init(first: UInt, second: UInt) {
        addresses = [first, second]
    }

    deinit {
        for address in addresses { FinalizerBag.finalizerReference(address).release() }
    }

    func append(_ address: UInt) {
        addresses.append(address)
        if addresses.count >= compactAt {
            // Drop finalizers that ran or were detached, so an owner that
            // registers and detaches in a loop keeps a bounded bag.
            addresses.removeAll { address in
                let finalizer = FinalizerBag.finalizerReference(address)
                if finalizer._withUnsafeGuaranteedRef({ $0.isPendingNow }) { return false }
                finalizer.release()
                return true
            }
            compactAt = max(16, 2 * addresses.count)
        }
    }

    var pendingCount: Int {
        addresses.reduce(0) { count, address in
            count + (FinalizerBag.finalizerReference(address)._withUnsafeGuaranteedRef { $0.isPendingNow } ? 1 : 0)
        }
    }

    /// The finalizers, newest registration first (registrations from several
    /// threads may have been appended out of order).
    func newestFirst() -> [ErasedFinalizer] {
        let all = addresses.map { FinalizerBag.finalizerReference($0).takeUnretainedValue() }
        return orderedBySequence(all, newestFirst: true) { $0.sequence }
    }
}
