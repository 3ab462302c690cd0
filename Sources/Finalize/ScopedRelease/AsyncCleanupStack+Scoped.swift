/// Runs `body` with a new ``AsyncCleanupStack`` and unwinds the stack when
/// `body` ends, however it ends: Python's `async with AsyncExitStack()`,
/// JavaScript's `await using stack = new AsyncDisposableStack()`.
///
/// Lifetime: the entries are awaited, one at a time, newest first, when
/// `body` returns or throws, before this function returns; also when the
/// task is cancelled.
///
/// Threading: `body` and the unwinding run on the caller's actor (the
/// `isolation` argument, passed implicitly); the stack must stay in this
/// task.
///
/// Errors, as in a `with` statement: `push` callbacks see the body's error
/// and may suppress it (the scope then ends normally); after unwinding, one
/// error is rethrown unchanged and several are thrown as ``CleanupErrors``,
/// the body's first.
///
/// ```swift
/// try await withAsyncCleanupStack { stack in
///     let session = try await stack.enter { try await Session.open() } release: { await $0.end() }
///     try await session.send(report)
/// }
/// ```
///
/// - Parameters:
///   - isolation: the caller's actor, passed implicitly.
///   - body: the scope; receives the stack to add cleanups to.
/// - Throws: what is left of the body's and the cleanups' errors, as above.
public func withAsyncCleanupStack(
    isolation: isolated (any Actor)? = #isolation,
    _ body: (AsyncCleanupStack) async throws -> Void
) async throws {
    let stack = AsyncCleanupStack()
    var unwinder: CleanupUnwinder
    do {
        try await body(stack)
        unwinder = CleanupUnwinder(bodyError: nil)
    } catch {
        unwinder = CleanupUnwinder(bodyError: error)
    }
    await stack.unwind(&unwinder)
    try unwinder.finish()
}

/// Runs `body` with a new ``AsyncCleanupStack``, unwinds the stack when
/// `body` ends, and passes the body's value through.
///
/// Lifetime, threading and cancellation as in the `Void` form. A body that
/// threw has no value to return, so its error is thrown after unwinding even
/// if a `push` callback suppressed it (alone, or first in a
/// ``CleanupErrors``); `push` callbacks still see it.
///
/// ```swift
/// let rows = try await withAsyncCleanupStack { stack in
///     let db = try await stack.enter { try await Database.connect() } release: { await $0.close() }
///     return try await db.query("SELECT 1")
/// }
/// ```
///
/// - Parameters:
///   - isolation: the caller's actor, passed implicitly.
///   - body: the scope; receives the stack and returns a value.
/// - Returns: the value `body` returned, if no error is left after unwinding.
public func withAsyncCleanupStack<T>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: (AsyncCleanupStack) async throws -> T
) async throws -> T {
    let stack = AsyncCleanupStack()
    let value: T
    do {
        value = try await body(stack)
    } catch {
        var unwinder = CleanupUnwinder(bodyError: error)
        await stack.unwind(&unwinder)
        try unwinder.finish(rethrowing: error)
        throw error  // not reached: finish always throws when given the body's error
    }
    var unwinder = CleanupUnwinder(bodyError: nil)
    await stack.unwind(&unwinder)
    try unwinder.finish()
    return value
}
