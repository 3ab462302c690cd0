// The background sweeper's pacing, driven from the test through the
// registry core's `sweepTick(now:)` with a clock of the test's own (the
// registry has no thread): young owners are looked at every tick, old ones
// only when an old sweep is due, and an old dead owner is still collected.

import Testing
@testable import Finalize

@Suite("Sweeper pacing by generation")
struct SweepPacingTests {
    let interval = Duration.milliseconds(100)

    /// A registry without a thread whose pacer ticks every 100 ms.
    func makeRegistry() -> FinalizerRegistry {
        FinalizerRegistry(sweepInterval: nil, onFailure: { _ in }, diagnose: { _ in }, pacing: interval)
    }

    func counts(_ registry: FinalizerRegistry) -> (nursery: Int, survivors: Int, old: Int) {
        registry._core.shards.reduce((0, 0, 0)) { sum, shard in
            let c = shard.generationCounts
            return (sum.0 + c.nursery, sum.1 + c.survivors, sum.2 + c.old)
        }
    }

    /// An owner that dies within a second of its registration is cleaned
    /// by the first tick after its death.
    @Test func youngOwnerIsCleanedByTheNextTick() {
        let registry = makeRegistry()
        let core = registry._core
        let log = EventLog()
        var owner: Plain? = Plain()
        registry.finalize(owner!) { log.append("cleaned") }
        _ = core.sweepTick(now: .seconds(10))
        _ = core.sweepTick(now: .seconds(10) + interval)
        #expect(log.events.isEmpty)
        owner = nil
        // Not before the next tick; no later than it.
        #expect(log.events.isEmpty)
        _ = core.sweepTick(now: .seconds(10) + interval * 9)
        #expect(log.events == ["cleaned"])
    }

    /// Entries move nursery → survivors → old one promotion period apart,
    /// and stay young for at least a second.
    @Test func entriesArePromotedAfterAtLeastASecond() {
        let registry = makeRegistry()
        let core = registry._core
        let owners = (0..<10).map { _ in Plain() }
        for owner in owners { registry.finalize(owner) {} }
        let start = Duration.seconds(50)
        _ = core.sweepTick(now: start)
        #expect(counts(registry) == (10, 0, 0))
        _ = core.sweepTick(now: start + .milliseconds(900))
        #expect(counts(registry) == (10, 0, 0))
        _ = core.sweepTick(now: start + .seconds(1))
        #expect(counts(registry) == (0, 10, 0))
        _ = core.sweepTick(now: start + .milliseconds(1900))
        #expect(counts(registry) == (0, 10, 0))
        _ = core.sweepTick(now: start + .seconds(2))
        #expect(counts(registry) == (0, 0, 10))
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
        for _ in 0..<25 {
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
        let due = core.pacer.withLock { $0.nextOldSweep! }
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
        var pacer = _SweepPacer(interval: .milliseconds(100))
        #expect(pacer.plan(at: .seconds(1)) == (false, false))
        #expect(pacer.plan(at: .seconds(1) + .milliseconds(100)) == (false, true))
        pacer.oldSweepFinished(at: .seconds(1) + .milliseconds(100), took: .milliseconds(20))
        // 20 ms × 199 = 3.98 s later.
        #expect(pacer.plan(at: .seconds(5)).sweepOld == false)
        #expect(pacer.plan(at: .seconds(5) + .milliseconds(80)).sweepOld == true)
        pacer.oldSweepFinished(at: .seconds(6), took: .microseconds(1))
        #expect(pacer.plan(at: .seconds(6) + .milliseconds(99)).sweepOld == false)
        #expect(pacer.plan(at: .seconds(6) + .milliseconds(100)).sweepOld == true)
    }
}
