import Synchronization

/// Every live registry of the process, so that process exit (and the opt-in
/// signal shutdown) runs the pending `runsAtExit` finalizers of all of them,
/// newest first across registries, not only those of the shared one.
///
/// Registries are listed by their core, unretained: a registry removes its
/// core in its `deinit`, before it ends, under the same lock the exit path
/// holds while it retains the cores it will run. The `atexit` hook is
/// installed when the first registry is created.
enum ProcessExit {
    private static let state = State()
    private static let hookInstalled = Atomic<Bool>(false)

    static func add(_ core: _RegistryCore) {
        if !hookInstalled.load(ordering: .acquiring),
            hookInstalled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        {
            installExitHook { ProcessExit.runAtExit() }
        }
        let key = UInt(bitPattern: ObjectIdentifier(core))
        state.lock.withLock { state.cores[key] = Unmanaged.passUnretained(core) }
    }

    static func remove(_ core: _RegistryCore) {
        let key = UInt(bitPattern: ObjectIdentifier(core))
        _ = state.lock.withLock { state.cores.removeValue(forKey: key) }
    }

    /// The live registries' cores, retained.
    static func liveCores() -> [_RegistryCore] {
        state.lock.withLock { state.cores.values.map { $0.takeUnretainedValue() } }
    }

    /// The `atexit` hook: stops every sweeper (without waiting: one may be
    /// running a cleanup), runs the pending `runsAtExit` finalizers of every
    /// registry, newest first across them, starting asynchronous ones as
    /// tasks, then waits for the asynchronous cleanups of each registry at
    /// most its `exitTimeout` (counted from here), and reports those it
    /// abandons to that registry's `onFailure`.
    static func runAtExit() {
        let live = liveCores()
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
            let sites = core.shards.flatMap { $0.runningHostSites() }
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
    /// The live registries' cores, by address, unretained; guarded by
    /// `lock` (a spin lock, which the fork handlers can hold across a fork).
    final class State: @unchecked Sendable {
        let lock = SpinLock()
        var cores: [UInt: Unmanaged<_RegistryCore>] = [:]
    }
}
