import SluiceCore

/// Writes a small JSON value atomically (temporary name, fsync, rename), readable by people:
/// an object gets one top-level key per line, nested values stay on their line. For work
/// files and reports of multi-step jobs.
public func writeSmallJSONFile(_ path: String, _ value: JSONValue) throws {
    var out: [UInt8] = []
    if case .object(let o) = value {
        out.append(UInt8(ascii: "{"))
        for (i, e) in o.entries.enumerated() {
            out += Array((i == 0 ? "\n  " : ",\n  ").utf8)
            appendJSON(.string(e.key), to: &out)
            out += Array(": ".utf8)
            appendJSON(e.value, to: &out)
        }
        out += Array("\n}\n".utf8)
    } else {
        appendJSON(value, to: &out)
        out.append(UInt8(ascii: "\n"))
    }
    try writeAtomically(path: path, bytes: out)
}
