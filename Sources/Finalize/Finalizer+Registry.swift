/// The type-erased face of a finalizer, as the registry tables and bags see it.
protocol _AnyFinalizer: AnyObject, Sendable {
    var _sequence: UInt64 { get }
    /// Pending right now (a snapshot).
    var _isPendingNow: Bool { get }
    /// Pending with runsAtExit set (a snapshot).
    var _isPendingAtExit: Bool { get }
    /// Claims and runs the cleanup for `trigger`; a thrown error goes to the
    /// registry's failure handler. True if this call ran it.
    func _fire(_ trigger: FinalizerTrigger, requiringExitFlag: Bool) -> Bool
    /// A diagnostic snapshot, or nil if no longer pending.
    func _info() -> FinalizerInfo?
    /// Detaches without handing anything back (the registry is going away).
    func _abandon()
}

extension Finalizer: _AnyFinalizer {
    var _isPendingNow: Bool { isAlive }

    var _isPendingAtExit: Bool {
        let word = _StatusWord(raw: _status.load(ordering: .relaxed))
        return word.isPending && word.runsAtExit
    }

    func _fire(_ trigger: FinalizerTrigger, requiringExitFlag: Bool) -> Bool {
        guard let payload = _claim(trigger, requiringExitFlag: requiringExitFlag) else { return false }
        do {
            try payload.run()
        } catch {
            _shard.core._report(
                FinalizerFailure(error: error, trigger: trigger, fileID: _site.fileID, line: _site.line))
        }
        return true
    }

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

    func _abandon() {
        guard _acquireBusy() else { return }
        var current = _status.load(ordering: .relaxed)
        while true {
            let (exchanged, original) = _status.compareExchange(
                expected: current, desired: _StatusWord(raw: current).detached().raw,
                ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
        _payload = nil
        _didLeavePending(_StatusWord(raw: current))
    }
}
