// Fork safety: a child forked while other threads use the shared
// registry inherits no lock held by a thread it does not have, no sweep
// collection counted and never published, and no sweeper thread to join or
// detach; its exit runs what is pending, as in any process.
//
// The scenario runs in a child process (Sources/finalize-fixture,
// `fork-churn`; see ForkChurn.swift there), which itself forks the
// grandchildren and reports one summary line; only it touches
// `FinalizerRegistry.shared`. The multithreaded-parent case does not run
// under ThreadSanitizer (see `threadSanitizerReason`); debug and release
// runs cover both.

import FinalizeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Fork safety")
struct ForkSafetyTests {
    /// Why the test cannot run under ThreadSanitizer.
    static let threadSanitizerReason: Comment = """
        Not under ThreadSanitizer: there the Swift runtime's `swift_once` takes a per-token lock on every \
        call (so TSan sees its ordering), so a churn thread that is merely reading a lazily initialized \
        global or looking up generic metadata at the fork leaves that lock held, and the child hangs in \
        the runtime (seen: `once_slow` under `getCache` ← `_swift_getGenericMetadata`), outside Finalize; \
        TSan also refuses threads started after a multithreaded fork (`die_after_fork`).
        """

    /// Two threads churn host and watched registrations (with peeks,
    /// detaches, runNow and sweeps) on the shared registry while the main
    /// thread forks 200 children; each child registers a host and a watched
    /// finalizer and calls `exit(0)`. Every child ends within 2 s with status
    /// 0, and its exit ran its own finalizers, newest first.
    @Test(.disabled(if: runningUnderThreadSanitizer, threadSanitizerReason))
    func childrenForkedDuringChurnExitAndRunTheirFinalizers() throws {
        try expectEveryChildExits(churnThreads: 2)
    }

    /// The same with no other thread in the parent: the fork handlers take and
    /// release every lock, and each child starts a sweeper of its own for
    /// its watched owner, exits, and runs its finalizers.
    ///
    /// This one also runs under ThreadSanitizer: with no other thread at the
    /// fork, nothing holds a runtime lock, and the child's sweeper makes no
    /// runtime type lookups in its first steps (which could otherwise race
    /// the exiting main thread for TSan's metadata lock).
    @Test
    func childrenOfASingleThreadedParentExitAndRunTheirFinalizers() throws {
        try expectEveryChildExits(churnThreads: 0)
    }

    private func expectEveryChildExits(churnThreads: Int) throws {
        // A child has 2 s to exit; under ThreadSanitizer, whose runtime
        // makes a forked child start and exit several times slower (and more
        // so on a loaded machine), 20 s: a hang still fails, slowness not.
        let deadline = runningUnderThreadSanitizer ? 20 : 2
        let run = try runFixture(
            "fork-churn", arguments: ["200", "\(churnThreads)", "\(deadline)"], timeoutSeconds: 600)
        #expect(run.exitStatus == 0, "stderr: \(run.stderr)")
        let summary = try #require(
            run.stdoutLines.last(where: { $0.hasPrefix("fork-churn ") }), "no summary; stderr: \(run.stderr)")
        let counts = ForkChurnSummary(summary)
        #expect(counts["children"] == 200, "\(summary)")
        #expect(counts["hung"] == 0, "\(summary); \(run.stderr)")
        #expect(counts["exited"] == 200, "\(summary); \(run.stderr)")
        #expect(counts["failed"] == 0, "\(summary); \(run.stderr)")
        #expect(counts["missing"] == 0, "\(summary); \(run.stderr)")
    }
}

/// Whether this process runs under ThreadSanitizer (its runtime, linked into
/// the test binary, exports `__tsan_init`).
let runningUnderThreadSanitizer: Bool = {
    guard let handle = dlopen(nil, RTLD_LAZY) else { return false }
    defer { dlclose(handle) }
    return dlsym(handle, "__tsan_init") != nil
}()

/// `fork-churn children 200 exited 200 hung 0 failed 0 missing 0` as a
/// dictionary.
struct ForkChurnSummary {
    private var values: [String: Int] = [:]

    init(_ line: String) {
        let words = line.split(separator: " ").dropFirst().map(String.init)
        var index = 0
        while index + 1 < words.count {
            values[words[index]] = Int(words[index + 1])
            index += 2
        }
    }

    subscript(key: String) -> Int? { values[key] }
}
