import Synchronization
import Testing
@testable import Finalize

// Ports of CPython's Lib/test/test_contextlib_async.py `TestAsyncExitStack`
// (push_async_callback is the async `defer`, push_async_exit the async
// `push`, enter_async_context `enter`), test262's AsyncDisposableStack
// disposeAsync tests, and the async rules: one entry at a time, newest first,
// cancellation does not stop the unwinding.

@Suite("AsyncCleanupStack: CPython TestAsyncExitStack")
struct AsyncCleanupStackExitStackTests {
    @Test("test_async_callback: async callbacks run newest first")
    func asyncCallback() async throws {
        let expected = ["()", "(1)", "(1, 2)", "(example: 1)", "(1, example: 1)", "(1, 2, example: 1)"]
        let result = CleanupLog<String>()
        try await withAsyncCleanupStack { stack in
            for item in expected.reversed() {
                stack.defer {
                    await cleanupHop()
                    result.append(item)
                }
            }
        }
        #expect(result.items == expected)
    }

    @Test("test_async_push: async exit callbacks see the body's error until one suppresses it")
    func asyncPush() async throws {
        let seen = CleanupLog<String>()
        func expectOK(_ name: String) -> ((any Error)?) async -> Bool {
            { error in
                await cleanupHop()
                seen.append("\(name):\(error == nil ? "ok" : "error")")
                return false
            }
        }
        func expectError(_ name: String) -> ((any Error)?) async -> Bool {
            { error in
                await cleanupHop()
                seen.append("\(name):\(error is PyZeroDivisionError ? "PyZeroDivisionError" : "?")")
                return false
            }
        }
        try await withAsyncCleanupStack { stack in
            stack.push(expectOK("expect_ok"))
            stack.push(expectOK("ExitCM(expect_ok)"))
            stack.push { _ in
                await cleanupHop()
                seen.append("suppress")
                return true
            }
            stack.push(expectError("ExitCM(expect_exc)"))
            stack.push(expectError("expect_exc 1"))
            stack.push(expectError("expect_exc 2"))
            throw PyZeroDivisionError()
        }
        #expect(seen.items == [
            "expect_exc 2:PyZeroDivisionError", "expect_exc 1:PyZeroDivisionError", "ExitCM(expect_exc):PyZeroDivisionError",
            "suppress", "ExitCM(expect_ok):ok", "expect_ok:ok",
        ])
    }

    @Test("test_enter_async_context: async acquire and release around the body")
    func enterAsyncContext() async throws {
        let result = CleanupLog<Int>()
        try await withAsyncCleanupStack { stack in
            stack.defer {
                await cleanupHop()
                result.append(4)
            }
            await stack.enter {
                await cleanupHop()
                result.append(1)
            } release: { _ in
                await cleanupHop()
                result.append(3)
            }
            result.append(2)
        }
        #expect(result.items == [1, 2, 3, 4])
    }

    @Test("test_enter_async_context_errors: a failed acquire adds no entry")
    func enterAsyncContextErrors() async throws {
        let released = CleanupLog<Int>()
        try await withAsyncCleanupStack { stack in
            let error = await caughtCleanupErrorAsync {
                try await stack.enter { () async throws -> Int in
                    await cleanupHop()
                    throw CleanupBoom(id: 1)
                } release: { released.append($0) }
            }
            #expect(error as? CleanupBoom == CleanupBoom(id: 1))
            #expect(stack.count == 0)
        }
        #expect(released.items.isEmpty)
    }

    @Test("test_async_exit_exception_chaining: errors before a suppression are gone, the rest kept")
    func asyncExitExceptionChaining() async {
        var savedDetails: (any Error)?
        let error = await caughtCleanupErrorAsync {
            try await withAsyncCleanupStack { stack in
                stack.defer { await cleanupHop(); throw PyIndexError() }
                stack.defer { await cleanupHop(); throw PyKeyError() }
                stack.defer { await cleanupHop(); throw PyAttributeError() }
                stack.push { error in
                    await cleanupHop()
                    savedDetails = error
                    return true
                }
                stack.defer { await cleanupHop(); throw PyValueError() }
                throw PyZeroDivisionError()
            }
        }
        let errors = (error as? CleanupErrors)?.errors ?? []
        #expect(errors.count == 3)
        #expect(errors.first is PyAttributeError)
        #expect(errors.dropFirst().first is PyKeyError)
        #expect(errors.last is PyIndexError)
        #expect(savedDetails is PyValueError)
    }

    @Test("test_close and test_pop_all, async: close() then move()")
    func closeAndMove() async throws {
        let result = CleanupLog<Int>()
        var moved: AsyncCleanupStack?
        try await withAsyncCleanupStack { stack in
            stack.defer { await cleanupHop(); result.append(1) }
            try await stack.close()
            result.append(2)
            stack.defer { await cleanupHop(); result.append(5) }
            moved = stack.move()
            result.append(3)
        }
        result.append(4)
        try await moved?.close()
        #expect(result.items == [1, 2, 3, 4, 5])
    }

    @Test("test_exit_raise and test_exit_suppress, async")
    func exitRaiseAndSuppress() async throws {
        let raised = await caughtCleanupErrorAsync {
            try await withAsyncCleanupStack { stack in
                stack.push { _ in await cleanupHop(); return false }
                throw PyZeroDivisionError()
            }
        }
        #expect(raised is PyZeroDivisionError)
        try await withAsyncCleanupStack { stack in
            stack.push { _ in await cleanupHop(); return true }
            throw PyZeroDivisionError()
        }
    }

    @Test("test_excessive_nesting, async: 10,000 async callbacks")
    func excessiveNesting() async throws {
        var ran = 0
        try await withAsyncCleanupStack { stack in
            for index in 0..<10_000 {
                if index.isMultiple(of: 2) {
                    stack.defer { await cleanupHop(); ran += 1 }
                } else {
                    stack.defer { ran += 1 }
                }
            }
        }
        #expect(ran == 10_000)
    }

    @Test("mixed sync and async callbacks keep their order")
    func mixedSyncAsyncOrder() async throws {
        let log = CleanupLog<String>()
        try await withAsyncCleanupStack { stack in
            stack.defer { log.append("sync defer 1") }
            stack.defer { await cleanupHop(); log.append("async defer 2") }
            stack.push { _ in log.append("sync push 3"); return false }
            stack.push { _ in await cleanupHop(); log.append("async push 4"); return false }
            await stack.enter { "sync enter 5" } release: { log.append($0) }
            await stack.enter { await cleanupHop(); return "async enter 6" } release: { await cleanupHop(); log.append($0) }
        }
        #expect(log.items == [
            "async enter 6", "sync enter 5", "async push 4", "sync push 3", "async defer 2", "sync defer 1",
        ])
    }
}

@Suite("AsyncCleanupStack: semantics")
struct AsyncCleanupStackTests {
    @Test("entries are awaited one at a time, newest first")
    func oneAtATime() async throws {
        let log = CleanupLog<String>()
        var inFlight = 0
        var maxInFlight = 0
        try await withAsyncCleanupStack { stack in
            for id in 1...5 {
                stack.defer {
                    inFlight += 1
                    maxInFlight = max(maxInFlight, inFlight)
                    log.append("start \(id)")
                    for _ in 0..<3 { await cleanupHop() }
                    log.append("end \(id)")
                    inFlight -= 1
                }
            }
        }
        #expect(maxInFlight == 1)
        #expect(log.items == (1...5).reversed().flatMap { ["start \($0)", "end \($0)"] })
    }

    @Test("an entry added while unwinding runs next; 10,000 nested async pushes do not recurse")
    func addedWhileUnwinding() async throws {
        var ran = 0
        let stack = AsyncCleanupStack()
        let log = CleanupLog<String>()
        stack.defer { log.append("oldest") }
        func chain(_ remaining: Int) {
            stack.push { _ in
                if remaining.isMultiple(of: 1000) { await cleanupHop() }
                ran += 1
                if remaining > 1 { chain(remaining - 1) }
                return false
            }
        }
        chain(10_000)
        try await stack.close()
        #expect(ran == 10_000)
        #expect(log.items == ["oldest"])
    }

    @Test("one error rethrown unchanged; several aggregated, the body's first")
    func errorRules() async {
        let one = await caughtCleanupErrorAsync {
            try await withAsyncCleanupStack { stack in
                stack.defer { await cleanupHop() }
                stack.defer { await cleanupHop(); throw CleanupBoom(id: 7) }
            }
        }
        #expect(one as? CleanupBoom == CleanupBoom(id: 7))
        let several = await caughtCleanupErrorAsync {
            try await withAsyncCleanupStack { stack in
                stack.defer { throw CleanupBoom(id: 3) }
                stack.defer { await cleanupHop(); throw CleanupBoom(id: 2) }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(several is CleanupErrors)
        #expect(cleanupBoomIDs(several!) == [1, 2, 3])
    }

    @Test("test262 AsyncDisposableStack disposeAsync: reverse order, multiple errors, already disposed")
    func disposeAsyncPorts() async throws {
        // disposes-resources-in-reverse-order
        let disposed = CleanupLog<Int>()
        let stack = AsyncCleanupStack()
        await stack.enter { 1 } release: { await cleanupHop(); disposed.append($0) }
        await stack.enter { 2 } release: { await cleanupHop(); disposed.append($0) }
        try await stack.close()
        #expect(disposed.items == [2, 1])
        // does-not-reinvoke-disposers-if-already-disposed / does-not-reject-if-already-disposed
        try await stack.close()
        #expect(disposed.items == [2, 1])
        // rejects-with-suppressederror-if-multiple-errors-during-disposal
        stack.defer { throw CleanupBoom(id: 1) }
        stack.defer { throw CleanupBoom(id: 2) }
        stack.defer { throw CleanupBoom(id: 3) }
        let error = await caughtCleanupErrorAsync { try await stack.close() }
        #expect(cleanupBoomIDs(error!) == [3, 2, 1])
    }

    @Test("the value form returns the value, and rethrows a suppressed body error")
    func valueForm() async throws {
        let value = try await withAsyncCleanupStack { stack in
            stack.defer { await cleanupHop() }
            return 42
        }
        #expect(value == 42)
        var seen: (any Error)?
        let error = await caughtCleanupErrorAsync {
            _ = try await withAsyncCleanupStack { stack -> Int in
                stack.push { error in
                    seen = error
                    return true
                }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(error as? CleanupBoom == CleanupBoom(id: 1))
        #expect(seen as? CleanupBoom == CleanupBoom(id: 1))
    }

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

    @Test("move(), count, and reuse after close")
    func moveCountReuse() async throws {
        let log = CleanupLog<Int>()
        let stack = AsyncCleanupStack()
        stack.defer { log.append(1) }
        stack.defer { await cleanupHop(); log.append(2) }
        #expect(stack.count == 2)
        let moved = stack.move()
        #expect(stack.count == 0)
        #expect(moved.count == 2)
        stack.defer { log.append(3) }
        try await stack.close()
        try await moved.close()
        #expect(log.items == [3, 2, 1])
    }

    @Test("close() from a cleanup of the stack being unwound does nothing")
    func closeDuringUnwind() async throws {
        let log = CleanupLog<Int>()
        let stack = AsyncCleanupStack()
        stack.defer { log.append(1) }
        stack.defer {
            try await stack.close()
            log.append(2)
        }
        try await stack.close()
        #expect(log.items == [2, 1])
    }

    @Test("a deinitialized stack runs its sync entries at once and the rest in a task, then reports failures")
    func deinitRunsAndReports() async {
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        do {
            let stack = AsyncCleanupStack()
            stack.reportFailure = { failure in
                continuation.yield("reported \(cleanupBoomIDs(failure.error)) \(failure.trigger)")
                if cleanupBoomIDs(failure.error) == [1] { continuation.finish() }
            }
            stack.defer { continuation.yield("async 1"); throw CleanupBoom(id: 1) }
            stack.defer { await cleanupHop(); continuation.yield("async 2") }
            stack.defer { continuation.yield("sync 3"); throw CleanupBoom(id: 3) }
        }
        var seen: [String] = []
        for await event in events { seen.append(event) }
        // One unwinding in two parts, reported once, at its end.
        #expect(seen == ["sync 3", "async 2", "async 1", "reported [3] scopeEnd", "reported [1] scopeEnd"])
    }

    @MainActor
    @Test("from the main actor: cleanups touch main-actor state without hops of their own")
    func mainActorIsolation() async throws {
        let log = CleanupMainActorLog()
        try await withAsyncCleanupStack { stack in
            stack.defer { log.items.append("sync") }
            stack.defer { await cleanupHop(); log.items.append("async") }
            await stack.enter { log.items.append("acquire") } release: { log.items.append("release") }
        }
        #expect(log.items == ["acquire", "release", "async", "sync"])
    }
}

@MainActor
private final class CleanupMainActorLog {
    var items: [String] = []
}
