// `swift run finalize-demo shutdown`: asynchronous cleanups at shutdown,
// and what SIGTERM does to a process with and without
// `FinalizerRegistry.shutdownOnSignals`. The children are this same
// program, started with a hidden mode (`shutdown-child`).

import Finalize

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A connection pool whose close is asynchronous, as a server's would be.
final class ConnectionPool: FinalizerHost, Sendable {
    let finalizers = FinalizerBag()
    let name: String

    init(_ name: String, in registry: FinalizerRegistry, say: @escaping @Sendable (String) -> Void) {
        self.name = name
        registry.finalize(self, holding: name) { name in
            say("closing pool \(name)…")
            await Task.yield()  // a real pool awaits its connections here
            say("pool \(name) closed")
        }
    }
}

/// Writes a line to standard output at once (children are read line by line).
@Sendable func sayNow(_ text: String) {
    var text = text + "\n"
    text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}

func runShutdownCommand() async -> Never {
    print("Finalize demo: shutdown")

    print("\n1. await registry.shutdown(): newest first, each async cleanup awaited")
    let registry = FinalizerRegistry(sweepInterval: nil)
    let pools = [ConnectionPool("db", in: registry, say: sayNow), ConnectionPool("cache", in: registry, say: sayNow)]
    fflush(nil)
    let ran = await registry.shutdown()
    sayNow("shutdown() returned after \(ran) cleanups; pools still referenced: \(pools.count)")

    print("\n2. A child process stopped by SIGTERM, without shutdownOnSignals")
    runChild(handlesSignals: false)

    print("\n3. The same child with FinalizerRegistry.shutdownOnSignals([SIGTERM, SIGINT])")
    runChild(handlesSignals: true)
    exit(0)
}

/// Starts this program as a child, sends it SIGTERM once it is ready, and
/// prints what it printed and how it ended.
func runChild(handlesSignals: Bool) {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { return print("pipe failed") }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
    posix_spawn_file_actions_addclose(&actions, fds[0])
    let path = CommandLine.arguments[0]
    let words: [String] = [path, "shutdown-child", handlesSignals ? "handled" : "unhandled"]
    let arguments = words.map { $0.withCString { strdup($0) } }
    defer { for argument in arguments { free(argument) } }
    fflush(nil)
    var pid = pid_t()
    guard posix_spawn(&pid, path, &actions, nil, arguments + [nil], environ) == 0 else {
        return print("could not start \(path)")
    }
    close(fds[1])
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 512)
    var signalled = false
    while true {
        let count = read(fds[0], &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        output.append(contentsOf: buffer[..<count])
        if !signalled, String(decoding: output, as: UTF8.self).contains("ready") {
            print("  parent: child ready, sending SIGTERM")
            kill(pid, SIGTERM)
            signalled = true
        }
    }
    close(fds[0])
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    for line in String(decoding: output, as: UTF8.self).split(separator: "\n") { print("  child: \(line)") }
    let signal = status & 0x7f
    print(
        signal == 0
            ? "  parent: child exited with status \((status >> 8) & 0xff)"
            : "  parent: child killed by signal \(signal) (shell status \(128 + signal))")
}

/// The child: two pools on the shared registry; SIGTERM either kills it
/// outright or, with the handler, runs their cleanups first.
func runShutdownChild(handlesSignals: Bool) -> Never {
    // This process inherits the signal mask of the parent thread that
    // started it (threads of Swift's concurrency pool block signals):
    // SIGTERM must be unblocked, at its default action, before "ready".
    signal(SIGTERM, SIG_DFL)
    var terminate = sigset_t()
    sigemptyset(&terminate)
    sigaddset(&terminate, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &terminate, nil)
    if handlesSignals { try! FinalizerRegistry.shutdownOnSignals([SIGTERM, SIGINT]) }
    let pools = [ConnectionPool("db", in: .shared, say: sayNow), ConnectionPool("cache", in: .shared, say: sayNow)]
    sayNow("ready (\(pools.count) pools open)")
    while true { pause() }
}
