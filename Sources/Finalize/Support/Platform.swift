// Everything Finalize asks of the operating system goes through the
// `Support/Platform…` files; no other file imports the C library. Linux
// (Glibc or Musl) is what CI builds and tests. The Darwin branches use only
// what Darwin has (no `sched_getcpu`, no `pthread_condattr_setclock`, a
// non-optional `pthread_t`) and are not compiled here.

import _FinalizeShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("Finalize supports Linux (Glibc or Musl) and Apple platforms")
#endif

/// The cache line size assumed for padding (64 bytes on the x86_64 and
/// arm64 processors Finalize targets).
let cacheLineSize = 64

/// Gives the processor to another thread (used when a busy bit is contended).
@inline(__always)
package func yieldThread() {
    sched_yield()
}

/// The processor the calling thread runs on where the system says
/// (`sched_getcpu` on Linux), and otherwise the thread's own number
/// (`threadNumber()`). Registration uses it to pick a shard, so two threads
/// registering at once rarely share a lock or a cache line. Any thread, any
/// time; the answer may change between two calls (threads move).
@inline(__always)
func currentProcessor() -> Int {
    #if os(Linux)
    let processor = sched_getcpu()
    // It fails only where the kernel does not tell (a sandbox that filters
    // `getcpu`): fall back to the thread's number, not to one shard for all.
    return processor >= 0 ? Int(processor) : threadNumber()
    #else
    return threadNumber()  // Darwin has no sched_getcpu.
    #endif
}

/// A small number given to the calling thread the first time it asks (in
/// the order threads first ask, from 0), the same for the rest of the
/// thread's life. Any thread, any time.
@inline(__always)
func threadNumber() -> Int {
    Int(truncatingIfNeeded: _finalize_thread_number())
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
        guard let start = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = write(2, start + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { break }
            offset += written
        }
    }
}

/// The monotonic clock's reading (`CLOCK_MONOTONIC`), as a duration since
/// an arbitrary origin.
///
/// Built with `Duration`'s non-generic initializer: the generic
/// `.seconds(_:)` makes an unoptimized build look up a witness table at run
/// time, and the sweeper thread reads the clock first thing, in a forked
/// child too, where the runtime's lookups can wait forever under
/// ThreadSanitizer while the main thread exits.
package func monotonicNow() -> Duration {
    var now = timespec()
    checkPOSIX(clock_gettime(CLOCK_MONOTONIC, &now), "clock_gettime")
    return Duration(
        secondsComponent: Int64(now.tv_sec), attosecondsComponent: Int64(now.tv_nsec) * 1_000_000_000)
}

/// Registers `hook` to run at process exit (`atexit`).
func installExitHook(_ hook: @escaping @convention(c) () -> Void) {
    checkPOSIX(atexit(hook), "atexit")
}

/// Installs fork handlers (`pthread_atfork`): `prepare` runs in the forking
/// thread before the fork, `parent` and `child` after it, in each process.
func installForkHandlers(
    prepare: @escaping @convention(c) () -> Void,
    parent: @escaping @convention(c) () -> Void,
    child: @escaping @convention(c) () -> Void
) {
    checkPOSIX(pthread_atfork(prepare, parent, child), "pthread_atfork")
}

/// Checks the result of a POSIX call that cannot fail when used correctly
/// (0 on success); a failure is a bug in Finalize, and going on would
/// corrupt state.
@inline(__always)
func checkPOSIX(_ result: Int32, _ call: StaticString) {
    if result != 0 { fatalError("Finalize: \(call) failed with result \(result), errno \(errno)") }
}
