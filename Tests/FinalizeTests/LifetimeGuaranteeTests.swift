// What Swift guarantees about when it releases an object, asserted in debug
// and release builds alike.
//
// Only guarantees are asserted: "not released before X" while X is still to
// come, and "released no later than Y" once Y has happened. When exactly
// between the two the release happens is the optimizer's choice and differs
// between builds (see `swift run finalize-demo lifetimes` and the article
// "When does Swift release an object?"), so no test asserts an early release.

import FinalizeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Helpers (this file's own)

/// An ordered list of events, and the thread each release happened on.
private final class ReleaseLog: Sendable {
    private let entries = Locked<(events: [String], threads: [String: UInt])>(([], [:]))

    func record(_ event: String) { entries.withLock { $0.events.append(event) } }

    /// Records `event` and the thread it happens on.
    func recordWithThread(_ event: String) {
        let thread = currentThreadID()
        entries.withLock {
            $0.events.append(event)
            $0.threads[event] = thread
        }
    }

    func isReleased(_ name: String) -> Bool { entries.withLock { $0.events.contains("\(name) released") } }

    /// The thread `event` happened on, if it was recorded with its thread.
    func thread(of event: String) -> UInt? { entries.withLock { $0.threads[event] } }
}

/// An object that records its release.
private final class Tracked: Sendable {
    let name: String
    let log: ReleaseLog

    init(_ name: String, _ log: ReleaseLog) {
        self.name = name
        self.log = log
    }

    func use() { log.record("\(name) used") }

    deinit { log.recordWithThread("\(name) released") }
}

/// Holds a reference until someone takes it out.
private final class Slot: Sendable {
    private let value: Locked<Tracked?>

    init(_ value: Tracked) { self.value = Locked(value) }

    func take() -> Tracked? { value.exchange(nil) }
}

/// Whether `object` was released before its last use, which is in here.
private func releasedBeforeItsLastUse(_ object: Tracked, named name: String, in log: ReleaseLog) -> Bool {
    let released = log.isReleased(name)
    object.use()
    return released
}

private func sink(_ object: consuming Tracked) {
    object.use()
}

private enum Statics {
    static let log = ReleaseLog()
    static let object = Tracked("static", log)
}

// MARK: - The guarantees

@Suite("What Swift guarantees about release timing")
struct LifetimeGuaranteeTests {
    @Test("An object is not released before its last use")
    func notReleasedBeforeItsLastUse() {
        let log = ReleaseLog()
        let object = Tracked("a", log)
        weak let observer = object
        let seenBeforeTheLastUse = observer != nil
        object.use()  // the last use comes after the weak load
        #expect(seenBeforeTheLastUse)
    }

    @Test("withExtendedLifetime keeps an object until its closure returns")
    func withExtendedLifetimeKeepsItUntilTheClosureReturns() {
        let log = ReleaseLog()
        var releasedInside = true
        do {
            // An array has no lexical lifetime: without withExtendedLifetime
            // the optimizer may release its element right after `count`.
            let holder = [Tracked("b", log)]
            withExtendedLifetime(holder) {
                log.record("count \(holder.count)")
                releasedInside = log.isReleased("b")
            }
        }
        #expect(!releasedInside)
        #expect(log.isReleased("b"), "released no later than the end of its scope")
    }

    @Test("extendLifetime keeps an object until that call")
    func extendLifetimeKeepsItUntilThatCall() {
        let log = ReleaseLog()
        var releasedBefore = true
        do {
            let holder = [Tracked("c", log)]
            log.record("count \(holder.count)")
            releasedBefore = log.isReleased("c")
            extendLifetime(holder)
        }
        #expect(!releasedBefore)
        #expect(log.isReleased("c"), "released no later than the end of its scope")
    }

    @Test("_ = makeObject() is released no later than the end of the scope")
    func discardedValueReleasedByTheEndOfTheScope() {
        let log = ReleaseLog()
        do {
            _ = Tracked("d", log)
        }
        #expect(log.isReleased("d"))
    }

    @Test("A temporary argument is not released before its last use in the call")
    func temporaryArgumentNotReleasedBeforeItsLastUse() {
        let log = ReleaseLog()
        var releasedEarly = true
        do {
            releasedEarly = releasedBeforeItsLastUse(Tracked("e", log), named: "e", in: log)
        }
        #expect(!releasedEarly)
        #expect(log.isReleased("e"), "released no later than the end of its scope")
    }

    @Test("A reassigned var releases its old value no later than the assignment")
    func reassignedVariableReleasesTheOldValue() {
        let log = ReleaseLog()
        var oldReleasedByTheAssignment = false
        do {
            var object = Tracked("f1", log)
            object.use()
            object = Tracked("f2", log)
            oldReleasedByTheAssignment = log.isReleased("f1")
            object.use()
        }
        #expect(oldReleasedByTheAssignment)
        #expect(log.isReleased("f2"), "released no later than the end of its scope")
    }

    @Test("consume releases an object no later than the consume")
    func consumeReleasesNoLaterThanTheConsume() {
        let log = ReleaseLog()
        let object = Tracked("g", log)
        object.use()
        _ = consume object
        #expect(log.isReleased("g"))
    }

    @Test("A consuming parameter is released no later than the callee's return")
    func consumingParameterReleasedByTheCalleesReturn() {
        let log = ReleaseLog()
        let object = Tracked("h", log)
        sink(consume object)
        #expect(log.isReleased("h"))
    }

    @Test("A closure keeps what it captures until its last call, no later than its release")
    func closureKeepsWhatItCaptures() {
        let log = ReleaseLog()
        var callback: (() -> Void)? = { [object = Tracked("i", log)] in object.use() }
        callback?()
        let releasedBetweenCalls = log.isReleased("i")
        callback?()  // a later call: the capture must still be alive
        callback = nil
        #expect(!releasedBetweenCalls)
        #expect(log.isReleased("i"), "released no later than the closure")
    }

    @Test("A weak reference keeps nothing alive and reads nil once released")
    func weakReferenceReadsNilOnceReleased() {
        let log = ReleaseLog()
        weak var observer: Tracked?
        do {
            let object = Tracked("j", log)
            observer = object
            object.use()
        }
        #expect(log.isReleased("j"), "released no later than the end of its scope")
        #expect(observer == nil)
    }

    @Test("A deinit runs on the thread that drops the last reference")
    func deinitRunsOnTheReleasingThread() {
        let log = ReleaseLog()
        let slot = Slot(Tracked("k", log))  // the only reference
        onNewThread {
            let object = slot.take()
            log.recordWithThread("worker took k")
            object?.use()
        }  // the worker's `object` was the last reference
        #expect(log.isReleased("k"), "released no later than the worker's return")
        let releasingThread = log.thread(of: "k released")
        #expect(releasingThread != nil)
        #expect(releasingThread == log.thread(of: "worker took k"))
        #expect(releasingThread != currentThreadID())
    }

    @Test("A static is never released")
    func staticIsNeverReleased() {
        weak var observer: Tracked?
        do {
            let object = Statics.object
            observer = object
            object.use()
        }
        #expect(observer != nil)
        #expect(!Statics.log.isReleased("static"))
    }
}
