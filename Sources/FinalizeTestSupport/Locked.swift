import Finalize

/// A value behind a lock, shareable with `@Sendable` cleanups.
///
/// A pthread mutex (the library's `MonotonicCondition`), not
/// `Synchronization.Mutex`: on Linux, a contended `Mutex` waits in the
/// (uninstrumented) standard library, so ThreadSanitizer misses its
/// happens-before edges and reports false races.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex = MonotonicCondition()
    private var storage: Value

    public init(_ value: Value) {
        storage = value
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { try body(&storage) }
    }

    public var value: Value { withLock { $0 } }

    public func set(_ newValue: Value) { withLock { $0 = newValue } }

    /// Takes the value out, leaving `replacement`; the old value is released
    /// by the caller, on the caller's thread, after the lock is dropped.
    public func exchange(_ replacement: Value) -> Value {
        withLock { value in
            let old = value
            value = replacement
            return old
        }
    }

    /// Drops the held reference: an owner kept only here gets its last
    /// release during this call, on the calling thread.
    public func clear<Wrapped>() where Value == Wrapped? {
        _ = exchange(nil)
    }
}
