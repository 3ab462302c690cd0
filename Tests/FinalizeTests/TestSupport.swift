// Helpers shared by the core test suite.
//
// Ground rules every test follows (they run in parallel, in debug, release and
// under ThreadSanitizer):
// - each test makes its own `FinalizerRegistry(sweepInterval: nil)`; only the
//   child-process tests touch `FinalizerRegistry.shared`, in the child;
// - no sleeps as synchronization: threads meet at barriers and are joined;
// - ARC may end a lifetime earlier or later than the source suggests, so a
//   test never asserts an early release. It asserts "not before X" while the
//   owner is provably alive (`withExtendedLifetime`) and "no later than Y"
//   after the last reference is gone and its scope has ended.
// - cleanups record what they see; the test body asserts afterwards, so
//   nothing is `#expect`ed from a thread the test does not own.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import Testing
@testable import Finalize

// MARK: - Shared mutable state for cleanups

/// A value behind a lock, shareable with `@Sendable` cleanups.
///
/// A `pthread_mutex_t`, not `Synchronization.Mutex`: on Linux, a contended
/// `Mutex` waits in the (uninstrumented) standard library, so
/// ThreadSanitizer misses its happens-before edges and reports false races.
final class Locked<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var storage: Value

    init(_ value: Value) {
        storage = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&storage)
    }

    var value: Value { withLock { $0 } }

    func set(_ newValue: Value) { withLock { $0 = newValue } }

    /// Takes the value out, leaving `replacement`; the old value is released
    /// by the caller, on the caller's thread, after the lock is dropped.
    func exchange(_ replacement: Value) -> Value {
        withLock { value in
            let old = value
            value = replacement
            return old
        }
    }

    /// Drops the held reference: an owner kept only here gets its last
    /// release during this call, on the calling thread.
    func clear<Wrapped>() where Value == Wrapped? {
        _ = exchange(nil)
    }
}

/// An append-only list of events, in the order they happened.
final class EventLog: Sendable {
    private let entries = Locked<[String]>([])

    func append(_ event: String) { entries.withLock { $0.append(event) } }

    var events: [String] { entries.value }

    /// How many times `event` was recorded.
    func count(_ event: String) -> Int { entries.withLock { $0.count { $0 == event } } }
}

/// A shared counter.
final class Counter: Sendable {
    private let storage = Atomic<Int>(0)

    func increment() { storage.add(1, ordering: .relaxed) }

    var value: Int { storage.load(ordering: .relaxed) }
}

/// Collects what a registry reports through `onFailure`.
final class FailureLog: Sendable {
    private let failures = Locked<[FinalizerFailure]>([])

    var handler: @Sendable (FinalizerFailure) -> Void {
        { [self] failure in failures.withLock { $0.append(failure) } }
    }

    var all: [FinalizerFailure] { failures.value }
}

struct TestError: Error, Equatable, CustomStringConvertible {
    var tag: String
    init(_ tag: String) { self.tag = tag }
    var description: String { "TestError(\(tag))" }
}

// MARK: - Lifetime tracking (after swift-collections' LifetimeTracked)

/// Counts the live instances created for it; thread-safe.
final class LifetimeTracker: Sendable {
    private let live = Atomic<Int>(0)
    private let created = Atomic<Int>(0)

    /// Instances created and not yet deinitialized.
    var instances: Int { live.load(ordering: .acquiring) }
    /// Instances ever created.
    var total: Int { created.load(ordering: .relaxed) }

    func instance(_ payload: Int = 0) -> LifetimeTracked { LifetimeTracked(payload, for: self) }

    fileprivate func didCreate() -> Int {
        live.add(1, ordering: .relaxed)
        return created.add(1, ordering: .relaxed).newValue
    }

    fileprivate func didDestroy() { live.subtract(1, ordering: .releasing) }
}

/// An object whose deinit is counted by its tracker; usable as a watched
/// owner, as a resource, or as something a cleanup captures.
final class LifetimeTracked: Sendable, CustomStringConvertible {
    let tracker: LifetimeTracker
    let payload: Int
    let serialNumber: Int

    init(_ payload: Int, for tracker: LifetimeTracker) {
        self.tracker = tracker
        self.payload = payload
        serialNumber = tracker.didCreate()
    }

    deinit { tracker.didDestroy() }

    var description: String { "LifetimeTracked(\(payload))" }
}

// MARK: - Owners

/// A host owner: its finalizers run inside its last release.
final class Host: FinalizerHost, Sendable {
    let finalizers = FinalizerBag()
    let token: LifetimeTracked?

    init(tracker: LifetimeTracker? = nil) {
        token = tracker.map { LifetimeTracked(0, for: $0) }
    }
}

/// Any other class: watched, its finalizers run at the first sweep after it
/// died.
final class Plain: Sendable {
    let token: LifetimeTracked?

    init(tracker: LifetimeTracker? = nil) {
        token = tracker.map { LifetimeTracked(0, for: $0) }
    }
}

/// The two kinds of owner, for tests that hold for both.
enum OwnerKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case host, watched

    var testDescription: String { rawValue }

    func make(tracker: LifetimeTracker? = nil) -> AnyObject & Sendable {
        switch self {
        case .host: Host(tracker: tracker)
        case .watched: Plain(tracker: tracker)
        }
    }

    /// The trigger that runs a cleanup because its owner died.
    var deathTrigger: FinalizerTrigger {
        switch self {
        case .host: .ownerDeinit
        case .watched: .sweep
        }
    }

    /// After the owner's last release: what it takes for its cleanups to run
    /// (nothing for a host; a sweep for a watched owner). Returns what the
    /// sweep ran (0 for a host).
    @discardableResult
    func collect(_ registry: FinalizerRegistry) -> Int {
        switch self {
        case .host: 0
        case .watched: registry.sweep()
        }
    }
}

/// Registers through the statically typed `FinalizerHost` overload when the
/// owner is a `Host`, otherwise through the `AnyObject` overload.
@discardableResult
func register(
    _ registry: FinalizerRegistry, on owner: AnyObject, runsAtExit: Bool = true,
    _ cleanup: @escaping @Sendable () throws -> Void
) -> Finalizer<Void> {
    if let host = owner as? Host {
        return registry.finalize(host, runsAtExit: runsAtExit, cleanup)
    }
    return registry.finalize(owner, runsAtExit: runsAtExit, cleanup)
}

// MARK: - Threads

private final class ThreadBody: @unchecked Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// Starts a POSIX thread running `body`; join it with `pthread_join`.
func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
        body.body()
        return nil
    }, context)
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}

/// Runs `body` on a new thread and waits for it to finish.
func onNewThread(_ body: @escaping @Sendable () -> Void) {
    pthread_join(startThread(body), nil)
}

/// Runs `body(index)` on `count` new threads that start together (they meet
/// at a barrier first), and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let barrier = SpinBarrier(count: count)
    let threads = (0..<count).map { index in
        startThread {
            barrier.arriveAndWait()
            body(index)
        }
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// A one-shot barrier: every participant waits until all have arrived.
final class SpinBarrier: Sendable {
    private let arrived = Atomic<Int>(0)
    private let count: Int

    init(count: Int) { self.count = count }

    func arriveAndWait() {
        arrived.add(1, ordering: .acquiringAndReleasing)
        while arrived.load(ordering: .acquiring) < count { sched_yield() }
    }
}

/// True if both are the same thread.
func isSameThread(_ a: pthread_t, _ b: pthread_t) -> Bool { pthread_equal(a, b) != 0 }

/// Waits for `condition` with a generous deadline, re-checking every
/// millisecond. The short pause is a retry interval around a condition, never
/// the synchronization itself. Returns the condition's final value.
func eventually(timeoutSeconds: Double = 20, _ condition: () -> Bool) -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + .milliseconds(Int(timeoutSeconds * 1000))
    while !condition() {
        if clock.now > deadline { return condition() }
        usleep(1000)
    }
    return true
}

/// A one-time signal from a cleanup (possibly on another thread) to the test.
/// `@unchecked`: the pthread objects are used only through their own API.
final class Signal: @unchecked Sendable {
    private let fired = Atomic<Bool>(false)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    var isFired: Bool { fired.load(ordering: .acquiring) }

    func fire() {
        pthread_mutex_lock(mutex)
        fired.store(true, ordering: .releasing)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until fired or until `timeoutSeconds` passed; true if fired.
    func wait(timeoutSeconds: Int = 20) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += timeoutSeconds
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !fired.load(ordering: .acquiring) {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
        }
        return fired.load(ordering: .acquiring)
    }
}

// MARK: - A look inside (kept in one place: these read library internals)

extension FinalizerRegistry {
    /// How many shards the registry's tables are split into.
    var shardCount: Int { _core.shards.count }

    /// Entries in the watched tables, live or not yet dropped.
    var watchedTableSize: Int {
        _core.shards.reduce(0) { $0 + $1.watchedEntries.load(ordering: .relaxed) }
    }

}
