// Asynchronous cleanups: which overload a closure picks, at most once
// across every trigger, tracked tasks that drain() and await shutdown()
// wait for, errors with their registration site, registering from inside a
// cleanup, and cancellation of the caller of runNow(). Waits go through
// continuations (`AsyncGate`), never sleeps.

import FinalizeTestSupport
import Testing

@testable import Finalize

/// A gate async cleanups wait at until the test opens it.
final class AsyncGate: Sendable {
    private let state = Locked<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow: Bool = state.withLock {
                if $0.open { return true }
                $0.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Tasks waiting now.
    var waiting: Int { state.withLock { $0.waiters.count } }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Yields until `condition` holds (bounded: a broken build fails, not hangs).
func until(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<1_000_000 {
        if condition() { return true }
        await Task.yield()
    }
    return condition()
}

func isSynchronous<R>(_: Finalizer<R>) -> Bool { true }
func isSynchronous<R>(_: AsyncFinalizer<R>) -> Bool { false }

@Suite("Asynchronous cleanups")
struct AsyncFinalizerTests {
    /// A closure without `await` keeps the synchronous overload; one that
    /// awaits, or says `async`, gets the asynchronous one. Host, watched
    /// and `holding:` forms alike.
    @Test func closureLiteralsPickTheirOverload() async {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let host = Host(), plain = Plain()
        let a = registry.finalize(host) { _ = 1 }
        let b = registry.finalize(host) { await Task.yield() }
        let c = registry.finalize(plain) {}
        let d = registry.finalize(plain) { () async in }
        let e = registry.finalize(host, holding: 1) { _ in }
        let f = registry.finalize(plain, holding: 1) { _ in await Task.yield() }
        #expect(isSynchronous(a) && isSynchronous(c) && isSynchronous(e))
        #expect(!isSynchronous(b) && !isSynchronous(d) && !isSynchronous(f))
        for handle in [a, c] { _ = handle.detach() }
        for handle in [b, d] { _ = handle.detach() }
        _ = e.detach()
        _ = f.detach()
    }

    /// A host owner's death starts the cleanup as a task; drain() returns
    /// not before it has finished.
    @Test func ownerDeathStartsATaskThatDrainWaitsFor() async {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let gate = AsyncGate()
        var owner: Host? = Host()
        let f = registry.finalize(owner!) {
            log.append("started")
            await gate.wait()
            log.append("finished")
        }
        owner = nil
        #expect(f.state == .ran(.ownerDeinit))
        let drained = Task {
            await registry.drain()
            log.append("drained")
        }
        #expect(await until { registry._core.asyncCleanups.waiterCount == 1 && gate.waiting == 1 })
        #expect(!log.events.contains("drained"))
        gate.open()
        await drained.value
        #expect(log.events == ["started", "finished", "drained"])
    }

    /// drain() returns at once when nothing runs.
    @Test func drainWithNothingRunningReturns() async {
        let registry = FinalizerRegistry(sweepInterval: nil)
        await registry.drain()
        #expect(registry._core.asyncCleanups.count == 0)
    }

    /// At most once, whichever trigger comes first: runNow, then owner
    /// death, sweep, shutdown and detach find it gone.
    @Test(arguments: OwnerKind.allCases)
    func atMostOnceAcrossTriggers(kind: OwnerKind) async throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        var owner: (AnyObject & Sendable)? = kind.make()
        let f = registry.finalize(owner!) { () async in runs.increment() }
        #expect(try await f.runNow())
        #expect(try await !f.runNow())
        #expect(f.detach() == nil)
        #expect(!f.runsAtExit)
        owner = nil
        _ = registry.sweep()
        #expect(await registry.shutdown() == 0)
        await registry.drain()
        #expect(runs.value == 1)
        #expect(f.state == .ran(.runNow))
    }

    /// A detached async finalizer never runs, and hands its resource back.
    @Test(arguments: OwnerKind.allCases)
    func detachHandsTheResourceBack(kind: OwnerKind) async {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        var owner: (AnyObject & Sendable)? = kind.make()
        let f = registry.finalize(owner!, holding: 42) { _ in runs.increment() }
        #expect(f.peek()?.resource == 42)
        #expect(f.detach() == 42)
        owner = nil
        _ = registry.sweep()
        _ = await registry.shutdown()
        await registry.drain()
        #expect(runs.value == 0)
        #expect(f.state == .detached)
    }

    /// A watched owner's cleanup starts at the sweep that finds it dead.
    @Test func sweepStartsAWatchedOwnersCleanup() async {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        var owner: Plain? = Plain()
        let f = registry.finalize(owner!, holding: "pool") { name in
            await Task.yield()
            log.append("closed \(name)")
        }
        owner = nil
        #expect(log.events.isEmpty)
        #expect(registry.sweep() == 1)
        await registry.drain()
        #expect(log.events == ["closed pool"])
        #expect(f.state == .ran(.sweep))
    }

    /// Errors of owner death, sweeps and shutdown go to onFailure with the
    /// registration site; runNow rethrows to its caller.
    @Test func errorsAreReportedWithTheSiteOrRethrown() async throws {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        var owner: Host? = Host()
        let line = #line + 1
        registry.finalize(owner!) { () async throws in throw TestError("death") }
        owner = nil
        await registry.drain()
        let reported = failures.all
        #expect(reported.count == 1)
        #expect(reported.first?.trigger == .ownerDeinit)
        #expect(reported.first?.line == line)
        #expect(reported.first?.fileID.hasSuffix("AsyncFinalizerTests.swift") == true)
        let kept = Host()
        let g = registry.finalize(kept) { () async throws in throw TestError("now") }
        await #expect(throws: TestError("now")) { try await g.runNow() }
        #expect(failures.all.count == 1)

        // A sweep and a shutdown report their own trigger.
        var watched: Plain? = Plain()
        registry.finalize(watched!) { () async throws in throw TestError("swept") }
        watched = nil
        #expect(registry.sweep() == 1)
        await registry.drain()
        let living = Host()
        registry.finalize(living, runsAtExit: true) { () async throws in throw TestError("shut down") }
        #expect(await registry.shutdown() == 1)
        #expect(failures.all.map(\.trigger) == [.ownerDeinit, .sweep, .shutdown])
        withExtendedLifetime(living) {}
    }

    /// Cancelling the task that awaits runNow() does not cancel the
    /// cleanup, and runNow() returns only once it has finished.
    @Test func cancellingTheCallerDoesNotCancelTheCleanup() async throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let gate = AsyncGate()
        let owner = Host()
        let f = registry.finalize(owner) {
            await gate.wait()
            log.append("cleanup cancelled: \(Task.isCancelled)")
        }
        let caller = Task {
            let ran = try await f.runNow()
            log.append("runNow returned \(ran)")
        }
        #expect(await until { gate.waiting == 1 })
        caller.cancel()
        gate.open()
        try await caller.value
        #expect(log.events == ["cleanup cancelled: false", "runNow returned true"])
        withExtendedLifetime(owner) {}
    }

    /// await shutdown() runs sync and async finalizers newest first,
    /// awaiting each, and a finalizer registered inside a cleanup runs next.
    @Test func awaitingShutdownRunsNewestFirstAwaitingEach() async {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let owner = Host()
        registry.finalize(owner) { log.append("1 sync") }
        registry.finalize(owner) { () async in
            await Task.yield()
            log.append("2 async")
        }
        registry.finalize(owner) { () async in
            registry.finalize(owner) { () async in
                await Task.yield()
                log.append("registered inside")
            }
            await Task.yield()
            log.append("3 async")
        }
        registry.finalize(owner) { log.append("4 sync") }
        registry.finalize(owner, runsAtExit: false) { log.append("not at exit") }
        #expect(await registry.shutdown() == 5)
        #expect(log.events == ["4 sync", "3 async", "registered inside", "2 async", "1 sync"])
        #expect(owner.finalizers.pendingCount == 1)
    }

    /// A synchronous shutdown starts async cleanups as tracked tasks; drain
    /// waits for them.
    @Test func synchronousShutdownStartsAsyncCleanups() async {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let owner = Plain()
        let f = registry.finalize(owner) { () async in
            await Task.yield()
            log.append("ran")
        }
        // In async code `shutdown()` is the awaiting one; reach the
        // synchronous one from a synchronous function.
        func shutDownWithoutAwaiting() -> Int { registry.shutdown() }
        #expect(shutDownWithoutAwaiting() == 1)
        await registry.drain()
        #expect(log.events == ["ran"])
        #expect(f.state == .ran(.shutdown))
        withExtendedLifetime(owner) {}
    }

    /// A watched owner's asynchronous cleanup that `runNow()` started may
    /// run on after its registry has ended: the finalizer keeps the
    /// registry's core (a watched finalizer does not keep its shard) until
    /// the cleanup settles, and its error still reaches the caller.
    @Test func runNowCleanupOfAWatchedOwnerOutlivesItsRegistry() async {
        var registry: FinalizerRegistry? = FinalizerRegistry(sweepInterval: nil)
        let gate = AsyncGate()
        let owner = Plain()
        let f = registry!.finalize(owner, runsAtExit: false) { () async throws in
            await gate.wait()
            throw TestError("late")
        }
        weak let weakCore: _RegistryCore? = registry?._core
        let running = Task { try await f.runNow() }
        #expect(await until { gate.waiting == 1 })
        registry = nil  // its end finds the finalizer claimed, and leaves it be
        #expect(weakCore != nil)  // kept by the running cleanup
        gate.open()
        await #expect(throws: TestError("late")) { try await running.value }
        #expect(f.state == .ran(.runNow))
        // Settled: the finalizer no longer keeps the core.
        #expect(await until { weakCore == nil })
        withExtendedLifetime(owner) {}
    }

    /// The same for a cleanup a sweep started: its failure still goes to
    /// the registry's handler after the registry has ended.
    @Test func sweptCleanupOfAWatchedOwnerOutlivesItsRegistry() async {
        let failures = FailureLog()
        var registry: FinalizerRegistry? = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let gate = AsyncGate()
        var owner: Plain? = Plain()
        let f = registry!.finalize(owner!, runsAtExit: false) { () async throws in
            await gate.wait()
            throw TestError("late")
        }
        weak let weakCore: _RegistryCore? = registry?._core
        owner = nil
        #expect(registry!.sweep() == 1)
        #expect(await until { gate.waiting == 1 })
        registry = nil
        gate.open()
        #expect(await until { failures.all.count == 1 })
        #expect(failures.all.first?.trigger == .sweep)
        #expect(f.state == .ran(.sweep))
        #expect(await until { weakCore == nil })
    }
}
