import Synchronization

/// Remembers, per class, whether its instances are ``FinalizerHost``s.
///
/// The `AnyObject` overloads of `finalize` must find out at run time whether
/// the owner is a host. Swift's `as? any FinalizerHost` costs a conformance
/// lookup (a hash-table probe) every time; this direct-mapped cache answers
/// "not a host" for the common classes with one atomic load. Each slot packs
/// a class's metadata address (aligned, so its low bits are free) with two
/// flags. Lock-free and racy by design: every word ever stored is a complete
/// and correct answer, and a collision merely falls back to the real cast.
enum _HostTypeCache {
    private static let knownBit: UInt = 1
    private static let hostBit: UInt = 2
    private static let slotCount = 256
    private static let slots = _AtomicWords(count: slotCount)

    /// The owner's bag if it is a ``FinalizerHost``, else nil.
    @inline(__always)
    static func bag(of owner: AnyObject) -> FinalizerBag? {
        let type = UInt(bitPattern: ObjectIdentifier(type(of: owner)))
        let index = Int(truncatingIfNeeded: (type >> 4) ^ (type >> 12)) & (slotCount - 1)
        let word = slots.load(index)
        if word & knownBit != 0 && word & ~(knownBit | hostBit) == type {
            return word & hostBit == 0 ? nil : (owner as? any FinalizerHost)?.finalizers
        }
        let host = owner as? any FinalizerHost
        slots.store(index, type | knownBit | (host == nil ? 0 : hostBit))
        return host?.finalizers
    }
}

/// A fixed array of atomic words, allocated once and never freed (it
/// belongs to a static).
final class _AtomicWords: Sendable {
    private let base: _WordPointer

    init(count: Int) {
        let pointer = UnsafeMutablePointer<Atomic<UInt>>.allocate(capacity: count)
        for index in 0..<count {
            (pointer + index).initialize(to: Atomic(0))
        }
        base = _WordPointer(pointer)
    }

    @inline(__always)
    func load(_ index: Int) -> UInt {
        base.pointer[index].load(ordering: .relaxed)
    }

    @inline(__always)
    func store(_ index: Int, _ value: UInt) {
        base.pointer[index].store(value, ordering: .relaxed)
    }
}

private struct _WordPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Atomic<UInt>>
    init(_ pointer: UnsafeMutablePointer<Atomic<UInt>>) { self.pointer = pointer }
}
