#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `text` to a file descriptor with write(2): unbuffered, so the
/// order of lines is the order of calls, whatever runs at exit.
public func write(_ text: String, to descriptor: Int32) {
    var text = text
    text.withUTF8 { bytes in
        guard let start = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, start + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Prints one line to standard output, unbuffered.
@Sendable public func say(_ line: String) {
    write(line + "\n", to: 1)
}
