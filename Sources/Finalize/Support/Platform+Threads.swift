#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX thread: the registry's sweeper and the signal watcher (and, being
/// `package`, the threads of the tests' support target).
///
/// `pthread_t` is an integer on Linux and a non-optional pointer on Darwin
/// (where `pthread_create` fills a `pthread_t?`); this type hides the
/// difference.
package struct PlatformThread: @unchecked Sendable {
    private let handle: pthread_t

    private init(_ handle: pthread_t) {
        self.handle = handle
    }

    /// The calling thread.
    package static var current: PlatformThread {
        PlatformThread(pthread_self())
    }

    /// Starts a thread that runs `body`; nil if the system refuses one.
    /// Join it or detach it.
    package static func start(_ body: @escaping @Sendable () -> Void) -> PlatformThread? {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        #if canImport(Darwin)
        var created: pthread_t?
        let result = pthread_create(
            &created, nil,
            { raw in
                Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().body()
                return nil
            }, context)
        guard result == 0, let handle = created else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            return nil
        }
        return PlatformThread(handle)
        #else
        var handle = pthread_t()
        let result = pthread_create(
            &handle, nil,
            { raw in
                guard let raw else { return nil }
                Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().body()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            return nil
        }
        return PlatformThread(handle)
        #endif
    }

    /// Whether this is the calling thread.
    package var isCurrent: Bool {
        pthread_equal(handle, pthread_self()) != 0
    }

    /// The thread as a number, equal for the same live thread.
    package var id: UInt {
        #if canImport(Darwin)
        UInt(bitPattern: handle)
        #else
        UInt(handle)
        #endif
    }

    /// Whether both are the same thread.
    package func isSame(as other: PlatformThread) -> Bool {
        pthread_equal(handle, other.handle) != 0
    }

    /// Waits for the thread to end.
    package func join() {
        checkPOSIX(pthread_join(handle, nil), "pthread_join")
    }

    /// Lets the thread end on its own, without a join.
    package func detach() {
        checkPOSIX(pthread_detach(handle), "pthread_detach")
    }
}

/// What a new thread runs, passed to it retained.
private final class ThreadBody {
    let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }
}
