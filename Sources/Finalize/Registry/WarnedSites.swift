/// The registration sites a registry has warned about (rarely touched: only
/// on misuse).
final class WarnedSites: Sendable {
    private let lock = SpinLock()
    nonisolated(unsafe) private var sites: Set<SiteKey> = []

    /// Records `site`; true the first time.
    func insert(_ site: _RegistrationSite) -> Bool {
        lock.withLock { sites.insert(SiteKey(site)).inserted }
    }

    /// Fork handlers (`ForkSafety`).
    func lockForFork() { lock.lock() }
    func unlockAfterFork() { lock.unlock() }
}

/// A registration site as a hashable key: the `#fileID` literal's address
/// and the line.
struct SiteKey: Hashable, Sendable {
    let file: UInt
    let line: UInt32

    init(_ site: _RegistrationSite) {
        file = UInt(bitPattern: site.file.start)
        line = site.line
    }
}
