import Finalize
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Prints one line to standard output and flushes it, so that a file or pipe
/// (the CI script polls one) sees it at once, in order with the log lines on
/// standard error.
func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// The application's own work: serves (simulated) requests with the
/// resources until graceful shutdown.
struct RequestService: Service {
    let pool: ConnectionPool
    let sessions: SessionCache
    let metrics: MetricsBuffer
    let logger: Logger

    func run() async throws {
        say("ready")
        // Graceful shutdown cancels the loop; the service then returns.
        let served = await cancelWhenGracefulShutdown { [pool, sessions, metrics] in
            var served = 0
            while !Task.isCancelled {
                let start = ContinuousClock.now
                do {
                    try await pool.execute("SELECT * FROM carts WHERE user = \(served % 3)")
                } catch {
                    break  // cancelled mid-query
                }
                sessions.touch(user: "user-\(served % 3)")
                metrics.record(latency: .now - start)
                served += 1
                try? await Task.sleep(for: .milliseconds(50))
            }
            return served
        }
        logger.info("served \(served) requests")
        say("service: stopped serving requests")
    }
}

/// Runs the registry's pending finalizers when graceful shutdown reaches it.
///
/// Put it first in the group's services: the group shuts services down in
/// reverse order, so it stops last, once every other service has stopped
/// using the resources.
struct FinalizerShutdownService: Service {
    let registry: FinalizerRegistry
    let logger: Logger

    func run() async throws {
        // Returns at graceful shutdown; throws if the group is cancelled
        // instead (a cancellation signal, a failed service, a timeout): the
        // cleanups run then too.
        try? await gracefulShutdown()
        // Awaits every runsAtExit cleanup, newest registration first, then
        // any cleanup still running from an owner's death.
        let ran = await registry.shutdown()
        logger.info("finalizer shutdown ran \(ran) cleanups")
    }
}

@main
enum FinalizeServiceExample {
    static func main() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "finalize-service-example")

        // Host owners only, so no sweeper thread. A cleanup that throws is
        // logged; the others still run.
        let registry = FinalizerRegistry(sweepInterval: nil, exitTimeout: .seconds(5)) { failure in
            logger.error("cleanup failed", metadata: ["failure": "\(failure)"])
        }

        // Registration order: shutdown runs them in reverse.
        let pool = ConnectionPool(size: 4, registry: registry)
        let sessions = SessionCache(pool: pool, registry: registry)
        let metrics = MetricsBuffer(registry: registry)
        // Alive until the group has run: the cleanups run at its graceful
        // shutdown, not at an early last release.
        defer {
            extendLifetime(pool)
            extendLifetime(sessions)
            extendLifetime(metrics)
        }

        let group = ServiceGroup(
            services: [
                // First, so it stops last.
                FinalizerShutdownService(registry: registry, logger: logger),
                RequestService(pool: pool, sessions: sessions, metrics: metrics, logger: logger),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger
        )
        try await group.run()
        logger.info("stopped")
    }
}
