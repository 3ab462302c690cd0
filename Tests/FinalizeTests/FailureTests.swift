// Failures are never lost. `runNow()` rethrows the
// cleanup's error and the finalizer is dead afterwards; on every other
// trigger the error goes to `onFailure` with the trigger and the
// registration's `#fileID` and line, and the remaining cleanups still run.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("Failures")
struct FailureTests {
    /// `runNow()` rethrows the cleanup's own error; the finalizer is dead
    /// (not run again, nothing to detach) and `onFailure` is not involved.
    @Test(arguments: OwnerKind.allCases)
    func runNowRethrowsAndTheFinalizerIsDead(kind: OwnerKind) throws {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let runs = Counter()
        let f: Finalizer<Int>
        do {
            var owner: (AnyObject & Sendable)? = kind.make()
            f = registry.finalize(owner!, holding: 1) { _ in
                runs.increment()
                throw TestError("boom")
            }
            #expect(throws: TestError("boom")) { try f.runNow() }
            #expect(f.state == .ran(.runNow))
            #expect(!f.isAlive)
            #expect(try f.runNow() == false)  // dead: no second run, no second error
            #expect(f.detach() == nil)
            #expect(f.peek() == nil)
            owner = nil
        }
        kind.collect(registry)
        #expect(registry.shutdown() == 0)
        #expect(runs.value == 1)
        #expect(failures.all.isEmpty)
    }

    /// At a host owner's release: reported with `.ownerDeinit` and the exact
    /// registration site; the older cleanups on the same owner still run.
    @Test func ownerDeinitFailureIsReportedAndTheRestRun() throws {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let log = EventLog()
        let line: Int
        do {
            var owner: Host? = Host()
            registry.finalize(owner!) { log.append("oldest") }
            line = #line + 1
            registry.finalize(owner!) {
                log.append("throws")
                throw TestError("deinit")
            }
            registry.finalize(owner!) { log.append("newest") }
            owner = nil
        }
        #expect(log.events == ["newest", "throws", "oldest"])
        let failure = try #require(failures.all.first)
        #expect(failures.all.count == 1)
        #expect(failure.error as? TestError == TestError("deinit"))
        #expect(failure.trigger == .ownerDeinit)
        #expect(failure.fileID == #fileID)
        #expect(failure.fileID == "FinalizeTests/FailureTests.swift")
        #expect(failure.line == line)
    }

    /// At a sweep: reported with `.sweep`; the other dead owners' cleanups in
    /// the same sweep still run, and the sweep counts all of them.
    @Test func sweepFailureIsReportedAndTheRestRun() throws {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let log = EventLog()
        let line: Int
        do {
            var a: Plain? = Plain(), b: Plain? = Plain(), c: Plain? = Plain()
            registry.finalize(a!) { log.append("a") }
            line = #line + 1
            registry.finalize(b!, holding: "b") {
                log.append($0)
                throw TestError("sweep")
            }
            registry.finalize(c!) { log.append("c") }
            a = nil
            b = nil
            c = nil
        }
        #expect(registry.sweep() == 3)
        #expect(log.events == ["c", "b", "a"])
        let failure = try #require(failures.all.first)
        #expect(failures.all.count == 1)
        #expect(failure.error as? TestError == TestError("sweep"))
        #expect(failure.trigger == .sweep)
        #expect(failure.fileID == #fileID)
        #expect(failure.line == line)
    }

    /// At shutdown: every failure reported with `.shutdown`, the loop goes on.
    @Test func shutdownFailuresAreReportedAndTheLoopGoesOn() {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let log = EventLog()
        let owner = Plain(), host = Host()
        var lines: [Int] = []
        for i in 0..<4 {
            lines.append(#line + 1)
            registry.finalize(i % 2 == 0 ? owner as AnyObject : host as AnyObject) {
                log.append("\(i)")
                throw TestError("\(i)")
            }
        }
        #expect(registry.shutdown() == 4)
        #expect(log.events == ["3", "2", "1", "0"])
        #expect(failures.all.map { ($0.error as? TestError)?.tag } == ["3", "2", "1", "0"])
        #expect(failures.all.allSatisfy { $0.trigger == .shutdown && $0.fileID == #fileID })
        #expect(failures.all.map(\.line) == lines.reversed())
        withExtendedLifetime((owner, host)) {}
    }

    /// A registration on an owner that is already deinitializing runs at
    /// once; if the cleanup throws, the error is reported as `.ownerDeinit`.
    @Test func failureOfARegistrationOnADeinitializingOwner() throws {
        final class Registrar: Sendable {
            let registry: FinalizerRegistry
            let line: Locked<Int>
            init(_ registry: FinalizerRegistry, _ line: Locked<Int>) { (self.registry, self.line) = (registry, line) }
            deinit {
                line.set(#line + 1)
                registry.finalize(self) { throw TestError("too late") }
            }
        }
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let line = Locked(0)
        do {
            var registrar: Registrar? = Registrar(registry, line)
            withExtendedLifetime(registrar) { #expect(failures.all.isEmpty) }
            registrar = nil
        }
        let failure = try #require(failures.all.first)
        #expect(failure.error as? TestError == TestError("too late"))
        #expect(failure.trigger == .ownerDeinit)
        #expect(failure.fileID == #fileID)
        #expect(failure.line == line.value)
    }

    /// When a registry goes away with a pending `runsAtExit` finalizer that
    /// throws, the failure is still reported (the registry's end runs it as
    /// a shutdown would).
    @Test func failureWhenTheRegistryGoesAway() throws {
        let failures = FailureLog()
        let owner = Plain()
        let line: Int
        do {
            var registry: FinalizerRegistry? = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
            line = #line + 1
            registry!.finalize(owner) { throw TestError("at the end") }
            registry = nil
        }
        let failure = try #require(failures.all.first)
        #expect(failure.error as? TestError == TestError("at the end"))
        #expect(failure.trigger == .shutdown)
        #expect(failure.line == line)
        withExtendedLifetime(owner) {}
    }

    /// The failure record reads well: site, trigger and error in one line,
    /// which is what the default handler writes to standard error.
    @Test func failureDescriptionNamesSiteTriggerAndError() {
        let failure = FinalizerFailure(
            error: TestError("timeout"), trigger: .sweep, fileID: "App/Pool.swift", line: 31)
        #expect(failure.description.contains("App/Pool.swift:31"))
        #expect(failure.description.contains("sweep"))
        #expect(failure.description.contains("TestError(timeout)"))
    }
}
