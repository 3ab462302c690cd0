// `shutdown()` runs every pending `runsAtExit` finalizer of the registry,
// newest registration first across all owners; one registered while it runs
// goes next; `runsAtExit == false` ones are left alone; it returns how many
// ran; and it also runs the dead owners a concurrent sweep has taken out of
// the tables and not yet run. (Process exit is tested in child processes:
// ExitTests.swift, ExitRaceTests.swift.)

import FinalizeTestSupport
import Testing

@testable import Finalize

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Shutdown")
struct ShutdownTests {
    /// Newest first across host and watched owners alike, skipping the
    /// `runsAtExit == false` ones, which stay pending; the count is exact.
    @Test func newestFirstAcrossOwnersSkippingRunsAtExitFalse() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let hosts = (0..<2).map { _ in Host() }
        let plains = (0..<2).map { _ in Plain() }
        var skipped: [Finalizer<Void>] = []
        for i in 0..<8 {
            let runsAtExit = i % 3 != 2  // 2 and 5 are left alone
            let f =
                i % 2 == 0
                ? registry.finalize(hosts[i / 2 % 2], runsAtExit: runsAtExit) { log.append("\(i)") }
                : registry.finalize(plains[i / 2 % 2], runsAtExit: runsAtExit) { log.append("\(i)") }
            if !runsAtExit { skipped.append(f) }
        }
        #expect(registry.shutdown() == 6)
        #expect(log.events == ["7", "6", "4", "3", "1", "0"])
        #expect(skipped.allSatisfy { $0.isAlive })
        #expect(registry.pendingCount == 2)
        #expect(registry.pending.map(\.runsAtExit) == [false, false])
        // A second shutdown has nothing left to do.
        #expect(registry.shutdown() == 0)
        withExtendedLifetime((hosts, plains)) {}
    }

    /// `runsAtExit == false` finalizers are left to their owners: after the
    /// shutdown they still run at the owner's death.
    @Test(arguments: OwnerKind.allCases)
    func leftAloneFinalizersStillRunAtTheOwnersDeath(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let f: Finalizer<Void>
        do {
            var owner: (AnyObject & Sendable)? = kind.make()
            f = register(registry, on: owner!, runsAtExit: false) { log.append("ran") }
            withExtendedLifetime(owner) {
                #expect(registry.shutdown() == 0)
                #expect(log.events.isEmpty)
            }
            owner = nil
        }
        kind.collect(registry)
        #expect(log.events == ["ran"])
        #expect(f.state == .ran(kind.deathTrigger))
    }

    /// A finalizer registered by a cleanup while shutdown runs is the newest
    /// of all, so it runs next, before the older ones (CPython's g1).
    @Test func registeredDuringShutdownRunsNext() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let owner = Plain()
        // Nested registrations go on the other object, so no cleanup captures
        // its own owner (which would keep the owner alive forever).
        let anchor = Plain()
        registry.finalize(owner) { log.append("f1") }
        registry.finalize(owner) {
            log.append("f2")
            registry.finalize(anchor) {
                log.append("g1")
                registry.finalize(owner) { log.append("g2") }
            }
        }
        registry.finalize(owner) { log.append("f3") }
        #expect(registry.shutdown() == 5)
        #expect(log.events == ["f3", "f2", "g1", "g2", "f1"])
        #expect(registry.pendingCount == 0)
        withExtendedLifetime((owner, anchor)) {}
    }

    /// Shutdown first sweeps: a watched owner that already died is overdue,
    /// so its cleanup runs (as a sweep would, whatever its exit flag).
    @Test func deadWatchedOwnersAreSweptFirst() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let living = Plain()
        let alive = registry.finalize(living) { log.append("alive") }
        let dead: Finalizer<Void>
        do {
            var owner: Plain? = Plain()
            dead = registry.finalize(owner!, runsAtExit: false) { log.append("dead") }
            owner = nil
        }
        #expect(registry.shutdown() == 2)
        #expect(log.events == ["dead", "alive"])
        #expect(dead.state == .ran(.sweep))
        #expect(alive.state == .ran(.shutdown))
        withExtendedLifetime(living) {}
    }

    /// The registry stays usable after a shutdown: new registrations behave
    /// as before, and a later shutdown runs them.
    @Test func registryIsUsableAfterShutdown() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let owner = Plain()
        registry.finalize(owner) { log.append("first") }
        #expect(registry.shutdown() == 1)
        do {
            var host: Host? = Host()
            registry.finalize(host!) { log.append("host") }
            host = nil
        }
        let later = registry.finalize(owner) { log.append("later") }
        #expect(log.events == ["first", "host"])
        #expect(later.isAlive)
        #expect(registry.shutdown() == 1)
        #expect(log.events == ["first", "host", "later"])
        withExtendedLifetime(owner) {}
    }

    /// Finalizers that already ran or were detached are not counted, and a
    /// throwing cleanup counts as run while the loop goes on.
    @Test func countsOnlyWhatRan() throws {
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: { _ in })
        let log = EventLog()
        let owner = Plain()
        let a = registry.finalize(owner) { log.append("a") }
        let b = registry.finalize(owner) { log.append("b") }
        registry.finalize(owner) {
            log.append("c")
            throw TestError("c")
        }
        registry.finalize(owner) { log.append("d") }
        #expect(try a.runNow())
        #expect(b.detach() != nil)
        #expect(registry.shutdown() == 2)
        #expect(log.events == ["a", "d", "c"])
        withExtendedLifetime(owner) {}
    }

    /// A registry that goes away runs what `shutdown()` runs (trigger
    /// `.shutdown`), detaches the watched `runsAtExit == false` ones (nothing
    /// could sweep them any more), and leaves host finalizers to their bags.
    @Test func droppedRegistryRunsWhatShutdownRuns() {
        let log = EventLog()
        let watchedOwner = Plain()
        let atExit: Finalizer<Void>, notAtExit: Finalizer<Void>, hosted: Finalizer<Void>
        do {
            var host: Host? = Host()
            do {
                var registry: FinalizerRegistry? = FinalizerRegistry(sweepInterval: nil)
                atExit = registry!.finalize(watchedOwner) { log.append("at exit") }
                notAtExit = registry!.finalize(watchedOwner, runsAtExit: false) { log.append("not at exit") }
                hosted = registry!.finalize(host!, runsAtExit: false) { log.append("hosted") }
                registry = nil
            }
            #expect(log.events == ["at exit"])
            #expect(atExit.state == .ran(.shutdown))
            #expect(notAtExit.state == .detached)
            #expect(hosted.isAlive)
            host = nil
        }
        #expect(log.events == ["at exit", "hosted"])
        #expect(hosted.state == .ran(.ownerDeinit))
        withExtendedLifetime(watchedOwner) {}
    }

    /// Contract (Design.md, "Shutdown and process exit"): shutdown() "runs
    /// what other sweeps took out of their tables and have not run yet".
    /// A sweep takes its dead owners out of the shard tables first and only
    /// publishes the batch (`inFlight.insert`) after it has swept every shard
    /// and sorted the entries; a shutdown in between saw the entries in no
    /// table and in no batch, and returned without running them (at exit,
    /// lost). Now each collection is counted under its shard's lock and
    /// shutdown waits for it to be published.
    ///
    /// Thread 0 sweeps; thread 1 waits until the tables are empty (the
    /// sweep has taken the entries: an observable state, not a sleep), then
    /// shuts down and counts the dead owners' finalizers still pending.
    @Test func shutdownFindsABatchNotYetPublished() {
        let rounds = 12
        let perThread = 8_000
        let missedRounds = Counter()
        let missedFinalizers = Locked<Int>(0)
        for _ in 0..<rounds {
            let registry = FinalizerRegistry(sweepInterval: nil)
            let owners = Locked<[Plain]>([])
            let finalizers = Locked<[Finalizer<Void>]>([])
            // Register from two threads, so the entries land in two shards
            // and the sweep has to sort them (a wider window).
            onThreads(2) { _ in
                var mine: [Plain] = []
                var fs: [Finalizer<Void>] = []
                for _ in 0..<perThread {
                    let owner = Plain()
                    fs.append(registry.finalize(owner, runsAtExit: false) {})
                    mine.append(owner)
                }
                owners.withLock { $0.append(contentsOf: mine) }
                finalizers.withLock { $0.append(contentsOf: fs) }
            }
            owners.withLock { $0.removeAll() }  // every owner is dead now
            let all = finalizers.withLock { $0 }
            let stillPending = Locked<Int>(0)
            onThreads(2) { thread in
                if thread == 0 {
                    registry.sweep()
                } else {
                    while registry._core.hasWatchedEntries { sched_yield() }
                    registry.shutdown()
                    // Every owner died before this shutdown began, so none
                    // may still be pending now.
                    let pending = all.reduce(0) { $0 + ($1.isAlive ? 1 : 0) }
                    stillPending.withLock { $0 = pending }
                }
            }
            let pending = stillPending.withLock { $0 }
            if pending > 0 {
                missedRounds.increment()
                missedFinalizers.withLock { $0 += pending }
            }
            // The sweep does run them all eventually.
            #expect(all.allSatisfy { !$0.isAlive })
        }
        #expect(
            missedRounds.value == 0,
            "shutdown() returned with \(missedFinalizers.value) dead owners' finalizers pending in \(missedRounds.value) of \(rounds) rounds"
        )
    }

    /// Sound: a cleanup in a sweep's batch that calls shutdown() runs the
    /// rest of its own batch (newest first) exactly once, and the outer
    /// sweep then finds them claimed. Reference counts balance: owners and
    /// resources are all freed.
    @Test func cleanupInABatchCallingShutdownRunsTheRestOnce() {
        let tracker = LifetimeTracker()
        let registry = FinalizerRegistry(sweepInterval: nil)
        let order = Locked<[Int]>([])
        var owners: [Plain] = (0..<8).map { _ in Plain(tracker: tracker) }
        var fs: [Finalizer<LifetimeTracked>] = []
        for (index, owner) in owners.enumerated() {
            fs.append(
                registry.finalize(owner, holding: tracker.instance(), runsAtExit: false) { [registry] _ in
                    order.withLock { $0.append(index) }
                    if index == 5 { registry.shutdown() }
                })
        }
        owners.removeAll()
        #expect(registry.sweep() == 3)  // 7, 6, 5; 5's shutdown ran 4...0
        #expect(order.withLock { $0 } == [7, 6, 5, 4, 3, 2, 1, 0])
        #expect(fs.allSatisfy { $0.state == .ran(.sweep) })
        fs.removeAll()
        #expect(tracker.instances == 0)
    }
}
