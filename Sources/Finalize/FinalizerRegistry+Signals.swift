#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
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
        for signal in signals {
            guard signal > 0, signal < 65, signal != SIGKILL, signal != SIGSTOP else {
                throw SignalHandlingError(signal: signal, reason: "it cannot be caught")
            }
        }
        try _SignalShutdown.start()
        // At least the watcher thread and this one accept them, so a
        // process that blocks them elsewhere still gets them.
        var set = sigset_t()
        sigemptyset(&set)
        for signalNumber in signals { sigaddset(&set, signalNumber) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        _SignalShutdown.accept(set)
        for signalNumber in signals {
            // SIG_ERR is the handler value -1.
            let previous = signal(signalNumber, _SignalShutdown.handler)
            if let previous, unsafeBitCast(previous, to: Int.self) == -1 {
                throw SignalHandlingError(signal: signalNumber, reason: "signal() failed with errno \(errno)")
            }
        }
    }
}

/// Why ``FinalizerRegistry/shutdownOnSignals(_:)`` could not handle a signal.
///
/// Lifetime: a value. Threading: `Sendable`.
public struct SignalHandlingError: Error, Sendable, CustomStringConvertible {
    /// The signal number (or 0 when the watcher could not start).
    public let signal: CInt
    /// What went wrong.
    public let reason: String

    /// For example "Finalize: cannot shut down on signal 9: it cannot be caught".
    public var description: String {
        "Finalize: cannot shut down on signal \(signal): \(reason)"
    }
}

/// The opt-in signal shutdown: a pipe the handler writes to, and a watcher
/// thread that reads it.
enum _SignalShutdown {
    /// The pipe's write end, for the handler (-1 until started).
    static let writeEnd = Atomic<Int32>(-1)
    /// The first signal received (0 before).
    static let received = Atomic<Int32>(0)

    /// The handler: async-signal-safe work only (atomics, write, signal,
    /// raise).
    static let handler: @convention(c) (Int32) -> Void = { signalNumber in
        if _SignalShutdown.received.compareExchange(expected: 0, desired: signalNumber, ordering: .relaxed).exchanged {
            var byte = UInt8(truncatingIfNeeded: signalNumber)
            _ = write(_SignalShutdown.writeEnd.load(ordering: .relaxed), &byte, 1)
        } else {
            // A second signal during the shutdown: end now.
            signal(signalNumber, SIG_DFL)
            raise(signalNumber)
        }
    }

    /// The start flag and the signals handled (and unblocked by the
    /// watcher, which asks on each wake-up), under a spin lock the fork
    /// handlers can hold across a fork.
    private static let state = _SignalShutdownState()

    static func accept(_ set: sigset_t) {
        var set = set
        state.lock.withLock {
            for signalNumber in Int32(1)..<65 where sigismember(&set, signalNumber) == 1 {
                sigaddset(&state.accepted, signalNumber)
            }
        }
        // Wake the watcher so that it unblocks them too.
        var byte: UInt8 = 0
        _ = write(writeEnd.load(ordering: .relaxed), &byte, 1)
    }

    /// Creates the pipe and the watcher, once.
    static func start() throws {
        state.lock.lock()
        defer { state.lock.unlock() }
        do {
            guard !state.started else { return }
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else {
                throw SignalHandlingError(signal: 0, reason: "pipe() failed with errno \(errno)")
            }
            let readEnd = ends[0]
            // Touch the statics the handler reads, so that it never runs
            // their one-time initialization.
            _ = received.load(ordering: .relaxed)
            writeEnd.store(ends[1], ordering: .releasing)
            _ = handler
            guard _startDetachedThread({ watch(readEnd) }) else {
                throw SignalHandlingError(signal: 0, reason: "the watcher thread could not start")
            }
            state.started = true
        }
    }

    /// `prepare`.
    static func lockForFork() { state.lock.lock() }

    /// `parent` and `child`. A child has no watcher thread (it was the
    /// parent's): the signals go back to their default action there, and
    /// the child may call `shutdownOnSignals` again for a watcher of its own.
    static func unlockAfterFork(inChild: Bool) {
        if inChild && state.started {
            for signalNumber in Int32(1)..<65 where sigismember(&state.accepted, signalNumber) == 1 {
                signal(signalNumber, SIG_DFL)
            }
            sigemptyset(&state.accepted)
            received.store(0, ordering: .relaxed)
            state.started = false
        }
        state.lock.unlock()
    }

    /// The watcher: waits for the handler's byte, shuts every registry
    /// down, then ends the process with the signal.
    private static func watch(_ readEnd: Int32) {
        var byte: UInt8 = 0
        while true {
            var set = state.lock.withLock { state.accepted }
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            let count = read(readEnd, &byte, 1)
            if count == 1 && byte != 0 { break }
            if count < 0 && errno != EINTR { return }
        }
        let signalNumber = Int32(byte)
        shutDownEverything()
        signal(signalNumber, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signalNumber)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(signalNumber)
        // Not reached for a signal whose default action ends the process.
        _exit(128 + signalNumber)
    }

    /// The asynchronous shutdown of every live registry, waiting at most the
    /// longest exit timeout among them.
    static func shutDownEverything() {
        var registries: [FinalizerRegistry] = []
        let cores = _ProcessExit.liveCores(keeping: &registries)
        defer { withExtendedLifetime(registries) {} }
        guard !cores.isEmpty else { return }
        let start = _monotonicNow()
        let done = _Completion()
        Task.detached {
            _ = await _ShutdownRun.runAwaiting(cores)
            done.complete()
        }
        let longest = cores.map(\.exitTimeout).max() ?? .zero
        if !done.wait(until: start + longest) {
            _ProcessExit.waitForAsyncCleanups(of: cores, from: start)
        }
    }
}

/// The opt-in signal shutdown's mutable state.
final class _SignalShutdownState: @unchecked Sendable {
    let lock = _SpinLock()
    /// Guarded by `lock`.
    var started = false
    var accepted = sigset_t()

    init() {
        sigemptyset(&accepted)
    }
}
