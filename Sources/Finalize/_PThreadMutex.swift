#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain pthread mutex, for the registry's shard locks.
///
/// Why not `Synchronization.Mutex`: on Linux its contended path waits in
/// the precompiled standard library, which ThreadSanitizer does not
/// instrument, so TSan misses the ordering the lock provides and reports
/// races on the data it guards (a two-thread `withLock { array.append }`
/// loop is enough to show it). A pthread mutex is intercepted by TSan and
/// costs the same uncontended. Allocated once, so its address is stable.
struct _PThreadMutex: @unchecked Sendable {
    private let pointer: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: pthread_mutex_t())
        pthread_mutex_init(pointer, nil)
    }

    @inline(__always)
    func lock() {
        pthread_mutex_lock(pointer)
    }

    @inline(__always)
    func unlock() {
        pthread_mutex_unlock(pointer)
    }

    /// Destroys and frees the mutex; call once, when no thread can use it.
    func destroy() {
        pthread_mutex_destroy(pointer)
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}
