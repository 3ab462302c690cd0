/// The threads running a shutdown of one registry, so that a forked child
/// counts only the forking thread's own (`_RegistryCore.shutdownsInProgress`
/// stays the number that matters on every hot path).
final class ShutdownThreads: @unchecked Sendable {
    let lock = SpinLock()
    /// Guarded by `lock`.
    private var threads: [PlatformThread] = []

    func begin() {
        let me = PlatformThread.current
        lock.withLock { threads.append(me) }
    }

    func end() {
        let me = PlatformThread.current
        lock.withLock {
            if let index = threads.lastIndex(where: { $0.isSame(as: me) }) { threads.remove(at: index) }
        }
    }

    /// In a forked child, with `lock` held: keeps the calling thread's
    /// shutdowns and returns how many there are.
    func keepOnlyCallingThreadInChild() -> Int {
        threads.removeAll { !$0.isCurrent }
        return threads.count
    }
}
