// Ports of Go's `src/runtime/mcleanup_test.go` (`runtime.AddCleanup`).
//
// Go's `AddCleanup(ptr, fn, arg)` maps to `finalize(owner, holding: arg, fn)`,
// `Cleanup.Stop()` to `detach()`, and `runtime.GC()` to the owner's release
// (plus a sweep for a watched owner). Each scenario runs for a host owner
// and a watched one.

import Dispatch
import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("Go runtime mcleanup_test")
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

    // Go src/runtime/mcleanup_test.go, TestCleanupNilInterface
    @Test func TestCleanupNilInterface() {
        // A nil interface argument (empty and non-empty interface) is a
        // resource like any other; Stop hands it back: `.some(nil)`.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let ptr = Plain()
        let any = registry.finalize(ptr, holding: (any Sendable)?.none) { _ in runs.increment() }
        let anyBack = any.detach()
        #expect(anyBack != nil)
        #expect(anyBack.map { $0 == nil } == true)
        let error = registry.finalize(ptr, holding: (any Error)?.none) { _ in runs.increment() }
        let errorBack = error.detach()
        #expect(errorBack != nil)
        #expect(errorBack.map { $0 == nil } == true)
        withExtendedLifetime(ptr) {}  // runtime.KeepAlive(ptr)
        #expect(any.state == .detached)
        #expect(error.state == .detached)
        #expect(runs.value == 0)
        #expect(registry.pendingCount == 0)
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupInterfaceArgument
    @Test func TestCleanupInterfaceArgument() {
        // The boxed argument is retained by the cleanup (not by the caller's
        // variables) while the target lives; after Stop, it is the caller's.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let ptr = Plain()
        var arg: (any Sendable)? = tracker.instance(7)
        let cleanup = registry.finalize(ptr, holding: arg!) { _ in }
        arg = nil  // only the cleanup should retain the boxed value
        registry.sweep()
        #expect(tracker.instances == 1, "cleanup argument was collected while the target was still live")
        var back: (any Sendable)? = cleanup.detach()
        #expect((back as? LifetimeTracked)?.payload == 7)
        back = nil
        #expect(tracker.instances == 0)
        withExtendedLifetime(ptr) {}
        #expect(cleanup.state == .detached)
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupAfterFinalizer
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupAfterFinalizer(kind: OwnerKind) {
        // The object's own finalizer (its deinit) runs first, the cleanup
        // after it, with its argument.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let ch = EventLog()
        do {
            var v: AnyObject? = kind == .host ? PeerDeinitLoggingHost(ch) : PeerDeinitLoggingPlain(ch)
            registry.finalize(v!, holding: GoCleanupTests.want) { x in ch.append("cleanup \(x)") }
            withExtendedLifetime(v) {
                #expect(registry.sweep() == 0)
                #expect(ch.events.isEmpty)
            }
            v = nil
        }
        if kind == .watched {
            // Finalized at its release; the cleanup waits for the collection.
            #expect(ch.events == ["finalizer"])
            #expect(registry.sweep() == 1)
        }
        #expect(ch.events == ["finalizer", "cleanup \(GoCleanupTests.want)"])
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupInteriorPointer
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupInteriorPointer(kind: OwnerKind) {
        // Cleanups attached to parts of one object (`&ts.a`, `&ts.b`,
        // `&ts.c`; in Swift, objects it alone holds) all run once it dies.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let got = Locked<[Int]>([])
        let cleanup: @Sendable (Int) -> Void = { x in got.withLock { $0.append(x) } }
        do {
            var ts: PeerThreeParts? = PeerThreeParts(kind)
            registry.finalize(ts!.a, holding: GoCleanupTests.want, cleanup)
            registry.finalize(ts!.b, holding: GoCleanupTests.want, cleanup)
            registry.finalize(ts!.c, holding: GoCleanupTests.want, cleanup)
            withExtendedLifetime(ts) { #expect(registry.sweep() == 0) }
            ts = nil
        }
        if kind == .watched { #expect(registry.sweep() == 3) }
        #expect(got.value == [GoCleanupTests.want, GoCleanupTests.want, GoCleanupTests.want])
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupUnreachablePointer
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupUnreachablePointer(kind: OwnerKind) {
        // The argument reaches the object (Go: `&v.f`, a pointer into it;
        // here: a struct holding it), so the object can never die. Go panics;
        // Finalize keeps it registered: not at a collection, but shutdown runs
        // it, and then the object is freed.
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: { _ in }, diagnose: { _ in })
        let ran = Counter()
        weak var watch: AnyObject?
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            watch = v
            registry.finalize(v!, holding: PeerReachesOwner(owner: v!)) { _ in ran.increment() }
            v = nil
        }
        kind.collect(registry)
        #expect(watch != nil)
        #expect(ran.value == 0, "cleanup ran unexpectedly")
        #expect(registry.pendingCount == 1)
        #expect(registry.shutdown() == 1)
        #expect(ran.value == 1)
        #expect(watch == nil)
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupUnreachableClosure
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupUnreachableClosure(kind: OwnerKind) {
        // The cleanup closure captures the object (possible for a `Sendable`
        // owner), so it can never die. Go panics; Finalize keeps it pending,
        // `pending` names the registration site and the owner's type (the
        // leak finder), and shutdown runs it and so frees the object.
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: { _ in }, diagnose: { _ in })
        let ran = Counter()
        weak var watch: AnyObject?
        var line = 0
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            watch = v
            let captured = v!
            line = #line + 1
            registry.finalize(captured) { withExtendedLifetime(captured) { ran.increment() } }
            v = nil
        }
        kind.collect(registry)
        #expect(watch != nil)
        #expect(ran.value == 0, "cleanup ran unexpectedly")
        let infos = registry.pending
        #expect(infos.count == 1)
        #expect(infos.first?.fileID == #fileID)
        #expect(infos.first?.line == line)
        #expect(infos.first?.ownerType == (kind == .host ? "Host" : "Plain"))
        #expect(registry.shutdown() == 1)
        #expect(ran.value == 1)
        #expect(watch == nil)
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupLost
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupLost(kind: OwnerKind) {
        // Cleanups aren't lost when there are a lot of them: GOMAXPROCS
        // goroutines (here 4 threads) each register cleanups on owners they
        // drop at once; after the collection every one has run exactly once.
        let threads = 4, cleanups = 2_500
        let registry = FinalizerRegistry(sweepInterval: nil)
        let got = Counter()
        onThreads(threads) { _ in
            for _ in 0..<cleanups {
                var v: (AnyObject & Sendable)? = kind.make()
                registry.finalize(v!, holding: GoCleanupTests.want) { _ in got.increment() }
                v = nil
            }
        }
        kind.collect(registry)
        #expect(got.value == threads * cleanups, "cleanups executed")
        #expect(registry.pendingCount == 0)
        #expect(registry.sweep() == 0)
        #expect(got.value == threads * cleanups)
    }
}

/// An owner with a finalizer of its own (its deinit), as a host.
private final class PeerDeinitLoggingHost: FinalizerHost {
    let finalizers = FinalizerBag()
    let log: EventLog
    init(_ log: EventLog) { self.log = log }
    deinit { log.append("finalizer") }
}

/// The same, as a watched owner.
private final class PeerDeinitLoggingPlain {
    let log: EventLog
    init(_ log: EventLog) { self.log = log }
    deinit { log.append("finalizer") }
}

/// Go's `struct { p unsafe.Pointer; i, a, b, c int }`: three parts that live
/// exactly as long as the whole.
private final class PeerThreeParts {
    let a: AnyObject & Sendable
    let b: AnyObject & Sendable
    let c: AnyObject & Sendable
    init(_ kind: OwnerKind) {
        a = kind.make()
        b = kind.make()
        c = kind.make()
    }
}

/// A resource that reaches its owner (Go's `&v.f`): not the owner itself,
/// so the registration cannot tell.
private struct PeerReachesOwner: Sendable {
    let owner: AnyObject & Sendable
}
