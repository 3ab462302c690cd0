// Ports of CPython's `Lib/test/test_weakref.py`, class `ReferencesTestCase`:
// the tests of weak-reference callbacks (several callbacks on one object, a
// reference created during `__del__`, callbacks on callbacks, callbacks
// that collect, and a long chain of objects freed at once).
//
// A weak reference's callback is a finalizer here: `weakref.ref(o, cb)` is
// `finalize(o) { cb() }`, `del o` followed by a collection is the owner's
// last release (plus a `sweep()` for a watched owner). Each scenario runs
// for a host owner and a watched one.

import FinalizeTestSupport
import Synchronization
import Testing

@testable import Finalize

@Suite("CPython test_weakref: ReferencesTestCase callbacks")
struct CPythonWeakrefCallbackTests {
    // CPython Lib/test/test_weakref.py, ReferencesTestCase.test_multiple_callbacks
    @Test(arguments: OwnerKind.allCases)
    func test_multiple_callbacks(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let cbcalled = Counter()
        let ref1: Finalizer<Void>, ref2: Finalizer<Void>
        do {
            var o: (AnyObject & Sendable)? = kind.make()
            ref1 = register(registry, on: o!) { cbcalled.increment() }
            ref2 = register(registry, on: o!) { cbcalled.increment() }
            withExtendedLifetime(o) {
                #expect(registry.sweep() == 0)
                #expect(cbcalled.value == 0)
            }
            o = nil  // del o
        }
        kind.collect(registry)
        // "expected reference to be invalidated", and the callback ran twice.
        #expect(ref1.peek() == nil)
        #expect(ref2.peek() == nil)
        #expect(cbcalled.value == 2)
        #expect(ref1.state == .ran(kind.deathTrigger))
        #expect(ref2.state == .ran(kind.deathTrigger))
    }

    // CPython Lib/test/test_weakref.py, ReferencesTestCase.test_ref_created_during_del (bug #1377858)
    @Test(arguments: OwnerKind.allCases)
    func test_ref_created_during_del(kind: OwnerKind) {
        // The owners are FinalizerLifecycleTests' own deinit-registering ones.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let fromDel = Locked<[DeinitRegistration]>([])
        do {
            var w: AnyObject? =
                kind == .host
                ? HostRegisteringInDeinit(registry, log, fromDel)
                : PlainRegisteringInDeinit(registry, log, fromDel)
            withExtendedLifetime(w) { #expect(fromDel.value.isEmpty) }
            w = nil
        }
        // No crash; the registration made inside the deinit ran at once and
        // left nothing behind for a later sweep or shutdown.
        #expect(log.events == ["ran 5"])
        #expect(fromDel.value.first?.state == .ran(.ownerDeinit))
        #expect(registry.sweep() == 0)
        #expect(registry.shutdown() == 0)
        #expect(registry.pendingCount == 0)
        #expect(log.events == ["ran 5"])
    }

    // CPython Lib/test/test_weakref.py, ReferencesTestCase.test_callbacks_on_callback
    @Test(arguments: OwnerKind.allCases)
    func test_callbacks_on_callback(kind: OwnerKind) {
        // The object a cleanup captures ("the callback") has a finalizer of
        // its own ("external_wr" with "safe_callback"). When the owner dies,
        // its cleanup runs, the cleanup is dropped, and so the captured
        // object dies and its own finalizer runs too: each exactly once.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let alist = EventLog()
        let tracker = LifetimeTracker()
        do {
            var c: (AnyObject & Sendable)? = kind.make()
            do {
                let callback = kind.make(tracker: tracker)
                register(registry, on: callback) { alist.append("safe_callback called") }
                register(registry, on: c!) { withExtendedLifetime(callback) { alist.append("cb called") } }
            }
            withExtendedLifetime(c) {
                #expect(registry.sweep() == 0)
                #expect(alist.events.isEmpty)
                #expect(tracker.instances == 1)  // external_wr() is callback
            }
            c = nil
        }
        // A watched "callback" dies during the first sweep, so its own
        // cleanup is due at the next one.
        kind.collect(registry)
        kind.collect(registry)
        #expect(alist.events == ["cb called", "safe_callback called"])
        #expect(tracker.instances == 0)  // external_wr() is None
        #expect(registry.sweep() == 0)
        #expect(alist.events == ["cb called", "safe_callback called"])
    }

    // CPython Lib/test/test_weakref.py, ReferencesTestCase.test_callback_gcs
    @Test(arguments: OwnerKind.allCases)
    func test_callback_gcs(kind: OwnerKind) {
        // A cleanup that itself triggers a collection (`sweep()`): no
        // deadlock, no second run, nothing else swept.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let nested = Locked<[Int]>([])
        do {
            var x: (AnyObject & Sendable)? = kind.make()
            register(registry, on: x!) {
                runs.increment()
                let swept = registry.sweep()
                nested.withLock { $0.append(swept) }
            }
            x = nil
        }
        kind.collect(registry)
        #expect(runs.value == 1)
        #expect(nested.value == [0])
        #expect(registry.sweep() == 0)
        #expect(runs.value == 1)
    }

    // CPython Lib/test/test_weakref.py, ReferencesTestCase.test_trashcan_16602
    @Test(arguments: OwnerKind.allCases)
    func test_trashcan_16602(kind: OwnerKind) {
        // A long deallocation chain: releasing the root frees 100 owners in
        // one cascade of deinits; every one of their cleanups runs once.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let ran = Locked<[Int]>([])
        let count = 100
        do {
            var root: AnyObject?
            for n in 0..<count {
                let node: AnyObject =
                    kind == .host
                    ? PeerChainHost(next: root)
                    : PeerChainPlain(next: root)
                register(registry, on: node) { ran.withLock { $0.append(n) } }
                root = node
            }
            withExtendedLifetime(root) {
                #expect(registry.sweep() == 0)
                #expect(ran.value.isEmpty)
            }
            root = nil  // del root
        }
        if kind == .watched {
            #expect(registry.sweep() == count)
        }
        #expect(ran.value.sorted() == Array(0..<count))
        #expect(registry.pendingCount == 0)
    }
}

/// A link in a long chain of host owners; each holds the next one.
private final class PeerChainHost: FinalizerHost {
    let finalizers = FinalizerBag()
    let next: AnyObject?
    init(next: AnyObject?) { self.next = next }
}

/// A link in a long chain of watched owners.
private final class PeerChainPlain {
    let next: AnyObject?
    init(next: AnyObject?) { self.next = next }
}
