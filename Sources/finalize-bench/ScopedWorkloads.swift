import Finalize

/// A cleanup the optimizer cannot inline or elide, shared by the plain
/// `defer` and the stack, so both pay for the same call.
@inline(never)
func makeOpaqueCleanup() -> () -> Void {
    { bump() }
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
            Workload(name: "scoped_plain_defer", unit: "ns/op", target: "reference: defer { body() }") {
                plainDefer($0)
            },
            Workload(name: "scoped_stack_defer_close", unit: "ns/op", target: "<= 3x scoped_plain_defer") {
                stackDeferClose($0)
            },
            Workload(name: "scoped_with_stack_one_entry", unit: "ns/op", target: "") {
                withStackOneEntry($0)
            },
        ]
    }

    /// N scopes, each with one `defer` calling the closure.
    static func plainDefer(_ n: Int) -> Double {
        let body = makeOpaqueCleanup()
        let time = measure(operations: n, cleanups: n, in: "scoped_plain_defer") {
            for index in 0..<n {
                defer { body() }
                scopeWork(index)
            }
        }
        return time
    }

    /// Entries per scope in `stackDeferClose`: a realistic scope holds a
    /// handful of cleanups, not a million.
    static let entriesPerScope = 16

    /// Scopes of 16 entries deferred on one stack, each ended by `close()`
    /// (the stack is reused, as a long-lived owner of a stack would): the
    /// cost per entry of `defer` plus its share of `close`.
    static func stackDeferClose(_ n: Int) -> Double {
        let body = makeOpaqueCleanup()
        let scopes = max(1, n / entriesPerScope)
        let entries = scopes * entriesPerScope
        let stack = CleanupStack()
        let time = measure(operations: entries, cleanups: entries, in: "scoped_stack_defer_close") {
            for _ in 0..<scopes {
                for index in 0..<entriesPerScope {
                    stack.defer(body)
                    scopeWork(index)
                }
                try? stack.close()
            }
        }
        return time
    }

    /// N scopes of `withCleanupStack` with one entry each: what a small
    /// scope costs in all (the stack itself included).
    static func withStackOneEntry(_ n: Int) -> Double {
        let body = makeOpaqueCleanup()
        let time = measure(operations: n, cleanups: n, in: "scoped_with_stack_one_entry") {
            for index in 0..<n {
                try? withCleanupStack { stack in
                    stack.defer(body)
                    scopeWork(index)
                }
            }
        }
        return time
    }
}
