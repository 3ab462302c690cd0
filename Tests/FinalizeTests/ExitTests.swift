// Process exit: every live registry runs its pending `runsAtExit`
// finalizers when the process returns from `main` or calls `exit()`, newest
// first across registries, without changing the exit status; asynchronous
// cleanups are waited for at most the registry's `exitTimeout`.
//
// Each test is a Swift Testing exit test (`#expect(processExitsWith:)`): its
// body runs in a child process, the only one that touches
// `FinalizerRegistry.shared`, and the test reads the child's output and
// status. A body that stands for "return from main" ends with `exit(0)`,
// which is what returning from `main` does (Swift Testing ends a body that
// returns with `_Exit`, which runs no exit hook). Swift Testing itself may
// write to the child's standard error, so the tests look there only for
// Finalize's own lines. (Scenarios that need signals, forks or a deadline use the fixture
// instead: SignalShutdownTests, ForkSafetyTests, ExitRaceTests.)

import Finalize
import FinalizeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Process exit")
struct ExitTests {
    /// `exit(3)` runs the pending finalizers of host and watched owners,
    /// newest first, and the status stays 3.
    @Test func exitKeepsItsStatus() async throws {
        let child = try #require(
            await #expect(processExitsWith: .exitCode(3), observing: [\.standardOutputContent, \.standardErrorContent])
            {
                finalize(Forever.host) { say("host cleanup ran at exit") }
                finalize(Forever.plain) { say("watched cleanup ran at exit") }
                say("calling exit(3)")
                exit(3)
            })
        #expect(child.stdoutLines == ["calling exit(3)", "watched cleanup ran at exit", "host cleanup ran at exit"])
        #expect(!child.stderr.contains("Finalize"), "\(child.stderr)")
    }

    /// Only still-pending finalizers run at exit: one already run, one
    /// detached and one whose owner already died do not run (again).
    @Test func onlyPendingFinalizersRunAtExit() async throws {
        let child = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardOutputContent, \.standardErrorContent]) {
                let ranEarly = finalize(Forever.plain) { say("ran early") }
                _ = try? ranEarly.runNow()
                let detached = finalize(Forever.plain) { say("detached ran!") }
                _ = detached.detach()
                do {
                    let host = Host()
                    finalize(host) { say("host released") }
                    withExtendedLifetime(host) {}
                }
                finalize(Forever.plain) { say("pending ran at exit") }
                say("main returns")
                exit(0)
            })
        #expect(child.stdoutLines == ["ran early", "host released", "main returns", "pending ran at exit"])
        #expect(!child.stderr.contains("Finalize"), "\(child.stderr)")
    }

    /// Every live registry runs at exit, not only the shared one: the sync
    /// cleanups in registration-newest-first order across the shared and a
    /// custom registry kept in a global; the async one (started between
    /// them) finishes before the process ends.
    @Test func exitRunsEveryRegistryNewestFirstAndWaitsForAsyncCleanups() async throws {
        let child = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
                registerAcrossRegistries()
                say("main returns")
                exit(0)
            })
        let lines = child.stdoutLines
        #expect(lines.first == "main returns")
        #expect(
            lines.filter { !$0.contains("async") }.dropFirst()
                .elementsEqual(["c4 custom sync", "s3 shared sync", "s1 shared sync"]))
        #expect(lines.filter { $0 == "c2 custom async" }.count == 1)
    }

    /// An async cleanup that never ends holds exit up for the registry's
    /// `exitTimeout` (300 ms here), no longer, and is reported at its
    /// registration site. The child measures the exit itself, from its
    /// `exit(0)` to an `atexit` hook that runs after every registry's (hooks
    /// run newest first, and this one is installed before any registry).
    @Test func exitWaitsAtMostTheExitTimeoutAndReportsWhatItAbandons() async throws {
        let child = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
                atexit {
                    guard let start = ExitClock.exitCalled.value else { return }
                    say("exit took \(Int((monotonicNow() - start) / .milliseconds(1))) ms")
                }
                registerAStuckCleanup()
                say("main returns")
                ExitClock.exitCalled.set(monotonicNow())
                exit(0)
            })
        let stdout = String(decoding: child.standardOutputContent, as: UTF8.self)
        #expect(child.stdoutLines.contains("sync cleanup ran"))
        #expect(child.stdoutLines.contains("stuck cleanup started"))
        #expect(
            stdout.contains("impatient onFailure: cleanup registered at FinalizeTestSupport/AcrossRegistries.swift"))
        #expect(stdout.contains("abandoned"))
        let took = try #require(child.stdoutLines.last { $0.hasPrefix("exit took ") }, "\(stdout)")
        let milliseconds = try #require(Int(took.dropFirst("exit took ".count).dropLast(" ms".count)))
        #expect(milliseconds >= 300, "the exit did not wait for the exit timeout: \(took)")
        #expect(milliseconds < 10_000, "the exit waited past the exit timeout: \(took)")
    }

    /// A signal that cannot be caught is refused with a clear error, before
    /// anything is installed.
    @Test func uncatchableSignalIsRefused() async throws {
        let child = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
                do {
                    try FinalizerRegistry.shutdownOnSignals([SIGKILL])
                    say("accepted SIGKILL")
                } catch {
                    say("\(error)")
                }
            })
        #expect(child.stdoutLines == ["Finalize: cannot shut down on signal 9: it cannot be caught"])
    }
}

extension ExitTest.Result {
    /// The child's standard output, line by line.
    var stdoutLines: [String] {
        String(decoding: standardOutputContent, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The child's standard error, as text.
    var stderr: String {
        String(decoding: standardErrorContent, as: UTF8.self)
    }
}

/// When the exit test's body called `exit`, for its last `atexit` hook.
private enum ExitClock {
    static let exitCalled = Locked<Duration?>(nil)
}
