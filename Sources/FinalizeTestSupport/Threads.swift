import Finalize
import Synchronization

/// A POSIX thread started by `startThread`; join it.
public struct TestThread: Sendable {
    fileprivate let thread: PlatformThread

    /// Waits for the thread to end.
    public func join() {
        thread.join()
    }

    /// The thread, as a number (`currentThreadID()` on the thread itself).
    public var id: UInt { thread.id }
}

/// Starts a POSIX thread running `body`; join it with `join()`.
public func startThread(_ body: @escaping @Sendable () -> Void) -> TestThread {
    guard let thread = PlatformThread.start(body) else { preconditionFailure("the thread could not start") }
    return TestThread(thread: thread)
}

/// Runs `body` on a new thread and waits for it to finish.
public func onNewThread(_ body: @escaping @Sendable () -> Void) {
    startThread(body).join()
}

/// Runs `body(index)` on `count` new threads that start together (they meet
/// at a barrier first), and waits for all of them.
public func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let barrier = SpinBarrier(count: count)
    let threads = (0..<count).map { index in
        startThread {
            barrier.arriveAndWait()
            body(index)
        }
    }
    for thread in threads { thread.join() }
}

/// A one-shot barrier: every participant waits until all have arrived.
public final class SpinBarrier: Sendable {
    private let arrived = Atomic<Int>(0)
    private let count: Int

    public init(count: Int) { self.count = count }

    public func arriveAndWait() {
        arrived.add(1, ordering: .acquiringAndReleasing)
        while arrived.load(ordering: .acquiring) < count { yieldThread() }
    }
}

/// The calling thread, as a number (equal for the same live thread).
public func currentThreadID() -> UInt {
    PlatformThread.current.id
}

/// Waits for `condition` with a generous deadline, re-checking every
/// millisecond. The short pause is a retry interval around a condition, never
/// the synchronization itself. Returns the condition's final value.
public func eventually(timeoutSeconds: Double = 20, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicNow() + .milliseconds(Int(timeoutSeconds * 1000))
    let pause = MonotonicCondition()
    while !condition() {
        if monotonicNow() > deadline { return condition() }
        pause.withLock { _ = pause.wait(until: monotonicNow() + .milliseconds(1)) }
    }
    return true
}
