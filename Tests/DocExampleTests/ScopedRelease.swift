// The samples of Sources/Finalize/Finalize.docc/ScopedRelease.md.

import Finalize
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: A release is not a point in your code

final class FileLock {
    let fd: CInt
    init(_ path: String) { fd = open(path, O_CREAT | O_RDWR, 0o644); flock(fd, LOCK_EX) }
    deinit { flock(fd, LOCK_UN); close(fd) }
}

func rewriteConfig() throws {
    let lock = FileLock("/tmp/app.lock")
    print("locked \(lock.fd)")             // last use of `lock`
    try writeConfig()                      // the lock may already be released
}

func extendedLifetime() throws {
    let lock = FileLock("/tmp/app.lock")
    try withExtendedLifetime(lock) {
        try writeConfig()                     // lock held here, guaranteed
    }
    // released some time after this point
}

func deferred(path: String) throws -> Table {
    let fd = open(path, O_RDONLY)
    defer { close(fd) }
    return try Table(reading: fd)
}

// MARK: CleanupStack

func mergeFiles(paths: [String], outPath: String) throws {
    try withCleanupStack { stack in
        var inputs: [CInt] = []
        for path in paths {
            inputs.append(try stack.enter { try openOrThrow(path) } release: { close($0) })
        }
        let output = try stack.enter { try createOrThrow(outPath) } release: { close($0) }
        stack.push { error in
            if error != nil { unlink(outPath) }   // a half-written output is worse than none
            return false                           // true would suppress the error
        }
        try merge(inputs, into: output)
    }
}

final class Pipeline {
    private let cleanups: CleanupStack
    init(paths: [String]) throws {
        cleanups = try withCleanupStack { stack in
            for path in paths { _ = try stack.enter { try openOrThrow(path) } release: { close($0) } }
            return stack.move()               // success: the pipeline owns them now; nothing closes here
        }                                     // a failure half-way closes what was opened, and throws
    }
    func shutdown() throws { try cleanups.close() }
}

// MARK: Scope end or owner death: adopt

func adopted(tempFile: TempFile) throws {
    final class Document: FinalizerHost {
        let finalizers = FinalizerBag()
    }

    let document = Document()
    let scratch = finalize(document, holding: tempFile) { $0.closeAndUnlink() }
    try withExtendedLifetime(document) {      // `document` alive until here
        try withCleanupStack { stack in
            stack.adopt(scratch)
            try save(using: tempFile)
        }
    }
    // scratch.state == .ran(.scopeEnd)
}

// MARK: Resources that are not classes: UniqueResource

func loadTable(_ path: String) throws -> Table {
    let raw = open(path, O_RDONLY)
    guard raw >= 0 else { throw OpenError(errno: errno) }
    let fd = UniqueResource(raw) { close($0) }
    return try Table(reading: fd.resource)
}   // closed here, whichever way the function leaves

func openChecked(_ path: String) throws -> CInt {
    let fd = UniqueResource(try openOrThrow(path)) { close($0) }
    try verifyHeader(fd.resource)   // throws: fd closed
    return fd.take()                // success: the caller owns fd now
}
