/// Whether Finalize was built with its internal checks
/// (`FINALIZE_INTERNAL_CHECKS`, defined for debug builds of this package in
/// Package.swift).
#if FINALIZE_INTERNAL_CHECKS
let internalChecksEnabled = true
#else
let internalChecksEnabled = false
#endif

/// Checks an invariant of Finalize's own bookkeeping (not of its caller's
/// use of the API): exit-log counts against their slots, status words that
/// leave `pending` only from `pending`, a shard's table counts against their
/// lock-free mirror, a bag word's states. A failure is a bug in Finalize and
/// stops the process.
///
/// Compiled only with `FINALIZE_INTERNAL_CHECKS` (the package's debug
/// builds, and so its debug and ThreadSanitizer test runs); a release build
/// evaluates nothing.
@inline(__always)
func internalCheck(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    #if FINALIZE_INTERNAL_CHECKS
    if !condition() { fatalError("Finalize internal check failed: \(message())", file: file, line: line) }
    #endif
}
