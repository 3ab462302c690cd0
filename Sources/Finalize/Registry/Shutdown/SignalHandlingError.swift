/// Why ``FinalizerRegistry/shutdownOnSignals(_:)`` could not handle a signal.
///
/// Lifetime: a value. Threading: `Sendable`.
public struct SignalHandlingError: Error, Sendable, CustomStringConvertible {
    /// The signal number (or 0 when the watcher could not start).
    public let signal: CInt
    /// What went wrong.
    public let reason: String

    /// For example "Finalize: cannot shut down on signal 9: it cannot be caught".
    public var description: String {
        "Finalize: cannot shut down on signal \(signal): \(reason)"
    }
}
