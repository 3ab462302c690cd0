// Ports of test262's test/built-ins/DisposableStack/prototype tests to
// CleanupStack (`dispose` is `close`, `defer`/`use`/`adopt` are `defer` and
// `enter`, `move` is `move`). Where JavaScript marks a stack "disposed" and
// rejects further use, a CleanupStack stays usable, and where JavaScript nests
// errors in SuppressedError, CleanupErrors keeps a flat list.

import Finalize
import FinalizeTestSupport
import Testing

private final class DisposableResource {
    let name: String
    init(_ name: String) { self.name = name }
}

@Suite("test262 DisposableStack")
struct Test262DisposableStackTests {
    @Test("dispose/disposes-resources-in-reverse-order")
    func disposesInReverseOrder() throws {
        let disposed = CleanupLog<DisposableResource>()
        let resource1 = DisposableResource("1"), resource2 = DisposableResource("2")
        let stack = CleanupStack()
        stack.enter {
            resource1
        } release: {
            disposed.append($0)
        }
        stack.enter {
            resource2
        } release: {
            disposed.append($0)
        }
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

    // test262 built-ins/DisposableStack/prototype/adopt/adds-value-onDispose.js
    @Test func adopt_adds_value_onDispose() throws {
        let stack = CleanupStack()
        let resource = PeerDisposable("resource")
        var wasDisposed = false
        var disposedValue: PeerDisposable?
        stack.enter {
            resource
        } release: { value in
            wasDisposed = true
            disposedValue = value
        }
        #expect(!wasDisposed)
        try stack.close()
        #expect(wasDisposed)
        let same = disposedValue === resource
        #expect(same)
    }

    // test262 built-ins/DisposableStack/prototype/adopt/allows-any-value.js
    @Test func adopt_allows_any_value() throws {
        let stack = CleanupStack()
        let released = CleanupLog<String>()
        let object = PeerDisposable("object")
        stack.enter {
            Int?.none
        } release: {
            released.append("null \($0 == nil)")
        }
        stack.enter {
            ()
        } release: { _ in
            released.append("undefined")
        }
        stack.enter {
            object
        } release: {
            released.append("object \($0.name)")
        }
        stack.enter {
            { 1 }
        } release: {
            released.append("function \($0())")
        }
        stack.enter {
            true
        } release: {
            released.append("\($0)")
        }
        stack.enter {
            false
        } release: {
            released.append("\($0)")
        }
        stack.enter {
            1
        } release: {
            released.append("number \($0)")
        }
        stack.enter {
            "object"
        } release: {
            released.append("string \($0)")
        }
        #expect(stack.count == 8)
        try stack.close()
        #expect(
            released.items == [
                "string object", "number 1", "false", "true", "function 1", "object object", "undefined", "null true",
            ])
    }

    // test262 built-ins/DisposableStack/prototype/adopt/puts-value-onDispose-on-top-of-stack.js
    @Test func adopt_puts_value_onDispose_on_top_of_stack() throws {
        let stack = CleanupStack()
        let disposed = CleanupLog<String>()
        let resource1 = PeerDisposable("1"), resource2 = PeerDisposable("2")
        stack.enter {
            resource1
        } release: {
            disposed.append($0.name)
        }
        stack.enter {
            resource2
        } release: {
            disposed.append($0.name)
        }
        try stack.close()
        #expect(disposed.items == ["2", "1"])
    }

    // test262 built-ins/DisposableStack/prototype/adopt/returns-value.js
    @Test func adopt_returns_value() throws {
        let stack = CleanupStack()
        let resource = PeerDisposable("resource")
        let returned = stack.enter {
            resource
        } release: { _ in
        }
        let same = returned === resource
        #expect(same)
        let none = stack.enter {
            Int?.none
        } release: { _ in
        }
        #expect(none == nil)
        try stack.close()
    }

    // test262 built-ins/DisposableStack/prototype/defer/adds-onDispose.js
    @Test func defer_adds_onDispose() throws {
        let stack = CleanupStack()
        var deferCalled = false
        stack.defer { deferCalled = true }
        #expect(!deferCalled)
        try stack.close()
        #expect(deferCalled)
    }

    // test262 built-ins/DisposableStack/prototype/dispose/sets-state-to-disposed.js
    @Test func dispose_sets_state_to_disposed() throws {
        // No "disposed" state in a CleanupStack: after close() it is empty
        // (and, unlike JavaScript's, reusable).
        let stack = CleanupStack()
        stack.defer {}
        #expect(stack.count == 1)
        try stack.close()
        #expect(stack.count == 0)
    }

    // test262 built-ins/DisposableStack/prototype/move/returns-new-disposablestack-that-contains-moved-resources.js
    @Test func move_returns_new_disposablestack_that_contains_moved_resources() throws {
        let stack1 = CleanupStack()
        let disposed = CleanupLog<String>()
        let resource = PeerDisposable("resource")
        stack1.enter {
            resource
        } release: {
            disposed.append($0.name)
        }
        let stack2 = stack1.move()
        #expect(disposed.items.isEmpty)
        try stack1.close()
        #expect(disposed.items.isEmpty)
        try stack2.close()
        #expect(disposed.items == ["resource"])
    }

    // test262 built-ins/DisposableStack/prototype/use/adds-value.js
    @Test func use_adds_value() throws {
        let stack = CleanupStack()
        let resource = PeerDisposable("resource")
        stack.enter {
            resource
        } release: {
            $0.dispose()
        }
        #expect(!resource.disposed)
        try stack.close()
        #expect(resource.disposed)
    }

    // test262 built-ins/DisposableStack/prototype/use/allows-null-value.js
    @Test func use_allows_null_value() throws {
        let stack = CleanupStack()
        let resource: PeerDisposable? = nil
        let returned = stack.enter {
            resource
        } release: {
            $0?.dispose()
        }
        #expect(returned == nil)
        try stack.close()
    }

    // test262 built-ins/DisposableStack/prototype/use/allows-undefined-value.js
    @Test func use_allows_undefined_value() throws {
        let stack = CleanupStack()
        var released = 0
        stack.enter {
            ()
        } release: { _ in
            released += 1
        }
        try stack.close()
        #expect(released == 1)
    }

    // test262 built-ins/DisposableStack/prototype/use/gets-value-Symbol.dispose-property-once.js
    @Test func use_gets_value_Symbol_dispose_property_once() throws {
        // What to release is determined once, when the resource is added;
        // the acquisition is not repeated at dispose time.
        let stack = CleanupStack()
        var acquireCount = 0
        let resource = PeerDisposable("resource")
        stack.enter(
            { () -> PeerDisposable in
                acquireCount += 1
                return resource
            }, release: { $0.dispose() })
        #expect(acquireCount == 1)
        try stack.close()
        #expect(acquireCount == 1)
        #expect(resource.disposed)
    }

    // test262 built-ins/DisposableStack/prototype/use/puts-value-on-top-of-stack.js
    @Test func use_puts_value_on_top_of_stack() throws {
        let stack = CleanupStack()
        let disposed = CleanupLog<String>()
        let resource1 = PeerDisposable("1", log: disposed), resource2 = PeerDisposable("2", log: disposed)
        stack.enter {
            resource1
        } release: {
            $0.dispose()
        }
        stack.enter {
            resource2
        } release: {
            $0.dispose()
        }
        try stack.close()
        #expect(disposed.items == ["2", "1"])
    }

    // test262 built-ins/DisposableStack/prototype/use/returns-value.js
    @Test func use_returns_value() throws {
        let stack = CleanupStack()
        let resource = PeerDisposable("resource")
        let returned = stack.enter {
            resource
        } release: {
            $0.dispose()
        }
        let same = returned === resource
        #expect(same)
        try stack.close()
    }
}

/// A JavaScript disposable: `[Symbol.dispose]()` is `dispose()`.
final class PeerDisposable {
    let name: String
    let log: CleanupLog<String>?
    private(set) var disposed = false

    init(_ name: String, log: CleanupLog<String>? = nil) {
        self.name = name
        self.log = log
    }

    func dispose() {
        disposed = true
        log?.append(name)
    }

    /// `[Symbol.asyncDispose]()`: suspends first, then disposes.
    func disposeAsync() async {
        await cleanupHop()
        dispose()
    }
}
