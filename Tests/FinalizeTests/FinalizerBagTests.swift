// The bag inside a host owner: one word in the owner, any number of
// finalizers, registered from any thread, run newest first inside the
// owner's destruction; in final classes, class hierarchies and actors.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("The bag inside a host owner")
struct FinalizerBagTests {
    /// Many finalizers on one owner, registered from several threads at
    /// once: every one runs exactly once when the owner dies, newest
    /// registration first, and the bag counts them while they wait.
    @Test func manyFinalizersFromSeveralThreadsRunNewestFirst() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let order = Locked<[UInt64]>([])
        let threads = 4, perThread = 250
        var owner: Host? = Host()
        let shared = Locked<Host?>(owner)
        let handles = Locked<[Finalizer<Void>]>([])
        onThreads(threads) { _ in
            guard let host = shared.value else { return }
            for _ in 0..<perThread {
                let sequence = Locked<UInt64>(0)
                let handle = registry.finalize(host, runsAtExit: false) {
                    order.withLock { $0.append(sequence.value) }
                }
                sequence.set(handle.sequence)
                handles.withLock { $0.append(handle) }
            }
        }
        shared.clear()
        #expect(owner!.finalizers.pendingCount == threads * perThread)
        #expect(order.value.isEmpty)  // not before the owner's release
        owner = nil
        // No later than the release: every cleanup ran inside it.
        #expect(order.value.count == threads * perThread)
        #expect(order.value == order.value.sorted(by: >))
        #expect(handles.value.allSatisfy { $0.state == .ran(.ownerDeinit) })
        #expect(registry.pendingCount == 0)
    }

    /// A bag in a non-final class hierarchy: the subclass's and the base
    /// class's deinits run first, then the bag runs the cleanups, whether the
    /// owner was registered through its static type, its base class or
    /// `AnyObject` (the per-class accessor must serve the subclass too).
    @Test func bagInAClassHierarchy() {
        class Base: FinalizerHost, @unchecked Sendable {
            let finalizers = FinalizerBag()
            let log: EventLog
            init(log: EventLog) { self.log = log }
            deinit { log.append("base deinit") }
        }
        final class Derived: Base, @unchecked Sendable {
            deinit { log.append("derived deinit") }
        }
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        do {
            var owner: Derived? = Derived(log: log)
            registry.finalize(owner!) { log.append("static") }
            registry.finalize(owner! as Base) { log.append("base") }
            registry.finalize(owner! as AnyObject) { log.append("anyobject") }
            let base: Base = owner!
            let other = Base(log: log)
            registry.finalize(other as AnyObject) { log.append("other base") }
            _ = base
            withExtendedLifetime(other) {}
            owner = nil
        }
        #expect(
            log.events == [
                "base deinit", "other base",
                "derived deinit", "base deinit", "anyobject", "base", "static",
            ]
                || log.events == [
                    "derived deinit", "base deinit", "anyobject", "base", "static",
                    "base deinit", "other base",
                ])
        #expect(registry.pendingCount == 0)
    }

    /// An actor is a host like any class: its bag runs when it is released.
    @Test func bagInAnActor() async {
        actor Pool: FinalizerHost {
            let finalizers = FinalizerBag()
            var connections = 3
            func use() -> Int { connections }
        }
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        var pool: Pool? = Pool()
        let f = registry.finalize(pool!) { log.append("pool closed") }
        #expect(await pool!.use() == 3)
        #expect(log.events.isEmpty)
        pool = nil
        #expect(log.events == ["pool closed"])
        #expect(f.state == .ran(.ownerDeinit))
    }

    /// An owner that registers and detaches in a loop keeps a bounded bag;
    /// the side list drops settled finalizers as it grows.
    @Test func registerDetachLoopKeepsTheBagBounded() {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owner = Host()
        let keeper = registry.finalize(owner) {}
        for _ in 0..<10_000 {
            _ = registry.finalize(owner) {}.detach()
        }
        #expect(owner.finalizers.pendingCount == 1)
        #expect(keeper.isAlive)
        #expect(registry.pendingCount == 1)
    }

    /// `runsAtExit` reads false once the finalizer can no longer run at
    /// exit, as Python's `finalize.atexit` does, and setting it then has
    /// no effect.
    @Test(arguments: ["ran", "detached"])
    func runsAtExitReadsFalseOnceSettled(how: String) throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owner = Host()
        let f = registry.finalize(owner) {}
        #expect(f.runsAtExit)
        if how == "ran" { try f.runNow() } else { _ = f.detach() }
        #expect(!f.runsAtExit)
        f.runsAtExit = true
        #expect(!f.runsAtExit)
        let g = registry.finalize(owner, runsAtExit: false) {}
        #expect(!g.runsAtExit)
        g.runsAtExit = true
        #expect(g.runsAtExit)
    }
}
