#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always)
func posixRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }

@inline(__always)
func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

/// The text of `errno`.
func errnoText(_ code: Int32 = errno) -> String {
    guard let s = strerror(code) else { return "error \(code)" }
    return String(cString: s)
}

/// Reads a binary file through a buffer; large arrays go straight into their storage.
///
/// Every read checks that the bytes are there, so a short file gives a clear "truncated"
/// error instead of garbage.
struct BinaryFileReader: ~Copyable {
    let path: String
    private let fd: Int32
    let fileSize: Int64
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// File offset of `buffer[end]`.
    private var fileOffset: Int64 = 0

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw FastTextError("cannot open model file \(path): \(errnoText())")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errnoText()
            close(fd)
            throw FastTextError("cannot stat model file \(path): \(e)")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw FastTextError("\(path) is a directory, not a fastText model file (.bin or .ftz)")
        }
        self.fd = fd
        fileSize = Int64(st.st_size)
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Bytes consumed so far.
    var position: Int64 { fileOffset - Int64(end - start) }

    private func truncated(_ need: Int, _ what: String) -> FastTextError {
        FastTextError(
            "model file \(path) is truncated: reading \(what) needs \(need) more bytes at offset \(position), "
                + "but the file has \(fileSize) bytes; download or copy it again")
    }

    /// Reads from the file into `dst` until `count` bytes or end of file; returns the count read.
    private func readFully(_ dst: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        var done = 0
        while done < count {
            let n = posixRead(fd, dst + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FastTextError("cannot read model file \(path): \(errnoText())")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    private mutating func refill() throws {
        if start < end, start > 0 {
            (buffer.baseAddress! + 0).copyMemory(from: buffer.baseAddress! + start, byteCount: end - start)
        }
        end -= start
        start = 0
        let n = try readFully(buffer.baseAddress! + end, buffer.count - end)
        end += n
        fileOffset += Int64(n)
    }

    /// Copies `count` bytes into `dst`.
    mutating func read(into dst: UnsafeMutableRawPointer, count: Int, what: String) throws {
        var copied = 0
        let buffered = min(end - start, count)
        if buffered > 0 {
            dst.copyMemory(from: buffer.baseAddress! + start, byteCount: buffered)
            start += buffered
            copied = buffered
        }
        if copied == count { return }
        let rest = count - copied
        if rest >= buffer.count / 2 {
            let n = try readFully(dst + copied, rest)
            fileOffset += Int64(n)
            if n < rest {
                throw truncated(rest - n, what)
            }
            return
        }
        try refill()
        guard end - start >= rest else { throw truncated(rest - (end - start), what) }
        (dst + copied).copyMemory(from: buffer.baseAddress! + start, byteCount: rest)
        start += rest
    }

    mutating func scalar<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        var v: T = 0
        try withUnsafeMutableBytes(of: &v) { try read(into: $0.baseAddress!, count: MemoryLayout<T>.size, what: what) }
        return T(littleEndian: v)
    }

    mutating func int32(_ what: String) throws -> Int32 { try scalar(Int32.self, what) }
    mutating func int64(_ what: String) throws -> Int64 { try scalar(Int64.self, what) }
    mutating func uint8(_ what: String) throws -> UInt8 { try scalar(UInt8.self, what) }

    mutating func bool(_ what: String) throws -> Bool { try uint8(what) != 0 }

    mutating func float64(_ what: String) throws -> Double {
        Double(bitPattern: try scalar(UInt64.self, what))
    }

    /// Appends the bytes up to (not including) the next 0 byte to `out`.
    mutating func cString(appendingTo out: inout [UInt8], what: String) throws {
        while true {
            if start == end {
                try refill()
                if start == end { throw truncated(1, what) }
            }
            let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var i = start
            while i < end, base[i] != 0 { i += 1 }
            out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: i - start))
            if i < end {
                start = i + 1
                return
            }
            start = end
        }
    }

    /// Reads `count` values of a trivial type into a new array.
    mutating func array<T: BitwiseCopyable>(_ type: T.Type, count: Int, what: String) throws -> [T] {
        if count == 0 { return [] }
        let bytes = count * MemoryLayout<T>.stride
        let remaining = fileSize - position
        if Int64(bytes) > remaining { throw truncated(bytes - Int(max(0, remaining)), what) }
        return try [T](unsafeUninitializedCapacity: count) { buf, initialized in
            try read(into: UnsafeMutableRawPointer(buf.baseAddress!), count: bytes, what: what)
            initialized = count
        }
    }
}

/// Writes a binary file through a buffer, to a temporary name that is renamed over the
/// destination by ``commit()``, so a reader never sees half a model.
struct BinaryFileWriter: ~Copyable {
    let path: String
    private let tempPath: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    init(path: String) throws {
        self.path = path
        tempPath = path + ".tmp-\(getpid())"
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw FastTextError("cannot create \(path): \(errnoText()); check that the folder exists and is writable")
        }
        self.fd = fd
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if !committed {
            close(fd)
            unlink(tempPath)
        }
    }

    private mutating func flush() throws {
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FastTextError("cannot write \(path): \(errnoText())")
            }
            done += n
        }
    }

    mutating func bytes(_ b: UnsafeRawBufferPointer) throws {
        if b.count >= 1 << 16 {
            try flush()
            try writeAll(b)
            return
        }
        buffer.append(contentsOf: b)
        if buffer.count >= 1 << 20 { try flush() }
    }

    mutating func bytes(_ b: [UInt8]) throws { try b.withUnsafeBytes { try bytes($0) } }

    mutating func scalar<T: FixedWidthInteger>(_ v: T) throws {
        var le = v.littleEndian
        try withUnsafeBytes(of: &le) { try bytes($0) }
    }

    mutating func int32(_ v: Int32) throws { try scalar(v) }
    mutating func int64(_ v: Int64) throws { try scalar(v) }
    mutating func uint8(_ v: UInt8) throws { try scalar(v) }
    mutating func bool(_ v: Bool) throws { try scalar(UInt8(v ? 1 : 0)) }
    mutating func float64(_ v: Double) throws { try scalar(v.bitPattern) }

    mutating func array<T: BitwiseCopyable>(_ a: [T]) throws {
        try a.withUnsafeBytes { try bytes($0) }
    }

    mutating func raw(_ p: UnsafeRawBufferPointer) throws { try bytes(p) }

    /// Flushes, syncs and renames the file into place.
    mutating func commit() throws {
        try flush()
        if fsync(fd) != 0 { throw FastTextError("cannot sync \(path): \(errnoText())") }
        close(fd)
        committed = true
        if rename(tempPath, path) != 0 {
            let e = errnoText()
            unlink(tempPath)
            throw FastTextError("cannot rename \(tempPath) to \(path): \(e)")
        }
    }
}
