// AsyncCleanupStack and withAsyncCleanupStack, one rule per test: one entry
// at a time, newest first, entries added while unwinding run next, the
// error rules, the value form, the caller's actor. (Cancellation and stacks
// dropped without close() have suites of their own; the ports of CPython's
// and test262's suites are in Ports/.)

import FinalizeTestSupport
import Synchronization
import Testing

@testable import Finalize

@Suite("AsyncCleanupStack: rules")
struct AsyncCleanupStackTests {
    @Test("mixed sync and async callbacks keep their order")
    func mixedSyncAsyncOrder() async throws {
        let log = CleanupLog<String>()
        try await withAsyncCleanupStack { stack in
            stack.defer { log.append("sync defer 1") }
            stack.defer {
                await cleanupHop()
                log.append("async defer 2")
            }
            stack.push { _ in
                log.append("sync push 3")
                return false
            }
            stack.push { _ in
                await cleanupHop()
                log.append("async push 4")
                return false
            }
            await stack.enter {
                "sync enter 5"
            } release: {
                log.append($0)
            }
            await stack.enter {
                await cleanupHop()
                return "async enter 6"
            } release: {
                await cleanupHop()
                log.append($0)
            }
        }
        #expect(
            log.items == [
                "async enter 6", "sync enter 5", "async push 4", "sync push 3", "async defer 2", "sync defer 1",
            ])
    }

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
                stack.defer {
                    await cleanupHop()
                    throw CleanupBoom(id: 7)
                }
            }
        }
        #expect(one as? CleanupBoom == CleanupBoom(id: 7))
        let several = await caughtCleanupErrorAsync {
            try await withAsyncCleanupStack { stack in
                stack.defer { throw CleanupBoom(id: 3) }
                stack.defer {
                    await cleanupHop()
                    throw CleanupBoom(id: 2)
                }
                throw CleanupBoom(id: 1)
            }
        }
        #expect(several is CleanupErrors)
        #expect(cleanupBoomIDs(several!) == [1, 2, 3])
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

    @Test("move(), count, and reuse after close")
    func moveCountReuse() async throws {
        let log = CleanupLog<Int>()
        let stack = AsyncCleanupStack()
        stack.defer { log.append(1) }
        stack.defer {
            await cleanupHop()
            log.append(2)
        }
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

    @MainActor
    @Test("from the main actor: cleanups touch main-actor state without hops of their own")
    func mainActorIsolation() async throws {
        let log = CleanupMainActorLog()
        try await withAsyncCleanupStack { stack in
            stack.defer { log.items.append("sync") }
            stack.defer {
                await cleanupHop()
                log.items.append("async")
            }
            await stack.enter {
                log.items.append("acquire")
            } release: {
                log.items.append("release")
            }
        }
        #expect(log.items == ["acquire", "release", "async", "sync"])
    }

    /// A cleanup that moves the rest of its stack out and drops it: the
    /// unwinding ends, the moved entries run once (sync ones at once, the
    /// async rest in the fallback task), and close() returns.
    @Test func moveDuringUnwindRunsTheRestOnce() async throws {
        let counts = Mutex<[String: Int]>([:])
        let (events, continuation) = AsyncStream.makeStream(of: Void.self)
        func ran(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }
        let stack = AsyncCleanupStack()
        stack.defer {
            ran("oldest")
            continuation.finish()
        }
        stack.defer { () async in
            await cleanupHop()
            ran("async")
        }
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
}

@MainActor
private final class CleanupMainActorLog {
    var items: [String] = []
}
