// The samples of Sources/Finalize/Finalize.docc/Shutdown.md (the
// service-lifecycle one is compiled in Examples/ServiceLifecycle).

import Finalize
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func asynchronousCleanup(registry: FinalizerRegistry, pool: Pool, connections: Connections) async throws {
    let f = registry.finalize(pool) { () async throws in
        try await connections.closeAll()
    }
    try await f.runNow()        // awaits the close; cancelling the caller does not cancel it
}

func shutDown(registry: FinalizerRegistry, logger: Logger) async {
    let ran = await registry.shutdown()    // newest first, each async cleanup awaited, then drained
    logger.info("ran \(ran) cleanups at shutdown")
}

func handleSignals() throws {
    try FinalizerRegistry.shutdownOnSignals([SIGTERM, SIGINT])
}

func waitForSIGTERM() {
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &signals, nil)   // first, before starting threads: they inherit the mask
    // ... start the server's threads ...
    var received: Int32 = 0
    sigwait(&signals, &received)                // an ordinary thread, not a signal handler
    exit(0)                                     // runs the pending cleanups, newest first
}
