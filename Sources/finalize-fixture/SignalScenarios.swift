// The signal shutdown (`FinalizerRegistry.shutdownOnSignals`), for
// Tests/FinalizeTests/SignalShutdownTests.swift: each scenario says "ready"
// and waits; the test sends the signals. Each prints what ran, one line
// each, to standard output.

import Finalize
import FinalizeTestSupport

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
