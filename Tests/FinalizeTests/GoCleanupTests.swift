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

    /// `TestCleanupPointerEqualsArg` (go.dev/issue/71316): the resource is the
    /// owner itself, so the owner can never die. Go panics ("cleanup will
    /// never run"); Finalize never crashes on misuse: it registers as asked
    /// (`runNow()` and shutdown still run it, so nothing is lost), and warns
    /// once per registration site, naming the site and the owner's type.
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupPointerEqualsArg(kind: OwnerKind) {
        let warnings = Locked<[String]>([])
        let registry = FinalizerRegistry(
            sweepInterval: nil, onFailure: { _ in }, diagnose: { line in warnings.withLock { $0.append(line) } })
        let ran = Counter()
        weak var watch: AnyObject?
        var line = 0
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            watch = v
            line = #line + 1
            let f = registry.finalize(v!, holding: v!) { _ in ran.increment() }
            #expect(f.isAlive)
            v = nil
        }
        kind.collect(registry)
        // Not before shutdown: the finalizer's resource holds the owner.
        #expect(watch != nil)
        #expect(ran.value == 0)
        #expect(warnings.value.count == 1)
        let warning = warnings.value.first ?? ""
        #expect(warning.contains("GoCleanupTests.swift:\(line)"))
        #expect(warning.contains("holds its owner"))
        #expect(warning.contains(kind == .host ? "Host" : "Plain"))
        // Shutdown runs it; dropping the resource then frees the owner.
        #expect(registry.shutdown() == 1)
        #expect(ran.value == 1)
        #expect(watch == nil)
    }

    /// The warning is per site: a loop warns once, another site warns again,
    /// and a class resource that is not the owner does not warn.
    @Test func resourceIsOwnerWarnsOncePerSite() {
        let warnings = Locked<[String]>([])
        let registry = FinalizerRegistry(
            sweepInterval: nil, onFailure: { _ in }, diagnose: { line in warnings.withLock { $0.append(line) } })
        let owners = (0..<3).map { _ in Host() }
        for owner in owners {
            registry.finalize(owner, holding: owner) { _ in }
        }
        #expect(warnings.value.count == 1)
        registry.finalize(owners[0], holding: owners[0]) { _ in }
        #expect(warnings.value.count == 2)
        registry.finalize(owners[0], holding: owners[1]) { _ in }
        registry.finalize(owners[0], holding: Plain()) { _ in }
        #expect(warnings.value.count == 2)
        #expect(registry.shutdown() == 6)
    }

    /// With `runsAtExit: false`, shutdown leaves such a finalizer alone, so
    /// only `runNow()` can run it: the warning says so, and `runNow()` does
    /// run it and lets the owner go.
    @Test func resourceIsOwnerWithoutRunsAtExitSaysOnlyRunNowRunsIt() throws {
        let warnings = Locked<[String]>([])
        let registry = FinalizerRegistry(
            sweepInterval: nil, onFailure: { _ in }, diagnose: { line in warnings.withLock { $0.append(line) } })
        weak var watch: Host?
        var finalizer: Finalizer<Host>?
        do {
            let owner = Host()
            watch = owner
            finalizer = registry.finalize(owner, holding: owner, runsAtExit: false) { _ in }
        }
        #expect(warnings.value.count == 1)
        #expect(warnings.value.first?.contains("runs only by runNow(), and otherwise never") == true)
        #expect(registry.shutdown() == 0)
        #expect(watch != nil)
        #expect(try finalizer?.runNow() == true)
        #expect(watch == nil)
    }
}
