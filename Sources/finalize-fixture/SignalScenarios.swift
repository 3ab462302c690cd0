// The signal shutdown (`FinalizerRegistry.shutdownOnSignals`), for
// Tests/FinalizeTests/SignalShutdownTests.swift: each scenario says "ready"
// and waits; the test sends the signals. Each prints what ran, one line
// each, to standard output.

import Finalize
import FinalizeTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func runSignalScenario(_ mode: String) -> Bool {
    switch mode {
    case "signal":
        try! FinalizerRegistry.shutdownOnSignals([SIGTERM, SIGINT])
        registerAcrossRegistries()
        waitForSignal()
    case "signal-unhandled":
        registerAcrossRegistries()
        waitForSignal()
    case "signal-twice":
        try! FinalizerRegistry.shutdownOnSignals([SIGTERM, SIGINT])
        Registries.custom.finalize(Forever.plain) { () async in
            say("stuck cleanup started")
            await suspendForever()
        }
        waitForSignal()
    case "signal-timeout":
        try! FinalizerRegistry.shutdownOnSignals([SIGTERM])
        registerAStuckCleanup()
        waitForSignal()
    case "signal-registry-dropped":
        try! FinalizerRegistry.shutdownOnSignals([SIGTERM])
        makeARegistryThatIsDroppedDuringTheShutdown()
        waitForSignal()
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

/// The only reference to the registry of "signal-registry-dropped" (the
/// signal shutdown's own is the other, while it runs).
let droppable = Mutex<FinalizerRegistry?>(nil)
/// Set by the cleanup that blocks that registry's sweeper thread.
let sweeperIsStuck = Atomic<Bool>(false)

/// A registry whose sweeper thread is stuck in a cleanup for good, and whose
/// one pending `runsAtExit` cleanup, run by the signal shutdown, drops the
/// last reference to it besides the shutdown's and then never ends (so the
/// shutdown times out, 300 ms later). The shutdown must still end the
/// process with the signal: it must not be the one to end that registry
/// (which would join the stuck sweeper thread).
func makeARegistryThatIsDroppedDuringTheShutdown() {
    let registry = FinalizerRegistry(sweepInterval: .milliseconds(10), exitTimeout: .milliseconds(300)) { failure in
        say("onFailure: \(failure)")
    }
    registry.finalize(Plain(), runsAtExit: false) {
        say("sweeper stuck")
        sweeperIsStuck.store(true, ordering: .releasing)
        while true { pause() }
    }
    while !sweeperIsStuck.load(ordering: .acquiring) { sched_yield() }
    registry.finalize(Forever.host) { () async in
        droppable.withLock { $0 = nil }
        say("registry dropped")
        await suspendForever()
    }
    droppable.withLock { $0 = registry }
}
