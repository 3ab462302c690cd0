/// A cleanup's error, with the trigger that ran it and where it was registered.
///
/// Finalize never drops a cleanup's error. If a caller is waiting, the error
/// is thrown to it: ``Finalizer/runNow()`` rethrows it, and a closed cleanup
/// stack throws an adopted finalizer's error with its own. Every other
/// trigger (owner deinit, sweep, shutdown, process exit) hands a
/// `FinalizerFailure` to the registry's `onFailure` handler and goes on with
/// the remaining cleanups. A cleanup stack deinitialized without being
/// closed reports each failure with the trigger ``FinalizerTrigger/scopeEnd``:
/// an adopted finalizer's to its registry's `onFailure`, any other entry's
/// to standard error in the default handler's format. The default handler
/// prints:
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
    ///
    /// - Parameters:
    ///   - error: the error the cleanup threw.
    ///   - trigger: what ran the cleanup.
    ///   - fileID: the `#fileID` of the registration (or of the stack entry).
    ///   - line: the line of the registration (or of the stack entry).
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
