import Finalize
import Synchronization

/// A one-time signal from one thread (a cleanup, say) to another.
public final class Signal: Sendable {
    private let fired = Atomic<Bool>(false)
    private let condition = MonotonicCondition()

    public init() {}

    public var isFired: Bool { fired.load(ordering: .acquiring) }

    public func fire() {
        condition.withLock {
            fired.store(true, ordering: .releasing)
            condition.broadcast()
        }
    }

    /// Waits until fired, however long that takes.
    public func waitIndefinitely() {
        condition.withLock {
            while !isFired { condition.wait() }
        }
    }

    /// Waits until fired or until `timeoutSeconds` passed; true if fired.
    public func wait(timeoutSeconds: Int = 20) -> Bool {
        let deadline = monotonicNow() + .seconds(timeoutSeconds)
        return condition.withLock {
            while !isFired {
                guard condition.wait(until: deadline) else { break }
            }
            return isFired
        }
    }
}

/// Blocks the calling thread for good (the process exits around it).
public func blockForever() -> Never {
    let never = Signal()
    while true { never.waitIndefinitely() }
}
