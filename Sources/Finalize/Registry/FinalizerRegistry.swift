/// Ties cleanups to the lives of objects, holding the objects weakly.
///
/// Lifetime: a registry never keeps an owner alive. ``shared`` lives for the
/// whole process and runs ``shutdown()`` at process exit (returning from
/// `main` or calling `exit()`; not on a signal that kills the process). A
/// registry you create ends when its last reference goes away, on the thread
/// that drops it: it stops its sweeper thread, then runs what ``shutdown()``
/// runs, that is every pending finalizer with `runsAtExit == true`,
/// **including those of owners that are still alive** (trigger
/// ``FinalizerTrigger/shutdown``); it runs the cleanups of watched owners
/// that died meanwhile, and detaches the remaining watched finalizers
/// (`runsAtExit == false`), since nothing could sweep them anymore. Host
/// finalizers registered with `runsAtExit: false` keep working: their
/// owners' bags run them when the owners die. So keep a registry at least as
/// long as the owners registered in it, or register with `runsAtExit: false`
/// what must wait for its owner.
///
/// Threading: every member is safe from any thread. No registry lock is held
/// while a cleanup runs, so a cleanup may register, run, detach, sweep or
/// shut down freely. Give each test its own registry, so tests can run in
/// parallel:
///
/// ```swift
/// let registry = FinalizerRegistry(sweepInterval: nil)   // no background thread
/// var owner: Widget? = Widget()
/// let f = registry.finalize(owner!) { print("widget gone") }
/// owner = nil
/// registry.sweep()   // prints "widget gone"; f.state == .ran(.sweep)
/// ```
///
/// Owners come in two kinds, with different timing:
/// - A ``FinalizerHost`` owner (one stored `let finalizers = FinalizerBag()`)
///   runs its cleanups inside its last release, synchronously, newest first.
/// - Any other object is *watched*: its cleanups run at the first sweep that
///   finds it dead: ``sweep()``, the amortized sweep that registration does
///   so the tables stay bounded, or the background sweeper. The sweeper
///   ticks every `sweepInterval` and looks at owners registered within about
///   the last second every other tick (a young owner is cleaned within about
///   two intervals of its death), and at older ones paced so that it spends
///   at most about 0.25 % of elapsed time on them (a dead old owner is
///   cleaned within 1.5 to 5 seconds per million old watched owners, and at
///   least one interval).
public final class FinalizerRegistry: Sendable {
    /// The registry's state; through it, its shards (see `_RegistryCore`).
    @usableFromInline let _core: _RegistryCore

    /// The process-wide registry used by the free `finalize` functions.
    ///
    /// Lifetime: created on first use, never deinitialized. Like every live
    /// registry, it runs its pending `runsAtExit` finalizers at process exit
    /// (returning from `main` or calling `exit()`; on a signal only with
    /// ``shutdownOnSignals(_:)``), leaving the exit status unchanged. It
    /// sweeps while it watches anything (ticks every 100 ms), waits at most
    /// 5 seconds at exit for asynchronous cleanups, and reports failures to
    /// standard error; to route failures elsewhere, register through a
    /// registry you create.
    ///
    /// Threading: the exit run happens on the thread that calls `exit()` or
    /// returns from `main`; other threads may still be running and
    /// registering meanwhile.
    ///
    /// Fork: every registry, this one included, is safe across `fork()`
    /// from any thread: the child inherits no lock held and no sweep
    /// half-done, starts its own sweeper when it first watches an owner, and
    /// its `exit()` runs what is pending in it, as in any process (the
    /// parent's pending finalizers included: each process runs its own
    /// copy). Never call `exit()` from a signal handler; call `_exit()`.
    public static let shared = FinalizerRegistry()

    /// Creates a registry.
    ///
    /// Lifetime: the registry lives as long as you keep it; when it ends, it
    /// runs what ``shutdown()`` runs (see the type's discussion), so keep it
    /// as long as the owners registered in it. While it lives, process exit
    /// runs its pending `runsAtExit` finalizers, as for ``shared`` (a
    /// registry kept in a global is never deinitialized, and still runs
    /// them). Its sweeper thread, if any, does not keep it alive and is
    /// joined when it ends (or, if it ends inside a cleanup that thread
    /// runs, the thread finishes its sweep and then ends).
    ///
    /// - Parameters:
    ///   - sweepInterval: the tick of a background thread that sweeps for
    ///     dead watched owners (young ones every other tick, old ones paced
    ///     by their cost; see the type's discussion), or nil (or not
    ///     positive) for no thread (sweep yourself, or rely on the amortized
    ///     sweep during registration, which keeps the tables within about
    ///     twice their live entries but may leave a few dead owners of a
    ///     large table waiting until more die). The thread starts with the first
    ///     watched registration (in a forked child, with the child's first),
    ///     sleeps while nothing is watched and does not keep the registry
    ///     alive. Intervals are clamped to between one microsecond and 100
    ///     years (no deadline overflow); the thread ticks that often while
    ///     anything is watched, so keep it to milliseconds or more.
    ///   - onFailure: receives the cleanup errors that no caller receives,
    ///     with the trigger and the registration site: those of owner deaths,
    ///     sweeps and shutdowns, and those of adopted finalizers run by a
    ///     cleanup stack deinitialized without being closed. Errors thrown to
    ///     a caller never reach it: ``Finalizer/runNow()`` rethrows its
    ///     cleanup's error, and a closed stack (``CleanupStack/close()``,
    ///     `withCleanupStack`, the async forms) throws its adopted finalizers'
    ///     errors with its own. It runs on the thread that ran the cleanup, so
    ///     it must be thread-safe. The default writes one line to standard
    ///     error.
    ///   - exitTimeout: how long process exit (and the signal shutdown of
    ///     ``shutdownOnSignals(_:)``) waits for this registry's asynchronous
    ///     cleanups before it goes on; those still running are reported to
    ///     `onFailure` as ``AbandonedAtExit``. Five seconds by default.
    public convenience init(
        sweepInterval: Duration? = .milliseconds(100),
        exitTimeout: Duration = .seconds(5),
        onFailure: @escaping @Sendable (FinalizerFailure) -> Void = FinalizerRegistry.reportToStandardError
    ) {
        self.init(
            sweepInterval: sweepInterval, onFailure: onFailure, diagnose: writeToStandardError,
            exitTimeout: exitTimeout)
    }

    /// The designated initializer; `diagnose` receives misuse warnings
    /// (tests capture them; everyone else gets standard error).
    /// `pacing` is the interval the sweeper's pacer assumes (the sweep
    /// interval by default; tests that drive `sweepTick(now:)` set it).
    init(
        sweepInterval: Duration?,
        onFailure: @escaping @Sendable (FinalizerFailure) -> Void,
        diagnose: @escaping @Sendable (String) -> Void,
        exitTimeout: Duration = .seconds(5),
        pacing: Duration? = nil
    ) {
        let sweeperInterval = sweepInterval.flatMap { $0 > .zero ? Self.clamped($0) : nil }
        _core = _RegistryCore(
            onFailure: onFailure, diagnose: diagnose, exitTimeout: max(exitTimeout, .zero),
            sweeperInterval: sweeperInterval, pacing: pacing ?? sweeperInterval ?? .milliseconds(100))
        // Listed for process exit and for the fork handlers (both installed
        // with the first registry).
        ForkSafety.track(_core)
        ProcessExit.add(self)
    }

    /// The sweep interval actually used: at least a microsecond, so a zero
    /// wait never arises from a sub-nanosecond interval, and at most 100 years, so the
    /// sweeper's deadline (now plus the interval) cannot overflow.
    static func clamped(_ interval: Duration) -> Duration {
        min(max(interval, .microseconds(1)), .seconds(100 * 365 * 86_400))
    }

    deinit {
        ProcessExit.remove(self)
        let sweeperJoined = _core.sweeper.stopAndWait()
        _core.end()
        ForkSafety.registryEnded(_core)
        if sweeperJoined {
            _core.shards.releaseShards()
        } else {
            // This registry ends inside a cleanup that its own sweeper
            // thread runs, in the middle of a sweep over these shards: the
            // thread gives them back when the sweep is done.
            _core.sweeper.releaseShardsWhenDone()
        }
    }

    /// The default failure handler: one line on standard error, e.g.
    /// `Finalize: cleanup registered at App/Pool.swift:31 failed during sweep: timeout`.
    @Sendable
    public static func reportToStandardError(_ failure: FinalizerFailure) {
        writeToStandardError("Finalize: \(failure)")
    }

    // MARK: - Registration

    /// Registers `cleanup` to run once when `owner` dies (synchronously,
    /// inside its last release, whenever ARC makes that happen), or earlier
    /// by ``Finalizer/runNow()`` or ``shutdown()``.
    ///
    /// Threading: call it from any thread; the cleanup runs inside the
    /// owner's last release, on the releasing thread (or on the thread of
    /// `runNow()` or `shutdown()`). This overload is chosen when the static
    /// type of `owner` is a ``FinalizerHost``; it pays for no dynamic cast.
    ///
    /// - Parameters:
    ///   - owner: the object whose death runs the cleanup. Not retained.
    ///   - runsAtExit: whether ``shutdown()`` (and process exit, for
    ///     ``shared``) runs it while still pending.
    ///   - fileID: the call site's `#fileID`, recorded for diagnostics
    ///     (``pending``, ``FinalizerFailure``); leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - cleanup: runs at most once, on the thread of the trigger. It must
    ///     not capture `owner`: that keeps the owner alive forever (the
    ///     compiler rejects most such captures, since `cleanup` is
    ///     `@Sendable`; a `Sendable` owner still compiles, so take care).
    /// - Returns: the handle, which you may ignore: the owner's bag keeps it.
    @inlinable
    @discardableResult
    public func finalize<Owner: FinalizerHost>(
        _ owner: Owner, runsAtExit: Bool = true,
        fileID: StaticString = #fileID, line: Int = #line,
        _ cleanup: consuming @escaping @Sendable () throws -> Void
    ) -> Finalizer<Void> {
        // Inlinable so that the bag is read straight from the owner's stored
        // property in the caller, borrowed: no retain, no release.
        _core._registerHost(
            owner: owner, bag: owner.finalizers, runsAtExit: runsAtExit,
            cleanup: consume cleanup, site: _RegistrationSite(fileID: fileID, line: line))
    }

    /// Registers `cleanup` to run once when `owner` dies, or earlier by
    /// ``Finalizer/runNow()`` or ``shutdown()``.
    ///
    /// If `owner` is a ``FinalizerHost`` (checked at run time), the cleanup
    /// runs inside its last release; otherwise the owner is watched and the
    /// cleanup runs at the first sweep after it died.
    ///
    /// Threading: call it from any thread. A watched owner's cleanup runs on
    /// whichever thread finds the owner dead first: the sweeper thread, a
    /// thread calling ``sweep()`` or ``shutdown()``, the thread that drops
    /// this registry, or a thread that registers another watched owner
    /// (registration sweeps now and then, and runs the due cleanups inside
    /// that `finalize` call). Make no assumption about the thread, and do not
    /// register a watched owner while holding a lock that a watched cleanup
    /// may take.
    ///
    /// - Parameters:
    ///   - owner: any class instance. Not retained.
    ///   - runsAtExit: whether ``shutdown()`` runs it while still pending.
    ///   - fileID: the call site's `#fileID`, recorded for diagnostics
    ///     (``pending``, ``FinalizerFailure``); leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - cleanup: runs at most once; must not capture `owner`.
    /// - Returns: the handle, which you may ignore: the registry (or the
    ///   owner's bag) keeps the finalizer until it runs or is detached.
    @_disfavoredOverload
    @discardableResult
    public func finalize(
        _ owner: AnyObject, runsAtExit: Bool = true,
        fileID: StaticString = #fileID, line: Int = #line,
        _ cleanup: consuming @escaping @Sendable () throws -> Void
    ) -> Finalizer<Void> {
        _core.register(
            owner: owner, runsAtExit: runsAtExit,
            payload: .plain(consume cleanup), site: _RegistrationSite(fileID: fileID, line: line))
    }

    /// Registers `cleanup` to run once with `resource` when `owner` dies, or
    /// earlier by ``Finalizer/runNow()`` or ``shutdown()``; host owners pay
    /// no dynamic cast.
    ///
    /// `holding:` is how a cleanup reaches what it frees without capturing
    /// the owner: put the file descriptor, pointer or handle in `resource`.
    /// ``Finalizer/detach()`` hands the resource back instead of running.
    /// The registry holds `resource` strongly, so it must not be the owner:
    /// the owner could never be deinitialized. Go's `AddCleanup` panics on
    /// that and JavaScript's `register` throws; Finalize registers it
    /// (``Finalizer/runNow()`` still runs it, and ``shutdown()`` if
    /// `runsAtExit`) and writes one warning per call site to standard
    /// error, naming the site and the owner's type. It recognizes a
    /// class-typed or `AnyObject` resource that is the owner (`holding:
    /// self`), not an owner wrapped in an optional, an existential or a
    /// struct.
    ///
    /// Threading: call it from any thread; the cleanup runs inside the
    /// owner's last release, on the releasing thread.
    ///
    /// ```swift
    /// registry.finalize(self, holding: fd) { close($0) }
    /// ```
    ///
    /// - Parameters:
    ///   - owner: the object whose death runs the cleanup. Not retained.
    ///   - resource: what the cleanup releases; held strongly until the
    ///     cleanup runs or ``Finalizer/detach()`` hands it back. Must not be
    ///     `owner`.
    ///   - runsAtExit: whether ``shutdown()`` (and process exit, for
    ///     ``shared``) runs it while still pending.
    ///   - fileID: the call site's `#fileID`, recorded for diagnostics
    ///     (``pending``, ``FinalizerFailure``); leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - cleanup: receives `resource`; runs at most once. Never capture `owner`.
    /// - Returns: the handle; ignoring it is fine (the owner's bag, or the
    ///   registry for a watched owner, keeps the finalizer).
    @discardableResult
    public func finalize<Owner: FinalizerHost, Resource: Sendable>(
        _ owner: Owner, holding resource: Resource, runsAtExit: Bool = true,
        fileID: StaticString = #fileID, line: Int = #line,
        _ cleanup: consuming @escaping @Sendable (Resource) throws -> Void
    ) -> Finalizer<Resource> {
        let site = _RegistrationSite(fileID: fileID, line: line)
        _core.checkResource(resource, owner: owner, runsAtExit: runsAtExit, site: site)
        return _core.registerHost(
            owner: owner, bag: owner.finalizers, runsAtExit: runsAtExit,
            payload: .holding(ResourceBox(resource, consume cleanup)), site: site)
    }

    /// Registers `cleanup` to run once with `resource` when `owner` dies
    /// (host owners at their release, others at the next sweep), or earlier
    /// by ``Finalizer/runNow()`` or ``shutdown()``.
    ///
    /// The resource is held as by the host overload (`holding: owner` is
    /// diagnosed the same way).
    ///
    /// Threading: call it from any thread. A watched owner's cleanup runs on
    /// whichever thread finds the owner dead first (the sweeper, a caller of
    /// ``sweep()`` or ``shutdown()``, or another watched registration), as
    /// for the resource-less form.
    ///
    /// ```swift
    /// registry.finalize(buffer, holding: buffer.handle) { $0.release() }
    /// ```
    ///
    /// - Parameters:
    ///   - owner: the object whose death runs the cleanup. Not retained.
    ///   - resource: what the cleanup releases; held strongly until the
    ///     cleanup runs or ``Finalizer/detach()`` hands it back. Must not be
    ///     `owner`.
    ///   - runsAtExit: whether ``shutdown()`` (and process exit, for
    ///     ``shared``) runs it while still pending.
    ///   - fileID: the call site's `#fileID`, recorded for diagnostics
    ///     (``pending``, ``FinalizerFailure``); leave the default.
    ///   - line: the call site's line, recorded with `fileID`; leave the default.
    ///   - cleanup: receives `resource`; runs at most once. Never capture `owner`.
    /// - Returns: the handle; ignoring it is fine (the owner's bag, or the
    ///   registry for a watched owner, keeps the finalizer).
    @_disfavoredOverload
    @discardableResult
    public func finalize<Resource: Sendable>(
        _ owner: AnyObject, holding resource: Resource, runsAtExit: Bool = true,
        fileID: StaticString = #fileID, line: Int = #line,
        _ cleanup: consuming @escaping @Sendable (Resource) throws -> Void
    ) -> Finalizer<Resource> {
        let site = _RegistrationSite(fileID: fileID, line: line)
        _core.checkResource(resource, owner: owner, runsAtExit: runsAtExit, site: site)
        return _core.register(
            owner: owner, runsAtExit: runsAtExit,
            payload: .holding(ResourceBox(resource, consume cleanup)), site: site)
    }

    // MARK: - Running

    /// Runs the cleanups of watched owners that have died; returns how many
    /// ran.
    ///
    /// Threading: runs the cleanups on the calling thread, newest
    /// registration first, each with the trigger ``FinalizerTrigger/sweep``;
    /// safe concurrently with registration, other sweeps and the sweeper.
    /// Cost is proportional to the number of watched entries. Host owners
    /// never need a sweep.
    ///
    /// - Returns: how many cleanups this call ran.
    @discardableResult
    public func sweep() -> Int {
        _core.sweep()
    }

    /// Runs every pending finalizer whose `runsAtExit` is true, newest
    /// registration first across all owners; returns how many cleanups ran.
    ///
    /// Threading: runs on the calling thread (for ``shared`` at exit, the
    /// thread that calls `exit()` or returns from `main`); other threads may
    /// go on registering meanwhile.
    ///
    /// First sweeps (dead watched owners are overdue, whatever their flag,
    /// and run with ``FinalizerTrigger/sweep``), then runs the `runsAtExit`
    /// finalizers with the trigger ``FinalizerTrigger/shutdown``. A finalizer
    /// registered while shutdown runs goes next, up to a budget of at least
    /// 65,536 newcomers (twice the number queued at the start, if larger);
    /// later newcomers stay pending, so a cleanup that registers another, or
    /// a thread that never stops registering, cannot keep shutdown (or
    /// `exit()`) from returning. Failures go to `onFailure` and the loop goes
    /// on. Finalizers with `runsAtExit == false` stay pending. The registry
    /// remains usable afterwards.
    ///
    /// - Returns: how many cleanups this call ran (its sweep included).
    @discardableResult
    public func shutdown() -> Int {
        _core.shutdown()
    }

    /// Runs every pending finalizer whose `runsAtExit` is true, newest
    /// registration first, awaiting each asynchronous cleanup before the
    /// next; then waits for every asynchronous cleanup still running (those
    /// started by owner deaths, sweeps or ``AsyncFinalizer/runNow()``).
    /// Returns how many cleanups it ran.
    ///
    /// Threading: callable from any task; synchronous cleanups run on the
    /// calling task, asynchronous ones in tasks of their own (cancelling the
    /// caller cancels none of them). Otherwise as the synchronous
    /// ``shutdown()``: it sweeps first, picks up finalizers registered
    /// meanwhile (up to the newcomer budget), sends failures to `onFailure`
    /// and goes on; the registry remains usable afterwards.
    ///
    /// - Returns: how many cleanups this call ran (its sweep included).
    @discardableResult
    public func shutdown() async -> Int {
        await ShutdownRun.runAwaiting([_core])
    }

    /// Returns once every asynchronous cleanup started so far (by owner
    /// deaths, sweeps, ``AsyncFinalizer/runNow()`` or shutdowns) has
    /// finished, including those started while it waits.
    ///
    /// Threading: callable from any task; it waits on a continuation, not
    /// by blocking a thread, and returns at once when nothing is running.
    public func drain() async {
        await _core.asyncCleanups.drain()
    }

    // MARK: - Diagnostics

    /// The number of finalizers registered here that are still pending
    /// (including watched ones whose owner died and awaits a sweep).
    ///
    /// A snapshot: another thread may register, run or detach one right
    /// after. It takes each shard's lock while it looks at that shard's host
    /// finalizers (about a millisecond per 100,000), so poll it; do not spin
    /// on it.
    public var pendingCount: Int {
        _core.pendingCount
    }

    /// A snapshot of the pending finalizers, oldest registration first, with
    /// where each was registered: the tool for finding a cleanup that keeps
    /// its owner alive.
    public var pending: [FinalizerInfo] {
        _core.pendingFinalizers(exitOnly: false).compactMap { $0.info() }
    }
}
