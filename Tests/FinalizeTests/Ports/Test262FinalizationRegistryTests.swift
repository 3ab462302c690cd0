// Ports of test262's `test/built-ins/FinalizationRegistry/**` (JavaScript's
// `FinalizationRegistry`): a collection runs the cleanup callback at most
// once, `cleanupSome` and `unregister` on cells already cleaned up, holdings
// and unregister tokens that are the target itself.
//
// Mapping: `register(target, holdings, token)` is `finalize(owner, holding:)`,
// `unregister(token)` is `detach()` returning non-nil, `cleanupSome` is
// `sweep()`, and a collection is the owner's last release (plus `sweep()`
// for a watched owner).

import FinalizeTestSupport
import Synchronization
import Testing

@testable import Finalize

@Suite("test262 FinalizationRegistry")
struct Test262FinalizationRegistryTests {
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
                o2.clear()  // o2 dies while the outer collection runs
                let swept = registry.sweep()  // re-enter
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
        #expect(warnings.value.first?.contains("Test262FinalizationRegistryTests.swift:\(line)") == true)
        #expect(warnings.value.first?.contains("holds its owner") == true)
        #expect(f.isAlive)
        #expect(registry.shutdown() == 1)  // drop the self-reference
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
                #expect(try! f2.runNow())  // independent of the other two
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
