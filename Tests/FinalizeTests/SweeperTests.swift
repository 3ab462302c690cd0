// The background sweeper (issue 2, semantics 3 and 9): with a
// `sweepInterval`, a watched owner's cleanup runs eventually without anyone
// calling `sweep()`; the sweeper sleeps while nothing is watched and wakes
// for the first watched entry; it never keeps its registry alive, and a
// registry that goes away stops its thread and leaves nothing behind.
//
// Cleanups signal the test; the test waits on that signal with a generous
// timeout (a bound for a broken build, not a synchronization by time).

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
                slot.clear()   // the registry's last reference
                signal.fire()
            }
            owner = nil
        }
        try #require(signal.wait(), "the background sweeper never ran the cleanup")
        #expect(weakRegistry == nil)
        // The thread finishes its sweep after the cleanup; wait for it.
        #expect(eventually { weakCore == nil })
    }
}
