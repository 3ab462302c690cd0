import Finalize
import Synchronization
import _FinalizeBenchSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic nanoseconds.
@inline(__always)
func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Bytes handed out by the C heap right now (glibc `mallinfo2`).
func heapInUse() -> Int {
    Int(finalize_bench_heap_in_use())
}

/// Times `body` once; returns nanoseconds per operation.
@inline(never)
func measure(operations: Int, _ body: () -> Void) -> Double {
    let start = now()
    body()
    return Double(now() - start) / Double(operations)
}

/// Times `body` once, then checks that exactly `cleanups` cleanups ran
/// during it; returns nanoseconds per operation.
func measure(operations: Int, cleanups: Int, in workload: String, _ body: () -> Void) -> Double {
    let start = cleanupCount.load(ordering: .relaxed)
    let time = measure(operations: operations, body)
    expectCleanups(cleanups, since: start, in: workload)
    return time
}

/// The counter every cleanup in the benchmarks bumps. Bumping a global
/// captures nothing, so no cleanup allocates a closure context (the peers'
/// cleanups are module-level functions or static lambdas for the same reason).
let cleanupCount = Atomic<Int>(0)

@inline(__always)
func bump() {
    cleanupCount.wrappingAdd(1, ordering: .relaxed)
}

/// `bump()` for a cleanup that captures a value (the value is unused; the
/// capture is the point).
@inline(never)
func bump(_ captured: Int) {
    cleanupCount.wrappingAdd(1, ordering: .relaxed)
}

/// Fails loudly if a workload did not run what it should have: a benchmark
/// that silently measures nothing is worse than none.
func expectCleanups(_ expected: Int, since start: Int, in workload: String) {
    let ran = cleanupCount.load(ordering: .relaxed) - start
    precondition(ran == expected, "\(workload): \(ran) cleanups ran, expected \(expected)")
}

/// Start flags shared by the threads of one `runThreads` call.
private final class StartLine: Sendable {
    let ready = Atomic<Int>(0)
    let go = Atomic<Bool>(false)
}

/// Runs `body(index)` on `count` new threads released together; returns the
/// wall time in nanoseconds from the release to the last thread's finish.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> UInt64 {
    // The main thread may be pinned to one processor, which a worker needs;
    // let it (and the threads it creates, which inherit its affinity) run
    // anywhere until the workers are done, then pin it again.
    let mainProcessor = finalize_bench_current_cpu()
    let wasPinned = options.pin && finalize_bench_allowed_cpu_count() > 1 && finalize_bench_pin_thread(-1) == 0
    defer { if wasPinned { _ = finalize_bench_pin_thread(mainProcessor) } }
    let start = StartLine()
    let threads = (0..<count).map { index in
        // The library's thread (a `package` type), started with a Swift closure.
        guard
            let thread = PlatformThread.start({
                // One processor per thread: the scheduler would sometimes stack
                // two workers on one processor.
                _ = finalize_bench_pin_worker(CInt(index))
                start.ready.wrappingAdd(1, ordering: .sequentiallyConsistent)
                while !start.go.load(ordering: .sequentiallyConsistent) {}
                body(index)
            })
        else { preconditionFailure("pthread_create failed") }
        return thread
    }
    while start.ready.load(ordering: .sequentiallyConsistent) < count {}
    let began = now()
    start.go.store(true, ordering: .sequentiallyConsistent)
    for thread in threads { thread.join() }
    return now() - began
}

/// Median of a non-empty list.
func medianOf(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// One workload's measurements, one value per run.
struct Measurement {
    let name: String
    let unit: String
    let runs: [Double]
    let summary: String

    var median: Double { medianOf(runs) }
}
