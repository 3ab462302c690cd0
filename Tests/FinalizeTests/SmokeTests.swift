import Synchronization
import Testing
@testable import Finalize

final class SmokeHost: FinalizerHost { let finalizers = FinalizerBag() }
final class SmokePlain {}

@Test func hostRunsAtRelease() {
    let registry = FinalizerRegistry(sweepInterval: nil)
    let log = Mutex<[String]>([])
    var owner: SmokeHost? = SmokeHost()
    let f = registry.finalize(owner!) { log.withLock { $0.append("ran") } }
    #expect(f.isAlive)
    #expect(registry.pendingCount == 1)
    owner = nil
    #expect(log.withLock { $0 } == ["ran"])
    #expect(f.state == .ran(.ownerDeinit))
    #expect(registry.pendingCount == 0)
}

@Test func watchedRunsAtSweep() {
    let registry = FinalizerRegistry(sweepInterval: nil)
    let count = Atomic<Int>(0)
    var owner: SmokePlain? = SmokePlain()
    let f = registry.finalize(owner!) { count.add(1, ordering: .relaxed) }
    owner = nil
    #expect(registry.sweep() == 1)
    #expect(count.load(ordering: .relaxed) == 1)
    #expect(f.state == .ran(.sweep))
    #expect(registry.sweep() == 0)
}

@Test func detachPeekRunNow() throws {
    let registry = FinalizerRegistry(sweepInterval: nil)
    let owner = SmokePlain()
    let f = registry.finalize(owner, holding: 42) { _ in }
    let peeked = f.peek()
    #expect(peeked?.resource == 42)
    let same = peeked.map { $0.owner === owner } ?? false
    #expect(same)
    #expect(f.detach() == 42)
    #expect(f.detach() == nil)
    #expect(f.state == .detached)
    let g = registry.finalize(owner) {}
    #expect(try g.runNow())
    #expect(try !g.runNow())
    #expect(registry.pendingCount == 0)
    #expect(registry.shutdown() == 0)
}

@Test func shutdownNewestFirst() {
    let registry = FinalizerRegistry(sweepInterval: nil)
    let log = Mutex<[Int]>([])
    let a = SmokeHost(), b = SmokePlain()
    for i in 0..<6 {
        if i % 2 == 0 { registry.finalize(a) { log.withLock { $0.append(i) } } }
        else { registry.finalize(b, runsAtExit: i != 3) { log.withLock { $0.append(i) } } }
    }
    #expect(registry.shutdown() == 5)
    #expect(log.withLock { $0 } == [5, 4, 2, 1, 0])
    #expect(registry.pendingCount == 1)
    withExtendedLifetime((a, b)) {}
}
