// Fork safety: `finalize-fixture fork-churn`, run by
// Tests/FinalizeTests/ForkSafetyTests.swift.
//
// Two threads churn registrations on the shared registry (host and watched
// owners, released at once or kept, two finalizers on one owner, `peek`,
// `detach`, `sweep`), so that at any instant a shard lock, a sweep's
// collection, a bag's lock bit or a finalizer's busy bit may be held. The
// main thread meanwhile forks children one after another. Each child
// registers a host and a watched finalizer of its own (their cleanups write
// "h" and "w" to a pipe) and calls `exit(0)`: the shared registry's exit
// hook must run them, newest first ("wh"), and the child must end. A child
// still running `deadlineSeconds` after its fork counts as hung and is
// killed.
//
// With `threads` 0 (`fork-churn 200 0`) nothing else runs: the parent is
// single-threaded when it forks (it registers host owners only, so the
// shared registry starts no sweeper), which is what ThreadSanitizer
// supports; each child still starts a sweeper of its own.
//
// Output, one line on stdout:
//   fork-churn children 200 exited 200 hung 0 failed 0 missing 0
// `failed`: ended otherwise than with status 0; `missing`: ended with
// status 0 but its pipe did not read "wh". Details of the first few bad
// children go to stderr.

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

/// What the churn threads share with their cleanups.
final class ForkChurnBook: Sendable {
    let stop = Atomic<Bool>(false)
    let registered = Atomic<Int>(0)
    let cleanups = Atomic<Int>(0)
}

/// A small, fast generator (no system call per number).
struct ForkChurnRandom {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return Int(truncatingIfNeeded: state % UInt64(bound))
    }
}

/// One churn thread's loop: host and watched owners, most released at once,
/// some kept a while; now and then two finalizers on one host (the bag's
/// lock bit), `peek`, `detach`, `runNow`, a full `sweep`.
func forkChurnLoop(_ book: ForkChurnBook, seed: UInt64) {
    var random = ForkChurnRandom(state: seed)
    var keptHosts: [Host] = []
    var keptWatched: [Plain] = []
    var handles: [Finalizer<Int>] = []
    while !book.stop.load(ordering: .relaxed) {
        let cleanup: @Sendable (Int) -> Void = { [book] _ in book.cleanups.add(1, ordering: .relaxed) }
        let handle: Finalizer<Int>
        switch random.next(10) {
        case 0, 1:  // host owner released at once: its bag runs the cleanup
            let host = Host()
            handle = finalize(host, holding: 1, cleanup)
            withExtendedLifetime(host) {}
        case 2:  // host owner with two finalizers, kept a while
            let host = Host()
            finalize(host, holding: 2, cleanup)
            handle = finalize(host, holding: 3, cleanup)
            keptHosts.append(host)
        case 3, 4, 5:  // watched owner that dies at once (a sweep runs it)
            let owner = Plain()
            handle = finalize(owner, holding: 4, cleanup)
            withExtendedLifetime(owner) {}
        case 6:  // watched owner kept a while
            let owner = Plain()
            handle = finalize(owner, holding: 5, cleanup)
            keptWatched.append(owner)
        case 7:
            FinalizerRegistry.shared.sweep()
            continue
        default:  // act on an older handle: peek, detach or run it
            guard !handles.isEmpty else { continue }
            let old = handles.remove(at: random.next(handles.count))
            switch random.next(3) {
            case 0: _ = old.peek()
            case 1: _ = old.detach()
            default: _ = try? old.runNow()
            }
            continue
        }
        book.registered.add(1, ordering: .relaxed)
        handles.append(handle)
        if handles.count > 128 { handles.removeFirst(64) }
        if keptHosts.count > 64 { keptHosts.removeFirst(32) }
        if keptWatched.count > 64 { keptWatched.removeFirst(32) }
    }
    withExtendedLifetime((keptHosts, keptWatched, handles)) {}
}

/// The child: registers its own finalizers and exits.
func forkChurnChild(pipe descriptor: Int32) -> Never {
    let host = Host()
    finalize(host) { write("h", to: descriptor) }
    let watched = Plain()
    finalize(watched) { write("w", to: descriptor) }
    // Both owners stay alive: only the exit hook runs their cleanups.
    exit(0)
}

struct ForkChurnChildRecord {
    var pid: pid_t
    var pipe: Int32
    var forkedAt: UInt64
}

func runForkChurn(children: Int, churnThreads: Int, deadlineSeconds: Double, concurrentChildren: Int) -> Never {
    let book = ForkChurnBook()
    // Warm up what a child touches (the shared registry, the owners'
    // types, the sweeper), so a child does not start by initializing them.
    do {
        let host = Host()
        finalize(host) {}
        if churnThreads > 0 {
            let watched = Plain()
            finalize(watched) {}
            withExtendedLifetime(watched) {}
        }
        withExtendedLifetime(host) {}
    }
    let threads = (0..<churnThreads).map { index in
        startThread { forkChurnLoop(book, seed: 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0x1234_5678_9ABC_DEF1) }
    }
    // Let the churn get going before the first fork.
    while churnThreads > 0 && book.registered.load(ordering: .relaxed) < 20_000 { sched_yield() }

    let deadline = UInt64(deadlineSeconds * 1e9)
    var running: [ForkChurnChildRecord] = []
    var forked = 0, exited = 0, hung = 0, failed = 0, missing = 0
    var reports: [String] = []

    func settle(_ child: ForkChurnChildRecord, status: Int32?, hungChild: Bool) {
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = bytes.withUnsafeMutableBytes { read(child.pipe, $0.baseAddress, $0.count) }
        close(child.pipe)
        let text = count > 0 ? String(decoding: bytes[..<count], as: UTF8.self) : ""
        if hungChild {
            hung += 1
            if reports.count < 5 { reports.append("child \(child.pid) hung (pipe: \"\(text)\")") }
            return
        }
        exited += 1
        guard let status, status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            failed += 1
            if reports.count < 5 { reports.append("child \(child.pid) ended with wait status \(status ?? -1)") }
            return
        }
        if text != "wh" {
            missing += 1
            if reports.count < 5 { reports.append("child \(child.pid) exited 0 but its cleanups wrote \"\(text)\"") }
        }
    }

    /// Reaps the children that ended; kills those past the deadline.
    func reap() {
        let now = monotonicNanoseconds()
        running.removeAll { child in
            var status: Int32 = 0
            let result = waitpid(child.pid, &status, WNOHANG)
            if result == child.pid {
                settle(child, status: status, hungChild: false)
                return true
            }
            if result < 0 && errno != EINTR {
                settle(child, status: nil, hungChild: false)
                return true
            }
            if now - child.forkedAt > deadline {
                kill(child.pid, SIGKILL)
                while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
                settle(child, status: status, hungChild: true)
                return true
            }
            return false
        }
    }

    while forked < children || !running.isEmpty {
        if forked < children && running.count < concurrentChildren {
            var descriptors: [Int32] = [0, 0]
            guard pipe(&descriptors) == 0 else {
                write("pipe failed: \(errno)\n", to: 2)
                exit(70)
            }
            let pid = fork()
            if pid == 0 {
                close(descriptors[0])
                forkChurnChild(pipe: descriptors[1])
            }
            close(descriptors[1])
            guard pid > 0 else {
                write("fork failed: \(errno)\n", to: 2)
                exit(70)
            }
            forked += 1
            running.append(ForkChurnChildRecord(pid: pid, pipe: descriptors[0], forkedAt: monotonicNanoseconds()))
            // Keep the churn going between forks.
            let mark = book.registered.load(ordering: .relaxed)
            while churnThreads > 0 && book.registered.load(ordering: .relaxed) < mark + 200 { sched_yield() }
        } else {
            // Polling interval for the children's deadline, not synchronization.
            usleep(1000)
        }
        reap()
    }

    book.stop.store(true, ordering: .relaxed)
    for thread in threads { thread.join() }
    for report in reports { write(report + "\n", to: 2) }
    say("fork-churn children \(forked) exited \(exited) hung \(hung) failed \(failed) missing \(missing)")
    exit(0)
}
