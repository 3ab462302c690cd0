// finalize-fixture: a child process for the tests that Swift Testing's exit
// tests (`#expect(processExitsWith:)`, which cover the other process-exit
// tests) cannot express:
//
// - the signal shutdown (SignalScenarios.swift): the test must send signals
//   to the running child once it has said "ready", and an exit test's body
//   cannot be signalled from the test while it runs;
// - fork safety (ForkChurn.swift): the child forks 200 grandchildren from a
//   multithreaded process and kills those that hang;
// - races and re-entrancy at exit (ExitRaces.swift): their failure mode is
//   a hang, and the test must kill a child that is still running after its
//   deadline; an exit test has no deadline (a `.timeLimit` does not end its
//   child process), so a regression would stop the whole test run.
//
// It uses the shared registry through the free `finalize` functions, as an
// application would; only this child touches `FinalizerRegistry.shared`.
//
//   finalize-fixture signal|signal-unhandled|signal-twice|signal-timeout|signal-registry-dropped
//   finalize-fixture fork-churn [children] [threads] [deadline seconds, 2]
//   finalize-fixture <exit race>   (the names in `runExitRace`)

import FinalizeTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The monotonic clock, in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

switch CommandLine.arguments.dropFirst().first {
case "fork-churn":
    let numbers = CommandLine.arguments.dropFirst(2).map { Int($0) }
    runForkChurn(
        children: (numbers.first ?? nil) ?? 200, churnThreads: (numbers.dropFirst().first ?? nil) ?? 2,
        deadlineSeconds: Double((numbers.dropFirst(2).first ?? nil) ?? 2), concurrentChildren: 8)
case let mode? where runExitRace(mode):
    break
case let mode? where runSignalScenario(mode):
    break
default:
    write(
        "usage: finalize-fixture signal|signal-unhandled|signal-twice|signal-timeout|signal-registry-dropped"
            + "|fork-churn|<exit race>\n", to: 2)
    exit(64)
}
