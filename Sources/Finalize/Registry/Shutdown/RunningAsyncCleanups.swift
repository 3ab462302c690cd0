import Synchronization

/// The asynchronous cleanups of one registry that have started and not yet
/// finished, so that `drain()`, `shutdown()` and process exit can wait for
/// them: async callers with a continuation, the exiting thread by blocking
/// with a deadline.
///
/// Starting and finishing a cleanup is one atomic add each; the condition
/// (a mutex and a condition variable) is touched only when the count drops
/// to zero while someone waits (the exit path must wait with a deadline on
/// a thread that is not part of Swift concurrency).
final class RunningAsyncCleanups: @unchecked Sendable {
    private let condition = MonotonicCondition()
    private let running = Atomic<Int>(0)
    /// Threads and tasks waiting (announced before they look at `running`).
    private let waiting = Atomic<Int>(0)
    /// Guarded by `condition`'s lock.
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Cleanups running now (a snapshot).
    var count: Int { running.load(ordering: .sequentiallyConsistent) }

    /// Tasks waiting in `drain()` (for tests).
    var waiterCount: Int { condition.withLock { waiters.count } }

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
        let resumed: [CheckedContinuation<Void, Never>] = condition.withLock {
            condition.broadcast()
            defer { waiters = [] }
            return waiters
        }
        for waiter in resumed { waiter.resume() }
    }

    /// `prepare`: held across the fork, so no child inherits it held.
    func lockForFork() {
        condition.lock()
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
            condition.resetInChild()
        }
        condition.unlock()
    }

    /// Returns once no cleanup is running (those started meanwhile
    /// included).
    func drain() async {
        waiting.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { waiting.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = condition.withLock {
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
        return condition.withLock {
            while count > 0 {
                guard condition.wait(until: deadline) else { break }
            }
            return count
        }
    }
}
