// finalize-demo: a timeline of when cleanups run, and why.
//
//     swift run finalize-demo
//     swift run finalize-demo lifetimes    (when Swift releases an object: Lifetimes.swift)
//     swift run finalize-demo shutdown     (async cleanups at shutdown, SIGTERM: ShutdownSection.swift)
//
// Each line starts with the trigger that ran the cleanup, read from the
// finalizer's own state inside its cleanup.

import Finalize

switch CommandLine.arguments.dropFirst().first {
case "lifetimes": runLifetimesCommand()
case "shutdown": await runShutdownCommand()
case "shutdown-child": runShutdownChild(handlesSignals: CommandLine.arguments.last == "handled")
default: break
}

/// A host owner: one stored bag, so its cleanups run inside its last release.
final class Token: FinalizerHost {
    let finalizers = FinalizerBag()
    let name: String

    init(_ name: String) {
        self.name = name
        traced("token \(name) released", on: self)
    }
}

/// Any other class: watched, its cleanups run at the first sweep after it died.
final class Image {
    let id: Int
    init(id: Int) { self.id = id }
}

// A registry of our own for sections 1 to 3, with no background sweeper, so
// every sweep in the timeline is one we call.
let registry = FinalizerRegistry(sweepInterval: nil)

print("Finalize demo: when does a cleanup run?")

print("\n1. Scoped release: runNow() in a defer, at the end of the scope")
do {
    let connection = Image(id: 1)
    let finalizer = traced("connection 1 closed", on: connection, in: registry)
    defer {
        // A defer cannot throw: handle the cleanup's error here rather than drop it.
        do { try finalizer.runNow() } catch { line("", "closing connection 1 failed: \(error)") }
    }
    line("", "using connection 1")
}
line("", "after the scope (the object itself may live on; its cleanup is done)")

print("\n2. Host owner: inside the last release, on the releasing thread")
var token: Token? = Token("A")
line("", "token A in use")
token = nil
line("", "after `token = nil`")
_ = Token("B")
line("", "after `_ = Token(\"B\")`: `_ =` keeps nothing, B died on that line")
let c = Token("C")
withExtendedLifetime(c) {
    line("", "token C kept alive by withExtendedLifetime")
}
line("", "after withExtendedLifetime: C is a top-level constant, a global, and globals")
line("", "are never deinitialized: C's cleanup waits for process exit (section 5)")

print("\n3. Watched owner (not a host): at the first sweep after it died")
var image: Image? = Image(id: 7)
traced("image 7 freed", on: image!, in: registry)
image = nil
line("", "image 7 released; pending: \(registry.pendingCount) (nothing runs without a sweep)")
let swept = registry.sweep()
line("", "registry.sweep() ran \(swept)")

print("\n4. Scoped release and owner release guarding the same file")
runScopedSection()

print("\n5. Process exit: the shared registry runs what is pending, newest first")
// Objects that live until exit: `deinit` never runs for them, but
// runsAtExit finalizers do (returning from main or calling exit()).
let keepAlive: [Image] = [Image(id: 100), Image(id: 101), Image(id: 102)]
traced("log flushed (registered first)", on: keepAlive[0])
traced("temporary directory removed", on: keepAlive[1])
traced("socket closed (registered last)", on: keepAlive[2])
let skipped = finalize(keepAlive[1], runsAtExit: false) { line("[?]", "never printed") }
let atExit = FinalizerRegistry.shared.pending.filter(\.runsAtExit).count
line("", "\(atExit) runsAtExit finalizers pending: these three and token C's (section 2);")
line("", "one with runsAtExit: false is left alone")
line("", "returning from main...")
_ = skipped
