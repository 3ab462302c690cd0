import Synchronization

/// Counts the threads inside the short sections whose locks the fork
/// handlers cannot enumerate: a finalizer's busy bit (`peek`, `detach`,
/// `pending`), a bag's lock bit (a second finalizer on one owner, a bag's
/// `pendingCount`), and a sweep's collection from several shards. `prepare`
/// closes it and waits for the count to reach zero, so a fork never
/// happens with one of them held.
///
/// The counters are striped (one cache line each, picked like a shard: see
/// `currentProcessor()`), so threads on different processors do not share
/// a line; a section enters and leaves the same
/// stripe. Entering costs one sequentially consistent add and one load;
/// leaving, one releasing subtract.
enum ForkGate {
    static let stripeCount = StatusWord.shardLimit
    private static let storage = ForkGateStorage(stripes: stripeCount)

    /// The stripe for a section that is not about one finalizer.
    @inline(__always)
    static var currentStripe: Int {
        currentProcessor() & (stripeCount - 1)
    }

    @inline(__always)
    static func enter(_ stripe: Int) {
        let storage = storage
        storage.counter(stripe).pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if storage.closed.pointee.load(ordering: .sequentiallyConsistent) { enterSlow(stripe, storage) }
    }

    @inline(__always)
    static func leave(_ stripe: Int) {
        storage.counter(stripe).pointee.wrappingSubtract(1, ordering: .releasing)
    }

    /// A fork is being prepared: step out, wait for the gate to open, and
    /// enter again.
    @inline(never)
    private static func enterSlow(_ stripe: Int, _ storage: ForkGateStorage) {
        var spins = 0
        repeat {
            storage.counter(stripe).pointee.wrappingSubtract(1, ordering: .releasing)
            while storage.closed.pointee.load(ordering: .acquiring) { backOff(&spins) }
            storage.counter(stripe).pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        } while storage.closed.pointee.load(ordering: .sequentiallyConsistent)
    }

    /// `prepare`: closes the gate and waits until nobody is inside.
    static func closeAndDrain() {
        let storage = storage
        storage.closed.pointee.store(true, ordering: .sequentiallyConsistent)
        for stripe in 0..<stripeCount {
            var spins = 0
            while storage.counter(stripe).pointee.load(ordering: .sequentiallyConsistent) != 0 { backOff(&spins) }
        }
    }

    /// `parent`: opens the gate again.
    static func open() {
        storage.closed.pointee.store(false, ordering: .releasing)
    }

    /// `child`: the threads that were waiting to enter are gone; so is any
    /// that had counted itself after the drain and had not yet stepped out.
    static func resetInChild() {
        let storage = storage
        for stripe in 0..<stripeCount { storage.counter(stripe).pointee.store(0, ordering: .relaxed) }
        storage.closed.pointee.store(false, ordering: .releasing)
    }

    /// Initializes the storage (before the fork handlers are installed).
    static func touch() {
        _ = storage
    }
}

/// The gate's closed flag and counters, each on its own cache line;
/// allocated once, never freed.
final class ForkGateStorage: @unchecked Sendable {
    /// Line 0: the closed flag; line 1 + n: stripe n's counter.
    private let base: UnsafeMutableRawPointer

    init(stripes: Int) {
        base = UnsafeMutableRawPointer.allocate(byteCount: (stripes + 1) * cacheLineSize, alignment: cacheLineSize)
        base.bindMemory(to: Atomic<Bool>.self, capacity: 1).initialize(to: Atomic(false))
        for stripe in 0..<stripes {
            (base + (stripe + 1) * cacheLineSize).bindMemory(to: Atomic<Int>.self, capacity: 1)
                .initialize(to: Atomic(0))
        }
    }

    @inline(__always)
    var closed: UnsafeMutablePointer<Atomic<Bool>> {
        base.assumingMemoryBound(to: Atomic<Bool>.self)
    }

    @inline(__always)
    func counter(_ stripe: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (base + (stripe + 1) * cacheLineSize).assumingMemoryBound(to: Atomic<Int>.self)
    }
}
