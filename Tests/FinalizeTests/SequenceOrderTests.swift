// Registration order: the snapshots that shutdown, `pending` and a bag's
// `runAll()` take are put in registration order by `sortBySequence`, which
// checks for order first and otherwise sorts keys and permutes the items in
// place; a shard's snapshot comes in ordered runs (its exit log, its
// watched tables) cut at the shutdown's horizon.

import FinalizeTestSupport
import Testing

@testable import Finalize

@Suite("Ordering by registration sequence")
struct SequenceOrderTests {
    /// An item with a sequence number and an identity of its own, so that
    /// a lost, duplicated or misplaced item shows.
    final class Item {
        let sequence: UInt64
        init(_ sequence: UInt64) { self.sequence = sequence }
    }

    /// Sorts `sequences` as items and checks the order, the identities and
    /// that every item is held exactly once afterwards (no retain gained or
    /// lost by the permutation).
    private func expectSorted(_ sequences: [UInt64], sourceLocation: SourceLocation = #_sourceLocation) {
        var sorted = sequences.map(Item.init)
        let identities = Set(sorted.map(ObjectIdentifier.init))
        sortBySequence(&sorted) { $0.sequence }
        #expect(sorted.map(\.sequence) == sequences.sorted(), sourceLocation: sourceLocation)
        #expect(Set(sorted.map(ObjectIdentifier.init)) == identities, sourceLocation: sourceLocation)
        #expect(sorted.count == sequences.count, sourceLocation: sourceLocation)
        for index in sorted.indices {
            #expect(isKnownUniquelyReferenced(&sorted[index]), "item \(index)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [
        [UInt64](),
        [7],
        [1, 2, 3, 4, 5],
        [5, 4, 3, 2, 1],
        [1, 3, 5, 7, 2, 4, 6, 8],  // two ordered runs, as two shards give
        [10, 11, 12, 1, 2, 3, 20, 21, 4],
        [3, 1, 2],
        [2, 3, 1],
    ])
    func sortsInPlaceKeepingEveryItem(sequences: [UInt64]) {
        expectSorted(sequences)
    }

    /// Every permutation of up to 6 items, and larger inputs scrambled by
    /// a fixed rule (`i * 7919 mod count`, a permutation since 7919 is a
    /// prime that divides none of the counts), so a failure reproduces.
    @Test func sortsEveryPermutationAndScrambledInputs() {
        for count in 0...6 {
            forEachPermutation(of: Array(0..<UInt64(count))) { expectSorted($0) }
        }
        for count in [17, 100, 1_000] as [UInt64] {
            expectSorted((0..<count).map { $0 * 7919 % count })
        }
    }

    @Test func newestFirstReversesTheOrder() {
        let items = [4, 1, 3, 2].map { Item(UInt64($0)) }
        #expect(orderedBySequence(items, newestFirst: true) { $0.sequence }.map(\.sequence) == [4, 3, 2, 1])
        #expect(orderedBySequence(items, newestFirst: false) { $0.sequence }.map(\.sequence) == [1, 2, 3, 4])
    }

    /// A shard's snapshot: its host finalizers in exit-log order, then its
    /// watched ones, old table before young cohorts, each in registration
    /// order, cut at the horizon; the registry's snapshot is the same set
    /// sorted.
    @Test func aShardsSnapshotComesInOrderedRunsCutAtTheHorizon() throws {
        let registry = FinalizerRegistry(sweepInterval: nil)
        var hosts: [Host] = []
        var plains: [Plain] = []
        var sequences: [UInt64] = []
        for round in 0..<1_200 {
            let host = Host()
            let plain = Plain()
            sequences.append(registry.finalize(host) {}.sequenceForTests)
            sequences.append(registry.finalize(plain) {}.sequenceForTests)
            hosts.append(host)
            plains.append(plain)
            // Move the oldest young cohort to the old table now and then.
            if round % 150 == 149 { registry._core.shards.forEachShard { $0.promote() } }
        }
        let horizon = sequences[sequences.count / 2]
        var perShard: [[UInt64]] = []
        registry._core.shards.forEachShard { shard in
            var snapshot: [ErasedFinalizer] = []
            shard.appendPendingFinalizers(exitOnly: false, upTo: horizon, to: &snapshot)
            perShard.append(snapshot.map(\.sequence))
        }
        for (index, shard) in perShard.enumerated() {
            #expect(shard.allSatisfy { $0 <= horizon }, "shard \(index)")
            // At most two ordered runs: the exit log, then the watched tables.
            let descents = zip(shard, shard.dropFirst()).filter { $0 > $1 }.count
            #expect(descents <= 1, "shard \(index): \(shard)")
        }
        let expected = sequences.filter { $0 <= horizon }.sorted()
        #expect(perShard.joined().sorted() == expected)
        let core = registry._core.pendingFinalizers(exitOnly: false, upTo: horizon).map(\.sequence)
        #expect(core == expected)
        withExtendedLifetime((hosts, plains)) {}
    }
}

/// Calls `body` with every ordering of `items` (Heap's algorithm).
private func forEachPermutation(of items: [UInt64], _ body: ([UInt64]) -> Void) {
    var items = items
    var counters = [Int](repeating: 0, count: items.count)
    body(items)
    var index = 1
    while index < items.count {
        if counters[index] < index {
            items.swapAt(index % 2 == 0 ? 0 : counters[index], index)
            body(items)
            counters[index] += 1
            index = 1
        } else {
            counters[index] = 0
            index += 1
        }
    }
}

extension Finalizer {
    /// The registration number (tests only).
    fileprivate var sequenceForTests: UInt64 { sequence }
}
