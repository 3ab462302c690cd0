// The same cleanup under Finalize's three timings, side by side: a host owner runs it at its release, a watched owner not before
// the sweep after its death, and `runNow()` in a `defer` at the end of the
// scope. Each test asserts "not before" while the owner provably lives and
// "no later than" once its scope has ended, never an exact ARC moment.

import FinalizeTestSupport
import Testing

@testable import Finalize

/// The one cleanup all three timings run: it records when it ran.
private func closeLog(_ log: EventLog, _ name: String) -> @Sendable () -> Void {
    { log.append("closed \(name)") }
}

@Suite("Timings")
struct TimingTests {
    /// Host owner: at its release. Not while it lives (however often one
    /// sweeps), and no later than the end of the scope that held it.
    @Test func hostOwnerAtRelease() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        do {
            let file = Host()
            registry.finalize(file, closeLog(log, "file"))
            withExtendedLifetime(file) {
                registry.sweep()
                log.append("in use")
            }
        }
        log.append("scope ended")
        #expect(log.events == ["in use", "closed file", "scope ended"])
    }

    /// Watched owner: at the first sweep after its death. Its scope ending is
    /// not enough; the sweep is.
    @Test func watchedOwnerNotBeforeTheSweep() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        do {
            let file = Plain()
            registry.finalize(file, closeLog(log, "file"))
            withExtendedLifetime(file) {
                registry.sweep()
                log.append("in use")
            }
        }
        log.append("scope ended")
        registry.sweep()
        log.append("swept")
        #expect(log.events == ["in use", "scope ended", "closed file", "swept"])
    }

    /// `runNow()` in a `defer`: at the end of the scope, exactly, whatever
    /// the owner's kind or life; the owner's later death does nothing more.
    @Test(arguments: OwnerKind.allCases)
    func runNowInDeferAtScopeEnd(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let owner = kind.make()
        let f: Finalizer<Void>
        do {
            f = register(registry, on: owner, closeLog(log, "file"))
            defer { _ = try? f.runNow() }
            log.append("in use")
        }
        log.append("scope ended")
        #expect(log.events == ["in use", "closed file", "scope ended"])
        #expect(f.state == .ran(.runNow))
        withExtendedLifetime(owner) {}
        kind.collect(registry)
        #expect(log.count("closed file") == 1)
    }

    /// All three in one timeline: at the end of the scope the host's and the
    /// deferred cleanup have run (in an order ARC decides), the watched one
    /// only at the sweep.
    @Test func threeTimingsSideBySide() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let hosted: Finalizer<Void>, watched: Finalizer<Void>, explicit: Finalizer<Void>
        do {
            let hostFile = Host(), watchedFile = Plain(), explicitFile = Plain()
            hosted = registry.finalize(hostFile, closeLog(log, "host"))
            watched = registry.finalize(watchedFile, closeLog(log, "watched"))
            explicit = registry.finalize(explicitFile, closeLog(log, "explicit"))
            defer { _ = try? explicit.runNow() }
            withExtendedLifetime((hostFile, watchedFile, explicitFile)) {
                log.append("in use")
            }
        }
        log.append("scope ended")
        registry.sweep()
        log.append("swept")

        let events = log.events
        try #require(events.count == 6, "\(events)")
        #expect(events.first == "in use")
        #expect(Set(events[1..<3]) == ["closed host", "closed explicit"])
        #expect(Array(events[3...]) == ["scope ended", "closed watched", "swept"])
        #expect(hosted.state == .ran(.ownerDeinit))
        #expect(watched.state == .ran(.sweep))
        #expect(explicit.state == .ran(.runNow))
    }
}
