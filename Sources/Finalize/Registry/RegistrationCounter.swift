import Synchronization
import _FinalizeShims

/// The process-wide registration counter: each registration's sequence
/// number, for newest-first order across every registry (so process exit
/// runs newest first across registries). Taken under the registering
/// shard's lock; see `Finalizer.sequence`.
///
/// Alone on its cache line (and the next one: some processors fetch lines
/// in pairs), allocated once, never freed.
struct RegistrationCounter: @unchecked Sendable {
    /// The one counter of the process.
    static let process = RegistrationCounter()

    private let pointer: UnsafeMutablePointer<Atomic<UInt64>>

    private init() {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: 2 * cacheLineSize, alignment: 2 * cacheLineSize)
            .bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        pointer.initialize(to: Atomic(0))
    }

    /// Adds one (relaxed: the callers order it with the shard lock) and
    /// returns the new value.
    @inline(__always)
    func next() -> UInt64 {
        pointer.pointee.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Starts bringing the counter's line to this processor (a hint).
    ///
    /// A read prefetch on purpose: measured with two threads registering
    /// at once, a prefetch for writing (`prefetchw`) takes the line from the
    /// other processor before its own add has finished, and the two threads
    /// more often end up waiting for the line at every registration (see
    /// Docs/Performance.md).
    @inline(__always)
    func prefetch() {
        _finalize_prefetch(UnsafeRawPointer(pointer))
    }

    /// The latest value handed out, with acquiring order.
    @inline(__always)
    func current() -> UInt64 {
        pointer.pointee.load(ordering: .acquiring)
    }
}
