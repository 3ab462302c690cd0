import Finalize
import Synchronization
import _FinalizeBenchSupport
import _FinalizeShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The floor: a hand-written class whose own `deinit` calls a stored
/// closure. What any "run this when the object dies" costs at the least.
final class FloorOwner {
    let onDeinit: () -> Void
    init(_ onDeinit: @escaping () -> Void) { self.onDeinit = onDeinit }
    deinit { onDeinit() }
}

/// The allocation bound of any host design: the floor's owner, plus the
/// two more objects a host registration cannot avoid (the owner's bag and
/// the `Finalizer` handle that `finalize` returns), each allocated and
/// freed with it. What is left above this is bookkeeping.
final class FloorPart {}

final class FloorOwnerWithParts {
    let onDeinit: () -> Void
    let bag = FloorPart()
    var handle: FloorPart?
    init(_ onDeinit: @escaping () -> Void) { self.onDeinit = onDeinit }
    deinit { onDeinit() }
}

/// The least any host design can do, as a hand-written floor: the three
/// objects of `floor_three_objects`, plus the two things a handle that the
/// caller may keep forces on any design: the bag and the caller both hold
/// the handle (one retain more), and the owner's death claims the handle
/// with one compare-and-exchange (so that it cannot also run by `runNow()`
/// on another thread). No registry, no order at exit, no `peek()` safety,
/// no failure reporting: only what no implementation of the API can skip.
final class MinimalHandle: @unchecked Sendable {
    let claimed = Atomic<Bool>(false)
    /// Taken by the one claim that wins (the compare-and-exchange): no
    /// run-time exclusivity check needed.
    @exclusivity(unchecked) var cleanup: (() -> Void)?
    init(_ cleanup: @escaping () -> Void) { self.cleanup = cleanup }

    @inline(__always)
    func claim() -> (() -> Void)? { claimOnce(claimed, &cleanup) }
}

/// The claim of the minimal handles: one compare-and-exchange, and the
/// winner takes the cleanup.
@inline(__always)
func claimOnce(_ claimed: borrowing Atomic<Bool>, _ cleanup: inout (() -> Void)?) -> (() -> Void)? {
    guard claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    else { return nil }
    return cleanup.take()
}

final class MinimalBag {
    var handle: MinimalHandle?
    deinit { handle?.claim()?() }
}

final class MinimalHostOwner {
    let bag = MinimalBag()
}

/// The same least design with the bag as a field of the owner instead of
/// an object, as Finalize's host owners have it (`floor_minimal_inline_host`):
/// the owner, the handle and the closure, two reference-count pairs on the
/// handle (the owner's and the caller's), the claim. No registry, no exit
/// order, no thread safety beyond the claim.
final class MinimalInlineHostOwner {
    var handle: MinimalHandle?
    deinit { handle?.claim()?() }
}

/// Its registration, behind a call as a library's would be.
@inline(never)
func minimalFinalize(_ owner: MinimalInlineHostOwner, _ cleanup: @escaping () -> Void) -> MinimalHandle {
    let handle = MinimalHandle(cleanup)
    owner.handle = handle
    return handle
}

@inline(never) func makeMinimalInlineHostOwner() -> MinimalInlineHostOwner { MinimalInlineHostOwner() }

/// The least design that also keeps an order at exit across threads the way
/// Finalize does (`threads2_minimal_ordered_host`): `floor_minimal_inline_host`
/// plus a number from one process-wide counter per registration (a
/// registration that happens before another, on any thread, must get a
/// smaller number, so each registration must see the last one's). No
/// registry, no exit log, no lock: only the counter.
final class MinimalOrderedHandle: @unchecked Sendable {
    let claimed = Atomic<Bool>(false)
    /// Taken by the one claim that wins (the compare-and-exchange): no
    /// run-time exclusivity check needed.
    @exclusivity(unchecked) var cleanup: (() -> Void)?
    var sequence: UInt64 = 0
    init(_ cleanup: @escaping () -> Void) { self.cleanup = cleanup }

    @inline(__always)
    func claim() -> (() -> Void)? { claimOnce(claimed, &cleanup) }
}

final class MinimalOrderedHostOwner {
    var handle: MinimalOrderedHandle?
    deinit { handle?.claim()?() }
}

/// The process-wide counter of the ordered minimal design, alone on its two
/// cache lines (as Finalize's is).
struct MinimalOrderCounter: @unchecked Sendable {
    static let shared = MinimalOrderCounter()
    let pointer: UnsafeMutablePointer<Atomic<UInt64>>

    private init() {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128)
            .bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        pointer.initialize(to: Atomic(0))
    }
}

/// Its registration, behind a call as a library's would be: like
/// Finalize's, it asks for the counter's line before it allocates.
@inline(never)
func minimalOrderedFinalize(
    _ owner: MinimalOrderedHostOwner, _ counter: UnsafeMutablePointer<Atomic<UInt64>>,
    _ cleanup: @escaping () -> Void
) -> MinimalOrderedHandle {
    _finalize_prefetch(UnsafeRawPointer(counter))
    let handle = MinimalOrderedHandle(cleanup)
    handle.sequence = counter.pointee.wrappingAdd(1, ordering: .relaxed).newValue
    owner.handle = handle
    return handle
}

@inline(never) func makeMinimalOrderedHostOwner() -> MinimalOrderedHostOwner { MinimalOrderedHostOwner() }

/// The minimal design's registration, behind a call as a library's would be.
@inline(never) func minimalFinalize(_ owner: MinimalHostOwner, _ cleanup: @escaping () -> Void) -> MinimalHandle {
    let handle = MinimalHandle(cleanup)
    owner.bag.handle = handle
    return handle
}

/// A host owner: one stored bag.
final class HostOwner: FinalizerHost {
    let finalizers = FinalizerBag()
}

/// A plain owner, watched.
final class PlainOwner {}

// Factories the optimizer cannot see through, so every owner really is
// allocated on the heap (no stack promotion) in every workload alike.
@inline(never) func makeFloorOwner() -> FloorOwner { FloorOwner { bump() } }
@inline(never) func makeFloorOwner(_ onDeinit: @escaping () -> Void) -> FloorOwner { FloorOwner(onDeinit) }
@inline(never) func makeHostOwner() -> HostOwner { HostOwner() }
@inline(never) func makeFloorOwnerWithParts() -> FloorOwnerWithParts {
    let owner = FloorOwnerWithParts { bump() }
    owner.handle = FloorPart()
    return owner
}
@inline(never) func makePlainOwner() -> PlainOwner { PlainOwner() }
@inline(never) func makeMinimalHostOwner() -> MinimalHostOwner { MinimalHostOwner() }

/// The workloads, each a function of N returning ns per operation (or the
/// figure named by its unit).
enum Workloads {
    static func floor(_ n: Int) -> Double {
        let time = measure(operations: n, cleanups: n, in: "floor") {
            for _ in 0..<n { _ = makeFloorOwner() }
        }
        return time
    }

    static func floorThreeObjects(_ n: Int) -> Double {
        let time = measure(operations: n, cleanups: n, in: "floor_three_objects") {
            for _ in 0..<n { _ = makeFloorOwnerWithParts() }
        }
        return time
    }

    static func floorMinimalHost(_ n: Int) -> Double {
        let time = measure(operations: n, cleanups: n, in: "floor_minimal_host") {
            for _ in 0..<n {
                let owner = makeMinimalHostOwner()
                _ = minimalFinalize(owner) { bump() }
            }
        }
        return time
    }

    static func floorMinimalInlineHost(_ n: Int) -> Double {
        let time = measure(operations: n, cleanups: n, in: "floor_minimal_inline_host") {
            for _ in 0..<n {
                let owner = makeMinimalInlineHostOwner()
                _ = minimalFinalize(owner) { bump() }
            }
        }
        return time
    }

    static func hostRegisterRelease(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let time = measure(operations: n, cleanups: n, in: "host_register_release") {
            for _ in 0..<n {
                let owner = makeHostOwner()
                registry.finalize(owner) { bump() }
            }
        }
        return time
    }

    /// The explicit `close()` plus safety net: register, run the owner's
    /// finalizers with `finalizers.runAll()` (what `close()` does), then
    /// release the owner, whose bag finds nothing left to run.
    static func hostRegisterRunAllRelease(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let time = measure(operations: n, cleanups: n, in: "host_register_run_all_release") {
            for _ in 0..<n {
                let owner = makeHostOwner()
                registry.finalize(owner) { bump() }
                try! owner.finalizers.runAll()
            }
        }
        return time
    }

    /// The same with a cleanup that captures a value, as real cleanups
    /// usually do (a descriptor, an identifier): the closure's context is
    /// allocated per registration, in the floor's terms one more object.
    static func hostRegisterReleaseCapturing(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let time = measure(operations: n, cleanups: n, in: "host_register_release_capturing") {
            for index in 0..<n {
                let owner = makeHostOwner()
                registry.finalize(owner) { bump(index) }
            }
        }
        return time
    }

    /// Host register + release with an asynchronous cleanup (it captures a
    /// value too): each release starts a task the registry tracks; the time
    /// runs until every one of them has finished (what `drain()` waits
    /// for), so it is the whole cost per cleanup. The reference is the
    /// synchronous `host_register_release_capturing`.
    static func asyncHostRegisterRelease(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let start = cleanupCount.load(ordering: .relaxed)
        let time = measure(operations: n) {
            for index in 0..<n {
                let owner = makeHostOwner()
                registry.finalize(owner) { () async in bump(index) }
            }
            // Until drained: every started task has bumped the counter.
            while cleanupCount.load(ordering: .relaxed) - start < n { sched_yield() }
        }
        expectCleanups(n, since: start, in: "async_host_register_release")
        return time
    }

    /// The floor with the same capturing closure.
    static func floorCapturing(_ n: Int) -> Double {
        let time = measure(operations: n, cleanups: n, in: "floor_capturing") {
            for index in 0..<n { _ = makeFloorOwner { bump(index) } }
        }
        return time
    }

    static func watchedRegisterReleaseSweep(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let time = measure(operations: n, cleanups: n, in: "watched_register_release_sweep") {
            for _ in 0..<n {
                let owner = makePlainOwner()
                registry.finalize(owner) { bump() }
            }
            registry.sweep()
        }
        return time
    }

    /// Register then detach, owners alive (the peers' `detach()` /
    /// `unregister`). Watched owners, like the peers'.
    static func registerDetach(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<n).map { _ in makePlainOwner() }
        let time = measure(operations: n, cleanups: 0, in: "register_detach") {
            for owner in owners {
                let finalizer = registry.finalize(owner) { bump() }
                _ = finalizer.detach()
            }
        }
        precondition(registry.pendingCount == 0)
        withExtendedLifetime(owners) {}
        return time
    }

    /// Register only, watched owners kept alive (the peers' `register_only`):
    /// what a registration costs before anything happens to it.
    static func registerOnly(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<n).map { _ in makePlainOwner() }
        let time = measure(operations: n, cleanups: 0, in: "register_only") {
            for owner in owners { registry.finalize(owner, runsAtExit: false) { bump() } }
        }
        precondition(registry.pendingCount == n)
        withExtendedLifetime(owners) {}
        return time
    }

    static func hostRegisterDetach(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<n).map { _ in makeHostOwner() }
        let time = measure(operations: n, cleanups: 0, in: "host_register_detach") {
            for owner in owners {
                let finalizer = registry.finalize(owner) { bump() }
                _ = finalizer.detach()
            }
        }
        precondition(registry.pendingCount == 0)
        withExtendedLifetime(owners) {}
        return time
    }

    /// `runNow()` of N pending finalizers (the peers' call / `clean()`).
    static func runNow(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<n).map { _ in makePlainOwner() }
        let finalizers = owners.map { owner in registry.finalize(owner) { bump() } }
        let time = measure(operations: n, cleanups: n, in: "run_now") {
            for finalizer in finalizers { _ = try? finalizer.runNow() }
        }
        withExtendedLifetime(owners) {}
        return time
    }

    static func shutdown(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<n).map { _ in makeHostOwner() }
        for owner in owners { registry.finalize(owner) { bump() } }
        let time = measure(operations: n, cleanups: n, in: "shutdown") { registry.shutdown() }
        withExtendedLifetime(owners) {}
        return time
    }

    /// A sweep that finds nothing to run over N live watched entries; the
    /// figure is milliseconds for the whole sweep.
    static func sweepLive(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<n).map { _ in makePlainOwner() }
        for owner in owners { registry.finalize(owner) { bump() } }
        let start = cleanupCount.load(ordering: .relaxed)
        let began = now()
        registry.sweep()
        let milliseconds = Double(now() - began) / 1e6
        expectCleanups(0, since: start, in: "sweep_live")
        withExtendedLifetime(owners) {}
        return milliseconds
    }

    /// Heap bytes per pending registration with the owners alive, beyond
    /// the owners themselves (a host owner's bag is part of the owner).
    static func memoryPerRegistration(_ n: Int, host: Bool) -> Double {
        if host {
            return memoryPerRegistration(n, makeHostOwner) { $0.finalize($1) { bump() } }
        }
        return memoryPerRegistration(n, makePlainOwner) { $0.finalize($1) { bump() } }
    }

    private static func memoryPerRegistration<Owner: AnyObject>(
        _ n: Int, _ make: () -> Owner, _ register: (FinalizerRegistry, Owner) -> Void
    ) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<n).map { _ in make() }
        let before = heapInUse()
        for owner in owners { register(registry, owner) }
        let after = heapInUse()
        withExtendedLifetime(owners) {}
        return Double(after - before) / Double(n)
    }

    /// N host register + release on each of `threads` threads at once, on
    /// one registry; ns per operation of wall time (total work / wall).
    /// Each thread counts its cleanups in a counter of its own (a host
    /// owner's cleanup runs on the releasing thread), so the threads share
    /// nothing but the registry.
    static func threadedHostRegisterRelease(_ n: Int, threads: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let start = cleanupCount.load(ordering: .relaxed)
        let wall = runThreads(threads) { _ in
            let before = finalize_bench_thread_count()
            for _ in 0..<n {
                let owner = makeHostOwner()
                registry.finalize(owner) { finalize_bench_thread_bump() }
            }
            cleanupCount.wrappingAdd(finalize_bench_thread_count() - before, ordering: .relaxed)
        }
        expectCleanups(n * threads, since: start, in: "threads\(threads)_host_register_release")
        return Double(wall) / Double(n * threads)
    }

    /// The least ordered design (`MinimalOrderedHandle`) on `threads`
    /// threads at once: what a design that numbers registrations from one
    /// shared counter can reach on this machine now.
    static func threadedMinimalOrderedHost(_ n: Int, threads: Int) -> Double {
        let start = cleanupCount.load(ordering: .relaxed)
        let counter = MinimalOrderCounter.shared
        let wall = runThreads(threads) { _ in
            let before = finalize_bench_thread_count()
            for _ in 0..<n {
                let owner = makeMinimalOrderedHostOwner()
                _ = minimalOrderedFinalize(owner, counter.pointer) { finalize_bench_thread_bump() }
            }
            cleanupCount.wrappingAdd(finalize_bench_thread_count() - before, ordering: .relaxed)
        }
        expectCleanups(n * threads, since: start, in: "threads\(threads)_minimal_ordered_host")
        return Double(wall) / Double(n * threads)
    }

    /// The floor on `threads` threads at once: how far this machine lets
    /// two threads that share nothing scale right now (the ceiling for the
    /// two-thread host workload, which also shares the registry).
    static func threadedFloor(_ n: Int, threads: Int) -> Double {
        let start = cleanupCount.load(ordering: .relaxed)
        let wall = runThreads(threads) { _ in
            let before = finalize_bench_thread_count()
            for _ in 0..<n { _ = makeFloorOwner { finalize_bench_thread_bump() } }
            cleanupCount.wrappingAdd(finalize_bench_thread_count() - before, ordering: .relaxed)
        }
        expectCleanups(n * threads, since: start, in: "threads\(threads)_floor")
        return Double(wall) / Double(n * threads)
    }
}
