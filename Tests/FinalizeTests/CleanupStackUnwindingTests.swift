import Finalize
import FinalizeTestSupport
import Testing

/// How `CleanupStack.close()` unwinds its three kinds of entry (throwing and
/// non-throwing `defer`, `push`): newest first, entries pushed meanwhile
/// next, and every closure, capture and thrown error freed exactly once.
@Suite("CleanupStack unwinding")
struct CleanupStackUnwindingTests {
    @Test func allThreeKindsRunNewestFirstOnOneStack() throws {
        var order: [String] = []
        let stack = CleanupStack()
        stack.defer { order.append("plain 1") }
        stack.push { error in
            order.append("exit sees \(error.map { "\($0)" } ?? "nil")")
            return true
        }
        stack.defer { () throws in
            order.append("throwing")
            throw TestError("t")
        }
        stack.defer { order.append("plain 2") }
        try stack.close()
        #expect(order == ["plain 2", "throwing", "exit sees TestError(t)", "plain 1"])
    }

    @Test func capturesOfRunEntriesAreFreedOnce() throws {
        let tracker = LifetimeTracker()
        let ran = Counter()
        do {
            let stack = CleanupStack()
            for index in 0..<100 {
                let captured = tracker.instance(index)
                stack.defer { if captured.payload >= 0 { ran.increment() } }
            }
            // A closure the caller keeps: the stack's copy is its own.
            let kept = tracker.instance(-1)
            let shared: () throws -> Void = { _ = kept }
            stack.defer(shared)
            stack.defer(shared)
            #expect(tracker.instances == 101)
            try stack.close()
            #expect(ran.value == 100)
            // Only the caller's `shared` (and `kept`) still hold `kept`.
            #expect(tracker.instances == 1)
            try shared()
        }
        #expect(tracker.instances == 0)
    }

    @Test func thrownErrorsAndTheirPayloadsAreFreedOnce() {
        let tracker = LifetimeTracker()
        do {
            let stack = CleanupStack()
            let payload = tracker.instance(1)
            stack.defer { throw TrackedError(payload: payload) }
            stack.defer { throw TestError("plain") }
            #expect(throws: CleanupErrors.self) { try stack.close() }
            stack.defer { throw TrackedError(payload: tracker.instance(2)) }
            do {
                try stack.close()
                Issue.record("close() did not throw")
            } catch let error as TrackedError {
                #expect(error.payload.payload == 2)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        #expect(tracker.instances == 0)
    }

    @Test func manyNonCapturingEntriesAllRun() throws {
        let stack = CleanupStack()
        for _ in 0..<1_000 { stack.defer(bumpGlobalUnwindingCounter) }
        let before = unwindingCounter.value
        try stack.close()
        #expect(unwindingCounter.value - before >= 1_000)
    }

    @Test func entriesPushedWhileUnwindingReuseTheFreedSlot() throws {
        let tracker = LifetimeTracker()
        var order: [Int] = []
        do {
            let stack = CleanupStack()
            let first = tracker.instance(1)
            stack.defer { order.append(first.payload) }
            let second = tracker.instance(2)
            stack.defer {
                order.append(second.payload)
                // Lands in the slot the running entry just left.
                let third = tracker.instance(3)
                stack.defer { order.append(third.payload) }
            }
            try stack.close()
        }
        #expect(order == [2, 3, 1])
        #expect(tracker.instances == 0)
    }
}

/// An error that keeps an object alive, to check errors are freed.
private struct TrackedError: Error {
    let payload: LifetimeTracked
}

private let unwindingCounter = Counter()

private func bumpGlobalUnwindingCounter() {
    unwindingCounter.increment()
}
