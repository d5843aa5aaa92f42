import Glibc

/// A file-system operation that failed: the job cannot go on (missing input, no permission, disk
/// full). Its description names the file and the system's reason.
public struct FileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file or directory concerned.
    public let path: String
    /// What was attempted: "open", "read", "write", "fsync", "rename", "mkdir", "list", ….
    public let operation: String
    /// The `errno` value, or 0 when the failure is not a system error.
    public let code: Int32
    /// Extra words, used when `code` is 0.
    public let detail: String

    public init(path: String, operation: String, code: Int32, detail: String = "") {
        self.path = path
        self.operation = operation
        self.code = code
        self.detail = detail
    }

    /// "cannot open 'data/x.jsonl': No such file or directory".
    public var description: String {
        let reason = code != 0 ? String(cString: strerror(code)) : detail
        return "cannot \(operation) '\(path)': \(reason)"
    }
}

/// The one place that calls read(2)/write(2)/fsync(2) with raw pointers. A plain value around a
/// file descriptor; its owner decides when to close it.
struct _FileDescriptor {
    let raw: Int32
    let path: String

    static func open(_ path: String, flags: Int32, mode: mode_t = 0, operation: String = "open") throws(FileError)
        -> _FileDescriptor
    {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return _FileDescriptor(raw: fd, path: path) }
            let e = errno
            if e == EINTR { continue }
            throw FileError(path: path, operation: operation, code: e)
        }
    }

    /// Reads up to `count` bytes at `buffer`; returns 0 only at end of file.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(FileError) -> Int {
        while true {
            let n = Glibc.read(raw, buffer, count)
            if n >= 0 { return n }
            let e = errno
            if e == EINTR { continue }
            throw FileError(path: path, operation: "read", code: e)
        }
    }

    /// Reads until `count` bytes are in or end of file; returns how many were read.
    func readFully(into buffer: UnsafeMutableRawPointer, count: Int) throws(FileError) -> Int {
        var done = 0
        while done < count {
            let n = try read(into: buffer + done, count: count - done)
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all `count` bytes.
    func writeAll(_ buffer: UnsafeRawPointer, count: Int) throws(FileError) {
        var done = 0
        while done < count {
            let n = Glibc.write(raw, buffer + done, count - done)
            if n >= 0 {
                done += n
                continue
            }
            let e = errno
            if e == EINTR { continue }
            throw FileError(path: path, operation: "write", code: e)
        }
    }

    func sync() throws(FileError) {
        while fsync(raw) != 0 {
            let e = errno
            if e == EINTR { continue }
            // Some file systems cannot fsync a directory; that is not a reason to fail.
            if e == EINVAL || e == ENOTSUP { return }
            throw FileError(path: path, operation: "fsync", code: e)
        }
    }

    /// The size and whether it is a directory, from fstat(2).
    func status() throws(FileError) -> (size: Int, isDirectory: Bool) {
        var st = stat()
        if fstat(raw, &st) != 0 { throw FileError(path: path, operation: "stat", code: errno) }
        return (Int(st.st_size), (st.st_mode & S_IFMT) == S_IFDIR)
    }

    func adviseSequential() {
        _ = posix_fadvise(raw, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
    }

    func close() {
        _ = Glibc.close(raw)
    }
}

/// Fsyncs a directory so that a rename inside it is durable.
func _syncDirectory(_ directory: String) throws(FileError) {
    let fd = try _FileDescriptor.open(directory, flags: O_RDONLY | O_DIRECTORY)
    defer { fd.close() }
    try fd.sync()
}

/// The directory part of a path ("." when there is none).
func _directoryName(_ path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    if slash == path.utf8.startIndex { return "/" }
    return String(path[..<slash])
}

/// The last component of a path.
func _baseName(_ path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
    return String(path[path.utf8.index(after: slash)...])
}
