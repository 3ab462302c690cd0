// Ports of CPython's `Lib/test/test_contextlib_async.py`, class
// `TestAsyncExitStack`, to `AsyncCleanupStack`: `push_async_callback` is
// the async `defer`, `push_async_exit` the async `push`,
// `enter_async_context` is `enter`, `pop_all` is `move`. Where Python
// chains exceptions through `__context__`, this package keeps a flat,
// ordered list (`CleanupErrors`).

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("CPython test_contextlib_async: TestAsyncExitStack")
struct CPythonAsyncExitStackTests {
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
        #expect(
            seen.items == [
                "expect_exc 2:PyZeroDivisionError", "expect_exc 1:PyZeroDivisionError",
                "ExitCM(expect_exc):PyZeroDivisionError",
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
                } release: {
                    released.append($0)
                }
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
                stack.defer {
                    await cleanupHop()
                    throw PyIndexError()
                }
                stack.defer {
                    await cleanupHop()
                    throw PyKeyError()
                }
                stack.defer {
                    await cleanupHop()
                    throw PyAttributeError()
                }
                stack.push { error in
                    await cleanupHop()
                    savedDetails = error
                    return true
                }
                stack.defer {
                    await cleanupHop()
                    throw PyValueError()
                }
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
            stack.defer {
                await cleanupHop()
                result.append(1)
            }
            try await stack.close()
            result.append(2)
            stack.defer {
                await cleanupHop()
                result.append(5)
            }
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
                stack.push { _ in
                    await cleanupHop()
                    return false
                }
                throw PyZeroDivisionError()
            }
        }
        #expect(raised is PyZeroDivisionError)
        try await withAsyncCleanupStack { stack in
            stack.push { _ in
                await cleanupHop()
                return true
            }
            throw PyZeroDivisionError()
        }
    }

    @Test("test_excessive_nesting, async: 10,000 async callbacks")
    func excessiveNesting() async throws {
        var ran = 0
        try await withAsyncCleanupStack { stack in
            for index in 0..<10_000 {
                if index.isMultiple(of: 2) {
                    stack.defer {
                        await cleanupHop()
                        ran += 1
                    }
                } else {
                    stack.defer { ran += 1 }
                }
            }
        }
        #expect(ran == 10_000)
    }

}
