/// Several errors from one unwinding of a cleanup stack, or from one
/// ``FinalizerBag/runAll()``, in the order they happened.
///
/// Lifetime and threading: a plain value; it holds the errors themselves and
/// nothing else, and may be sent anywhere.
///
/// ``CleanupStack/close()``, ``AsyncCleanupStack/close(isolation:)``, `withCleanupStack`
/// and `withAsyncCleanupStack` never lose an error. After unwinding, what is still pending decides what
/// they throw:
/// - nothing: they return normally;
/// - exactly one error: that error itself, unchanged (so `catch let e as
///   MyError` works as if there were no stack);
/// - several errors: one `CleanupErrors` with all of them, oldest first. When
///   the scope's body threw, its error comes first, then the cleanups' errors
///   in the order the cleanups ran (newest entry first).
///
/// A `push` callback that returns `true` suppresses every error pending at
/// that moment, so those never reach this list.
///
/// ```swift
/// do {
///     try withCleanupStack { stack in
///         stack.defer { throw CloseError.disk }
///         stack.defer { throw CloseError.network }
///         throw ParseError.badHeader
///     }
/// } catch let failure as CleanupErrors {
///     failure.errors   // [ParseError.badHeader, CloseError.network, CloseError.disk]
/// }
/// ```
///
/// Unlike Python's `ExitStack`, which keeps only the last error and chains
/// the others through `__context__` (and can drop some, gh-102201), and
/// JavaScript's `SuppressedError`, which nests one error inside the next, the
/// list is flat and ordered.
public struct CleanupErrors: Error, CustomStringConvertible {
    /// The errors, in the order they happened: the body's first (if it threw
    /// and was not suppressed), then each failing cleanup's in the order the
    /// cleanups ran.
    public let errors: [any Error]

    /// Creates a list of errors; the cleanup stacks make these for you.
    ///
    /// - Parameter errors: the errors, oldest first.
    public init(_ errors: [any Error]) {
        self.errors = errors
    }

    /// A one-line, human-readable form, for logs and test failures.
    public var description: String {
        var text = "CleanupErrors(\(errors.count) errors:"
        for (index, error) in errors.enumerated() {
            text += index == 0 ? " " : "; "
            text += String(describing: error)
        }
        return text + ")"
    }
}
