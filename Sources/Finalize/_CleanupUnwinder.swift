/// One synchronous entry of a cleanup stack: what to run, and where it was
/// pushed (for the failure report of a stack that is never closed).
@usableFromInline
enum _CleanupEntry {
    /// `defer`, `enter`'s release, `adopt`: runs; cannot suppress.
    case deferred(() throws -> Void, _RegistrationSite)
    /// `push`: sees the current error; `true` suppresses what is pending.
    case exit(((any Error)?) throws -> Bool, _RegistrationSite)
}

/// The error bookkeeping of one unwinding: the single core that
/// ``CleanupStack`` and ``AsyncCleanupStack`` share.
///
/// The stacks own the loop (pop the newest entry, run it, repeat until
/// empty; an entry pushed meanwhile is simply the next one popped, so the
/// loop never recurses); the unwinder decides what each outcome means:
/// - a thrown error becomes the *current* error and joins the pending list;
/// - a `push` callback receives the current error (the newest pending one,
///   the body's if no cleanup failed yet, nil if none or all suppressed);
/// - a `push` callback that returns `true` suppresses every pending error;
/// - at the end, nothing pending returns, one error is thrown as is, several
///   become one ``CleanupErrors``, oldest first.
struct _CleanupUnwinder {
    /// Pending errors, oldest first, each with the site of the entry that
    /// threw it (nil for the scope body's error).
    private var pending: [(error: any Error, site: _RegistrationSite?)] = []
    /// Whether the body's error is still pending (no suppression since).
    private var bodyErrorPending: Bool

    /// Starts an unwinding; `bodyError` is the error the scope's body threw.
    init(bodyError: (any Error)?) {
        if let bodyError {
            pending.append((bodyError, nil))
            bodyErrorPending = true
        } else {
            bodyErrorPending = false
        }
    }

    /// What a `push` callback receives: the newest pending error.
    var currentError: (any Error)? {
        pending.last?.error
    }

    /// A cleanup threw `error`; it becomes the current error.
    mutating func record(_ error: any Error, site: _RegistrationSite) {
        pending.append((error, site))
    }

    /// A `push` callback returned true: every pending error is forgiven.
    mutating func suppress() {
        pending.removeAll()
        bodyErrorPending = false
    }

    /// Runs one synchronous entry and records its outcome.
    @inline(__always)
    mutating func run(_ entry: consuming _CleanupEntry) {
        switch consume entry {
        case .deferred(let body, let site):
            do { try body() } catch { record(error, site: site) }
        case .exit(let exit, let site):
            do {
                if try exit(currentError) { suppress() }
            } catch { record(error, site: site) }
        }
    }

    /// Ends the unwinding: returns if nothing is pending, throws the one
    /// pending error unchanged, or throws ``CleanupErrors`` with all of them.
    ///
    /// - Parameter bodyError: for a scope whose body must still throw after
    ///   unwinding (it has no value to return): its error, thrown first even
    ///   if a `push` callback suppressed it.
    func finish(rethrowing bodyError: (any Error)? = nil) throws {
        if pending.isEmpty {
            if let bodyError { throw bodyError }
            return
        }
        if let bodyError, !bodyErrorPending {
            throw CleanupErrors([bodyError] + pending.map(\.error))
        }
        if pending.count == 1 { throw pending[0].error }
        throw CleanupErrors(pending.map(\.error))
    }

    /// Ends the unwinding of a stack deinitialized with entries on it: every
    /// pending error goes to `handler` (the shared registry's failure handler
    /// unless a test installed its own), with the trigger `.scopeEnd` and the
    /// site where its entry was pushed.
    func report(to handler: ((FinalizerFailure) -> Void)?) {
        for (error, site) in pending {
            let failure = FinalizerFailure(
                error: error, trigger: .scopeEnd,
                fileID: site?.fileID ?? "<unknown>", line: site?.lineNumber ?? 0)
            if let handler {
                handler(failure)
            } else {
                FinalizerRegistry.shared._core._report(failure)
            }
        }
    }
}
