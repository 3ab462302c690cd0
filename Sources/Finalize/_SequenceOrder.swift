/// Orders finalizers (or entries holding them) by registration sequence.
///
/// Reads each key once, so sorting never copies the items (no reference
/// counting per comparison), and skips the sort when the input is already
/// in order, which is the usual case: each shard keeps its entries in
/// registration order.
@inline(__always)
func _orderedBySequence<Item>(
    _ items: [Item], newestFirst: Bool, _ sequence: (Item) -> UInt64
) -> [Item] {
    guard items.count > 1 else { return items }
    var keys: [(sequence: UInt64, index: Int)] = []
    keys.reserveCapacity(items.count)
    var ascending = true
    var previous: UInt64 = 0
    for index in items.indices {
        let key = sequence(items[index])
        if key < previous { ascending = false }
        previous = key
        keys.append((key, index))
    }
    if ascending {
        return newestFirst ? items.reversed() : items
    }
    if newestFirst {
        keys.sort { $0.sequence > $1.sequence }
    } else {
        keys.sort { $0.sequence < $1.sequence }
    }
    return keys.map { items[$0.index] }
}
