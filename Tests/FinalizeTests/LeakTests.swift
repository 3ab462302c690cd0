// After a run or a detach the registry keeps neither cleanup nor resource
// alive; dead finalizers are freed; the registry never retains an owner; a
// registry that goes away leaves nothing behind (its watched tables are
// freed, even while handles to its finalizers are kept).
// Every object involved is a `LifetimeTracked` (after swift-collections),
// so a leak shows up as a live instance count.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("Leaks")
struct LeakTests {
    enum Outcome: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case runNow, detach, hostRelease, sweep, shutdown, runNowThrows
        /// The registry goes away: runs a `runsAtExit` finalizer...
        case registryEndRuns
        /// ...and detaches a watched one with `runsAtExit == false`.
        case registryEndDetaches
        var testDescription: String { rawValue }
    }

    /// Whatever ends a finalizer, its cleanup closure (and what it captured)
    /// and its resource are freed right away, even while the caller still
    /// holds the handle. A detached resource is handed over, then freed when
    /// the caller drops it.
    @Test(arguments: Outcome.allCases)
    func cleanupAndResourceAreFreed(outcome: Outcome) throws {
        let tracker = LifetimeTracker()
        var registry: FinalizerRegistry? = FinalizerRegistry(sweepInterval: nil, onFailure: { _ in })
        let runs = Counter()
        let keptOwner = Plain()
        let f: Finalizer<LifetimeTracked>
        do {
            let captured = tracker.instance(1)
            let cleanup: @Sendable (LifetimeTracked) throws -> Void = { resource in
                runs.increment()
                withExtendedLifetime((captured, resource)) {}
                if outcome == .runNowThrows { throw TestError("thrown") }
            }
            let runsAtExit = outcome != .registryEndDetaches
            switch outcome {
            case .hostRelease:
                do {
                    var host: Host? = Host()
                    f = registry!.finalize(host!, holding: tracker.instance(2), runsAtExit: runsAtExit, cleanup)
                    #expect(tracker.instances == 2)
                    host = nil
                }
            case .sweep:
                do {
                    var owner: Plain? = Plain()
                    f = registry!.finalize(owner!, holding: tracker.instance(2), runsAtExit: runsAtExit, cleanup)
                    #expect(tracker.instances == 2)
                    owner = nil
                }
                #expect(registry!.sweep() == 1)
            default:
                f = registry!.finalize(keptOwner, holding: tracker.instance(2), runsAtExit: runsAtExit, cleanup)
                #expect(tracker.instances == 2)
            }
        }
        switch outcome {
        case .runNow:
            #expect(try f.runNow())
        case .runNowThrows:
            #expect(throws: TestError("thrown")) { try f.runNow() }
        case .detach:
            var resource = f.detach()
            #expect(resource?.payload == 2)
            #expect(tracker.instances == 1)  // only the handed-back resource
            resource = nil
        case .shutdown:
            #expect(registry!.shutdown() == 1)
        case .registryEndRuns, .registryEndDetaches:
            registry = nil
        case .hostRelease, .sweep:
            break
        }
        #expect(!f.isAlive)
        #expect(tracker.instances == 0, "\(tracker.instances) tracked objects leaked")
        #expect(runs.value == ([.detach, .registryEndDetaches].contains(outcome) ? 0 : 1))
        withExtendedLifetime((f, keptOwner, registry)) {}
    }

    /// The registry never keeps an owner alive: with the registry, the handle
    /// and the pending finalizer all still around, the owner's deinit runs
    /// no later than the end of its scope (before any sweep). `peek()` gives
    /// a temporary strong reference that does not linger either.
    @Test(arguments: OwnerKind.allCases)
    func registryNeverRetainsAnOwner(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owners = LifetimeTracker()
        let runs = Counter()
        let f: Finalizer<Int>
        do {
            var owner: (AnyObject & Sendable)? = kind.make(tracker: owners)
            f = registry.finalize(owner!, holding: 1) { _ in runs.increment() }
            #expect(f.peek() != nil)
            withExtendedLifetime(owner) { #expect(owners.instances == 1) }
            owner = nil
        }
        #expect(owners.instances == 0)  // deinit ran: nothing retained it
        if kind == .watched {
            #expect(f.isAlive)  // its cleanup waits for the sweep
            #expect(registry.sweep() == 1)
        }
        #expect(runs.value == 1)
        #expect(f.state == .ran(kind.deathTrigger))
    }

    /// Dead finalizers are freed: a thousand owners with a finalizer each,
    /// handles dropped, owners released (and swept): every finalizer object
    /// and every captured object is gone.
    @Test(arguments: OwnerKind.allCases)
    func deadFinalizersAreFreed(kind: OwnerKind) {
        final class WeakFinalizer: @unchecked Sendable {
            weak var value: Finalizer<Void>?
            init(_ value: Finalizer<Void>) { self.value = value }
        }
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let count = 1_000
        var weakHandles: [WeakFinalizer] = []
        do {
            var owners: [AnyObject & Sendable] = (0..<count).map { _ in kind.make() }
            for owner in owners {
                let captured = tracker.instance()
                weakHandles.append(WeakFinalizer(register(registry, on: owner) { withExtendedLifetime(captured) {} }))
            }
            withExtendedLifetime(owners) {
                #expect(weakHandles.allSatisfy { $0.value != nil })  // kept alive by the registration
                #expect(tracker.instances == count)
            }
            owners.removeAll()
        }
        kind.collect(registry)
        #expect(weakHandles.allSatisfy { $0.value == nil })
        #expect(tracker.instances == 0)
        #expect(registry.pendingCount == 0)
    }

    /// Detached finalizers of a live watched owner do not pile up: their
    /// captures are freed at once, and the registry's table stays bounded
    /// while an owner registers and detaches in a loop.
    @Test func registerAndDetachInALoopStaysBounded() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let owner = Plain()
        let bound = 2 + 128 * registry.shardCount + 2_048
        var largest = 0
        for _ in 0..<10_000 {
            let captured = tracker.instance()
            let f = registry.finalize(owner) { withExtendedLifetime(captured) {} }
            _ = f.detach()
            largest = max(largest, registry.watchedTableSize)
        }
        #expect(tracker.instances == 0)
        #expect(registry.pendingCount == 0)
        #expect(largest <= bound, "watched table grew to \(largest)")
        withExtendedLifetime(owner) {}
    }

    /// A registry that goes away leaves nothing behind: the watched
    /// finalizer it could never sweep is detached and its capture freed, the
    /// registry object itself is freed, and its internal state goes with the
    /// last handle.
    @Test func droppedRegistryLeavesNothingBehind() {
        let tracker = LifetimeTracker()
        let owner = Plain()
        weak var weakRegistry: FinalizerRegistry?
        weak var weakCore: _RegistryCore?
        do {
            var f: Finalizer<LifetimeTracked>?
            do {
                var registry: FinalizerRegistry? = FinalizerRegistry(sweepInterval: nil)
                weakRegistry = registry
                weakCore = registry!._core
                let captured = tracker.instance()
                f = registry!.finalize(owner, holding: tracker.instance(), runsAtExit: false) { _ in
                    withExtendedLifetime(captured) {}
                }
                #expect(tracker.instances == 2)
                registry = nil
            }
            #expect(weakRegistry == nil)
            #expect(tracker.instances == 0)
            #expect(f?.state == .detached)
            f = nil
        }
        #expect(weakCore == nil)
        withExtendedLifetime(owner) {}
    }
    /// `runNow()` and `detach()` on watched finalizers of live owners take no
    /// lock: they free the cleanup and resource at once, and leave their
    /// table entry for the next sweep, which drops them (and so frees the
    /// finalizer objects) once many are dead.
    @Test func sweepDropsEntriesOfWatchedFinalizersThatRanOrWereDetached() throws {
        final class WeakFinalizer: @unchecked Sendable {
            weak var value: Finalizer<Void>?
            init(_ value: Finalizer<Void>) { self.value = value }
        }
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let owners = (0..<5_000).map { _ in Plain() }
        var weakHandles: [WeakFinalizer] = []
        do {
            // All registered first (the registration compaction finds
            // nothing dead), then all run or detached.
            let finalizers = owners.map { owner in
                let captured = tracker.instance()
                return registry.finalize(owner) { withExtendedLifetime(captured) {} }
            }
            for (index, f) in finalizers.enumerated() {
                if index.isMultiple(of: 2) { try f.runNow() } else { _ = f.detach() }
            }
            weakHandles = finalizers.map(WeakFinalizer.init)
        }
        #expect(tracker.instances == 0)  // cleanups and captures gone at once
        #expect(registry.pendingCount == 0)
        #expect(registry.watchedTableSize == owners.count)  // the entries wait for a sweep
        #expect(registry.sweep() == 0)  // nothing to run: every owner lives
        #expect(registry.watchedTableSize == 0)
        #expect(weakHandles.allSatisfy { $0.value == nil })
        withExtendedLifetime(owners) {}
    }

    /// Sound: after the registry ends, its watched tables hold no storage,
    /// and a kept handle keeps neither owners nor resources.
    @Test func deadRegistryFreesItsTables() {
        let tracker = LifetimeTracker()
        var registry: FinalizerRegistry? = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<300).map { _ in Plain() }
        let fs = owners.map { registry!.finalize($0, holding: tracker.instance(), runsAtExit: false) { _ in } }
        let shard = fs[0].watchedShard
        registry = nil
        #expect(shard.watchedCapacity == 0)
        #expect(fs.allSatisfy { $0.state == .detached })
        #expect(tracker.instances == 0)
        withExtendedLifetime(owners) {}
    }

    /// A registry that goes away leaves no memory behind, and "a kept handle
    /// costs only its own few bytes": after the registry ended, a surviving
    /// watched finalizer (a handle the caller kept) keeps neither its shard
    /// nor the watched table the registry once had (here 100,000 entries,
    /// 16 bytes each). Checked on the shard itself, through a weak
    /// reference, not with heap totals, which the tests running in parallel
    /// would disturb.
    @Test func keptHandleDoesNotRetainTheDeadRegistrysWatchedTable() {
        let owners = (0..<100_000).map { _ in Plain() }
        var kept: [Finalizer<Void>] = []
        weak var shard: Shard?
        do {
            let registry = FinalizerRegistry(sweepInterval: nil)
            for owner in owners { registry.finalize(owner, runsAtExit: false) {} }
            kept.append(registry.finalize(Plain(), runsAtExit: false) {})
            let live = kept[0].watchedShard
            #expect(live.watchedCapacity > 0)
            shard = live
        }
        // The registry is gone: every watched finalizer ran or was detached,
        // and the shard, with its table, is freed.
        #expect(kept.allSatisfy { !$0.isAlive })
        #expect(shard == nil)
        withExtendedLifetime(owners) {}
    }
}
