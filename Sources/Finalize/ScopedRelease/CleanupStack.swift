/// A stack of cleanups for one scope, unwound newest first: Python's
/// `ExitStack`, JavaScript's `DisposableStack`, for Swift.
///
/// Lifetime: a stack belongs to one scope. Unwind it deterministically with
/// ``close()``, or let `withCleanupStack` create and unwind one around a
/// body, like a `with` or `using` statement. A stack deinitialized with
/// entries still on it runs them then, on the releasing thread, and reports
/// each failure, so nothing is silently dropped (an adopted finalizer's to
/// its own registry's `onFailure`, any other to standard error, each with
/// its site); but *when* ARC deinitializes it is the
/// optimizer's choice, so do not rely on it. An entry that captures its own
/// stack keeps the stack alive forever; capture what the cleanup needs
/// instead.
///
/// Threading: not `Sendable`. Create, fill and unwind a stack on one thread
/// (or in one isolation domain); the compiler enforces this. Cleanups run
/// synchronously on the thread that unwinds. For `async` cleanups use
/// ``AsyncCleanupStack``.
///
/// ```swift
/// try withCleanupStack { stack in
///     let input = try stack.enter { try File.open(inPath) } release: { try $0.close() }
///     let output = try stack.enter { try File.create(outPath) } release: { try $0.close() }
///     stack.push { error in
///         if error != nil { unlink(outPath) }   // a partial output is worse than none
///         return false                           // do not suppress the error
///     }
///     try copy(from: input, to: output)
/// }   // output closed, input closed, newest first; every error kept
/// ```
///
/// Semantics:
/// - **Newest first.** Entries run in the reverse order they were added. An
///   entry added while the stack unwinds runs next. Unwinding is a loop, not
///   recursion: any number of entries (or entries adding entries) is fine.
/// - **Every entry runs**, even when earlier ones throw.
/// - **Errors.** A ``push(fileID:line:_:)`` callback receives the *current* error (the
///   body's, or the latest one a cleanup threw, or nil when there is none or
///   it was suppressed) and returns `true` to suppress every error pending at
///   that moment. `defer` entries cannot suppress. After unwinding,
///   nothing pending means a normal return, one error is rethrown unchanged,
///   and several are thrown together as ``CleanupErrors``, in the order they
///   happened.
/// - **Finalizers.** ``adopt(fileID:line:_:)`` ties a ``Finalizer`` to the scope: its
///   cleanup runs once, at scope end or at its owner's death, whichever
///   comes first.
/// - **Ownership.** ``move()`` hands every entry to a new stack without
///   running any; ``close()`` is idempotent and leaves the stack reusable.
public final class CleanupStack {
    // Exclusivity is unchecked at run time (the checks cost more than the
    // rest of `defer` + `close`): every access below is a single append,
    // pop, hand-over or flag write that never calls out while it lasts, so
    // no cleanup can overlap one.

    /// Oldest first; unwinding pops from the end.
    @usableFromInline @exclusivity(unchecked) var _entries = _EntryBuffer<_CleanupEntry>()
    /// True while ``close()`` (or a scope) unwinds, so a cleanup that calls
    /// `close()` on its own stack does not start a nested unwinding.
    @exclusivity(unchecked) var isUnwinding = false
    /// Where a stack deinitialized with entries reports failures; nil means
    /// the defaults of `CleanupUnwinder.report(to:)`. Tests set it to
    /// observe the reports.
    var reportFailure: ((FinalizerFailure) -> Void)?

    /// Creates an empty stack.
    ///
    /// Lifetime: unwind it with ``close()`` when the scope ends, or use
    /// `withCleanupStack`, which does that for you.
    public init() {}

    deinit {
        guard !_entries.isEmpty else { return }
        var unwinder = CleanupUnwinder(bodyError: nil)
        unwind(&unwinder)
        unwinder.report(to: reportFailure)
    }

    /// The number of entries waiting to run.
    public var count: Int {
        _entries.count
    }

    /// Adds a cleanup that runs when the stack unwinds: Go's `defer`,
    /// Python's `ExitStack.callback`, JavaScript's `DisposableStack.defer`.
    ///
    /// The cleanup runs once, newest entry first, on the unwinding thread.
    /// If it throws, its error is kept and the next entry still runs. It does
    /// not see the current error and cannot suppress it; use ``push(fileID:line:_:)`` for
    /// that.
    ///
    /// ```swift
    /// let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
    /// stack.defer { buffer.deallocate() }
    /// ```
    ///
    /// - Parameters:
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - body: the cleanup.
    @inlinable
    public func `defer`(
        fileID: StaticString = #fileID, line: Int = #line,
        _ body: consuming @escaping () throws -> Void
    ) {
        _entries.append(.deferred(body, _RegistrationSite(fileID: fileID, line: line)))
    }

    /// Adds a cleanup that cannot throw; otherwise the same as the throwing
    /// `defer` above, which Swift picks for a closure that may throw.
    ///
    /// The cleanup runs once, newest entry first, on the unwinding thread.
    /// This overload exists for speed. A closure literal written where a
    /// `() throws -> Void` is expected is compiled with the throwing calling
    /// convention even if it cannot throw, and must then keep the error
    /// register across every call it makes (a stack frame around each
    /// call); written where a `() -> Void` is expected, the same literal
    /// compiles to a plain tail call.
    ///
    /// ```swift
    /// let descriptor = open(path, O_RDONLY)
    /// stack.defer { close(descriptor) }   // non-throwing: this overload
    /// ```
    ///
    /// - Parameters:
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - body: the cleanup.
    @inlinable
    public func `defer`(
        fileID: StaticString = #fileID, line: Int = #line,
        _ body: consuming @escaping () -> Void
    ) {
        _entries.append(.plain(body, _RegistrationSite(fileID: fileID, line: line)))
    }

    /// Adds an exit callback that sees the current error and may suppress it:
    /// Python's `ExitStack.push` (an `__exit__` method).
    ///
    /// When the stack unwinds, the callback receives the current error: the
    /// scope body's, or the latest one an entry unwound before it threw, or
    /// nil if there is none or a later-pushed callback suppressed it. It
    /// returns `true` to suppress: every error pending at that moment is
    /// dropped, and entries unwound after it see nil. An error it throws
    /// becomes the current error (it does not suppress anything).
    ///
    /// ```swift
    /// stack.push { error in
    ///     if let error { log("rolling back after \(error)"); try transaction.rollback() }
    ///     else { try transaction.commit() }
    ///     return false
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - exit: the callback; returns whether to suppress.
    public func push(
        fileID: StaticString = #fileID, line: Int = #line,
        _ exit: consuming @escaping ((any Error)?) throws -> Bool
    ) {
        _entries.append(.exit(exit, _RegistrationSite(fileID: fileID, line: line)))
    }

    /// Acquires a resource and, only if that succeeds, adds its release:
    /// Python's `ExitStack.enter_context`, Java's try-with-resources.
    ///
    /// If `acquire` throws, nothing is added and its error propagates.
    /// Otherwise `release` runs with the resource when the stack unwinds,
    /// as a `defer` entry would (it cannot suppress errors).
    ///
    /// ```swift
    /// let fd = try stack.enter { try openOrThrow("/etc/hosts") } release: { close($0) }
    /// ```
    ///
    /// - Parameters:
    ///   - acquire: creates the resource, on the calling thread, now.
    ///   - release: releases it at unwind.
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    /// - Returns: the resource.
    /// - Throws: what `acquire` throws; nothing is added to the stack then.
    @discardableResult
    public func enter<R>(
        fileID: StaticString = #fileID, line: Int = #line,
        _ acquire: () throws -> R,
        release: @escaping (R) throws -> Void
    ) rethrows -> R {
        let resource = try acquire()
        _entries.append(.deferred({ try release(resource) }, _RegistrationSite(fileID: fileID, line: line)))
        return resource
    }

    /// Ties a finalizer to this scope: its cleanup runs exactly once, at the
    /// end of the scope or at its owner's death, whichever comes first.
    ///
    /// When the stack unwinds, the finalizer runs if it is still pending,
    /// with the trigger ``FinalizerTrigger/scopeEnd`` (its state becomes
    /// `.ran(.scopeEnd)`), and its error, if any, joins the stack's errors.
    /// If it already ran (its owner died first, or `runNow()`, a sweep or a
    /// shutdown ran it) or was detached, the entry does nothing. The stack
    /// holds the handle, which never keeps the owner alive.
    ///
    /// ```swift
    /// let file = TempFile(path: path)   // a FinalizerHost
    /// try withCleanupStack { stack in
    ///     stack.adopt(finalize(file, holding: fd) { close($0) })
    ///     try write(fd)
    /// }   // closed here, unless `file` died first; never twice
    /// ```
    ///
    /// - Parameters:
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - finalizer: the finalizer to run at scope end.
    /// - Returns: the same finalizer.
    @discardableResult
    public func adopt<R>(
        fileID: StaticString = #fileID, line: Int = #line,
        _ finalizer: Finalizer<R>
    ) -> Finalizer<R> {
        _entries.append(.adopting(finalizer, _RegistrationSite(fileID: fileID, line: line)))
        return finalizer
    }

    /// Moves every entry to a new stack without running any: Python's
    /// `ExitStack.pop_all`, JavaScript's `DisposableStack.move`.
    ///
    /// This stack is left empty and usable. The usual use: acquire several
    /// resources under a stack so a failure half-way releases the ones
    /// already acquired, then, once all succeeded, move the entries to the
    /// object that will own the resources.
    ///
    /// ```swift
    /// final class Pair {
    ///     let a: CInt
    ///     let b: CInt
    ///     private let cleanups: CleanupStack
    ///     init() throws {
    ///         let stack = CleanupStack()
    ///         do {
    ///             a = try stack.enter { try openOrThrow("a") } release: { close($0) }
    ///             b = try stack.enter { try openOrThrow("b") } release: { close($0) }
    ///         } catch {
    ///             // A failure half-way closes what was opened; a close
    ///             // failure travels with the original error.
    ///             do { try stack.close() } catch let closeError { throw CleanupErrors([error, closeError]) }
    ///             throw error
    ///         }
    ///         cleanups = stack.move()     // success: nothing closes now; the Pair owns the releases
    ///     }
    /// }
    /// ```
    ///
    /// - Returns: a new stack holding the entries, in the same order.
    public func move() -> CleanupStack {
        let moved = CleanupStack()
        moved._entries = _entries.takeAll()
        return moved
    }

    /// Unwinds the stack now: runs every entry, newest first, then throws
    /// what is left of the errors.
    ///
    /// The deterministic way to end a stack's scope (`withCleanupStack`
    /// calls it for you). Every entry runs even if some throw. Afterwards
    /// the stack is empty and may be used again; closing an empty stack, or
    /// calling `close()` from a cleanup of the stack being unwound, does
    /// nothing.
    ///
    /// - Throws: nothing if no error is pending after unwinding; the one
    ///   pending error unchanged; or ``CleanupErrors`` with all of them in the
    ///   order they happened.
    public func close() throws {
        var unwinder = CleanupUnwinder(bodyError: nil)
        unwind(&unwinder)
        try unwinder.finish()
    }

    /// Runs every entry, newest first, including those added meanwhile.
    /// Iterative: an entry that adds an entry does not deepen the call stack.
    @inline(__always)
    func unwind(_ unwinder: inout CleanupUnwinder) {
        guard !isUnwinding else { return }
        isUnwinding = true
        defer { isUnwinding = false }
        // An entry is off the stack before it runs, so one it pushes is
        // simply the next one here.
        while let entry = _entries.popLast() {
            unwinder.run(entry)
        }
        _entries.shrinkIfEmpty()
    }
}

/// A cleanup stack belongs to one scope; it is deliberately not `Sendable`.
@available(*, unavailable)
extension CleanupStack: Sendable {}
