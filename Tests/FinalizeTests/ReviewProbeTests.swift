// Probes from an independent review of the core: races between triggers,
// misuse that must not crash, and what a dead registry leaves behind. Two of
// them found bugs, fixed since: a kept handle kept its dead registry's whole
// watched table, and a huge `sweepInterval` overflowed the sweeper's
// deadline (now clamped and saturated; checked without a child process).
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
@testable import Finalize

@Suite("Review probes")
struct ReviewProbeTests {
    /// detach() on a watched finalizer races with the registry's end(): the
    /// resource is handed back or released exactly once, never both, never
    /// lost; nothing crashes (ASan/TSan).
    @Test func detachRacesRegistryEnd() {
        let tracker = LifetimeTracker()
        for _ in 0..<200 {
            let owners = (0..<16).map { _ in Plain() }
            let slot = Locked<FinalizerRegistry?>(FinalizerRegistry(sweepInterval: nil))
            let ran = Counter()
            let fs = owners.map { owner in
                slot.value!.finalize(owner, holding: tracker.instance(), runsAtExit: false) { _ in ran.increment() }
            }
            let detached = Counter()
            onThreads(2) { thread in
                if thread == 0 {
                    slot.clear()
                } else {
                    for f in fs.reversed() { if f.detach() != nil { detached.increment() } }
                }
            }
            #expect(ran.value == 0)
            for f in fs { #expect(f.state == .detached) }
            withExtendedLifetime(owners) {}
        }
        #expect(tracker.instances == 0)
    }

    /// peek() and detach() race with the owner's last release (host and
    /// watched) and with sweeps: exactly one outcome per finalizer.
    @Test(arguments: OwnerKind.allCases)
    func peekDetachRaceOwnerDeath(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let ran = Counter()
        let detached = Counter()
        let rounds = 2_000
        for _ in 0..<rounds {
            let owner = Locked<(AnyObject & Sendable)?>(kind.make())
            let f = registry.finalize(owner.value!, holding: tracker.instance()) { _ in ran.increment() }
            onThreads(3) { thread in
                switch thread {
                case 0: owner.clear(); kind.collect(registry)
                case 1: _ = f.peek(); _ = f.peek()
                default: if f.detach() != nil { detached.increment() }
                }
            }
            kind.collect(registry)
        }
        #expect(ran.value + detached.value == rounds)
        #expect(tracker.instances == 0)
        #expect(registry.pendingCount == 0)
    }

    /// shutdown() from two threads while owners die on a third: each
    /// cleanup runs exactly once.
    @Test func shutdownRacesBagDeinitAndSweep() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let n = 600
        let runs = Locked<[Int]>(Array(repeating: 0, count: n))
        let owners = Locked<[(AnyObject & Sendable)?]>((0..<n).map { ($0 % 2 == 0 ? OwnerKind.host : .watched).make() })
        for i in 0..<n {
            let o = owners.value[i]!
            if let h = o as? Host { registry.finalize(h, holding: i) { i in runs.withLock { $0[i] += 1 } } }
            else { registry.finalize(o, holding: i) { i in runs.withLock { $0[i] += 1 } } }
        }
        onThreads(3) { thread in
            switch thread {
            case 0:
                for i in 0..<n { _ = owners.withLock { o -> (AnyObject & Sendable)? in let x = o[i]; o[i] = nil; return x } }
            case 1: registry.shutdown()
            default: registry.sweep(); registry.shutdown()
            }
        }
        registry.sweep()
        #expect(runs.value.allSatisfy { $0 == 1 })
        #expect(registry.pendingCount == 0)
    }

    /// Watched registrations past the compaction threshold while other
    /// threads runNow/detach and owners die: no lost or doubled cleanups, no
    /// leaked resources.
    @Test func compactionRacesRunNowDetach() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let ran = Counter()
        let detached = Counter()
        let perThread = 3_000
        onThreads(2) { _ in
            var keep: [Plain] = []
            for i in 0..<perThread {
                let owner = Plain()
                let f = registry.finalize(owner, holding: tracker.instance()) { _ in ran.increment() }
                switch i % 4 {
                case 0: _ = try? f.runNow()
                case 1: if f.detach() != nil { detached.increment() }
                case 2: keep.append(owner)
                default: break
                }
                if keep.count > 50 { keep.removeFirst(25) }
            }
            keep.removeAll()
        }
        registry.sweep()
        #expect(ran.value + detached.value == 2 * perThread)
        #expect(tracker.instances == 0)
        #expect(registry.pendingCount == 0)
    }
}

extension ReviewProbeTests {
    /// A registry that goes away leaves no memory behind, and "a kept handle
    /// costs only its own few bytes": after the registry ended, a surviving
    /// finalizer (a handle the caller kept) must not keep the watched table
    /// the registry once had (here 100,000 entries, 16 bytes each). Checked
    /// on the shards the handles keep, not with heap totals, which the
    /// tests running in parallel would disturb.
    @Test func keptHandleDoesNotRetainTheDeadRegistrysWatchedTable() {
        let owners = (0..<100_000).map { _ in Plain() }
        var kept: [Finalizer<Void>] = []
        do {
            let registry = FinalizerRegistry(sweepInterval: nil)
            for owner in owners { registry.finalize(owner, runsAtExit: false) {} }
            kept.append(registry.finalize(Plain(), runsAtExit: false) {})
            #expect(kept[0].watchedShard.watchedCapacity > 0)
        }
        // The registry is gone: every watched finalizer ran or was detached,
        // and the table each kept shard had is freed.
        #expect(kept.allSatisfy { !$0.isAlive })
        #expect(kept.allSatisfy { $0.watchedShard.watchedCapacity == 0 })
        withExtendedLifetime(owners) {}
    }
}

extension ReviewProbeTests {
    /// A huge sweep interval ("almost never") is clamped to 100 years and a
    /// tiny one to a microsecond, so the sweeper neither overflows its
    /// deadline nor spins.
    @Test func sweepIntervalsAreClamped() {
        let century = Duration.seconds(100 * 365 * 86_400)
        #expect(FinalizerRegistry.clamped(.seconds(Int64.max)) == century)
        #expect(FinalizerRegistry.clamped(century + .seconds(1)) == century)
        #expect(FinalizerRegistry.clamped(Duration(secondsComponent: 0, attosecondsComponent: 1)) == .microseconds(1))
        #expect(FinalizerRegistry.clamped(.milliseconds(100)) == .milliseconds(100))
        // A registry with such an interval works (and goes away cleanly).
        let registry = FinalizerRegistry(sweepInterval: .seconds(Int64.max))
        let ran = Counter()
        do {
            let owner = Plain()
            registry.finalize(owner, runsAtExit: false) { ran.increment() }
            withExtendedLifetime(owner) {}
        }
        #expect(registry.sweep() == 1)
        #expect(ran.value == 1)
    }

    /// The sweeper's deadline arithmetic saturates instead of trapping, on
    /// its own (without the registry's clamp).
    @Test func sweepDeadlineSaturates() {
        let now = Duration.seconds(1_000) + .nanoseconds(999_999_999)
        let huge = MonotonicCondition.posixTime(saturating: now + .seconds(Int64.max))
        #expect(huge.tv_sec == .max && huge.tv_nsec == 999_999_999)
        let normal = MonotonicCondition.posixTime(saturating: now + .nanoseconds(2))
        #expect(normal.tv_sec == 1_001 && normal.tv_nsec == 1)
        let negative = MonotonicCondition.posixTime(saturating: .seconds(-5))
        #expect(negative.tv_sec == 0 && negative.tv_nsec == 0)
    }

    /// An adopted finalizer whose cleanup throws, on a stack that is never
    /// closed: the error goes to the finalizer's own registry, with the site
    /// that registered it and the trigger `.scopeEnd`, and the other entries
    /// still run.
    @Test func unclosedStackReportsAnAdoptedFailureToItsRegistry() {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let log = EventLog()
        let owner = Host()
        let line = #line + 1
        let finalizer = registry.finalize(owner) { throw TestError("adopted") }
        do {
            let stack = CleanupStack()
            stack.defer { log.append("plain entry") }
            stack.adopt(finalizer)
            withExtendedLifetime(stack) {}
        }
        #expect(log.events == ["plain entry"])
        #expect(finalizer.state == .ran(.scopeEnd))
        let reported = failures.all
        #expect(reported.count == 1)
        #expect(reported.first?.trigger == .scopeEnd)
        #expect(reported.first?.line == line)
        #expect(reported.first?.fileID == #fileID)
        #expect((reported.first?.error as? TestError) == TestError("adopted"))
        withExtendedLifetime(owner) {}
    }
}
