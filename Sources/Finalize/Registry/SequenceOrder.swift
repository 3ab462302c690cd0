/// Orders finalizers (or entries holding them) by registration sequence.
///
/// Sorts by keys read once into a side array, so sorting never copies the
/// items (no reference counting per comparison), and first checks, without
/// allocating, whether the input is already in order, which is the usual
/// case: each shard keeps its entries in registration order.
@inline(__always)
func orderedBySequence<Item>(
    _ items: [Item], newestFirst: Bool, _ sequence: (Item) -> UInt64
) -> [Item] {
    guard items.count > 1 else { return items }
    // The usual case, checked without allocating: already in order.
    var previous: UInt64 = 0
    var ascending = true
    for index in items.indices {
        let key = sequence(items[index])
        if key < previous {
            ascending = false
            break
        }
        previous = key
    }
    if ascending {
        return newestFirst ? items.reversed() : items
    }
    let keys = items.indices.map { (sequence: sequence(items[$0]), index: $0) }
    let sorted = newestFirst ? keys.sorted { $0.sequence > $1.sequence } : keys.sorted { $0.sequence < $1.sequence }
    return sorted.map { items[$0.index] }
}
