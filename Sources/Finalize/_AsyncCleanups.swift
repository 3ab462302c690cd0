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
/// A pthread mutex and condition variable, because the exit path must wait
/// with a deadline on a thread that is not part of Swift concurrency.
final class _AsyncCleanups: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`: the registration sites of the cleanups running,
    /// by token.
    private var running: [UInt64: _SiteOfRun] = [:]
    private var nextToken: UInt64 = 0
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

    /// Cleanups running now (a snapshot).
    var count: Int { withLock { running.count } }

    /// Tasks waiting in `drain()` (for tests).
    var waiterCount: Int { withLock { waiters.count } }

    /// Where the cleanups running now were registered (a snapshot).
    var runningSites: [_SiteOfRun] { withLock { Array(running.values) } }

    /// A cleanup registered at `site` starts; give the token to `finished`.
    func started(fileID: String, line: Int) -> UInt64 {
        withLock {
            nextToken += 1
            running[nextToken] = _SiteOfRun(fileID: fileID, line: line)
            return nextToken
        }
    }

    func finished(_ token: UInt64) {
        let resumed: [CheckedContinuation<Void, Never>] = withLock {
            running[token] = nil
            guard running.isEmpty else { return [] }
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
                if running.isEmpty { return true }
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
            let (seconds, attoseconds) = deadline.components
            var time = timespec()
            time.tv_sec = .init(seconds)
            time.tv_nsec = .init(attoseconds / 1_000_000_000)
            while !running.isEmpty {
                #if os(Linux)
                if pthread_cond_timedwait(condition, mutex, &time) == ETIMEDOUT { break }
                #else
                // Darwin: relative wait (no monotonic clock attribute).
                let remaining = deadline - _monotonicNow()
                guard remaining > .zero else { break }
                let (s, a) = remaining.components
                var relative = timespec(tv_sec: .init(s), tv_nsec: .init(a / 1_000_000_000))
                if pthread_cond_timedwait_relative_np(condition, mutex, &relative) == ETIMEDOUT { break }
                #endif
            }
            return running.count
        }
    }
}

/// Where a running asynchronous cleanup was registered.
struct _SiteOfRun: Sendable {
    let fileID: String
    let line: Int
}

/// Checks the result of a pthread call that cannot fail when used
/// correctly; a failure is a bug in Finalize, and continuing would corrupt
/// state.
@inline(__always)
func _check(_ result: Int32, _ call: StaticString) {
    if result != 0 { fatalError("Finalize: \(call) failed with error \(result)") }
}
