// The background sweeper's pacing, driven from the test through the
// registry core's `sweepTick(now:)` with a clock of the test's own (the
// registry has no thread): young owners are looked at every tick, old ones
// only when an old sweep is due, and an old dead owner is still collected.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("Sweeper pacing by generation")
struct SweepPacingTests {
    let interval = Duration.milliseconds(100)

    /// A registry without a thread whose pacer ticks every 100 ms.
    func makeRegistry() -> FinalizerRegistry {
        FinalizerRegistry(sweepInterval: nil, onFailure: { _ in }, diagnose: { _ in }, pacing: interval)
    }

    func counts(_ registry: FinalizerRegistry) -> (young: Int, old: Int) {
        registry._core.shards.all.reduce((0, 0)) { sum, shard in
            let c = shard.generationCounts
            return (sum.0 + c.young, sum.1 + c.old)
        }
    }

    /// An owner that dies young is cleaned by a tick no later than two
    /// intervals after its death (young sweeps come every other tick).
    @Test func youngOwnerIsCleanedWithinTwoIntervals() {
        let registry = makeRegistry()
        let core = registry._core
        let log = EventLog()
        var owner: Plain? = Plain()
        registry.finalize(owner!) { log.append("cleaned") }
        var now = Duration.seconds(10)
        for _ in 0..<3 {
            _ = core.sweepTick(now: now)
            now += interval
        }
        #expect(log.events.isEmpty)
        owner = nil
        #expect(log.events.isEmpty)  // not before a tick
        _ = core.sweepTick(now: now)
        _ = core.sweepTick(now: now + interval)
        #expect(log.events == ["cleaned"])  // no later than the second tick
    }

    /// Entries stay young for at least a second plus two intervals, then
    /// move to the old generation.
    @Test func entriesArePromotedAfterAtLeastASecond() {
        let registry = makeRegistry()
        let core = registry._core
        let owners = (0..<10).map { _ in Plain() }
        for owner in owners { registry.finalize(owner) {} }
        let start = Duration.seconds(50)
        var now = start
        while now <= start + .milliseconds(1200) {
            _ = core.sweepTick(now: now)
            #expect(counts(registry) == (10, 0))
            now += interval
        }
        while now <= start + .milliseconds(1400) {
            _ = core.sweepTick(now: now)
            now += interval
        }
        #expect(counts(registry) == (0, 10))
        withExtendedLifetime(owners) {}
    }

    /// An old owner that dies is not looked at by young sweeps, but the next
    /// old sweep, which comes no later than its pacing allows, cleans it;
    /// `sweep()` always sweeps everything at once.
    @Test(arguments: [false, true])
    func oldDeadOwnerIsStillCollected(byFullSweep: Bool) {
        let registry = makeRegistry()
        let core = registry._core
        let log = EventLog()
        var owner: Plain? = Plain()
        registry.finalize(owner!) { log.append("cleaned") }
        var now = Duration.seconds(100)
        _ = core.sweepTick(now: now)
        // Two promotions: the entry is old. Every tick before that was a
        // young sweep; an old sweep may have happened too (nothing was old).
        for _ in 0..<20 {
            now += interval
            _ = core.sweepTick(now: now)
        }
        #expect(counts(registry).old == 1)
        owner = nil
        if byFullSweep {
            #expect(registry.sweep() == 1)
            #expect(log.events == ["cleaned"])
            return
        }
        // The next old sweep is scheduled; ticks before it do not find the
        // dead owner, the tick at it does.
        let due = core.sweeper.pacer.withLock { $0.nextOldSweep! }
        var tick = now + interval
        while tick < due {
            _ = core.sweepTick(now: tick)
            #expect(log.events.isEmpty)
            tick += interval
        }
        _ = core.sweepTick(now: max(tick, due))
        #expect(log.events == ["cleaned"])
    }

    /// Old sweeps are paced by their own cost: the next one comes at least
    /// `oldShare - 1` times the last one's duration later, and at least one
    /// interval later.
    @Test func oldSweepsArePacedByTheirCost() {
        var pacer = Sweeper.Pacer(interval: .milliseconds(100))
        #expect(pacer.plan(at: .seconds(1)).sweepOld == false)
        #expect(pacer.plan(at: .seconds(1) + .milliseconds(100)).sweepOld == true)
        pacer.oldSweepFinished(at: .seconds(1) + .milliseconds(100), took: .milliseconds(20))
        // 20 ms × 399 = 7.98 s later.
        #expect(pacer.plan(at: .seconds(9)).sweepOld == false)
        #expect(pacer.plan(at: .seconds(9) + .milliseconds(80)).sweepOld == true)
        pacer.oldSweepFinished(at: .seconds(10), took: .microseconds(1))
        #expect(pacer.plan(at: .seconds(10) + .milliseconds(99)).sweepOld == false)
        #expect(pacer.plan(at: .seconds(10) + .milliseconds(100)).sweepOld == true)
    }

    /// Young sweeps come every other tick, and the cohorts cover at least a
    /// second plus two intervals, whatever the interval.
    @Test(arguments: [1, 100, 250, 2_000])
    func youngCoverage(intervalMilliseconds: Int) {
        let interval = Duration.milliseconds(intervalMilliseconds)
        var pacer = Sweeper.Pacer(interval: interval)
        #expect(pacer.promotionPeriod * (pacer.youngCohorts - 1) >= .seconds(1) + interval * 2)
        var young = 0
        for tick in 0..<10 where pacer.plan(at: .seconds(1) + interval * tick).sweepYoung { young += 1 }
        #expect(young == 5)
    }
}
