/// A description of one pending finalizer, for diagnostics.
///
/// Values are snapshots taken by ``FinalizerRegistry/pending``; they hold no
/// reference to the owner, the cleanup or the resource. The usual use is to
/// find a leak: a finalizer that stays pending long after its owner should
/// have died almost always has a cleanup (or resource) that captures its
/// owner, so the owner can never die.
///
/// ```swift
/// for info in FinalizerRegistry.shared.pending {
///     print("still pending:", info)   // "Cache at MyApp/Cache.swift:42 (runs at exit)"
/// }
/// ```
public struct FinalizerInfo: Sendable, Hashable, CustomStringConvertible {
    /// The `#fileID` of the registration.
    public let fileID: String
    /// The line of the registration.
    public let line: Int
    /// The owner's type name, or `"<deallocated>"` when the owner is already
    /// gone and its cleanup waits for the next sweep.
    public let ownerType: String
    /// Whether ``FinalizerRegistry/shutdown()`` (and process exit, for the
    /// shared registry) will run it.
    public let runsAtExit: Bool

    /// Creates a description; Finalize makes these for you.
    ///
    /// - Parameters:
    ///   - fileID: the `#fileID` of the registration.
    ///   - line: the line of the registration.
    ///   - ownerType: the owner's type name, or `<deallocated>`.
    ///   - runsAtExit: the finalizer's exit flag.
    public init(fileID: String, line: Int, ownerType: String, runsAtExit: Bool) {
        self.fileID = fileID
        self.line = line
        self.ownerType = ownerType
        self.runsAtExit = runsAtExit
    }

    /// A one-line, human-readable form, for logs and test failures.
    public var description: String {
        "\(ownerType) at \(fileID):\(line)\(runsAtExit ? " (runs at exit)" : "")"
    }
}
