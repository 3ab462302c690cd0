#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Where a registry's sweeper thread sleeps, and how it is woken or stopped.
///
/// The sweeper sleeps without a deadline while nothing is watched (`idle`
/// is then true) and a registration that adds the first watched entry wakes
/// it. A pthread mutex and condition variable, because `Mutex` has no wait.
final class _SweepSignal: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`.
    private var stopped = false
    /// True while the sweeper waits for the first watched entry.
    let idle = Atomic<Bool>(false)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func wake() {
        pthread_mutex_lock(mutex)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    // Fork handlers (`ForkSafety`): the mutex is the last lock `prepare`
    // takes (nothing takes a library lock while holding it).

    func lockForFork() {
        pthread_mutex_lock(mutex)
    }

    func unlockAfterFork() {
        pthread_mutex_unlock(mutex)
    }

    /// In a forked child: the condition's waiters were the parent's
    /// threads, so it starts afresh; the mutex, taken by `prepare` on the
    /// forking thread, is released.
    func resetInChild() {
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        pthread_mutex_unlock(mutex)
    }

    /// `now` plus `interval`, saturating: a deadline past what `timespec`
    /// holds becomes the latest one it holds (the registry clamps intervals
    /// to 100 years already; this keeps the arithmetic safe on its own).
    static func deadline(from now: timespec, after interval: Duration) -> timespec {
        let (seconds, attoseconds) = interval.components
        guard seconds >= 0, attoseconds >= 0 else { return now }
        let nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        let (partial, overflow) = Int(now.tv_sec).addingReportingOverflow(Int(seconds))
        let (total, carryOverflow) = partial.addingReportingOverflow(nanoseconds / 1_000_000_000)
        var deadline = timespec()
        if overflow || carryOverflow {
            deadline.tv_sec = .max
            deadline.tv_nsec = 999_999_999
        } else {
            deadline.tv_sec = total
            deadline.tv_nsec = nanoseconds % 1_000_000_000
        }
        return deadline
    }

    /// Blocks until something is watched and `interval` has passed; false
    /// once stopped.
    func waitForSweep(interval: Duration, hasWork: () -> Bool) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !stopped {
            if !hasWork() {
                idle.store(true, ordering: .sequentiallyConsistent)
                if !hasWork() && !stopped {
                    pthread_cond_wait(condition, mutex)
                }
                idle.store(false, ordering: .sequentiallyConsistent)
                continue
            }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            var deadline = Self.deadline(from: now, after: interval)
            while !stopped {
                if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
            }
            return !stopped
        }
        return false
    }
}

/// Starts the background sweeper of `core`; it holds the core (never the
/// public registry) and ends when `core.signal.stop()` is called.
func _startSweeper(core: _RegistryCore, interval: Duration) -> pthread_t? {
    let context = Unmanaged.passRetained(_SweeperContext(core: core, interval: interval)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        let context = Unmanaged<_SweeperContext>.fromOpaque(raw!).takeRetainedValue()
        let core = context.core
        while core.signal.waitForSweep(interval: context.interval, hasWork: { core.hasWatchedEntries }) {
            _ = core.sweepTick(now: monotonicNow())
        }
        return nil
    }, context)
    guard result == 0 else {
        Unmanaged<_SweeperContext>.fromOpaque(context).release()
        return nil
    }
    return thread
}

private final class _SweeperContext {
    let core: _RegistryCore
    let interval: Duration
    init(core: _RegistryCore, interval: Duration) {
        self.core = core
        self.interval = interval
    }
}
