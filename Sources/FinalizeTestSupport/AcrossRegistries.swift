import Finalize

// The scenario that process exit and the signal shutdown share: several
// registries, sync and async cleanups, interleaved.

/// Registries a program keeps in globals, as the docs suggest for routing
/// failures: never deinitialized, so only process exit (or a signal
/// shutdown) runs their finalizers.
public enum Registries {
    public static let custom = FinalizerRegistry(sweepInterval: nil, exitTimeout: .seconds(5)) { failure in
        say("custom onFailure: \(failure)")
    }
    public static let impatient = FinalizerRegistry(sweepInterval: nil, exitTimeout: .milliseconds(300)) { failure in
        say("impatient onFailure: \(failure)")
    }
}

/// An async step that really suspends (a yield to the scheduler), so that
/// the order of lines shows whether each cleanup was awaited.
public func suspendBriefly() async {
    for _ in 0..<20 { await Task.yield() }
}

/// Does not return for an hour: an async cleanup that is stuck (the
/// scenario is what happens to it, not a way to wait for something).
public func suspendForever() async {
    try? await Task.sleep(for: .seconds(3600))
}

/// Registrations on the shared and a custom registry, interleaved, sync and
/// async; expected at exit, newest first across both: c4 s3 c2 s1 (each
/// async one finished before the next starts only with the awaiting
/// shutdown; at exit they start in that order and all finish).
public func registerAcrossRegistries() {
    let owner = Forever.plain
    finalize(owner) { say("s1 shared sync") }
    Registries.custom.finalize(owner) { () async in
        await suspendBriefly()
        say("c2 custom async")
    }
    finalize(owner) { say("s3 shared sync") }
    Registries.custom.finalize(owner) { say("c4 custom sync") }
}

/// Registers an async cleanup that never ends and a sync one on the
/// impatient registry (300 ms exit timeout).
public func registerAStuckCleanup() {
    Registries.impatient.finalize(Forever.host) { () async in
        say("stuck cleanup started")
        await suspendForever()
    }
    Registries.impatient.finalize(Forever.plain) { say("sync cleanup ran") }
}
