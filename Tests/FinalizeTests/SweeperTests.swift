// The background sweeper: with a `sweepInterval`, a watched owner's cleanup
// runs eventually without anyone calling `sweep()`; the sweeper sleeps while
// nothing is watched and wakes for the first watched entry; it never keeps
// its registry alive, and a registry that goes away stops its thread and
// leaves nothing behind. Its interval is clamped and its deadline saturates.
//
// Cleanups signal the test; the test waits on that signal with a generous
// timeout (a bound for a broken build, not a synchronization by time).

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("Background sweeper")
struct SweeperTests {
    /// A watched owner dies; nobody sweeps; the sweeper runs the cleanup.
    /// Then the table is empty and the sweeper idles; a new watched entry
    /// wakes it and its cleanup runs too.
    @Test func sweeperRunsWatchedCleanupsAndWakesForNewOnes() throws {
        let registry = FinalizerRegistry(sweepInterval: .milliseconds(2))
        for round in 0..<2 {
            let signal = Signal()
            let f: Finalizer<Void>
            do {
                var owner: Plain? = Plain()
                f = registry.finalize(owner!) { signal.fire() }
                withExtendedLifetime(owner) { #expect(!signal.isFired, "round \(round)") }
                owner = nil
            }
            try #require(signal.wait(), "the background sweeper never ran the cleanup (round \(round))")
            #expect(f.state == .ran(.sweep))
            // The sweep that ran it may still be finishing; it has dropped the
            // entry no later than when the table count says so.
            #expect(eventually { registry.pendingCount == 0 })
        }
    }

    /// The sweeper does not keep its registry alive, whether it idles
    /// (nothing watched) or sweeps a table of live owners: dropping the
    /// registry frees it, stops the thread (which held only the internal
    /// core) and frees the core.
    @Test(arguments: [false, true])
    func droppedRegistryStopsItsSweeper(watching: Bool) {
        let owners = (0..<(watching ? 100 : 0)).map { _ in Plain() }
        weak var weakRegistry: FinalizerRegistry?
        weak var weakCore: _RegistryCore?
        do {
            var registry: FinalizerRegistry? = FinalizerRegistry(sweepInterval: .milliseconds(1))
            weakRegistry = registry
            weakCore = registry!._core
            for owner in owners { registry!.finalize(owner, runsAtExit: false) {} }
            registry = nil
        }
        #expect(weakRegistry == nil)
        #expect(weakCore == nil)
        withExtendedLifetime(owners) {}
    }

    /// The same inside a larger sweep, with a cleanup that throws: the
    /// registry ends in the middle of the sweeper's batch, whose other
    /// cleanups still run once each (the end's shutdown or the sweep runs
    /// them); the failure still reaches the handler; and the sweeper thread
    /// gives the shards back only once its sweep is done, after which they,
    /// the core and their tables are freed.
    @Test func registryDroppedInTheMiddleOfTheSweepersBatch() throws {
        let failures = FailureLog()
        let slot = Locked<FinalizerRegistry?>(
            FinalizerRegistry(sweepInterval: .milliseconds(2), onFailure: failures.handler))
        weak let weakCore: _RegistryCore? = slot.value?._core
        let count = 300
        let dropper = count / 2
        let runs = Locked([Int](repeating: 0, count: count))
        let signal = Signal()
        final class WeakShard: @unchecked Sendable {
            weak var value: Shard?
        }
        let shard = WeakShard()
        let shardLivedOn = Locked(false)
        let owners = Locked<[Plain]>((0..<count).map { _ in Plain() })
        for index in 0..<count {
            let f = slot.value!.finalize(owners.value[index]) {
                runs.withLock { $0[index] += 1 }
                guard index == dropper else { return }
                slot.clear()  // the registry's last reference: it ends here
                // The sweep is not done: its shards are still there.
                shardLivedOn.set(shard.value != nil)
                signal.fire()
                throw TestError("dropper")
            }
            if index == 0 { shard.value = f.watchedShard }
        }
        // All die at once, so one sweep finds them all.
        owners.set([])
        try #require(signal.wait(), "the background sweeper never ran the cleanup")
        #expect(shardLivedOn.value)
        #expect(eventually { weakCore == nil })
        #expect(shard.value == nil)
        #expect(runs.value.allSatisfy { $0 == 1 })
        #expect(failures.all.map(\.trigger) == [.sweep])
    }

    /// A cleanup run by the sweeper thread may drop the registry's last
    /// reference: the registry ends on its own sweeper thread without
    /// deadlock, and the thread then ends and frees the core.
    @Test func registryDroppedByACleanupOnTheSweeperThread() throws {
        let slot = Locked<FinalizerRegistry?>(FinalizerRegistry(sweepInterval: .milliseconds(2)))
        weak let weakRegistry: FinalizerRegistry? = slot.value
        weak let weakCore: _RegistryCore? = slot.value?._core
        let signal = Signal()
        do {
            var owner: Plain? = Plain()
            slot.value!.finalize(owner!) {
                slot.clear()  // the registry's last reference
                signal.fire()
            }
            owner = nil
        }
        try #require(signal.wait(), "the background sweeper never ran the cleanup")
        #expect(weakRegistry == nil)
        // The thread finishes its sweep after the cleanup; wait for it.
        #expect(eventually { weakCore == nil })
    }

    /// A huge sweep interval ("almost never") is clamped to 100 years and a
    /// tiny one (a nanosecond, an attosecond) to a microsecond, so the sweeper neither overflows its
    /// deadline nor spins.
    @Test func sweepIntervalsAreClamped() {
        let century = Duration.seconds(100 * 365 * 86_400)
        #expect(FinalizerRegistry.clamped(.seconds(Int64.max)) == century)
        #expect(FinalizerRegistry.clamped(century + .seconds(1)) == century)
        #expect(FinalizerRegistry.clamped(.nanoseconds(1)) == .microseconds(1))
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
        let carried = MonotonicCondition.posixTime(saturating: .seconds(10) + .milliseconds(900) + .milliseconds(200))
        #expect(carried.tv_sec == 11 && carried.tv_nsec == 100_000_000)
        let negative = MonotonicCondition.posixTime(saturating: .seconds(-5))
        #expect(negative.tv_sec == 0 && negative.tv_nsec == 0)
    }
}
