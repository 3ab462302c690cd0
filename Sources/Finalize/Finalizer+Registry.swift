/// A finalizer as the registry tables and bags hold it, whatever its
/// `Resource`: the `Finalizer<Void>` view of it.
///
/// No stored property of `Finalizer` depends on `Resource` (see its layout
/// note), and nothing the registry does with a finalizer (number it, claim
/// it, run it, report it, detach it) touches a `Resource`: `_Payload` runs a
/// holding cleanup through its own box. So a `Finalizer<R>` is held and used
/// as a `Finalizer<Void>`: one word, no existential, no witness-table call.
/// Releasing it through this view deinitializes the real object (its own
/// class metadata does that). `Finalizer<R>._erased` makes the view.
///
/// Never call `detach()`, `peek()` or anything that reads the resource
/// (`_Payload.resource(as:)`) through this view: for a `holding:` finalizer
/// it would reinterpret a `_ResourceBox<R>` as a `_ResourceBox<Void>`. Only
/// the members of the extension below, which never touch a resource, are
/// meant for it.
typealias _AnyFinalizer = Finalizer<Void>

extension Finalizer {
    /// This finalizer seen as `_AnyFinalizer` (the same object).
    @inline(__always)
    var _erased: _AnyFinalizer {
        Unmanaged<_AnyFinalizer>.fromOpaque(Unmanaged.passUnretained(self).toOpaque()).takeUnretainedValue()
    }

    /// Pending right now (a snapshot).
    var _isPendingNow: Bool { isAlive }

    /// Pending with runsAtExit set (a snapshot).
    var _isPendingAtExit: Bool {
        let word = _StatusWord(raw: _status.load(ordering: .relaxed))
        return word.isPending && word.runsAtExit
    }

    /// Claims and runs the cleanup for `trigger`; a thrown error goes to the
    /// registry's failure handler. True if this call ran it.
    func _fire(_ trigger: FinalizerTrigger, requiringExitFlag: Bool) -> Bool {
        guard let (payload, word) = _claim(trigger, requiringExitFlag: requiringExitFlag) else { return false }
        do {
            try payload.run()
        } catch {
            _core._report(FinalizerFailure(error: error, trigger: trigger, fileID: _site.fileID, line: _site.line))
        }
        _settle(word)
        return true
    }

    /// A diagnostic snapshot, or nil if no longer pending.
    func _info() -> FinalizerInfo? {
        guard _acquireBusy() else { return nil }
        let word = _StatusWord(raw: _status.load(ordering: .relaxed))
        // No strong reference: dropping the owner's last one here would run
        // its deinit on this thread, and its bag's claim of this very
        // finalizer would wait for `busy` forever. The unowned count keeps
        // the object's memory (and so its type) valid, dying or not.
        let typeName = _owner.isDeallocating
            ? "<deallocated>"
            : Unmanaged<AnyObject>.fromOpaque(_owner.pointer)._withUnsafeGuaranteedRef {
                _typeName(type(of: $0), qualified: false)
            }
        _releaseBusy()
        return FinalizerInfo(
            fileID: _site.fileID, line: _site.line, ownerType: typeName, runsAtExit: word.runsAtExit)
    }

    /// Detaches without handing anything back (the registry is going away).
    func _abandon() {
        _ = _detach(onlyIfOwnerAlive: false)
    }
}
