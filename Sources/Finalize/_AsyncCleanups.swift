#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The asynchronous cleanups of one registry that have started and not yet
/// finished, so that `drain()`, `shutdown()` and process exit can wait for
/// them: async callers with a continuation, the exiting thread by blocking
/// with a deadline.
///
/// The running set (finalizer addresses; each task keeps its finalizer
/// until it has left the set) is guarded by a spin lock, so starting and
/// finishing a cleanup costs two short critical sections; the pthread mutex
/// and condition variable are touched only when the set becomes empty and
/// by waiters (the exit path must wait with a deadline on a thread that is
/// not part of Swift concurrency).
final class _AsyncCleanups: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let runningLock = _SpinLock()
    /// Guarded by `runningLock`.
    private var running: Set<UInt> = []
    /// Guarded by `mutex`.
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init() {
        _check(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
        var attributes = pthread_condattr_t()
        _check(pthread_condattr_init(&attributes), "pthread_condattr_init")
        #if os(Linux)
        _check(pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC), "pthread_condattr_setclock")
        #endif
        _check(pthread_cond_init(condition, &attributes), "pthread_cond_init")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    private func withLock<Result>(_ body: () -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    private var isIdle: Bool { runningLock.withLock { running.isEmpty } }

    /// Cleanups running now (a snapshot).
    var count: Int { runningLock.withLock { running.count } }

    /// Tasks waiting in `drain()` (for tests).
    var waiterCount: Int { withLock { waiters.count } }

    /// Where the cleanups running now were registered (a snapshot).
    var runningSites: [(fileID: String, line: Int)] {
        runningLock.withLock {
            running.map { address in
                // In the set, so its task still keeps it.
                Unmanaged<_AnyFinalizer>.fromOpaque(UnsafeRawPointer(bitPattern: address).unsafelyUnwrapped)
                    ._withUnsafeGuaranteedRef { $0._site }
            }
        }
    }

    /// `finalizer`'s cleanup starts; its task keeps it until `finished`.
    func started(_ finalizer: _AnyFinalizer) {
        let address = UInt(bitPattern: Unmanaged.passUnretained(finalizer).toOpaque())
        runningLock.withLock { _ = running.insert(address) }
    }

    func finished(_ finalizer: _AnyFinalizer) {
        let address = UInt(bitPattern: Unmanaged.passUnretained(finalizer).toOpaque())
        let idle = runningLock.withLock {
            running.remove(address)
            return running.isEmpty
        }
        guard idle else { return }
        let resumed: [CheckedContinuation<Void, Never>] = withLock {
            pthread_cond_broadcast(condition)
            defer { waiters = [] }
            return waiters
        }
        for waiter in resumed { waiter.resume() }
    }

    /// Returns once no cleanup is running (those started meanwhile
    /// included).
    func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = withLock {
                if isIdle { return true }
                waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Blocks the calling thread until no cleanup is running or `deadline`
    /// (monotonic) passes; returns how many are still running.
    func wait(until deadline: Duration) -> Int {
        withLock {
            while !isIdle {
                guard _timedWait(condition, mutex, until: deadline) else { break }
            }
            return count
        }
    }
}

/// Checks the result of a pthread call that cannot fail when used
/// correctly; a failure is a bug in Finalize, and continuing would corrupt
/// state.
@inline(__always)
func _check(_ result: Int32, _ call: StaticString) {
    if result != 0 { fatalError("Finalize: \(call) failed with error \(result)") }
}

/// A one-time event a thread can wait for with a deadline (the signal
/// watcher waits for the shutdown task).
final class _Completion: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`.
    private var done = false

    init() {
        _check(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
        var attributes = pthread_condattr_t()
        _check(pthread_condattr_init(&attributes), "pthread_condattr_init")
        #if os(Linux)
        _check(pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC), "pthread_condattr_setclock")
        #endif
        _check(pthread_cond_init(condition, &attributes), "pthread_cond_init")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func complete() {
        pthread_mutex_lock(mutex)
        done = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks until completed or `deadline` (monotonic) passes; true if
    /// completed.
    func wait(until deadline: Duration) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !done {
            guard _timedWait(condition, mutex, until: deadline) else { break }
        }
        return done
    }
}

/// Waits on `condition` (with `mutex` held) until signalled or `deadline`
/// (monotonic); false once the deadline has passed.
func _timedWait(
    _ condition: UnsafeMutablePointer<pthread_cond_t>, _ mutex: UnsafeMutablePointer<pthread_mutex_t>,
    until deadline: Duration
) -> Bool {
    #if os(Linux)
    let (seconds, attoseconds) = deadline.components
    var time = timespec()
    time.tv_sec = .init(seconds)
    time.tv_nsec = .init(attoseconds / 1_000_000_000)
    return pthread_cond_timedwait(condition, mutex, &time) != ETIMEDOUT
    #else
    // Darwin: a relative wait (no monotonic clock attribute).
    let remaining = deadline - _monotonicNow()
    guard remaining > .zero else { return false }
    let (seconds, attoseconds) = remaining.components
    var relative = timespec(tv_sec: .init(seconds), tv_nsec: .init(attoseconds / 1_000_000_000))
    return pthread_cond_timedwait_relative_np(condition, mutex, &relative) != ETIMEDOUT
    #endif
}
