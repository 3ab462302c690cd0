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

    @Test func numbersAreHandedOutInTheOrderThreadsFirstAsk() {
        // What spreads threads: a thread that asks after another has its
        // number gets a larger one (other tests' threads may take numbers in
        // between, so only the order is certain).
        let first = Locked<Int?>(nil)
        let second = Locked<Int?>(nil)
        onNewThread { first.set(threadNumber()) }
        onNewThread { second.set(threadNumber()) }
        let earlier = first.value ?? -1
        let later = second.value ?? -1
        #expect(earlier >= 0)
        #expect(later > earlier)
    }
}
