import Glibc
import Synchronization

/// Names and finds the temporary files that atomic writes go through.
///
/// The file for `DIR/NAME` is written as `DIR/.NAME.tmp-PID-N` (hidden, and recognisable by
/// ``AtomicFile/isTemporaryName(_:)``), then renamed to `DIR/NAME` once complete and fsynced.
public enum AtomicFile {
    /// The marker between the final name and the writer's process id.
    public static let temporaryMarker = ".tmp-"

    private static let counter = Atomic<Int>(0)

    /// A fresh temporary path beside `path`, unique within this process.
    public static func temporaryPath(for path: String) -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let dir = _directoryName(path)
        let name = "." + _baseName(path) + temporaryMarker + "\(getpid())-\(n)"
        return path.utf8.contains(UInt8(ascii: "/")) ? (dir == "/" ? "/" + name : dir + "/" + name) : name
    }

    /// Whether a file name (not a path) is one of our temporaries.
    public static func isTemporaryName(_ name: String) -> Bool {
        name.utf8.first == UInt8(ascii: ".") && name.contains(temporaryMarker)
    }
}

/// Writes a file that appears under its final name only when complete: bytes go to a hidden
/// temporary beside it (see ``AtomicFile``) through a write buffer (4 MiB by default) and
/// write(2); ``commit()`` fsyncs the file, renames it to the final name and fsyncs the directory.
/// ``abort()``, or dropping the writer without committing, removes the temporary.
///
/// One per file, used from one thread at a time (not `Sendable`).
public final class AtomicFileWriter {
    /// The final path.
    public let path: String
    /// The temporary path being written.
    public let temporaryPath: String
    /// Bytes accepted so far.
    public private(set) var bytesWritten = 0

    private var fd: _FileDescriptor?
    private let buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    private var done = false

    /// Creates the temporary file. The directory must exist.
    /// - Parameters:
    ///   - bufferCapacity: bytes gathered before each write(2).
    ///   - permissions: the new file's mode (before the umask).
    /// - Throws: ``FileError`` when the temporary cannot be created.
    public init(path: String, bufferCapacity: Int = 4 << 20, permissions: UInt32 = 0o644) throws {
        self.path = path
        temporaryPath = AtomicFile.temporaryPath(for: path)
        fd = try _FileDescriptor.open(
            temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, mode: mode_t(permissions), operation: "create")
        buffer = .allocate(byteCount: max(bufferCapacity, 4096), alignment: 64)
    }

    deinit {
        if !done { abort() }
        buffer.deallocate()
    }

    /// Appends bytes.
    /// - Throws: ``FileError`` on a write failure (the writer should then be aborted).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!done, "AtomicFileWriter.write after commit or abort")
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        bytesWritten += bytes.count
        if buffered + bytes.count <= buffer.count {
            (buffer.baseAddress! + buffered).copyMemory(from: src, byteCount: bytes.count)
            buffered += bytes.count
            return
        }
        try flushBuffer()
        if bytes.count >= buffer.count {
            try fd!.writeAll(src, count: bytes.count)
        } else {
            buffer.baseAddress!.copyMemory(from: src, byteCount: bytes.count)
            buffered = bytes.count
        }
    }

    /// Appends bytes.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends a string's UTF-8 bytes.
    public func write(_ string: String) throws {
        var s = string
        try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    private func flushBuffer() throws {
        if buffered > 0 {
            try fd!.writeAll(buffer.baseAddress!, count: buffered)
            buffered = 0
        }
    }

    /// Writes out buffered bytes, fsyncs, renames the file to ``path`` and fsyncs the directory.
    /// On failure the temporary is removed and the error thrown.
    public func commit() throws {
        precondition(!done, "AtomicFileWriter.commit after commit or abort")
        do {
            try flushBuffer()
            try fd!.sync()
            fd!.close()
            fd = nil
            if rename(temporaryPath, path) != 0 {
                throw FileError(path: path, operation: "rename '\(temporaryPath)' to", code: errno)
            }
            done = true
            try _syncDirectory(_directoryName(path))
        } catch {
            if !done { abort() }
            throw error
        }
    }

    /// Discards everything written and removes the temporary. Safe to call more than once.
    public func abort() {
        if done { return }
        done = true
        fd?.close()
        fd = nil
        _ = unlink(temporaryPath)
    }
}

/// Writes `bytes` to `path` atomically (see ``AtomicFileWriter``).
public func writeAtomically(path: String, bytes: [UInt8]) throws {
    // Small buffer: a large `bytes` goes to write(2) directly, without a copy.
    let w = try AtomicFileWriter(path: path, bufferCapacity: 4096)
    try w.write(bytes)
    try w.commit()
}

/// Writes a string's UTF-8 bytes to `path` atomically.
public func writeAtomically(path: String, string: String) throws {
    try writeAtomically(path: path, bytes: Array(string.utf8))
}

/// Removes temporaries left by interrupted atomic writes in `directory` (not recursive):
/// hidden files named `.NAME.tmp-…` whose final `NAME` starts with `prefix`. Give a prefix that
/// only this task's files have (for example its task number) when other processes may be
/// writing in the same directory, since their temporaries look the same.
///
/// - Returns: the number of files removed.
/// - Throws: ``FileError`` when the directory cannot be listed; a missing directory removes
///   nothing.
@discardableResult
public func removeStaleTemporaries(in directory: String, matching prefix: String = "") throws -> Int {
    guard let dir = opendir(directory) else {
        let e = errno
        if e == ENOENT { return 0 }
        throw FileError(path: directory, operation: "list", code: e)
    }
    defer { closedir(dir) }
    var removed = 0
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: &entry.pointee.d_name) {
            String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
        }
        guard AtomicFile.isTemporaryName(name), name.dropFirst().hasPrefix(prefix) else { continue }
        let full = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        if unlink(full) == 0 {
            removed += 1
        } else if errno != ENOENT {
            throw FileError(path: full, operation: "remove", code: errno)
        }
    }
    return removed
}
