// FinalizerBag.runAll(): an owner's pending finalizers run now, newest
// first, with the trigger runNow; errors rethrown (one as is, several as
// CleanupErrors); async cleanups started (sync form) or awaited (async form);
// the owner's death afterwards runs only what was registered since.

import FinalizeTestSupport
import Testing

@testable import Finalize

/// The explicit close() plus safety net pattern the docs teach.
private final class Closable: FinalizerHost, Sendable {
    let finalizers = FinalizerBag()

    init(registry: FinalizerRegistry, log: EventLog, name: String) {
        registry.finalize(self, holding: name) { log.append("\($0) released") }
    }

    func close() throws {
        try finalizers.runAll()
    }
}

@Suite("FinalizerBag.runAll()")
struct FinalizerBagRunAllTests {
    /// Every pending finalizer runs in the call, newest registration first,
    /// with the trigger runNow; the owner lives on, and its death runs
    /// nothing more.
    @Test func runsPendingNewestFirstWithRunNow() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        var owner: Host? = Host()
        let handles = (0..<5).map { index in
            registry.finalize(owner!, runsAtExit: false) { log.append("\(index)") }
        }
        try owner!.finalizers.runAll()
        #expect(log.events == ["4", "3", "2", "1", "0"])
        #expect(handles.allSatisfy { $0.state == .ran(.runNow) })
        #expect(owner!.finalizers.pendingCount == 0)
        #expect(registry.pendingCount == 0)
        owner = nil
        #expect(log.events.count == 5)
    }

    /// The single-finalizer bag (one word, no side list) works the same.
    @Test func singleFinalizer() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let owner = Host()
        let f = registry.finalize(owner, holding: "fd 3") { log.append("\($0) closed") }
        try owner.finalizers.runAll()
        #expect(log.events == ["fd 3 closed"])
        #expect(f.state == .ran(.runNow))
        #expect(f.detach() == nil)
    }

    /// An empty bag, and a second call, do nothing and throw nothing.
    @Test func emptyAndRepeatedCallsDoNothing() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let owner = Host()
        try owner.finalizers.runAll()
        registry.finalize(owner) { log.append("ran") }
        try owner.finalizers.runAll()
        try owner.finalizers.runAll()
        #expect(log.events == ["ran"])
    }

    /// Finalizers that already ran or were detached are skipped; one
    /// registered after a call runs at the next call.
    @Test func skipsSettledFinalizersAndRunsNewcomersNextTime() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let owner = Host()
        let a = registry.finalize(owner) { log.append("a") }
        let b = registry.finalize(owner, holding: 7) { _ in log.append("b") }
        let c = registry.finalize(owner) { log.append("c") }
        #expect(try a.runNow())
        #expect(b.detach() == 7)
        try owner.finalizers.runAll()
        #expect(log.events == ["a", "c"])
        #expect(a.state == .ran(.runNow) && b.state == .detached && c.state == .ran(.runNow))
        registry.finalize(owner) { log.append("d") }
        try owner.finalizers.runAll()
        #expect(log.events == ["a", "c", "d"])
    }

    /// One failing cleanup: its error is rethrown unchanged, every other
    /// cleanup still runs, and nothing goes to onFailure.
    @Test func oneErrorIsRethrownAsIs() {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let log = EventLog()
        let owner = Host()
        registry.finalize(owner) { log.append("first") }
        registry.finalize(owner) { throw TestError("middle") }
        registry.finalize(owner) { log.append("last") }
        #expect(throws: TestError("middle")) { try owner.finalizers.runAll() }
        #expect(log.events == ["last", "first"])
        #expect(failures.all.isEmpty)
    }

    /// Several failing cleanups: CleanupErrors, in the order they happened
    /// (newest registration first).
    @Test func severalErrorsAreThrownTogetherInOrder() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owner = Host()
        registry.finalize(owner) { throw TestError("oldest") }
        registry.finalize(owner) {}
        registry.finalize(owner) { throw TestError("newest") }
        do {
            try owner.finalizers.runAll()
            Issue.record("runAll() did not throw")
        } catch let failure as CleanupErrors {
            #expect(failure.errors.map { ($0 as? TestError)?.tag } == ["newest", "oldest"])
        }
    }

    /// A cleanup that registers another on the same owner, or calls
    /// runAll() itself, neither deadlocks nor runs anything twice; the
    /// newcomer stays pending for the owner's death.
    @Test func reentrantRegistrationAndCalls() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        var owner: Host? = Host()
        let shared = Locked<Host?>(owner)
        registry.finalize(owner!, runsAtExit: false) { log.append("old") }
        registry.finalize(owner!, runsAtExit: false) {
            log.append("reentrant")
            guard let host = shared.value else { return }
            registry.finalize(host, runsAtExit: false) { log.append("newcomer") }
            try? host.finalizers.runAll()  // runs the newcomer: it is pending now
        }
        try owner!.finalizers.runAll()
        #expect(log.events == ["reentrant", "newcomer", "old"])
        registry.finalize(owner!, runsAtExit: false) { log.append("at death") }
        shared.clear()
        owner = nil
        #expect(log.events == ["reentrant", "newcomer", "old", "at death"])
    }

    /// The close() plus safety net pattern: close() runs the cleanup now and
    /// the owner's death does not; without close(), the owner's death runs it.
    @Test func closePlusSafetyNet() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        do {
            let closed = Closable(registry: registry, log: log, name: "closed")
            try closed.close()
            #expect(log.events == ["closed released"])
            try closed.close()
        }
        #expect(log.events == ["closed released"])
        var forgotten: Closable? = Closable(registry: registry, log: log, name: "forgotten")
        withExtendedLifetime(forgotten) {
            #expect(log.events == ["closed released"])  // not before the release
        }
        forgotten = nil
        #expect(log.events == ["closed released", "forgotten released"])
        #expect(registry.pendingCount == 0)
    }

    /// runAll() racing the owner's release and other runAll() calls on
    /// several threads: every cleanup runs exactly once.
    @Test func concurrentCallsRunEachCleanupOnce() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let counter = Counter()
        let rounds = 200, perOwner = 8, threads = 4
        for _ in 0..<rounds {
            var owner: Host? = Host()
            let shared = Locked<Host?>(owner)
            for _ in 0..<perOwner {
                registry.finalize(owner!, runsAtExit: false) { counter.increment() }
            }
            owner = nil
            onThreads(threads) { index in
                if index == 0 {
                    shared.clear()  // the owner's last release, racing the calls
                } else if let host = shared.value {
                    try? host.finalizers.runAll()
                }
            }
        }
        #expect(counter.value == rounds * perOwner)
        #expect(registry.pendingCount == 0)
    }

    /// The synchronous form starts an async cleanup as a tracked task (state
    /// ran(runNow)); drain() waits for it, and its error goes to onFailure.
    @Test func synchronousFormStartsAsyncCleanups() async {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let log = EventLog()
        let gate = AsyncGate()
        let owner = Host()
        registry.finalize(owner) { log.append("sync") }
        let f = registry.finalize(owner) { () async throws in
            await gate.wait()
            log.append("async")
            throw TestError("async")
        }
        func runSynchronously(_ host: Host) {
            #expect(throws: Never.self) { try host.finalizers.runAll() }
        }
        runSynchronously(owner)
        #expect(f.state == .ran(.runNow))
        #expect(log.events == ["sync"])
        gate.open()
        await registry.drain()
        #expect(log.events == ["sync", "async"])
        #expect(failures.all.map(\.trigger) == [.runNow])
        #expect((failures.all.first?.error as? TestError)?.tag == "async")
    }

    /// The async form awaits each async cleanup before the next (newest
    /// first, sync and async mixed) and rethrows their errors; nothing goes
    /// to onFailure.
    @Test func asyncFormAwaitsAndRethrows() async throws {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let log = EventLog()
        let owner = Host()
        registry.finalize(owner) { () async throws in
            await Task.yield()
            log.append("async 1")
            throw TestError("async 1")
        }
        registry.finalize(owner) { log.append("sync 2") }
        registry.finalize(owner, holding: "async 3") { name in
            await Task.yield()
            log.append(name)
        }
        registry.finalize(owner) { throw TestError("sync 4") }
        do {
            try await owner.finalizers.runAll()
            Issue.record("runAll() did not throw")
        } catch let failure as CleanupErrors {
            #expect(failure.errors.map { ($0 as? TestError)?.tag } == ["sync 4", "async 1"])
        }
        #expect(log.events == ["async 3", "sync 2", "async 1"])
        #expect(failures.all.isEmpty)
        #expect(owner.finalizers.pendingCount == 0)
    }

    /// Cancelling the task that awaits runAll() cancels no cleanup.
    @Test func asyncFormIgnoresCancellation() async throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let owner = Host()
        registry.finalize(owner) { () async in
            log.append(Task.isCancelled ? "cancelled" : "not cancelled")
        }
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await owner.finalizers.runAll()
        }
        try await task.value
        #expect(log.events == ["not cancelled"])
    }
}
