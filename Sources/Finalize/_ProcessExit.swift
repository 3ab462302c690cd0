#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Every live registry of the process, so that process exit (and the opt-in
/// signal shutdown) runs the pending `runsAtExit` finalizers of all of them,
/// newest first across registries, not only those of the shared one.
///
/// Registries are listed unretained: a registry removes itself first thing
/// in its `deinit`, under the lock the exit path holds while it retains the
/// registries it will run (with `swift_tryRetain`, which refuses one whose
/// `deinit` has begun). The `atexit` hook is
/// installed when the first registry is created.
enum _ProcessExit {
    private static let state = _ProcessExitState()
    private static let hookInstalled = Atomic<Bool>(false)

    static func add(_ registry: FinalizerRegistry) {
        let core = registry._core
        if !hookInstalled.load(ordering: .acquiring),
            hookInstalled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        {
            atexit { _ProcessExit.runAtExit() }
        }
        let key = UInt(bitPattern: ObjectIdentifier(core))
        state.lock.withLock { state.registries[key] = Unmanaged.passUnretained(registry) }
    }

    /// Called first thing in the registry's `deinit`.
    static func remove(_ registry: FinalizerRegistry) {
        let key = UInt(bitPattern: ObjectIdentifier(registry._core))
        _ = state.lock.withLock { state.registries.removeValue(forKey: key) }
    }

    /// The live registries' cores, with the registries themselves retained
    /// in `keeping` (so their shards stay while the caller uses the cores).
    /// A registry whose `deinit` has begun but not yet removed it is
    /// skipped (its memory is valid while listed; `swift_tryRetain` fails).
    static func liveCores(keeping registries: inout [FinalizerRegistry]) -> [_RegistryCore] {
        registries = state.lock.withLock {
            state.registries.values.compactMap { entry in
                _UnownedOwner(uncounted: entry.takeUnretainedValue()).tryLoad().map {
                    unsafeDowncast($0, to: FinalizerRegistry.self)
                }
            }
        }
        return registries.map(\._core)
    }

    /// The `atexit` hook: stops every sweeper (without waiting: one may be
    /// running a cleanup), runs the pending `runsAtExit` finalizers of every
    /// registry, newest first across them, starting asynchronous ones as
    /// tasks, then waits for the asynchronous cleanups of each registry at
    /// most its `exitTimeout` (counted from here), and reports those it
    /// abandons to that registry's `onFailure`.
    static func runAtExit() {
        var registries: [FinalizerRegistry] = []
        let live = liveCores(keeping: &registries)
        defer { withExtendedLifetime(registries) {} }
        guard !live.isEmpty else { return }
        for core in live { core.sweeperThread.stopWithoutWaiting(signal: core.signal) }
        let started = _monotonicNow()
        _ = _ShutdownRun.run(live)
        waitForAsyncCleanups(of: live, from: started)
    }

    /// Waits for each core's asynchronous cleanups until `from` plus its
    /// exit timeout; reports what is still running then.
    static func waitForAsyncCleanups(of cores: [_RegistryCore], from start: Duration) {
        for core in cores {
            let left = core.asyncCleanups.wait(until: start + core.exitTimeout)
            guard left > 0 else { continue }
            // Host finalizers keep their exit-log slot until their cleanup
            // ends: those that are no longer pending are still running.
            let sites = core.shards.flatMap { $0.runningHostSites() }
            for site in sites {
                core._report(FinalizerFailure(
                    error: AbandonedAtExit(timeout: core.exitTimeout, others: 0), trigger: .shutdown,
                    fileID: site.fileID, line: site.line))
            }
            if left > sites.count {
                core._report(FinalizerFailure(
                    error: AbandonedAtExit(timeout: core.exitTimeout, others: left - sites.count),
                    trigger: .shutdown, fileID: "<watched owners>", line: 0))
            }
        }
    }
}

extension _ProcessExit {
    /// The fork handlers hold the list's lock across a fork (`_ForkSafety`).
    static func lockForFork() { state.lock.lock() }
    static func unlockAfterFork() { state.lock.unlock() }
}

/// The live registries, by their core's address, unretained; guarded by
/// `lock` (a spin lock, which the fork handlers can hold across a fork).
final class _ProcessExitState: @unchecked Sendable {
    let lock = _SpinLock()
    var registries: [UInt: Unmanaged<FinalizerRegistry>] = [:]
}

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
