/// Runs `body` with a new ``CleanupStack`` and unwinds the stack when `body`
/// ends, however it ends: Python's `with ExitStack() as stack:`, JavaScript's
/// `using stack = new DisposableStack()`.
///
/// Lifetime: the stack's entries run when `body` returns or throws, before
/// this function returns: deterministic, unlike a stack left to ARC. Entries
/// still run newest first if `body` throws.
///
/// Threading: everything runs on the calling thread; the stack must not
/// escape `body` to another thread (it is not `Sendable`).
///
/// Errors, as in a `with` statement:
/// - `push` callbacks see the body's error (or the latest cleanup error) and
///   may suppress it by returning `true`; a suppressed body error ends the
///   scope normally.
/// - After unwinding: nothing pending returns normally; exactly one error is
///   rethrown unchanged (the body's own error stays catchable by its type);
///   several are thrown as ``CleanupErrors``, the body's first.
///
/// ```swift
/// try withCleanupStack { stack in
///     let db = try stack.enter { try Database.open(path) } release: { try $0.close() }
///     stack.push { error in error is RetryableError }   // swallow retryable failures
///     try db.migrate()
/// }
/// ```
///
/// - Parameter body: the scope; receives the stack to add cleanups to.
/// - Throws: what is left of the body's and the cleanups' errors, as above.
public func withCleanupStack(_ body: (CleanupStack) throws -> Void) throws {
    let stack = CleanupStack()
    var unwinder: CleanupUnwinder
    do {
        try body(stack)
        unwinder = CleanupUnwinder(bodyError: nil)
    } catch {
        unwinder = CleanupUnwinder(bodyError: error)
    }
    stack.unwind(&unwinder)
    try unwinder.finish()
}

/// Runs `body` with a new ``CleanupStack``, unwinds the stack when `body`
/// ends, and passes the body's value through.
///
/// Lifetime and threading as in the `Void` form: the entries run, newest
/// first, on the calling thread, before this function returns.
///
/// Errors: `push` callbacks see the body's error, as in the `Void` form, but
/// a body that threw has no value to return, so its error is thrown after
/// unwinding even if a callback suppressed it (alone, or first in a
/// ``CleanupErrors`` with the cleanups' errors). When `body` returns, the
/// cleanups' errors are thrown as in ``CleanupStack/close()`` and the value
/// is discarded.
///
/// ```swift
/// let config = try withCleanupStack { stack in
///     let fd = try stack.enter { try openOrThrow(path) } release: { close($0) }
///     return try parseConfig(readAll(fd))
/// }
/// ```
///
/// A single-expression body whose expression has a value
/// (`{ stack in stack.adopt(f) }`) selects this overload and the result is
/// then unused; add `return` or `_ =` to stay in the `Void` form.
///
/// - Parameter body: the scope; receives the stack and returns a value.
/// - Returns: the value `body` returned, if no error is left after unwinding.
public func withCleanupStack<T>(_ body: (CleanupStack) throws -> T) throws -> T {
    let stack = CleanupStack()
    let value: T
    do {
        value = try body(stack)
    } catch {
        var unwinder = CleanupUnwinder(bodyError: error)
        stack.unwind(&unwinder)
        try unwinder.finish(rethrowing: error)
        throw error  // not reached: finish always throws when given the body's error
    }
    var unwinder = CleanupUnwinder(bodyError: nil)
    stack.unwind(&unwinder)
    try unwinder.finish()
    return value
}
