// Ports of Rust scopeguard's `src/tests.rs` to `UniqueResource`
// (`guard(value, f)` is `UniqueResource(value) { ... }`, `ScopeGuard::into_inner`
// is `take()`, an early `drop` is `release()`): test_defer,
// test_only_dropped_by_closure_when_run, test_dropped_once_when_not_run,
// test_into_inner.

import Finalize
import FinalizeTestSupport
import Testing

@Suite("Rust scopeguard tests")
struct RustScopeguardTests {
    @Test("scopeguard test_defer: released once at the end of its scope, not before")
    func releasedAtEndOfScope() {
        let releases = ResourceCounter()
        do {
            let guarded = UniqueResource(5) { _ in releases.value += 1 }
            #expect(guarded.resource == 5)
            #expect(releases.value == 0)
        }
        #expect(releases.value == 1)
    }

    @Test("scopeguard test_only_dropped_by_closure_when_run: the value is dropped once, after its release")
    func onlyDroppedByClosureWhenRun() {
        let valueDrops = ResourceCounter()
        let closureRuns = ResourceCounter()
        do {
            let guarded = UniqueResource(ResourceTracked(valueDrops)) { _ in closureRuns.value += 1 }
            #expect(valueDrops.value == 0)
            #expect(closureRuns.value == 0)
            guarded.release()
        }
        #expect(closureRuns.value == 1)
        #expect(valueDrops.value == 1)
    }

    @Test("scopeguard test_dropped_once_when_not_run: a disarmed guard drops its value once, never runs")
    func droppedOnceWhenNotRun() {
        let valueDrops = ResourceCounter()
        let closureRuns = ResourceCounter()
        do {
            let guarded = UniqueResource(ResourceTracked(valueDrops)) { _ in closureRuns.value += 1 }
            let value = guarded.take()
            #expect(valueDrops.value == 0)
            withExtendedLifetime(value) {}
        }
        #expect(valueDrops.value == 1)
        #expect(closureRuns.value == 0)
    }

    @Test("scopeguard test_into_inner: take() disarms and hands the resource back")
    func intoInner() {
        let releases = ResourceCounter()
        let guarded = UniqueResource(42) { _ in releases.value += 1 }
        let inner = guarded.take()
        #expect(inner == 42)
        #expect(releases.value == 0)
    }
}
