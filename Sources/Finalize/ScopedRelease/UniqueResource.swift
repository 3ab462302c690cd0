/// Sole ownership of one resource that is released exactly once: C++'s
/// `unique_resource`, Rust's `scopeguard::guard`, for Swift.
///
/// Lifetime: a `UniqueResource` is non-copyable, so exactly one binding owns
/// it at a time. The release closure runs exactly once: when the owning
/// binding's lifetime ends (its `deinit`; for a local that is at the end of
/// its scope at the latest, and after its last use at the earliest, since a
/// non-copyable value may be destroyed as soon as it is no longer used), or
/// earlier by ``release()``; and never after ``take()``, which hands the
/// resource back instead. Passing it to a `consuming` parameter or storing
/// it moves the ownership along, and the release goes with it.
///
/// Threading: not `Sendable` (its release closure is not). It lives where it
/// was made; the release runs on the thread that ends its life.
///
/// It suits resources that are not classes, so have no `deinit` of their
/// own: file descriptors, pointers, handles of C libraries, a lock to unlock,
/// a temporary directory to remove.
///
/// ```swift
/// func readConfig() throws -> Config {
///     let fd = UniqueResource(open("/etc/app.conf", O_RDONLY)) { close($0) }
///     return try parse(readAll(fd.resource))
/// }   // closed here, on success and on error alike
/// ```
///
/// For a single scope `defer` does the same; `UniqueResource` is for when
/// the resource moves: returned from a function, stored in a non-copyable
/// struct, handed over with ``take()`` once setup succeeded.
public struct UniqueResource<Resource>: ~Copyable {
    private let ownedResource: Resource
    /// nil once released or taken: the deinit then does nothing.
    private var releaseAction: ((Resource) -> Void)?

    /// Takes ownership of `resource`; `release` runs once with it when this
    /// value's life ends, unless ``take()`` hands the resource back first.
    ///
    /// - Parameters:
    ///   - resource: the resource, already acquired.
    ///   - release: frees it; runs at most once, on the thread that ends the
    ///     value's life (or calls ``release()``).
    public init(_ resource: Resource, release: @escaping (Resource) -> Void) {
        ownedResource = resource
        releaseAction = release
    }

    deinit {
        if let release = releaseAction {
            release(ownedResource)
        }
    }

    /// The resource, for use while this value owns it. Do not release it
    /// yourself: the release closure will.
    public var resource: Resource {
        ownedResource
    }

    /// Releases the resource now, ending this value's life.
    public consuming func release() {
        if let release = releaseAction {
            releaseAction = nil
            release(ownedResource)
        }
    }

    /// Disarms the guard: hands the resource back without releasing it. The
    /// release closure never runs; the resource is yours to free.
    ///
    /// ```swift
    /// let guarded = UniqueResource(fd) { close($0) }
    /// try configure(guarded.resource)   // throws: fd closed
    /// return guarded.take()             // success: the caller owns fd now
    /// ```
    ///
    /// - Returns: the resource.
    public consuming func take() -> Resource {
        releaseAction = nil
        return ownedResource
    }
}
