// Races and re-entrancy at process exit: a sweep or a bag in the middle of
// its work when the process exits, `exit()` called again from a cleanup or
// from another thread, registrations and shutdowns from cleanups at exit, a
// million pending finalizers, threads that keep registering while the
// process exits. Each test runs a scenario of
// Sources/finalize-fixture/ExitRaces.swift in a child process (only the
// child touches `FinalizerRegistry.shared`) under a deadline, so a hang shows
// up as a failure instead of a stuck suite (which is why these are not exit
// tests: see the fixture's main.swift).

import FinalizeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Races at process exit")
struct ExitRaceTests {
    // MARK: - Dead owners' cleanups held by an in-flight sweep run at exit
    // (once a bug: they were lost; each sweep now publishes its batch to
    // shutdown, see `InFlightSweeps`)

    /// A sweep on another thread has taken two dead watched owners' entries
    /// out of the table and is running the newer one's cleanup (B, which
    /// blocks) when main calls exit(0). A's owner is dead, its finalizer is
    /// pending and `runsAtExit`; shutdown ("dead owners are overdue") runs
    /// it, from the sweep's published batch (its entry is no longer in any
    /// table).
    @Test func deadOwnerHeldByInFlightSweepRunsAtExit() throws {
        let child = try runFixture("in-flight-sweep-at-exit")
        #expect(child.exitStatus == 0)
        #expect(child.stdoutLines == ["B started", "exiting", "A ran"])
    }

    /// The same with the shared registry's own background sweeper.
    @Test func deadOwnerHeldByBackgroundSweeperRunsAtExit() throws {
        let child = try runFixture("in-flight-sweeper-at-exit")
        #expect(child.exitStatus == 0)
        #expect(child.stdoutLines == ["B started", "exiting", "A ran"])
    }

    /// A cleanup run by the background sweeper calls exit(8): the atexit
    /// shutdown runs on the sweeper thread, inside that very sweep, and still
    /// runs the older dead owner's cleanup (A) from the same sweep.
    @Test func sweeperCleanupCallingExitRunsTheRestOfItsSweep() throws {
        let child = try runFixture("sweeper-cleanup-calls-exit")
        #expect(child.exitStatus == 8)
        #expect(child.stdoutLines == ["B calls exit(8)", "A ran"])
    }

    /// Control: a host owner's bag mid-deinit on another thread (its newest
    /// cleanup blocked) leaves the older finalizer linked and pending, and
    /// the exit runs it. Watched owners should behave the same.
    @Test func hostBagMidDeinitAtExitRunsTheRest() throws {
        let child = try runFixture("host-bag-mid-deinit-at-exit")
        #expect(child.exitStatus == 0)
        #expect(child.stdoutLines == ["H2 started", "exiting", "H1 ran"])
    }

    // MARK: - Re-entrant exit (C calls it undefined; this is what glibc does)

    /// A cleanup run at exit calls exit(7): glibc's nested exit finishes the
    /// remaining handlers and ends the process with status 7; the cleanups
    /// older than it (f1) never run. No hang, no crash.
    @Test func exitInsideAnExitCleanup() throws {
        let child = try runFixture("exit-in-exit-cleanup")
        #expect(child.terminatingSignal == nil)
        #expect(child.exitStatus == 7)
        #expect(child.stdoutLines == ["main returns", "f3 ran", "f2 calls exit(7)"])
    }

    /// A cleanup run by runNow() calls exit(6): the others still run at exit
    /// (that one is not run again), the status is 6.
    @Test func exitInsideARunNowCleanup() throws {
        let child = try runFixture("exit-in-runnow-cleanup")
        #expect(child.exitStatus == 6)
        #expect(child.stdoutLines == ["f2 calls exit(6)", "f1 ran"])
    }

    /// A cleanup at exit waits for a thread that calls exit(9): the second
    /// exit ends the process (status 9) with the older cleanup not run; no
    /// deadlock on glibc 2.36.
    @Test func exitCleanupWaitingForAnExitingThread() throws {
        let child = try runFixture("cleanup-waits-for-exiting-thread")
        #expect(child.terminatingSignal == nil)
        #expect(child.exitStatus == 9)
        #expect(child.stdoutLines.prefix(2) == ["main returns", "e2 waits for a thread calling exit(9)"])
    }

    // MARK: - Sound

    /// Cleanups registered by a cleanup at exit run next, newest first
    /// (their own registrations too); a runsAtExit == false one does not; a
    /// host owner released inside the cleanup runs its cleanup at once.
    @Test func registrationsDuringExitRunNext() throws {
        let child = try runFixture("register-during-exit")
        #expect(child.exitStatus == 0)
        #expect(
            child.stdoutLines == [
                "main returns", "c2", "n4 temporary host", "n5 watched", "m1 nested", "n2 watched", "n1 host", "c1",
            ])
        #expect(child.stderr.isEmpty)
    }

    /// exit(4) from a non-main thread runs the cleanups there; status 4.
    @Test func exitFromANonMainThread() throws {
        let child = try runFixture("exit-from-thread")
        #expect(child.exitStatus == 4)
        #expect(child.stdoutLines == ["thread calls exit(4)", "watched ran on main thread: false", "host ran"])
    }

    /// A cleanup that throws at exit, and one it registers that throws: both
    /// reported on stderr with their sites and the trigger; status unchanged.
    @Test func throwingCleanupsAtExit() throws {
        let child = try runFixture("throw-at-exit")
        #expect(child.exitStatus == 5)
        #expect(child.stdoutLines == ["t2 throws", "t3 throws", "t1 ran"])
        #expect(child.stderr.contains("failed during shutdown: TestError(t2)"))
        #expect(child.stderr.contains("failed during shutdown: TestError(t3)"))
    }

    /// A cleanup at exit blocks on a thread that registers, runs, detaches
    /// and releases a host owner; no deadlock, and everything lands once.
    @Test func exitCleanupBlockingOnAnotherThread() throws {
        let child = try runFixture("cleanup-blocks-on-thread-at-exit")
        #expect(child.exitStatus == 0)
        #expect(
            child.stdoutLines == [
                "main returns", "b2 waits", "w runNow by worker", "w detached", "w host released by worker",
                "b2 done", "w registered ran", "b1 ran",
            ])
    }

    /// shutdown() called again from a cleanup run at exit: each cleanup once.
    @Test func nestedShutdownDuringExit() throws {
        let child = try runFixture("nested-shutdown-at-exit")
        #expect(child.exitStatus == 0)
        #expect(child.stdoutLines == ["main returns", "s3 ran", "s2 nested shutdown", "s1 ran", "s2 nested ran 1"])
    }

    /// A million pending finalizers (half host, half watched) at exit: all
    /// run, in well under the deadline.
    @Test func aMillionPendingAtExit() throws {
        let started = ContinuousClock.now
        let child = try runFixture("million-pending-at-exit", timeoutSeconds: 120)
        #expect(child.exitStatus == 0)
        #expect(child.stdoutLines == ["main returns", "ran 1000000 of 1000000"])
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    /// Two workers register (host and watched), release, let owners die,
    /// runNow and detach while main calls exit(0) (or a worker does). An
    /// after-shutdown hook joins the workers and checks: nothing ran twice,
    /// nothing detached ran, and everything registered and left pending
    /// before exit() was called has run.
    @Test(arguments: ["exit-race", "exit-race-from-worker"], 1...3)
    func exitRace(mode: String, round: Int) throws {
        let child = try runFixture(mode)
        #expect(child.exitStatus == 0)
        let summary = child.stdoutLines.last ?? ""
        #expect(summary.hasSuffix("lost 0 doubled 0 detachedRan 0"), "\(summary) \(child.stderr)")
    }
}
