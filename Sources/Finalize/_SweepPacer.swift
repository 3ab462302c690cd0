/// Decides which watched generations the background sweeper looks at, so
/// that its cost follows what dies, not what lives.
///
/// Each shard keeps its watched entries in three tables by age (see
/// `_Shard`): `nursery` (registered since the last promotion), `survivors`
/// (registered during the promotion period before) and `old`.
/// - Every tick (every `interval`) sweeps the nursery and the survivors.
/// - Every `promotionPeriod` (at least one second, at least one interval),
///   after that tick's sweep, the survivors move to `old` and the nursery
///   becomes the survivors. An entry therefore stays young for at least one
///   promotion period, so an owner that dies within a second of its
///   registration is found by the first tick after its death: within
///   `interval` of it, plus the sweep itself.
/// - The old table is swept when `nextOldSweep` comes: `interval` after the
///   previous old sweep, or `oldShare - 1` times as long as that sweep took,
///   whichever is later. Old sweeps thus take at most `1 / oldShare` of the
///   sweeper thread's time (0.5 %), and an old owner is found within the
///   larger of `interval` and `oldShare - 1` old-sweep durations after its
///   death, plus one tick. A sweep looks at about 50 to 200 owners a
///   microsecond, so with a million old watched owners that is one to four
///   seconds.
///
/// `FinalizerRegistry.sweep()` and shutdown always sweep everything.
struct _SweepPacer: Sendable {
    /// The old table's share of elapsed time is at most `1 / oldShare`.
    static let oldShare: Int64 = 200

    let interval: Duration
    let promotionPeriod: Duration
    /// Set by the first tick.
    private(set) var nextPromotion: Duration?
    private(set) var nextOldSweep: Duration?

    init(interval: Duration) {
        self.interval = interval
        promotionPeriod = max(.seconds(1), interval)
    }

    /// What the tick at `now` does besides sweeping the young tables.
    mutating func plan(at now: Duration) -> (promote: Bool, sweepOld: Bool) {
        guard let promotion = nextPromotion, let oldSweep = nextOldSweep else {
            nextPromotion = now + promotionPeriod
            nextOldSweep = now + interval
            return (false, false)
        }
        let promote = now >= promotion
        if promote { nextPromotion = now + promotionPeriod }
        return (promote, now >= oldSweep)
    }

    /// An old sweep that started at `now` took `took`.
    mutating func oldSweepFinished(at now: Duration, took: Duration) {
        nextOldSweep = now + max(interval, took * (Self.oldShare - 1))
    }
}
