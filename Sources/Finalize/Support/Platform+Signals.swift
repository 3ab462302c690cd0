#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the opt-in signal shutdown (`SignalShutdown`) needs of the system:
/// signal sets and dispositions, and the pipe its handler writes to.
/// Everything the handler itself calls is async-signal-safe (`write`,
/// `signal`, `raise`).
enum PlatformSignals {
    /// One past the highest signal number (`NSIG`).
    #if canImport(Darwin)
    static let limit: CInt = 32
    #else
    static let limit: CInt = 65
    #endif

    /// Whether a handler can be installed for signal `number`.
    static func isCatchable(_ number: CInt) -> Bool {
        number > 0 && number < limit && number != SIGKILL && number != SIGSTOP
    }

    /// Installs `handler` for signal `number`; false, with `errorNumber` set, if
    /// the system refuses.
    static func installHandler(_ handler: @escaping @convention(c) (CInt) -> Void, for number: CInt) -> Bool {
        let previous = signal(number, handler)
        // SIG_ERR is the handler value -1.
        if let previous, unsafeBitCast(previous, to: Int.self) == -1 { return false }
        return true
    }

    /// Gives signal `number` back its default action (async-signal-safe).
    static func restoreDefault(_ number: CInt) {
        _ = signal(number, SIG_DFL)
    }

    /// Sends signal `number` to the calling thread (async-signal-safe).
    static func raiseSignal(_ number: CInt) {
        _ = raise(number)
    }

    /// The calling thread's `errno`.
    static var errorNumber: CInt {
        errno
    }

    /// Ends the process at once with `status`, running no exit hook.
    static func exitImmediately(_ status: CInt) -> Never {
        _exit(status)
    }

    /// A pipe: its read end and its write end, or nil if the system refuses
    /// one.
    static func makePipe() -> (readEnd: CInt, writeEnd: CInt)? {
        var ends: [CInt] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        return (ends[0], ends[1])
    }

    /// Writes one byte (async-signal-safe).
    static func writeByte(_ byte: UInt8, to descriptor: CInt) {
        var byte = byte
        _ = write(descriptor, &byte, 1)
    }

    /// What reading one byte gave.
    enum ReadResult {
        case byte(UInt8)
        /// Nothing read, and worth trying again (a signal interrupted the
        /// read, or nothing was there).
        case again
        /// The read failed.
        case failed
    }

    /// Reads one byte.
    static func readByte(from descriptor: CInt) -> ReadResult {
        var byte: UInt8 = 0
        let count = read(descriptor, &byte, 1)
        if count == 1 { return .byte(byte) }
        return count < 0 && errno != EINTR ? .failed : .again
    }
}

/// A set of signal numbers (`sigset_t`).
struct SignalSet: @unchecked Sendable {
    private var bits = sigset_t()

    init() {
        sigemptyset(&bits)
    }

    init(_ signals: some Sequence<CInt>) {
        self.init()
        for signal in signals { insert(signal) }
    }

    mutating func insert(_ signal: CInt) {
        sigaddset(&bits, signal)
    }

    func contains(_ signal: CInt) -> Bool {
        var bits = bits
        return sigismember(&bits, signal) == 1
    }

    /// The signals in the set, in increasing order.
    var members: [CInt] {
        (1..<PlatformSignals.limit).filter { contains($0) }
    }

    /// Unblocks the set's signals in the calling thread.
    func unblockInCallingThread() {
        var bits = bits
        checkPOSIX(pthread_sigmask(SIG_UNBLOCK, &bits, nil), "pthread_sigmask")
    }
}
