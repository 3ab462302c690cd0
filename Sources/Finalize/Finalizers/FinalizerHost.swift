/// An owner whose finalizers run synchronously, inside its last release.
///
/// Lifetime: the bag is a *deinit sentinel*. When the owner's last strong
/// reference goes away, Swift destroys its stored properties, the bag's
/// `deinit` runs, and every pending finalizer on the owner runs right there,
/// synchronously, on the releasing thread, newest first, with the trigger
/// ``FinalizerTrigger/ownerDeinit``. No sweep is involved and the handles
/// returned by `finalize` need not be kept: the bag keeps them.
///
/// Adopt it with one stored constant:
///
/// ```swift
/// final class Connection: FinalizerHost {
///     let finalizers = FinalizerBag()
///     let socket: CInt
///     init(socket: CInt) {
///         self.socket = socket
///         finalize(self, holding: socket) { close($0) }   // no capture of self
///     }
/// }
/// ```
///
/// Requirements: `finalizers` must be a stored `let` property initialized
/// with `FinalizerBag()`. The bag is noncopyable, so it cannot be shared
/// with or moved to another object; a computed `finalizers` that returns
/// some other object's bag is the one way to get this wrong, and then the
/// cleanups run when *that* object dies. When exactly the last release happens is ARC's decision, not yours: the
/// optimizer may end an object's life after its last use, earlier than the
/// end of the scope. Use `withExtendedLifetime(_:_:)`, ``Finalizer/runNow()``
/// in a `defer`, or a ``CleanupStack`` when the moment matters.
public protocol FinalizerHost: AnyObject {
    /// The owner's bag of finalizers: a stored `let` initialized with
    /// ``FinalizerBag/init()``. It lives inline in the owner and dies with it.
    var finalizers: FinalizerBag { get }
}
