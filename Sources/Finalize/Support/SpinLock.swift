import Synchronization

/// A spin lock on one atomic byte, for the registry's short critical
/// sections: a shard's links and table, a bag's overflow list, the set of
/// sites already warned about.
///
/// Every section it guards is a few pointer writes or one compaction, never
/// a cleanup, and is rarely contended (a shard is mostly used by the
/// threads of one processor). Unlocking is a plain release store, where a
/// mutex pays a second atomic read-modify-write, a measurable part of a
/// registration. A waiter spins on loads, then yields (`backOff`).
///
/// Not `Synchronization.Mutex`: on Linux its contended path waits inside the
/// precompiled standard library, which ThreadSanitizer does not instrument,
/// so TSan reports false races on the data it guards. Atomics are
/// instrumented.
struct SpinLock: ~Copyable, Sendable {
    private let held = Atomic<Bool>(false)

    init() {}

    @inline(__always)
    func lock() {
        if !held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            lockSlow()
        }
    }

    @inline(__always)
    func unlock() {
        held.store(false, ordering: .releasing)
    }

    @inline(__always)
    func withLock<Result>(_ body: () -> Result) -> Result {
        lock()
        defer { unlock() }
        return body()
    }

    @inline(never)
    private func lockSlow() {
        var spins = 0
        repeat {
            while held.load(ordering: .relaxed) { backOff(&spins) }
        } while !held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }
}

/// A value guarded by a `SpinLock` (the sweep pacer): unlike `Mutex`, its
/// lock can be held across a fork by the fork handlers.
final class SpinLocked<Value: Sendable>: @unchecked Sendable {
    let lock = SpinLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Spins briefly, then yields: for the short waits of a spin lock, a busy bit,
/// a bag's lock bit or the fork gate, each held for a few instructions.
@inline(__always)
func backOff(_ spins: inout Int) {
    spins += 1
    if spins > 64 { yieldThread() }
}
