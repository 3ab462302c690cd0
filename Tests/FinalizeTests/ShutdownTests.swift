// Semantics 7 (issue 2): `shutdown()` runs every pending `runsAtExit`
// finalizer of the registry, newest registration first across all owners;
// one registered while it runs goes next; `runsAtExit == false` ones are left
// alone; it returns how many ran. (The process-exit run of the shared
// registry is tested in a child process: ProcessExitTests.swift.)

import Testing
@testable import Finalize

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
            let runsAtExit = i % 3 != 2   // 2 and 5 are left alone
            let f = i % 2 == 0
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
}
