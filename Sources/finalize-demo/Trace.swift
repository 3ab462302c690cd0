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

/// Registers, through `register`, a cleanup that prints `label` after the
/// trigger that ran it.
private func traced(
    _ label: String, _ register: (@escaping @Sendable () -> Void) -> Finalizer<Void>
) -> Finalizer<Void> {
    let box = TraceBox()
    let finalizer = register { line("[\(box.trigger)]", label) }
    box.set(finalizer)
    return finalizer
}

/// Registers `label` on any owner (a watched owner unless it is a host).
@discardableResult
func traced(
    _ label: String, on owner: AnyObject, in registry: FinalizerRegistry = .shared
) -> Finalizer<Void> {
    traced(label) { registry.finalize(owner, $0) }
}

/// The same for a host owner, through the statically chosen host overload.
@discardableResult
func traced<Owner: FinalizerHost>(
    _ label: String, on owner: Owner, in registry: FinalizerRegistry = .shared
) -> Finalizer<Void> {
    traced(label) { registry.finalize(owner, $0) }
}
