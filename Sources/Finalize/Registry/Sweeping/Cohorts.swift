/// The young watched entries of one shard, in cohorts by registration time
/// (see `Sweeper.Pacer`): a ring of `count` buffers, the newest receiving
/// registrations; a promotion hands the oldest cohort over and starts a new
/// one.
struct Cohorts<Entry>: ~Copyable {
    private let buffers: UnsafeMutablePointer<_EntryBuffer<Entry>>
    let cohortCount: Int
    /// The cohort receiving registrations.
    private var newest = 0

    init(count: Int) {
        cohortCount = Swift.max(count, 1)
        buffers = .allocate(capacity: cohortCount)
        for index in 0..<cohortCount { (buffers + index).initialize(to: _EntryBuffer()) }
    }

    deinit {
        buffers.deinitialize(count: cohortCount)
        buffers.deallocate()
    }

    /// Entries in all cohorts.
    var count: Int {
        (0..<cohortCount).reduce(0) { $0 + buffers[$1].count }
    }

    /// Allocated capacity, in entries.
    var capacity: Int {
        (0..<cohortCount).reduce(0) { $0 + buffers[$1].capacity }
    }

    @inline(__always)
    mutating func append(_ entry: consuming Entry) {
        buffers[newest].append(entry)
    }

    /// The index of the cohort `age` steps younger than the oldest (0 is
    /// the oldest, `cohortCount - 1` the newest): the one place that knows
    /// how the ring is ordered.
    @inline(__always)
    private func cohortIndex(fromOldest age: Int) -> Int {
        (newest + 1 + age) % cohortCount
    }

    /// Runs `body` on each cohort's buffer, oldest cohort first.
    mutating func forEachCohortFromOldest(_ body: (inout _EntryBuffer<Entry>) -> Void) {
        for age in 0..<cohortCount { body(&buffers[cohortIndex(fromOldest: age)]) }
    }

    /// Calls `body` with every entry, oldest cohort first, each cohort
    /// oldest entry first: registration order.
    func forEachFromOldest(_ body: (borrowing Entry) -> Void) {
        for age in 0..<cohortCount { buffers[cohortIndex(fromOldest: age)].forEachFromOldest(body) }
    }

    /// `body`'s answer about the entry at `index` in registration order
    /// (see `forEachFromOldest`), which must exist.
    func withEntry<Result>(at index: Int, _ body: (borrowing Entry) -> Result) -> Result {
        var index = index
        for age in 0..<cohortCount {
            let buffer = cohortIndex(fromOldest: age)
            if index < buffers[buffer].count { return buffers[buffer].withEntry(at: index, body) }
            index -= buffers[buffer].count
        }
        preconditionFailure("entry past the young cohorts")
    }

    /// Moves the oldest cohort's entries to the end of `old`; that cohort
    /// becomes the newest, empty.
    mutating func promote(into old: inout _EntryBuffer<Entry>) {
        let oldest = cohortIndex(fromOldest: 0)
        old.appendAll(from: &buffers[oldest])
        buffers[oldest].shrinkIfEmpty()
        newest = oldest
    }

    /// Every entry, the cohorts emptied.
    mutating func removeAll() -> [Entry] {
        var entries: [Entry] = []
        for index in 0..<cohortCount { entries.append(contentsOf: buffers[index].removeAll()) }
        return entries
    }
}
