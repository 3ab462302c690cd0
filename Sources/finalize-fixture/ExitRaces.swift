// Races and re-entrancy at process exit, for
// Tests/FinalizeTests/ExitRaceTests.swift: each scenario is selected by
// `finalize-fixture <name>` (see `runExitRace`) and prints what ran.

import Finalize
import FinalizeTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An `atexit` hook that runs after the shared registry's (registered before
/// the registry is first used, and hooks run in reverse order).
nonisolated(unsafe) var afterShutdownHook: (() -> Void)?

func installAfterShutdownHook(_ hook: @escaping () -> Void) {
    afterShutdownHook = hook
    atexit { afterShutdownHook?() }
}

// MARK: - Scenarios

/// The sweeper (or any sweep) has taken two dead watched owners' entries out
/// of the table and is running the newer one's cleanup (which blocks) when
/// the process exits. The older one is still pending, runsAtExit, and its
/// owner is dead: shutdown should run it.
func inFlightSweepAtExit(viaBackgroundSweeper: Bool) -> Never {
    let started = Signal()
    do {
        var a: Plain? = Plain()
        var b: Plain? = Plain()
        finalize(a!) { say("A ran") }
        finalize(b!) {
            say("B started")
            started.fire()
            blockForever()
        }
        a = nil
        b = nil
    }
    if !viaBackgroundSweeper {
        _ = startThread { _ = FinalizerRegistry.shared.sweep() }
    }
    started.waitIndefinitely()
    say("exiting")
    exit(0)
}

/// Control for `inFlightSweepAtExit`: the same with a host owner whose bag is
/// running its newest cleanup (blocked) on another thread at exit.
func hostBagMidDeinitAtExit() -> Never {
    let started = Signal()
    let holder = Locked<Host?>(Host())
    holder.withLock { host in
        finalize(host!) { say("H1 ran") }
        finalize(host!) {
            say("H2 started")
            started.fire()
            blockForever()
        }
    }
    _ = startThread {
        let last = holder.withLock { host -> Host? in
            let taken = host
            host = nil
            return taken
        }
        _ = last  // released at the end of this closure, on this thread
    }
    started.waitIndefinitely()
    say("exiting")
    exit(0)
}

/// A cleanup run at exit calls exit() again.
func exitInExitCleanup() {
    let anchor = Forever.plain
    finalize(anchor) { say("f1 ran") }
    finalize(anchor) {
        say("f2 calls exit(7)")
        exit(7)
    }
    finalize(anchor) { say("f3 ran") }
    say("main returns")
}

/// A cleanup run by runNow() (not at exit) calls exit(6).
func exitInRunNowCleanup() -> Never {
    let anchor = Forever.plain
    finalize(anchor) { say("f1 ran") }
    let f2 = finalize(anchor) {
        say("f2 calls exit(6)")
        exit(6)
    }
    _ = try? f2.runNow()
    say("not reached")
    exit(1)
}

/// The background sweeper runs a dead watched owner's cleanup that calls
/// exit(8); an older dead owner's cleanup was taken by the same sweep.
func sweeperCleanupCallsExit() -> Never {
    do {
        var a: Plain? = Plain()
        var b: Plain? = Plain()
        finalize(a!) { say("A ran") }
        finalize(b!) {
            say("B calls exit(8)")
            exit(8)
        }
        a = nil
        b = nil
    }
    blockForever()  // the sweeper (100 ms) runs B, which exits
}

/// Cleanups run at exit that register new finalizers: those go next,
/// newest first; a runsAtExit == false one does not run; a host owner
/// created and released inside the cleanup runs its cleanup at once.
func registerDuringExit() {
    let anchor = Forever.plain
    let host = Forever.host
    finalize(anchor) { say("c1") }
    finalize(anchor) {
        say("c2")
        finalize(host) { say("n1 host") }
        finalize(anchor) { say("n2 watched") }
        finalize(anchor, runsAtExit: false) { say("n3 must not run") }
        do {
            let temporary = Host()
            finalize(temporary) { say("n4 temporary host") }
            withExtendedLifetime(temporary) {}
        }
        finalize(anchor) {
            say("n5 watched")
            finalize(host) { say("m1 nested") }
        }
    }
    say("main returns")
}

/// exit(4) from a non-main thread while main waits in pthread_join.
func exitFromThread() {
    mainThread.set(currentThreadID())
    finalize(Forever.host) { say("host ran") }
    finalize(Forever.plain) {
        say("watched ran on main thread: \(currentThreadID() == mainThread.value)")
    }
    let thread = startThread {
        say("thread calls exit(4)")
        exit(4)
    }
    thread.join()
    say("not reached")
}
let mainThread = Locked<UInt>(0)

/// A cleanup at exit throws; so does one a cleanup registers at exit.
func throwAtExit() -> Never {
    let anchor = Forever.plain
    finalize(anchor) { say("t1 ran") }
    finalize(anchor) {
        say("t2 throws")
        finalize(anchor) {
            say("t3 throws")
            throw TestError("t3")
        }
        throw TestError("t2")
    }
    exit(5)
}

/// A cleanup at exit waits for another thread that registers a finalizer,
/// runs one, detaches one and releases a host owner, then signals.
func cleanupBlocksOnThreadAtExit() {
    let anchor = Forever.plain
    let toRun = finalize(anchor, runsAtExit: false) { say("w runNow by worker") }
    let toDetach = finalize(anchor) { say("w detached must not run") }
    let holder = Locked<Host?>(Host())
    holder.withLock { host in _ = finalize(host!) { say("w host released by worker") } }
    finalize(anchor) { say("b1 ran") }
    finalize(anchor) {
        say("b2 waits")
        let done = Signal()
        let worker = startThread {
            finalize(anchor) { say("w registered ran") }
            _ = try? toRun.runNow()
            if toDetach.detach() != nil { say("w detached") }
            let last = holder.withLock { host -> Host? in
                let taken = host
                host = nil
                return taken
            }
            _ = last
            done.fire()
        }
        done.waitIndefinitely()
        worker.join()
        say("b2 done")
    }
    say("main returns")
}

/// A cleanup at exit waits for a thread that itself calls exit(9).
func cleanupWaitsForExitingThread() {
    let anchor = Forever.plain
    finalize(anchor) { say("e1 ran") }
    finalize(anchor) {
        say("e2 waits for a thread calling exit(9)")
        let thread = startThread { exit(9) }
        thread.join()
        say("e2 done")
    }
    say("main returns")
}

/// A cleanup at exit calls shutdown() on the shared registry again.
func nestedShutdownAtExit() {
    let anchor = Forever.plain
    finalize(anchor) { say("s1 ran") }
    finalize(anchor) {
        say("s2 nested shutdown")
        let ran = FinalizerRegistry.shared.shutdown()
        say("s2 nested ran \(ran)")
    }
    finalize(anchor) { say("s3 ran") }
    say("main returns")
}

/// Many pending finalizers at exit: half on a host owner, half watched.
func millionPendingAtExit(count: Int) {
    let ran = Atomic<Int>(0)
    let counter = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
    counter.initialize(to: Atomic(0))
    let box = UInt(bitPattern: counter)
    nonisolated(unsafe) var started: UInt64 = 0
    installAfterShutdownHook {
        let elapsed = Double(monotonicNanoseconds() - started) / 1e6
        let ranCount = UnsafeMutablePointer<Atomic<Int>>(bitPattern: box)!.pointee.load(ordering: .relaxed)
        say("ran \(ranCount) of \(count)")
        write("exit shutdown took \(Int(elapsed)) ms\n", to: 2)
    }
    _ = ran
    let host = Forever.host
    let anchor = Forever.plain
    let t0 = monotonicNanoseconds()
    for i in 0..<count {
        if i % 2 == 0 {
            finalize(host) { UnsafeMutablePointer<Atomic<Int>>(bitPattern: box)!.pointee.add(1, ordering: .relaxed) }
        } else {
            finalize(anchor) { UnsafeMutablePointer<Atomic<Int>>(bitPattern: box)!.pointee.add(1, ordering: .relaxed) }
        }
    }
    write("registering took \(Int(Double(monotonicNanoseconds() - t0) / 1e6)) ms\n", to: 2)
    say("main returns")
    started = monotonicNanoseconds()
}

// MARK: - The exit race

/// Ids and what happened to them, for the exit race.
final class RaceBook: @unchecked Sendable {
    let capacity: Int
    let ran: UnsafeMutablePointer<Atomic<Int>>
    /// 1: registered and fully returned before exit started, left for the
    /// exit (or its owner's death, or a later runNow); 2: detached (detach
    /// returned the resource); 0: unknown / after exit started.
    let fate: UnsafeMutablePointer<Atomic<Int>>
    let next = Atomic<Int>(0)
    let exitStarted = Atomic<Bool>(false)
    let stop = Atomic<Bool>(false)
    let doubled = Atomic<Int>(0)

    init(capacity: Int) {
        self.capacity = capacity
        ran = .allocate(capacity: capacity)
        fate = .allocate(capacity: capacity)
        for i in 0..<capacity {
            (ran + i).initialize(to: Atomic(0))
            (fate + i).initialize(to: Atomic(0))
        }
    }

    func cleanup(_ id: Int) -> @Sendable () -> Void {
        { [self] in
            if ran[id].add(1, ordering: .relaxed).newValue > 1 { doubled.add(1, ordering: .relaxed) }
        }
    }
}

/// Worker threads register (host and watched owners), release host owners,
/// let watched owners die, runNow and detach, while main calls exit(0)
/// (or a worker does, with `exitFromWorker`). An after-shutdown hook
/// stops and joins the workers, then checks: no cleanup ran twice, none
/// detached ran, and every finalizer that was registered (and left
/// pending) before exit() was called has run.
func exitRace(workers: Int, exitAfter: Int, exitFromWorker: Bool) {
    let book = RaceBook(capacity: 2_000_000)
    let threads = Locked<[TestThread]>([])
    installAfterShutdownHook {
        book.stop.store(true, ordering: .sequentiallyConsistent)
        let me = currentThreadID()
        for thread in threads.withLock({ $0 }) where thread.id != me {
            thread.join()
        }
        let total = min(book.next.load(ordering: .relaxed), book.capacity)
        var lost = 0, detachedRan = 0, doubled = 0, mustRun = 0
        var lostExamples: [Int] = []
        for id in 0..<total {
            let ran = book.ran[id].load(ordering: .relaxed)
            switch book.fate[id].load(ordering: .relaxed) {
            case 1:
                mustRun += 1
                if ran == 0 {
                    lost += 1
                    if lostExamples.count < 5 { lostExamples.append(id) }
                }
            case 2: if ran != 0 { detachedRan += 1 }
            default: break
            }
            if ran > 1 { doubled += 1 }
        }
        say("registered \(total) mustRun \(mustRun) lost \(lost) doubled \(doubled) detachedRan \(detachedRan)")
        if lost > 0 { write("lost examples: \(lostExamples)\n", to: 2) }
    }
    let anchor = Forever.plain
    for w in 0..<workers {
        let thread = startThread {
            var rng = SystemRandomNumberGenerator()
            var keptHosts: [Host] = []
            var keptWatched: [Plain] = []
            var handles: [(Finalizer<Int>, Int)] = []
            var iteration = 0
            while !book.stop.load(ordering: .relaxed) {
                iteration += 1
                if exitFromWorker && w == 0 && iteration == exitAfter {
                    book.exitStarted.store(true, ordering: .sequentiallyConsistent)
                    exit(0)
                }
                let id = book.next.add(1, ordering: .relaxed).oldValue
                guard id < book.capacity else { break }
                let choice = Int.random(in: 0..<8, using: &rng)
                let f: Finalizer<Int>
                switch choice {
                case 0, 1:  // host owner released at once
                    let host = Host()
                    f = finalize(host, holding: id) { [book] id in book.cleanup(id)() }
                    withExtendedLifetime(host) {}
                case 2:  // host owner kept
                    let host = Host()
                    f = finalize(host, holding: id) { [book] id in book.cleanup(id)() }
                    keptHosts.append(host)
                case 3:  // watched owner dies (a sweep runs it)
                    let owner = Plain()
                    f = finalize(owner, holding: id) { [book] id in book.cleanup(id)() }
                    withExtendedLifetime(owner) {}
                case 4:  // watched owner kept
                    let owner = Plain()
                    f = finalize(owner, holding: id) { [book] id in book.cleanup(id)() }
                    keptWatched.append(owner)
                default:  // the long-lived anchor
                    f = finalize(anchor, holding: id) { [book] id in book.cleanup(id)() }
                }
                let beforeExit = !book.exitStarted.load(ordering: .sequentiallyConsistent)
                if beforeExit { book.fate[id].store(1, ordering: .relaxed) }
                handles.append((f, id))
                // Act on an older handle now and then.
                if handles.count > 8, Int.random(in: 0..<4, using: &rng) == 0 {
                    let (old, oldID) = handles.remove(at: Int.random(in: 0..<handles.count, using: &rng))
                    if Bool.random(using: &rng) {
                        _ = try? old.runNow()
                    } else if old.detach() != nil {
                        book.fate[oldID].store(2, ordering: .relaxed)
                    }
                }
                if keptHosts.count > 64 { keptHosts.removeFirst(32) }
                if keptWatched.count > 64 { keptWatched.removeFirst(32) }
                if handles.count > 256 { handles.removeFirst(128) }
            }
            // Keep the kept owners alive until the check is done.
            withExtendedLifetime((keptHosts, keptWatched, handles)) {}
        }
        threads.withLock { $0.append(thread) }
    }
    if exitFromWorker {
        blockForever()
    }
    while book.next.load(ordering: .relaxed) < exitAfter { sched_yield() }
    book.exitStarted.store(true, ordering: .sequentiallyConsistent)
    exit(0)
}

// MARK: - Dispatch

func runExitRace(_ name: String) -> Bool {
    switch name {
    case "in-flight-sweep-at-exit": inFlightSweepAtExit(viaBackgroundSweeper: false)
    case "in-flight-sweeper-at-exit": inFlightSweepAtExit(viaBackgroundSweeper: true)
    case "host-bag-mid-deinit-at-exit": hostBagMidDeinitAtExit()
    case "exit-in-exit-cleanup": exitInExitCleanup()
    case "exit-in-runnow-cleanup": exitInRunNowCleanup()
    case "sweeper-cleanup-calls-exit": sweeperCleanupCallsExit()
    case "register-during-exit": registerDuringExit()
    case "exit-from-thread": exitFromThread()
    case "throw-at-exit": throwAtExit()
    case "cleanup-blocks-on-thread-at-exit": cleanupBlocksOnThreadAtExit()
    case "cleanup-waits-for-exiting-thread": cleanupWaitsForExitingThread()
    case "nested-shutdown-at-exit": nestedShutdownAtExit()
    case "million-pending-at-exit": millionPendingAtExit(count: 1_000_000)
    case "exit-race": exitRace(workers: 2, exitAfter: 50_000, exitFromWorker: false)
    case "exit-race-from-worker": exitRace(workers: 2, exitAfter: 20_000, exitFromWorker: true)
    default: return false
    }
    return true
}
