import Synchronization

/// Remembers, per class, whether its instances are ``FinalizerHost``s, and
/// how to reach their bag.
///
/// The `AnyObject` overloads of `finalize` must find out at run time whether
/// the owner is a host. Swift's `as? any FinalizerHost` costs a conformance
/// lookup (a hash-table probe) every time; this direct-mapped cache answers
/// with one atomic load and a compare:
/// - a class that is not a host: its metadata address (aligned, so its low
///   bits are free) with `knownBit`;
/// - a host class: the address of its `HostAccessor` with `knownBit` and
///   `hostBit`; the accessor, made once per class by opening the
///   existential, reaches the bag through a generic specialization for that
///   class, without any conformance lookup.
/// Lock-free and racy by design: every word ever stored is a complete and
/// correct answer, and a collision merely falls back to the real cast.
/// Accessors are never freed (one per host class, at most).
enum HostTypeCache {
    private static let knownBit: UInt = 1
    private static let hostBit: UInt = 2
    private static let slotCount = 256
    private static let slots = AtomicWords(count: slotCount)

    /// The accessor of the owner's class if it is a ``FinalizerHost``, else
    /// nil.
    @inline(__always)
    static func accessor(for owner: AnyObject) -> HostAccessor? {
        let type = ObjectIdentifier(Swift.type(of: owner))
        let bits = UInt(bitPattern: type)
        let index = Int(truncatingIfNeeded: (bits >> 4) ^ (bits >> 12)) & (slotCount - 1)
        let word = slots.load(index)
        if word & knownBit != 0 {
            if word & hostBit == 0 {
                if word & ~knownBit == bits { return nil }
            } else {
                let accessor = Unmanaged<HostAccessor>.fromOpaque(
                    UnsafeRawPointer(bitPattern: word & ~(knownBit | hostBit)).unsafelyUnwrapped
                ).takeUnretainedValue()
                if accessor.type == type { return accessor }
            }
        }
        return learn(owner, type: type, index: index)
    }

    @inline(never)
    private static func learn(_ owner: AnyObject, type: ObjectIdentifier, index: Int) -> HostAccessor? {
        guard let host = owner as? any FinalizerHost else {
            slots.store(index, UInt(bitPattern: type) | knownBit)
            return nil
        }
        let accessor = makeAccessor(host)
        // Immortal: a slot may be overwritten while another thread still
        // uses the accessor it read.
        let address = UInt(bitPattern: Unmanaged.passRetained(accessor).toOpaque())
        slots.store(index, address | knownBit | hostBit)
        return accessor
    }

    private static func makeAccessor<Host: FinalizerHost>(_ host: Host) -> HostAccessor {
        TypedHostAccessor<Host>()
    }
}

/// Reaches the bag of one host class's instances.
class HostAccessor: @unchecked Sendable {
    /// The exact class served.
    let type: ObjectIdentifier

    init(type: ObjectIdentifier) { self.type = type }

    /// Adds `finalizer` (one strong reference, taken over) to the bag of
    /// `owner`, an instance of `type`.
    func add(_ finalizer: Unmanaged<ErasedFinalizer>, toBagOf owner: AnyObject) {}
}

final class TypedHostAccessor<Host: FinalizerHost>: HostAccessor, @unchecked Sendable {
    init() { super.init(type: ObjectIdentifier(Host.self)) }

    override func add(_ finalizer: Unmanaged<ErasedFinalizer>, toBagOf owner: AnyObject) {
        unsafeDowncast(owner, to: Host.self).finalizers.add(finalizer)
    }
}

/// A fixed array of atomic words, allocated once and never freed (it
/// belongs to a static).
final class AtomicWords: Sendable {
    private let base: WordPointer

    init(count: Int) {
        let pointer = UnsafeMutablePointer<Atomic<UInt>>.allocate(capacity: count)
        for index in 0..<count {
            (pointer + index).initialize(to: Atomic(0))
        }
        base = WordPointer(pointer)
    }

    @inline(__always)
    func load(_ index: Int) -> UInt {
        base.pointer[index].load(ordering: .acquiring)
    }

    @inline(__always)
    func store(_ index: Int, _ value: UInt) {
        base.pointer[index].store(value, ordering: .releasing)
    }
}

private struct WordPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Atomic<UInt>>
    init(_ pointer: UnsafeMutablePointer<Atomic<UInt>>) { self.pointer = pointer }
}
