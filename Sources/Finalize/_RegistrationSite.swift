/// Where a finalizer was registered, in 12 bytes.
///
/// `#fileID` literals are static, NUL-terminated strings, so the site keeps
/// only their address; the `String` is built when a diagnostic needs it.
struct _RegistrationSite: @unchecked Sendable {
    let fileIDStart: UnsafePointer<UInt8>?
    let line: UInt32

    init(fileID: StaticString, line: Int) {
        // A one-scalar literal has no pointer representation; such a "file"
        // is not a #fileID, so it is reported as unknown rather than trapping.
        fileIDStart = fileID.hasPointerRepresentation ? fileID.utf8Start : nil
        self.line = UInt32(clamping: line)
    }

    var fileID: String {
        guard let start = fileIDStart else { return "<unknown>" }
        return String(cString: start)
    }

    var lineNumber: Int { Int(line) }
}
