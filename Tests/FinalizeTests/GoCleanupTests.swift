// Ports of Go's `src/runtime/mcleanup_test.go` (`runtime.AddCleanup`).
//
// Go's `AddCleanup(ptr, fn, arg)` maps to `finalize(owner, holding: arg, fn)`,
// `Cleanup.Stop()` to `detach()`, and `runtime.GC()` to the owner's release
// (plus a sweep for a watched owner). Each scenario runs for a host owner
// and a watched one.

import Dispatch
import Testing
@testable import Finalize

@Suite("Go mcleanup_test")
struct GoCleanupTests {
    static let want = 97531

    /// `TestCleanup`: the cleanup runs once with its argument.
    @Test(arguments: OwnerKind.allCases)
    func TestCleanup(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let got = Locked<[Int]>([])
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            registry.finalize(v!, holding: Self.want) { x in got.withLock { $0.append(x) } }
            v = nil
        }
        kind.collect(registry)
        #expect(got.value == [Self.want])
    }

    /// `TestCleanupMultiple`: several cleanups on one owner all run.
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupMultiple(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let got = Locked<[Int]>([])
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            for _ in 0..<3 {
                registry.finalize(v!, holding: Self.want) { x in got.withLock { $0.append(x) } }
            }
            v = nil
        }
        if kind == .watched { #expect(registry.sweep() == 3) }
        #expect(got.value == [Self.want, Self.want, Self.want])
    }

    /// `TestCleanupZeroSizedStruct`: an owner with no stored state at all is
    /// an owner like any other.
    @Test func TestCleanupZeroSizedStruct() {
        final class Z: Sendable {}
        let registry = FinalizerRegistry(sweepInterval: nil)
        let got = Locked<[String]>([])
        do {
            var z: Z? = Z()
            registry.finalize(z!, holding: "foo") { s in got.withLock { $0.append(s) } }
            z = nil
        }
        registry.sweep()
        #expect(got.value == ["foo"])
    }

    /// `TestCleanupStop`: a stopped (detached) cleanup never runs.
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupStop(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            let c = registry.finalize(v!, holding: Self.want) { _ in runs.increment() }
            #expect(c.detach() == Self.want)
            v = nil
        }
        kind.collect(registry)
        #expect(runs.value == 0)
    }

    /// `TestCleanupStopMultiple`: stopping three times is harmless; only the
    /// first hands the argument back.
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupStopMultiple(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            let c = registry.finalize(v!, holding: Self.want) { _ in runs.increment() }
            #expect(c.detach() == Self.want)
            #expect(c.detach() == nil)
            #expect(c.detach() == nil)
            #expect(c.state == .detached)
            v = nil
        }
        kind.collect(registry)
        #expect(runs.value == 0)
    }

    /// `TestCleanupStopinterleavedMultiple`: 5 registered, the 2 with
    /// argument 2 stopped, exactly the 3 with argument 1 run.
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupStopinterleavedMultiple(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let got = Locked<[Int]>([])
        let cleanup: @Sendable (Int) -> Void = { x in got.withLock { $0.append(x) } }
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            registry.finalize(v!, holding: 1, cleanup)
            #expect(registry.finalize(v!, holding: 2, cleanup).detach() == 2)
            registry.finalize(v!, holding: 1, cleanup)
            #expect(registry.finalize(v!, holding: 2, cleanup).detach() == 2)
            registry.finalize(v!, holding: 1, cleanup)
            #expect(registry.pendingCount == 3)
            v = nil
        }
        if kind == .watched { #expect(registry.sweep() == 3) }
        #expect(got.value == [1, 1, 1])
        #expect(registry.pendingCount == 0)
    }

    /// `TestCleanupStopAfterCleanupRuns`: stopping after the cleanup ran is
    /// harmless and returns nothing.
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupStopAfterCleanupRuns(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let stop: Finalizer<Int>
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            stop = registry.finalize(v!, holding: Self.want) { _ in runs.increment() }
            v = nil
        }
        kind.collect(registry)
        #expect(runs.value == 1)
        #expect(stop.detach() == nil)
        #expect(stop.detach() == nil)
        #expect(stop.state == .ran(kind.deathTrigger))
        #expect(runs.value == 1)
    }

    /// Many threads registering at once, 10,000 registrations each, on owners
    /// they release at once: not one cleanup lost or doubled.
    @Test(arguments: OwnerKind.allCases)
    func manyThreadsTimesTenThousandRegistrations(kind: OwnerKind) {
        let threads = 4, perThread = 10_000
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<perThread {
                do {
                    var owner: (AnyObject & Sendable)? = kind.make()
                    register(registry, on: owner!) { runs.increment() }
                    owner = nil
                }
            }
        }
        // Registration sweeps (amortized) may already have run some watched
        // cleanups; the rest are due now.
        kind.collect(registry)
        #expect(runs.value == threads * perThread)
        #expect(registry.pendingCount == 0)
        #expect(registry.sweep() == 0)
        #expect(registry.shutdown() == 0)
    }
}
