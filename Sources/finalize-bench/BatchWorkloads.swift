import Finalize
import _FinalizeBenchSupport
import _FinalizeShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The batch workloads: realistic heaps. The loop workloads create, register
// and release one owner at a time, so every owner comes back hot from
// malloc's per-thread cache; real owners are many, long-lived, and die
// later. Here N owners (N = 1,000,000 in the full run) are all alive at
// once, and every cleanup captures a value (the index), as real cleanups
// do, so every registration also allocates a closure context, on both sides
// of every comparison.

/// The hand-written reference for the host path: the owner stores one small
/// object whose `deinit` runs the stored capturing closure. What a
/// programmer writes by hand to get "run this when the owner dies", and the
/// same shape as a host registration (owner, one more object, the closure's
/// context), with no registry at all. Not thread-safe: `cancel` and `run`
/// are plain stores, not a claim.
final class Sentinel {
    var onDeinit: (() -> Void)?
    init(_ onDeinit: @escaping () -> Void) { self.onDeinit = onDeinit }
    deinit { onDeinit?() }
}

/// An owner that holds its sentinel (set at creation, or later for the
/// detach and run-now forms, whose owners exist before they "register").
final class SentinelOwner {
    var sentinel: Sentinel?
    init() {}
    init(_ onDeinit: @escaping () -> Void) { sentinel = Sentinel(onDeinit) }
}

/// The least any watched design does, as a hand-written floor for
/// `batch_watched`: per owner, a handle holding the cleanup (claimed with one
/// compare-and-exchange, as in `floor_minimal_host`), the owner's unowned
/// count (so that a sweep may test it), and a two-word entry in a plain
/// array; a sweep is one pass that tests each owner, runs and frees the dead
/// ones' cleanups and gives their counts back, prefetching owners ahead.
/// No lock, no registration order, no shutdown, no compaction at
/// registration, one thread only.
struct MinimalWatchedEntry {
    let owner: UnsafeMutableRawPointer
    let handle: MinimalHandle
}

final class MinimalWatchedTable {
    var entries: [MinimalWatchedEntry] = []

    @inline(never)
    func finalize(_ owner: AnyObject, _ cleanup: @escaping () -> Void) -> MinimalHandle {
        let handle = MinimalHandle(cleanup)
        let pointer = Unmanaged.passUnretained(owner).toOpaque()
        _ = swift_unownedRetain(pointer)
        entries.append(MinimalWatchedEntry(owner: pointer, handle: handle))
        return handle
    }

    @inline(never)
    func sweep() {
        var kept: [MinimalWatchedEntry] = []
        let distance = 8
        for index in entries.indices {
            if index + distance < entries.count { _finalize_prefetch(entries[index + distance].owner) }
            let entry = entries[index]
            if swift_isDeallocating(entry.owner) {
                entry.handle.claim()?()
                swift_unownedRelease(entry.owner)
            } else {
                kept.append(entry)
            }
        }
        entries = kept
    }
}

/// Objects of three more sizes that real programs allocate between owners
/// (`sweep_interleaved*`), so that owners are spread over the heap.
final class SmallFiller {
    var a = 0
}

final class MediumFiller {
    var a = 0, b = 0, c = 0, d = 0, e = 0, f = 0
}

final class LargeFiller {
    var a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0
    var i = 0, j = 0, k = 0, l = 0, m = 0, n = 0, o = 0, p = 0
}

@inline(never) func makeSentinelOwner() -> SentinelOwner { SentinelOwner() }
@inline(never) func makeSentinelOwner(_ onDeinit: @escaping () -> Void) -> SentinelOwner { SentinelOwner(onDeinit) }
@inline(never) func makeSentinel(_ onDeinit: @escaping () -> Void) -> Sentinel { Sentinel(onDeinit) }
/// A host owner, created and passed as `AnyObject` from the start.
@inline(never) func makeHostOwnerAsAnyObject() -> AnyObject { HostOwner() }
@inline(never) func makeSmallFiller() -> AnyObject { SmallFiller() }
@inline(never) func makeFiller(_ kind: Int) -> AnyObject {
    switch kind {
    case 0: MediumFiller()
    case 1: LargeFiller()
    default: SmallFiller()
    }
}

/// `bump(_:)` into the calling thread's own counter, for a cleanup that
/// captures a value in the multi-threaded workloads.
@inline(never)
func threadBump(_ captured: Int) {
    finalize_bench_thread_bump()
}

/// A fixed-seed generator (SplitMix64), so a shuffle is the same in every
/// run and on every machine.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Sleeps for `nanoseconds`, resuming after signals.
func sleepNanoseconds(_ nanoseconds: UInt64) {
    var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

/// The heap bytes that `build`'s result holds while it is alive: the C heap
/// in use with the result alive, less before `build` ran.
func heapGrowth<T>(_ build: () -> T) -> Int {
    let before = heapInUse()
    let result = build()
    let after = heapInUse()
    withExtendedLifetime(result) {}
    return after - before
}

enum BatchWorkloads {
    /// The ratio targets of the batch workloads (time of the workload over
    /// time of its reference, paired), checked by `verdicts` and written to
    /// the JSON's `ratios`; `throughput` marks a target on the inverse.
    static let ratioTargets: [(workload: String, limit: Double, throughput: Bool, check: String)] = [
        ("batch_host", 2.0, false, "batch host <= 2.0x batch_sentinel"),
        ("batch_watched", 1.6, false, "batch watched (release, then one sweep) <= 1.6x batch_sentinel"),
        ("batch_host_detach", 2.0, false, "batch register + detach <= 2.0x batch_sentinel_detach"),
        ("batch_run_now", 2.0, false, "batch runNow newest first <= 2.0x batch_sentinel_run_now"),
        ("batch_threads2", 1.4, true, "batch host on 2 threads >= 1.4x the throughput of 1"),
    ]

    static func all(idleSeconds: Double) -> [Workload] {
        [
            Workload(
                name: "batch_floor", unit: "ns/owner",
                target: "reference: N owners whose deinit calls a capturing closure", batch: true
            ) {
                floor($0)
            },
            Workload(
                name: "batch_sentinel", unit: "ns/owner", target: "reference for the host path: hand-written sentinel",
                reference: "batch_floor", batch: true
            ) {
                sentinel($0)
            },
            Workload(
                name: "batch_host", unit: "ns/owner", target: "<= 2.0x batch_sentinel", reference: "batch_sentinel",
                batch: true
            ) {
                host($0)
            },
            Workload(
                name: "batch_host_anyobject", unit: "ns/owner", target: "(report) host owners passed as AnyObject",
                reference: "batch_sentinel", batch: true
            ) {
                hostAnyObject($0)
            },
            Workload(
                name: "batch_minimal_watched", unit: "ns/owner",
                target: "reference: the least any watched design does", reference: "batch_sentinel", batch: true
            ) {
                minimalWatched($0)
            },
            Workload(
                name: "batch_watched", unit: "ns/owner", target: "<= 1.6x batch_sentinel", reference: "batch_sentinel",
                batch: true
            ) {
                watched($0)
            },
            Workload(
                name: "batch_sentinel_detach", unit: "ns/owner", target: "reference: attach a sentinel, then cancel it",
                batch: true
            ) {
                sentinelDetach($0)
            },
            Workload(
                name: "batch_host_detach", unit: "ns/owner", target: "<= 2.0x batch_sentinel_detach",
                reference: "batch_sentinel_detach", batch: true
            ) {
                hostDetach($0)
            },
            Workload(
                name: "batch_sentinel_run_now", unit: "ns/owner",
                target: "reference: call and clear N sentinels, newest first", batch: true
            ) {
                sentinelRunNow($0)
            },
            Workload(
                name: "batch_run_now", unit: "ns/owner", target: "<= 2.0x batch_sentinel_run_now",
                reference: "batch_sentinel_run_now", batch: true
            ) {
                runNow($0)
            },
            Workload(name: "sweep_interleaved", unit: "ms", target: "(report) one sweep, N live owners among fillers") {
                sweepInterleaved($0, shuffled: false)
            },
            Workload(name: "sweep_interleaved_shuffled", unit: "ms", target: "< 20 ms at N = 1,000,000 (scaled by N)") {
                sweepInterleaved($0, shuffled: true)
            },
            Workload(name: "batch_threads1", unit: "ns/owner", target: "batch_host on 1 thread, wall time", batch: true)
            {
                threads($0, threads: 1)
            },
            Workload(
                name: "batch_threads2", unit: "ns/owner", target: "throughput >= 1.4x batch_threads1",
                reference: "batch_threads1", batch: true
            ) {
                threads($0, threads: 2)
            },
            Workload(
                name: "memory_host_batch", unit: "B/registration", target: "<= 128 (bag and closure context included)"
            ) {
                memoryPerRegistration($0, sentinel: false)
            },
            Workload(
                name: "memory_sentinel_batch", unit: "B/registration", target: "reference: sentinel and closure context"
            ) {
                memoryPerRegistration($0, sentinel: true)
            },
            Workload(name: "memory_host_batch_peak", unit: "MB", target: "heap growth with N host owners registered") {
                Double(memoryPeak($0, sentinel: false)) / 1e6
            },
            Workload(name: "memory_sentinel_batch_peak", unit: "MB", target: "heap growth with N sentinel owners") {
                Double(memoryPeak($0, sentinel: true)) / 1e6
            },
            Workload(
                name: "idle_sweeper_cpu", unit: "% of a core",
                target: "<= 1 (default sweep interval, \(format2(idleSeconds)) s idle, owners settled)"
            ) {
                idleSweeperCPU($0, seconds: idleSeconds, settled: true)
            },
            Workload(
                name: "idle_sweeper_cpu_young", unit: "% of a core",
                target: "(report) the same window right after registering"
            ) {
                idleSweeperCPU($0, seconds: idleSeconds, settled: false)
            },
        ]
    }

    // MARK: - Create N owners, keep them, drop them all

    /// N floor owners (a capturing closure each) created into an array,
    /// then the array dropped: ns per owner for both.
    static func floor(_ n: Int) -> Double {
        measure(operations: n, cleanups: n, in: "batch_floor") {
            var owners: [FloorOwner] = []
            owners.reserveCapacity(n)
            for index in 0..<n { owners.append(makeFloorOwner { bump(index) }) }
            owners.removeAll()
        }
    }

    /// The same with the hand-written sentinel: each owner holds a sentinel
    /// whose `deinit` calls the closure.
    static func sentinel(_ n: Int) -> Double {
        measure(operations: n, cleanups: n, in: "batch_sentinel") {
            var owners: [SentinelOwner] = []
            owners.reserveCapacity(n)
            for index in 0..<n { owners.append(makeSentinelOwner { bump(index) }) }
            owners.removeAll()
        }
    }

    /// N host owners, each registered right after its creation (static type
    /// `HostOwner`: the host overload), kept, then all dropped.
    static func host(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        return measure(operations: n, cleanups: n, in: "batch_host") {
            var owners: [HostOwner] = []
            owners.reserveCapacity(n)
            for index in 0..<n {
                let owner = makeHostOwner()
                registry.finalize(owner) { bump(index) }
                owners.append(owner)
            }
            owners.removeAll()
        }
    }

    /// The same, the owners created, kept and registered as `AnyObject`
    /// (the overload that finds the host at run time).
    static func hostAnyObject(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        return measure(operations: n, cleanups: n, in: "batch_host_anyobject") {
            var owners: [AnyObject] = []
            owners.reserveCapacity(n)
            for index in 0..<n {
                let owner = makeHostOwnerAsAnyObject()
                registry.finalize(owner) { bump(index) }
                owners.append(owner)
            }
            owners.removeAll()
        }
    }

    /// N plain owners, watched, kept, all dropped, then one `sweep()`
    /// (inside the time) runs the N cleanups.
    static func watched(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        return measure(operations: n, cleanups: n, in: "batch_watched") {
            var owners: [PlainOwner] = []
            owners.reserveCapacity(n)
            for index in 0..<n {
                let owner = makePlainOwner()
                registry.finalize(owner) { bump(index) }
                owners.append(owner)
            }
            owners.removeAll()
            registry.sweep()
        }
    }

    /// The same with the least any watched design does
    /// (`MinimalWatchedTable`).
    static func minimalWatched(_ n: Int) -> Double {
        let table = MinimalWatchedTable()
        return measure(operations: n, cleanups: n, in: "batch_minimal_watched") {
            var owners: [PlainOwner] = []
            owners.reserveCapacity(n)
            for index in 0..<n {
                let owner = makePlainOwner()
                _ = table.finalize(owner) { bump(index) }
                owners.append(owner)
            }
            owners.removeAll()
            table.sweep()
        }
    }

    // MARK: - Detach and run now, owners alive

    /// N live host owners (created untimed): register all N, then detach
    /// all N handles; nothing runs.
    static func hostDetach(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<n).map { _ in makeHostOwner() }
        var handles: [Finalizer<Void>] = []
        handles.reserveCapacity(n)
        let time = measure(operations: n, cleanups: 0, in: "batch_host_detach") {
            for index in owners.indices {
                handles.append(registry.finalize(owners[index]) { bump(index) })
            }
            for handle in handles { _ = handle.detach() }
        }
        precondition(registry.pendingCount == 0, "batch_host_detach: finalizers still pending")
        withExtendedLifetime(owners) {}
        return time
    }

    /// The sentinel form: attach a sentinel to each of N live owners, then
    /// cancel all N (the closure set to nil, its context freed).
    static func sentinelDetach(_ n: Int) -> Double {
        let owners = (0..<n).map { _ in makeSentinelOwner() }
        var handles: [Sentinel] = []
        handles.reserveCapacity(n)
        let time = measure(operations: n, cleanups: 0, in: "batch_sentinel_detach") {
            for index in owners.indices {
                let sentinel = makeSentinel { bump(index) }
                owners[index].sentinel = sentinel
                handles.append(sentinel)
            }
            for handle in handles { handle.onDeinit = nil }
        }
        withExtendedLifetime(owners) {}
        return time
    }

    /// N pending registrations on live host owners, made untimed; timed:
    /// `runNow()` on every handle, newest first.
    static func runNow(_ n: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<n).map { _ in makeHostOwner() }
        let handles = owners.indices.map { index in registry.finalize(owners[index]) { bump(index) } }
        let time = measure(operations: n, cleanups: n, in: "batch_run_now") {
            for handle in handles.reversed() { _ = try? handle.runNow() }
        }
        withExtendedLifetime(owners) {}
        return time
    }

    /// The sentinel form: N live owners with sentinels (untimed); timed:
    /// take each sentinel's closure and call it, newest first.
    static func sentinelRunNow(_ n: Int) -> Double {
        let owners = (0..<n).map { index in makeSentinelOwner { bump(index) } }
        let handles = owners.map { $0.sentinel! }
        let time = measure(operations: n, cleanups: n, in: "batch_sentinel_run_now") {
            for handle in handles.reversed() { handle.onDeinit.take()?() }
        }
        withExtendedLifetime(owners) {}
        return time
    }

    // MARK: - Sweep over a realistic heap

    /// N live watched owners allocated among fillers (before each owner a
    /// 24-byte object, after it one of 64, 144 or 24 bytes in turn, all
    /// kept), registered in allocation order or in a fixed-seed shuffled
    /// order; the figure is milliseconds for one `sweep()` that finds
    /// nothing dead.
    static func sweepInterleaved(_ n: Int, shuffled: Bool) -> Double {
        let name = shuffled ? "sweep_interleaved_shuffled" : "sweep_interleaved"
        let registry = FinalizerRegistry(sweepInterval: nil)
        var owners: [PlainOwner] = []
        owners.reserveCapacity(n)
        var fillers: [AnyObject] = []
        fillers.reserveCapacity(2 * n)
        for index in 0..<n {
            fillers.append(makeSmallFiller())
            owners.append(makePlainOwner())
            fillers.append(makeFiller(index % 3))
        }
        if shuffled {
            var generator = SplitMix64(seed: 0x5EED_F1A1)
            owners.shuffle(using: &generator)
        }
        for index in owners.indices { registry.finalize(owners[index]) { bump(index) } }
        let start = cleanupCount.load(ordering: .relaxed)
        let began = now()
        registry.sweep()
        let milliseconds = Double(now() - began) / 1e6
        expectCleanups(0, since: start, in: name)
        withExtendedLifetime(owners) {}
        withExtendedLifetime(fillers) {}
        return milliseconds
    }

    // MARK: - Two threads

    /// `batch_host` on `threads` threads at once, one registry: each thread
    /// creates, registers and keeps its share of the N owners, then drops
    /// them; wall ns per owner. Each thread counts its cleanups in a
    /// counter of its own, so the threads share nothing but the registry.
    static func threads(_ n: Int, threads: Int) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let start = cleanupCount.load(ordering: .relaxed)
        let wall = runThreads(threads) { thread in
            let count = n / threads + (thread < n % threads ? 1 : 0)
            let before = finalize_bench_thread_count()
            var owners: [HostOwner] = []
            owners.reserveCapacity(count)
            for index in 0..<count {
                let owner = makeHostOwner()
                registry.finalize(owner) { threadBump(index) }
                owners.append(owner)
            }
            owners.removeAll()
            cleanupCount.wrappingAdd(finalize_bench_thread_count() - before, ordering: .relaxed)
        }
        expectCleanups(n, since: start, in: "batch_threads\(threads)")
        return Double(wall) / Double(n)
    }

    // MARK: - Memory

    /// N live owners in an array: host owners, each registered with
    /// `registry` right after its creation, or sentinel owners.
    private static func liveOwners(_ n: Int, sentinel: Bool, registry: FinalizerRegistry) -> [AnyObject] {
        var owners: [AnyObject] = []
        owners.reserveCapacity(n)
        for index in 0..<n {
            if sentinel {
                owners.append(makeSentinelOwner { bump(index) })
            } else {
                let owner = makeHostOwner()
                registry.finalize(owner) { bump(index) }
                owners.append(owner)
            }
        }
        return owners
    }

    /// Heap bytes per registration with N owners alive, everything the
    /// registration adds included: N owners with their registrations (host:
    /// the bag, the finalizer, the closure context; sentinel: the sentinel
    /// and the closure context), less N owners of a class with no fields
    /// at all (`PlainOwner`, what the host owner is without its bag), both
    /// counted with their array.
    static func memoryPerRegistration(_ n: Int, sentinel: Bool) -> Double {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let plain = heapGrowth { () -> [AnyObject] in
            var owners: [AnyObject] = []
            owners.reserveCapacity(n)
            for _ in 0..<n { owners.append(makePlainOwner()) }
            return owners
        }
        let registered = heapGrowth { liveOwners(n, sentinel: sentinel, registry: registry) }
        return Double(registered - plain) / Double(n)
    }

    /// The heap's growth, in bytes, with N owners and their registrations
    /// alive (the owners and their array included).
    static func memoryPeak(_ n: Int, sentinel: Bool) -> Int {
        let registry = FinalizerRegistry(sweepInterval: nil)
        return heapGrowth { liveOwners(n, sentinel: sentinel, registry: registry) }
    }

    // MARK: - The background sweeper, idle

    /// A registry with the default sweep interval (background sweeper on)
    /// watching N live owners, allocated among fillers as real programs
    /// allocate; the process's CPU time (all threads, user plus system)
    /// over an idle window of `seconds` in which the main thread only
    /// sleeps, as a percentage of one core. With `settled`, the window
    /// starts once the owners have left the young generation (1.5 s after
    /// the last registration: the sweeper looks at young owners every
    /// other tick for their first 1.2 s); without, right after the last
    /// registration.
    static func idleSweeperCPU(_ n: Int, seconds: Double, settled: Bool) -> Double {
        let name = settled ? "idle_sweeper_cpu" : "idle_sweeper_cpu_young"
        let registry = FinalizerRegistry()
        var owners: [PlainOwner] = []
        owners.reserveCapacity(n)
        var fillers: [AnyObject] = []
        fillers.reserveCapacity(n)
        for index in 0..<n {
            owners.append(makePlainOwner())
            fillers.append(makeFiller(index % 3))
        }
        for index in owners.indices { registry.finalize(owners[index]) { bump(index) } }
        let start = cleanupCount.load(ordering: .relaxed)
        if settled { sleepNanoseconds(1_500_000_000) }
        let cpuBefore = finalize_bench_process_cpu_ns()
        let began = now()
        sleepNanoseconds(UInt64(seconds * 1e9))
        let wall = now() - began
        let cpu = finalize_bench_process_cpu_ns() - cpuBefore
        expectCleanups(0, since: start, in: name)
        withExtendedLifetime(owners) {}
        withExtendedLifetime(fillers) {}
        withExtendedLifetime(registry) {}
        return Double(cpu) / Double(wall) * 100
    }
}
