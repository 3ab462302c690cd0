// An AsyncCleanupStack deinitialized with entries still on it: a deinit
// cannot await, so it runs the newest synchronous entries at once and the
// rest in a task, as one unwinding, on the actor the entries were added on
// (held weakly), and reports every failure once, at the end.

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

@MainActor
private final class MainActorState {
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

@Suite("AsyncCleanupStack: dropped without close()", .timeLimit(.minutes(2)))
struct AsyncCleanupStackDeinitTests {
    @Test("a deinitialized stack runs its sync entries at once and the rest in a task, then reports failures")
    func deinitRunsAndReports() async {
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        do {
            let stack = AsyncCleanupStack()
            stack.reportFailure = { failure in
                continuation.yield("reported \(cleanupBoomIDs(failure.error)) \(failure.trigger)")
                if cleanupBoomIDs(failure.error) == [1] { continuation.finish() }
            }
            stack.defer {
                continuation.yield("async 1")
                throw CleanupBoom(id: 1)
            }
            stack.defer {
                await cleanupHop()
                continuation.yield("async 2")
            }
            stack.defer {
                continuation.yield("sync 3")
                throw CleanupBoom(id: 3)
            }
        }
        var seen: [String] = []
        for await event in events { seen.append(event) }
        // One unwinding in two parts, reported once, at its end.
        #expect(seen == ["sync 3", "async 2", "async 1", "reported [3] scopeEnd", "reported [1] scopeEnd"])
    }

    /// A stack dropped with sync, async and adopted entries: the newest sync
    /// entries run at once, the rest once each in a task, newest first, and
    /// every failure is reported once, all at the end (the adopted finalizer's with its
    /// registration site).
    @Test func deinitMixedEntriesRunOnceAndReport() async throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let host = Host()
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        let reports = Atomic<Int>(0)
        let finalizerLine = #line + 1
        let finalizer = registry.finalize(host) {
            continuation.yield("F")
            throw CleanupBoom(id: 4)
        }
        let aLine = #line + 9, bLine = #line + 13, eLine = #line + 24
        do {
            let stack = AsyncCleanupStack()
            stack.reportFailure = { failure in
                continuation.yield("report \(cleanupBoomIDs(failure.error)) \(failure.trigger) line \(failure.line)")
                if reports.add(1, ordering: .relaxed).newValue == 4 { continuation.finish() }
            }
            // oldest first: A (sync, throws), B (async, throws), C, F (adopted,
            // throws), D (async), E (sync, throws)
            stack.defer {
                continuation.yield("A")
                throw CleanupBoom(id: 1)
            }
            stack.defer { () async throws in
                await cleanupHop()
                continuation.yield("B")
                throw CleanupBoom(id: 2)
            }
            stack.defer { continuation.yield("C") }
            stack.adopt(finalizer)
            stack.defer { () async in
                await cleanupHop()
                continuation.yield("D")
            }
            stack.defer {
                continuation.yield("E")
                throw CleanupBoom(id: 6)
            }
        }
        var seen: [String] = []
        for await event in events { seen.append(event) }
        // One unwinding: the deinit's part and the task's part are reported
        // together, at the end, oldest error first.
        #expect(
            seen == [
                "E", "D", "F", "C", "B", "A",
                "report [6] scopeEnd line \(eLine)",
                "report [4] scopeEnd line \(finalizerLine)",
                "report [2] scopeEnd line \(bLine)",
                "report [1] scopeEnd line \(aLine)",
            ])
        #expect(finalizer.state == .ran(.scopeEnd))
        withExtendedLifetime(host) {}
    }

    /// An adopted finalizer in the part a dropped stack hands to a task:
    /// with no test handler, its error goes to its own registry's onFailure,
    /// once, with its registration site.
    @Test func deinitAdoptedFailureGoesToItsRegistry() async throws {
        let (events, continuation) = AsyncStream.makeStream(of: FinalizerFailure.self)
        let registry = FinalizerRegistry(
            sweepInterval: nil,
            onFailure: {
                continuation.yield($0)
                continuation.finish()
            })
        let owner = Plain()
        let line = #line + 1
        let finalizer = registry.finalize(owner) { throw CleanupBoom(id: 9) }
        do {
            let stack = AsyncCleanupStack()
            stack.adopt(finalizer)
            stack.defer { () async in await cleanupHop() }
        }
        var failures: [FinalizerFailure] = []
        for await failure in events { failures.append(failure) }
        #expect(failures.count == 1)
        #expect(failures.first.map { cleanupBoomIDs($0.error) } == [9])
        #expect(failures.first?.trigger == .scopeEnd)
        #expect(failures.first?.line == line)
        #expect(finalizer.state == .ran(.scopeEnd))
        withExtendedLifetime(owner) {}
    }

    /// A stack dropped inside a cancelled task: the sync part runs at once
    /// (seeing the cancellation); the task that runs the rest is a new,
    /// uncancelled one, so its cleanups do not see the cancellation. Each
    /// entry runs once.
    @Test func deinitInACancelledTask() async throws {
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            let stack = AsyncCleanupStack()
            stack.defer {
                continuation.yield("sync old cancelled=\(Task.isCancelled)")
                continuation.finish()
            }
            stack.defer { () async in continuation.yield("async cancelled=\(Task.isCancelled)") }
            stack.defer { continuation.yield("sync new cancelled=\(Task.isCancelled)") }
        }
        _ = await task.result
        var seen: [String] = []
        for await event in events { seen.append(event) }
        #expect(seen == ["sync new cancelled=true", "async cancelled=false", "sync old cancelled=false"])
    }

    /// close() versus a dropped stack: with close(), a push callback
    /// sees (and may suppress) the error of a newer synchronous entry. A
    /// dropped stack unwinds in two parts (the newest sync entries in deinit,
    /// the rest in a task) but as one unwinding: the push callback in the
    /// task sees the deinit part's error and suppresses it. (A bug this
    /// was once a bug: the two parts had separate error records.)
    @Test func deinitPushCallbackSeesTheNewerSyncError() async throws {
        // close(): the callback sees Boom(1) and suppresses it.
        let closed = AsyncCleanupStack()
        let closedSaw = Mutex<String>("")
        closed.push { error in
            await cleanupHop()
            closedSaw.withLock { $0 = "\(error.map(cleanupBoomIDs) ?? [])" }
            return true
        }
        closed.defer { throw CleanupBoom(id: 1) }
        try await closed.close()
        #expect(closedSaw.withLock { $0 } == "[1]")

        // Dropped: the same entries.
        let (events, continuation) = AsyncStream.makeStream(of: String.self)
        do {
            let stack = AsyncCleanupStack()
            stack.reportFailure = { continuation.yield("reported \(cleanupBoomIDs($0.error))") }
            stack.push { error in
                await cleanupHop()
                continuation.yield("push saw \(error.map(cleanupBoomIDs) ?? [])")
                continuation.finish()
                return true
            }
            stack.defer { throw CleanupBoom(id: 1) }
        }
        var seen: [String] = []
        for await event in events { seen.append(event) }
        #expect(seen == ["push saw [1]"], "a dropped stack should unwind like close()")
    }

    /// A sync entry added on the main actor, left under an async entry of a
    /// dropped stack, runs in the fallback task on the main actor: the
    /// compiler checked it as main-actor code (it mutates main-actor state
    /// without an await). (It once ran off the main actor,
    /// a data race the language promised could not happen; the stack now
    /// remembers the actor it was created on.)
    @MainActor
    @Test func deinitSyncEntryFromTheMainActorRunsOnIt() async throws {
        let state = MainActorState()
        let mainThread = currentThreadID()
        let (events, continuation) = AsyncStream.makeStream(of: Bool.self)
        do {
            let stack = AsyncCleanupStack()
            stack.defer {
                state.items.append("sync")  // main-actor state, no await: compiled as main-actor code
                continuation.yield(currentThreadID() == mainThread)
                continuation.finish()
            }
            stack.defer { () async in await cleanupHop() }
        }
        var onMain: [Bool] = []
        for await value in events { onMain.append(value) }
        // The fallback task runs on the actor the stack was created on.
        #expect(onMain == [true])
    }

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
        let state = MainActorState()
        let mainThread = currentThreadID()
        let (events, continuation) = AsyncStream.makeStream(of: Bool.self)
        do {
            let stack = makeStackInAHelper()
            stack.defer {
                state.items.append("sync")  // main-actor state, compiled as main-actor code
                continuation.yield(currentThreadID() == mainThread)
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
        let state = MainActorState()
        let mainThread = currentThreadID()
        let (events, continuation) = AsyncStream.makeStream(of: Bool.self)
        do {
            let stack = AsyncCleanupStack()  // remembers the main actor
            stack.defer {
                state.items.append("sync")
                continuation.yield(currentThreadID() == mainThread)
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
