// Exactly once when triggers race from different threads (owner death,
// sweeps, runNow, detach, peek, shutdown, a registry's end, compaction), and
// re-entrancy: cleanups may use the registry freely because no lock is held
// while one runs. Two of these races were once real bugs: `pending` deadlocked
// with an owner's last release, and a registration overlapping `shutdown()`
// could be skipped.
//
// The racing threads start together at a barrier and are joined; nothing
// waits on a clock. Sizes are small enough for ThreadSanitizer.

import Dispatch
import FinalizeTestSupport
import Synchronization
import Testing

@testable import Finalize

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Concurrency")
struct ConcurrencyTests {
    /// Every trigger at once, from different threads, on the same
    /// finalizers: one thread releases the owners (and sweeps), two call
    /// `runNow()` and `detach()` in different orders, one calls `shutdown()`.
    /// Each finalizer ends either run exactly once by exactly one trigger, or
    /// detached and never run, and its state names the winner.
    @Test(arguments: OwnerKind.allCases)
    func racingTriggersRunExactlyOnce(kind: OwnerKind) throws {
        let rounds = 20, perRound = 64
        for _ in 0..<rounds {
            let registry = FinalizerRegistry(sweepInterval: nil)
            let runs = Locked<[Int]>(Array(repeating: 0, count: perRound))
            let owners = Locked<[AnyObject & Sendable]>((0..<perRound).map { _ in kind.make() })
            let fs = owners.value.enumerated().map { i, owner in
                registry.finalize(owner, holding: i) { i in runs.withLock { $0[i] += 1 } }
            }
            let ranByRunNow = Locked<[Int]>([])
            let detached = Locked<[Int]>([])
            let shutdownCount = Locked<Int>(0)

            onThreads(4) { thread in
                switch thread {
                case 0:
                    _ = owners.exchange([])  // the owners' last releases, here
                    kind.collect(registry)
                case 1:
                    for (i, f) in fs.enumerated().reversed() where (try? f.runNow()) == true {
                        ranByRunNow.withLock { $0.append(i) }
                    }
                case 2:
                    for (i, f) in fs.enumerated() where f.detach() != nil {
                        detached.withLock { $0.append(i) }
                    }
                default:
                    let ran = registry.shutdown()
                    shutdownCount.set(ran)
                }
            }
            // Whatever is left (a watched owner that died after thread 0's
            // sweep looked) is collected now.
            kind.collect(registry)

            let counts = runs.value
            let byRunNow = Set(ranByRunNow.value), byDetach = Set(detached.value)
            try #require(counts.allSatisfy { $0 <= 1 }, "a cleanup ran twice: \(counts)")
            #expect(byRunNow.isDisjoint(with: byDetach))
            var byShutdown = 0
            for (i, f) in fs.enumerated() {
                let state = f.state
                if byDetach.contains(i) {
                    #expect(counts[i] == 0)
                    #expect(state == .detached)
                } else {
                    #expect(counts[i] == 1, "finalizer \(i) ran \(counts[i]) times")
                    if byRunNow.contains(i) {
                        #expect(state == .ran(.runNow))
                    } else if state == .ran(.shutdown) {
                        byShutdown += 1
                    } else {
                        #expect(state == .ran(kind.deathTrigger), "finalizer \(i): \(state)")
                    }
                }
            }
            #expect(byShutdown <= shutdownCount.value)
            #expect(registry.pendingCount == 0)
        }
    }

    /// Many threads calling `runNow()` on the same finalizers at once: each
    /// runs once, and exactly one call per finalizer returns true.
    @Test(arguments: OwnerKind.allCases)
    func concurrentRunNowRunsOnce(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let count = 500, threads = 4
        let owners = (0..<count).map { _ in kind.make() }
        let runs = Locked<[Int]>(Array(repeating: 0, count: count))
        let fs = owners.enumerated().map { i, owner in
            registry.finalize(owner, holding: i) { i in runs.withLock { $0[i] += 1 } }
        }
        let wins = Locked<[Int]>(Array(repeating: 0, count: count))
        onThreads(threads) { _ in
            for (i, f) in fs.enumerated() where (try? f.runNow()) == true {
                wins.withLock { $0[i] += 1 }
            }
        }
        #expect(runs.value == Array(repeating: 1, count: count))
        #expect(wins.value == Array(repeating: 1, count: count))
        #expect(fs.allSatisfy { $0.state == .ran(.runNow) })
        withExtendedLifetime(owners) {}
    }

    /// Many threads calling `detach()` at once: exactly one gets the resource
    /// back, nothing runs.
    @Test(arguments: OwnerKind.allCases)
    func concurrentDetachHandsBackOnce(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let count = 500, threads = 4
        let owners = (0..<count).map { _ in kind.make() }
        let runs = Counter()
        let fs = owners.enumerated().map { i, owner in
            registry.finalize(owner, holding: i) { _ in runs.increment() }
        }
        let handedBack = Locked<[Int]>([])
        onThreads(threads) { _ in
            for f in fs {
                if let resource = f.detach() { handedBack.withLock { $0.append(resource) } }
            }
        }
        #expect(handedBack.value.sorted() == Array(0..<count))
        withExtendedLifetime(owners) {}
        kind.collect(registry)
        #expect(runs.value == 0)
    }

    /// Registrations on one host owner from many threads at once: all run
    /// when it dies, and each thread's registrations run newest first.
    @Test func concurrentRegistrationOnOneHostOwner() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let threads = 4, perThread = 250
        let order = Locked<[(thread: Int, index: Int)]>([])
        let owner = Locked<Host?>(Host())
        onThreads(threads) { thread in
            guard let host = owner.value else { return }
            for index in 0..<perThread {
                registry.finalize(host) { order.withLock { $0.append((thread, index)) } }
            }
        }
        #expect(registry.pendingCount == threads * perThread)
        #expect(order.value.isEmpty)
        owner.clear()
        let ran = order.value
        #expect(ran.count == threads * perThread)
        for thread in 0..<threads {
            let mine = ran.filter { $0.thread == thread }.map(\.index)
            #expect(mine == Array((0..<perThread).reversed()))
        }
        #expect(registry.pendingCount == 0)
    }

    /// Registration, release, sweep, `pending` and `pendingCount` all at once
    /// on one registry: exact counts at the end, no cleanup lost or doubled.
    @Test func mixedOperationsStress() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let threads = 3, perThread = 2_000
        let runs = Counter()
        let done = Locked<Int>(0)
        onThreads(threads + 1) { thread in
            if thread == threads {
                // An observer: sweeps and takes snapshots until the others finish.
                while done.value < threads {
                    registry.sweep()
                    _ = registry.pending.count
                    _ = registry.pendingCount
                }
                return
            }
            for i in 0..<perThread {
                do {
                    var owner: (AnyObject & Sendable)? = i % 2 == 0 ? Host() : Plain()
                    let f = register(registry, on: owner!) { runs.increment() }
                    if i % 7 == 0 { _ = f.peek() }
                    if i % 5 == 0 { _ = try? f.runNow() }
                    owner = nil
                }
            }
            done.withLock { $0 += 1 }
        }
        registry.sweep()
        #expect(runs.value == threads * perThread)
        #expect(registry.pendingCount == 0)
    }

    /// `runsAtExit` flipped from another thread while a shutdown runs: every
    /// finalizer runs at most once, and those still pending afterwards are
    /// exactly the ones the shutdown skipped.
    @Test func runsAtExitFlippedDuringShutdown() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let count = 1_000
        let owners = (0..<count).map { _ in Plain() }
        let runs = Locked<[Int]>(Array(repeating: 0, count: count))
        let fs = owners.enumerated().map { i, owner in
            registry.finalize(owner, holding: i) { i in runs.withLock { $0[i] += 1 } }
        }
        let ranByShutdown = Locked<Int>(0)
        onThreads(2) { thread in
            if thread == 0 {
                ranByShutdown.set(registry.shutdown())
            } else {
                for f in fs { f.runsAtExit = false }
            }
        }
        let counts = runs.value
        #expect(counts.allSatisfy { $0 <= 1 })
        #expect(counts.reduce(0, +) == ranByShutdown.value)
        for (i, f) in fs.enumerated() {
            #expect((counts[i] == 1 ? FinalizerState.ran(.shutdown) : .pending) == f.state)
        }
        withExtendedLifetime(owners) {}
    }

    // MARK: Re-entrancy

    /// From inside a cleanup, whatever ran it (the owner's release, a sweep,
    /// `runNow()` or `shutdown()`), the registry may be used freely: register,
    /// run and detach other finalizers, release other owners (whose cleanups
    /// then run nested), sweep and shut down. No deadlock, every nested
    /// cleanup runs exactly once, in the expected order.
    @Test(arguments: [FinalizerTrigger.ownerDeinit, .sweep, .runNow, .shutdown])
    func cleanupsMayReenterTheRegistry(trigger: FinalizerTrigger) throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let keep = (0..<4).map { _ in Plain() }
        let otherHost = Locked<Host?>(Host())
        let otherWatched = Locked<Plain?>(Plain())
        registry.finalize(otherHost.value!, runsAtExit: false) { log.append("other host released") }
        registry.finalize(otherWatched.value!, runsAtExit: false) { log.append("other watched swept") }
        let toRun = registry.finalize(keep[0], runsAtExit: false) { log.append("ran by runNow") }
        let toDetach = registry.finalize(keep[1], holding: 7, runsAtExit: false) { _ in log.append("detached ran!") }
        registry.finalize(keep[2]) { log.append("ran by nested shutdown") }
        let registeredInside = Locked<Finalizer<Void>?>(nil)
        let results = Locked<[String]>([])

        let outerCleanup: @Sendable () throws -> Void = {
            log.append("outer begins")
            let late = registry.finalize(keep[3]) { log.append("registered inside, ran by nested shutdown") }
            registeredInside.set(late)
            let lateAlive = late.isAlive
            let ranNow = try toRun.runNow()
            let resource = toDetach.detach()
            otherHost.clear()  // its cleanup runs right here
            otherWatched.clear()
            let swept = registry.sweep()  // runs the watched one's cleanup
            let pendingBefore = registry.pendingCount
            let shutdownRan = registry.shutdown()
            results.set([
                "late alive \(lateAlive)", "runNow \(ranNow)", "detach \(resource.map(String.init) ?? "nil")",
                "sweep \(swept)", "pending \(pendingBefore)", "shutdown \(shutdownRan)",
            ])
            log.append("outer ends")
        }

        switch trigger {
        case .ownerDeinit:
            do {
                var owner: Host? = Host()
                registry.finalize(owner!, runsAtExit: false, outerCleanup)
                owner = nil
            }
        case .sweep:
            do {
                var owner: Plain? = Plain()
                registry.finalize(owner!, runsAtExit: false, outerCleanup)
                owner = nil
            }
            #expect(registry.sweep() == 1)
        case .runNow:
            let owner = Plain()
            #expect(try registry.finalize(owner, runsAtExit: false, outerCleanup).runNow())
        default:
            let owner = Plain()
            registry.finalize(owner, outerCleanup)
            // The outer one is the newest: it runs first; the nested shutdown
            // takes the rest, so the outer shutdown counts only itself.
            #expect(registry.shutdown() == 1)
        }

        #expect(
            log.events == [
                "outer begins",
                "ran by runNow",
                "other host released",
                "other watched swept",
                "registered inside, ran by nested shutdown",
                "ran by nested shutdown",
                "outer ends",
            ])
        // pending at that point: keep[2]'s and the late one (toRun ran,
        // toDetach was detached, the others were just released and run).
        #expect(results.value == ["late alive true", "runNow true", "detach 7", "sweep 1", "pending 2", "shutdown 2"])
        #expect(registeredInside.value?.state == .ran(.shutdown))
        #expect(toDetach.state == .detached)
        #expect(registry.pendingCount == 0)
        withExtendedLifetime(keep) {}
        registeredInside.set(nil)
    }

    /// A cleanup may drop the last reference to a registry, even its own;
    /// the registry then ends inside the cleanup without deadlock.
    @Test func cleanupMayEndItsOwnRegistry() {
        let log = EventLog()
        weak var weakRegistry: FinalizerRegistry?
        let slot = Locked<FinalizerRegistry?>(FinalizerRegistry(sweepInterval: nil))
        weakRegistry = slot.value
        let survivorFinalizer: Finalizer<Void>
        do {
            var survivor: Host? = Host()
            survivorFinalizer = slot.value!.finalize(survivor!, runsAtExit: false) { log.append("survivor") }
            do {
                var owner: Host? = Host()
                slot.value!.finalize(owner!) {
                    slot.clear()  // the registry's last reference goes here
                    log.append("dropped the registry")
                }
                owner = nil
            }
            #expect(log.events == ["dropped the registry"])
            #expect(weakRegistry == nil)
            #expect(survivorFinalizer.isAlive)
            survivor = nil
        }
        // A host finalizer outlives its registry and still runs at release.
        #expect(log.events == ["dropped the registry", "survivor"])
        #expect(survivorFinalizer.state == .ran(.ownerDeinit))
    }

    /// `pending` looks at each pending finalizer's owner while it holds the
    /// finalizer's `busy` bit. It once took a strong reference to do so: when
    /// another thread dropped the owner meanwhile, the reader's release was
    /// the last one, the owner's deinit ran on the reader's thread, and its
    /// bag's claim of that very finalizer waited for `busy` forever.
    @Test func pendingDoesNotDeadlockWithTheOwnersLastRelease() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let stop = Atomic<Bool>(false)
        let done = Signal()
        let ran = Counter()
        let reader = startThread {
            while !stop.load(ordering: .acquiring) { _ = registry.pending }
            done.fire()
        }
        let holder = Locked<Host?>(nil)
        let iterations = 200_000
        for _ in 0..<iterations {
            let host = Host()
            registry.finalize(host) { ran.increment() }
            holder.set(host)
            _ = consume host
            holder.clear()  // usually the last release; sometimes the reader has it
        }
        stop.store(true, ordering: .releasing)
        let finished = done.wait(timeoutSeconds: 20)
        #expect(finished, "the reader is stuck inside `pending`")
        if finished { reader.join() }
        #expect(ran.value == iterations)
    }

    /// A registration racing `shutdown()` once could be skipped for good: its
    /// number was taken before it was linked, and shutdown's horizon moved
    /// past it. Registrations from one thread are sequential, so if shutdown
    /// ran one of them, it must have run every earlier one too. (The writer
    /// never stops on its own: shutdown also has to return, thanks to its
    /// newcomer budget.)
    @Test func shutdownDoesNotSkipARegistrationThatOverlapsIt() {
        for _ in 0..<5 {
            let registry = FinalizerRegistry(sweepInterval: nil)
            let owners = Locked<[Host]>([])
            let handles = Locked<[Finalizer<Void>]>([])
            let stop = Atomic<Bool>(false)
            let started = Atomic<Bool>(false)
            let writer = startThread {
                while !stop.load(ordering: .acquiring) {
                    let host = Host()
                    let f = registry.finalize(host) {}
                    owners.withLock { $0.append(host) }
                    handles.withLock { $0.append(f) }
                    started.store(true, ordering: .releasing)
                }
            }
            while !started.load(ordering: .acquiring) { sched_yield() }
            // Slow cleanups keep shutdown busy, so registrations overlap it.
            let slowOwners = (0..<1_000).map { _ in Host() }
            for owner in slowOwners { registry.finalize(owner) { for _ in 0..<200 { _ = getpid() } } }
            registry.shutdown()
            stop.store(true, ordering: .releasing)
            writer.join()
            let all = handles.value
            if let lastRan = all.lastIndex(where: { $0.state == .ran(.shutdown) }) {
                let skipped = all[..<lastRan].filter(\.isAlive).count
                #expect(skipped == 0, "\(skipped) registrations older than one that shutdown ran were skipped")
                if skipped > 0 { return }
            }
            withExtendedLifetime((slowOwners, owners)) {}
        }
    }

    /// detach() on a watched finalizer races with the registry's end(): the
    /// resource is handed back or released exactly once, never both, never
    /// lost; nothing crashes (ASan/TSan).
    @Test func detachRacesRegistryEnd() {
        let tracker = LifetimeTracker()
        for _ in 0..<200 {
            let owners = (0..<16).map { _ in Plain() }
            let slot = Locked<FinalizerRegistry?>(FinalizerRegistry(sweepInterval: nil))
            let ran = Counter()
            let fs = owners.map { owner in
                slot.value!.finalize(owner, holding: tracker.instance(), runsAtExit: false) { _ in ran.increment() }
            }
            let detached = Counter()
            onThreads(2) { thread in
                if thread == 0 {
                    slot.clear()
                } else {
                    for f in fs.reversed() { if f.detach() != nil { detached.increment() } }
                }
            }
            #expect(ran.value == 0)
            for f in fs { #expect(f.state == .detached) }
            withExtendedLifetime(owners) {}
        }
        #expect(tracker.instances == 0)
    }

    /// runNow() on watched finalizers races with the registry's end(): a
    /// watched finalizer does not keep its shard, so a claim by its caller
    /// holds `busy` while it touches the shard, and keeps the core for its
    /// failure report. Each cleanup runs at most once and is otherwise
    /// detached, half of them throw (their errors reach the caller), every
    /// resource is released; nothing crashes (TSan, internal checks).
    @Test func runNowRacesRegistryEnd() {
        let tracker = LifetimeTracker()
        let ran = Counter()
        let thrown = Counter()
        for _ in 0..<200 {
            let owners = (0..<16).map { _ in Plain() }
            let slot = Locked<FinalizerRegistry?>(FinalizerRegistry(sweepInterval: nil))
            let fs = owners.indices.map { index in
                slot.value!.finalize(owners[index], holding: tracker.instance(), runsAtExit: false) { _ in
                    ran.increment()
                    if index.isMultiple(of: 2) { throw TestError("cleanup \(index)") }
                }
            }
            let returnedTrue = Counter()
            onThreads(2) { thread in
                if thread == 0 {
                    slot.clear()
                } else {
                    for f in fs.reversed() {
                        do {
                            if try f.runNow() { returnedTrue.increment() }
                        } catch {
                            thrown.increment()
                        }
                    }
                }
            }
            for f in fs { #expect(f.state == .ran(.runNow) || f.state == .detached) }
            // A cleanup that ran returned true, or threw.
            let ranHere = fs.count { $0.state == .ran(.runNow) }
            let threwHere = fs.indices.count { $0.isMultiple(of: 2) && fs[$0].state == .ran(.runNow) }
            #expect(ranHere == returnedTrue.value + threwHere)
            withExtendedLifetime(owners) {}
        }
        #expect(tracker.instances == 0)
        #expect(thrown.value <= ran.value)
    }

    /// peek() and detach() race with the owner's last release (host and
    /// watched) and with sweeps: exactly one outcome per finalizer.
    @Test(arguments: OwnerKind.allCases)
    func peekDetachRaceOwnerDeath(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let ran = Counter()
        let detached = Counter()
        let rounds = 2_000
        for _ in 0..<rounds {
            let owner = Locked<(AnyObject & Sendable)?>(kind.make())
            let f = registry.finalize(owner.value!, holding: tracker.instance()) { _ in ran.increment() }
            onThreads(3) { thread in
                switch thread {
                case 0:
                    owner.clear()
                    kind.collect(registry)
                case 1:
                    _ = f.peek()
                    _ = f.peek()
                default: if f.detach() != nil { detached.increment() }
                }
            }
            kind.collect(registry)
        }
        #expect(ran.value + detached.value == rounds)
        #expect(tracker.instances == 0)
        #expect(registry.pendingCount == 0)
    }

    /// shutdown() from two threads while owners die on a third: each
    /// cleanup runs exactly once.
    @Test func shutdownRacesBagDeinitAndSweep() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let n = 600
        let runs = Locked<[Int]>(Array(repeating: 0, count: n))
        let owners = Locked<[(AnyObject & Sendable)?]>((0..<n).map { ($0 % 2 == 0 ? OwnerKind.host : .watched).make() })
        for i in 0..<n {
            let o = owners.value[i]!
            if let h = o as? Host {
                registry.finalize(h, holding: i) { i in runs.withLock { $0[i] += 1 } }
            } else {
                registry.finalize(o, holding: i) { i in runs.withLock { $0[i] += 1 } }
            }
        }
        onThreads(3) { thread in
            switch thread {
            case 0:
                for i in 0..<n {
                    _ = owners.withLock { o -> (AnyObject & Sendable)? in
                        let x = o[i]
                        o[i] = nil
                        return x
                    }
                }
            case 1: registry.shutdown()
            default:
                registry.sweep()
                registry.shutdown()
            }
        }
        registry.sweep()
        #expect(runs.value.allSatisfy { $0 == 1 })
        #expect(registry.pendingCount == 0)
    }

    /// Watched registrations past the compaction threshold while other
    /// threads runNow/detach and owners die: no lost or doubled cleanups, no
    /// leaked resources.
    @Test func compactionRacesRunNowDetach() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let ran = Counter()
        let detached = Counter()
        let perThread = 3_000
        onThreads(2) { _ in
            var keep: [Plain] = []
            for i in 0..<perThread {
                let owner = Plain()
                let f = registry.finalize(owner, holding: tracker.instance()) { _ in ran.increment() }
                switch i % 4 {
                case 0: _ = try? f.runNow()
                case 1: if f.detach() != nil { detached.increment() }
                case 2: keep.append(owner)
                default: break
                }
                if keep.count > 50 { keep.removeFirst(25) }
            }
            keep.removeAll()
        }
        registry.sweep()
        #expect(ran.value + detached.value == 2 * perThread)
        #expect(tracker.instances == 0)
        #expect(registry.pendingCount == 0)
    }
}
