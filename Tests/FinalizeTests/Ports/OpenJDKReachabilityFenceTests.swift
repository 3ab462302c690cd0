// A port of OpenJDK's `test/jdk/java/lang/ref/ReachabilityFenceTest.java`,
// the positive half of `fenced()`: an object kept reachable (Java's
// `Reference.reachabilityFence`, Swift's `withExtendedLifetime`) is not
// cleaned before the fence, and is cleaned once it is gone.

import FinalizeTestSupport
import Synchronization
import Testing

@testable import Finalize

@Suite("OpenJDK ReachabilityFenceTest")
struct OpenJDKReachabilityFenceTests {
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
}
