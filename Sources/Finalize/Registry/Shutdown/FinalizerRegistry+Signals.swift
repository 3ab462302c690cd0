import Synchronization

extension FinalizerRegistry {
    /// Makes the first of `signals` (typically `[SIGTERM, SIGINT]`) shut
    /// every registry down before the process ends, as an orchestrator's
    /// SIGTERM otherwise skips every exit hook.
    ///
    /// Lifetime: process-wide and permanent; calling it again adds signals.
    /// On the first such signal, a watcher thread runs the asynchronous
    /// ``shutdown()`` of every live registry (newest registration first
    /// across registries, awaiting each cleanup, then draining), waiting at
    /// most the longest `exitTimeout` among them and reporting abandoned
    /// cleanups to their `onFailure`; then it restores the signal's default
    /// action and raises it again, so the process ends as that signal ends
    /// it (exit status 143 for SIGTERM in a shell), and `atexit` handlers do
    /// not run a second time. A second signal of the set during that
    /// shutdown ends the process at once, with the default action.
    ///
    /// Threading: the signal handler itself only writes one byte to a pipe
    /// (async-signal-safe); everything else runs on the watcher thread and
    /// in tasks. Cleanups run while the rest of the program keeps running.
    /// Call it early, from any thread, before other code installs handlers
    /// for the same signals (the last handler installed wins).
    ///
    /// ```swift
    /// try FinalizerRegistry.shutdownOnSignals([SIGTERM, SIGINT])
    /// ```
    ///
    /// - Parameter signals: the signals to handle. `SIGKILL` and `SIGSTOP`
    ///   cannot be caught.
    /// - Throws: ``SignalHandlingError`` for a signal that cannot be
    ///   handled, or if the watcher thread or its pipe cannot be created;
    ///   signals handled before the failure stay handled.
    public static func shutdownOnSignals(_ signals: [CInt]) throws {
        for signal in signals where !PlatformSignals.isCatchable(signal) {
            throw SignalHandlingError(signal: signal, reason: "it cannot be caught")
        }
        try SignalShutdown.start()
        // At least the watcher thread and this one accept them, so a
        // process that blocks them elsewhere still gets them.
        let set = SignalSet(signals)
        set.unblockInCallingThread()
        SignalShutdown.accept(set)
        for signal in signals where !PlatformSignals.installHandler(SignalShutdown.handler, for: signal) {
            throw SignalHandlingError(
                signal: signal, reason: "signal() failed with errno \(PlatformSignals.errorNumber)")
        }
    }
}

/// The opt-in signal shutdown: a pipe the handler writes to, and a watcher
/// thread that reads it.
enum SignalShutdown {
    /// The pipe's write end, for the handler (-1 until started).
    static let writeEnd = Atomic<Int32>(-1)
    /// The first signal received (0 before).
    static let received = Atomic<Int32>(0)

    /// The handler: async-signal-safe work only (atomics, write, signal,
    /// raise).
    static let handler: @convention(c) (Int32) -> Void = { signalNumber in
        if SignalShutdown.received.compareExchange(expected: 0, desired: signalNumber, ordering: .relaxed).exchanged {
            PlatformSignals.writeByte(
                UInt8(truncatingIfNeeded: signalNumber), to: SignalShutdown.writeEnd.load(ordering: .relaxed))
        } else {
            // A second signal during the shutdown: end now.
            PlatformSignals.restoreDefault(signalNumber)
            PlatformSignals.raiseSignal(signalNumber)
        }
    }

    /// The start flag and the signals handled (and unblocked by the
    /// watcher, which asks on each wake-up), under a spin lock the fork
    /// handlers can hold across a fork.
    private static let state = State()

    static func accept(_ set: SignalSet) {
        state.lock.withLock {
            for signalNumber in set.members { state.accepted.insert(signalNumber) }
        }
        // Wake the watcher so that it unblocks them too.
        PlatformSignals.writeByte(0, to: writeEnd.load(ordering: .relaxed))
    }

    /// Creates the pipe and the watcher, once.
    static func start() throws {
        state.lock.lock()
        defer { state.lock.unlock() }
        guard !state.started else { return }
        guard let (readEnd, pipeWriteEnd) = PlatformSignals.makePipe() else {
            throw SignalHandlingError(signal: 0, reason: "pipe() failed with errno \(PlatformSignals.errorNumber)")
        }
        // Touch the statics the handler reads, so that it never runs
        // their one-time initialization.
        _ = received.load(ordering: .relaxed)
        writeEnd.store(pipeWriteEnd, ordering: .releasing)
        _ = handler
        guard let watcher = PlatformThread.start({ watch(readEnd) }) else {
            throw SignalHandlingError(signal: 0, reason: "the watcher thread could not start")
        }
        watcher.detach()
        state.started = true
    }

    /// `prepare`.
    static func lockForFork() { state.lock.lock() }

    /// `parent` and `child`. A child has no watcher thread (it was the
    /// parent's): the signals go back to their default action there, and
    /// the child may call `shutdownOnSignals` again for a watcher of its own.
    static func unlockAfterFork(inChild: Bool) {
        if inChild && state.started {
            for signalNumber in state.accepted.members { PlatformSignals.restoreDefault(signalNumber) }
            state.accepted = SignalSet()
            received.store(0, ordering: .relaxed)
            state.started = false
        }
        state.lock.unlock()
    }

    /// The watcher: waits for the handler's byte, shuts every registry
    /// down, then ends the process with the signal.
    private static func watch(_ readEnd: Int32) {
        var signalNumber: CInt = 0
        while true {
            state.lock.withLock { state.accepted }.unblockInCallingThread()
            switch PlatformSignals.readByte(from: readEnd) {
            case .byte(let byte) where byte != 0:
                signalNumber = CInt(byte)
            case .byte, .again:
                continue
            case .failed:
                return
            }
            break
        }
        // The registries stay referenced until the process ends. Their code
        // may have dropped its own references meanwhile; releasing the last
        // one here would end a registry on this thread, which joins its
        // sweeper thread (that may be stuck in a cleanup, so the process
        // would never end) and gives back shards that a timed-out shutdown
        // task may still be reading.
        let registries = shutDownEverything()
        withExtendedLifetime(registries) {
            PlatformSignals.restoreDefault(signalNumber)
            SignalSet([signalNumber]).unblockInCallingThread()
            PlatformSignals.raiseSignal(signalNumber)
            // Not reached for a signal whose default action ends the process.
            PlatformSignals.exitImmediately(128 + signalNumber)
        }
    }

    /// The asynchronous shutdown of every live registry, waiting at most the
    /// longest exit timeout among them; returns the registries it ran,
    /// retained, for the caller to keep until the process ends.
    static func shutDownEverything() -> [FinalizerRegistry] {
        var registries: [FinalizerRegistry] = []
        let cores = ProcessExit.liveCores(keeping: &registries)
        guard !cores.isEmpty else { return registries }
        let start = monotonicNow()
        let done = OneTimeEvent()
        Task.detached {
            _ = await ShutdownRun.runAwaiting(cores)
            done.complete()
        }
        let longest = cores.map(\.exitTimeout).max() ?? .zero
        if !done.wait(until: start + longest) {
            ProcessExit.waitForAsyncCleanups(of: cores, from: start)
        }
        return registries
    }
}

extension SignalShutdown {
    /// The signal shutdown's mutable state.
    final class State: @unchecked Sendable {
        let lock = SpinLock()
        /// Guarded by `lock`.
        var started = false
        var accepted = SignalSet()
    }

    /// A one-time event a thread can wait for with a deadline (the watcher
    /// waits for the shutdown task).
    final class OneTimeEvent: @unchecked Sendable {
        private let condition = MonotonicCondition()
        /// Guarded by `condition`'s lock.
        private var done = false

        func complete() {
            condition.withLock {
                done = true
                condition.broadcast()
            }
        }

        /// Blocks until completed or `deadline` (monotonic) passes; true if
        /// completed.
        func wait(until deadline: Duration) -> Bool {
            condition.withLock {
                while !done {
                    guard condition.wait(until: deadline) else { break }
                }
                return done
            }
        }
    }
}
