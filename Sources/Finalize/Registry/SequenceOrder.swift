/// Orders finalizers (or entries holding them) by registration sequence.
///
/// The usual input is already in order (one shard, one kind of owner) or a
/// few ordered runs (a shard's host and watched finalizers, several
/// shards): the check for order comes first and allocates nothing. When a
/// sort is needed, the keys are read once into a side array and sorted
/// there (the standard library's sort merges existing runs), then the items
/// are permuted in place: no item is copied, so references are neither
/// retained nor released.
@inline(__always)
func orderedBySequence<Item>(
    _ items: consuming [Item], newestFirst: Bool, _ sequence: (Item) -> UInt64
) -> [Item] {
    var items = items
    sortBySequence(&items, sequence)
    if newestFirst { items.reverse() }
    return items
}

/// Sorts `items` by registration sequence, oldest first, in place.
@inline(__always)
func sortBySequence<Item>(_ items: inout [Item], _ sequence: (Item) -> UInt64) {
    guard items.count > 1 else { return }
    // The usual case, checked without allocating: already in order.
    if isOrderedBySequence(items, sequence) { return }
    var keys = items.indices.map { (sequence: sequence(items[$0]), index: $0) }
    keys.sort { $0.sequence < $1.sequence }
    permute(&items, takingFrom: keys.map(\.index))
}

/// Whether `items` are in registration order, oldest first.
@inline(__always)
func isOrderedBySequence<Item>(_ items: [Item], _ sequence: (Item) -> UInt64) -> Bool {
    var previous: UInt64 = 0
    for item in items {
        let key = sequence(item)
        if key < previous { return false }
        previous = key
    }
    return true
}

/// Rearranges `items` so that position `i` holds what was at `source[i]`,
/// by swapping along each cycle of the permutation.
private func permute<Item>(_ items: inout [Item], takingFrom source: consuming [Int]) {
    var source = source
    items.withUnsafeMutableBufferPointer { items in
        source.withUnsafeMutableBufferPointer { source in
            for start in items.indices {
                var current = start
                while source[current] != start {
                    let next = source[current]
                    items.swapAt(current, next)
                    source[current] = current
                    current = next
                }
                source[current] = current
            }
        }
    }
}
