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
enum ProcessExit {
    private static let state = State()
    private static let hookInstalled = Atomic<Bool>(false)

    static func add(_ registry: FinalizerRegistry) {
        let core = registry._core
        if !hookInstalled.load(ordering: .acquiring),
            hookInstalled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        {
            installExitHook { ProcessExit.runAtExit() }
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
                UnownedOwner(uncounted: entry.takeUnretainedValue()).tryLoad().map {
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
        for core in live { core.sweeper.stopWithoutWaiting() }
        let started = monotonicNow()
        _ = ShutdownRun.run(live)
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
            let sites = core.shards.all.flatMap { $0.runningHostSites() }
            for site in sites {
                core.report(
                    FinalizerFailure(
                        error: AbandonedAtExit(timeout: core.exitTimeout, others: 0), trigger: .shutdown,
                        fileID: site.fileID, line: site.line))
            }
            if left > sites.count {
                core.report(
                    FinalizerFailure(
                        error: AbandonedAtExit(timeout: core.exitTimeout, others: left - sites.count),
                        trigger: .shutdown, fileID: "<watched owners>", line: 0))
            }
        }
    }
}

extension ProcessExit {
    /// The fork handlers hold the list's lock across a fork (`ForkSafety`).
    static func lockForFork() { state.lock.lock() }
    static func unlockAfterFork() { state.lock.unlock() }
}

extension ProcessExit {
    /// The live registries, by their core's address, unretained; guarded
    /// by `lock` (a spin lock, which the fork handlers can hold across a
    /// fork).
    final class State: @unchecked Sendable {
        let lock = SpinLock()
        var registries: [UInt: Unmanaged<FinalizerRegistry>] = [:]
    }
}
