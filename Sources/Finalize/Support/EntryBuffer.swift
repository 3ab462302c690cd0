/// A growable buffer that moves its entries instead of copying them: the
/// entries of a cleanup stack (``CleanupStack``, ``AsyncCleanupStack``) and
/// a registry shard's watched table.
///
/// Hand-rolled rather than an `Array` because `defer` + `close` and the
/// watched table's compaction are hot paths: the buffer is never shared, so
/// the copy-on-write uniqueness checks an array makes on every append and
/// every pop buy nothing, and compaction moves entries where an array would
/// copy them (with reference counting). Non-copyable, so the buffer has
/// exactly one owner and is freed exactly once.
@usableFromInline
struct _EntryBuffer<Entry: ~Copyable>: ~Copyable {
    @usableFromInline var base: UnsafeMutablePointer<Entry>?
    @usableFromInline var count: Int
    @usableFromInline var capacity: Int

    /// Capacity kept for reuse after the stack unwinds; larger buffers are
    /// freed so a stack that once held many entries does not keep them.
    private static var retainedCapacity: Int { 64 }

    @inlinable
    init() {
        base = nil
        count = 0
        capacity = 0
    }

    private init(base: UnsafeMutablePointer<Entry>?, count: Int, capacity: Int) {
        self.base = base
        self.count = count
        self.capacity = capacity
    }

    @inlinable
    deinit {
        if let base {
            base.deinitialize(count: count)
            base.deallocate()
        }
    }

    var isEmpty: Bool {
        count == 0
    }

    /// `body`'s answer about the newest entry, or nil if there is none.
    func withLast<Result>(_ body: (borrowing Entry) -> Result) -> Result? {
        guard count > 0, let base else { return nil }
        return body(base[count - 1])
    }

    @inlinable @inline(__always)
    mutating func append(_ entry: consuming Entry) {
        if count == capacity { grow() }
        (base.unsafelyUnwrapped + count).initialize(to: entry)
        count += 1
    }

    /// Removes and returns the newest entry.
    @inline(__always)
    mutating func popLast() -> Entry? {
        guard count > 0 else { return nil }
        count -= 1
        return (base.unsafelyUnwrapped + count).move()
    }

    /// Hands every entry over, in order, leaving this empty.
    mutating func takeAll() -> _EntryBuffer<Entry> {
        let taken = _EntryBuffer(base: base, count: count, capacity: capacity)
        base = nil
        count = 0
        capacity = 0
        return taken
    }

    /// Frees a large buffer once empty; small ones stay for reuse.
    mutating func shrinkIfEmpty() {
        guard count == 0, capacity > Self.retainedCapacity, let base else { return }
        base.deallocate()
        self.base = nil
        capacity = 0
    }

    /// `body`'s answer about the entry at `index` (oldest is 0), which
    /// must exist.
    func withEntry<Result>(at index: Int, _ body: (borrowing Entry) -> Result) -> Result {
        precondition(index >= 0 && index < count, "entry \(index) of \(count)")
        return body(base.unsafelyUnwrapped[index])
    }

    /// Calls `body` on each entry, oldest first.
    func forEachFromOldest(_ body: (borrowing Entry) -> Void) {
        guard let base else { return }
        for index in 0..<count { body(base[index]) }
    }

    /// Removes the entries `keep` rejects, keeping the others in order, and
    /// hands each removed one to `removed`. Moves, never copies; frees most
    /// of the buffer when it ends up mostly empty.
    mutating func removeAll(
        keeping keep: (borrowing Entry) -> Bool, removed: (consuming Entry) -> Void,
        lookingAhead lookAhead: (borrowing Entry) -> Void = { _ in }
    ) {
        guard let base else { return }
        var kept = 0
        let distance = 8
        for index in 0..<Swift.min(distance, count) { lookAhead(base[index]) }
        for index in 0..<count {
            if index + distance < count { lookAhead(base[index + distance]) }
            let slot = base + index
            if keep(slot.pointee) {
                if kept != index { (base + kept).moveInitialize(from: slot, count: 1) }
                kept += 1
            } else {
                removed(slot.move())
            }
        }
        count = kept
        if capacity > 64 && count < capacity / 4 { resize(to: Swift.max(16, count * 2)) }
    }

    /// Moves every entry of `other` to the end of this buffer, keeping
    /// their order; `other` is left empty.
    mutating func appendAll(from other: inout _EntryBuffer<Entry>) {
        guard other.count > 0, let source = other.base else { return }
        if count == 0 && capacity < other.count {
            // Take the other buffer's storage as it is.
            swap(&self, &other)
            return
        }
        if count + other.count > capacity { resize(to: Swift.max(count + other.count, capacity * 2)) }
        (base.unsafelyUnwrapped + count).moveInitialize(from: source, count: other.count)
        count += other.count
        other.count = 0
    }

    private mutating func resize(to newCapacity: Int) {
        let newBase = UnsafeMutablePointer<Entry>.allocate(capacity: newCapacity)
        if let base {
            newBase.moveInitialize(from: base, count: count)
            base.deallocate()
        }
        base = newBase
        capacity = newCapacity
    }

    @usableFromInline @inline(never)
    mutating func grow() {
        resize(to: Swift.max(8, capacity * 2))
    }
}

extension _EntryBuffer where Entry: Copyable {
    /// Empties the buffer and frees its storage, handing every entry to the
    /// caller, oldest first.
    mutating func removeAll() -> [Entry] {
        guard let base else { return [] }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for index in 0..<count { entries.append((base + index).move()) }
        base.deallocate()
        self.base = nil
        count = 0
        capacity = 0
        return entries
    }
}
