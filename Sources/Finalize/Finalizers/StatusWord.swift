/// The packed state of one finalizer, kept in a single `Atomic<UInt32>`.
///
/// Layout (bit numbers):
/// - 0...1  phase: 0 pending, 1 ran, 2 detached
/// - 2...4  the trigger that ran it (``FinalizerTrigger/code``)
/// - 5      runsAtExit
/// - 6      busy: a reader (`peek`, `detach`, `pending`) is looking at the
///          owner and the payload; claims wait for it to clear
/// - 7      watched: the owner is not a host (its unowned count belongs to the
///          watched table entry, not to the finalizer)
/// - 8...13 the registry shard the finalizer was registered in (at most 64)
/// - 14...31 the registration's line (lines past 262,143 read as 262,143);
///          kept here rather than in a field of the finalizer
///
/// Exactly-once comes from one compare-and-exchange that moves the phase away
/// from pending; whoever wins it owns the payload.
struct StatusWord: Equatable {
    var raw: UInt32

    static let phaseMask: UInt32 = 0b11
    static let ranPhase: UInt32 = 1
    static let detachedPhase: UInt32 = 2
    static let triggerShift: UInt32 = 2
    static let triggerMask: UInt32 = 0b111 << 2
    static let exitBit: UInt32 = 1 << 5
    static let busyBit: UInt32 = 1 << 6
    static let watchedBit: UInt32 = 1 << 7
    static let shardShift: UInt32 = 8
    static let shardLimit = 64
    static let lineShift: UInt32 = 14
    static let lineLimit = (1 << 18) - 1

    init(raw: UInt32) { self.raw = raw }

    init(runsAtExit: Bool, watched: Bool, shard: Int, line: Int) {
        raw = UInt32(truncatingIfNeeded: shard & (Self.shardLimit - 1)) << Self.shardShift
        raw |= UInt32(truncatingIfNeeded: min(max(line, 0), Self.lineLimit)) << Self.lineShift
        if runsAtExit { raw |= Self.exitBit }
        if watched { raw |= Self.watchedBit }
    }

    @inline(__always) var isPending: Bool { raw & Self.phaseMask == 0 }
    @inline(__always) var isBusy: Bool { raw & Self.busyBit != 0 }
    @inline(__always) var runsAtExit: Bool { raw & Self.exitBit != 0 }
    @inline(__always) var isWatched: Bool { raw & Self.watchedBit != 0 }
    @inline(__always) var shard: Int { Int((raw >> Self.shardShift) & UInt32(Self.shardLimit - 1)) }
    @inline(__always) var line: Int { Int(raw >> Self.lineShift) }

    /// This word with the phase moved to "ran" by `trigger` (busy cleared).
    @inline(__always) func ran(_ trigger: FinalizerTrigger) -> StatusWord {
        internalCheck(isPending, "status: \(state) cannot move to ran(\(trigger))")
        return StatusWord(
            raw: (raw & ~(Self.phaseMask | Self.triggerMask | Self.busyBit))
                | Self.ranPhase | (trigger.code << Self.triggerShift))
    }

    /// This word with the phase moved to "detached" (busy cleared).
    @inline(__always) func detached() -> StatusWord {
        internalCheck(isPending, "status: \(state) cannot move to detached")
        return StatusWord(raw: (raw & ~(Self.phaseMask | Self.busyBit)) | Self.detachedPhase)
    }

    var state: FinalizerState {
        switch raw & Self.phaseMask {
        case 0: .pending
        case Self.ranPhase: .ran(FinalizerTrigger(code: (raw & Self.triggerMask) >> Self.triggerShift))
        default: .detached
        }
    }
}
