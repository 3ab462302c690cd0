/// The error reported for an asynchronous cleanup still running when the
/// process exited (or a signal shutdown ended) after its registry's
/// `exitTimeout`: the process did not wait for it any longer.
///
/// Lifetime: a value, reported through the registry's `onFailure` inside a
/// ``FinalizerFailure`` whose site is the cleanup's registration site.
/// Threading: `Sendable`.
public struct AbandonedAtExit: Error, Sendable, CustomStringConvertible {
    /// How long the process waited for asynchronous cleanups.
    public let timeout: Duration
    /// For a report that stands for several cleanups of watched owners
    /// (whose registration sites are no longer known once they run), how
    /// many; 0 for a report about the one cleanup at its site.
    public let others: Int

    /// Describes the abandonment, e.g. "still running after 5.0 seconds at exit; abandoned".
    public var description: String {
        others == 0
            ? "still running after \(timeout) at exit; abandoned"
            : "\(others) cleanups of watched owners still running after \(timeout) at exit; abandoned"
    }
}
