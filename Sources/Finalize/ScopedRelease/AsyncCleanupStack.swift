/// A stack of synchronous and asynchronous cleanups for one scope in one
/// task, awaited one at a time, newest first: Python's `AsyncExitStack`,
/// JavaScript's `AsyncDisposableStack`.
///
/// Lifetime: a stack belongs to one scope of one task. Unwind it with
/// ``close(isolation:)`` or let `withAsyncCleanupStack` do it. A stack
/// deinitialized with entries still on it cannot await there: it runs its
/// newest synchronous entries at once and the rest (from the newest `async`
/// entry down, in order) in a new task, as one unwinding, and at its end
/// reports every failure (an adopted finalizer's to its own registry's
/// `onFailure`, any other to standard error, each with its site). That
/// fallback is late, runs in a task on the actor the stack was created or
/// filled on (or, once that actor is gone or for a stack only ever used in
/// nonisolated code, on the global executor), and races with whatever the
/// cleanups touch: always close the stack.
///
/// Threading: not `Sendable`; use it from one task (one isolation domain).
/// ``close(isolation:)``, ``enter(isolation:fileID:line:_:release:)`` and
/// `withAsyncCleanupStack` run on the caller's actor; each
/// cleanup runs in its own isolation (an `@MainActor` cleanup hops to the
/// main actor). Entries are awaited one at a time, never concurrently.
///
/// Cancellation: unwinding does not check for it. A cancelled task still runs
/// every entry; a cleanup that throws `CancellationError` (because it awaited
/// something cancellable) is recorded like any other error, and the
/// remaining entries still run.
///
/// ```swift
/// try await withAsyncCleanupStack { stack in
///     let conn = try await stack.enter { try await pool.connect() } release: { await $0.close() }
///     stack.defer { metrics.count("done") }             // sync and async entries mix freely
///     stack.push { error in await conn.rollbackIfNeeded(error); return false }
///     try await conn.run(query)
/// }
/// ```
///
/// Members and error rules are those of ``CleanupStack``: newest first,
/// entries added while unwinding run next, iterative unwinding, every entry
/// runs, `push` callbacks see and may suppress the current error, one error
/// is rethrown unchanged and several become ``CleanupErrors``.
public final class AsyncCleanupStack {
    enum Entry: ~Copyable {
        case sync(_CleanupEntry)
        case deferred(() async throws -> Void, _RegistrationSite)
        case exit(((any Error)?) async throws -> Bool, _RegistrationSite)

        var isSync: Bool {
            switch self {
            case .sync: true
            default: false
            }
        }
    }

    // Exclusivity unchecked at run time, as in CleanupStack: each access is
    // one append, pop, hand-over or flag write that never calls out meanwhile.

    /// Oldest first; unwinding pops from the end.
    @exclusivity(unchecked) var entries = _EntryBuffer<Entry>()
    /// True while the stack unwinds; a nested `close()` does nothing.
    @exclusivity(unchecked) var isUnwinding = false
    /// Where a stack deinitialized with entries reports failures; nil means
    /// the defaults of `CleanupUnwinder.report(to:)`. Tests set it to
    /// observe the reports.
    var reportFailure: (@Sendable (FinalizerFailure) -> Void)?

    /// The actor the stack was created or last filled on, where the fallback
    /// of a stack deinitialized with entries runs them. Weak: an actor that
    /// owns a stack made on itself must not be kept alive by it (once the
    /// actor is gone, nothing else can touch its state either).
    private weak var lastIsolation: (any Actor)?
    /// The identity of `lastIsolation`, so that recording the same actor on
    /// every entry costs a comparison, not a weak store.
    @exclusivity(unchecked) private var lastIsolationID: ObjectIdentifier?

    /// Creates an empty stack.
    ///
    /// Lifetime: unwind it with ``close(isolation:)`` when the scope ends, or
    /// use `withAsyncCleanupStack`. The stack remembers the actor it is
    /// created or filled on (weakly): a stack deinitialized with async
    /// entries left runs them in a task on that actor.
    ///
    /// - Parameter isolation: the actor a dropped stack's leftover entries
    ///   run on; the caller's actor by default (nil: the global executor).
    public init(isolation: (any Actor)? = #isolation) {
        note(isolation)
    }

    /// Records the actor entries are being added on. A stack is not
    /// `Sendable`, so all of its entries come from one isolation domain (a
    /// stack made in nonisolated code and then filled on an actor records
    /// that actor); nil (nonisolated code) never replaces an actor.
    @inline(__always)
    private func note(_ isolation: (any Actor)?) {
        guard let isolation else { return }
        let id = ObjectIdentifier(isolation)
        if id != lastIsolationID {
            lastIsolation = isolation
            lastIsolationID = id
        }
    }

    deinit {
        guard !entries.isEmpty else { return }
        // Run the newest synchronous entries here, as CleanupStack would.
        var unwinder = CleanupUnwinder(bodyError: nil)
        while entries.withLast({ $0.isSync }) == true, case .sync(let entry)? = entries.popLast() {
            unwinder.run(entry)
        }
        guard !entries.isEmpty else {
            unwinder.report(to: reportFailure)
            return
        }
        // The rest needs awaiting, which a deinit cannot do. Nothing else
        // can reach these closures any more, so hand them to a task, with
        // the errors so far: it is one unwinding (a `push` callback there
        // sees and may suppress them), reported once, at its end.
        let rest = AbandonedAsyncEntries(
            entries: entries.takeAll(), unwinder: unwinder, reportFailure: reportFailure)
        let isolation = lastIsolation
        Task { await rest.run(isolation: isolation) }
    }

    /// The number of entries waiting to run.
    public var count: Int {
        entries.count
    }

    /// Adds a synchronous cleanup that runs when the stack unwinds.
    ///
    /// Runs once, newest entry first, in order with the async entries. If it
    /// throws, its error is kept and the next entry still runs. It cannot
    /// suppress errors; use `push` for that.
    ///
    /// - Parameters:
    ///   - isolation: the caller's actor, passed implicitly; recorded so that
    ///     a stack dropped without `close` runs its leftover entries there.
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - body: the cleanup.
    public func `defer`(
        isolation: (any Actor)? = #isolation,
        fileID: StaticString = #fileID, line: Int = #line,
        _ body: consuming @escaping () throws -> Void
    ) {
        note(isolation)
        entries.append(.sync(.deferred(body, _RegistrationSite(fileID: fileID, line: line))))
    }

    /// Adds an asynchronous cleanup that runs when the stack unwinds:
    /// Python's `AsyncExitStack.push_async_callback`.
    ///
    /// Awaited once, newest entry first, before the next entry starts. If it
    /// throws (`CancellationError` included), its error is kept and the next
    /// entry still runs. It cannot suppress errors.
    ///
    /// ```swift
    /// stack.defer { await connection.close() }
    /// ```
    ///
    /// - Parameters:
    ///   - isolation: the caller's actor, passed implicitly; recorded so that
    ///     a stack dropped without `close` runs its leftover entries there.
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - body: the cleanup.
    public func `defer`(
        isolation: (any Actor)? = #isolation,
        fileID: StaticString = #fileID, line: Int = #line,
        _ body: consuming @escaping () async throws -> Void
    ) {
        note(isolation)
        entries.append(.deferred(body, _RegistrationSite(fileID: fileID, line: line)))
    }

    /// Adds a synchronous exit callback that sees the current error and may
    /// suppress it by returning `true`, as ``CleanupStack/push(fileID:line:_:)``.
    ///
    /// - Parameters:
    ///   - isolation: the caller's actor, passed implicitly; recorded so that
    ///     a stack dropped without `close` runs its leftover entries there.
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - exit: the callback; returns whether to suppress.
    public func push(
        isolation: (any Actor)? = #isolation,
        fileID: StaticString = #fileID, line: Int = #line,
        _ exit: consuming @escaping ((any Error)?) throws -> Bool
    ) {
        note(isolation)
        entries.append(.sync(.exit(exit, _RegistrationSite(fileID: fileID, line: line))))
    }

    /// Adds an asynchronous exit callback that sees the current error and may
    /// suppress it by returning `true`: Python's `AsyncExitStack.push_async_exit`.
    ///
    /// It receives the scope body's error, or the latest error an entry
    /// unwound before it threw, or nil if there is none or it was
    /// suppressed. Returning `true` drops every error pending at that moment.
    ///
    /// ```swift
    /// stack.push { error in
    ///     if error != nil { await transaction.rollback() }
    ///     return false
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - isolation: the caller's actor, passed implicitly; recorded so that
    ///     a stack dropped without `close` runs its leftover entries there.
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - exit: the callback; returns whether to suppress.
    public func push(
        isolation: (any Actor)? = #isolation,
        fileID: StaticString = #fileID, line: Int = #line,
        _ exit: consuming @escaping ((any Error)?) async throws -> Bool
    ) {
        note(isolation)
        entries.append(.exit(exit, _RegistrationSite(fileID: fileID, line: line)))
    }

    /// Acquires a resource and, only if that succeeds, adds its release:
    /// Python's `AsyncExitStack.enter_async_context`.
    ///
    /// `acquire` runs now, on the caller's actor; if it throws, nothing is
    /// added. Otherwise `release` is awaited with the resource when the stack
    /// unwinds (it cannot suppress errors). Synchronous closures are fine for
    /// either.
    ///
    /// ```swift
    /// let socket = try await stack.enter { try await Socket.connect(to: host) } release: { await $0.close() }
    /// ```
    ///
    /// - Parameters:
    ///   - isolation: the caller's actor, passed implicitly.
    ///   - acquire: creates the resource.
    ///   - release: releases it at unwind.
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    /// - Returns: the resource.
    /// - Throws: what `acquire` throws; nothing is added to the stack then.
    @discardableResult
    public func enter<R>(
        isolation: isolated (any Actor)? = #isolation,
        fileID: StaticString = #fileID, line: Int = #line,
        _ acquire: () async throws -> R,
        release: @escaping (R) async throws -> Void
    ) async rethrows -> R {
        let resource = try await acquire()
        note(isolation)
        entries.append(.deferred({ try await release(resource) }, _RegistrationSite(fileID: fileID, line: line)))
        return resource
    }

    /// Ties a finalizer to this scope: its cleanup runs exactly once, at the
    /// end of the scope or at its owner's death, whichever comes first, as
    /// ``CleanupStack/adopt(fileID:line:_:)``.
    ///
    /// At unwind it runs synchronously if still pending, state
    /// `.ran(.scopeEnd)`; one that already ran or was detached is skipped.
    ///
    /// - Parameters:
    ///   - isolation: the caller's actor, passed implicitly; recorded so that
    ///     a stack dropped without `close` runs its leftover entries there.
    ///   - fileID: the call site's `#fileID`, recorded for the failure report
    ///     of a stack deinitialized without being closed; leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - finalizer: the finalizer to run at scope end.
    /// - Returns: the same finalizer.
    @discardableResult
    public func adopt<R>(
        isolation: (any Actor)? = #isolation,
        fileID: StaticString = #fileID, line: Int = #line,
        _ finalizer: Finalizer<R>
    ) -> Finalizer<R> {
        note(isolation)
        entries.append(.sync(.adopting(finalizer, _RegistrationSite(fileID: fileID, line: line))))
        return finalizer
    }

    /// Moves every entry to a new stack without running any; this one is left
    /// empty and usable. See ``CleanupStack/move()``.
    ///
    /// - Returns: a new stack holding the entries, in the same order.
    public func move() -> AsyncCleanupStack {
        let moved = AsyncCleanupStack(isolation: lastIsolation)
        moved.entries = entries.takeAll()
        return moved
    }

    /// Unwinds the stack now: awaits every entry, one at a time, newest
    /// first, then throws what is left of the errors.
    ///
    /// Runs on the caller's actor. Every entry runs, even if some throw and
    /// even if the task is cancelled. Afterwards the stack is empty and may
    /// be used again; closing an empty stack, or calling `close()` from a
    /// cleanup of the stack being unwound, does nothing.
    ///
    /// - Parameter isolation: the caller's actor, passed implicitly.
    /// - Throws: nothing if no error is pending after unwinding; the one
    ///   pending error unchanged; or ``CleanupErrors`` with all of them in the
    ///   order they happened.
    public func close(isolation: isolated (any Actor)? = #isolation) async throws {
        var unwinder = CleanupUnwinder(bodyError: nil)
        await unwind(&unwinder)
        try unwinder.finish()
    }

    /// Awaits every entry, newest first, including those added meanwhile.
    func unwind(isolation: isolated (any Actor)? = #isolation, _ unwinder: inout CleanupUnwinder) async {
        guard !isUnwinding else { return }
        isUnwinding = true
        defer { isUnwinding = false }
        while let entry = entries.popLast() {
            await Self.run(entry, &unwinder)
        }
        entries.shrinkIfEmpty()
    }

    /// Runs one entry and records its outcome.
    static func run(
        isolation: isolated (any Actor)? = #isolation, _ entry: consuming Entry, _ unwinder: inout CleanupUnwinder
    ) async {
        switch consume entry {
        case .sync(let entry):
            unwinder.run(entry)
        case .deferred(let body, let site):
            do {
                try await body()
            } catch {
                unwinder.record(error, site: site)
            }
        case .exit(let exit, let site):
            do {
                if try await exit(unwinder.currentError) { unwinder.suppress() }
            } catch {
                unwinder.record(error, site: site)
            }
        }
    }
}

/// An async cleanup stack belongs to one task; it is deliberately not
/// `Sendable`.
@available(*, unavailable)
extension AsyncCleanupStack: Sendable {}

/// The entries of an ``AsyncCleanupStack`` deinitialized while async entries
/// were left, handed to a task to unwind.
///
/// `@unchecked Sendable`: the dying stack gives up its only reference to the
/// entries, so the task is their sole owner. What the closures themselves
/// capture is the caller's responsibility, which is why the documentation
/// says to close the stack instead.
final class AbandonedAsyncEntries: @unchecked Sendable {
    var entries: _EntryBuffer<AsyncCleanupStack.Entry>
    /// The unwinding the deinit began (the errors of the entries it ran).
    let unwinder: CleanupUnwinder
    let reportFailure: (@Sendable (FinalizerFailure) -> Void)?

    init(
        entries: consuming _EntryBuffer<AsyncCleanupStack.Entry>, unwinder: CleanupUnwinder,
        reportFailure: (@Sendable (FinalizerFailure) -> Void)?
    ) {
        self.entries = entries
        self.unwinder = unwinder
        self.reportFailure = reportFailure
    }

    /// Unwinds on `isolation`, the actor the stack was created on.
    func run(isolation: isolated (any Actor)?) async {
        var unwinder = unwinder
        while let entry = entries.popLast() {
            await AsyncCleanupStack.run(isolation: isolation, entry, &unwinder)
        }
        unwinder.report(to: reportFailure)
    }
}
