/// One synchronous entry of a cleanup stack: what to run, and where it was
/// pushed (for the failure report of a stack that is never closed).
///
/// Non-throwing closures have a case of their own: a literal compiled for a
/// `() throws -> Void` slot uses the throwing convention and must save and
/// restore the error register around each call it makes, where one for a
/// `() -> Void` slot is a tail call.
@usableFromInline
enum _CleanupEntry: ~Copyable {
    /// `defer` with a closure that cannot throw.
    case plain(() -> Void, _RegistrationSite)
    /// `defer` with a throwing closure, `enter`'s release, `adopt`.
    case throwing(() throws -> Void, _RegistrationSite)
    /// `push`: sees the current error; `true` suppresses what is pending.
    case exit(((any Error)?) throws -> Bool, _RegistrationSite)

    @inlinable @inline(__always)
    static func deferred(_ body: consuming @escaping () throws -> Void, _ site: _RegistrationSite) -> _CleanupEntry {
        .throwing(body, site)
    }

    /// `adopt`: runs the finalizer at scope end if it is still pending. Its
    /// error leaves wrapped with the finalizer's registry and registration
    /// site (`AdoptedFailure`), so that a stack that is never closed reports
    /// it where that finalizer's other failures go; the unwinder unwraps it.
    static func adopting<R>(_ finalizer: Finalizer<R>, _ site: _RegistrationSite) -> _CleanupEntry {
        .deferred(
            {
                let registered = finalizer.registrationSite
                _ = try finalizer.run(trigger: .scopeEnd) { error, core in
                    AdoptedFailure(error: error, core: core, fileID: registered.fileID, line: registered.line)
                }
            }, site)
    }
}

/// An adopted finalizer's cleanup error on its way out of its entry: the
/// error, the finalizer's registry and its registration site. Never seen
/// outside the unwinder, which unwraps it when it records it.
struct AdoptedFailure: Error {
    let error: any Error
    let core: _RegistryCore
    let fileID: String
    let line: Int
}
