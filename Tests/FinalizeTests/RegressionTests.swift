// Regressions found in review, each once a real bug (see the closing notes of
// the session that fixed them). Both are races, so each test repeats the
// racing pattern many times; either fails reliably on the old code.

#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
@testable import Finalize

@Suite("Regressions")
struct RegressionTests {
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
            holder.clear()   // usually the last release; sometimes the reader has it
        }
        stop.store(true, ordering: .releasing)
        let finished = done.wait(timeoutSeconds: 20)
        #expect(finished, "the reader is stuck inside `pending`")
        if finished { pthread_join(reader, nil) }
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
            pthread_join(writer, nil)
            let all = handles.value
            if let lastRan = all.lastIndex(where: { $0.state == .ran(.shutdown) }) {
                let skipped = all[..<lastRan].filter(\.isAlive).count
                #expect(skipped == 0, "\(skipped) registrations older than one that shutdown ran were skipped")
                if skipped > 0 { return }
            }
            withExtendedLifetime((slowOwners, owners)) {}
        }
    }
}
