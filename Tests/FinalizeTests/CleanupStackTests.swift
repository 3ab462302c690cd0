// The rules of CleanupStack and withCleanupStack, one rule per test.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("CleanupStack: rules")
struct CleanupStackTests {
    // MARK: Order

    @Test("newest first, defer, push and enter interleaved")
    func newestFirst() throws {
        let log = CleanupLog<String>()
        let stack = CleanupStack()
        stack.defer { log.append("defer 1") }
        stack.push { _ in
            log.append("push 2")
            return false
        }
        stack.enter {
            "enter 3"
        } release: {
            log.append($0)
        }
        stack.defer { log.append("defer 4") }
        #expect(stack.count == 4)
        try stack.close()
        #expect(log.items == ["defer 4", "enter 3", "push 2", "defer 1"])
        #expect(stack.count == 0)
    }

    @Test("an entry added while unwinding runs next")
    func addedWhileUnwindingRunsNext() throws {
        let log = CleanupLog<String>()
        let stack = CleanupStack()
        stack.defer { log.append("oldest") }
        stack.defer {
            log.append("adds")
            stack.defer { log.append("added 1") }
            stack.push { _ in
                log.append("added 2")
                stack.defer { log.append("added by added") }
                return false
            }
        }
        try stack.close()
        #expect(log.items == ["adds", "added 2", "added by added", "added 1", "oldest"])
    }

    @Test("10,000 nested pushes (each callback pushes the next) unwind iteratively")
    func tenThousandNestedPushes() throws {
        var ran = 0
        let stack = CleanupStack()
        func chain(_ remaining: Int) {
            stack.push { _ in
                ran += 1
                if remaining > 1 { chain(remaining - 1) }
                return false
            }
        }
        chain(10_000)
        #expect(stack.count == 1)
        try stack.close()
        #expect(ran == 10_000)
        #expect(stack.count == 0)
    }

    @Test("10,000 throwing entries: every one runs and every error is kept")
    func tenThousandThrowing() {
        let stack = CleanupStack()
        for id in 0..<10_000 {
            stack.defer { throw CleanupBoom(id: id) }
        }
        let error = caughtCleanupError { try stack.close() }
        #expect(cleanupBoomIDs(error!) == Array((0..<10_000).reversed()))
    }

    // MARK: Errors

    @Test("every entry runs even when earlier ones throw")
    func everyEntryRuns() {
        let log = CleanupLog<Int>()
        let stack = CleanupStack()
        for id in 1...4 {
            stack.defer {
                log.append(id)
                if id.isMultiple(of: 2) { throw CleanupBoom(id: id) }
            }
        }
        let error = caughtCleanupError { try stack.close() }
        #expect(log.items == [4, 3, 2, 1])
        #expect(cleanupBoomIDs(error!) == [4, 2])
    }

    @Test("exactly one error is rethrown unchanged, with its own type")
    func oneErrorUnchanged() {
        #expect(throws: CleanupBoom(id: 7)) {
            try withCleanupStack { stack in
                stack.defer {}
                stack.defer { throw CleanupBoom(id: 7) }
                stack.defer {}
            }
        }
        #expect(throws: CleanupBoom.self) {
            try withCleanupStack { _ in throw CleanupBoom(id: 1) }
        }
        let stack = CleanupStack()
        stack.defer { throw CleanupBoom(id: 2) }
        #expect(throws: CleanupBoom(id: 2)) { try stack.close() }
    }

    @Test("several errors become CleanupErrors, the body's first, then in run order")
    func severalErrorsInOrder() {
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                stack.defer { throw CleanupBoom(id: 3) }
                stack.defer {}
                stack.defer { throw CleanupBoom(id: 2) }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(error is CleanupErrors)
        #expect(cleanupBoomIDs(error!) == [1, 2, 3])
        #expect(String(describing: error!).hasPrefix("CleanupErrors(3 errors: "))
    }

    @Test("a push callback sees the body's error, then the latest cleanup error")
    func pushSeesCurrentError() {
        let seen = CleanupLog<[Int]>()
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                stack.push { error in
                    seen.append(error.map(cleanupBoomIDs) ?? [])
                    return false
                }
                stack.defer { throw CleanupBoom(id: 2) }
                stack.push { error in
                    seen.append(error.map(cleanupBoomIDs) ?? [])
                    return false
                }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(seen.items == [[1], [2]])
        #expect(cleanupBoomIDs(error!) == [1, 2])
    }

    @Test("a push callback sees nil when nothing failed")
    func pushSeesNil() throws {
        var sawNil = false
        try withCleanupStack { stack in
            stack.push { error in
                sawNil = error == nil
                return false
            }
        }
        #expect(sawNil)
    }

    @Test("suppressing clears every error pending at that point, not later ones")
    func suppressClearsAllPending() {
        let seen = CleanupLog<[Int]>()
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                stack.defer { throw CleanupBoom(id: 4) }
                stack.push { error in
                    seen.append(error.map(cleanupBoomIDs) ?? [])
                    return false
                }
                stack.push { _ in true }
                stack.defer { throw CleanupBoom(id: 3) }
                stack.defer { throw CleanupBoom(id: 2) }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(seen.items == [[]])  // after the suppression: nil
        #expect(error as? CleanupBoom == CleanupBoom(id: 4))
    }

    @Test("returning true with nothing pending changes nothing")
    func suppressWithNothingPending() throws {
        try withCleanupStack { stack in
            stack.push { _ in true }
        }
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                stack.defer { throw CleanupBoom(id: 1) }
                stack.push { _ in true }
            }
        }
        #expect(error as? CleanupBoom == CleanupBoom(id: 1))
    }

    @Test("a throwing push callback adds its error and suppresses nothing")
    func throwingPushDoesNotSuppress() {
        let error = caughtCleanupError {
            try withCleanupStack { stack in
                stack.push { _ in throw CleanupBoom(id: 2) }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(cleanupBoomIDs(error!) == [1, 2])
    }

    @Test("defer entries cannot suppress: the body's error goes through them")
    func deferCannotSuppress() {
        var ran = false
        #expect(throws: CleanupBoom(id: 1)) {
            try withCleanupStack { stack in
                stack.defer { ran = true }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(ran)
    }

    // MARK: withCleanupStack forms

    @Test("the Void form: a suppressed body error ends the scope normally")
    func voidFormSuppressesBody() throws {
        var reached = false
        try withCleanupStack { stack in
            stack.push { $0 is CleanupBoom }
            reached = true
            throw CleanupBoom(id: 1)
        }
        #expect(reached)
    }

    @Test("the value form passes the value through after unwinding")
    func valueFormReturnsValue() throws {
        let log = CleanupLog<String>()
        let value = try withCleanupStack { stack in
            stack.defer { log.append("cleanup") }
            log.append("body")
            return 42
        }
        #expect(value == 42)
        #expect(log.items == ["body", "cleanup"])
    }

    @Test("the value form still throws a suppressed body error; push callbacks saw it")
    func valueFormRethrowsSuppressedBody() {
        var seen: (any Error)?
        #expect(throws: CleanupBoom(id: 1)) {
            _ = try withCleanupStack { stack -> Int in
                stack.push { error in
                    seen = error
                    return true
                }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(seen as? CleanupBoom == CleanupBoom(id: 1))

        // With a cleanup error after the suppression, both are thrown, the body's first.
        let error = caughtCleanupError {
            _ = try withCleanupStack { stack -> Int in
                stack.defer { throw CleanupBoom(id: 2) }
                stack.push { _ in true }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(cleanupBoomIDs(error!) == [1, 2])
    }

    @Test("the value form throws cleanup errors and drops the value")
    func valueFormCleanupError() {
        #expect(throws: CleanupBoom(id: 9)) {
            _ = try withCleanupStack { stack in
                stack.defer { throw CleanupBoom(id: 9) }
                return "value"
            }
        }
    }

    @Test("withCleanupStack nests: the inner scope unwinds before the outer body continues")
    func nestedScopes() throws {
        let log = CleanupLog<String>()
        try withCleanupStack { outer in
            outer.defer { log.append("outer cleanup") }
            try withCleanupStack { inner in
                inner.defer { log.append("inner cleanup") }
            }
            log.append("outer body")
        }
        #expect(log.items == ["inner cleanup", "outer body", "outer cleanup"])
    }

    // MARK: move, close, count

    @Test("move() transfers every entry without running any; the old stack is empty and reusable")
    func moveTransfers() throws {
        let log = CleanupLog<Int>()
        let stack = CleanupStack()
        stack.defer { log.append(1) }
        stack.defer { log.append(2) }
        let moved = stack.move()
        #expect(log.items.isEmpty)
        #expect(stack.count == 0)
        #expect(moved.count == 2)
        try stack.close()
        #expect(log.items.isEmpty)
        stack.defer { log.append(3) }
        try stack.close()
        try moved.close()
        #expect(log.items == [3, 2, 1])
    }

    @Test("close() is idempotent and the stack is reusable after it")
    func closeIdempotentReusable() throws {
        let log = CleanupLog<Int>()
        let stack = CleanupStack()
        stack.defer { log.append(1) }
        try stack.close()
        try stack.close()
        #expect(log.items == [1])
        stack.defer { throw CleanupBoom(id: 2) }
        #expect(throws: CleanupBoom(id: 2)) { try stack.close() }
        try stack.close()  // the error is not thrown again
        stack.defer { log.append(3) }
        try stack.close()
        #expect(log.items == [1, 3])
    }

    @Test("a stack reused across large and small unwindings keeps order every time")
    func reuseAcrossSizes() throws {
        let stack = CleanupStack()
        for size in [1_000, 3, 0, 70, 5_000, 1] {
            let log = CleanupLog<Int>()
            for id in 0..<size { stack.defer { log.append(id) } }
            let moved = size.isMultiple(of: 2) ? stack.move() : stack
            #expect(moved.count == size)
            try moved.close()
            #expect(log.items == Array((0..<size).reversed()))
            #expect(stack.count == 0)
        }
    }

    @Test("close() from a cleanup of the stack being unwound does nothing")
    func closeDuringUnwind() throws {
        let log = CleanupLog<Int>()
        let stack = CleanupStack()
        stack.defer { log.append(1) }
        stack.defer {
            try stack.close()
            log.append(2)
        }
        try stack.close()
        #expect(log.items == [2, 1])
    }

    @Test("enter pushes release only if acquire returned, and returns the resource")
    func enterOnlyOnSuccess() throws {
        let log = CleanupLog<String>()
        let stack = CleanupStack()
        let a = stack.enter {
            "a"
        } release: {
            log.append("release \($0)")
        }
        #expect(throws: CleanupBoom(id: 1)) {
            _ = try stack.enter { () throws -> String in
                throw CleanupBoom(id: 1)
            } release: {
                log.append("release \($0)")
            }
        }
        #expect(a == "a")
        #expect(stack.count == 1)
        try stack.close()
        #expect(log.items == ["release a"])
    }

    // MARK: deinit

    @Test("a stack deinitialized with entries runs them and reports each failure with its site")
    func deinitRunsAndReports() {
        let log = CleanupLog<String>()
        let failures = CleanupLog<FinalizerFailure>()
        var stack: CleanupStack? = CleanupStack()
        stack?.reportFailure = { failures.append($0) }
        stack?.defer { log.append("first") }
        let line = #line + 1
        stack?.defer {
            log.append("throws")
            throw CleanupBoom(id: 1)
        }
        stack?.push { error in
            log.append("saw \(error.map(cleanupBoomIDs) ?? [])")
            return false
        }
        stack = nil
        #expect(log.items == ["saw []", "throws", "first"])
        #expect(failures.items.count == 1)
        let failure = failures.items.first
        #expect(failure?.error as? CleanupBoom == CleanupBoom(id: 1))
        #expect(failure?.trigger == .scopeEnd)
        #expect(failure?.fileID == "FinalizeTests/CleanupStackTests.swift")
        #expect(failure?.line == line)
    }

    @Test("a stack deinitialized with entries and the shared handler runs them")
    func deinitRunsWithSharedHandler() {
        let log = CleanupLog<Int>()
        do {
            let stack = CleanupStack()
            stack.defer { log.append(1) }
            stack.defer { log.append(2) }
        }
        #expect(log.items == [2, 1])
    }

    @Test("suppressed failures of a deinitialized stack are not reported")
    func deinitSuppressionNotReported() {
        let failures = CleanupLog<FinalizerFailure>()
        var stack: CleanupStack? = CleanupStack()
        stack?.reportFailure = { failures.append($0) }
        stack?.defer { throw CleanupBoom(id: 2) }
        stack?.push { _ in true }
        stack?.defer { throw CleanupBoom(id: 1) }
        stack = nil
        #expect(failures.items.map { cleanupBoomIDs($0.error) } == [[2]])
    }
}
