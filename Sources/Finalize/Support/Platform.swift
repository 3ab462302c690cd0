#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import _FinalizeShims

/// Gives the processor to another thread (used when a busy bit is contended).
@inline(__always)
func yieldThread() {
    sched_yield()
}

/// The processor the calling thread runs on, or 0 where unknown. Registration
/// uses it to pick a shard, so two threads rarely share a lock or a cache line.
@inline(__always)
func currentProcessor() -> Int {
    #if os(Linux)
    return Int(max(sched_getcpu(), 0))
    #else
    return 0
    #endif
}

/// The number of configured processors (at least 1).
func processorCount() -> Int {
    max(Int(sysconf(Int32(_SC_NPROCESSORS_CONF))), 1)
}

/// Writes `message` and a newline to standard error, unbuffered (one
/// `write(2)` call for short lines, so lines from threads do not interleave).
func writeToStandardError(_ message: String) {
    var line = message
    line.append("\n")
    line.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { break }
            offset += written
        }
    }
}

/// The monotonic clock's reading (`CLOCK_MONOTONIC`), as a duration since
/// an arbitrary origin.
func monotonicNow() -> Duration {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return .seconds(Int64(now.tv_sec)) + .nanoseconds(Int64(now.tv_nsec))
}

/// Starts a detached thread that runs `body` (the signal watcher); false if
/// the system refused one.
func _startDetachedThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    #if canImport(Darwin)
    var thread: pthread_t?
    #else
    var thread = pthread_t()
    #endif
    let result = pthread_create(&thread, nil, { raw in
        #if canImport(Darwin)
        let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
        #else
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        #endif
        box.body()
        return nil
    }, context)
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        return false
    }
    #if canImport(Darwin)
    if let thread { pthread_detach(thread) }
    #else
    pthread_detach(thread)
    #endif
    return true
}
