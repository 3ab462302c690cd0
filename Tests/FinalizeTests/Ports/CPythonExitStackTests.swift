// Ports of CPython's Lib/test/test_contextlib.py `TestBaseExitStack` to
// `CleanupStack`. Python's `callback` is `defer`, `push` is `push`,
// `enter_context` is `enter`, `pop_all` is `move`. Where Python chains
// exceptions through `__context__`, this package keeps a flat, ordered list
// (`CleanupErrors`); each test says how the Python assertion maps.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("CPython test_contextlib: TestBaseExitStack")
struct CPythonExitStackTests {
    @Test("test_no_resources: an empty scope returns normally")
    func noResources() throws {
        try withCleanupStack { _ in }
        let stack = CleanupStack()
        #expect(stack.count == 0)
        try stack.close()
    }

    @Test("test_callback: callbacks run newest first, with what they captured")
    func callback() throws {
        let expected: [(args: [Int], example: Int?)] = [
            ([], nil), ([1], nil), ([1, 2], nil), ([], 1), ([1], 1), ([1, 2], 1),
        ]
        let result = CleanupLog<String>()
        func describe(_ args: [Int], _ example: Int?) -> String { "\(args) \(example.map(String.init) ?? "-")" }
        try withCleanupStack { stack in
            for (args, example) in expected.reversed() {
                stack.defer { result.append(describe(args, example)) }
            }
            #expect(stack.count == expected.count)
        }
        #expect(result.items == expected.map { describe($0.args, $0.example) })
    }

    @Test("test_push: exit callbacks see the body's error until one suppresses it")
    func push() throws {
        let seen = CleanupLog<String>()
        func expectOK(_ name: String) -> ((any Error)?) -> Bool {
            { error in
                seen.append("\(name):\(error == nil ? "ok" : "error")")
                return false
            }
        }
        func expectError(_ name: String) -> ((any Error)?) -> Bool {
            { error in
                seen.append("\(name):\(error is PyZeroDivisionError ? "PyZeroDivisionError" : "?")")
                return false
            }
        }
        // Python's body is `1/0`; suppressed, so the `with` ends normally.
        try withCleanupStack { stack in
            stack.push(expectOK("expect_ok"))
            stack.push(expectOK("ExitCM(expect_ok)"))
            stack.push { _ in
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

    @Test("test_enter_context: the release of an entered resource runs before older callbacks")
    func enterContext() throws {
        let result = CleanupLog<Int>()
        try withCleanupStack { stack in
            stack.defer { result.append(4) }  // registered first, cleaned up last
            let resource = stack.enter {
                result.append(1)
                return "resource"
            } release: { value in
                #expect(value == "resource")
                result.append(3)
            }
            #expect(resource == "resource")
            #expect(stack.count == 2)
            result.append(2)
        }
        #expect(result.items == [1, 2, 3, 4])
    }

    @Test("test_enter_context_errors: a failed acquire adds no entry")
    func enterContextErrors() throws {
        let released = CleanupLog<Int>()
        try withCleanupStack { stack in
            #expect(throws: CleanupBoom(id: 1)) {
                try stack.enter { () throws -> Int in
                    throw CleanupBoom(id: 1)
                } release: {
                    released.append($0)
                }
            }
            #expect(stack.count == 0)
            stack.enter {
                7
            } release: {
                released.append($0)
            }
            #expect(stack.count == 1)
        }
        #expect(released.items == [7])
    }

    @Test("test_close: close() unwinds inside the scope; the scope end finds nothing")
    func close() throws {
        let result = CleanupLog<Int>()
        try withCleanupStack { stack in
            stack.defer { result.append(1) }
            try stack.close()
            result.append(2)
        }
        #expect(result.items == [1, 2])
    }

    @Test("test_pop_all: move() takes the entries out of the scope")
    func popAll() throws {
        let result = CleanupLog<Int>()
        var newStack: CleanupStack?
        try withCleanupStack { stack in
            stack.defer { result.append(3) }
            newStack = stack.move()
            #expect(stack.count == 0)
            result.append(1)
        }
        result.append(2)
        try newStack?.close()
        #expect(result.items == [1, 2, 3])
    }

    @Test("test_exit_raise: an exit callback returning false lets the body's error through")
    func exitRaise() {
        #expect(throws: PyZeroDivisionError.self) {
            try withCleanupStack { stack in
                stack.push { _ in false }
                throw PyZeroDivisionError()
            }
        }
    }

    @Test("test_exit_suppress: an exit callback returning true ends the scope normally")
    func exitSuppress() throws {
        try withCleanupStack { stack in
            stack.push { _ in true }
            throw PyZeroDivisionError()
        }
    }

    @Test("test_exit_exception_chaining: errors before a suppression are gone, the rest kept in order")
    func exitExceptionChaining() {
        var savedDetails: (any Error)?
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                stack.defer { throw PyIndexError() }
                stack.defer { throw PyKeyError() }
                stack.defer { throw PyAttributeError() }
                stack.push { error in
                    savedDetails = error
                    return true
                }
                stack.defer { throw PyValueError() }
                throw PyZeroDivisionError()
            }
        }
        // Python: IndexError, context KeyError, context AttributeError, then
        // nothing (the inner ones were suppressed). Here: the same three, flat,
        // in the order they happened.
        let errors = (error as? CleanupErrors)?.errors ?? []
        #expect(errors.count == 3)
        #expect(errors.first is PyAttributeError)
        #expect(errors.dropFirst().first is PyKeyError)
        #expect(errors.last is PyIndexError)
        // The suppressing callback saw the newest error, ValueError (whose
        // Python context is the PyZeroDivisionErrorError: both were pending).
        #expect(savedDetails is PyValueError)
    }

    @Test("test_exit_exception_non_suppressing: one cleanup error is rethrown as is")
    func exitExceptionNonSuppressing() {
        let first = caughtCleanupError {
            try withCleanupStack { stack in
                stack.defer {}
                stack.defer { throw PyIndexError() }
            }
        }
        #expect(first is PyIndexError)

        let second = caughtCleanupError {
            try withCleanupStack { stack in
                stack.defer { throw PyKeyError() }
                stack.push { _ in true }
                stack.defer { throw PyIndexError() }
            }
        }
        #expect(second is PyKeyError)
    }

    @Test("test_exit_exception_with_correct_context: every error kept, the body's first")
    func exitExceptionWithCorrectContext() {
        func raising(_ id: Int) -> (Int) throws -> Void { { _ in throw CleanupBoom(id: id) } }
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                try stack.enter({ 4 }, release: raising(4))
                try stack.enter({ 3 }, release: raising(3))
                try stack.enter({ 2 }, release: raising(2))
                throw CleanupBoom(id: 1)
            }
        }
        // Python: exc4, context exc3, context exc2, context exc1.
        #expect(error is CleanupErrors)
        #expect(cleanupBoomIDs(error!) == [1, 2, 3, 4])
    }

    @Test("test_exit_exception_with_existing_context: a cleanup's own error list stays one error")
    func exitExceptionWithExistingContext() {
        // Python's raise_nested(inner, outer) raises outer with context inner;
        // the Swift equivalent is a cleanup that unwinds its own stack and so
        // throws CleanupErrors([inner, outer]).
        func raiseNested(_ inner: Int, _ outer: Int) throws {
            try withCleanupStack { nested in
                nested.defer { throw CleanupBoom(id: outer) }
                throw CleanupBoom(id: inner)
            }
        }
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                stack.defer { try raiseNested(4, 5) }
                stack.defer { try raiseNested(2, 3) }
                throw CleanupBoom(id: 1)
            }
        }
        let errors = (error as? CleanupErrors)?.errors ?? []
        #expect(errors.count == 3)
        #expect(errors.first as? CleanupBoom == CleanupBoom(id: 1))
        #expect(errors.dropFirst().first.map(cleanupBoomIDs) == [2, 3])
        #expect(errors.last.map(cleanupBoomIDs) == [4, 5])
        #expect(cleanupBoomIDs(error!) == [1, 2, 3, 4, 5])
    }

    @Test("test_body_exception_suppress: a suppressed body error is not thrown")
    func bodyExceptionSuppress() {
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                stack.push { _ in true }
                throw PyZeroDivisionError()
            }
        }
        #expect(error == nil)
    }

    @Test("test_exit_exception_chaining_suppress: an older callback suppresses newer callbacks' errors")
    func exitExceptionChainingSuppress() throws {
        try withCleanupStack { stack in
            stack.push { _ in true }
            stack.push { _ in throw PyZeroDivisionError() }
            stack.push { _ in throw PyKeyError() }
        }
    }

    @Test("test_excessive_nesting: 10,000 callbacks unwind without recursion")
    func excessiveNesting() throws {
        var ran = 0
        try withCleanupStack { stack in
            for _ in 0..<10_000 {
                stack.defer { ran += 1 }
            }
        }
        #expect(ran == 10_000)
    }

    @Test("test_dont_reraise_RuntimeError: a translating exit keeps the original and the translation")
    func dontReraiseRuntimeError() {
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                // second(): wraps whatever it sees in a new error.
                stack.push { error in
                    if let error { throw PyUniqueException(cause: error) }
                    return false
                }
                // first(): lets the error through unchanged.
                stack.push { _ in false }
                throw PyUniqueRuntimeError()
            }
        }
        // Python: PyUniqueException whose cause and context are the
        // PyUniqueRuntimeError, which has no context of its own. Here both are
        // kept, the body's first; no loop, no duplicate.
        let errors = (error as? CleanupErrors)?.errors ?? []
        #expect(errors.count == 2)
        #expect(errors.first is PyUniqueRuntimeError)
        #expect((errors.last as? PyUniqueException)?.cause is PyUniqueRuntimeError)
    }
}
