#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The asynchronous cleanups of one registry that have started and not yet
/// finished, so that `drain()`, `shutdown()` and process exit can wait for
/// them: async callers with a continuation, the exiting thread by blocking
/// with a deadline.
///
/// Starting and finishing a cleanup is one atomic add each; the pthread
/// mutex and condition variable are touched only when the count drops to
/// zero while someone waits (the exit path must wait with a deadline on a
/// thread that is not part of Swift concurrency).
final class RunningAsyncCleanups: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let running = Atomic<Int>(0)
    /// Threads and tasks waiting (announced before they look at `running`).
    private let waiting = Atomic<Int>(0)
    /// Guarded by `mutex`.
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init() {
        checkPOSIX(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
        var attributes = pthread_condattr_t()
        checkPOSIX(pthread_condattr_init(&attributes), "pthread_condattr_init")
        #if os(Linux)
        checkPOSIX(pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC), "pthread_condattr_setclock")
        #endif
        checkPOSIX(pthread_cond_init(condition, &attributes), "pthread_cond_init")
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

    /// Cleanups running now (a snapshot).
    var count: Int { running.load(ordering: .sequentiallyConsistent) }

    /// Tasks waiting in `drain()` (for tests).
    var waiterCount: Int { withLock { waiters.count } }

    /// A cleanup starts.
    @inline(__always)
    func started() {
        running.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    /// A cleanup ends; the last one wakes whoever waits.
    @inline(__always)
    func finished() {
        // Sequentially consistent with the waiters' announcement: a waiter
        // that announced itself after this decrement sees the count at 0.
        guard running.wrappingSubtract(1, ordering: .sequentiallyConsistent).newValue == 0,
            waiting.load(ordering: .sequentiallyConsistent) > 0
        else { return }
        let resumed: [CheckedContinuation<Void, Never>] = withLock {
            pthread_cond_broadcast(condition)
            defer { waiters = [] }
            return waiters
        }
        for waiter in resumed { waiter.resume() }
    }

    /// `prepare`: held across the fork, so no child inherits it held.
    func lockForFork() {
        pthread_mutex_lock(mutex)
    }

    /// `parent` and `child`. In a child, the cleanups that were running are
    /// the parent's tasks (no thread of the parent's concurrency pool exists
    /// here), and so are the waiters: forget them, and give the condition
    /// variable a fresh start.
    func unlockAfterFork(inChild: Bool) {
        if inChild {
            running.store(0, ordering: .sequentiallyConsistent)
            waiting.store(0, ordering: .sequentiallyConsistent)
            waiters = []
            pthread_cond_destroy(condition)
            var attributes = pthread_condattr_t()
            pthread_condattr_init(&attributes)
            #if os(Linux)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
            #endif
            pthread_cond_init(condition, &attributes)
            pthread_condattr_destroy(&attributes)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Returns once no cleanup is running (those started meanwhile
    /// included).
    func drain() async {
        waiting.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { waiting.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = withLock {
                if count == 0 { return true }
                waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Blocks the calling thread until no cleanup is running or `deadline`
    /// (monotonic) passes; returns how many are still running.
    func wait(until deadline: Duration) -> Int {
        waiting.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { waiting.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        return withLock {
            while count > 0 {
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
func checkPOSIX(_ result: Int32, _ call: StaticString) {
    if result != 0 { fatalError("Finalize: \(call) failed with error \(result)") }
}

/// A one-time event a thread can wait for with a deadline (the signal
/// watcher waits for the shutdown task).
final class OneTimeEvent: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`.
    private var done = false

    init() {
        checkPOSIX(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
        var attributes = pthread_condattr_t()
        checkPOSIX(pthread_condattr_init(&attributes), "pthread_condattr_init")
        #if os(Linux)
        checkPOSIX(pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC), "pthread_condattr_setclock")
        #endif
        checkPOSIX(pthread_cond_init(condition, &attributes), "pthread_cond_init")
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
    let remaining = deadline - monotonicNow()
    guard remaining > .zero else { return false }
    let (seconds, attoseconds) = remaining.components
    var relative = timespec(tv_sec: .init(seconds), tv_nsec: .init(attoseconds / 1_000_000_000))
    return pthread_cond_timedwait_relative_np(condition, mutex, &relative) != ETIMEDOUT
    #endif
}
