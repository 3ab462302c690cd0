import Testing
import _FinalizeShims

@testable import Finalize

/// `CleanupStack.close()` runs `defer` entries on a fast path that reads
/// each entry as raw words, calls the closure through a C trampoline and
/// releases the closure's context itself (see `_CleanupEntry`). These tests
/// pin down what that path relies on and what it must still guarantee:
/// every closure, capture and thrown error is freed exactly once.
@Suite("CleanupStack unwinding path")
struct CleanupStackUnwindingPathTests {
    @Test func rawEntryLayoutMatchesTheEntry() {
        #expect(MemoryLayout<() throws -> Void>.size == 2 * MemoryLayout<UnsafeRawPointer>.size)
        #expect(MemoryLayout<(() throws -> Void)?>.size == MemoryLayout<() throws -> Void>.size)
        #expect(MemoryLayout<(() -> Void)?>.size == MemoryLayout<() throws -> Void>.size)
        #expect(MemoryLayout<(((any Error)?) throws -> Bool)?>.size == MemoryLayout<() throws -> Void>.size)
        #expect(MemoryLayout<_CleanupEntry>.size == MemoryLayout<_RawCleanupEntry>.size)
        #expect(MemoryLayout<_CleanupEntry>.stride == MemoryLayout<_RawCleanupEntry>.stride)
        #expect(MemoryLayout<_CleanupEntry>.alignment == MemoryLayout<_RawCleanupEntry>.alignment)
        // (A key path to a closure-typed property is not a plain offset, so
        // the closures' positions are checked by the next test.)
        #expect(MemoryLayout<_RawCleanupEntry>.offset(of: \.site) == 6 * MemoryLayout<UnsafeRawPointer>.size)
        #expect(MemoryLayout<_CleanupEntry>.offset(of: \.site) == MemoryLayout<_RawCleanupEntry>.offset(of: \.site))
    }

    @Test func rawReadingTellsTheThreeKindsApart() {
        var buffer = _EntryBuffer<_CleanupEntry>()
        let site = _RegistrationSite(fileID: #fileID, line: 7)
        buffer.append(.deferred({ throw TestError("x") }, site))
        #expect(buffer.lastRaw.function != nil)
        #expect(buffer.lastRaw.plainFunction == nil)
        #expect(buffer.lastRaw.exitFunction == nil)
        #expect(buffer.lastRaw.site.line == 7)
        buffer.append(.plain({}, site))
        #expect(buffer.lastRaw.function == nil)
        #expect(buffer.lastRaw.plainFunction != nil)
        #expect(buffer.lastRaw.exitFunction == nil)
        buffer.append(.exit({ _ in false }, site))
        #expect(buffer.lastRaw.function == nil)
        #expect(buffer.lastRaw.plainFunction == nil)
        #expect(buffer.lastRaw.exitFunction != nil)
    }

    @Test func rawReadingFindsTheContextOfACapturingClosure() {
        let tracker = LifetimeTracker()
        do {
            var buffer = _EntryBuffer<_CleanupEntry>()
            let site = _RegistrationSite(fileID: #fileID, line: 9)
            let captured = tracker.instance(1)
            buffer.append(.deferred({ _ = captured }, site))
            #expect(buffer.lastRaw.context != nil)
            #expect(buffer.lastRaw.plainContext == nil)
            buffer.append(.plain({ _ = captured }, site))
            #expect(buffer.lastRaw.context == nil)
            #expect(buffer.lastRaw.plainContext != nil)
            buffer.append(.exit({ _ in captured.payload > 0 }, site))
            #expect(buffer.lastRaw.exitContext != nil)
            buffer.append(.plain({}, site))
            #expect(buffer.lastRaw.plainContext == nil)
            // Taking the capturing plain entry out raw makes its context
            // word ours: the stack's unwinding calls it, then releases it.
            buffer.forgetLast()  // the non-capturing one: nothing to give back
            buffer.forgetLast()  // the exit entry, given back by hand below
            let exit = UnsafeRawPointer(buffer.base.unsafelyUnwrapped + 2).load(as: _RawCleanupEntry.self)
            swift_release(exit.exitContext)
            let unwinder = _CleanupUnwinder(bodyError: nil)
            let raw = buffer.lastRaw
            buffer.forgetLast()
            unwinder.run(raw: raw, plainFunction: raw.plainFunction.unsafelyUnwrapped)
            #expect(tracker.instances == 1)  // still captured by the `defer` entry
        }
        // The buffer's own deinit released the last entry.
        #expect(tracker.instances == 0)
    }

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
