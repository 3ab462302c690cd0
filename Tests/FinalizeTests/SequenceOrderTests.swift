// Registration order: the snapshots that shutdown, `pending` and a bag's
// `runAll()` take are put in registration order by `sortBySequence`, which
// checks for order first and otherwise sorts keys and permutes the items in
// place.

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
        let items = sequences.map(Item.init)
        var sorted = items
        sortBySequence(&sorted) { $0.sequence }
        #expect(sorted.map(\.sequence) == sequences.sorted())
        #expect(Set(sorted.map(ObjectIdentifier.init)) == Set(items.map(ObjectIdentifier.init)))
        #expect(sorted.count == items.count)
    }

    @Test func sortsShuffledInputs() {
        var generator = SystemRandomNumberGenerator()
        for count in [2, 3, 17, 1_000] {
            let items = (0..<UInt64(count)).map(Item.init).shuffled(using: &generator)
            var sorted = items
            sortBySequence(&sorted) { $0.sequence }
            #expect(sorted.map(\.sequence) == Array(0..<UInt64(count)))
            #expect(Set(sorted.map(ObjectIdentifier.init)) == Set(items.map(ObjectIdentifier.init)))
        }
    }

    @Test func newestFirstReversesTheOrder() {
        let items = [4, 1, 3, 2].map { Item(UInt64($0)) }
        #expect(orderedBySequence(items, newestFirst: true) { $0.sequence }.map(\.sequence) == [4, 3, 2, 1])
        #expect(orderedBySequence(items, newestFirst: false) { $0.sequence }.map(\.sequence) == [1, 2, 3, 4])
    }
}
