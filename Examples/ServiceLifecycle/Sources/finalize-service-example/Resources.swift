import Finalize
import Synchronization

// Three resources, each a small `FinalizerHost` class with one asynchronous
// finalizer. Each cleanup works on a `Sendable` object held apart from its
// owner (`holding:`), never on the owner itself: a cleanup that captured its
// owner would keep it alive forever.
//
// Registration order is pool, sessions, metrics, so the registry's shutdown
// (newest registration first) flushes the metrics, saves the sessions through
// the pool, and closes the pool last.

/// What a statement throws once its pool is closed: the failure that the
/// cleanup order prevents.
struct ConnectionPoolClosed: Error {}

/// The (simulated) open connections of a pool.
final class Connections: Sendable {
    private let open: Mutex<Int>

    init(count: Int) {
        open = Mutex(count)
    }

    /// Runs one statement on a connection; throws once the pool is closed.
    func execute(_ statement: String, roundTrip: Duration = .milliseconds(2)) async throws {
        guard open.withLock({ $0 > 0 }) else { throw ConnectionPoolClosed() }
        try await Task.sleep(for: roundTrip)  // simulated
    }

    /// Closes every connection (simulated: a goodbye frame each).
    func closeAll() async throws {
        try await Task.sleep(for: .milliseconds(20))
        open.withLock { $0 = 0 }
    }
}

/// A pool of database connections. Registered first, so it is cleaned up
/// last: the other cleanups may still use its connections.
final class ConnectionPool: FinalizerHost, Sendable {
    let finalizers = FinalizerBag()
    let connections: Connections

    init(size: Int, registry: FinalizerRegistry) {
        connections = Connections(count: size)
        registry.finalize(self, holding: connections) { connections in
            try await connections.closeAll()
            say("cleanup: closed connection pool")
        }
    }

    func execute(_ statement: String) async throws {
        try await connections.execute(statement)
    }
}

/// The sessions table: user to number of requests.
final class Sessions: Sendable {
    private let table = Mutex<[String: Int]>([:])

    func touch(_ user: String) {
        table.withLock { $0[user, default: 0] += 1 }
    }

    /// Writes the table through `connections` (simulated).
    func save(through connections: Connections) async throws {
        let rows = table.withLock { $0.count }
        try await connections.execute("INSERT INTO sessions … (\(rows) rows)", roundTrip: .milliseconds(20))
    }
}

/// Sessions kept in memory, saved through the pool when the cache goes.
final class SessionCache: FinalizerHost, Sendable {
    let finalizers = FinalizerBag()
    private let sessions = Sessions()

    /// Registered after `pool`, so its cleanup runs before the pool's, while
    /// the pool's connections are still open.
    init(pool: ConnectionPool, registry: FinalizerRegistry) {
        registry.finalize(self, holding: (sessions, pool.connections)) { held in
            let (sessions, connections) = held
            try await sessions.save(through: connections)
            say("cleanup: saved session cache")
        }
    }

    func touch(user: String) {
        sessions.touch(user)
    }
}

/// The samples not yet sent to the metrics collector.
final class PendingSamples: Sendable {
    private let samples = Mutex<[Duration]>([])

    func append(_ sample: Duration) {
        samples.withLock { $0.append(sample) }
    }

    /// Sends every pending sample to the collector (simulated); returns how
    /// many it sent.
    @discardableResult
    func flush() async throws -> Int {
        let batch = samples.withLock { samples in
            defer { samples = [] }
            return samples
        }
        try await Task.sleep(for: .milliseconds(20))  // simulated send
        return batch.count
    }
}

/// Request metrics buffered in memory, flushed when the buffer goes.
final class MetricsBuffer: FinalizerHost, Sendable {
    let finalizers = FinalizerBag()
    private let pending = PendingSamples()

    init(registry: FinalizerRegistry) {
        registry.finalize(self, holding: pending) { pending in
            try await pending.flush()
            say("cleanup: flushed metrics buffer")
        }
    }

    func record(latency: Duration) {
        pending.append(latency)
    }
}
