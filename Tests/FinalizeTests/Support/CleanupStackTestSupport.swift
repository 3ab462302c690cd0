// Helpers shared by the CleanupStack, AsyncCleanupStack and adopt tests.
// Names carry "Cleanup" so they cannot collide with other suites' helpers.

import Finalize
import FinalizeTestSupport

/// An append-only log for cleanups of one test (not Sendable: one task).
final class CleanupLog<Item> {
    var items: [Item] = []
    func append(_ item: Item) { items.append(item) }
}

/// A numbered error, to check which errors came out and in what order.
struct CleanupBoom: Error, Equatable {
    let id: Int
}

/// The ids of the `CleanupBoom`s in `error`: one, or each one inside a
/// `CleanupErrors` (recursively); -1 for any other error.
func cleanupBoomIDs(_ error: any Error) -> [Int] {
    if let all = error as? CleanupErrors { return all.errors.flatMap(cleanupBoomIDs) }
    if let boom = error as? CleanupBoom { return [boom.id] }
    return [-1]
}

/// The error `body` threw, or nil.
func caughtCleanupError(_ body: () throws -> Void) -> (any Error)? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

/// The error `body` threw, or nil.
func caughtCleanupErrorAsync(_ body: () async throws -> Void) async -> (any Error)? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

/// A real suspension point for async cleanups (yields; never sleeps).
func cleanupHop() async {
    await Task.yield()
}

// Stand-ins for the Python exceptions of the ported CPython tests.
struct PyZeroDivisionError: Error {}
struct PyIndexError: Error {}
struct PyKeyError: Error {}
struct PyAttributeError: Error {}
struct PyValueError: Error {}
struct PyUniqueRuntimeError: Error {}
struct PyUniqueException: Error { let cause: any Error }
