import Synchronization

// After swift-collections' LifetimeTracked.

/// Counts the live instances created for it; thread-safe.
public final class LifetimeTracker: Sendable {
    private let live = Atomic<Int>(0)
    private let created = Atomic<Int>(0)

    public init() {}

    /// Instances created and not yet deinitialized.
    public var instances: Int { live.load(ordering: .acquiring) }
    /// Instances ever created.
    public var total: Int { created.load(ordering: .relaxed) }

    public func instance(_ payload: Int = 0) -> LifetimeTracked { LifetimeTracked(payload, for: self) }

    fileprivate func didCreate() -> Int {
        live.add(1, ordering: .relaxed)
        return created.add(1, ordering: .relaxed).newValue
    }

    fileprivate func didDestroy() { live.subtract(1, ordering: .releasing) }
}

/// An object whose deinit is counted by its tracker; usable as a watched
/// owner, as a resource, or as something a cleanup captures.
public final class LifetimeTracked: Sendable, CustomStringConvertible {
    public let tracker: LifetimeTracker
    public let payload: Int
    public let serialNumber: Int

    public init(_ payload: Int, for tracker: LifetimeTracker) {
        self.tracker = tracker
        self.payload = payload
        serialNumber = tracker.didCreate()
    }

    deinit { tracker.didDestroy() }

    public var description: String { "LifetimeTracked(\(payload))" }
}
