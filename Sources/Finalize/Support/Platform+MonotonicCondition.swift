#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex and condition variable whose timed waits measure time on
/// the monotonic clock (`monotonicNow()`): what the sweeper sleeps on, what
/// process exit waits for asynchronous cleanups with, and what the signal
/// watcher waits for its shutdown with; `package`, so that the tests'
/// support target locks and waits with it too. (`Synchronization.Mutex` has
/// no wait, and on Linux ThreadSanitizer does not see its contended path.)
///
/// On Linux the condition variable is set to `CLOCK_MONOTONIC` and waits
/// for an absolute deadline; Darwin has no such attribute, so there it waits
/// for the time left (`pthread_cond_timedwait_relative_np`).
package final class MonotonicCondition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        checkPOSIX(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
        initializeCondition()
    }

    deinit {
        checkPOSIX(pthread_cond_destroy(condition), "pthread_cond_destroy")
        checkPOSIX(pthread_mutex_destroy(mutex), "pthread_mutex_destroy")
        condition.deallocate()
        mutex.deallocate()
    }

    private func initializeCondition() {
        #if canImport(Darwin)
        checkPOSIX(pthread_cond_init(condition, nil), "pthread_cond_init")
        #else
        var attributes = pthread_condattr_t()
        checkPOSIX(pthread_condattr_init(&attributes), "pthread_condattr_init")
        checkPOSIX(pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC), "pthread_condattr_setclock")
        checkPOSIX(pthread_cond_init(condition, &attributes), "pthread_cond_init")
        checkPOSIX(pthread_condattr_destroy(&attributes), "pthread_condattr_destroy")
        #endif
    }

    package func lock() {
        checkPOSIX(pthread_mutex_lock(mutex), "pthread_mutex_lock")
    }

    package func unlock() {
        checkPOSIX(pthread_mutex_unlock(mutex), "pthread_mutex_unlock")
    }

    package func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Wakes one waiter. Call it with the lock held.
    package func signal() {
        checkPOSIX(pthread_cond_signal(condition), "pthread_cond_signal")
    }

    /// Wakes every waiter. Call it with the lock held.
    package func broadcast() {
        checkPOSIX(pthread_cond_broadcast(condition), "pthread_cond_broadcast")
    }

    /// Waits, with the lock held, until woken (or woken spuriously).
    package func wait() {
        checkPOSIX(pthread_cond_wait(condition, mutex), "pthread_cond_wait")
    }

    /// Waits, with the lock held, until woken or until `deadline` (a
    /// `monotonicNow()` reading); false once the deadline has passed.
    package func wait(until deadline: Duration) -> Bool {
        #if canImport(Darwin)
        let remaining = deadline - monotonicNow()
        guard remaining > .zero else { return false }
        var relative = Self.posixTime(saturating: remaining)
        let result = pthread_cond_timedwait_relative_np(condition, mutex, &relative)
        #else
        var absolute = Self.posixTime(saturating: deadline)
        let result = pthread_cond_timedwait(condition, mutex, &absolute)
        #endif
        if result == ETIMEDOUT { return false }
        checkPOSIX(result, "pthread_cond_timedwait")
        return true
    }

    /// `duration` as a `timespec`, saturating: a negative one is zero, one
    /// past what `timespec` holds the latest it holds (the registry clamps
    /// sweep intervals to 100 years already; this keeps the arithmetic safe
    /// on its own).
    static func posixTime(saturating duration: Duration) -> timespec {
        var result = timespec()
        guard duration > .zero else { return result }
        guard duration < Duration(secondsComponent: Int64(Int.max), attosecondsComponent: 0) else {
            result.tv_sec = .max
            result.tv_nsec = 999_999_999
            return result
        }
        let (seconds, attoseconds) = duration.components
        result.tv_sec = .init(seconds)
        result.tv_nsec = .init(attoseconds / 1_000_000_000)
        return result
    }

    // Fork handlers (`ForkSafety`) hold the lock across a fork.

    /// In a forked child, with the lock held by the forking thread: the
    /// condition's waiters were the parent's threads, so it starts afresh
    /// (initialized again, not destroyed: destroying a condition variable
    /// that had waiters may wait for them, and they do not exist here).
    func resetInChild() {
        initializeCondition()
    }
}
