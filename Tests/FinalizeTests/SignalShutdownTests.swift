// The signal shutdown, in child processes (the fixture's
// SignalScenarios.swift, which the test signals once the child is ready):
// `shutdownOnSignals` turns SIGTERM into a shutdown of every registry that
// ends with the signal's own status, bounded by the exit timeout; without
// it SIGTERM runs nothing; a second signal ends the process at once.

import FinalizeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@Suite("Shutdown on signals")
struct SignalShutdownTests {
    /// SIGTERM with `shutdownOnSignals`: every registry's finalizers run,
    /// awaited one by one newest first, and the process still ends as
    /// SIGTERM ends it.
    @Test func sigtermRunsTheShutdownAndKeepsTheSignalStatus() throws {
        let child = try runFixture("signal", signals: [("ready", SIGTERM)])
        #expect(child.terminatingSignal == SIGTERM, "stdout: \(child.stdout) stderr: \(child.stderr)")
        // Awaited in turn: the async one finishes before the next starts.
        #expect(
            child.stdoutLines.dropFirst().elementsEqual([
                "c4 custom sync", "s3 shared sync", "c2 custom async", "s1 shared sync",
            ]))
    }

    /// Without it, SIGTERM ends the process and no cleanup runs (what
    /// `atexit` alone gives).
    @Test func sigtermWithoutTheHandlerRunsNothing() throws {
        let child = try runFixture("signal-unhandled", signals: [("ready", SIGTERM)])
        #expect(child.terminatingSignal == SIGTERM)
        #expect(child.stdoutLines == ["ready"])
    }

    /// A second signal during the shutdown ends the process at once, with
    /// that signal's default action, though a cleanup is still running.
    @Test func secondSignalEndsTheProcessAtOnce() throws {
        let child = try runFixture(
            "signal-twice", timeoutSeconds: 30,
            signals: [("ready", SIGTERM), ("stuck cleanup started", SIGINT)])
        #expect(child.terminatingSignal == SIGINT)
        #expect(child.stdoutLines == ["ready", "stuck cleanup started"])
    }

    /// The signal shutdown also waits at most `exitTimeout`, reports what it
    /// abandons, and ends with the signal.
    @Test func signalShutdownIsBoundedByTheExitTimeout() throws {
        let child = try runFixture("signal-timeout", timeoutSeconds: 30, signals: [("ready", SIGTERM)])
        #expect(child.terminatingSignal == SIGTERM)
        #expect(child.stdoutLines.contains("sync cleanup ran"))
        #expect(child.stdout.contains("impatient onFailure:"))
        #expect(child.stdout.contains("abandoned"))
    }

    /// A registry that its code drops during the signal shutdown, while its
    /// sweeper thread is stuck in a cleanup: the shutdown still ends the
    /// process with the signal once the exit timeout has passed (it keeps
    /// the registry rather than end it, which would join that thread).
    @Test func registryDroppedDuringTheShutdownDoesNotHoldTheProcess() throws {
        let child = try runFixture("signal-registry-dropped", timeoutSeconds: 30, signals: [("ready", SIGTERM)])
        #expect(child.terminatingSignal == SIGTERM, "stdout: \(child.stdout) stderr: \(child.stderr)")
        #expect(child.stdoutLines.starts(with: ["sweeper stuck", "ready", "registry dropped"]))
        #expect(child.stdout.contains("abandoned"))
    }
}
