// Ports of OpenJDK's `test/jdk/java/lang/ref/CleanerTest.java`.
//
// `testCleanableActions` / `testRefSubtypes` apply every permutation of a
// list of actions to one registration and check that the cleanup ran exactly
// once or never, as the first effective action decides. The actions here are
// the owner's release (`clearRef` + GC), `runNow()` (`clean()`) and
// `detach()` (`clear()`); every permutation of every non-empty subset, for a
// host owner and a watched owner. `verify` then releases whatever is left
// and checks nothing more happens, and that the handle itself is freed.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("OpenJDK CleanerTest")
struct OpenJDKCleanerTests {
    enum Action: String, Sendable, CaseIterable {
        /// The owner's last release; for a watched owner followed by a
        /// sweep (the collection that notices it).
        case release
        case runNow
        case detach
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var kind: OwnerKind
        var actions: [Action]
        var testDescription: String { "\(kind): " + actions.map(\.rawValue).joined(separator: ", ") }
    }

    /// All orderings of all non-empty subsets of the actions (3 + 6 + 6).
    static let sequences: [[Action]] = {
        func permutations(_ items: [Action]) -> [[Action]] {
            guard items.count > 1 else { return [items] }
            return items.indices.flatMap { i -> [[Action]] in
                var rest = items
                let first = rest.remove(at: i)
                return permutations(rest).map { [first] + $0 }
            }
        }
        let all = Action.allCases
        var subsets: [[Action]] = []
        for mask in 1..<(1 << all.count) {
            subsets.append(all.indices.filter { mask & (1 << $0) != 0 }.map { all[$0] })
        }
        return subsets.flatMap(permutations)
    }()

    static let cases: [Case] = OwnerKind.allCases.flatMap { kind in sequences.map { Case(kind: kind, actions: $0) } }

    @Test func everyOrderingIsEnumerated() {
        #expect(Self.sequences.count == 15)
        #expect(Set(Self.sequences.map { $0.map(\.rawValue).joined(separator: ",") }).count == 15)
    }

    /// `testCleanableActions`: whichever of release / runNow / detach comes
    /// first decides, exactly once (detach first: never); every later action
    /// is a no-op with the documented result.
    @Test(arguments: cases)
    func testCleanableActions(_ testCase: Case) throws {
        let kind = testCase.kind
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let runs = Counter()
        let owner = Locked<(AnyObject & Sendable)?>(kind.make())
        weak var weakHandle: Finalizer<LifetimeTracked>?
        do {
            let captured = tracker.instance()
            let f = registry.finalize(owner.value!, holding: tracker.instance(1)) { _ in
                withExtendedLifetime(captured) { runs.increment() }
            }
            weakHandle = f

            // The first action decides the outcome.
            let expected: FinalizerState =
                switch testCase.actions[0] {
                case .release: .ran(kind.deathTrigger)
                case .runNow: .ran(.runNow)
                case .detach: .detached
                }
            var decided = false
            for action in testCase.actions {
                let first = !decided
                decided = true
                switch action {
                case .release:
                    owner.clear()
                    let swept = kind.collect(registry)
                    if kind == .watched { #expect(swept == (first ? 1 : 0)) }
                case .runNow:
                    #expect(try f.runNow() == first)
                case .detach:
                    let resource = f.detach()
                    #expect((resource != nil) == first)
                    #expect(resource?.payload == (first ? 1 : nil))
                }
                // Decided at once by the first action, and never changed.
                #expect(f.state == expected)
                #expect(runs.value == (expected == .detached ? 0 : 1))
            }

            // verify(): release whatever is left; nothing more may happen.
            owner.clear()
            #expect(registry.sweep() == 0)
            #expect(registry.shutdown() == 0)
            #expect(f.state == expected)
            #expect(runs.value == (expected == .detached ? 0 : 1))
            #expect(!f.isAlive)
            #expect(f.peek() == nil)
            #expect(f.detach() == nil)
            #expect(try !f.runNow())
            #expect(registry.pendingCount == 0)
        }
        // "The reference to the Cleanable was freed", and so were the
        // cleanup and its resource.
        #expect(weakHandle == nil)
        #expect(tracker.instances == 0)
    }

    /// `testRefSubtypes`' exception case: a cleanup that throws at the
    /// owner's death does not stop the machinery; the error goes to
    /// `onFailure` and later registrations work as usual.
    @Test(arguments: OwnerKind.allCases)
    func exceptionThrownToTheCleaner(kind: OwnerKind) {
        let failures = FailureLog()
        let registry = FinalizerRegistry(sweepInterval: nil, onFailure: failures.handler)
        let runs = Counter()
        do {
            var owner: (AnyObject & Sendable)? = kind.make()
            register(registry, on: owner!) {
                runs.increment()
                throw TestError("Exception thrown to cleaner thread")
            }
            owner = nil
        }
        kind.collect(registry)
        #expect(runs.value == 1)
        #expect(failures.all.map { $0.error as? TestError } == [TestError("Exception thrown to cleaner thread")])
        #expect(failures.all.map(\.trigger) == [kind.deathTrigger])

        do {
            var owner: (AnyObject & Sendable)? = kind.make()
            register(registry, on: owner!) { runs.increment() }
            owner = nil
        }
        kind.collect(registry)
        #expect(runs.value == 2)
        #expect(failures.all.count == 1)
    }

    /// `testCleanerTermination`: dropping the last reference to a registry
    /// that has a background sweeper frees it (the sweeper does not keep it
    /// alive), and, as the test's closing check does with a cleanable
    /// registered on the cleaner itself, a registry is an owner like any other:
    /// another registry runs a cleanup when it dies.
    @Test func testCleanerTermination() {
        let common = FinalizerRegistry(sweepInterval: nil)
        let cleaned = Counter()
        weak var weakService: FinalizerRegistry?
        weak var weakCore: _RegistryCore?
        do {
            var service: FinalizerRegistry? = FinalizerRegistry(sweepInterval: .milliseconds(1))
            weakService = service
            weakCore = service!._core
            common.finalize(service!) { cleaned.increment() }
            withExtendedLifetime(service) { #expect(common.sweep() == 0) }
            service = nil
        }
        #expect(weakService == nil)
        // The sweeper thread held only the core; it is gone with its thread.
        #expect(weakCore == nil)
        #expect(common.sweep() == 1)
        #expect(cleaned.value == 1)
    }

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
            cleanable = nil  // test.clearCleanable()
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
            common.finalize(cleaner!) { cleaned.increment() }  // setupPhantom(COMMON, cleaner)
            withExtendedLifetime(cleaner) { #expect(common.sweep() == 0) }
            cleaner = nil
            withExtendedLifetime(keptHost) {}
        }
        #expect(common.sweep() == 1)
        #expect(cleaned.value == 1)
        #expect(runs.value == 3)
    }
}
