// Helpers of the test suite that need Swift Testing or the library's
// internals; the rest (threads, locks, recorders, owners) is in the
// FinalizeTestSupport target, which the fixture shares.
//
// Ground rules every test follows (they run in parallel, in debug, release and
// under ThreadSanitizer):
// - each test makes its own `FinalizerRegistry(sweepInterval: nil)`; only the
//   child-process tests touch `FinalizerRegistry.shared`, in the child;
// - no sleeps as synchronization: threads meet at barriers and are joined;
// - ARC may end a lifetime earlier or later than the source suggests, so a
//   test never asserts an early release. It asserts "not before X" while the
//   owner is provably alive (`withExtendedLifetime`) and "no later than Y"
//   after the last reference is gone and its scope has ended.
// - cleanups record what they see; the test body asserts afterwards, so
//   nothing is `#expect`ed from a thread the test does not own.

import FinalizeTestSupport
import Testing

@testable import Finalize

/// The two kinds of owner, for tests that hold for both.
enum OwnerKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case host, watched

    var testDescription: String { rawValue }

    func make(tracker: LifetimeTracker? = nil) -> AnyObject & Sendable {
        switch self {
        case .host: Host(tracker: tracker)
        case .watched: Plain(tracker: tracker)
        }
    }

    /// The trigger that runs a cleanup because its owner died.
    var deathTrigger: FinalizerTrigger {
        switch self {
        case .host: .ownerDeinit
        case .watched: .sweep
        }
    }

    /// After the owner's last release: what it takes for its cleanups to run
    /// (nothing for a host; a sweep for a watched owner). Returns what the
    /// sweep ran (0 for a host).
    @discardableResult
    func collect(_ registry: FinalizerRegistry) -> Int {
        switch self {
        case .host: 0
        case .watched: registry.sweep()
        }
    }
}

/// Registers through the statically typed `FinalizerHost` overload when the
/// owner is a `Host`, otherwise through the `AnyObject` overload.
@discardableResult
func register(
    _ registry: FinalizerRegistry, on owner: AnyObject, runsAtExit: Bool = true,
    _ cleanup: @escaping @Sendable () throws -> Void
) -> Finalizer<Void> {
    if let host = owner as? Host {
        return registry.finalize(host, runsAtExit: runsAtExit, cleanup)
    }
    return registry.finalize(owner, runsAtExit: runsAtExit, cleanup)
}

// MARK: - A look inside (kept in one place: these read library internals)

extension FinalizerRegistry {
    /// How many shards the registry's tables are split into.
    var shardCount: Int { _core.shards.count }

    /// Entries in the watched tables, live or not yet dropped.
    var watchedTableSize: Int {
        _core.shards.sum { $0.watchedEntries.load(ordering: .relaxed) }
    }

}
