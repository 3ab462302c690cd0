// A sweep runs the dead owners it took out of the tables as one batch,
// newest first, a chunk at a time, and gives each chunk's owners and
// finalizers back as soon as it has run them; a shutdown that comes
// meanwhile runs what the sweep has not run yet. While a sweep runs,
// `pendingCount` counts exactly the finalizers not yet claimed.
//
// And the registration compaction that keeps a registry without a sweeper
// bounded: it scans a large table only when a sample finds dead entries.

import FinalizeTestSupport
import Synchronization
import Testing

@testable import Finalize

@Suite("A sweep's batch of dead owners")
struct SweepBatchTests {
    final class WeakFinalizer: @unchecked Sendable {
        weak var value: Finalizer<LifetimeTracked>?
        init(_ value: Finalizer<LifetimeTracked>) { self.value = value }
    }

    /// A sweep over 300 dead owners blocks in a cleanup two chunks in
    /// (newest first). By then it has given the newer chunks back: their
    /// finalizers are freed, the blocked chunk's are not. A shutdown on
    /// another thread runs every older cleanup the sweep has not reached;
    /// once released, the sweep runs nothing twice. Every cleanup runs
    /// once, every resource is released, nothing stays pending.
    @Test func shutdownRunsWhatABlockedSweepHasNotReached() {
        let count = 300
        let chunk = SweepBatch.chunk
        let blocked = count - 2 * chunk - chunk / 3  // in the third chunk from the end
        let givenBack = count - 2 * chunk  // the first entry of the chunks given back
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let runs = Locked([Int](repeating: 0, count: count))
        let threads = Locked([UInt](repeating: 0, count: count))
        let freedWhenBlocked = Locked<[Int]>([])
        let weakFinalizers = Locked<[WeakFinalizer]>([])
        let reachedBlocked = Signal()
        let resume = Signal()
        var owners = (0..<count).map { _ in Plain() }
        for index in owners.indices {
            let f = registry.finalize(owners[index], holding: tracker.instance()) { _ in
                runs.withLock { $0[index] += 1 }
                threads.withLock { $0[index] = currentThreadID() }
                guard index == blocked else { return }
                let freed = weakFinalizers.withLock { all in all.indices.filter { all[$0].value == nil } }
                freedWhenBlocked.set(freed)
                reachedBlocked.fire()
                _ = resume.wait()
            }
            weakFinalizers.withLock { $0.append(WeakFinalizer(f)) }
        }
        owners.removeAll()  // every owner is dead; their finalizers wait for a sweep
        let sweepThread = Locked<UInt>(0)
        let shutdownThread = Locked<UInt>(0)
        let reached = Locked(false)
        onThreads(2) { thread in
            if thread == 0 {
                sweepThread.set(currentThreadID())
                registry.sweep()
            } else {
                shutdownThread.set(currentThreadID())
                reached.set(reachedBlocked.wait())
                registry.shutdown()
                resume.fire()
            }
        }
        #expect(reached.value)
        #expect(runs.value.allSatisfy { $0 == 1 })
        #expect(freedWhenBlocked.value == Array(givenBack..<count))
        let ranOn = threads.value
        let sweeper = sweepThread.value
        let shutter = shutdownThread.value
        #expect((blocked..<count).allSatisfy { ranOn[$0] == sweeper })
        #expect((0..<blocked).allSatisfy { ranOn[$0] == shutter })
        #expect(tracker.instances == 0)
        #expect(registry.pendingCount == 0)
        #expect(weakFinalizers.value.allSatisfy { $0.value == nil })
    }

    /// A diagnostic that looks while a sweep's cleanup blocks sees exactly
    /// the finalizers the sweep has not reached (the rest of the batch),
    /// and does not stop the sweep from giving its entries back afterwards:
    /// in the next chunk, the blocked chunk's finalizers are freed.
    @Test func pendingDuringABlockedSweepListsWhatItHasNotReached() {
        let count = 300
        let chunk = SweepBatch.chunk
        let blocked = count / 2
        // The blocked cleanup's chunk (the third from the end) starts here;
        // in the next chunk, the sweep has given it back.
        let blockedChunkStart = count - 3 * chunk
        let later = blockedChunkStart - chunk / 2
        let registry = FinalizerRegistry(sweepInterval: nil)
        let reachedBlocked = Signal()
        let resume = Signal()
        let weakFinalizers = Locked<[WeakFinalizer]>([])
        let freedByLater = Locked<[Int]>([])
        let tracker = LifetimeTracker()
        var owners = (0..<count).map { _ in Plain() }
        for index in owners.indices {
            let f = registry.finalize(owners[index], holding: tracker.instance()) { _ in
                if index == later {
                    let freed = weakFinalizers.withLock { all in all.indices.filter { all[$0].value == nil } }
                    freedByLater.set(freed)
                }
                guard index == blocked else { return }
                reachedBlocked.fire()
                _ = resume.wait()
            }
            weakFinalizers.withLock { $0.append(WeakFinalizer(f)) }
        }
        owners.removeAll()
        let seen = Locked(-1)
        onThreads(2) { thread in
            if thread == 0 {
                registry.sweep()
            } else {
                if reachedBlocked.wait() { seen.set(registry.pending.count) }
                resume.fire()
            }
        }
        #expect(seen.value == blocked)
        #expect(freedByLater.value == Array(blockedChunkStart..<count))
        #expect(blocked >= blockedChunkStart && blocked < blockedChunkStart + chunk)
        #expect(weakFinalizers.value.allSatisfy { $0.value == nil })
        #expect(tracker.instances == 0)
        #expect(registry.pendingCount == 0)
    }

    /// Read from another thread while a sweep runs and then hands its
    /// claims over to the shards, `pendingCount` only goes down: a claim is
    /// never counted twice, nor missed, on its way from the batch to its
    /// shard.
    @Test func pendingCountOnlyDecreasesDuringASweep() {
        let count = 20_000
        let registry = FinalizerRegistry(sweepInterval: nil)
        var owners = (0..<count).map { _ in Plain() }
        for owner in owners { registry.finalize(owner) {} }
        owners.removeAll()
        let readings = Locked<[Int]>([])
        let swept = Signal()
        onThreads(2) { thread in
            if thread == 0 {
                registry.sweep()
                swept.fire()
            } else {
                var seen: [Int] = []
                while !swept.isFired { seen.append(registry.pendingCount) }
                seen.append(registry.pendingCount)
                readings.set(seen)
            }
        }
        let seen = readings.value
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(seen.first.map { $0 <= count } == true)
        #expect(seen.last == 0)
    }

    /// Each cleanup a sweep runs sees `pendingCount` without itself and
    /// without those run before it: the sweep counts its claims in the
    /// batch, and `pendingCount` subtracts them until the batch is done.
    @Test func pendingCountDuringASweepCountsWhatIsNotClaimed() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let count = 200
        let seen = Locked<[Int]>([])
        var owners = (0..<count).map { _ in Plain() }
        for owner in owners {
            registry.finalize(owner) { [unowned registry] in
                let pending = registry.pendingCount
                seen.withLock { $0.append(pending) }
            }
        }
        #expect(registry.pendingCount == count)
        owners.removeAll()
        #expect(registry.sweep() == count)
        #expect(seen.value == Array((0..<count).reversed()))
        #expect(registry.pendingCount == 0)
    }
}

@Suite("Registration compaction")
struct RegistrationCompactionTests {
    /// The decision alone: small tables are scanned outright, so are
    /// tables whose counters show many finished finalizers; a large table
    /// is scanned when a sample finds a dead entry (here half are dead: all
    /// 32 samples miss them with probability 2⁻³²), and not when all 32
    /// samples are alive.
    @Test func compactionScansWhenASampleFindsDeadEntries() {
        let large = 100_000
        let pick = { Int.random(in: 0..<large) }
        var samples = 0
        #expect(Shard.compactionScans(count: Shard.compactionScansOutright, finished: 0, pick: pick) { _ in false })
        #expect(Shard.compactionScans(count: large, finished: large / 2, pick: pick) { _ in false })
        #expect(Shard.compactionScans(count: large, finished: 0, pick: pick) { $0.isMultiple(of: 2) })
        let scansAllAlive = Shard.compactionScans(count: large, finished: 0, pick: pick) { _ in
            samples += 1
            return false
        }
        #expect(!scansAllAlive)
        #expect(samples == Shard.compactionSamples)
    }

    /// A growing table of live watched owners is scanned outright only
    /// while small (at 64, 128, ..., 1,024 entries: five times per shard),
    /// then only sampled: 20,000 live registrations make no more scans, and
    /// no cleanup runs.
    @Test func growingTableOfLiveOwnersIsNotRescanned() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let owners = (0..<20_000).map { _ in Plain() }
        for owner in owners { registry.finalize(owner) { runs.increment() } }
        let scans = registry._core.shards.all.map(\.compactionScanCount)
        #expect(scans.allSatisfy { $0 <= 5 }, "scans per shard: \(scans)")
        #expect(runs.value == 0)
        #expect(registry.pendingCount == owners.count)
        withExtendedLifetime(owners) {}
    }
}
