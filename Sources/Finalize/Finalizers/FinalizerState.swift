/// What happened to a finalizer.
///
/// A finalizer starts ``pending`` and leaves that state exactly once, either
/// by running (``ran(_:)``, with the trigger that fired) or by being detached.
/// It never returns to ``pending``. Values are snapshots: another thread may
/// move a pending finalizer on right after you read it.
public enum FinalizerState: Sendable, Equatable, CustomStringConvertible {
    /// Registered, not run, not detached.
    case pending
    /// The cleanup ran (or began running) because of this trigger.
    case ran(FinalizerTrigger)
    /// ``Finalizer/detach()`` removed it; the cleanup never runs.
    case detached

    /// A one-line, human-readable form, for logs and test failures.
    public var description: String {
        switch self {
        case .pending: "pending"
        case .ran(let trigger): "ran(\(trigger))"
        case .detached: "detached"
        }
    }
}
