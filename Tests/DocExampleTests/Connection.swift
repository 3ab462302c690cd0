// README.md ("A first example") and the catalog's landing page and Getting
// started: the `close()` plus safety net pattern, one definition for all.

import Finalize
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A system call's failure.
struct SystemError: Error {
    let errno: CInt
}

/// close(2), throwing its failure.
func closeDescriptor(_ fd: CInt) throws {
    guard close(fd) == 0 else { throw SystemError(errno: errno) }
}

final class Connection: FinalizerHost {
    let finalizers = FinalizerBag()                  // its cleanups run inside its last release
    let fd: CInt

    init(fd: CInt) {
        self.fd = fd
        finalize(self, holding: fd, closeDescriptor)  // the safety net: holds the descriptor, not `self`
    }

    func close() throws {
        try finalizers.runAll()                      // closes now, on this thread; rethrows close(2)'s error
    }
}

func closeExplicitly() throws {
    let connection = Connection(fd: open("/dev/null", O_RDONLY))
    try connection.close()   // closes now; a second close() does nothing
}
