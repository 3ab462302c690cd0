// Ports of test262's `test/built-ins/AsyncDisposableStack/prototype/**` to
// `AsyncCleanupStack`: `disposeAsync` is `close()`, `defer`/`use`/`adopt`
// are `defer` and `enter`, `move` is `move`. Where JavaScript marks a stack
// "disposed" and rejects further use, a stack stays usable; where it nests
// errors in SuppressedError, `CleanupErrors` keeps a flat list.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("test262 AsyncDisposableStack")
struct Test262AsyncDisposableStackTests {
    // test262 built-ins/AsyncDisposableStack/prototype/adopt/adds-value-onDisposeAsync.js
    @Test func async_adopt_adds_value_onDisposeAsync() async throws {
        let stack = AsyncCleanupStack()
        let resource = PeerDisposable("resource")
        let disposed = CleanupLog<PeerDisposable>()
        await stack.enter {
            resource
        } release: { value in
            await cleanupHop()
            disposed.append(value)
        }
        #expect(disposed.items.isEmpty)
        try await stack.close()
        #expect(disposed.items.count == 1)
        let same = disposed.items.first === resource
        #expect(same)
    }

    // test262 built-ins/AsyncDisposableStack/prototype/adopt/puts-value-onDisposeAsync-on-top-of-stack.js
    @Test func async_adopt_puts_value_onDisposeAsync_on_top_of_stack() async throws {
        let stack = AsyncCleanupStack()
        let disposed = CleanupLog<String>()
        let resource1 = PeerDisposable("1"), resource2 = PeerDisposable("2")
        await stack.enter {
            resource1
        } release: {
            await cleanupHop()
            disposed.append($0.name)
        }
        await stack.enter {
            resource2
        } release: {
            await cleanupHop()
            disposed.append($0.name)
        }
        try await stack.close()
        #expect(disposed.items == ["2", "1"])
    }

    // test262 built-ins/AsyncDisposableStack/prototype/defer/adds-onDisposeAsync.js
    @Test func async_defer_adds_onDisposeAsync() async throws {
        let stack = AsyncCleanupStack()
        let called = CleanupLog<Bool>()
        stack.defer { () async in
            await cleanupHop()
            called.append(true)
        }
        #expect(called.items.isEmpty)
        try await stack.close()
        #expect(called.items == [true])
    }

    // test262 built-ins/AsyncDisposableStack/prototype/defer/puts-onDisposeAsync-on-top-of-stack.js
    @Test func async_defer_puts_onDisposeAsync_on_top_of_stack() async throws {
        let stack = AsyncCleanupStack()
        let disposed = CleanupLog<Int>()
        stack.defer { () async in
            await cleanupHop()
            disposed.append(1)
        }
        stack.defer { () async in
            await cleanupHop()
            disposed.append(2)
        }
        try await stack.close()
        #expect(disposed.items == [2, 1])
    }

    // test262 built-ins/AsyncDisposableStack/prototype/use/adds-async-disposable-value.js
    @Test func async_use_adds_async_disposable_value() async throws {
        let stack = AsyncCleanupStack()
        let resource = PeerDisposable("resource")
        await stack.enter {
            resource
        } release: {
            await $0.disposeAsync()
        }
        #expect(!resource.disposed)
        try await stack.close()
        #expect(resource.disposed)
    }

    // test262 built-ins/AsyncDisposableStack/prototype/use/adds-sync-disposable-value.js
    @Test func async_use_adds_sync_disposable_value() async throws {
        let stack = AsyncCleanupStack()
        let resource = PeerDisposable("resource")
        await stack.enter {
            resource
        } release: {
            $0.dispose()
        }
        #expect(!resource.disposed)
        try await stack.close()
        #expect(resource.disposed)
    }

    // test262 built-ins/AsyncDisposableStack/prototype/use/puts-value-on-top-of-stack.js
    @Test func async_use_puts_value_on_top_of_stack() async throws {
        let stack = AsyncCleanupStack()
        let disposed = CleanupLog<String>()
        let resource1 = PeerDisposable("1", log: disposed), resource2 = PeerDisposable("2", log: disposed)
        await stack.enter {
            resource1
        } release: {
            await $0.disposeAsync()
        }
        await stack.enter {
            resource2
        } release: {
            $0.dispose()
        }
        try await stack.close()
        #expect(disposed.items == ["2", "1"])
    }

    // test262 built-ins/AsyncDisposableStack/prototype/move/returns-new-asyncdisposablestack-that-contains-moved-resources.js
    @Test func async_move_returns_new_asyncdisposablestack_that_contains_moved_resources() async throws {
        let stack1 = AsyncCleanupStack()
        let disposed = CleanupLog<String>()
        let resource = PeerDisposable("resource", log: disposed)
        await stack1.enter {
            resource
        } release: {
            await $0.disposeAsync()
        }
        let stack2 = stack1.move()
        let notSame = stack2 !== stack1  // async-disposable-stack-move-not-same-objects.js
        #expect(notSame)
        try await stack1.close()
        #expect(disposed.items.isEmpty)
        try await stack2.close()
        #expect(disposed.items == ["resource"])
    }

    @Test("test262 AsyncDisposableStack disposeAsync: reverse order, multiple errors, already disposed")
    func disposeAsyncPorts() async throws {
        // disposes-resources-in-reverse-order
        let disposed = CleanupLog<Int>()
        let stack = AsyncCleanupStack()
        await stack.enter {
            1
        } release: {
            await cleanupHop()
            disposed.append($0)
        }
        await stack.enter {
            2
        } release: {
            await cleanupHop()
            disposed.append($0)
        }
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
}
