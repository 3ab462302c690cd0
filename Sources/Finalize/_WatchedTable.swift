/// A shard's watched entries: a growable buffer that moves entries instead
/// of copying them, so compaction and sweeps do no reference counting.
///
/// Entries stay in registration order (compaction is stable), which lets a
/// sweep hand its due entries over already ordered.
struct _WatchedTable: ~Copyable {
    private var base: UnsafeMutablePointer<_WatchedEntry>?
    private(set) var count = 0
    private var capacity = 0

    init() {}

    deinit {
        if let base {
            base.deinitialize(count: count)
            base.deallocate()
        }
    }

    mutating func append(_ entry: consuming _WatchedEntry) {
        if count == capacity { grow() }
        (base! + count).initialize(to: entry)
        count += 1
    }

    private mutating func grow() {
        let newCapacity = max(16, capacity * 2)
        let newBase = UnsafeMutablePointer<_WatchedEntry>.allocate(capacity: newCapacity)
        if let base {
            newBase.moveInitialize(from: base, count: count)
            base.deallocate()
        }
        base = newBase
        capacity = newCapacity
    }

    /// Calls `body` on each entry, in registration order.
    func forEach(_ body: (borrowing _WatchedEntry) -> Void) {
        guard let base else { return }
        for index in 0..<count { body(base[index]) }
    }

    /// Removes the entries for which `decide` says so, keeping the others in
    /// order. `.due` entries are appended to `due` (still holding their
    /// unowned count); `.drop` entries give their unowned count back here.
    mutating func remove(into due: inout [_WatchedEntry], _ decide: (borrowing _WatchedEntry) -> _Removal) {
        guard let base else { return }
        var kept = 0
        for index in 0..<count {
            let slot = base + index
            switch decide(slot.pointee) {
            case .keep:
                if kept != index { (base + kept).moveInitialize(from: slot, count: 1) }
                kept += 1
            case .due:
                due.append(slot.move())
            case .drop:
                let entry = slot.move()
                entry.owner.release()
            }
        }
        count = kept
        if capacity > 64 && count < capacity / 4 { shrink() }
    }

    /// Empties the table, handing every entry to the caller.
    mutating func removeAll() -> [_WatchedEntry] {
        guard let base else { return [] }
        let entries = Array(UnsafeBufferPointer(start: base, count: count))
        base.deinitialize(count: count)
        count = 0
        return entries
    }

    private mutating func shrink() {
        let newCapacity = max(16, count * 2)
        let newBase = UnsafeMutablePointer<_WatchedEntry>.allocate(capacity: newCapacity)
        newBase.moveInitialize(from: base!, count: count)
        base!.deallocate()
        base = newBase
        capacity = newCapacity
    }
}

enum _Removal {
    case keep, due, drop
}
