// More scenarios ported from the peers' own test suites, beyond the ones in
// CPythonFinalizeTests, JDKCleanerTests, GoCleanupTests and the CleanupStack
// ExitStack / DisposableStack suites:
//
// - CPython `Lib/test/test_weakref.py` (`ReferencesTestCase` callback tests),
// - OpenJDK `test/jdk/java/lang/ref/CleanerTest.java` (`verify`, the closing
//   check of `testCleanableActions`) and `ReachabilityFenceTest.java`,
// - Go `src/runtime/mcleanup_test.go`,
// - test262 `test/built-ins/FinalizationRegistry/**` and
//   `test/built-ins/DisposableStack/prototype/**`.
//
// Mapping: `unregister(token)` is `detach()` returning non-nil, `clean()` is
// `runNow()`, holdings are `holding:` resources, and a collection is the
// owner's last release (plus `sweep()` for a watched owner). Every test makes
// its own `FinalizerRegistry(sweepInterval: nil)`, uses no sleeps, and never
// asserts an early release: only "not before X" (while the owner is provably
// alive) and "no later than Y" (after the last reference is gone).

import Testing
@testable import Finalize

@Suite("Peer scenarios")
struct PeerScenarioTests {
    // MARK: - CPython Lib/test/test_weakref.py

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
            o = nil   // del o
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
        // The owners are FinalizerBasicsTests' own deinit-registering ones.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let log = EventLog()
        let fromDel = Locked<[DeinitRegistration]>([])
        do {
            var w: AnyObject? = kind == .host
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
                #expect(tracker.instances == 1)   // external_wr() is callback
            }
            c = nil
        }
        // A watched "callback" dies during the first sweep, so its own
        // cleanup is due at the next one.
        kind.collect(registry)
        kind.collect(registry)
        #expect(alist.events == ["cb called", "safe_callback called"])
        #expect(tracker.instances == 0)   // external_wr() is None
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
                let node: AnyObject = kind == .host
                    ? PeerChainHost(next: root)
                    : PeerChainPlain(next: root)
                register(registry, on: node) { ran.withLock { $0.append(n) } }
                root = node
            }
            withExtendedLifetime(root) {
                #expect(registry.sweep() == 0)
                #expect(ran.value.isEmpty)
            }
            root = nil   // del root
        }
        if kind == .watched {
            #expect(registry.sweep() == count)
        }
        #expect(ran.value.sorted() == Array(0..<count))
        #expect(registry.pendingCount == 0)
    }

    // MARK: - OpenJDK test/jdk/java/lang/ref

    enum CleanableAction: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case clearRef, doClean, doClear
        var testDescription: String { rawValue }
    }

    struct CleanableCase: Sendable, CustomTestStringConvertible {
        var kind: OwnerKind
        var action: CleanableAction
        var testDescription: String { "\(kind): \(action)" }
    }

    static let cleanableCases: [CleanableCase] = OwnerKind.allCases.flatMap { kind in
        CleanableAction.allCases.map { CleanableCase(kind: kind, action: $0) }
    }

    // OpenJDK test/jdk/java/lang/ref/CleanerTest.java, verify(): "The reference to the Cleanable was freed"
    @Test(arguments: cleanableCases)
    func testCleanableActions_verifyCleanableFreed(_ testCase: CleanableCase) throws {
        // `verify` registers a second cleanable on the first Cleanable
        // itself (`setupPhantom(cleaner, test.getCleanable())`), drops the
        // handle and checks the handle is collected. Here: a finalizer on the
        // `Finalizer` handle, in the same registry.
        let kind = testCase.kind
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let cleanableFreed = Counter()
        let owner = Locked<(AnyObject & Sendable)?>(kind.make())
        do {
            var cleanable: Finalizer<Int>? = registry.finalize(owner.value!, holding: 1) { _ in runs.increment() }
            registry.finalize(cleanable!) { cleanableFreed.increment() }
            switch testCase.action {
            case .clearRef:
                owner.clear()
                kind.collect(registry)
            case .doClean:
                #expect(try cleanable!.runNow())
            case .doClear:
                #expect(cleanable!.detach() == 1)
            }
            #expect(runs.value == (testCase.action == .doClear ? 0 : 1))
            cleanable = nil   // test.clearCleanable()
        }
        owner.clear()
        // checkCleaned: collections until the cleanable's own cleanup ran.
        kind.collect(registry)
        registry.sweep()
        registry.sweep()
        #expect(cleanableFreed.value == 1)
        #expect(runs.value == (testCase.action == .doClear ? 0 : 1))
        #expect(registry.pendingCount == 0)
    }

    // OpenJDK test/jdk/java/lang/ref/CleanerTest.java, testCleanableActions: closing check "Cleaner was cleaned"
    @Test func testCleanableActions_cleanerWasCleaned() throws {
        // After a registry was used for a set of cases, dropping it lets it be
        // collected: a cleanup registered on it in the COMMON registry runs.
        let common = FinalizerRegistry(sweepInterval: nil)
        let cleaned = Counter()
        let runs = Counter()
        do {
            var cleaner: FinalizerRegistry? = FinalizerRegistry(sweepInterval: nil)
            // generateCases: clearRef, doClean, doClean then clearRef.
            do {
                var a: (AnyObject & Sendable)? = Plain()
                cleaner!.finalize(a!) { runs.increment() }
                a = nil
            }
            #expect(cleaner!.sweep() == 1)
            let keptHost = Host()
            #expect(try cleaner!.finalize(keptHost) { runs.increment() }.runNow())
            do {
                var b: Host? = Host()
                let f = cleaner!.finalize(b!) { runs.increment() }
                #expect(try f.runNow())
                b = nil
                #expect(f.state == .ran(.runNow))
            }
            #expect(runs.value == 3)
            common.finalize(cleaner!) { cleaned.increment() }   // setupPhantom(COMMON, cleaner)
            withExtendedLifetime(cleaner) { #expect(common.sweep() == 0) }
            cleaner = nil
            withExtendedLifetime(keptHost) {}
        }
        #expect(common.sweep() == 1)
        #expect(cleaned.value == 1)
        #expect(runs.value == 3)
    }

    // OpenJDK test/jdk/java/lang/ref/ReachabilityFenceTest.java, fenced() (the positive half)
    @Test(arguments: OwnerKind.allCases)
    func ReachabilityFenceTest_fenced(kind: OwnerKind) {
        // With a reachability fence (`withExtendedLifetime`) at the end of the
        // block, no amount of collecting finalizes the object inside it. The
        // negative half (without a fence the object *may* be finalized early)
        // asserts an early release and is not ported.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let finalized = Counter()
        do {
            var o: (AnyObject & Sendable)? = kind.make()
            register(registry, on: o!) { finalized.increment() }
            withExtendedLifetime(o) {
                for _ in 0..<100 {
                    if finalized.value != 0 { break }
                    registry.sweep()
                }
                #expect(finalized.value == 0)
            }
            o = nil
        }
        kind.collect(registry)
        #expect(finalized.value == 1)
    }

    // MARK: - Go src/runtime/mcleanup_test.go

    // Go src/runtime/mcleanup_test.go, TestCleanupNilInterface
    @Test func TestCleanupNilInterface() {
        // A nil interface argument (empty and non-empty interface) is a
        // resource like any other; Stop hands it back: `.some(nil)`.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Counter()
        let ptr = Plain()
        let any = registry.finalize(ptr, holding: (any Sendable)?.none) { _ in runs.increment() }
        let anyBack = any.detach()
        #expect(anyBack != nil)
        #expect(anyBack.map { $0 == nil } == true)
        let error = registry.finalize(ptr, holding: (any Error)?.none) { _ in runs.increment() }
        let errorBack = error.detach()
        #expect(errorBack != nil)
        #expect(errorBack.map { $0 == nil } == true)
        withExtendedLifetime(ptr) {}   // runtime.KeepAlive(ptr)
        #expect(any.state == .detached)
        #expect(error.state == .detached)
        #expect(runs.value == 0)
        #expect(registry.pendingCount == 0)
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupInterfaceArgument
    @Test func TestCleanupInterfaceArgument() {
        // The boxed argument is retained by the cleanup (not by the caller's
        // variables) while the target lives; after Stop, it is the caller's.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let ptr = Plain()
        var arg: (any Sendable)? = tracker.instance(7)
        let cleanup = registry.finalize(ptr, holding: arg!) { _ in }
        arg = nil   // only the cleanup should retain the boxed value
        registry.sweep()
        #expect(tracker.instances == 1, "cleanup argument was collected while the target was still live")
        var back: (any Sendable)? = cleanup.detach()
        #expect((back as? LifetimeTracked)?.payload == 7)
        back = nil
        #expect(tracker.instances == 0)
        withExtendedLifetime(ptr) {}
        #expect(cleanup.state == .detached)
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupAfterFinalizer
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupAfterFinalizer(kind: OwnerKind) {
        // The object's own finalizer (its deinit) runs first, the cleanup
        // after it, with its argument.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let ch = EventLog()
        do {
            var v: AnyObject? = kind == .host ? PeerDeinitLoggingHost(ch) : PeerDeinitLoggingPlain(ch)
            registry.finalize(v!, holding: GoCleanupTests.want) { x in ch.append("cleanup \(x)") }
            withExtendedLifetime(v) {
                #expect(registry.sweep() == 0)
                #expect(ch.events.isEmpty)
            }
            v = nil
        }
        if kind == .watched {
            // Finalized at its release; the cleanup waits for the collection.
            #expect(ch.events == ["finalizer"])
            #expect(registry.sweep() == 1)
        }
        #expect(ch.events == ["finalizer", "cleanup \(GoCleanupTests.want)"])
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupInteriorPointer
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupInteriorPointer(kind: OwnerKind) {
        // Cleanups attached to parts of one object (`&ts.a`, `&ts.b`,
        // `&ts.c`; in Swift, objects it alone holds) all run once it dies.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let got = Locked<[Int]>([])
        let cleanup: @Sendable (Int) -> Void = { x in got.withLock { $0.append(x) } }
        do {
            var ts: PeerThreeParts? = PeerThreeParts(kind)
            registry.finalize(ts!.a, holding: GoCleanupTests.want, cleanup)
            registry.finalize(ts!.b, holding: GoCleanupTests.want, cleanup)
            registry.finalize(ts!.c, holding: GoCleanupTests.want, cleanup)
            withExtendedLifetime(ts) { #expect(registry.sweep() == 0) }
            ts = nil
        }
        if kind == .watched { #expect(registry.sweep() == 3) }
        #expect(got.value == [GoCleanupTests.want, GoCleanupTests.want, GoCleanupTests.want])
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupUnreachablePointer
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupUnreachablePointer(kind: OwnerKind) {
        // The argument reaches the object (Go: `&v.f`, a pointer into it;
        // here: a struct holding it), so the object can never die. Go panics;
        // Finalize keeps it registered: not at a collection, but shutdown runs
        // it, and then the object is freed.
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: { _ in }, diagnose: { _ in })
        let ran = Counter()
        weak var watch: AnyObject?
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            watch = v
            registry.finalize(v!, holding: PeerReachesOwner(owner: v!)) { _ in ran.increment() }
            v = nil
        }
        kind.collect(registry)
        #expect(watch != nil)
        #expect(ran.value == 0, "cleanup ran unexpectedly")
        #expect(registry.pendingCount == 1)
        #expect(registry.shutdown() == 1)
        #expect(ran.value == 1)
        #expect(watch == nil)
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupUnreachableClosure
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupUnreachableClosure(kind: OwnerKind) {
        // The cleanup closure captures the object (possible for a `Sendable`
        // owner), so it can never die. Go panics; Finalize keeps it pending,
        // `pending` names the registration site and the owner's type (the
        // leak finder), and shutdown runs it and so frees the object.
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: { _ in }, diagnose: { _ in })
        let ran = Counter()
        weak var watch: AnyObject?
        var line = 0
        do {
            var v: (AnyObject & Sendable)? = kind.make()
            watch = v
            let captured = v!
            line = #line + 1
            registry.finalize(captured) { withExtendedLifetime(captured) { ran.increment() } }
            v = nil
        }
        kind.collect(registry)
        #expect(watch != nil)
        #expect(ran.value == 0, "cleanup ran unexpectedly")
        let infos = registry.pending
        #expect(infos.count == 1)
        #expect(infos.first?.fileID == #fileID)
        #expect(infos.first?.line == line)
        #expect(infos.first?.ownerType == (kind == .host ? "Host" : "Plain"))
        #expect(registry.shutdown() == 1)
        #expect(ran.value == 1)
        #expect(watch == nil)
    }

    // Go src/runtime/mcleanup_test.go, TestCleanupLost
    @Test(arguments: OwnerKind.allCases)
    func TestCleanupLost(kind: OwnerKind) {
        // Cleanups aren't lost when there are a lot of them: GOMAXPROCS
        // goroutines (here 4 threads) each register cleanups on owners they
        // drop at once; after the collection every one has run exactly once.
        let threads = 4, cleanups = 2_500
        let registry = FinalizerRegistry(sweepInterval: nil)
        let got = Counter()
        onThreads(threads) { _ in
            for _ in 0..<cleanups {
                var v: (AnyObject & Sendable)? = kind.make()
                registry.finalize(v!, holding: GoCleanupTests.want) { _ in got.increment() }
                v = nil
            }
        }
        kind.collect(registry)
        #expect(got.value == threads * cleanups, "cleanups executed")
        #expect(registry.pendingCount == 0)
        #expect(registry.sweep() == 0)
        #expect(got.value == threads * cleanups)
    }

    // MARK: - test262 built-ins/FinalizationRegistry

    // test262 built-ins/FinalizationRegistry/gc-has-one-chance-to-call-cleanupCallback.js
    @Test(arguments: OwnerKind.allCases)
    func gc_has_one_chance_to_call_cleanupCallback(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let holdings = Locked<[String]>([])
        let f: Finalizer<String>
        do {
            var target: (AnyObject & Sendable)? = kind.make()
            f = registry.finalize(target!, holding: "a") { h in holdings.withLock { $0.append(h) } }
            target = nil
        }
        kind.collect(registry)
        #expect(holdings.value == ["a"])
        // Later collections never call it again.
        for _ in 0..<3 {
            #expect(registry.sweep() == 0)
            #expect(holdings.value == ["a"])
        }
        #expect(registry.shutdown() == 0)
        #expect(holdings.value == ["a"])
        #expect(f.state == .ran(kind.deathTrigger))
    }

    // test262 built-ins/FinalizationRegistry/gc-has-one-chance-to-call-cleanupCallback-for-object.js
    @Test(arguments: OwnerKind.allCases)
    func gc_has_one_chance_to_call_cleanupCallback_for_object(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let holding = Plain()
        let seen = Locked<[ObjectIdentifier]>([])
        do {
            var target: (AnyObject & Sendable)? = kind.make()
            registry.finalize(target!, holding: holding) { h in seen.withLock { $0.append(ObjectIdentifier(h)) } }
            target = nil
        }
        kind.collect(registry)
        for _ in 0..<3 { #expect(registry.sweep() == 0) }
        #expect(registry.shutdown() == 0)
        #expect(seen.value == [ObjectIdentifier(holding)])
    }

    // test262 built-ins/FinalizationRegistry/prototype/cleanupSome/cleanup-prevented-with-reference.js
    @Test(arguments: OwnerKind.allCases)
    func cleanupSome_cleanup_prevented_with_reference(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let holdingsList = Locked<[String]>([])
        let cb: @Sendable (String) -> Void = { h in holdingsList.withLock { $0.append(h) } }
        let referenced = kind.make()
        do {
            var target: (AnyObject & Sendable)? = kind.make()
            registry.finalize(target!, holding: "target!", cb)
            registry.finalize(referenced, holding: "referenced", cb)
            target = nil
        }
        kind.collect(registry)
        #expect(holdingsList.value == ["target!"])
        withExtendedLifetime(referenced) {
            #expect(registry.sweep() == 0)
            #expect(holdingsList.value == ["target!"], "referenced preserved")
        }
    }

    // test262 built-ins/FinalizationRegistry/prototype/cleanupSome/cleanup-prevented-with-unregister.js
    @Test(arguments: OwnerKind.allCases)
    func cleanupSome_cleanup_prevented_with_unregister(kind: OwnerKind) {
        // unregister(token) while the target lives removes the cell, and no
        // collection calls the callback afterwards.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let called = Counter()
        do {
            var target: (AnyObject & Sendable)? = kind.make()
            let token = registry.finalize(target!, holding: "target!") { _ in called.increment() }
            #expect(token.detach() == "target!", "unregister target before iterating over it in cleanup")
            target = nil
        }
        kind.collect(registry)
        registry.sweep()
        #expect(called.value == 0, "callback was not called")
    }

    // test262 built-ins/FinalizationRegistry/prototype/cleanupSome/cleanup-prevented-with-unregister.js (the target already collected, its cell not yet cleaned up)
    @Test func cleanupSome_cleanup_prevented_with_unregister_afterCollection() {
        // In JavaScript, `unregister(token)` still returns true after the
        // target was collected and before the cleanup job ran, and the
        // callback is then never called. Finalize deliberately differs (see
        // `Finalizer.detach()`: nil once the owner is deallocating, the
        // cleanup "cannot be stopped"): between a watched owner's death and
        // the sweep, `detach()` returns nil and the sweep runs the cleanup.
        // (A host owner has no such window: its release runs the cleanup.)
        let registry = FinalizerRegistry(sweepInterval: nil)
        let called = Counter()
        let token: Finalizer<String>
        do {
            var target: Plain? = Plain()
            token = registry.finalize(target!, holding: "target!") { _ in called.increment() }
            target = nil
        }
        #expect(token.isAlive)
        #expect(token.detach() == nil)
        #expect(registry.sweep() == 1)
        #expect(called.value == 1)
        #expect(token.state == .ran(.sweep))
    }

    // test262 built-ins/FinalizationRegistry/prototype/cleanupSome/holdings-multiple-values.js
    @Test(arguments: OwnerKind.allCases)
    func cleanupSome_holdings_multiple_values(kind: OwnerKind) {
        // Each kind of held value reaches the callback unchanged.
        #expect(Self.heldValues(Int?.none, kind) == [Int?.none], "undefined / null")
        #expect(Self.heldValues("", kind) == [""], "the empty string")
        let object = Plain()
        #expect(Self.heldValues(object, kind).map { ObjectIdentifier($0) } == [ObjectIdentifier(object)], "object")
        #expect(Self.heldValues(42, kind) == [42], "number")
        #expect(Self.heldValues(true, kind) == [true], "true")
        #expect(Self.heldValues(false, kind) == [false], "false")
        let symbol = PeerSymbol("1")
        #expect(Self.heldValues(symbol, kind).map { ObjectIdentifier($0) } == [ObjectIdentifier(symbol)], "symbol")
        #expect(Self.heldValues(3.5, kind) == [3.5], "double")
        #expect(Self.heldValues([1, 2, 3], kind) == [[1, 2, 3]], "array")
    }

    /// Registers `value` as the holdings of a new owner of `kind`, lets the
    /// owner die and be collected, and returns what the callback received.
    static func heldValues<T: Sendable>(_ value: T, _ kind: OwnerKind) -> [T] {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let holdings = Locked<[T]>([])
        do {
            var target: (AnyObject & Sendable)? = kind.make()
            registry.finalize(target!, holding: value) { h in holdings.withLock { $0.append(h) } }
            target = nil
        }
        kind.collect(registry)
        return holdings.value
    }

    // test262 built-ins/FinalizationRegistry/prototype/cleanupSome/reentrancy.js
    @Test func cleanupSome_reentrancy() {
        // A collection can be re-entered from a callback it runs: the nested
        // sweep runs a cell that became empty meanwhile, and the outer
        // callback then finishes normally.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let called = Counter()
        let endOfCall = Counter()
        let nestedCallbackRan = Counter()
        let nestedSwept = Locked<[Int]>([])
        let o2 = Locked<Plain?>(Plain())
        registry.finalize(o2.value!, holding: "holdings 2") { _ in nestedCallbackRan.increment() }
        do {
            var o1: Plain? = Plain()
            registry.finalize(o1!, holding: "holdings 1") { _ in
                called.increment()
                o2.clear()   // o2 dies while the outer collection runs
                let swept = registry.sweep()   // re-enter
                nestedSwept.withLock { $0.append(swept) }
                endOfCall.increment()
            }
            o1 = nil
        }
        #expect(registry.sweep() == 1)
        #expect(called.value == 1, "callback was called")
        #expect(endOfCall.value == 1, "callback finished")
        #expect(nestedSwept.value == [1])
        #expect(nestedCallbackRan.value == 1)
        #expect(registry.pendingCount == 0)
    }

    // test262 built-ins/FinalizationRegistry/prototype/unregister/unregister-cleaned-up-cell.js
    @Test(arguments: OwnerKind.allCases)
    func unregister_unregister_cleaned_up_cell(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let value = "target!"
        let holdings = Locked<[String]>([])
        let token: Finalizer<String>
        do {
            var target: (AnyObject & Sendable)? = kind.make()
            token = registry.finalize(target!, holding: value) { h in holdings.withLock { $0.append(h) } }
            target = nil
        }
        kind.collect(registry)
        #expect(holdings.value == [value])
        #expect(token.detach() == nil, "unregister after iterating over it in cleanup")
        #expect(holdings.value == [value])
    }

    // test262 built-ins/FinalizationRegistry/prototype/unregister/unregister-cleaned-up-object-cell.js
    @Test(arguments: OwnerKind.allCases)
    func unregister_unregister_cleaned_up_object_cell(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let value = Plain()
        let seen = Locked<[ObjectIdentifier]>([])
        let token: Finalizer<Plain>
        do {
            var target: (AnyObject & Sendable)? = kind.make()
            token = registry.finalize(target!, holding: value) { h in seen.withLock { $0.append(ObjectIdentifier(h)) } }
            target = nil
        }
        kind.collect(registry)
        #expect(seen.value == [ObjectIdentifier(value)])
        let removed = token.detach()
        #expect(removed == nil, "unregister after iterating over it in cleanup")
    }

    // test262 built-ins/FinalizationRegistry/prototype/unregister/unregister-object-token.js (and custom-this.js's return values)
    @Test(arguments: OwnerKind.allCases)
    func unregister_unregister_object_token(kind: OwnerKind) {
        // A token is the set of handles registered under it; unregister
        // detaches them all and returns whether anything was removed.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let called = Counter()
        let empty: [Finalizer<Int>] = []
        #expect(!Self.unregister(empty), "unregistering from an empty registry")
        do {
            var target1: (AnyObject & Sendable)? = kind.make()
            var target2: (AnyObject & Sendable)? = kind.make()
            var target3: (AnyObject & Sendable)? = kind.make()
            let token1 = [registry.finalize(target1!, holding: 1) { _ in called.increment() }]
            let token2 = [
                registry.finalize(target2!, holding: 2) { _ in called.increment() },
                registry.finalize(target3!, holding: 3) { _ in called.increment() },
            ]
            #expect(registry.pendingCount == 3)
            #expect(Self.unregister(token1), "unregistering token1")
            #expect(!Self.unregister(token1), "unregistering token1 again")
            #expect(Self.unregister(token2), "unregistering token2 to remove target2 and target3")
            #expect(!Self.unregister(token2), "unregistering token2 again")
            #expect(registry.pendingCount == 0)
            target1 = nil
            target2 = nil
            target3 = nil
        }
        kind.collect(registry)
        #expect(registry.sweep() == 0)
        #expect(called.value == 0)
    }

    /// `FinalizationRegistry.prototype.unregister(token)` over the handles
    /// registered with `token`: true if at least one cell was removed.
    static func unregister<R>(_ cells: [Finalizer<R>]) -> Bool {
        var removed = false
        for cell in cells {
            if cell.detach() != nil { removed = true }
        }
        return removed
    }

    // test262 built-ins/FinalizationRegistry/prototype/register/holdings-same-as-target.js
    @Test(arguments: OwnerKind.allCases)
    func register_holdings_same_as_target(kind: OwnerKind) {
        // JavaScript throws a TypeError; Finalize registers it and warns once,
        // naming the site, since the target could never be collected.
        let warnings = Locked<[String]>([])
        let registry = FinalizerRegistry(
            sweepInterval: nil, onFailure: { _ in }, diagnose: { line in warnings.withLock { $0.append(line) } })
        let target = kind.make()
        let line = #line + 1
        let f = registry.finalize(target, holding: target) { _ in }
        #expect(warnings.value.count == 1)
        #expect(warnings.value.first?.contains("PeerScenarioTests.swift:\(line)") == true)
        #expect(warnings.value.first?.contains("holds its owner") == true)
        #expect(f.isAlive)
        #expect(registry.shutdown() == 1)   // drop the self-reference
    }

    // test262 built-ins/FinalizationRegistry/prototype/register/return-undefined.js
    @Test(arguments: OwnerKind.allCases)
    func register_return_undefined(kind: OwnerKind) {
        // Registering the same target again and again is fine: each call
        // makes a new, independent registration; other targets too.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let runs = Locked<[String]>([])
        let other: Finalizer<Void>
        do {
            var target: (AnyObject & Sendable)? = kind.make()
            let f1 = register(registry, on: target!) { runs.withLock { $0.append("1") } }
            let f2 = register(registry, on: target!) { runs.withLock { $0.append("2") } }
            let f3 = register(registry, on: target!) { runs.withLock { $0.append("3") } }
            #expect(f1 !== f2)
            #expect(f2 !== f3)
            #expect(f1 !== f3)
            #expect(f1.isAlive && f2.isAlive && f3.isAlive)
            other = register(registry, on: kind.make()) { runs.withLock { $0.append("other") } }
            withExtendedLifetime(target) {
                #expect(try! f2.runNow())   // independent of the other two
                #expect(f1.isAlive && f3.isAlive)
            }
            target = nil
        }
        kind.collect(registry)
        #expect(other.state == .ran(kind.deathTrigger))
        #expect(runs.value.sorted() == ["1", "2", "3", "other"])
        #expect(runs.value.filter { $0 != "other" } == ["2", "3", "1"])
        #expect(registry.pendingCount == 0)
    }

    // test262 built-ins/FinalizationRegistry/prototype/register/unregisterToken-same-as-target.js
    @Test(arguments: OwnerKind.allCases)
    func register_unregisterToken_same_as_target(kind: OwnerKind) {
        // The spec's note: a token does not keep its target alive. The token
        // here is the handle; a target that keeps its own handle still dies
        // and is cleaned up.
        let registry = FinalizerRegistry(sweepInterval: nil)
        let holdings = Locked<[Int]>([])
        let tracker = LifetimeTracker()
        do {
            var target: AnyObject? = kind == .host ? PeerSelfTokenHost(tracker) : PeerSelfTokenPlain(tracker)
            let token = registry.finalize(target!, holding: 1) { h in holdings.withLock { $0.append(h) } }
            if let host = target as? PeerSelfTokenHost {
                host.token.set(token)
            } else if let plain = target as? PeerSelfTokenPlain {
                plain.token.set(token)
            }
            target = nil
        }
        kind.collect(registry)
        #expect(tracker.instances == 0)
        #expect(holdings.value == [1])
    }

    // MARK: - test262 built-ins/DisposableStack/prototype

    // test262 built-ins/DisposableStack/prototype/adopt/adds-value-onDispose.js
    @Test func adopt_adds_value_onDispose() throws {
        let stack = CleanupStack()
        let resource = PeerDisposable("resource")
        var wasDisposed = false
        var disposedValue: PeerDisposable?
        stack.enter { resource } release: { value in
            wasDisposed = true
            disposedValue = value
        }
        #expect(!wasDisposed)
        try stack.close()
        #expect(wasDisposed)
        let same = disposedValue === resource
        #expect(same)
    }

    // test262 built-ins/DisposableStack/prototype/adopt/allows-any-value.js
    @Test func adopt_allows_any_value() throws {
        let stack = CleanupStack()
        let released = CleanupLog<String>()
        let object = PeerDisposable("object")
        stack.enter { Int?.none } release: { released.append("null \($0 == nil)") }
        stack.enter { () } release: { _ in released.append("undefined") }
        stack.enter { object } release: { released.append("object \($0.name)") }
        stack.enter { { 1 } } release: { released.append("function \($0())") }
        stack.enter { true } release: { released.append("\($0)") }
        stack.enter { false } release: { released.append("\($0)") }
        stack.enter { 1 } release: { released.append("number \($0)") }
        stack.enter { "object" } release: { released.append("string \($0)") }
        #expect(stack.count == 8)
        try stack.close()
        #expect(released.items == [
            "string object", "number 1", "false", "true", "function 1", "object object", "undefined", "null true",
        ])
    }

    // test262 built-ins/DisposableStack/prototype/adopt/puts-value-onDispose-on-top-of-stack.js
    @Test func adopt_puts_value_onDispose_on_top_of_stack() throws {
        let stack = CleanupStack()
        let disposed = CleanupLog<String>()
        let resource1 = PeerDisposable("1"), resource2 = PeerDisposable("2")
        stack.enter { resource1 } release: { disposed.append($0.name) }
        stack.enter { resource2 } release: { disposed.append($0.name) }
        try stack.close()
        #expect(disposed.items == ["2", "1"])
    }

    // test262 built-ins/DisposableStack/prototype/adopt/returns-value.js
    @Test func adopt_returns_value() throws {
        let stack = CleanupStack()
        let resource = PeerDisposable("resource")
        let returned = stack.enter { resource } release: { _ in }
        let same = returned === resource
        #expect(same)
        let none = stack.enter { Int?.none } release: { _ in }
        #expect(none == nil)
        try stack.close()
    }

    // test262 built-ins/DisposableStack/prototype/defer/adds-onDispose.js
    @Test func defer_adds_onDispose() throws {
        let stack = CleanupStack()
        var deferCalled = false
        stack.defer { deferCalled = true }
        #expect(!deferCalled)
        try stack.close()
        #expect(deferCalled)
    }

    // test262 built-ins/DisposableStack/prototype/dispose/sets-state-to-disposed.js
    @Test func dispose_sets_state_to_disposed() throws {
        // No "disposed" state in a CleanupStack: after close() it is empty
        // (and, unlike JavaScript's, reusable).
        let stack = CleanupStack()
        stack.defer {}
        #expect(stack.count == 1)
        try stack.close()
        #expect(stack.count == 0)
    }

    // test262 built-ins/DisposableStack/prototype/move/returns-new-disposablestack-that-contains-moved-resources.js
    @Test func move_returns_new_disposablestack_that_contains_moved_resources() throws {
        let stack1 = CleanupStack()
        let disposed = CleanupLog<String>()
        let resource = PeerDisposable("resource")
        stack1.enter { resource } release: { disposed.append($0.name) }
        let stack2 = stack1.move()
        #expect(disposed.items.isEmpty)
        try stack1.close()
        #expect(disposed.items.isEmpty)
        try stack2.close()
        #expect(disposed.items == ["resource"])
    }

    // test262 built-ins/DisposableStack/prototype/use/adds-value.js
    @Test func use_adds_value() throws {
        let stack = CleanupStack()
        let resource = PeerDisposable("resource")
        stack.enter { resource } release: { $0.dispose() }
        #expect(!resource.disposed)
        try stack.close()
        #expect(resource.disposed)
    }

    // test262 built-ins/DisposableStack/prototype/use/allows-null-value.js
    @Test func use_allows_null_value() throws {
        let stack = CleanupStack()
        let resource: PeerDisposable? = nil
        let returned = stack.enter { resource } release: { $0?.dispose() }
        #expect(returned == nil)
        try stack.close()
    }

    // test262 built-ins/DisposableStack/prototype/use/allows-undefined-value.js
    @Test func use_allows_undefined_value() throws {
        let stack = CleanupStack()
        var released = 0
        stack.enter { () } release: { _ in released += 1 }
        try stack.close()
        #expect(released == 1)
    }

    // test262 built-ins/DisposableStack/prototype/use/gets-value-Symbol.dispose-property-once.js
    @Test func use_gets_value_Symbol_dispose_property_once() throws {
        // What to release is determined once, when the resource is added;
        // the acquisition is not repeated at dispose time.
        let stack = CleanupStack()
        var acquireCount = 0
        let resource = PeerDisposable("resource")
        stack.enter({ () -> PeerDisposable in
            acquireCount += 1
            return resource
        }, release: { $0.dispose() })
        #expect(acquireCount == 1)
        try stack.close()
        #expect(acquireCount == 1)
        #expect(resource.disposed)
    }

    // test262 built-ins/DisposableStack/prototype/use/puts-value-on-top-of-stack.js
    @Test func use_puts_value_on_top_of_stack() throws {
        let stack = CleanupStack()
        let disposed = CleanupLog<String>()
        let resource1 = PeerDisposable("1", log: disposed), resource2 = PeerDisposable("2", log: disposed)
        stack.enter { resource1 } release: { $0.dispose() }
        stack.enter { resource2 } release: { $0.dispose() }
        try stack.close()
        #expect(disposed.items == ["2", "1"])
    }

    // test262 built-ins/DisposableStack/prototype/use/returns-value.js
    @Test func use_returns_value() throws {
        let stack = CleanupStack()
        let resource = PeerDisposable("resource")
        let returned = stack.enter { resource } release: { $0.dispose() }
        let same = returned === resource
        #expect(same)
        try stack.close()
    }

    // MARK: - test262 built-ins/AsyncDisposableStack/prototype

    // test262 built-ins/AsyncDisposableStack/prototype/adopt/adds-value-onDisposeAsync.js
    @Test func async_adopt_adds_value_onDisposeAsync() async throws {
        let stack = AsyncCleanupStack()
        let resource = PeerDisposable("resource")
        let disposed = CleanupLog<PeerDisposable>()
        await stack.enter { resource } release: { value in
            await cleanupHop()
            disposed.append(value)
        }
        #expect(disposed.items.isEmpty)
        try await stack.close()
        #expect(disposed.items.count == 1)
        let same = disposed.items.first === resource
        #expect(same)
    }

    // test262 built-ins/AsyncDisposableStack/prototype/adopt/puts-value-onDisposeAsync-on-top-of-stack.js
    @Test func async_adopt_puts_value_onDisposeAsync_on_top_of_stack() async throws {
        let stack = AsyncCleanupStack()
        let disposed = CleanupLog<String>()
        let resource1 = PeerDisposable("1"), resource2 = PeerDisposable("2")
        await stack.enter { resource1 } release: { await cleanupHop(); disposed.append($0.name) }
        await stack.enter { resource2 } release: { await cleanupHop(); disposed.append($0.name) }
        try await stack.close()
        #expect(disposed.items == ["2", "1"])
    }

    // test262 built-ins/AsyncDisposableStack/prototype/defer/adds-onDisposeAsync.js
    @Test func async_defer_adds_onDisposeAsync() async throws {
        let stack = AsyncCleanupStack()
        let called = CleanupLog<Bool>()
        stack.defer { () async in
            await cleanupHop()
            called.append(true)
        }
        #expect(called.items.isEmpty)
        try await stack.close()
        #expect(called.items == [true])
    }

    // test262 built-ins/AsyncDisposableStack/prototype/defer/puts-onDisposeAsync-on-top-of-stack.js
    @Test func async_defer_puts_onDisposeAsync_on_top_of_stack() async throws {
        let stack = AsyncCleanupStack()
        let disposed = CleanupLog<Int>()
        stack.defer { () async in await cleanupHop(); disposed.append(1) }
        stack.defer { () async in await cleanupHop(); disposed.append(2) }
        try await stack.close()
        #expect(disposed.items == [2, 1])
    }

    // test262 built-ins/AsyncDisposableStack/prototype/use/adds-async-disposable-value.js
    @Test func async_use_adds_async_disposable_value() async throws {
        let stack = AsyncCleanupStack()
        let resource = PeerDisposable("resource")
        await stack.enter { resource } release: { await $0.disposeAsync() }
        #expect(!resource.disposed)
        try await stack.close()
        #expect(resource.disposed)
    }

    // test262 built-ins/AsyncDisposableStack/prototype/use/adds-sync-disposable-value.js
    @Test func async_use_adds_sync_disposable_value() async throws {
        let stack = AsyncCleanupStack()
        let resource = PeerDisposable("resource")
        await stack.enter { resource } release: { $0.dispose() }
        #expect(!resource.disposed)
        try await stack.close()
        #expect(resource.disposed)
    }

    // test262 built-ins/AsyncDisposableStack/prototype/use/puts-value-on-top-of-stack.js
    @Test func async_use_puts_value_on_top_of_stack() async throws {
        let stack = AsyncCleanupStack()
        let disposed = CleanupLog<String>()
        let resource1 = PeerDisposable("1", log: disposed), resource2 = PeerDisposable("2", log: disposed)
        await stack.enter { resource1 } release: { await $0.disposeAsync() }
        await stack.enter { resource2 } release: { $0.dispose() }
        try await stack.close()
        #expect(disposed.items == ["2", "1"])
    }

    // test262 built-ins/AsyncDisposableStack/prototype/move/returns-new-asyncdisposablestack-that-contains-moved-resources.js
    @Test func async_move_returns_new_asyncdisposablestack_that_contains_moved_resources() async throws {
        let stack1 = AsyncCleanupStack()
        let disposed = CleanupLog<String>()
        let resource = PeerDisposable("resource", log: disposed)
        await stack1.enter { resource } release: { await $0.disposeAsync() }
        let stack2 = stack1.move()
        let notSame = stack2 !== stack1   // async-disposable-stack-move-not-same-objects.js
        #expect(notSame)
        try await stack1.close()
        #expect(disposed.items.isEmpty)
        try await stack2.close()
        #expect(disposed.items == ["resource"])
    }
}

// MARK: - Helpers

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

/// An owner with a finalizer of its own (its deinit), as a host.
private final class PeerDeinitLoggingHost: FinalizerHost {
    let finalizers = FinalizerBag()
    let log: EventLog
    init(_ log: EventLog) { self.log = log }
    deinit { log.append("finalizer") }
}

/// The same, as a watched owner.
private final class PeerDeinitLoggingPlain {
    let log: EventLog
    init(_ log: EventLog) { self.log = log }
    deinit { log.append("finalizer") }
}

/// Go's `struct { p unsafe.Pointer; i, a, b, c int }`: three parts that live
/// exactly as long as the whole.
private final class PeerThreeParts {
    let a: AnyObject & Sendable
    let b: AnyObject & Sendable
    let c: AnyObject & Sendable
    init(_ kind: OwnerKind) {
        a = kind.make()
        b = kind.make()
        c = kind.make()
    }
}

/// A resource that reaches its owner (Go's `&v.f`): not the owner itself,
/// so the registration cannot tell.
private struct PeerReachesOwner: Sendable {
    let owner: AnyObject & Sendable
}

/// A unique, identity-compared value (JavaScript's `Symbol(1)`).
private final class PeerSymbol: Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An owner that stores its own finalizer handle (its unregister token).
private final class PeerSelfTokenHost: FinalizerHost, Sendable {
    let finalizers = FinalizerBag()
    let token = Locked<Finalizer<Int>?>(nil)
    let tracked: LifetimeTracked
    init(_ tracker: LifetimeTracker) { tracked = tracker.instance() }
}

/// The same, as a watched owner.
private final class PeerSelfTokenPlain: Sendable {
    let token = Locked<Finalizer<Int>?>(nil)
    let tracked: LifetimeTracked
    init(_ tracker: LifetimeTracker) { tracked = tracker.instance() }
}

/// A JavaScript disposable: `[Symbol.dispose]()` is `dispose()`.
private final class PeerDisposable {
    let name: String
    let log: CleanupLog<String>?
    private(set) var disposed = false

    init(_ name: String, log: CleanupLog<String>? = nil) {
        self.name = name
        self.log = log
    }

    func dispose() {
        disposed = true
        log?.append(name)
    }

    /// `[Symbol.asyncDispose]()`: suspends first, then disposes.
    func disposeAsync() async {
        await cleanupHop()
        dispose()
    }
}
