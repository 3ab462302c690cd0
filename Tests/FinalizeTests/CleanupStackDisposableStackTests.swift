import Testing
import Finalize

// Ports of test262's test/built-ins/DisposableStack/prototype tests to
// CleanupStack (`dispose` is `close`, `defer`/`use`/`adopt` are `defer` and
// `enter`, `move` is `move`). Where JavaScript marks a stack "disposed" and
// rejects further use, a CleanupStack stays usable, and where JavaScript nests
// errors in SuppressedError, CleanupErrors keeps a flat list.

private final class DisposableResource {
    let name: String
    init(_ name: String) { self.name = name }
}

@Suite("CleanupStack: test262 DisposableStack")
struct CleanupStackDisposableStackTests {
    @Test("dispose/disposes-resources-in-reverse-order")
    func disposesInReverseOrder() throws {
        let disposed = CleanupLog<DisposableResource>()
        let resource1 = DisposableResource("1"), resource2 = DisposableResource("2")
        let stack = CleanupStack()
        stack.enter { resource1 } release: { disposed.append($0) }
        stack.enter { resource2 } release: { disposed.append($0) }
        try stack.close()
        #expect(disposed.items.count == 2)
        #expect(disposed.items.first === resource2)
        #expect(disposed.items.last === resource1)
    }

    @Test("defer/puts-value-on-top-of-stack")
    func deferPutsOnTop() throws {
        let disposed = CleanupLog<Int>()
        let stack = CleanupStack()
        stack.defer { disposed.append(1) }
        stack.defer { disposed.append(2) }
        try stack.close()
        #expect(disposed.items == [2, 1])
    }

    @Test("dispose/does-not-reinvoke-disposers-if-already-disposed")
    func doesNotReinvokeDisposers() throws {
        var count = 0
        let stack = CleanupStack()
        stack.defer { count += 1 }
        try stack.close()
        try stack.close()
        #expect(count == 1)
    }

    @Test("dispose/does-not-throw-if-already-disposed")
    func doesNotThrowIfAlreadyDisposed() throws {
        let stack = CleanupStack()
        stack.defer { throw CleanupBoom(id: 1) }
        #expect(throws: CleanupBoom(id: 1)) { try stack.close() }
        try stack.close()
    }

    @Test("dispose/throws-error-as-is-if-only-one-error-during-disposal")
    func throwsErrorAsIs() {
        let stack = CleanupStack()
        stack.defer { throw CleanupBoom(id: 1) }
        let error = caughtCleanupError { try stack.close() }
        #expect(error as? CleanupBoom == CleanupBoom(id: 1))
        #expect(!(error is CleanupErrors))
    }

    @Test("dispose/throws-suppressederror-if-multiple-errors-during-disposal")
    func multipleErrorsAggregated() {
        let stack = CleanupStack()
        stack.defer { throw CleanupBoom(id: 1) }
        stack.defer { throw CleanupBoom(id: 2) }
        stack.defer { throw CleanupBoom(id: 3) }
        let error = caughtCleanupError { try stack.close() }
        // JavaScript: SuppressedError(error: error1, suppressed: SuppressedError(error2, error3)),
        // the newest-thrown outermost. Here: the order they were thrown.
        let errors = (error as? CleanupErrors)?.errors.compactMap { $0 as? CleanupBoom }
        #expect(errors == [CleanupBoom(id: 3), CleanupBoom(id: 2), CleanupBoom(id: 1)])
    }

    @Test("dispose runs a resource added during disposal next")
    func addedDuringDisposalRunsNext() throws {
        // JavaScript rejects additions to a stack being disposed (ReferenceError);
        // a CleanupStack runs them next, so a cleanup can schedule follow-up work.
        let disposed = CleanupLog<String>()
        let stack = CleanupStack()
        stack.defer { disposed.append("first added") }
        stack.defer {
            disposed.append("second added")
            stack.defer { disposed.append("added during disposal") }
        }
        try stack.close()
        #expect(disposed.items == ["second added", "added during disposal", "first added"])
        #expect(stack.count == 0)
    }

    @Test("move/does-not-dispose-resources")
    func moveDoesNotDispose() throws {
        var disposed = false
        let stack = CleanupStack()
        stack.defer { disposed = true }
        let moved = stack.move()
        #expect(!disposed)
        try moved.close()
        #expect(disposed)
    }

    @Test("move/returns-new-disposablestack-that-is-still-pending")
    func moveReturnsPendingStack() throws {
        var disposed = 0
        let stack1 = CleanupStack()
        stack1.defer { disposed += 1 }
        let stack2 = stack1.move()
        #expect(stack2 !== stack1)
        #expect(stack2.count == 1)
        try stack2.close()
        #expect(disposed == 1)
    }

    @Test("move/sets-original-stack-to-disposed: the original is empty (and, unlike JS, reusable)")
    func moveEmptiesOriginal() throws {
        var disposed = 0
        let stack1 = CleanupStack()
        stack1.defer { disposed += 1 }
        let stack2 = stack1.move()
        #expect(stack1.count == 0)
        try stack1.close()
        #expect(disposed == 0)
        stack1.defer { disposed += 10 }
        try stack1.close()
        try stack2.close()
        #expect(disposed == 11)
    }

    @Test("move: the moved entries keep their order")
    func moveKeepsOrder() throws {
        let disposed = CleanupLog<Int>()
        let stack = CleanupStack()
        for id in 1...3 { stack.defer { disposed.append(id) } }
        try stack.move().close()
        #expect(disposed.items == [3, 2, 1])
    }

    @Test("using: a stack used as a scope disposes at its end (withCleanupStack)")
    func usingStatement() throws {
        let disposed = CleanupLog<String>()
        try withCleanupStack { stack in
            stack.defer { disposed.append("resource") }
            #expect(disposed.items.isEmpty)
        }
        #expect(disposed.items == ["resource"])
    }
}
