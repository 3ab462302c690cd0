/// Sweeping: the cleanups of dead watched owners run when a sweep finds the
/// owners dead. `FinalizerRegistry.sweep()`, shutdown and a registration's
/// amortized sweep look at every generation; the sweeper's ticks follow its
/// pacer.
extension _RegistryCore {
    /// A full sweep of every generation (`FinalizerRegistry.sweep()`).
    func sweep() -> Int {
        sweep(.all)
    }

    /// Sweeps `generations` of every shard, then runs what it found, newest
    /// first; returns how many cleanups ran.
    func sweep(_ generations: Shard.Generations) -> Int {
        var due: [WatchedEntry] = []
        var collections = 0
        // Between shards this sweep holds counted collections while it waits
        // for the next shard's lock: a fork must not come then (see
        // `ForkGate`), until the batch is published.
        let stripe = ForkGate.currentStripe
        ForkGate.enter(stripe)
        shards.forEachShard { shard in
            guard shard.watchedEntries.load(ordering: .relaxed) > 0 else { return }
            let found = shard.sweep(generations, dropDetached: shard.hasManyDeadWatchedEntries)
            if !found.isEmpty {
                collections += 1
                // The usual single shard's entries are taken as they are.
                if due.isEmpty { due = found } else { due.append(contentsOf: found) }
            }
        }
        guard !due.isEmpty else {
            ForkGate.leave(stripe)
            return 0
        }
        let batch = inFlight.publish(due, collections: collections)
        ForkGate.leave(stripe)
        return inFlight.run(batch, in: self)
    }

    /// Runs the dead owners' entries that a registration's amortized sweep
    /// collected from one shard (see `InFlightSweeps`).
    func runDue(_ due: [WatchedEntry]) -> Int {
        inFlight.run(inFlight.publish(due, collections: 1), in: self)
    }

    /// One step of the background sweeper at `now` (a monotonic instant):
    /// sweeps what the pacer says is due and returns how many cleanups ran.
    /// The sweeper thread calls it every interval; tests call it with a
    /// clock of their own.
    func sweepTick(now: Duration) -> Int {
        let plan = sweeper.pacer.withLock { $0.plan(at: now) }
        var ran = plan.sweepYoung ? sweep(.young) : 0
        if plan.promote {
            shards.forEachShard { $0.promote() }
        }
        if plan.sweepOld {
            let started = monotonicNow()
            ran += sweep(.old)
            let took = monotonicNow() - started
            sweeper.pacer.withLock { $0.oldSweepFinished(at: now, took: took) }
        }
        return ran
    }
}
