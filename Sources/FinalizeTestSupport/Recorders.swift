import Finalize
import Synchronization

/// An append-only list of events, in the order they happened.
public final class EventLog: Sendable {
    private let entries = Locked<[String]>([])

    public init() {}

    public func append(_ event: String) { entries.withLock { $0.append(event) } }

    public var events: [String] { entries.value }

    /// How many times `event` was recorded.
    public func count(_ event: String) -> Int { entries.withLock { $0.count { $0 == event } } }
}

/// A shared counter.
public final class Counter: Sendable {
    private let storage = Atomic<Int>(0)

    public init() {}

    public func increment() { storage.add(1, ordering: .relaxed) }

    public var value: Int { storage.load(ordering: .relaxed) }
}

/// Collects what a registry reports through `onFailure`.
public final class FailureLog: Sendable {
    private let failures = Locked<[FinalizerFailure]>([])

    public init() {}

    public var handler: @Sendable (FinalizerFailure) -> Void {
        { [self] failure in failures.withLock { $0.append(failure) } }
    }

    public var all: [FinalizerFailure] { failures.value }
}

/// An error with a tag, to see which one came out.
public struct TestError: Error, Equatable, CustomStringConvertible {
    public var tag: String
    public init(_ tag: String) { self.tag = tag }
    public var description: String { "TestError(\(tag))" }
}
