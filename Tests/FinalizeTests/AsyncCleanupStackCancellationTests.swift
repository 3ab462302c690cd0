// AsyncCleanupStack under task cancellation: unwinding does not check for
// it, every entry runs once, a cleanup whose await cancellation ends throws
// CancellationError, which is collected like any other error, and a push
// callback may suppress it.

import FinalizeTestSupport
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

@Suite("AsyncCleanupStack: cancellation", .timeLimit(.minutes(1)))
struct AsyncCleanupStackCancellationTests {
    @Test("a cancelled task still runs every entry")
    func cancelledTaskRunsEverything() async throws {
        let ran = Mutex<[Int]>([])
        let task = Task {
            try await withAsyncCleanupStack { stack in
                for id in 1...3 {
                    stack.defer {
                        await cleanupHop()
                        ran.withLock { $0.append(id) }
                    }
                }
                withUnsafeCurrentTask { $0?.cancel() }
                try Task.checkCancellation()
            }
        }
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(ran.withLock { $0 } == [3, 2, 1])
    }

    @Test("a cleanup's CancellationError does not stop the others")
    func cancellationErrorDoesNotStopOthers() async throws {
        let ran = Mutex<[Int]>([])
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            let stack = AsyncCleanupStack()
            for id in 1...4 {
                stack.defer {
                    ran.withLock { $0.append(id) }
                    if id.isMultiple(of: 2) { try Task.checkCancellation() }
                }
            }
            try await stack.close()
        }
        let result = await task.result
        #expect(ran.withLock { $0 } == [4, 3, 2, 1])
        #expect(throws: CleanupErrors.self) { try result.get() }
        if case .failure(let error as CleanupErrors) = result {
            #expect(error.errors.count == 2)
            #expect(error.errors.allSatisfy { $0 is CancellationError })
        }
    }

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
        #expect(
            ran.withLock { $0 } == [
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
}
