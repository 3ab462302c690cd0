/// A registry's shards: a fixed table that registration reads without
/// reference counting.
///
/// The one place the shards are listed. The table holds one reference to
/// each shard on behalf of the public ``FinalizerRegistry`` (a shard owns
/// its core, so the core cannot own its shards without a cycle); the
/// registry gives them back (`releaseShards()`) when it ends (or its
/// sweeper thread does, when the registry ends inside one of its sweeps),
/// after which the table is not read again.
///
/// Deliberately not a `Collection`: its loops are plain loops, so that
/// walking the shards (which the sweeper thread does first thing, also in
/// a forked child while the main thread exits) never makes the Swift runtime
/// look up a generic collection's metadata, which an unoptimized build does
/// at run time and which, under ThreadSanitizer, can wait forever on a lock
/// in a forked child.
struct ShardTable: @unchecked Sendable {
    private let base: UnsafeMutablePointer<Unmanaged<Shard>>
    let count: Int

    init(count: Int) {
        self.count = count
        // Read by every registration: cache-line aligned and padded, so no
        // other allocation (a shard's lock, say) shares its line.
        base = UnsafeMutableRawPointer.allocate(
            byteCount: max(count * MemoryLayout<Unmanaged<Shard>>.stride, cacheLineSize),
            alignment: cacheLineSize
        ).bindMemory(to: Unmanaged<Shard>.self, capacity: count)
    }

    /// Shard `index`, as a strong reference.
    subscript(index: Int) -> Shard {
        base[index].takeUnretainedValue()
    }

    /// Calls `body` with each shard, first to last.
    func forEachShard(_ body: (Shard) -> Void) {
        var index = 0
        while index < count {
            base[index]._withUnsafeGuaranteedRef(body)
            index += 1
        }
    }

    /// Calls `body` with each shard, last to first.
    func forEachShardReversed(_ body: (Shard) -> Void) {
        var index = count
        while index > 0 {
            index -= 1
            base[index]._withUnsafeGuaranteedRef(body)
        }
    }

    /// Whether `predicate` holds for some shard.
    func contains(where predicate: (Shard) -> Bool) -> Bool {
        var index = 0
        while index < count {
            if base[index]._withUnsafeGuaranteedRef(predicate) { return true }
            index += 1
        }
        return false
    }

    /// The sum of `value` over the shards.
    func sum(of value: (Shard) -> Int) -> Int {
        var total = 0
        forEachShard { total += value($0) }
        return total
    }

    /// The shards, as an array (for the paths that keep a list of them).
    var all: [Shard] {
        var shards: [Shard] = []
        shards.reserveCapacity(count)
        forEachShard { shards.append($0) }
        return shards
    }

    /// Fills slot `index` with a reference to `shard`, once, before the
    /// core is shared.
    func fill(_ index: Int, with shard: Shard) {
        (base + index).initialize(to: Unmanaged.passRetained(shard))
    }

    /// Runs `body` with shard `index`, without reference counting.
    @inline(__always)
    func withShard<Result>(_ index: Int, _ body: (Shard) -> Result) -> Result {
        base[index]._withUnsafeGuaranteedRef(body)
    }

    /// Shard `index`, unretained.
    @inline(__always)
    func unmanagedShard(_ index: Int) -> Unmanaged<Shard> {
        base[index]
    }

    /// The registry has ended: gives its references to the shards back
    /// (a shard whose host finalizers are still pending keeps itself).
    func releaseShards() {
        for index in 0..<count { base[index].release() }
    }

    /// Frees the table (the core is being deinitialized).
    func deallocate() {
        base.deallocate()
    }
}
