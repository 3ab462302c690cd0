// The library's internal invariant checks (`internalCheck`) are compiled in
// debug builds of the package and out of release builds (Package.swift
// defines FINALIZE_INTERNAL_CHECKS for debug), so `swift test` and the
// ThreadSanitizer run check them and the release run measures without them.

import Testing

@testable import Finalize

@Suite("Internal checks")
struct InternalChecksTests {
    @Test func onInDebugBuildsOffInRelease() {
        #if DEBUG
        #expect(internalChecksEnabled)
        #else
        #expect(!internalChecksEnabled)
        #endif
    }
}
