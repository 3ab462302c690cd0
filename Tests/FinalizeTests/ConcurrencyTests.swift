// Semantics 1 under races (issue 2: "Holds when triggers race from different
// threads"), and the re-entrancy promise of semantics 8: cleanups may use the
// registry freely because no lock is held while one runs.
//
// The racing threads start together at a barrier and are joined; nothing
// waits on a clock. Sizes are small enough for ThreadSanitizer.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Testing
@testable import Finalize

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
                    _ = owners.exchange([])   // the owners' last releases, here
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

    // MARK: Semantics 8: re-entrancy

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
            otherHost.clear()                 // its cleanup runs right here
            otherWatched.clear()
            let swept = registry.sweep()      // runs the watched one's cleanup
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

        #expect(log.events == [
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
                    slot.clear()   // the registry's last reference goes here
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
}
