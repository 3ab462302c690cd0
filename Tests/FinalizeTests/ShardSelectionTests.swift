// Which shard a registration goes to: the processor the thread runs on where
// the system says (Linux), otherwise the thread's own number. That number is
// what Darwin uses for every registration, so it is checked here on Linux
// too: threads that register at once must not all meet on one shard's lock.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("Threads spread over the shards")
struct ShardSelectionTests {
    @Test func aThreadKeepsItsNumber() {
        onThreads(4) { _ in
            let first = threadNumber()
            for _ in 0..<100 { #expect(threadNumber() == first) }
        }
    }

    @Test func threadsGetDistinctNumbers() {
        let count = 8
        let numbers = Locked<[Int]>([])
        onThreads(count) { _ in
            let number = threadNumber()
            numbers.withLock { $0.append(number) }
        }
        let seen = numbers.value
        #expect(seen.count == count)
        #expect(Set(seen).count == count, "numbers given: \(seen)")
    }

    @Test func theProcessorNumberIsAValidShardIndexSource() {
        // Whatever the platform gives, it is a non-negative number: the
        // registry masks it into its shard table.
        onThreads(4) { _ in #expect(currentProcessor() >= 0) }
    }
}
