/// A registry's shards: a fixed table that registration reads without
/// reference counting.
///
/// The one place the shards are listed. The table holds one reference to
/// each shard on behalf of the public ``FinalizerRegistry`` (a shard owns
/// its core, so the core cannot own its shards without a cycle); the
/// registry gives them back (`releaseShards()`) when it ends, after which
/// the table is not read again.
struct ShardTable: RandomAccessCollection, @unchecked Sendable {
    private let base: UnsafeMutablePointer<Unmanaged<Shard>>
    let count: Int

    init(count: Int) {
        self.count = count
        // Read by every registration: cache-line aligned and padded, so no
        // other allocation (a shard's lock, say) shares its line.
        base = UnsafeMutableRawPointer.allocate(
            byteCount: Swift.max(count * MemoryLayout<Unmanaged<Shard>>.stride, cacheLineSize),
            alignment: cacheLineSize
        ).bindMemory(to: Unmanaged<Shard>.self, capacity: count)
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    /// Shard `index`, as a strong reference.
    subscript(index: Int) -> Shard {
        base[index].takeUnretainedValue()
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
