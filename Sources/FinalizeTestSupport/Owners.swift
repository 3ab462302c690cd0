import Finalize

/// A host owner: its finalizers run inside its last release.
public final class Host: FinalizerHost, Sendable {
    public let finalizers = FinalizerBag()
    public let token: LifetimeTracked?

    public init(tracker: LifetimeTracker? = nil) {
        token = tracker.map { LifetimeTracked(0, for: $0) }
    }
}

/// Any other class: watched, its finalizers run at the first sweep after it
/// died.
public final class Plain: Sendable {
    public let token: LifetimeTracked?

    public init(tracker: LifetimeTracker? = nil) {
        token = tracker.map { LifetimeTracked(0, for: $0) }
    }
}

/// Owners that live until the process exits, so that only the exit runs
/// their finalizers (CPython's `cls` in `FinalizeTestCase.run_in_child`).
public enum Forever {
    public static let plain = Plain()
    public static let host = Host()
}
