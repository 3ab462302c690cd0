import Finalize
import FinalizeTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// adopt(finalizer): the same cleanup guarded by a scope and by its owner's
// life; whichever comes first runs it, exactly once, and the finalizer's
// state says which trigger won.

private final class AdoptHost: FinalizerHost {
    let finalizers = FinalizerBag()
}

private final class AdoptWatched {}

/// Counts runs of a cleanup; Sendable, as finalizer cleanups must be.
private final class AdoptRunCount: Sendable {
    private let value = Atomic<Int>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

@Suite("CleanupStack: adopt(finalizer)")
struct CleanupStackAdoptTests {
    @Test("scope end first: runs at unwind with .scopeEnd; the owner's death later does nothing")
    func scopeEndWins() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = AdoptRunCount()
        var owner: AdoptHost? = AdoptHost()
        var finalizer: Finalizer<Void>?
        try withCleanupStack { stack in
            finalizer = stack.adopt(registry.finalize(owner!) { runs.increment() })
            #expect(finalizer?.state == .pending)
        }
        #expect(runs.count == 1)
        #expect(finalizer?.state == .ran(.scopeEnd))
        owner = nil
        #expect(runs.count == 1)
        #expect(finalizer?.state == .ran(.scopeEnd))
        #expect(registry.pendingCount == 0)
    }

    @Test("owner death first: runs at release with .ownerDeinit; the scope end skips it")
    func ownerDeathWins() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = AdoptRunCount()
        var finalizer: Finalizer<Void>?
        try withCleanupStack { stack in
            var owner: AdoptHost? = AdoptHost()
            finalizer = stack.adopt(registry.finalize(owner!) { runs.increment() })
            owner = nil
            #expect(runs.count == 1)
            #expect(finalizer?.state == .ran(.ownerDeinit))
            #expect(stack.count == 1)  // the entry stays; it will find nothing to do
        }
        #expect(runs.count == 1)
        #expect(finalizer?.state == .ran(.ownerDeinit))
    }

    @Test("the same resource under adopt and under owner death, side by side: which trigger won")
    func sameResourceWhichTriggerWon() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        // One pipe per run; the cleanup closes the write end. Reading EOF from
        // the read end proves the write end is closed, whoever closed it.
        func makePipe() -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            return (fds[0], fds[1])
        }
        func isClosed(writeEndOf fds: (read: Int32, write: Int32)) -> Bool {
            var byte: UInt8 = 0
            return read(fds.read, &byte, 1) == 0
        }
        var triggers: [FinalizerState] = []
        for ownerDiesFirst in [false, true] {
            let fds = makePipe()
            var owner: AdoptHost? = AdoptHost()
            let runs = AdoptRunCount()
            let finalizer = registry.finalize(owner!, holding: fds.write) { fd in
                runs.increment()
                close(fd)
            }
            try withCleanupStack { stack in
                stack.adopt(finalizer)
                if ownerDiesFirst { owner = nil }
            }
            #expect(isClosed(writeEndOf: fds))
            owner = nil
            #expect(runs.count == 1)
            triggers.append(finalizer.state)
            close(fds.read)
        }
        #expect(triggers == [.ran(.scopeEnd), .ran(.ownerDeinit)])
    }

    @Test("a finalizer already run (runNow) or detached is skipped")
    func alreadyRunOrDetachedSkipped() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let owner = AdoptHost()
        let runs = AdoptRunCount()
        let ranNow = registry.finalize(owner) { runs.increment() }
        let detached = registry.finalize(owner, holding: 5) { _ in runs.increment() }
        try withCleanupStack { stack in
            stack.adopt(ranNow)
            stack.adopt(detached)
            let ranByThisCall = try ranNow.runNow()
            #expect(ranByThisCall)
            #expect(detached.detach() == 5)
        }
        #expect(runs.count == 1)
        #expect(ranNow.state == .ran(.runNow))
        #expect(detached.state == .detached)
        withExtendedLifetime(owner) {}
    }

    @Test("a watched owner that died but was not swept yet: the scope end runs it first")
    func watchedOwnerScopeEndBeforeSweep() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = AdoptRunCount()
        var finalizer: Finalizer<Void>?
        try withCleanupStack { stack in
            var owner: AdoptWatched? = AdoptWatched()
            finalizer = stack.adopt(registry.finalize(owner!) { runs.increment() })
            owner = nil
            #expect(runs.count == 0)  // watched owners wait for a sweep
        }
        #expect(runs.count == 1)
        #expect(finalizer?.state == .ran(.scopeEnd))
        #expect(registry.sweep() == 0)
        #expect(runs.count == 1)
    }

    @Test("an adopted finalizer's error is thrown by the scope, not sent to onFailure")
    func adoptedErrorIsThrown() {
        let reported = Atomic<Int>(0)
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: { _ in reported.add(1, ordering: .relaxed) })
        let owner = AdoptHost()
        var finalizer: Finalizer<Void>?
        #expect(throws: CleanupBoom(id: 1)) {
            try withCleanupStack { stack in
                finalizer = stack.adopt(registry.finalize(owner) { throw CleanupBoom(id: 1) })
            }
        }
        #expect(finalizer?.state == .ran(.scopeEnd))
        #expect(reported.load(ordering: .relaxed) == 0)
        withExtendedLifetime(owner) {}
    }

    @Test("adopted finalizers unwind in order with the other entries")
    func adoptOrder() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = Mutex<[String]>([])
        let owner = AdoptHost()
        try withCleanupStack { stack in
            stack.defer { log.withLock { $0.append("defer 1") } }
            stack.adopt(registry.finalize(owner) { log.withLock { $0.append("finalizer 2") } })
            stack.defer { log.withLock { $0.append("defer 3") } }
        }
        #expect(log.withLock { $0 } == ["defer 3", "finalizer 2", "defer 1"])
        withExtendedLifetime(owner) {}
    }

    @Test("a moved adoption still runs once, at the new stack's close")
    func movedAdoption() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = AdoptRunCount()
        let owner = AdoptHost()
        let stack = CleanupStack()
        let finalizer = stack.adopt(registry.finalize(owner) { runs.increment() })
        let moved = stack.move()
        try stack.close()
        #expect(finalizer.state == .pending)
        try moved.close()
        #expect(finalizer.state == .ran(.scopeEnd))
        #expect(runs.count == 1)
        withExtendedLifetime(owner) {}
    }

    @Test("AsyncCleanupStack adopts the same way")
    func asyncAdopt() async throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = AdoptRunCount()
        var owner: AdoptHost? = AdoptHost()
        let first = registry.finalize(owner!) { runs.increment() }
        let second = registry.finalize(AdoptHost()) { runs.increment() }  // owner dies at once
        try await withAsyncCleanupStack { stack in
            stack.adopt(first)
            stack.adopt(second)
        }
        #expect(first.state == .ran(.scopeEnd))
        #expect(second.state == .ran(.ownerDeinit))
        owner = nil
        #expect(runs.count == 2)
    }

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
            #expect(
                errors.errors.map { $0 as? CleanupBoom } == [
                    CleanupBoom(id: 3), CleanupBoom(id: 2), CleanupBoom(id: 1),
                ])
        }
        #expect(seen.withLock { $0 } == ["CleanupBoom"])
        withExtendedLifetime(owner) {}
    }

    /// An adopted finalizer whose cleanup throws, on a stack that is never
    /// closed: the error goes to the finalizer's own registry, with the site
    /// that registered it and the trigger `.scopeEnd`, and the other entries
    /// still run.
    @Test func unclosedStackReportsAnAdoptedFailureToItsRegistry() {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let log = EventLog()
        let owner = Host()
        let line = #line + 1
        let finalizer = registry.finalize(owner) { throw TestError("adopted") }
        do {
            let stack = CleanupStack()
            stack.defer { log.append("plain entry") }
            stack.adopt(finalizer)
            withExtendedLifetime(stack) {}
        }
        #expect(log.events == ["plain entry"])
        #expect(finalizer.state == .ran(.scopeEnd))
        let reported = failures.all
        #expect(reported.count == 1)
        #expect(reported.first?.trigger == .scopeEnd)
        #expect(reported.first?.line == line)
        #expect(reported.first?.fileID == #fileID)
        #expect((reported.first?.error as? TestError) == TestError("adopted"))
        withExtendedLifetime(owner) {}
    }

    /// The adopted finalizer's host owner is released on another thread while
    /// the stack unwinds (after an await): the cleanup runs exactly once, by
    /// whichever came first.
    @Test(arguments: OwnerKind.allCases)
    func adoptedOwnerDiesDuringUnwinding(kind: OwnerKind) async throws {
        for _ in 0..<200 {
            let registry = FinalizerRegistry(sweepInterval: nil)
            let count = Counter()
            let holder = Locked<(AnyObject & Sendable)?>(kind.make())
            let finalizer = holder.withLock { register(registry, on: $0!) { count.increment() } }
            let stack = AsyncCleanupStack()
            stack.adopt(finalizer)
            stack.defer { () async in await cleanupHop() }
            stack.defer { finalizer.runsAtExit = true }
            let barrier = SpinBarrier(count: 2)
            let thread = startThread {
                barrier.arriveAndWait()
                holder.clear()
                kind.collect(registry)
            }
            barrier.arriveAndWait()
            try await stack.close()
            thread.join()
            kind.collect(registry)
            #expect(count.value == 1)
            #expect(finalizer.state == .ran(.scopeEnd) || finalizer.state == .ran(kind.deathTrigger))
        }
    }

    /// A dropped stack's fallback task runs an adopted finalizer while its
    /// owner dies on another thread: exactly once.
    @Test func abandonedAdoptRacingOwnerDeath() async throws {
        for _ in 0..<100 {
            let registry = FinalizerRegistry(sweepInterval: nil)
            let count = Counter()
            let holder = Locked<Host?>(Host())
            let finalizer = holder.withLock { registry.finalize($0!) { count.increment() } }
            let (events, continuation) = AsyncStream.makeStream(of: Void.self)
            do {
                let stack = AsyncCleanupStack()
                stack.defer { continuation.finish() }
                stack.adopt(finalizer)
                stack.defer { () async in await cleanupHop() }
            }
            holder.clear()
            for await _ in events {}
            #expect(count.value == 1)
        }
    }
}
