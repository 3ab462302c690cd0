import Finalize
import FinalizeTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// UniqueResource: released exactly once at the end of its life, or earlier by
// release(), never after take(). (The ports of Rust scopeguard's tests are in
// Ports/RustScopeguardTests.swift.)

final class ResourceCounter {
    var value = 0
}

/// A class value whose deinit counts, to see when a resource is dropped.
final class ResourceTracked {
    let drops: ResourceCounter
    init(_ drops: ResourceCounter) { self.drops = drops }
    deinit { drops.value += 1 }
}

/// A non-copyable owner of a guarded resource, to show the release moves with it.
struct GuardedConnection: ~Copyable {
    let socket: UniqueResource<Int32>
}

/// A pipe whose write end is moved to a high descriptor number (one per
/// slot), so no test running in parallel is handed the same number after it
/// closes: new descriptors take the lowest free numbers.
func uniqueResourcePipe(slot: Int32) -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0)
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    let base = Int32(clamping: min(Int(limit.rlim_cur), 1024)) - 16
    let high = fcntl(fds[1], F_DUPFD_CLOEXEC, base + slot)
    precondition(high >= base + slot)
    close(fds[1])
    return (fds[0], high)
}

/// The descriptor is closed: F_GETFD fails with EBADF.
func descriptorIsClosed(_ fd: Int32) -> Bool {
    fcntl(fd, F_GETFD) == -1 && errno == EBADF
}

/// The pipe's write end is closed: reading gives end-of-file.
func pipeReadsEOF(_ fd: Int32) -> Bool {
    var byte: UInt8 = 0
    return read(fd, &byte, 1) == 0
}

@Suite("UniqueResource")
struct UniqueResourceTests {

    @Test("release() runs now, exactly once; the end of scope adds nothing")
    func releaseEarly() {
        let releases = ResourceCounter()
        var order: [String] = []
        do {
            let guarded = UniqueResource("token") { token in
                releases.value += 1
                order.append("released \(token)")
            }
            guarded.release()
            order.append("after release()")
            #expect(releases.value == 1)
        }
        #expect(releases.value == 1)
        #expect(order == ["released token", "after release()"])
    }

    @Test("a file descriptor is closed at the end of scope (fcntl gives EBADF)")
    func fileDescriptorClosedAtScopeEnd() {
        let fds = uniqueResourcePipe(slot: 0)
        do {
            let fd = UniqueResource(fds.write) { close($0) }
            #expect(write(fd.resource, "x", 1) == 1)
            #expect(!descriptorIsClosed(fd.resource))
        }
        #expect(descriptorIsClosed(fds.write))
        var byte: UInt8 = 0
        #expect(read(fds.read, &byte, 1) == 1)
        #expect(pipeReadsEOF(fds.read))
        close(fds.read)
    }

    @Test("a file descriptor is closed by release(), and not closed after take()")
    func fileDescriptorReleaseAndTake() {
        let first = uniqueResourcePipe(slot: 1)
        let guarded = UniqueResource(first.write) { close($0) }
        guarded.release()
        #expect(descriptorIsClosed(first.write))
        #expect(pipeReadsEOF(first.read))
        close(first.read)

        let second = uniqueResourcePipe(slot: 2)
        do {
            let disarmed = UniqueResource(second.write) { close($0) }
            let fd = disarmed.take()
            #expect(fd == second.write)
        }
        #expect(!descriptorIsClosed(second.write))
        close(second.write)
        #expect(descriptorIsClosed(second.write))
        close(second.read)
    }

    @Test("ownership moves: returned from a function and stored in a non-copyable struct")
    func ownershipMoves() {
        let releases = ResourceCounter()
        func open(_ id: Int32) -> UniqueResource<Int32> {
            UniqueResource(id) { _ in releases.value += 1 }
        }
        func consume(_ connection: consuming GuardedConnection) -> Int32 {
            connection.socket.resource
        }
        do {
            let connection = GuardedConnection(socket: open(3))
            #expect(releases.value == 0)
            #expect(consume(connection) == 3)  // released when consume's parameter ends
            #expect(releases.value == 1)
        }
        #expect(releases.value == 1)
    }

    @Test("other non-class resources: an allocated buffer is deallocated once")
    func pointerResource() {
        let releases = ResourceCounter()
        do {
            let buffer = UniqueResource(UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)) {
                $0.deallocate()
                releases.value += 1
            }
            buffer.resource.storeBytes(of: 7, as: Int.self)
            #expect(buffer.resource.load(as: Int.self) == 7)
        }
        #expect(releases.value == 1)
    }

    @Test("many guards in one scope each release exactly once")
    func manyGuards() {
        let releases = ResourceCounter()
        for index in 0..<1_000 {
            let guarded = UniqueResource(index) { _ in releases.value += 1 }
            #expect(guarded.resource == index)
        }
        #expect(releases.value == 1_000)
    }
}
