// finalize-fixture: a child process for the tests that need a real process
// exit (Tests/FinalizeTests/ProcessExitTests.swift). It uses the shared
// registry through the free `finalize` functions, as an application would.
//
//   finalize-fixture atexit   CPython's FinalizeTestCase.run_in_child, then
//                             return from main; expected stdout:
//                             f4 foobar / f3 error / g1 / f1 foobar,
//                             the ZeroDivisionError on stderr, status 0.
//   finalize-fixture exit     registers on a host and a watched owner, then
//                             calls exit(3): both run, the status stays 3.
//   finalize-fixture once     finalizers that ran or were detached before
//                             the exit do not run (again) at exit.
//   finalize-fixture exit-every-registry, exit-timeout, signal, signal-*:
//                             process exit and signal shutdown across
//                             registries (ShutdownScenarios.swift).
//   finalize-fixture fork-churn [children] [threads]
//                             threads (2) churn registrations while main
//                             forks children (200) that register and
//                             exit(0); prints how many exited and how many
//                             hung (ForkChurn.swift).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Finalize

/// Writes `text` to a file descriptor with write(2): unbuffered, so the
/// order of lines is the order of calls, whatever runs at exit.
func write(_ text: String, to descriptor: Int32) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Prints one line to standard output.
func say(_ line: String) {
    write(line + "\n", to: 1)
}

/// Python's `1/0`.
struct ZeroDivisionError: Error, CustomStringConvertible {
    var description: String { "ZeroDivisionError: division by zero" }
}

/// Stands for CPython's `cls`: an owner that stays alive until the process
/// exits, so only the exit runs its finalizers.
final class Cls: Sendable {}

final class HostOwner: FinalizerHost, Sendable {
    let finalizers = FinalizerBag()
}

enum Globals {
    static let cls = Cls()
    static let globalVar = "foobar"
    static let host = HostOwner()
}

/// `FinalizeTestCase.run_in_child`.
func runInChild() {
    let cls = Globals.cls
    let globalVar = Globals.globalVar

    // error(): create an at-exit finalizer from inside a finalizer called at
    // exit. It should be the next to be run.
    let error: @Sendable () throws -> Void = {
        finalize(cls) { say("g1") }
        say("f3 error")
        throw ZeroDivisionError()
    }

    let f1 = finalize(cls) { say("f1 \(globalVar)") }
    let f2 = finalize(cls) { say("f2 \(globalVar)") }
    let f3 = finalize(cls, error)
    let f4 = finalize(cls) { say("f4 \(globalVar)") }

    precondition(f1.runsAtExit == true)
    f2.runsAtExit = false
    precondition(f3.runsAtExit == true)
    precondition(f4.runsAtExit == true)
}

/// `exit(3)` runs the shared registry's shutdown too, newest first, and the
/// status stays 3.
func exitWithStatus3() -> Never {
    finalize(Globals.host) { say("host cleanup ran at exit") }
    finalize(Globals.cls) { say("watched cleanup ran at exit") }
    say("calling exit(3)")
    exit(3)
}

/// Only pending finalizers run at exit: one that ran, one detached and one
/// whose host owner already died do not run again.
func onlyPendingRunAtExit() {
    let ranEarly = finalize(Globals.cls) { say("ran early") }
    _ = try? ranEarly.runNow()
    let detached = finalize(Globals.cls) { say("detached ran!") }
    _ = detached.detach()
    do {
        let host = HostOwner()
        finalize(host) { say("host released") }
        withExtendedLifetime(host) {}
    }
    finalize(Globals.cls) { say("pending ran at exit") }
    say("main returns")
}

switch CommandLine.arguments.dropFirst().first {
case "atexit":
    runInChild()
case "exit":
    exitWithStatus3()
case "once":
    onlyPendingRunAtExit()
case "fork-churn":
    let numbers = CommandLine.arguments.dropFirst(2).map { Int($0) }
    runForkChurn(
        children: (numbers.first ?? nil) ?? 200, churnThreads: (numbers.dropFirst().first ?? nil) ?? 2,
        deadlineSeconds: 2, concurrentChildren: 8)
case let mode? where runExitProbe(mode):
    break
case let mode? where runShutdownScenario(mode):
    break
default:
    write("usage: finalize-fixture atexit|exit|once|fork-churn [children] [threads]|probe-<name>\n", to: 2)
    exit(64)
}
