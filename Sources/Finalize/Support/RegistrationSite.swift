/// A `#fileID` in 8 bytes.
///
/// `#fileID` literals are static, NUL-terminated strings, so only their
/// address is kept; the `String` is built when a diagnostic needs it.
@usableFromInline
struct _FileID: @unchecked Sendable {
    @usableFromInline let start: UnsafePointer<UInt8>?

    @inlinable @inline(__always)
    init(_ fileID: StaticString) {
        // A one-scalar literal has no pointer representation; such a "file"
        // is not a #fileID, so it is reported as unknown rather than trapping.
        start = fileID.hasPointerRepresentation ? fileID.utf8Start : nil
    }

    var string: String {
        guard let start else { return "<unknown>" }
        return String(cString: start)
    }
}

/// Where something was registered, in 12 bytes.
@usableFromInline
struct _RegistrationSite: Sendable {
    @usableFromInline let file: _FileID
    @usableFromInline let line: UInt32

    @inlinable @inline(__always)
    init(fileID: StaticString, line: Int) {
        file = _FileID(fileID)
        self.line = UInt32(clamping: max(line, 0))
    }

    var fileID: String { file.string }

    var lineNumber: Int { Int(line) }
}
