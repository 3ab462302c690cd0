import Finalize

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The scoped-release section of the demo: one temporary file guarded twice,
// by a CleanupStack (scope end) and by a finalizer on its owner (owner
// release). Whichever comes first closes and unlinks it; the other finds
// nothing left to do. Called from main.swift.

/// A real temporary file: an open descriptor and its path.
private struct ScopedDemoFile: Sendable {
    let fd: Int32
    let path: String

    /// Creates `/tmp/finalize-demo-XXXXXX` with `mkstemp`.
    static func create() -> ScopedDemoFile? {
        var template = Array("/tmp/finalize-demo-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return nil }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return ScopedDemoFile(fd: fd, path: path)
    }

    /// The cleanup both guards share.
    func closeAndUnlink() {
        close(fd)
        unlink(path)
    }

    /// What is left of it, checked on the system: "fd 3 closed, unlinked".
    var status: String {
        let open = fcntl(fd, F_GETFD) != -1
        let onDisk = access(path, F_OK) == 0
        return "fd \(fd) \(open ? "open" : "closed"), \(onDisk ? "on disk" : "unlinked")"
    }
}

/// The owner: a FinalizerHost, so its finalizers run inside its last release.
private final class ScopedDemoOwner: FinalizerHost {
    let finalizers = FinalizerBag()
}

/// Prints one step of the timeline: what is left of the file and which
/// trigger fired during the step (the finalizer's state before and after).
private func scopedLine(
    _ label: String, before: FinalizerState, _ finalizer: Finalizer<ScopedDemoFile>, _ file: ScopedDemoFile
) {
    let after = finalizer.state
    let fired: String
    if before == .pending, case .ran(let trigger) = after {
        fired = "trigger fired: \(trigger)"
    } else {
        fired = "no trigger fired, already \(after)"
    }
    let column = label + String(repeating: " ", count: max(0, 15 - label.count))
    print("    \(column)\(file.status)  -> \(fired)")
}

/// Prints a short timeline: a `CleanupStack` and a finalizer guard the same
/// temporary file; in one run the scope ends first (trigger `scopeEnd`), in
/// the other the owner is released first (trigger `ownerDeinit`). The file
/// is closed and unlinked exactly once either way.
func runScopedSection() {
    print("Scoped release: one temporary file, guarded by a CleanupStack and by its owner's finalizer")
    for ownerFirst in [false, true] {
        guard let file = ScopedDemoFile.create() else {
            print("  mkstemp failed (errno \(errno)); skipping")
            return
        }
        print(ownerFirst ? "  run 2, the owner is released first:" : "  run 1, the scope ends first:")
        var owner: ScopedDemoOwner? = ScopedDemoOwner()
        let finalizer = finalize(owner!, holding: file) { $0.closeAndUnlink() }
        print("    created \(file.path) (fd \(file.fd)), guarded twice  -> \(finalizer.state), no trigger yet")
        var beforeScopeEnd = finalizer.state
        do {
            try withCleanupStack { stack in
                stack.adopt(finalizer)
                if ownerFirst {
                    let before = finalizer.state
                    owner = nil
                    scopedLine("owner release:", before: before, finalizer, file)
                }
                beforeScopeEnd = finalizer.state
            }
        } catch {
            print("    cleanup failed: \(error)")
        }
        scopedLine("scope end:", before: beforeScopeEnd, finalizer, file)
        if !ownerFirst {
            let before = finalizer.state
            owner = nil
            scopedLine("owner release:", before: before, finalizer, file)
        }
    }
}
