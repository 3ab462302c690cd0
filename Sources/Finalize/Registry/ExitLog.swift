/// The pending host finalizers of one shard, for shutdown and diagnostics:
/// one word a finalizer, in fixed chunks, with freed slots reused.
///
/// A host finalizer needs no list of its own while it waits for its owner
/// (its owner's bag holds it), but `shutdown()` must find every pending one.
/// Registration writes the finalizer's address into a slot; the finalizer
/// keeps the slot's address (`Finalizer.home`) and gives the slot back when
/// it has run or been detached. That costs one word of memory and one store
/// each way, touches no other finalizer, and never moves a slot.
///
/// Chunks are 4 KiB, aligned to 4 KiB, so a slot's chunk, and through the
/// chunk's first word its shard, are found from the slot's address alone.
/// A free slot holds the next free slot's address with the low bit set; a
/// used one the finalizer's address (objects are 16-byte aligned). Every
/// member runs under the shard's lock.
struct ExitLog: ~Copyable {
    static var chunkBytes: Int { 4096 }
    /// Word 0: the shard (unretained: a shard outlives its log). Word 1: the
    /// next older chunk. The rest of the first 64 bytes is unused.
    static var headerBytes: Int { 64 }

    /// The newest chunk; the others follow through their word 1.
    private var newest: UnsafeMutableRawPointer?
    /// The next never-used slot of `newest`, and the end of `newest`.
    private var fresh: UnsafeMutableRawPointer?
    private var freshEnd: UnsafeMutableRawPointer?
    /// The most recently freed slot, or 0.
    private var freeHead: UInt = 0
    /// Slots in use: finalizers pending, or running and not yet settled.
    private(set) var live = 0
    /// The registry has ended while `live > 0`: the shard keeps a reference
    /// to itself until `live` reaches 0.
    private var orphaned = false

    init() {}

    deinit {
        var chunk = newest
        while let current = chunk {
            chunk = Self.olderChunk(current)
            current.deallocate()
        }
    }

    /// The shard whose log holds `slot`.
    @inline(__always)
    static func shard(ofSlot slot: UnsafeMutableRawPointer) -> Unmanaged<Shard> {
        let chunk = UnsafeRawPointer(bitPattern: UInt(bitPattern: slot) & ~UInt(chunkBytes - 1)).unsafelyUnwrapped
        return Unmanaged.fromOpaque(chunk.load(as: UnsafeRawPointer.self))
    }

    /// Gives `slot` back to its shard's log (takes the shard's lock).
    @inline(__always)
    static func release(_ slot: UnsafeMutableRawPointer) {
        shard(ofSlot: slot)._withUnsafeGuaranteedRef { $0.leaveHost(slot) }
    }

    /// Puts `finalizer` in a slot and returns the slot's address.
    @inline(__always)
    mutating func insert(_ finalizer: ErasedFinalizer, shard: Shard) -> UnsafeMutableRawPointer {
        let slot: UnsafeMutableRawPointer
        if freeHead != 0 {
            slot = UnsafeMutableRawPointer(bitPattern: freeHead).unsafelyUnwrapped
            internalCheck(slot.load(as: UInt.self) & 1 == 1, "exit log: a slot on the free list is in use")
            freeHead = slot.load(as: UInt.self) & ~1
        } else {
            if fresh == freshEnd { addChunk(shard) }
            slot = fresh.unsafelyUnwrapped
            fresh = slot + MemoryLayout<UInt>.stride
        }
        slot.storeBytes(of: UInt(bitPattern: Unmanaged.passUnretained(finalizer).toOpaque()), as: UInt.self)
        live += 1
        return slot
    }

    /// Frees `slot`; true if this ends an orphaned log's last slot (the
    /// caller then drops the shard's reference to itself).
    @inline(__always)
    mutating func remove(_ slot: UnsafeMutableRawPointer) -> Bool {
        internalCheck(live > 0, "exit log: a slot given back with no slot in use")
        internalCheck(slot.load(as: UInt.self) & 1 == 0, "exit log: a free slot given back")
        slot.storeBytes(of: freeHead | 1, as: UInt.self)
        freeHead = UInt(bitPattern: slot)
        live -= 1
        guard orphaned && live == 0 else { return false }
        orphaned = false
        return true
    }

    /// The registry is ending: true (and the log remembers it) if slots are
    /// still in use, so that the shard must keep itself alive.
    mutating func orphanIfLive() -> Bool {
        guard live > 0 else { return false }
        orphaned = true
        return true
    }

    /// Calls `body` with every finalizer in the log (each alive: see
    /// `Shard`), in no particular order (newest chunk first).
    func forEachFinalizer(_ body: (ErasedFinalizer) -> Void) {
        var used = 0
        defer { internalCheck(used == live, "exit log: \(used) slots in use, \(live) counted") }
        var chunk = newest
        while let current = chunk {
            used += forEachFinalizer(inChunk: current, body)
            chunk = Self.olderChunk(current)
        }
    }

    /// The same, oldest chunk first and each chunk in slot order: that is
    /// registration order until a freed slot is reused, so a snapshot taken
    /// this way usually needs no sort. (The chunks are linked newest first,
    /// so this walk first lists them.)
    func forEachFinalizerOldestFirst(_ body: (ErasedFinalizer) -> Void) {
        var used = 0
        defer { internalCheck(used == live, "exit log: \(used) slots in use, \(live) counted") }
        var chunks: [UnsafeMutableRawPointer] = []
        var chunk = newest
        while let current = chunk {
            chunks.append(current)
            chunk = Self.olderChunk(current)
        }
        for current in chunks.reversed() { used += forEachFinalizer(inChunk: current, body) }
    }

    /// Calls `body` with the finalizers of one chunk, in slot order;
    /// returns how many slots were in use.
    private func forEachFinalizer(inChunk chunk: UnsafeMutableRawPointer, _ body: (ErasedFinalizer) -> Void) -> Int {
        var used = 0
        let limit = chunk == newest ? fresh.unsafelyUnwrapped : chunk + Self.chunkBytes
        var slot = chunk + Self.headerBytes
        while slot < limit {
            let word = slot.load(as: UInt.self)
            if word & 1 == 0 {
                used += 1
                Unmanaged<ErasedFinalizer>.fromOpaque(UnsafeRawPointer(bitPattern: word).unsafelyUnwrapped)
                    ._withUnsafeGuaranteedRef(body)
            }
            slot += MemoryLayout<UInt>.stride
        }
        return used
    }

    /// The chunk linked after `chunk` (the next older one), if any.
    private static func olderChunk(_ chunk: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        chunk.load(fromByteOffset: 8, as: UnsafeMutableRawPointer?.self)
    }

    @inline(never)
    private mutating func addChunk(_ shard: Shard) {
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: Self.chunkBytes, alignment: Self.chunkBytes)
        chunk.storeBytes(of: Unmanaged.passUnretained(shard).toOpaque(), as: UnsafeMutableRawPointer.self)
        chunk.storeBytes(of: newest, toByteOffset: 8, as: UnsafeMutableRawPointer?.self)
        newest = chunk
        fresh = chunk + Self.headerBytes
        freshEnd = chunk + Self.chunkBytes
    }
}
