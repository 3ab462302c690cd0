/// Registers `cleanup` to run once when `owner` dies, in the shared registry.
///
/// For a ``FinalizerHost`` owner (chosen statically by this overload, no
/// dynamic cast), the cleanup runs synchronously inside the owner's last
/// release, on the releasing thread. It may also run earlier through
/// ``Finalizer/runNow()``, and at process exit if `runsAtExit` is true.
///
/// ```swift
/// final class Session: FinalizerHost {
///     let finalizers = FinalizerBag()
///     init(id: Int) {
///         finalize(self) { print("session \(id) closed") }   // captures id, not self
///     }
/// }
/// ```
///
/// - Parameters:
///   - owner: the object whose death runs the cleanup. Never retained.
///   - runsAtExit: whether process exit runs it while still pending.
///   - cleanup: runs at most once. Never capture `owner` in it: the owner
///     would never die. For non-`Sendable` owners the compiler rejects the
///     capture; for `Sendable` owners it cannot, so take care, and use
///     ``FinalizerRegistry/pending`` to find such leaks.
/// - Returns: the handle; ignoring it is fine.
@inlinable
@discardableResult
public func finalize<Owner: FinalizerHost>(
    _ owner: Owner, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable () throws -> Void
) -> Finalizer<Void> {
    FinalizerRegistry.shared.finalize(owner, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

/// Registers `cleanup` to run once when `owner` dies, in the shared registry.
///
/// A ``FinalizerHost`` owner runs it inside its last release. Any other
/// object is *watched*: the cleanup runs at the first sweep after the owner
/// died (the shared registry sweeps every 100 ms while it watches anything),
/// or earlier through ``Finalizer/runNow()``, or at process exit if
/// `runsAtExit` is true.
///
/// ```swift
/// let image = Image(width: 512, height: 512)
/// finalize(image) { print("image freed") }
/// ```
///
/// - Parameters:
///   - owner: any class instance. Never retained.
///   - runsAtExit: whether process exit runs it while still pending.
///   - cleanup: runs at most once; must not capture `owner`.
/// - Returns: the handle; ignoring it is fine.
@_disfavoredOverload
@discardableResult
public func finalize(
    _ owner: AnyObject, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable () throws -> Void
) -> Finalizer<Void> {
    FinalizerRegistry.shared.finalize(owner, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

/// Registers `cleanup` to run once with `resource` when the host `owner`
/// dies (inside its last release), in the shared registry.
///
/// `resource` is what the cleanup frees, so the closure need not capture the
/// owner; ``Finalizer/detach()`` hands it back instead. The resource is held
/// strongly: passing the owner itself as the resource (`holding: self`)
/// would keep it alive forever, so that registration is diagnosed on
/// standard error (once per call site); its cleanup then runs only by
/// `runNow()` or, with `runsAtExit`, at exit.
///
/// ```swift
/// finalize(self, holding: descriptor) { try $0.close() }
/// ```
@discardableResult
public func finalize<Owner: FinalizerHost, Resource: Sendable>(
    _ owner: Owner, holding resource: Resource, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable (Resource) throws -> Void
) -> Finalizer<Resource> {
    FinalizerRegistry.shared.finalize(
        owner, holding: resource, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}

/// Registers `cleanup` to run once with `resource` when `owner` dies, in the
/// shared registry: host owners at their release, others at the next sweep.
@_disfavoredOverload
@discardableResult
public func finalize<Resource: Sendable>(
    _ owner: AnyObject, holding resource: Resource, runsAtExit: Bool = true,
    fileID: StaticString = #fileID, line: Int = #line,
    _ cleanup: consuming @escaping @Sendable (Resource) throws -> Void
) -> Finalizer<Resource> {
    FinalizerRegistry.shared.finalize(
        owner, holding: resource, runsAtExit: runsAtExit, fileID: fileID, line: line, consume cleanup)
}
