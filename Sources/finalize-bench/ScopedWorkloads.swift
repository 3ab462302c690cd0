import Finalize

/// The work of every cleanup below, behind a call the optimizer cannot
/// inline or elide, so a plain `defer` and a stack entry run the same code.
@inline(never)
func scopeCleanup() {
    bump()
}

/// One closure value for `scoped_stack_defer_close_shared`, made where the
/// optimizer cannot see it.
@inline(never)
func makeOpaqueCleanup() -> () -> Void {
    { scopeCleanup() }
}

/// The work inside each scope: nothing, but opaque, so the scope is not
/// empty (a `defer` at the very end of a scope is just a call). Both sides
/// of the comparison do it once per entry.
@inline(never)
func scopeWork(_ index: Int) {}

/// Workloads of the scoped side: what a `CleanupStack` entry costs against
/// a hand-written `defer` running the same closure.
enum ScopedWorkloads {
    static var all: [Workload] {
        [
            Workload(name: "scoped_plain_defer", unit: "ns/op", target: "reference: defer { cleanup() }") {
                plainDefer($0)
            },
            Workload(
                name: "scoped_stack_defer_close", unit: "ns/op", target: "<= 3x scoped_plain_defer",
                reference: "scoped_plain_defer"
            ) {
                stackDeferClose($0)
            },
            Workload(
                name: "scoped_stack_defer_close_shared", unit: "ns/op", target: "", reference: "scoped_plain_defer"
            ) {
                stackDeferCloseShared($0)
            },
            Workload(name: "scoped_with_stack_one_entry", unit: "ns/op", target: "", reference: "scoped_plain_defer") {
                withStackOneEntry($0)
            },
        ]
    }

    /// N scopes, each with one `defer` running the cleanup: what Swift
    /// gives without Finalize.
    static func plainDefer(_ n: Int) -> Double {
        measure(operations: n, cleanups: n, in: "scoped_plain_defer") {
            for index in 0..<n {
                defer { scopeCleanup() }
                scopeWork(index)
            }
        }
    }

    /// Entries per scope in the stack workloads: a realistic scope holds a
    /// handful of cleanups, not a million.
    static let entriesPerScope = 16

    /// Scopes of 16 entries deferred on one stack, each ended by `close()`
    /// (the stack is reused, as a long-lived owner of a stack would): the
    /// cost per entry of `stack.defer { cleanup() }` plus its share of
    /// `close`, written as a user writes it, the same closure as the plain
    /// `defer` above.
    ///
    /// This and the next workload spell out the same loop on purpose: with
    /// the entry passed in as a closure, the optimizer no longer inlines
    /// `defer` into the loop, and the figure doubles.
    static func stackDeferClose(_ n: Int) -> Double {
        let scopes = max(1, n / entriesPerScope)
        let entries = scopes * entriesPerScope
        let stack = CleanupStack()
        return measure(operations: entries, cleanups: entries, in: "scoped_stack_defer_close") {
            for _ in 0..<scopes {
                for index in 0..<entriesPerScope {
                    stack.defer { scopeCleanup() }
                    scopeWork(index)
                }
                try? stack.close()
            }
        }
    }

    /// The same, deferring one closure value over and over: each entry
    /// then holds its own reference to the closure, one more retain and
    /// release per entry (a call into the runtime even for a closure that
    /// captures nothing).
    static func stackDeferCloseShared(_ n: Int) -> Double {
        let body = makeOpaqueCleanup()
        let scopes = max(1, n / entriesPerScope)
        let entries = scopes * entriesPerScope
        let stack = CleanupStack()
        return measure(operations: entries, cleanups: entries, in: "scoped_stack_defer_close_shared") {
            for _ in 0..<scopes {
                for index in 0..<entriesPerScope {
                    stack.defer(body)
                    scopeWork(index)
                }
                try? stack.close()
            }
        }
    }

    /// N scopes of `withCleanupStack` with one entry each: what a small
    /// scope costs in all (the stack itself included).
    static func withStackOneEntry(_ n: Int) -> Double {
        measure(operations: n, cleanups: n, in: "scoped_with_stack_one_entry") {
            for index in 0..<n {
                try? withCleanupStack { stack in
                    stack.defer { scopeCleanup() }
                    scopeWork(index)
                }
            }
        }
    }
}
