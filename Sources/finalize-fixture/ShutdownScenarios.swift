// Scenarios of process exit and signal shutdown with several registries and
// asynchronous cleanups (Tests/FinalizeTests/ShutdownAtExitTests.swift).
// Each prints what ran, one line each, to standard output.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Finalize

/// A registry the program keeps in a global, as the docs suggest for
/// routing failures: never deinitialized, so only the exit hook can run
/// its finalizers.
enum Registries {
    static let custom = FinalizerRegistry(sweepInterval: nil, exitTimeout: .seconds(5)) { failure in
        say("custom onFailure: \(failure)")
    }
    static let impatient = FinalizerRegistry(sweepInterval: nil, exitTimeout: .milliseconds(300)) { failure in
        say("impatient onFailure: \(failure)")
    }
}

/// An async step that really suspends (a yield to the scheduler), so that
/// the order of lines shows whether each cleanup was awaited.
func suspendBriefly() async {
    for _ in 0..<20 { await Task.yield() }
}

/// Does not return for an hour: an async cleanup that is stuck (the
/// scenario is what happens to it, not a way to wait for something).
func suspendForever() async {
    try? await Task.sleep(for: .seconds(3600))
}

/// Registrations on the shared and a custom registry, interleaved, sync and
/// async; expected at exit, newest first across both: a4 s3 c2 s1 (each
/// async one finished before the next starts only with the awaiting
/// shutdown; at exit they start in that order and all finish).
func registerAcrossRegistries() {
    let owner = Globals.cls
    finalize(owner) { say("s1 shared sync") }
    Registries.custom.finalize(owner) { () async in
        await suspendBriefly()
        say("c2 custom async")
    }
    finalize(owner) { say("s3 shared sync") }
    Registries.custom.finalize(owner) { say("c4 custom sync") }
}

func runShutdownScenario(_ mode: String) -> Bool {
    switch mode {
    case "exit-every-registry":
        registerAcrossRegistries()
        say("main returns")
    case "exit-timeout":
        Registries.impatient.finalize(Globals.host) { () async in
            say("stuck cleanup started")
            await suspendForever()
        }
        Registries.impatient.finalize(Globals.cls) { say("sync cleanup ran") }
        say("main returns")
    case "signal":
        try! FinalizerRegistry.shutdownOnSignals([SIGTERM, SIGINT])
        registerAcrossRegistries()
        waitForSignal()
    case "signal-unhandled":
        registerAcrossRegistries()
        waitForSignal()
    case "signal-twice":
        try! FinalizerRegistry.shutdownOnSignals([SIGTERM, SIGINT])
        Registries.custom.finalize(Globals.cls) { () async in
            say("stuck cleanup started")
            await suspendForever()
        }
        waitForSignal()
    case "signal-timeout":
        try! FinalizerRegistry.shutdownOnSignals([SIGTERM])
        Registries.impatient.finalize(Globals.host) { () async in
            say("stuck cleanup started")
            await suspendForever()
        }
        Registries.impatient.finalize(Globals.cls) { say("sync cleanup ran") }
        waitForSignal()
    case "signal-bad":
        do {
            try FinalizerRegistry.shutdownOnSignals([SIGKILL])
            say("accepted SIGKILL")
        } catch {
            say("\(error)")
        }
    default:
        return false
    }
    return true
}

/// Says "ready" and waits for a signal to end the process.
func waitForSignal() -> Never {
    say("ready")
    while true { pause() }
}
