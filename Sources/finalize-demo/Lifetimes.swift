// swift-format-ignore-file
// (The article WhenSwiftReleases.md quotes this file's code verbatim, with
// its aligned comments; Scripts/check-doc-samples.py checks the quotes.)

// finalize-demo lifetimes: when does Swift release an object?
//
//     swift run finalize-demo lifetimes                 (debug, -Onone)
//     swift run -c release finalize-demo lifetimes      (release, -O)
//
// Each case is a small function. Its objects record events in a timeline as
// they are used and released, and the runner prints the timeline on one
// line, next to what the article "When does Swift release an object?"
// (Sources/Finalize/Finalize.docc/WhenSwiftReleases.md) quotes for the debug
// and release builds. The article's code samples are the functions below.
//
// The command exits with status 1 if a timeline differs from the article's
// quote for the build that runs it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Finalize
import Synchronization

// MARK: - The timeline

/// The events of the running case, in order.
///
/// Recording takes a lock, so every `note` is a deinit barrier: the optimizer
/// never moves a release across it, just as it never moves one across a
/// `print` or any call into code it cannot see.
private let timeline = Mutex<[String]>([])

/// Records one event.
func note(_ event: String) {
    timeline.withLock { $0.append(event) }
}

/// Empties the timeline and returns what it held.
private func drainTimeline() -> [String] {
    timeline.withLock { events in
        defer { events = [] }
        return events
    }
}

/// An object that records its uses and its release.
final class Resource: Sendable {
    let name: String

    init(_ name: String) { self.name = name }

    func use() { note("\(name) used") }

    deinit { note("\(name) released") }
}

/// A call between the last use and the end of the scope: it records "work",
/// so it takes a lock and is a deinit barrier.
@inline(never)
func work() {
    note("work")
}

// MARK: - Named constants

func namedConstant() {
    let resource = Resource("a")
    resource.use()
    work()
}

func unusedNamedConstant() {
    let _token = Resource("b")
    _ = _token  // without this read, Swift warns that _token is never used
    work()
}

// MARK: - What no variable names

func discardedWithUnderscore() {
    _ = Resource("c")
    work()
}

func inspect(_ resource: Resource) {
    note("\(resource.name) inspected")
}

func temporaries() {
    Resource("d").use()
    inspect(Resource("e"))
    work()
}

// MARK: - Values held inside other values

func heldOnlyByAnArray() {
    let resources = [Resource("f")]
    note("count \(resources.count)")
    work()
}

func heldOnlyByADictionary() {
    let byName = ["g": Resource("g")]
    byName["g"]?.use()
    work()
}

struct Holder {
    var resource: Resource?
}

func heldByAStruct() {
    let holder = Holder(resource: Resource("h"))
    holder.resource?.use()
    work()
}

// MARK: - Ending a lifetime on purpose

func consumed() {
    let resource = Resource("i")
    resource.use()
    _ = consume resource
    work()
}

func sink(_ resource: consuming Resource) {
    resource.use()
}

func passedToAConsumingParameter() {
    let kept = Resource("j")
    let moved = Resource("k")
    sink(kept)           // sink gets a copy: `kept` still holds j
    sink(consume moved)  // sink gets the only reference to k
    work()
}

func reassignedVariable() {
    var resource = Resource("l1")
    resource.use()
    resource = Resource("l2")
    resource.use()
}

// MARK: - Weak references

func weakReadAfterLastUse() {
    let resource = Resource("m")
    weak let observer = resource
    resource.use()
    work()
    note("weak reads \(observer?.name ?? "nil")")
}

// MARK: - Extending a lifetime

func extendedWithAClosure() {
    let resources = [Resource("n")]
    withExtendedLifetime(resources) {
        note("count \(resources.count)")
        work()
    }
    note("after withExtendedLifetime")
}

func extendedToAPoint() {
    let resources = [Resource("o")]
    note("count \(resources.count)")
    work()
    extendLifetime(resources)
    note("after extendLifetime")
}

func makeCallback() -> () -> Void {
    let resource = Resource("p")
    return { resource.use() }
}

func capturedByAClosure() {
    var callback: (() -> Void)? = makeCallback()
    work()
    callback?()
    callback = nil
    note("callback dropped")
}

// MARK: - Threads

/// The thread that runs this code, as a number.
func currentThreadID() -> UInt {
    #if canImport(Darwin)
    UInt(bitPattern: pthread_self())
    #else
    UInt(pthread_self())
    #endif
}

/// An object that records whether it is released on the thread that made it.
final class ThreadResource: Sendable {
    let name: String
    let creatingThread = currentThreadID()

    init(_ name: String) { self.name = name }

    deinit {
        let thread = currentThreadID() == creatingThread ? "its creating thread" : "the worker thread"
        note("\(name) released on \(thread)")
    }
}

/// Holds the only reference to a resource until a worker takes it.
final class Handoff: Sendable {
    private let slot: Mutex<ThreadResource?>

    init(_ resource: ThreadResource) { slot = Mutex(resource) }

    func take() -> ThreadResource? { slot.withLock { $0.take() } }
}

func releasedOnAnotherThread() {
    let handoff = Handoff(ThreadResource("q"))
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) {
        let resource = handoff.take()
        note("worker took \(resource?.name ?? "nothing")")
    }
    group.wait()
    note("main thread resumes")
}

// MARK: - Barriers and plain code

/// Plain memory: writing it takes no lock, so it is not a deinit barrier.
final class Counter {
    var value = 0
}

/// An object whose release records the counter's value at that moment.
final class CountingResource {
    let name: String
    let counter: Counter

    init(_ name: String, _ counter: Counter) {
        self.name = name
        self.counter = counter
    }

    func use() { note("\(name) used") }

    deinit { note("\(name) released at step \(counter.value)") }
}

/// Plain arithmetic the optimizer sees through: not a deinit barrier.
func tripled(_ value: Int) -> Int {
    value &* 3
}

private let ticks = Mutex(0)

/// Takes a lock: a deinit barrier.
@inline(never)
func lockedTick() {
    ticks.withLock { $0 += 1 }
}

func lastUseBeforePlainCode() {
    let counter = Counter()
    let resource = CountingResource("r", counter)
    resource.use()
    counter.value = 1
    counter.value = tripled(counter.value)
}

func lastUseBeforeALock() {
    let counter = Counter()
    let resource = CountingResource("s", counter)
    resource.use()
    counter.value = 1
    lockedTick()
    counter.value = 2
}

func lastUseBeforeACallIntoC() {
    let counter = Counter()
    let resource = CountingResource("t", counter)
    resource.use()
    counter.value = 1
    _ = getpid()
    counter.value = 2
}

// MARK: - A Finalize host

final class Session: FinalizerHost {
    let finalizers = FinalizerBag()
    let name: String

    init(_ name: String) {
        self.name = name
        finalize(self) { note("\(name) cleanup ran") }
    }

    func use() { note("\(name) used") }
}

func hostOwner() {
    let session = Session("u")
    session.use()
    work()
}

// MARK: - Process exit

enum Shared {
    static let resource = Resource("v")
}

func staticNeverReleased() {
    Shared.resource.use()
}

// MARK: - The cases

/// Which part of a timeline Swift promises.
enum Promise: String {
    /// The whole order follows from the language's rules.
    case guaranteed = "guaranteed"
    /// Debug and release agree, through the compiler's lexical-lifetime and
    /// temporary rules, which the language does not promise.
    case compilerRule = "compiler rule"
    /// Debug and release differ: the optimizer's current choice.
    case optimizerChoice = "optimizer's choice"
}

/// One case: its function, the timelines the article quotes, and what of it
/// is guaranteed.
struct LifetimeCase {
    let title: String
    let run: @Sendable () -> Void
    /// The timeline measured with `swift run finalize-demo lifetimes`.
    let debug: String
    /// The timeline measured with `swift run -c release finalize-demo lifetimes`.
    let release: String
    let promise: Promise
    /// What the language guarantees, and what else decides the order.
    let why: String
}

let lifetimeCases: [LifetimeCase] = [
    LifetimeCase(
        title: "A named constant, then a call", run: namedConstant,
        debug: "a used → work → a released → returned",
        release: "a used → work → a released → returned",
        promise: .compilerRule,
        why: "not before its last use (a used); kept past work() by its lexical lifetime"),
    LifetimeCase(
        title: "An unused named constant (let _token)", run: unusedNamedConstant,
        debug: "work → b released → returned",
        release: "work → b released → returned",
        promise: .compilerRule,
        why: "even unused, a named constant keeps its object past every barrier in its scope"),
    LifetimeCase(
        title: "_ = Resource(\"c\")", run: discardedWithUnderscore,
        debug: "c released → work → returned",
        release: "c released → work → returned",
        promise: .compilerRule,
        why: "no variable owns it: released at the statement, no later than the scope's end"),
    LifetimeCase(
        title: "Temporaries: a method call, an argument", run: temporaries,
        debug: "d used → d released → e inspected → e released → work → returned",
        release: "d used → d released → e inspected → e released → work → returned",
        promise: .compilerRule,
        why: "not before the last use in the call; released at the end of the statement"),
    LifetimeCase(
        title: "A value held only by an array", run: heldOnlyByAnArray,
        debug: "count 1 → work → f released → returned",
        release: "f released → count 1 → work → returned",
        promise: .optimizerChoice,
        why: "an array is not lexical: -O releases f after the array's last use, across barriers"),
    LifetimeCase(
        title: "A value held only by a dictionary", run: heldOnlyByADictionary,
        debug: "g used → work → g released → returned",
        release: "g used → g released → work → returned",
        promise: .optimizerChoice,
        why: "a dictionary is not lexical either; guaranteed only: not before its last use"),
    LifetimeCase(
        title: "A value held by a struct's optional property", run: heldByAStruct,
        debug: "h used → work → h released → returned",
        release: "h used → work → h released → returned",
        promise: .compilerRule,
        why: "a struct holding a class reference is lexical, like the reference itself"),
    LifetimeCase(
        title: "_ = consume resource", run: consumed,
        debug: "i used → i released → work → returned",
        release: "i used → i released → work → returned",
        promise: .guaranteed,
        why: "not before its last use (i used), no later than the consume"),
    LifetimeCase(
        title: "A consuming parameter", run: passedToAConsumingParameter,
        debug: "j used → k used → k released → work → j released → returned",
        release: "j used → k released → k used → work → j released → returned",
        promise: .optimizerChoice,
        why: "k: sink owns it: no later than sink's return; -O releases it inside use(), after reading its name"),
    LifetimeCase(
        title: "Reassigning a var", run: reassignedVariable,
        debug: "l1 used → l1 released → l2 used → l2 released → returned",
        release: "l1 used → l1 released → l2 used → l2 released → returned",
        promise: .guaranteed,
        why: "the old value: not before its last use, no later than the assignment"),
    LifetimeCase(
        title: "A weak reference read after the last strong use", run: weakReadAfterLastUse,
        debug: "m used → work → weak reads m → m released → returned",
        release: "m used → work → weak reads m → m released → returned",
        promise: .compilerRule,
        why: "a weak load is a deinit barrier, so m outlives it; guaranteed only: not before m used"),
    LifetimeCase(
        title: "withExtendedLifetime", run: extendedWithAClosure,
        debug: "count 1 → work → after withExtendedLifetime → n released → returned",
        release: "count 1 → work → n released → after withExtendedLifetime → returned",
        promise: .optimizerChoice,
        why: "guaranteed: not before the closure returns; after that, the optimizer's choice"),
    LifetimeCase(
        title: "extendLifetime", run: extendedToAPoint,
        debug: "count 1 → work → after extendLifetime → o released → returned",
        release: "count 1 → work → o released → after extendLifetime → returned",
        promise: .optimizerChoice,
        why: "guaranteed: not before extendLifetime(resources); after that, the optimizer's choice"),
    LifetimeCase(
        title: "Captured by a closure", run: capturedByAClosure,
        debug: "work → p used → p released → callback dropped → returned",
        release: "work → p used → p released → callback dropped → returned",
        promise: .guaranteed,
        why: "the closure owns p: not before the closure's last call, no later than its release"),
    LifetimeCase(
        title: "The last reference dropped on another thread", run: releasedOnAnotherThread,
        debug: "worker took q → q released on the worker thread → main thread resumes → returned",
        release: "worker took q → q released on the worker thread → main thread resumes → returned",
        promise: .guaranteed,
        why: "deinit runs synchronously on the thread that drops the last reference"),
    LifetimeCase(
        title: "Last use, then only plain code", run: lastUseBeforePlainCode,
        debug: "r used → r released at step 3 → returned",
        release: "r used → r released at step 0 → returned",
        promise: .optimizerChoice,
        why: "plain stores are not barriers: -O releases r before them, right after its last use"),
    LifetimeCase(
        title: "Last use, then a function that takes a lock", run: lastUseBeforeALock,
        debug: "s used → s released at step 2 → returned",
        release: "s used → s released at step 1 → returned",
        promise: .optimizerChoice,
        why: "not before s used (guaranteed), nor before the lock (compiler rule); then -O is free"),
    LifetimeCase(
        title: "Last use, then a call into C", run: lastUseBeforeACallIntoC,
        debug: "t used → t released at step 2 → returned",
        release: "t used → t released at step 1 → returned",
        promise: .optimizerChoice,
        why: "a call into code the optimizer cannot see is a barrier, like the lock"),
    LifetimeCase(
        title: "A Finalize host: its cleanup runs inside its last release", run: hostOwner,
        debug: "u used → work → u cleanup ran → returned",
        release: "u used → work → u cleanup ran → returned",
        promise: .compilerRule,
        why: "the cleanup runs when the owner is released, which follows the owner's lifetime"),
]

/// The last case, reported by an exit handler: a static is never released.
let exitCase = LifetimeCase(
    title: "A static: never released, not even at exit", run: staticNeverReleased,
    debug: "v used → returned → process exits",
    release: "v used → returned → process exits",
    promise: .guaranteed,
    why: "Swift never destroys globals and statics; exit runs no deinit")

// MARK: - The command

#if DEBUG
private let buildMode = "debug (-Onone)"
private let isDebugBuild = true
#else
private let buildMode = "release (-O)"
private let isDebugBuild = false
#endif

/// Prints one case and returns whether its timeline matches the article.
private func report(_ index: Int, _ lifetimeCase: LifetimeCase, _ events: [String]) -> Bool {
    let observed = events.joined(separator: " → ")
    let quoted = isDebugBuild ? lifetimeCase.debug : lifetimeCase.release
    let other = isDebugBuild ? lifetimeCase.release : lifetimeCase.debug
    let thisBuild = isDebugBuild ? "debug  " : "release"
    let otherBuild = isDebugBuild ? "release" : "debug  "
    let number = index < 10 ? " \(index)" : "\(index)"
    print("\n\(number). \(lifetimeCase.title)  [\(lifetimeCase.promise.rawValue)]")
    print("    \(thisBuild) observed: \(observed)")
    if observed != quoted {
        print("    \(thisBuild) article:  \(quoted)  ≠ observed")
    }
    if lifetimeCase.debug == lifetimeCase.release {
        print("    \(otherBuild) article:  the same")
    } else {
        print("    \(otherBuild) article:  \(other)  ← differs")
    }
    print("    \(lifetimeCase.why)")
    return observed == quoted
}

private func runCase(_ lifetimeCase: LifetimeCase) -> [String] {
    _ = drainTimeline()
    lifetimeCase.run()
    note("returned")
    return drainTimeline()
}

private let mismatches = Atomic<Int>(0)

/// Runs `finalize-demo lifetimes` and exits.
func runLifetimesCommand() -> Never {
    // Registered before anything else, so it runs after every other exit
    // handler (they run in reverse order of registration).
    atexit {
        note("process exits")
        let matches = report(lifetimeCases.count + 1, exitCase, drainTimeline())
        print()
        if !matches || mismatches.load(ordering: .relaxed) > 0 {
            print("Some timelines differ from the article's quotes for this build.")
            fflush(nil)
            _exit(1)
        }
        print("Every timeline matches the article's quotes for this build.")
    }
    print("When does Swift release an object?  Build: \(buildMode)")
    print("Each case prints its events in order, then the article's quote for the other build.")
    print("\"work\" records an event under a lock: a deinit barrier, like print or a call into C.")
    for (index, lifetimeCase) in lifetimeCases.enumerated() {
        if !report(index + 1, lifetimeCase, runCase(lifetimeCase)) {
            mismatches.add(1, ordering: .relaxed)
        }
    }
    _ = drainTimeline()
    exitCase.run()
    note("returned")
    exit(0)
}
