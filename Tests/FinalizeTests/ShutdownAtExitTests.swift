// Process exit and signal shutdown, in child processes (the fixture's
// ShutdownScenarios.swift): every live registry runs at exit, newest first
// across registries; async cleanups are waited for at most `exitTimeout`;
// `shutdownOnSignals` turns SIGTERM into a shutdown that ends with the
// signal's own status, and a second signal ends the process at once.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing

@Suite("Shutdown at process exit and on signals")
struct ShutdownAtExitTests {
    /// The sync cleanups in registration-newest-first order across the
    /// shared and a custom registry kept in a global; the async one (started
    /// between them) finishes before the process ends.
    static let acrossRegistries = ["c4 custom sync", "s3 shared sync", "s1 shared sync"]

    @Test func exitRunsEveryRegistryNewestFirstAndWaitsForAsyncCleanups() throws {
        let child = try runFixture("exit-every-registry")
        #expect(child.exitStatus == 0)
        let lines = child.stdoutLines
        #expect(lines.first == "main returns")
        #expect(lines.filter { !$0.contains("async") }.dropFirst().elementsEqual(Self.acrossRegistries))
        #expect(lines.filter { $0 == "c2 custom async" }.count == 1)
    }

    /// An async cleanup that never ends holds exit up for the registry's
    /// `exitTimeout` (300 ms here), no longer, and is reported.
    @Test func exitWaitsAtMostTheExitTimeoutAndReportsWhatItAbandons() throws {
        let clock = ContinuousClock()
        let started = clock.now
        let child = try runFixture("exit-timeout", timeoutSeconds: 30)
        let took = clock.now - started
        #expect(child.exitStatus == 0)
        #expect(child.stdoutLines.contains("sync cleanup ran"))
        #expect(child.stdoutLines.contains("stuck cleanup started"))
        #expect(child.stdout.contains("impatient onFailure: cleanup registered at finalize_fixture/ShutdownScenarios.swift"))
        #expect(child.stdout.contains("abandoned"))
        #expect(took < .seconds(20), "exit waited \(took)")
    }

    /// SIGTERM with `shutdownOnSignals`: every registry's finalizers run,
    /// awaited one by one newest first, and the process still ends as
    /// SIGTERM ends it.
    @Test func sigtermRunsTheShutdownAndKeepsTheSignalStatus() throws {
        let child = try runFixture("signal", signals: [("ready", SIGTERM)])
        #expect(child.terminatingSignal == SIGTERM, "stdout: \(child.stdout) stderr: \(child.stderr)")
        // Awaited in turn: the async one finishes before the next starts.
        #expect(child.stdoutLines.dropFirst().elementsEqual([
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

    /// A signal that cannot be caught is refused with a clear error.
    @Test func uncatchableSignalIsRefused() throws {
        let child = try runFixture("signal-bad")
        #expect(child.exitStatus == 0)
        #expect(child.stdoutLines == ["Finalize: cannot shut down on signal 9: it cannot be caught"])
    }
}
