// Review 3: probes for today's changes (in-flight sweep batches, the dead
// registry's freed tables, interval clamping, adopted failures, and the
// actor an AsyncCleanupStack remembers). Each test states the contract it
// checks. Four of them found bugs, fixed since: a shutdown between a sweep's
// collection and its publication missed the batch; an actor owning a stack
// made on itself was never freed; stacks made in nonisolated helpers or by
// move() ran main-actor entries off the main actor.
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
@testable import Finalize

@MainActor
private final class Review3MainActorState {
    var items: [String] = []
}

/// A nonisolated, synchronous factory: the kind of helper (or a plain
/// class's stored-property initializer, or `move()`) in which `#isolation`
/// is nil, whatever actor the caller is on.
private func makeStackInAHelper() -> AsyncCleanupStack {
    AsyncCleanupStack()
}

/// An actor that keeps a cleanup stack it created on itself.
private actor StackOwningActor {
    var stack: AsyncCleanupStack?

    func open(_ ran: Counter) {
        let stack = AsyncCleanupStack()  // #isolation == self
        stack.defer { ran.increment() }
        self.stack = stack
    }
}

@Suite("Review 3", .timeLimit(.minutes(2)))
struct Review3Tests {
    // MARK: - 1. In-flight sweep batches

    /// Contract (Design.md, "Shutdown and process exit"): shutdown() "runs
    /// what other sweeps took out of their tables and have not run yet".
    /// A sweep takes its dead owners out of the shard tables first and only
    /// publishes the batch (`inFlight.insert`) after it has swept every shard
    /// and sorted the entries; a shutdown in between saw the entries in no
    /// table and in no batch, and returned without running them (at exit,
    /// lost). Now each collection is counted under its shard's lock and
    /// shutdown waits for it to be published.
    ///
    /// Thread 0 sweeps; thread 1 waits until the tables are empty (the
    /// sweep has taken the entries: an observable state, not a sleep), then
    /// shuts down and counts the dead owners' finalizers still pending.
    @Test func shutdownFindsABatchNotYetPublished() {
        let rounds = 12
        let perThread = 8_000
        let missedRounds = Counter()
        let missedFinalizers = Locked<Int>(0)
        for _ in 0..<rounds {
            let registry = FinalizerRegistry(sweepInterval: nil)
            let owners = Locked<[Plain]>([])
            let finalizers = Locked<[Finalizer<Void>]>([])
            // Register from two threads, so the entries land in two shards
            // and the sweep has to sort them (a wider window).
            onThreads(2) { _ in
                var mine: [Plain] = []
                var fs: [Finalizer<Void>] = []
                for _ in 0..<perThread {
                    let owner = Plain()
                    fs.append(registry.finalize(owner, runsAtExit: false) {})
                    mine.append(owner)
                }
                owners.withLock { $0.append(contentsOf: mine) }
                finalizers.withLock { $0.append(contentsOf: fs) }
            }
            owners.withLock { $0.removeAll() }  // every owner is dead now
            let all = finalizers.withLock { $0 }
            let stillPending = Locked<Int>(0)
            onThreads(2) { thread in
                if thread == 0 {
                    registry.sweep()
                } else {
                    while registry._core.hasWatchedEntries { sched_yield() }
                    registry.shutdown()
                    // Every owner died before this shutdown began, so none
                    // may still be pending now.
                    let pending = all.reduce(0) { $0 + ($1.isAlive ? 1 : 0) }
                    stillPending.withLock { $0 = pending }
                }
            }
            let pending = stillPending.withLock { $0 }
            if pending > 0 {
                missedRounds.increment()
                missedFinalizers.withLock { $0 += pending }
            }
            // The sweep does run them all eventually.
            #expect(all.allSatisfy { !$0.isAlive })
        }
        #expect(
            missedRounds.value == 0,
            "shutdown() returned with \(missedFinalizers.value) dead owners' finalizers pending in \(missedRounds.value) of \(rounds) rounds"
        )
    }

    /// Sound: a cleanup in a sweep's batch that calls shutdown() runs the
    /// rest of its own batch (newest first) exactly once, and the outer
    /// sweep then finds them claimed. Reference counts balance: owners and
    /// resources are all freed.
    @Test func cleanupInABatchCallingShutdownRunsTheRestOnce() {
        let tracker = LifetimeTracker()
        let registry = FinalizerRegistry(sweepInterval: nil)
        let order = Locked<[Int]>([])
        var owners: [Plain] = (0..<8).map { _ in Plain(tracker: tracker) }
        var fs: [Finalizer<LifetimeTracked>] = []
        for (index, owner) in owners.enumerated() {
            fs.append(
                registry.finalize(owner, holding: tracker.instance(), runsAtExit: false) { [registry] _ in
                    order.withLock { $0.append(index) }
                    if index == 5 { registry.shutdown() }
                })
        }
        owners.removeAll()
        #expect(registry.sweep() == 3)  // 7, 6, 5; 5's shutdown ran 4...0
        #expect(order.withLock { $0 } == [7, 6, 5, 4, 3, 2, 1, 0])
        #expect(fs.allSatisfy { $0.state == .ran(.sweep) })
        fs.removeAll()
        #expect(tracker.instances == 0)
    }

    // MARK: - 2. A dead registry's tables

    /// Sound: after the registry ends, its watched tables hold no storage,
    /// and a kept handle keeps neither owners nor resources.
    @Test func deadRegistryFreesItsTables() {
        let tracker = LifetimeTracker()
        var registry: FinalizerRegistry? = FinalizerRegistry(sweepInterval: nil)
        let owners = (0..<300).map { _ in Plain() }
        let fs = owners.map { registry!.finalize($0, holding: tracker.instance(), runsAtExit: false) { _ in } }
        let shard = fs[0].watchedShard
        registry = nil
        #expect(shard.watchedCapacity == 0)
        #expect(fs.allSatisfy { $0.state == .detached })
        #expect(tracker.instances == 0)
        withExtendedLifetime(owners) {}
    }

    // MARK: - 3. Interval clamping

    @Test func clampingAndDeadline() {
        #expect(FinalizerRegistry.clamped(.nanoseconds(1)) == .microseconds(1))
        #expect(FinalizerRegistry.clamped(.seconds(Int64.max)) == .seconds(100 * 365 * 86_400))
        let late = Duration.seconds(Int64.max) + .seconds(Int64.max)
        let saturated = MonotonicCondition.posixTime(saturating: late)
        #expect(saturated.tv_sec == .max && saturated.tv_nsec == 999_999_999)
        let carried = MonotonicCondition.posixTime(saturating: .seconds(10) + .milliseconds(900) + .milliseconds(200))
        #expect(carried.tv_sec == 11 && carried.tv_nsec == 100_000_000)
    }

    // MARK: - 4. Adopted failures

    /// Sound: a push callback and a closed stack see the adopted finalizer's
    /// own error, never the internal wrapper, and CleanupErrors holds the
    /// unwrapped errors (raw `defer` path and boxed path alike).
    @Test func adoptedErrorsAreUnwrappedEverywhere() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owner = Plain()
        let seen = Locked<[String]>([])
        let stack = CleanupStack()
        stack.adopt(registry.finalize(owner) { throw CleanupBoom(id: 1) })
        stack.push { error in
            seen.withLock { $0.append("\(type(of: error!))") }
            return false
        }
        stack.adopt(registry.finalize(owner) { throw CleanupBoom(id: 2) })
        stack.defer { throw CleanupBoom(id: 3) }
        do {
            try stack.close()
            Issue.record("close() should throw")
        } catch let errors as CleanupErrors {
            #expect(errors.errors.map { $0 as? CleanupBoom } == [CleanupBoom(id: 3), CleanupBoom(id: 2), CleanupBoom(id: 1)])
        }
        #expect(seen.withLock { $0 } == ["CleanupBoom"])
        withExtendedLifetime(owner) {}
    }

    // MARK: - 5. AsyncCleanupStack and its actor

    /// An actor that stores a stack created on itself (the natural way to own
    /// cleanups) is freed, and the stack's entries run: the stack holds its
    /// actor weakly (it held it strongly, a cycle that freed neither).
    @Test func actorOwningAStackCreatedOnItselfIsFreed() async {
        let ran = Counter()
        weak var weakActor: StackOwningActor?
        do {
            let actor = StackOwningActor()
            weakActor = actor
            await actor.open(ran)
        }
        #expect(weakActor == nil, "the actor and its stack keep each other alive")
        #expect(ran.value == 1, "the stack's entry never ran")
    }

    /// A stack made by a nonisolated synchronous helper (or a plain class's
    /// stored property, or `move()`, below) and filled with main-actor
    /// entries on the main actor runs them on the main actor when dropped:
    /// the stack records the actor its entries are added on (it recorded
    /// only the one it was created on, nil here).
    @MainActor
    @Test func stackMadeByAHelperRunsMainActorEntryOnIt() async {
        let state = Review3MainActorState()
        let mainThread = pthread_self()
        let (events, continuation) = AsyncStream.makeStream(of: Bool.self)
        do {
            let stack = makeStackInAHelper()
            stack.defer {
                state.items.append("sync")  // main-actor state, compiled as main-actor code
                continuation.yield(pthread_equal(pthread_self(), mainThread) != 0)
                continuation.finish()
            }
            stack.defer { () async in await cleanupHop() }
        }
        var onMain: [Bool] = []
        for await value in events { onMain.append(value) }
        #expect(onMain == [true], "a main-actor entry ran off the main actor")
    }

    /// `move()` hands the actor the entries were added on to the new stack
    /// (it made the new one in nonisolated code, which forgot the actor).
    @MainActor
    @Test func movedStackRunsMainActorEntryOnIt() async {
        let state = Review3MainActorState()
        let mainThread = pthread_self()
        let (events, continuation) = AsyncStream.makeStream(of: Bool.self)
        do {
            let stack = AsyncCleanupStack()  // remembers the main actor
            stack.defer {
                state.items.append("sync")
                continuation.yield(pthread_equal(pthread_self(), mainThread) != 0)
                continuation.finish()
            }
            stack.defer { () async in await cleanupHop() }
            let moved = stack.move()
            withExtendedLifetime(moved) {}
        }
        var onMain: [Bool] = []
        for await value in events { onMain.append(value) }
        #expect(onMain == [true], "a main-actor entry of a moved stack ran off the main actor")
    }
}
