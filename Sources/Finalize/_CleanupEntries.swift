/// The entries of one cleanup stack, oldest first: a growable buffer that
/// both ``CleanupStack`` and ``AsyncCleanupStack`` use.
///
/// Hand-rolled rather than an `Array` because `defer` + `close` is the hot
/// path: a stack is never shared, so the copy-on-write uniqueness checks an
/// array makes on every append and every pop buy nothing here. Non-copyable,
/// so the buffer has exactly one owner and is freed exactly once.
@usableFromInline
struct _CleanupEntries<Entry>: ~Copyable {
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

    /// A copy of the newest entry, if any.
    var last: Entry? {
        guard count > 0, let base else { return nil }
        return base[count - 1]
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
    mutating func takeAll() -> _CleanupEntries<Entry> {
        let taken = _CleanupEntries(base: base, count: count, capacity: capacity)
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

    @usableFromInline @inline(never)
    mutating func grow() {
        let newCapacity = Swift.max(8, capacity * 2)
        let newBase = UnsafeMutablePointer<Entry>.allocate(capacity: newCapacity)
        if let base {
            newBase.moveInitialize(from: base, count: count)
            base.deallocate()
        }
        base = newBase
        capacity = newCapacity
    }
}
