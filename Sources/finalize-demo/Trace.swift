import Finalize
import Synchronization

/// Lets a cleanup say which trigger ran it.
///
/// Inside its own cleanup a finalizer is already dead, and its `state` says
/// why: `.ran(.ownerDeinit)`, `.ran(.sweep)`, `.ran(.runNow)`, ... The
/// cleanup needs the handle for that, which exists only after registration,
/// so the handle is handed over through this small box. (The box and the
/// handle form a cycle only until the cleanup has run: a finalizer drops its
/// cleanup, and so the box, the moment it runs.)
final class TraceBox: Sendable {
    private let handle = Mutex<Finalizer<Void>?>(nil)

    func set(_ finalizer: Finalizer<Void>) {
        handle.withLock { $0 = finalizer }
    }

    /// The trigger that ran the finalizer, as the demo prints it.
    var trigger: String {
        let state = handle.withLock { $0?.state }
        if case .ran(let trigger)? = state { return "\(trigger)" }
        return "?"
    }
}

/// Prints one timeline line: the trigger in a fixed-width column, then what
/// happened.
func line(_ tag: String, _ text: String) {
    let padded = tag.count >= 13 ? tag : tag + String(repeating: " ", count: 13 - tag.count)
    print("  \(padded) \(text)")
}

/// Registers `label` on `owner` so that its cleanup prints which trigger ran
/// it.
@discardableResult
func traced(
    _ label: String, on owner: AnyObject, in registry: FinalizerRegistry = .shared
) -> Finalizer<Void> {
    let box = TraceBox()
    let finalizer = registry.finalize(owner) { line("[\(box.trigger)]", label) }
    box.set(finalizer)
    return finalizer
}

/// The same for a host owner, through the statically chosen host overload.
@discardableResult
func traced<Owner: FinalizerHost>(
    _ label: String, on owner: Owner, in registry: FinalizerRegistry = .shared
) -> Finalizer<Void> {
    let box = TraceBox()
    let finalizer = registry.finalize(owner) { line("[\(box.trigger)]", label) }
    box.set(finalizer)
    return finalizer
}
