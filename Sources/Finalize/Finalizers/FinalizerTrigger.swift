/// Why a cleanup ran.
///
/// Each finalizer records the trigger that won; every other trigger finds it
/// already dead and does nothing.
public enum FinalizerTrigger: Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// The owner's last release: a ``FinalizerHost`` owner's bag ran its
    /// finalizers inside the owner's deinitialization, or the finalizer was
    /// registered on an owner that was already deinitializing.
    case ownerDeinit
    /// A sweep (explicit ``FinalizerRegistry/sweep()``, the background
    /// sweeper, or the amortized sweep during registration) found the
    /// watched owner dead.
    case sweep
    /// ``Finalizer/runNow()`` was called.
    case runNow
    /// A ``CleanupStack`` or ``AsyncCleanupStack`` that adopted the finalizer
    /// unwound. Also the trigger of the failure reports of a stack
    /// deinitialized without being closed, for all of its entries.
    case scopeEnd
    /// ``FinalizerRegistry/shutdown()`` ran it, including the process-exit
    /// run of ``FinalizerRegistry/shared``.
    case shutdown

    /// A one-line, human-readable form, for logs and test failures.
    public var description: String {
        switch self {
        case .ownerDeinit: "ownerDeinit"
        case .sweep: "sweep"
        case .runNow: "runNow"
        case .scopeEnd: "scopeEnd"
        case .shutdown: "shutdown"
        }
    }

    /// Whether the trigger is a call on the finalizer (or on a scope that
    /// adopted it) rather than the registry's own work: nothing keeps the
    /// registry alive while it runs.
    @inline(__always)
    var comesFromCaller: Bool {
        self == .runNow || self == .scopeEnd
    }

    @inline(__always)
    var code: UInt32 {
        switch self {
        case .ownerDeinit: 0
        case .sweep: 1
        case .runNow: 2
        case .scopeEnd: 3
        case .shutdown: 4
        }
    }

    @inline(__always)
    init(code: UInt32) {
        switch code {
        case 0: self = .ownerDeinit
        case 1: self = .sweep
        case 2: self = .runNow
        case 3: self = .scopeEnd
        default: self = .shutdown
        }
    }
}
