// Running Sources/finalize-fixture (a dependency of this test target, built
// next to the test binary) as a child process: its output, its status, the
// signals to send it, and a deadline after which it is killed, so that a
// hang fails its test instead of stopping the suite.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct ChildResult {
    /// The exit status, or nil if the child was killed by a signal.
    var exitStatus: Int32?
    var terminatingSignal: Int32?
    var stdout: String
    var stderr: String

    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// The fixture binary: built into the same products directory as the test
/// binary (the test target depends on it). Looks next to the running test
/// binary and a few directories up.
func fixturePath() throws -> String {
    var starts: [String] = []
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if length > 0 {
        starts.append(String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    if let first = CommandLine.arguments.first { starts.append(first) }
    var tried: [String] = []
    for start in starts {
        var directory = start
        for _ in 0..<4 {
            guard let slash = directory.lastIndex(of: "/") else { break }
            directory = String(directory[..<slash])
            let candidate = directory + "/finalize-fixture"
            tried.append(candidate)
            if access(candidate, X_OK) == 0 { return candidate }
        }
    }
    throw FixtureError(description: "finalize-fixture not found; looked at: \(tried.joined(separator: ", "))")
}

/// Runs the fixture with `mode` (and `arguments` after it), capturing stdout and stderr in temporary
/// files, and waits for it, under a deadline: the child is killed (SIGKILL)
/// if it has not ended after `timeoutSeconds`, and the test fails as a hang
/// instead of blocking the suite.
func runFixture(
    _ mode: String, arguments extra: [String] = [], timeoutSeconds: Double = 60,
    signals: [(whenStdoutHas: String, signal: Int32)] = []
) throws -> ChildResult {
    var signals = signals[...]
    let path = try fixturePath()
    let out = try TemporaryFile(), err = try TemporaryFile()

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, out.descriptor, 1)
    posix_spawn_file_actions_adddup2(&actions, err.descriptor, 2)

    let arguments = ([path, mode] + extra).map { $0.withCString { strdup($0) } }
    defer { for argument in arguments { free(argument) } }
    var argv: [UnsafeMutablePointer<CChar>?] = arguments + [nil]

    // The child starts with no signal blocked and default dispositions for
    // the signals the tests send, whatever the test runner's thread has.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), defaults = sigset_t()
    sigemptyset(&none)
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    var pid = pid_t()
    let spawned = posix_spawn(&pid, path, &actions, &attributes, &argv, environ)
    guard spawned == 0 else {
        throw FixtureError(description: "posix_spawn \(path) failed: \(String(cString: strerror(spawned)))")
    }
    let clock = ContinuousClock()
    let deadline = clock.now + .milliseconds(Int(timeoutSeconds * 1000))
    var status: Int32 = 0
    var timedOut = false
    while true {
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { break }
        if result < 0 {
            guard errno == EINTR else { throw FixtureError(description: "waitpid failed: \(errno)") }
            continue
        }
        // Send the next signal once the child has said what it waits for.
        if let next = signals.first, out.snapshot().contains(next.whenStdoutHas) {
            kill(pid, next.signal)
            signals = signals.dropFirst()
        }
        if clock.now > deadline && !timedOut {
            timedOut = true
            kill(pid, SIGKILL)
        }
        usleep(2000)  // polling interval for the deadline, not synchronization
    }
    let signal = status & 0x7f
    let child = ChildResult(
        exitStatus: signal == 0 ? (status >> 8) & 0xff : nil,
        terminatingSignal: signal == 0 ? nil : signal,
        stdout: try out.contents(), stderr: try err.contents())
    if timedOut {
        throw FixtureError(description: "\(mode) hung (killed after \(timeoutSeconds) s); stdout: \(child.stdout)")
    }
    return child
}

/// A temporary file, closed on exec and removed when done.
final class TemporaryFile {
    let descriptor: Int32
    let path: String

    init() throws {
        var template = Array("/tmp/finalize-fixture-XXXXXX".utf8CString)
        descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw FixtureError(description: "mkstemp failed: \(errno)") }
        // Not inherited by other children spawned meanwhile; dup2 in our
        // child clears the flag on its stdout and stderr.
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// What the file holds now, read without moving the offset the child
    /// writes at (it shares this open file).
    func snapshot() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(bytes.count)) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func contents() throws -> String {
        guard lseek(descriptor, 0, SEEK_SET) == 0 else { throw FixtureError(description: "lseek failed: \(errno)") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw FixtureError(description: "read failed: \(errno)") }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
