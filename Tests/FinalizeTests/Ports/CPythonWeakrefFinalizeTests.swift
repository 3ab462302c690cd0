// Ports of CPython's `Lib/test/test_weakref.py`, class `FinalizeTestCase`.
//
// Python's `weakref.finalize(obj, func, *args)` maps to
// `registry.finalize(owner, holding: args) { func($0) }`; `f()` is
// `try f.runNow()`, `f.alive` is `isAlive`, and `del a` followed by
// `_collect_if_necessary()` is the owner's last release, plus a `sweep()` for
// a watched owner. Each scenario runs for a host owner (the cleanup runs at
// the release) and a watched one (at the sweep).
//
// `test_atexit` needs a real process exit: it is an exit test, whose body
// (`run_in_child`) runs in a child process.

import FinalizeTestSupport
import Testing

@testable import Finalize

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("CPython test_weakref: FinalizeTestCase")
struct CPythonWeakrefFinalizeTests {
    /// Python's `add(x, y, z)`: the cleanup's "arguments" are its resource.
    struct Arguments: Sendable, Equatable {
        var x: Int, y: Int, z: Int
    }

    /// `test_finalize`: call it (runs once), detach it (never runs), or let
    /// the owner die (runs once); afterwards every accessor reports it dead.
    @Test(arguments: OwnerKind.allCases)
    func test_finalize(kind: OwnerKind) throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let res = Locked<[Int]>([])
        let add: @Sendable (Arguments) -> Void = { args in res.withLock { $0.append(args.x + args.y + args.z) } }
        let arguments = Arguments(x: 67, y: 43, z: 89)

        var f: Finalizer<Arguments>
        do {
            var a: (AnyObject & Sendable)? = kind.make()

            // f(): runs, and only once.
            f = registry.finalize(a!, holding: arguments, add)
            #expect(f.isAlive)
            let peeked = f.peek()
            let peeksOwner = peeked.map { $0.owner === a! } ?? false
            #expect(peeksOwner)
            #expect(peeked?.resource == arguments)
            #expect(try f.runNow())
            #expect(try !f.runNow())
            #expect(try !f.runNow())
            #expect(f.peek() == nil)
            #expect(f.detach() == nil)
            #expect(!f.isAlive)
            #expect(res.value == [199])

            // detach(): hands back the arguments; calling it afterwards does nothing.
            res.set([])
            f = registry.finalize(a!, holding: arguments, add)
            #expect(f.peek()?.resource == arguments)
            #expect(f.detach() == arguments)
            #expect(try !f.runNow())
            #expect(try !f.runNow())
            #expect(f.peek() == nil)
            #expect(f.detach() == nil)
            #expect(!f.isAlive)
            #expect(res.value == [])

            // del a: the owner's death runs it; calling it afterwards does nothing.
            res.set([])
            f = registry.finalize(a!, holding: arguments, add)
            a = nil
        }
        kind.collect(registry)
        #expect(try !f.runNow())
        #expect(try !f.runNow())
        #expect(f.peek() == nil)
        #expect(f.detach() == nil)
        #expect(!f.isAlive)
        #expect(res.value == [199])
        #expect(f.state == .ran(kind.deathTrigger))
    }

    /// `test_arg_errors`: the argument errors it checks (missing or
    /// misnamed `func`/`obj`) are compile-time errors in Swift, so only its
    /// first half applies: `peek()` shows the arguments and calling the
    /// finalizer passes them through unchanged.
    @Test func test_arg_errors() throws {
        struct Call: Sendable, Equatable {
            var args: [Int]
            var kwargs: [String: Int]
        }
        let registry = FinalizerRegistry(sweepInterval: nil)
        let res = Locked<[Call]>([])
        let a = Plain()
        let call = Call(args: [1, 2], kwargs: ["func": 3, "obj": 4])
        let f = registry.finalize(a, holding: call) { call in res.withLock { $0.append(call) } }
        let peeked = f.peek()
        let peeksOwner = peeked.map { $0.owner === a } ?? false
        #expect(peeksOwner)
        #expect(peeked?.resource == call)
        #expect(try f.runNow())
        #expect(res.value == [call])
    }

    /// `test_order`: explicit calls run at once, a detached finalizer never
    /// runs, and the owner's death runs the rest newest first. Finalizers
    /// whose handles were dropped (`del f1, f4`) still run: a finalizer keeps
    /// itself alive.
    @Test(arguments: OwnerKind.allCases)
    func test_order(kind: OwnerKind) throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let res = EventLog()
        let f2: Finalizer<Void>, f3: Finalizer<Void>, f5: Finalizer<Void>
        do {
            var a: (AnyObject & Sendable)? = kind.make()

            register(registry, on: a!) { res.append("f1") }  // handle dropped at once
            f2 = register(registry, on: a!) { res.append("f2") }
            f3 = register(registry, on: a!) { res.append("f3") }
            register(registry, on: a!) { res.append("f4") }  // handle dropped at once
            f5 = register(registry, on: a!) { res.append("f5") }

            #expect(f2.isAlive)
            #expect(f3.isAlive)
            #expect(f5.isAlive)

            #expect(f5.detach() != nil)
            #expect(!f5.isAlive)

            #expect(try !f5.runNow())  // nothing: previously detached
            res.append("A")
            #expect(try f3.runNow())  // => f3
            #expect(!f3.isAlive)
            res.append("B")
            #expect(try !f3.runNow())  // nothing: previously called
            res.append("C")
            withExtendedLifetime(a) {
                #expect(registry.sweep() == 0)
                #expect(res.events == ["A", "f3", "B", "C"])
            }
            a = nil  // del a
        }
        if kind == .watched {
            // Dead, not yet collected: nothing has run.
            #expect(res.events == ["A", "f3", "B", "C"])
            #expect(f2.isAlive)
            #expect(registry.sweep() == 3)  // => f4, f2, f1
        }
        #expect(!f2.isAlive)
        res.append("D")
        #expect(try !f2.runNow())  // nothing: previously run by the owner's death

        #expect(res.events == ["A", "f3", "B", "C", "f4", "f2", "f1", "D"])
        #expect(f2.state == .ran(kind.deathTrigger))
        #expect(f3.state == .ran(.runNow))
        #expect(f5.state == .detached)
    }

    /// `test_all_freed`: once the owner died and the finalizer ran, the
    /// finalizer (whose handle was dropped) and its callback are freed; before
    /// that, both are kept alive by the registration alone.
    @Test(arguments: OwnerKind.allCases)
    func test_all_freed(kind: OwnerKind) {
        let registry = FinalizerRegistry(sweepInterval: nil)
        let tracker = LifetimeTracker()
        let res = Locked<[Int]>([])
        weak var wrF: Finalizer<Void>?
        do {
            var a: (AnyObject & Sendable)? = kind.make()
            do {
                // The callback is a closure over a tracked object; the tracked
                // object is freed exactly when the closure is.
                let captured = tracker.instance(123)
                var f: Finalizer<Void>? = register(registry, on: a!) { res.withLock { $0.append(captured.payload) } }
                wrF = f
                f = nil  // del callback, f
            }
            withExtendedLifetime(a) {
                #expect(tracker.instances == 1)  // wr_callback() is not None
                #expect(wrF != nil)  // wr_f() is not None
            }
            a = nil  // del a
        }
        kind.collect(registry)

        #expect(tracker.instances == 0)  // wr_callback() is None
        #expect(wrF == nil)  // wr_f() is None
        #expect(res.value == [123])
    }

    /// `test_atexit`: at exit, newest first, f4; then f3, which registers g1
    /// (run next) and fails (reported on stderr with its site and trigger);
    /// then g1; f2 has `runsAtExit = false`; then f1. Status 0.
    @Test func test_atexit() async throws {
        let child = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardOutputContent, \.standardErrorContent]) {
                runInChild()
                exit(0)  // what returning from `main` does
            })
        #expect(child.stdoutLines == ["f4 foobar", "f3 error", "g1", "f1 foobar"])
        let stderr = child.stderr
        #expect(stderr.contains("ZeroDivisionError"))
        // The default failure handler names the registration site and trigger.
        #expect(stderr.contains("FinalizeTests/CPythonWeakrefFinalizeTests.swift"))
        #expect(stderr.contains("shutdown"))
    }
}

/// Python's `1/0`.
private struct ZeroDivisionError: Error, CustomStringConvertible {
    var description: String { "ZeroDivisionError: division by zero" }
}

/// `FinalizeTestCase.run_in_child`, on the shared registry; `cls` lives
/// until the process exits.
private func runInChild() {
    let cls = Forever.plain
    let globalVar = "foobar"

    // error(): create an at-exit finalizer from inside a finalizer called at
    // exit. It should be the next to be run.
    let error: @Sendable () throws -> Void = {
        finalize(cls) { say("g1") }
        say("f3 error")
        throw ZeroDivisionError()
    }

    let f1 = finalize(cls) { say("f1 \(globalVar)") }
    let f2 = finalize(cls) { say("f2 \(globalVar)") }
    let f3 = finalize(cls, error)
    let f4 = finalize(cls) { say("f4 \(globalVar)") }

    precondition(f1.runsAtExit == true)
    f2.runsAtExit = false
    precondition(f3.runsAtExit == true)
    precondition(f4.runsAtExit == true)
}
