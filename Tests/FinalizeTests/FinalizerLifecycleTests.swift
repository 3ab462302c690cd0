// A finalizer's life, one test per promise: when a cleanup runs (host owners
// at their release, watched owners at the sweep after their death); exactly
// once, and dead inside its own cleanup; no peek or detach once the owner is
// gone; resources; which overload a registration takes; an owner already
// deinitializing; reused addresses and bounded tables; and the diagnostics
// (`pending`, `pendingCount`).

import FinalizeTestSupport
import Testing

@testable import Finalize

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Finalizer lifecycle")
struct FinalizerLifecycleTests {
    // MARK: When a cleanup runs

    /// A host owner's cleanup runs inside its last release: not while the
    /// owner lives, and no later than the end of the scope that released it,
    /// with no sweep involved.
    @Test func hostOwnerRunsAtItsRelease() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let f: Finalizer<Void>
        do {
            var owner: Host? = Host()
            f = registry.finalize(owner!) { log.append("ran") }
            #expect(f.isAlive)
            #expect(f.state == .pending)
            #expect(registry.pendingCount == 1)
            withExtendedLifetime(owner) {
                #expect(log.events.isEmpty)
                #expect(registry.sweep() == 0)
                #expect(log.events.isEmpty)
            }
            owner = nil
        }
        #expect(log.events == ["ran"])
        #expect(f.state == .ran(.ownerDeinit))
        #expect(!f.isAlive)
        #expect(registry.pendingCount == 0)
        #expect(registry.sweep() == 0)
        #expect(registry.shutdown() == 0)
        #expect(log.events == ["ran"])
    }

    /// A watched owner's cleanup runs at the first sweep after its death:
    /// not while it lives (even when swept), and not before the sweep.
    @Test func watchedOwnerRunsAtTheSweepAfterItsDeath() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let f: Finalizer<Void>
        do {
            var owner: Plain? = Plain()
            f = registry.finalize(owner!) { log.append("ran") }
            withExtendedLifetime(owner) {
                #expect(registry.sweep() == 0)
                #expect(log.events.isEmpty)
                #expect(f.isAlive)
            }
            owner = nil
        }
        // Dead but not yet swept: still pending, and counted as pending.
        #expect(log.events.isEmpty)
        #expect(f.state == .pending)
        #expect(registry.pendingCount == 1)
        #expect(registry.sweep() == 1)
        #expect(log.events == ["ran"])
        #expect(f.state == .ran(.sweep))
        #expect(registry.pendingCount == 0)
        #expect(registry.sweep() == 0)
        #expect(log.events == ["ran"])
    }

    /// The cleanups of a host owner run newest first, on the
    /// thread that drops the last reference (here a thread of our own).
    @Test func hostCleanupsRunNewestFirstOnTheReleasingThread() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let seen = Locked<[(label: Int, thread: UInt)]>([])
        let slot = Locked<Host?>(Host())
        let fs = (0..<4).map { i in
            registry.finalize(slot.value!) { seen.withLock { $0.append((i, currentThreadID())) } }
        }
        let releasingThread = Locked<UInt?>(nil)
        onNewThread {
            releasingThread.set(currentThreadID())
            _ = slot.exchange(nil)  // the last reference goes here
        }
        let runs = seen.value
        #expect(runs.map(\.label) == [3, 2, 1, 0])
        let thread = try #require(releasingThread.value)
        let allOnReleasingThread = runs.allSatisfy { $0.thread == thread }
        #expect(allOnReleasingThread)
        #expect(fs.allSatisfy { $0.state == .ran(.ownerDeinit) })
    }

    /// A finalizer keeps itself alive: the handle need not be
    /// kept, for host owners (the bag keeps it) and watched owners (the
    /// registry keeps it).
    @Test(arguments: OwnerKind.allCases)
    func handleNeedNotBeKept(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        do {
            var owner: (AnyObject & Sendable)? = kind.make()
            register(registry, on: owner!) { log.append("ran") }
            withExtendedLifetime(owner) { #expect(registry.pendingCount == 1) }
            owner = nil
        }
        kind.collect(registry)
        #expect(log.events == ["ran"])
    }

    // MARK: Exactly once, dead inside its own cleanup

    /// Inside its own cleanup a finalizer is already dead, whatever ran it:
    /// `isAlive` is false, `runNow()` returns false, `detach()` and `peek()`
    /// return nil, and the state names the trigger.
    @Test(arguments: [FinalizerTrigger.ownerDeinit, .sweep, .runNow, .shutdown])
    func deadInsideItsOwnCleanup(trigger: FinalizerTrigger) throws {
        struct Seen: Sendable {
            var isAlive: Bool
            var runNow: Bool?
            var detachIsNil: Bool
            var peekIsNil: Bool
            var state: FinalizerState
        }
        let registry = FinalizerRegistry(sweepInterval: nil)
        let handle = Locked<Finalizer<Int>?>(nil)
        let seen = Locked<[Seen]>([])
        let cleanup: @Sendable (Int) -> Void = { _ in
            guard let f = handle.value else { return }
            seen.withLock {
                $0.append(
                    Seen(
                        isAlive: f.isAlive, runNow: try? f.runNow(), detachIsNil: f.detach() == nil,
                        peekIsNil: f.peek() == nil, state: f.state))
            }
        }
        let f: Finalizer<Int>
        switch trigger {
        case .ownerDeinit:
            do {
                var owner: Host? = Host()
                f = registry.finalize(owner!, holding: 1, cleanup)
                handle.set(f)
                owner = nil
            }
        case .sweep:
            do {
                var owner: Plain? = Plain()
                f = registry.finalize(owner!, holding: 1, cleanup)
                handle.set(f)
                owner = nil
            }
            #expect(registry.sweep() == 1)
        default:
            let owner = Plain()
            f = registry.finalize(owner, holding: 1, cleanup)
            handle.set(f)
            if trigger == .runNow {
                #expect(try f.runNow())
            } else {
                #expect(registry.shutdown() == 1)
            }
            withExtendedLifetime(owner) {}
        }
        let observations = seen.value
        try #require(observations.count == 1)
        let inside = observations[0]
        #expect(!inside.isAlive)
        #expect(inside.runNow == false)
        #expect(inside.detachIsNil)
        #expect(inside.peekIsNil)
        #expect(inside.state == .ran(trigger))
        #expect(f.state == .ran(trigger))
        handle.set(nil)
    }

    /// Every later trigger finds a finalizer dead: after a run, nothing runs
    /// it again (release, sweep, runNow, shutdown all do nothing).
    @Test(arguments: OwnerKind.allCases)
    func laterTriggersDoNothing(kind: OwnerKind) throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let f: Finalizer<Void>
        do {
            var owner: (AnyObject & Sendable)? = kind.make()
            f = register(registry, on: owner!) { runs.increment() }
            #expect(try f.runNow())
            #expect(try !f.runNow())
            #expect(registry.shutdown() == 0)
            owner = nil
        }
        #expect(registry.sweep() == 0)
        #expect(try !f.runNow())
        #expect(f.detach() == nil)
        #expect(runs.value == 1)
        #expect(f.state == .ran(.runNow))
    }

    // MARK: Owner gone means no peek or detach

    /// While the owner lives, `peek()` hands back the owner itself and the
    /// resource; `detach()` hands back the resource once.
    @Test(arguments: OwnerKind.allCases)
    func peekAndDetachWhileTheOwnerLives(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let owner = kind.make()
        let f = registry.finalize(owner, holding: "resource") { _ in runs.increment() }
        let peeked = f.peek()
        let sameOwner = peeked.map { $0.owner === owner } ?? false
        #expect(sameOwner)
        #expect(peeked?.resource == "resource")
        #expect(f.isAlive)  // peek changes nothing
        #expect(f.detach() == "resource")
        #expect(f.detach() == nil)
        #expect(f.peek() == nil)
        #expect(f.state == .detached)
        #expect(registry.pendingCount == 0)
        withExtendedLifetime(owner) {}
        #expect(runs.value == 0)
    }

    /// Once a host owner is deallocating, a sibling finalizer that still
    /// waits its turn is pending, yet `peek()` and `detach()` return nil: its
    /// cleanup is about to run and cannot be stopped.
    @Test func siblingWaitingItsTurnCannotBePeekedOrDetached() throws {
        struct Seen: Sendable {
            var siblingAlive: Bool
            var peekIsNil: Bool
            var detachIsNil: Bool
        }
        let registry = FinalizerRegistry(sweepInterval: nil)
        let older = Locked<Finalizer<Int>?>(nil)
        let seen = Locked<Seen?>(nil)
        let log = EventLog()
        do {
            var owner: Host? = Host()
            older.set(registry.finalize(owner!, holding: 1) { _ in log.append("older") })
            // Newest first: this one runs first and looks at its older sibling.
            registry.finalize(owner!) {
                log.append("newer")
                guard let sibling = older.value else { return }
                seen.set(
                    Seen(
                        siblingAlive: sibling.isAlive, peekIsNil: sibling.peek() == nil,
                        detachIsNil: sibling.detach() == nil))
            }
            owner = nil
        }
        let inside = try #require(seen.value)
        #expect(inside.siblingAlive)
        #expect(inside.peekIsNil)
        #expect(inside.detachIsNil)
        #expect(log.events == ["newer", "older"])
        #expect(older.value?.state == .ran(.ownerDeinit))
    }

    /// The same for a watched owner between its death and the sweep: the
    /// finalizers are pending (and `runNow()` may still run them), but there
    /// is nothing to peek at and nothing to detach.
    @Test func deadWatchedOwnerCannotBePeekedOrDetached() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let a: Finalizer<Int>, b: Finalizer<Int>
        do {
            var owner: Plain? = Plain()
            a = registry.finalize(owner!, holding: 1) { log.append("a\($0)") }
            b = registry.finalize(owner!, holding: 2) { log.append("b\($0)") }
            owner = nil
        }
        #expect(a.isAlive && b.isAlive)
        #expect(a.peek() == nil)
        #expect(a.detach() == nil)
        #expect(b.peek() == nil)
        #expect(b.detach() == nil)
        // runNow does not wait for the sweep.
        #expect(try b.runNow())
        #expect(b.state == .ran(.runNow))
        #expect(registry.sweep() == 1)
        #expect(a.state == .ran(.sweep))
        #expect(log.events == ["b2", "a1"])
    }

    // MARK: Resources

    /// `holding:` passes the resource to the cleanup, so the closure needs
    /// no capture of the owner.
    @Test(arguments: OwnerKind.allCases)
    func resourceIsPassedToTheCleanup(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let got = Locked<[Int]>([])
        let f: Finalizer<Int>
        do {
            var owner: (AnyObject & Sendable)? = kind.make()
            f = registry.finalize(owner!, holding: 42) { value in got.withLock { $0.append(value) } }
            owner = nil
        }
        kind.collect(registry)
        #expect(got.value == [42])
        #expect(f.state == .ran(kind.deathTrigger))
    }

    /// A detached finalizer never runs, not at the owner's death, a sweep or
    /// a shutdown.
    @Test(arguments: OwnerKind.allCases)
    func detachedFinalizerNeverRuns(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let f: Finalizer<Int>
        do {
            var owner: (AnyObject & Sendable)? = kind.make()
            f = registry.finalize(owner!, holding: 7) { _ in runs.increment() }
            #expect(f.detach() == 7)
            owner = nil
        }
        kind.collect(registry)
        #expect(registry.sweep() == 0)
        #expect(registry.shutdown() == 0)
        #expect(runs.value == 0)
        #expect(f.state == .detached)
    }

    // MARK: Overloads

    /// A statically typed host owner takes the `FinalizerHost` overload; a
    /// host owner typed as `AnyObject` takes the general one and is still
    /// recognized as a host by a dynamic check. Both run at release, with no
    /// sweep, as `.ran(.ownerDeinit)`.
    @Test func hostBehaviourWhateverTheStaticType() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let typed: Finalizer<Void>, erased: Finalizer<Void>, typedHolding: Finalizer<Int>
        let erasedHolding: Finalizer<Int>
        do {
            var host: Host? = Host()
            var hostAsAnyObject: AnyObject? = Host()
            typed = registry.finalize(host!) { log.append("typed") }
            typedHolding = registry.finalize(host!, holding: 1) { _ in log.append("typedHolding") }
            erased = registry.finalize(hostAsAnyObject!) { log.append("erased") }
            erasedHolding = registry.finalize(hostAsAnyObject!, holding: 2) { _ in log.append("erasedHolding") }
            host = nil
            hostAsAnyObject = nil
        }
        // No sweep: every one of them ran at its owner's release.
        #expect(Set(log.events) == ["typed", "typedHolding", "erased", "erasedHolding"])
        #expect(typed.state == .ran(.ownerDeinit))
        #expect(typedHolding.state == .ran(.ownerDeinit))
        #expect(erased.state == .ran(.ownerDeinit))
        #expect(erasedHolding.state == .ran(.ownerDeinit))
        #expect(registry.pendingCount == 0)
    }

    /// Generic code constrained to `FinalizerHost` gets host behaviour too.
    @Test func genericHostOwner() {
        func registerOn<Owner: FinalizerHost>(
            _ owner: Owner, _ registry: FinalizerRegistry, _ log: EventLog
        )
            -> Finalizer<Void>
        {
            registry.finalize(owner) { log.append("ran") }
        }
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let f: Finalizer<Void>
        do {
            var owner: Host? = Host()
            f = registerOn(owner!, registry, log)
            owner = nil
        }
        #expect(log.events == ["ran"])
        #expect(f.state == .ran(.ownerDeinit))
    }

    // MARK: An owner already deinitializing

    /// Registering on an owner from inside its own deinit runs the cleanup at
    /// once and returns a dead finalizer (`.ran(.ownerDeinit)`): no crash, no
    /// pending entry left behind.
    @Test(arguments: OwnerKind.allCases)
    func registeringOnADeinitializingOwnerRunsAtOnce(kind: OwnerKind) throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let results = Locked<[DeinitRegistration]>([])
        do {
            var owner: AnyObject? =
                kind == .host
                ? HostRegisteringInDeinit(registry, log, results)
                : PlainRegisteringInDeinit(registry, log, results)
            withExtendedLifetime(owner) { #expect(results.value.isEmpty) }
            owner = nil
        }
        let all = results.value
        try #require(all.count == 1)
        #expect(all[0].ranBeforeReturn)
        #expect(all[0].state == .ran(.ownerDeinit))
        #expect(!all[0].isAlive)
        #expect(all[0].runNow == false)
        #expect(all[0].detachIsNil)
        #expect(all[0].peekIsNil)
        #expect(log.events == ["ran 5"])
        #expect(registry.pendingCount == 0)
        #expect(registry.sweep() == 0)
        #expect(registry.shutdown() == 0)
        #expect(log.events == ["ran 5"])
    }

    // MARK: Reused addresses, bounded tables

    /// A reused address never confuses two owners. Owner A's finalizer runs
    /// at the sweep after A died; then objects are allocated until one lands
    /// at A's address (bounded; the allocator normally hands it back at once)
    /// and gets a finalizer of its own. The two finalizers stay independent.
    @Test(arguments: OwnerKind.allCases)
    func reusedAddressNeverConfusesTwoOwners(kind: OwnerKind) throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let old: Finalizer<Int>
        let oldAddress: UInt
        do {
            var a: (AnyObject & Sendable)? = kind.make()
            oldAddress = UInt(bitPattern: ObjectIdentifier(a!))
            old = registry.finalize(a!, holding: 1) { log.append("old \($0)") }
            a = nil
        }
        kind.collect(registry)
        #expect(old.state == .ran(kind.deathTrigger))
        #expect(log.events == ["old 1"])

        // Allocate (keeping every candidate alive so each is a new address)
        // until one reuses A's memory.
        var candidates: [AnyObject & Sendable] = []
        var reused: (AnyObject & Sendable)?
        for _ in 0..<100_000 {
            let candidate = kind.make()
            if UInt(bitPattern: ObjectIdentifier(candidate)) == oldAddress {
                reused = candidate
                break
            }
            candidates.append(candidate)
        }
        candidates.removeAll()
        // Without reuse the checks below still hold; they are only weaker.
        let new: Finalizer<Int>
        do {
            var b: (AnyObject & Sendable)? = reused.take() ?? kind.make()
            new = registry.finalize(b!, holding: 2) { log.append("new \($0)") }
            withExtendedLifetime(b) {
                #expect(registry.sweep() == 0)
                #expect(new.isAlive)
                let peeked = new.peek()
                let peeksTheNewOwner = peeked.map { $0.owner === b! } ?? false
                #expect(peeksTheNewOwner)
                #expect(peeked?.resource == 2)
                // The old handle is dead and stays dead.
                #expect(old.peek() == nil)
                #expect(old.detach() == nil)
                #expect((try? old.runNow()) == false)
                #expect(old.state == .ran(kind.deathTrigger))
            }
            b = nil
        }
        kind.collect(registry)
        #expect(new.state == .ran(kind.deathTrigger))
        #expect(log.events == ["old 1", "new 2"])
    }

    /// The other half of the address rule: while a dead watched owner waits
    /// for its sweep, a crowd of new owners registered meanwhile is not
    /// mistaken for it, nor it for them. The sweep runs exactly the dead one.
    @Test func deadOwnerAwaitingSweepIsNotConfusedWithNewOwners() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        do {
            var dead: Plain? = Plain()
            registry.finalize(dead!) { log.append("dead") }
            dead = nil
        }
        let alive = (0..<1_000).map { _ in Plain() }
        let fs = alive.map { owner in registry.finalize(owner) { log.append("alive") } }
        withExtendedLifetime(alive) {
            // Registration may already have swept the dead one (amortized).
            let ran = registry.sweep()
            #expect(ran <= 1)
            #expect(log.events == ["dead"])
            #expect(fs.allSatisfy { $0.isAlive })
        }
    }

    /// The watched table stays bounded without any explicit sweep: owners
    /// registered and released in a loop are swept by registration itself,
    /// so the table holds no more than about twice the live entries (plus a
    /// small constant per shard), and the count of runs plus pending is exact.
    @Test func watchedTableStaysBoundedWithoutSweeps() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let survivors = (0..<500).map { _ in Plain() }
        for owner in survivors { registry.finalize(owner) {} }
        let live = survivors.count
        let bound = 2 * live + 128 * registry.shardCount
        var largestTable = 0, largestPending = 0
        let total = 20_000
        for _ in 0..<total {
            do {
                var owner: Plain? = Plain()
                registry.finalize(owner!) { runs.increment() }
                owner = nil
            }
            largestTable = max(largestTable, registry.watchedTableSize)
            largestPending = max(largestPending, registry.pendingCount)
        }
        #expect(largestTable <= bound, "watched table grew to \(largestTable), bound \(bound)")
        #expect(largestPending <= bound, "pendingCount grew to \(largestPending), bound \(bound)")
        // Every released owner either ran already or still awaits a sweep.
        #expect(runs.value + (registry.pendingCount - live) == total)
        registry.sweep()
        #expect(runs.value == total)
        #expect(registry.pendingCount == live)
        withExtendedLifetime(survivors) {}
    }

    // MARK: Diagnostics

    /// `pending` lists each pending finalizer, oldest first, with its
    /// registration site, the owner's type and its exit flag; finished ones
    /// drop out. A dead watched owner awaiting its sweep is still listed.
    @Test func pendingListsRegistrationSites() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let host = PendingHostWidget()
        let hostLine = #line + 1
        let a = registry.finalize(host) {}
        var plainLine = 0
        let thirdLine: Int
        do {
            var plain: PendingPlainWidget? = PendingPlainWidget()
            plainLine = #line + 1
            registry.finalize(plain!, runsAtExit: false) {}
            thirdLine = #line + 1
            let c = registry.finalize(host, holding: 3) { _ in }

            let infos = registry.pending
            try #require(infos.count == 3)
            #expect(infos.map(\.fileID) == [#fileID, #fileID, #fileID])
            #expect(infos.map(\.line) == [hostLine, plainLine, thirdLine])
            #expect(infos[0].ownerType.contains("PendingHostWidget"))
            #expect(infos[1].ownerType.contains("PendingPlainWidget"))
            #expect(infos.map(\.runsAtExit) == [true, false, true])
            #expect(registry.pendingCount == 3)

            #expect(try a.runNow())
            _ = c.detach()
            withExtendedLifetime(plain) {
                #expect(registry.pending.map(\.line) == [plainLine])
            }
            plain = nil
        }
        // Dead, awaiting the sweep: still pending, the owner no longer named.
        let infos = registry.pending
        #expect(infos.map(\.line) == [plainLine])
        #expect(infos.first?.ownerType == "<deallocated>")
        registry.sweep()
        #expect(registry.pending.isEmpty)
        #expect(registry.pendingCount == 0)
        withExtendedLifetime(host) {}
    }

    /// `runsAtExit` reads back what was registered and can be changed while
    /// pending; `pending` reflects it.
    @Test func runsAtExitCanBeChanged() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owner = Plain()
        let f = registry.finalize(owner) {}
        let g = registry.finalize(owner, runsAtExit: false) {}
        #expect(f.runsAtExit)
        #expect(!g.runsAtExit)
        f.runsAtExit = false
        g.runsAtExit = true
        #expect(!f.runsAtExit)
        #expect(g.runsAtExit)
        #expect(registry.pending.map(\.runsAtExit) == [false, true])
        #expect(registry.shutdown() == 1)
        #expect(g.state == .ran(.shutdown))
        #expect(f.state == .pending)
        withExtendedLifetime(owner) {}
    }
}

final class PendingHostWidget: FinalizerHost, Sendable { let finalizers = FinalizerBag() }
final class PendingPlainWidget: Sendable {}

/// What a registration made from inside its owner's deinit saw.
struct DeinitRegistration: Sendable {
    var ranBeforeReturn: Bool
    var state: FinalizerState
    var isAlive: Bool
    var runNow: Bool?
    var detachIsNil: Bool
    var peekIsNil: Bool

    init(_ f: Finalizer<Int>, _ log: EventLog) {
        ranBeforeReturn = log.events == ["ran 5"]
        state = f.state
        isAlive = f.isAlive
        runNow = try? f.runNow()
        detachIsNil = f.detach() == nil
        peekIsNil = f.peek() == nil
    }
}

/// A host that (wrongly) registers a finalizer on itself in its deinit,
/// through the statically typed host overload.
final class HostRegisteringInDeinit: FinalizerHost, Sendable {
    let finalizers = FinalizerBag()
    let registry: FinalizerRegistry
    let log: EventLog
    let results: Locked<[DeinitRegistration]>

    init(_ registry: FinalizerRegistry, _ log: EventLog, _ results: Locked<[DeinitRegistration]>) {
        (self.registry, self.log, self.results) = (registry, log, results)
    }

    deinit {
        let log = self.log
        let f = registry.finalize(self, holding: 5) { log.append("ran \($0)") }
        let seen = DeinitRegistration(f, log)
        results.withLock { $0.append(seen) }
    }
}

/// A plain (watched) object that registers a finalizer on itself in its
/// deinit.
final class PlainRegisteringInDeinit: Sendable {
    let registry: FinalizerRegistry
    let log: EventLog
    let results: Locked<[DeinitRegistration]>

    init(_ registry: FinalizerRegistry, _ log: EventLog, _ results: Locked<[DeinitRegistration]>) {
        (self.registry, self.log, self.results) = (registry, log, results)
    }

    deinit {
        let log = self.log
        let f = registry.finalize(self, holding: 5) { log.append("ran \($0)") }
        let seen = DeinitRegistration(f, log)
        results.withLock { $0.append(seen) }
    }
}
