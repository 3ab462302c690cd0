/// A cleanup's error, with the trigger that ran it and where it was registered.
///
/// Finalize never drops a cleanup's error. ``Finalizer/runNow()`` rethrows the
/// error itself; every other trigger (owner deinit, sweep, shutdown, process
/// exit, a cleanup stack's deinit) hands a `FinalizerFailure` to the
/// registry's `onFailure` handler and goes on with the remaining cleanups.
/// The default handler prints it to standard error:
///
/// ```
/// Finalize: cleanup registered at MyApp/Pool.swift:31 failed during shutdown: ConnectionError.timeout
/// ```
public struct FinalizerFailure: Error, Sendable, CustomStringConvertible {
    /// The error the cleanup threw.
    public let error: any Error
    /// What ran the cleanup.
    public let trigger: FinalizerTrigger
    /// The `#fileID` of the registration.
    public let fileID: String
    /// The line of the registration.
    public let line: Int

    /// Creates a failure record; Finalize makes these for you.
    public init(error: any Error, trigger: FinalizerTrigger, fileID: String, line: Int) {
        self.error = error
        self.trigger = trigger
        self.fileID = fileID
        self.line = line
    }

    /// A one-line, human-readable form, for logs and test failures.
    public var description: String {
        "cleanup registered at \(fileID):\(line) failed during \(trigger): \(error)"
    }
}
