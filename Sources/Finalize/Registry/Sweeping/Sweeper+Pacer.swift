extension Sweeper {
    /// Decides which watched generations the background sweeper looks at, so
    /// that its cost follows what is registered and what dies, not what lives.
    ///
    /// Each shard keeps its watched entries in two generations (see `Shard`):
    /// `young`, in `youngCohorts` cohorts by registration time, and `old`.
    /// - Young entries are swept every other tick (at most every
    ///   `2 * interval - interval / 2`), so an owner that dies young is found
    ///   within about two intervals of its death.
    /// - Every `promotionPeriod` (`interval`, at least 100 ms) the oldest young
    ///   cohort moves to `old`. An entry stays young for at least
    ///   `(youngCohorts - 1) * promotionPeriod`, which is one second plus two
    ///   intervals: an owner that dies within a second of its registration is
    ///   still young at the next young sweep after its death.
    /// - The old generation is swept when `nextOldSweep` comes: `interval`
    ///   after the previous old sweep began, or `oldShare - 1` times as long as
    ///   that sweep took, whichever is later. Old sweeps thus take at most
    ///   `1 / oldShare` (0.25 %) of elapsed time, and an owner that died old is
    ///   found within the larger of `interval` and `oldShare - 1` old-sweep
    ///   durations, plus one tick. A sweep tests 80 to 300 owners a microsecond
    ///   (3.5 to 12.5 ns each, depending on how scattered they are in memory),
    ///   so with a million old watched owners that is 1.5 to 5 seconds.
    ///
    /// `FinalizerRegistry.sweep()`, shutdown and the amortized sweep of
    /// registration always sweep every generation.
    struct Pacer: Sendable {
        /// Old sweeps take at most `1 / oldShare` of elapsed time.
        static let oldShare: Int64 = 400

        let interval: Duration
        let promotionPeriod: Duration
        let youngCohorts: Int
        /// Set by the first tick.
        private(set) var nextYoungSweep: Duration?
        private(set) var nextPromotion: Duration?
        private(set) var nextOldSweep: Duration?

        init(interval: Duration) {
            self.interval = interval
            promotionPeriod = max(.milliseconds(100), interval)
            // Young for at least one second plus two intervals.
            let youth = Duration.seconds(1) + interval * 2
            var periods = 1
            while promotionPeriod * periods < youth { periods += 1 }
            youngCohorts = periods + 1
        }

        /// What the tick at `now` does.
        mutating func plan(at now: Duration) -> (sweepYoung: Bool, promote: Bool, sweepOld: Bool) {
            guard let young = nextYoungSweep, let promotion = nextPromotion, let oldSweep = nextOldSweep else {
                nextYoungSweep = now + interval * 2 - interval / 2
                nextPromotion = now + promotionPeriod
                nextOldSweep = now + interval
                return (true, false, false)
            }
            let sweepYoung = now >= young
            if sweepYoung { nextYoungSweep = now + interval * 2 - interval / 2 }
            let promote = now >= promotion
            // From now, not from when it was due: promotions are never closer
            // than a period, however late a tick comes.
            if promote { nextPromotion = now + promotionPeriod }
            return (sweepYoung, promote, now >= oldSweep)
        }

        /// An old sweep that started at `now` took `took`.
        mutating func oldSweepFinished(at now: Duration, took: Duration) {
            nextOldSweep = now + max(interval, took * (Self.oldShare - 1))
        }
    }
}
