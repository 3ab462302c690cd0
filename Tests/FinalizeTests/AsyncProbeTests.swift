// Review 2, area 2: AsyncCleanupStack under task cancellation and errors,
// stacks deinitialized with async entries, and adopted finalizers whose
// owners die concurrently with the unwinding.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Testing
@testable import Finalize

/// Suspends until the current task is cancelled (returns at once if it
/// already is): an await that cancellation ends, as a network read would.
private func untilCancelled() async {
    let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
    for await _ in stream {}
    withExtendedLifetime(continuation) {}
}

@MainActor
private final class ProbeMainActorState {
    var items: [String] = []
}

@Suite("Async probes", .timeLimit(.minutes(1)))
struct AsyncProbeTests {
    // MARK: - Cancellation

    /// close() from a cancelled task: every entry runs once, newest first;
    /// each sees the cancellation; the ones whose awaits cancellation ends
    /// throw CancellationError, which is collected, and the rest still run.
    @Test func closeFromACancelledTask() async throws {
        let ran = Mutex<[String]>([])
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            let stack = AsyncCleanupStack()
            stack.defer { ran.withLock { $0.append("sync 1 cancelled=\(Task.isCancelled)") } }
            stack.defer {
                await untilCancelled()
                ran.withLock { $0.append("async 2 cancelled=\(Task.isCancelled)") }
                try Task.checkCancellation()
            }
            stack.push { error in
                ran.withLock { $0.append("push 3 sees \(error.map { "\(type(of: $0))" } ?? "nil")") }
                return false
            }
            stack.defer {
                ran.withLock { $0.append("async 4") }
                throw CancellationError()
            }
            try await stack.close()
        }
        let result = await task.result
        #expect(ran.withLock { $0 } == [
            "async 4", "push 3 sees CancellationError", "async 2 cancelled=true", "sync 1 cancelled=true",
        ])
        guard case .failure(let error as CleanupErrors) = result else {
            Issue.record("expected CleanupErrors, got \(result)")
            return
        }
        #expect(error.errors.count == 2)
        #expect(error.errors.allSatisfy { $0 is CancellationError })
    }

    /// withAsyncCleanupStack whose body is cancelled while suspended: every
    /// entry runs once after the body throws, and the body's
    /// CancellationError comes out (alone: the cleanups did not fail).
    @Test func bodyCancelledWhileSuspended() async throws {
        let ran = Mutex<[String]>([])
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
        let task = Task {
            try await withAsyncCleanupStack { stack in
                stack.defer { ran.withLock { $0.append("sync") } }
                stack.defer {
                    await cleanupHop()
                    ran.withLock { $0.append("async cancelled=\(Task.isCancelled)") }
                }
                readyContinuation.yield()
                await untilCancelled()
                try Task.checkCancellation()
                ran.withLock { $0.append("body not cancelled?") }
            }
        }
        for await _ in ready { break }
        task.cancel()
        let result = await task.result
        #expect(ran.withLock { $0 } == ["async cancelled=true", "sync"])
        #expect(throws: CancellationError.self) { try result.get() }
    }

    /// A push callback that suppresses the body's CancellationError: the Void
    /// form returns normally; the value form still throws it (it has no
    /// value to return), as documented.
    @Test func suppressedCancellation() async throws {
        let voidTask = Task {
            try await withAsyncCleanupStack { stack in
                stack.push { error in error is CancellationError }
                withUnsafeCurrentTask { $0?.cancel() }
                try Task.checkCancellation()
            }
        }
        let voidResult = await voidTask.result
        #expect(throws: Never.self) { try voidResult.get() }
        let valueTask = Task { () -> Int in
            try await withAsyncCleanupStack { stack -> Int in
                stack.push { error in error is CancellationError }
                withUnsafeCurrentTask { $0?.cancel() }
                try Task.checkCancellation()
                return 1
            }
        }
        let valueResult = await valueTask.result
        #expect(throws: CancellationError.self) { try valueResult.get() }
    }

    // MARK: - Deinitialized with async entries

    /// A stack dropped with sync, async and adopted entries: the newest sync
    /// entries run at once, the rest once each in a task, newest first, and
    /// every failure is reported once, all at the end (the adopted finalizer's with its
    /// registration site).
    @Test func deinitMixedEntriesRunOnceAndReport() async throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let host = Host()
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        let reports = Atomic<Int>(0)
        let finalizerLine = #line + 1
        let finalizer = registry.finalize(host) { continuation.yield("F"); throw CleanupBoom(id: 4) }
        let aLine = #line + 9, bLine = #line + 10, eLine = #line + 14
        do {
            let stack = AsyncCleanupStack()
            stack.reportFailure = { failure in
                continuation.yield("report \(cleanupBoomIDs(failure.error)) \(failure.trigger) line \(failure.line)")
                if reports.add(1, ordering: .relaxed).newValue == 4 { continuation.finish() }
            }
            // oldest first: A (sync, throws), B (async, throws), C, F (adopted,
            // throws), D (async), E (sync, throws)
            stack.defer { continuation.yield("A"); throw CleanupBoom(id: 1) }
            stack.defer { () async throws in await cleanupHop(); continuation.yield("B"); throw CleanupBoom(id: 2) }
            stack.defer { continuation.yield("C") }
            stack.adopt(finalizer)
            stack.defer { () async in await cleanupHop(); continuation.yield("D") }
            stack.defer { continuation.yield("E"); throw CleanupBoom(id: 6) }
        }
        var seen: [String] = []
        for await event in events { seen.append(event) }
        // One unwinding: the deinit's part and the task's part are reported
        // together, at the end, oldest error first.
        #expect(seen == [
            "E", "D", "F", "C", "B", "A",
            "report [6] scopeEnd line \(eLine)",
            "report [4] scopeEnd line \(finalizerLine)",
            "report [2] scopeEnd line \(bLine)",
            "report [1] scopeEnd line \(aLine)",
        ])
        #expect(finalizer.state == .ran(.scopeEnd))
        withExtendedLifetime(host) {}
    }

    /// An adopted finalizer in the part a dropped stack hands to a task:
    /// with no test handler, its error goes to its own registry's onFailure,
    /// once, with its registration site.
    @Test func deinitAdoptedFailureGoesToItsRegistry() async throws {
        let (events, continuation) = AsyncStream.makeStream(of: FinalizerFailure.self)
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: { continuation.yield($0); continuation.finish() })
        let owner = Plain()
        let line = #line + 1
        let finalizer = registry.finalize(owner) { throw CleanupBoom(id: 9) }
        do {
            let stack = AsyncCleanupStack()
            stack.adopt(finalizer)
            stack.defer { () async in await cleanupHop() }
        }
        var failures: [FinalizerFailure] = []
        for await failure in events { failures.append(failure) }
        #expect(failures.count == 1)
        #expect(failures.first.map { cleanupBoomIDs($0.error) } == [9])
        #expect(failures.first?.trigger == .scopeEnd)
        #expect(failures.first?.line == line)
        #expect(finalizer.state == .ran(.scopeEnd))
        withExtendedLifetime(owner) {}
    }

    /// A stack dropped inside a cancelled task: the sync part runs at once
    /// (seeing the cancellation); the task that runs the rest is a new,
    /// uncancelled one, so its cleanups do not see the cancellation. Each
    /// entry runs once.
    @Test func deinitInACancelledTask() async throws {
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            let stack = AsyncCleanupStack()
            stack.defer {
                continuation.yield("sync old cancelled=\(Task.isCancelled)")
                continuation.finish()
            }
            stack.defer { () async in continuation.yield("async cancelled=\(Task.isCancelled)") }
            stack.defer { continuation.yield("sync new cancelled=\(Task.isCancelled)") }
        }
        _ = await task.result
        var seen: [String] = []
        for await event in events { seen.append(event) }
        #expect(seen == ["sync new cancelled=true", "async cancelled=false", "sync old cancelled=false"])
    }

    /// close() semantics versus a dropped stack: with close(), a push callback
    /// sees (and may suppress) the error of a newer synchronous entry. A
    /// dropped stack unwinds in two parts (the newest sync entries in deinit,
    /// the rest in a task) but as one unwinding: the push callback in the
    /// task sees the deinit part's error and suppresses it. (A bug this
    /// review found: the two parts had separate error records.)
    @Test func deinitPushCallbackSeesTheNewerSyncError() async throws {
        // close(): the callback sees Boom(1) and suppresses it.
        let closed = AsyncCleanupStack()
        let closedSaw = Mutex<String>("")
        closed.push { error in
            await cleanupHop()
            closedSaw.withLock { $0 = "\(error.map(cleanupBoomIDs) ?? [])" }
            return true
        }
        closed.defer { throw CleanupBoom(id: 1) }
        try await closed.close()
        #expect(closedSaw.withLock { $0 } == "[1]")

        // Dropped: the same entries.
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        do {
            let stack = AsyncCleanupStack()
            stack.reportFailure = { continuation.yield("reported \(cleanupBoomIDs($0.error))") }
            stack.push { error in
                await cleanupHop()
                continuation.yield("push saw \(error.map(cleanupBoomIDs) ?? [])")
                continuation.finish()
                return true
            }
            stack.defer { throw CleanupBoom(id: 1) }
        }
        var seen: [String] = []
        for await event in events { seen.append(event) }
        #expect(seen == ["push saw [1]"], "a dropped stack should unwind like close()")
    }

    /// A sync entry added on the main actor, left under an async entry of a
    /// dropped stack, runs in the fallback task on the main actor: the
    /// compiler checked it as main-actor code (it mutates main-actor state
    /// without an await). (This review found it running off the main actor,
    /// a data race the language promised could not happen; the stack now
    /// remembers the actor it was created on.)
    @MainActor
    @Test func deinitSyncEntryFromTheMainActorRunsOnIt() async throws {
        let state = ProbeMainActorState()
        let mainThread = pthread_self()
        let (events, continuation) = AsyncStream.makeStream(of: Bool.self)
        do {
            let stack = AsyncCleanupStack()
            stack.defer {
                state.items.append("sync")  // main-actor state, no await: compiled as main-actor code
                continuation.yield(pthread_equal(pthread_self(), mainThread) != 0)
                continuation.finish()
            }
            stack.defer { () async in await cleanupHop() }
        }
        var onMain: [Bool] = []
        for await value in events { onMain.append(value) }
        // The fallback task runs on the actor the stack was created on.
        #expect(onMain == [true])
    }

    // MARK: - Unwinding that changes the stack

    /// A cleanup that moves the rest of its stack out and drops it: the
    /// unwinding ends, the moved entries run once (sync ones at once, the
    /// async rest in the fallback task), and close() returns.
    @Test func moveDuringUnwindRunsTheRestOnce() async throws {
        let counts = Mutex<[String: Int]>([:])
        let (events, continuation) = AsyncStream.makeStream(of: Void.self)
        func ran(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }
        let stack = AsyncCleanupStack()
        stack.defer { ran("oldest"); continuation.finish() }
        stack.defer { () async in await cleanupHop(); ran("async") }
        stack.defer { ran("sync") }
        stack.defer { [unowned stack] in
            ran("mover")
            _ = stack.move()
        }
        try await stack.close()
        for await _ in events {}
        #expect(counts.withLock { $0 } == ["mover": 1, "sync": 1, "async": 1, "oldest": 1])
        #expect(stack.count == 0)
    }

    // MARK: - adopt and owner death at the same time

    /// The adopted finalizer's host owner is released on another thread while
    /// the stack unwinds (after an await): the cleanup runs exactly once, by
    /// whichever came first.
    @Test(arguments: OwnerKind.allCases)
    func adoptedOwnerDiesDuringUnwinding(kind: OwnerKind) async throws {
        for _ in 0..<200 {
            let registry = FinalizerRegistry(sweepInterval: nil)
            let count = Counter()
            let holder = Locked<(AnyObject & Sendable)?>(kind.make())
            let finalizer = holder.withLock { register(registry, on: $0!) { count.increment() } }
            let stack = AsyncCleanupStack()
            stack.adopt(finalizer)
            stack.defer { () async in await cleanupHop() }
            stack.defer { finalizer.runsAtExit = true }
            let barrier = SpinBarrier(count: 2)
            let thread = startThread {
                barrier.arriveAndWait()
                holder.clear()
                kind.collect(registry)
            }
            barrier.arriveAndWait()
            try await stack.close()
            pthread_join(thread, nil)
            kind.collect(registry)
            #expect(count.value == 1)
            #expect(finalizer.state == .ran(.scopeEnd) || finalizer.state == .ran(kind.deathTrigger))
        }
    }

    /// A dropped stack's fallback task runs an adopted finalizer while its
    /// owner dies on another thread: exactly once.
    @Test func abandonedAdoptRacingOwnerDeath() async throws {
        for _ in 0..<100 {
            let registry = FinalizerRegistry(sweepInterval: nil)
            let count = Counter()
            let holder = Locked<Host?>(Host())
            let finalizer = holder.withLock { registry.finalize($0!) { count.increment() } }
            let (events, continuation) = AsyncStream.makeStream(of: Void.self)
            do {
                let stack = AsyncCleanupStack()
                stack.defer { continuation.finish() }
                stack.adopt(finalizer)
                stack.defer { () async in await cleanupHop() }
            }
            holder.clear()
            for await _ in events {}
            #expect(count.value == 1)
        }
    }
}
