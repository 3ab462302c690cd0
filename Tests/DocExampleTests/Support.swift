// Stand-ins for the application code that the documentation's samples call
// (a decoder, a logger, a file to save...). They are not shown in the
// documentation; the samples themselves are in the other files of this
// target, verbatim (Scripts/check-doc-samples.py checks that).

import Finalize
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Getting started

final class ImageDecoder {
    func decode(_ data: [UInt8]) -> DecodedImage { DecodedImage(byteCount: data.count) }
}

final class DecodedImage {
    let byteCount: Int
    init(byteCount: Int) { self.byteCount = byteCount }
}

final class MemoryGauge: Sendable {
    func subtract(_ bytes: Int) {}
}

func send(_ text: String, over connection: Connection) throws {}

final class Session: Sendable {
    let token = "token"
    func upload(_ report: String) throws {}
}

func revoke(_ token: String) throws {}

/// The two calls of swift-log's `Logger` that the samples make.
struct Logger: Sendable {
    func error(_ message: String, metadata: [String: String]) {}
    func info(_ message: String) {}
}

final class Widget {}

// MARK: - Scoped release

func writeConfig() throws {}

func openOrThrow(_ path: String) throws -> CInt {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw OpenError(errno: errno) }
    return fd
}

func createOrThrow(_ path: String) throws -> CInt {
    let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
    guard fd >= 0 else { throw OpenError(errno: errno) }
    return fd
}

func merge(_ inputs: [CInt], into output: CInt) throws {}

final class TempFile: Sendable {
    func closeAndUnlink() {}
}

func save(using file: TempFile) throws {}

struct Table {
    init(reading fd: CInt) throws {}
}

struct OpenError: Error {
    let errno: CInt
}

func verifyHeader(_ fd: CInt) throws {}

// MARK: - Shutdown

final class Pool {}

final class Connections: Sendable {
    func closeAll() async throws {}
}
