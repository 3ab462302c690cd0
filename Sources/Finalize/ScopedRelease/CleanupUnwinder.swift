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
struct CleanupUnwinder {
    /// Pending errors, oldest first, each with the site of the entry that
    /// threw it (nil for the scope body's error) and, for an adopted
    /// finalizer, its registry and registration site.
    private var pending: [(error: any Error, site: _RegistrationSite?, adopted: AdoptedFailure?)] = []
    /// Whether the body's error is still pending (no suppression since).
    private var bodyErrorPending: Bool

    /// Starts an unwinding; `bodyError` is the error the scope's body threw.
    init(bodyError: (any Error)?) {
        if let bodyError {
            pending.append((bodyError, nil, nil))
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
        if let adopted = error as? AdoptedFailure {
            pending.append((adopted.error, site, adopted))
        } else {
            pending.append((error, site, nil))
        }
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
        case .plain(let body, _):
            body()
        case .throwing(let body, let site):
            do { try body() } catch { record(error, site: site) }
        case .exit(let exit, let site):
            do {
                if try exit(currentError) { suppress() }
            } catch { record(error, site: site) }
        }
    }

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
    /// pending error is reported with the trigger `.scopeEnd`. An adopted
    /// finalizer's error goes to its own registry's failure handler, with
    /// the site that registered it; any other goes, with the site where its
    /// entry was pushed, to standard error, as the shared registry's handler
    /// writes it (without creating the shared registry for that). A test
    /// may install `handler` to receive every report instead.
    func report(to handler: ((FinalizerFailure) -> Void)?) {
        for (error, site, adopted) in pending {
            let failure =
                adopted.map { FinalizerFailure(error: error, trigger: .scopeEnd, fileID: $0.fileID, line: $0.line) }
                ?? FinalizerFailure(
                    error: error, trigger: .scopeEnd,
                    fileID: site?.fileID ?? "<unknown>", line: site?.lineNumber ?? 0)
            if let handler {
                handler(failure)
            } else if let adopted {
                adopted.core.report(failure)
            } else {
                FinalizerRegistry.reportToStandardError(failure)
            }
        }
    }
}
