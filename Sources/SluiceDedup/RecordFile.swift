import Glibc
import SluiceCore
import SluiceIO

/// A problem with a dedup intermediate file: missing, truncated, or failing its checksum.
/// The message names the file and says how to rebuild it.
public struct DedupFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let problem: String
    public init(path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }
    public var description: String {
        "\(path): \(problem). The file is damaged or from another run: delete it (or the work folder) together with the completion marker of the task that wrote it, and run again to rebuild it"
    }
}

/// A trouble with the dedup job itself: no input, mismatched task counts, missing steps.
public struct DedupError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Files of fixed-size little-endian records, written in blocks that each carry an XXH64
/// checksum, so that any read, whole or partial, detects damage.
///
/// ```
/// header   32 bytes: "SLUICEDD", version 1, kind (4 ASCII bytes), record size, records per block, 0
/// blocks   up to `recordsPerBlock` records, then the XXH64 of those record bytes (8 bytes)
/// footer   24 bytes: record count, XXH64 of all block checksums, "SLDDEND\0"
/// ```
///
/// Record `i` sits in block `i / recordsPerBlock`, so a reader can start anywhere. Files are
/// written atomically (``AtomicFileWriter``): a file under its final name is complete.
enum RecordFile {
    static let magic: [UInt8] = Array("SLUICEDD".utf8)
    static let endMagic: [UInt8] = Array("SLDDEND\0".utf8)
    static let headerSize = 32
    static let footerSize = 24
    static let version: UInt32 = 1

    /// The records-per-block for a record size: blocks of about 64 KiB.
    static func recordsPerBlock(recordSize: Int) -> Int { max(1, 65536 / recordSize) }

    static func kindCode(_ kind: String) -> UInt32 {
        var v: UInt32 = 0
        for (i, b) in kind.utf8.prefix(4).enumerated() { v |= UInt32(b) << (8 * UInt32(i)) }
        return v
    }
}

/// Writes a record file; ``commit()`` makes it appear under its final name.
final class RecordFileWriter {
    let path: String
    let recordSize: Int
    private let writer: AtomicFileWriter
    private let perBlock: Int
    private var block: [UInt8] = []
    private var blockRecords = 0
    private(set) var count = 0
    private var checksums = XXH64(seed: 0)

    init(path: String, kind: String, recordSize: Int) throws {
        self.path = path
        self.recordSize = recordSize
        perBlock = RecordFile.recordsPerBlock(recordSize: recordSize)
        writer = try AtomicFileWriter(path: path, bufferCapacity: 1 << 20)
        var header = RecordFile.magic
        appendLE(RecordFile.version, to: &header)
        appendLE(RecordFile.kindCode(kind), to: &header)
        appendLE(UInt32(recordSize), to: &header)
        appendLE(UInt32(perBlock), to: &header)
        appendLE(UInt64(0), to: &header)
        try writer.write(header)
        block.reserveCapacity(perBlock * recordSize)
    }

    /// Appends one record of exactly `recordSize` bytes.
    func append(_ record: UnsafeRawBufferPointer) throws {
        precondition(record.count == recordSize)
        block.append(contentsOf: record)
        blockRecords += 1
        count += 1
        if blockRecords == perBlock { try flushBlock() }
    }

    /// Appends a record whose fields `body` writes, in order, through the builder.
    func append(_ body: (inout RecordBuilder) -> Void) throws {
        var b = RecordBuilder(bytes: block)
        block = []
        let before = b.bytes.count
        body(&b)
        precondition(b.bytes.count - before == recordSize, "record of \(b.bytes.count - before) bytes, expected \(recordSize)")
        block = b.bytes
        blockRecords += 1
        count += 1
        if blockRecords == perBlock { try flushBlock() }
    }

    private func flushBlock() throws {
        guard blockRecords > 0 else { return }
        let sum = XXH64.hash(block)
        var tail: [UInt8] = []
        appendLE(sum, to: &tail)
        try writer.write(block)
        try writer.write(tail)
        withUnsafeBytes(of: sum.littleEndian) { checksums.update($0) }
        block.removeAll(keepingCapacity: true)
        blockRecords = 0
    }

    func commit() throws {
        try flushBlock()
        var footer: [UInt8] = []
        appendLE(UInt64(count), to: &footer)
        appendLE(checksums.finalize(), to: &footer)
        footer += RecordFile.endMagic
        try writer.write(footer)
        try writer.commit()
    }

    func abort() { writer.abort() }
}

/// Builds one record from little-endian fields.
struct RecordBuilder {
    var bytes: [UInt8]
    mutating func u32(_ v: UInt32) { appendLE(v, to: &bytes) }
    mutating func u64(_ v: UInt64) { appendLE(v, to: &bytes) }
    mutating func f64(_ v: Double) { appendLE(v.bitPattern, to: &bytes) }
}

/// Reads a record file block by block, checking every block it reads.
final class RecordFileReader {
    let path: String
    let recordSize: Int
    let count: Int
    let recordsPerBlock: Int
    private let fd: Int32
    private let blockCount: Int
    /// The current block's records and where it starts.
    private var buffer: [UInt8] = []
    private var bufferBlock = -1

    /// Opens and checks the header and footer.
    init(path: String, kind: String, recordSize: Int) throws {
        self.path = path
        self.recordSize = recordSize
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { throw DedupFileError(path: path, "missing") }
            throw FileError(path: path, operation: "open", code: e)
        }
        self.fd = fd
        var st = stat()
        fstat(fd, &st)
        let size = Int(st.st_size)
        func fail(_ problem: String) -> DedupFileError {
            Glibc.close(fd)
            return DedupFileError(path: path, problem)
        }
        guard size >= RecordFile.headerSize + RecordFile.footerSize else {
            throw fail("truncated (\(size) bytes, shorter than a header and footer)")
        }
        var header = [UInt8](repeating: 0, count: RecordFile.headerSize)
        var footer = [UInt8](repeating: 0, count: RecordFile.footerSize)
        guard preadFully(fd, &header, offset: 0), preadFully(fd, &footer, offset: size - RecordFile.footerSize) else {
            throw fail("cannot be read")
        }
        guard Array(header[0..<8]) == RecordFile.magic else { throw fail("not a Sluice dedup file (bad magic)") }
        guard loadLE32(header, 8) == RecordFile.version else { throw fail("unknown format version \(loadLE32(header, 8))") }
        guard loadLE32(header, 12) == RecordFile.kindCode(kind) else { throw fail("holds other records than \(kind)") }
        guard Int(loadLE32(header, 16)) == recordSize else { throw fail("record size \(loadLE32(header, 16)), expected \(recordSize)") }
        recordsPerBlock = Int(loadLE32(header, 20))
        guard recordsPerBlock > 0, Array(footer[16..<24]) == RecordFile.endMagic else { throw fail("truncated (no end marker)") }
        count = Int(loadLE64(footer, 0))
        blockCount = (count + recordsPerBlock - 1) / recordsPerBlock
        let expected = RecordFile.headerSize + count * recordSize + blockCount * 8 + RecordFile.footerSize
        guard expected == size else { throw fail("\(size) bytes, but \(count) records need \(expected)") }
    }

    deinit { Glibc.close(fd) }

    private func blockOffset(_ b: Int) -> Int {
        RecordFile.headerSize + b * (recordsPerBlock * recordSize + 8)
    }

    private func recordsIn(_ b: Int) -> Int { min(recordsPerBlock, count - b * recordsPerBlock) }

    /// Reads and checks block `b` into the buffer.
    private func load(_ b: Int) throws {
        if bufferBlock == b { return }
        let n = recordsIn(b)
        let bytes = n * recordSize
        if buffer.count != bytes + 8 { buffer = [UInt8](repeating: 0, count: bytes + 8) }
        guard preadFully(fd, &buffer, offset: blockOffset(b)) else { throw DedupFileError(path: path, "cannot read block \(b)") }
        let sum = buffer.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<bytes])) }
        guard sum == loadLE64(buffer, bytes) else {
            bufferBlock = -1
            throw DedupFileError(path: path, "checksum mismatch in block \(b) (records \(b * recordsPerBlock)…)")
        }
        bufferBlock = b
    }

    /// Calls `body` with the bytes of records `[start, start + n)` of one block, for consecutive
    /// blocks from the one holding `start`; `body` returns false to stop.
    func forEachBlock(from start: Int = 0, _ body: (UnsafeRawBufferPointer, Int) throws -> Bool) throws {
        var i = start
        while i < count {
            let b = i / recordsPerBlock
            try load(b)
            let first = i - b * recordsPerBlock
            let n = recordsIn(b) - first
            let keepGoing = try buffer.withUnsafeBytes { raw in
                try body(UnsafeRawBufferPointer(rebasing: raw[(first * recordSize)..<((first + n) * recordSize)]), i)
            }
            if !keepGoing { return }
            i += n
        }
    }

    /// Reads the whole file, checking every block (for small files and tests).
    func readAll() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count * recordSize)
        try forEachBlock { raw, _ in
            out.append(contentsOf: raw)
            return true
        }
        return out
    }

    /// The first record index `i` for which `isAtOrAfter(record i)` holds, assuming the
    /// records are sorted so that the predicate is false then true. Checks every block it
    /// reads.
    func lowerBound(_ isAtOrAfter: (UnsafeRawBufferPointer) -> Bool) throws -> Int {
        var lo = 0
        var hi = blockCount
        // First find the block: the first whose last record satisfies the predicate.
        while lo < hi {
            let mid = (lo + hi) / 2
            try load(mid)
            let last = recordsIn(mid) - 1
            let ok = buffer.withUnsafeBytes { isAtOrAfter(UnsafeRawBufferPointer(rebasing: $0[(last * recordSize)..<((last + 1) * recordSize)])) }
            if ok { hi = mid } else { lo = mid + 1 }
        }
        guard lo < blockCount else { return count }
        try load(lo)
        for r in 0..<recordsIn(lo) {
            let ok = buffer.withUnsafeBytes { isAtOrAfter(UnsafeRawBufferPointer(rebasing: $0[(r * recordSize)..<((r + 1) * recordSize)])) }
            if ok { return lo * recordsPerBlock + r }
        }
        return min(count, (lo + 1) * recordsPerBlock)
    }
}

/// A forward cursor over the records of one file, from a start index, one record at a time.
struct RecordCursor {
    let reader: RecordFileReader
    private var block: [UInt8] = []
    private var position = 0
    private var blockCount = 0
    private(set) var index: Int
    private let end: Int

    init(_ reader: RecordFileReader, from start: Int = 0, to end: Int? = nil) {
        self.reader = reader
        index = start
        self.end = end ?? reader.count
    }

    var isAtEnd: Bool { index >= end }

    /// Makes sure the current record is loaded; false at the end.
    mutating func fill() throws -> Bool {
        if index >= end { return false }
        if position < blockCount { return true }
        var got: [UInt8] = []
        var first = 0
        try reader.forEachBlock(from: index) { raw, at in
            got = Array(raw)
            first = at
            return false
        }
        precondition(first == index)
        block = got
        blockCount = min(got.count / reader.recordSize, end - index)
        position = 0
        return blockCount > 0
    }

    /// The current record's bytes (after a successful ``fill()``).
    @inline(__always) func withRecord<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        let rs = reader.recordSize
        return block.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[(position * rs)..<((position + 1) * rs)])) }
    }

    @inline(__always) func u64(at offset: Int) -> UInt64 {
        loadLE64(block, position * reader.recordSize + offset)
    }

    @inline(__always) func u32(at offset: Int) -> UInt32 {
        loadLE32(block, position * reader.recordSize + offset)
    }

    @inline(__always) func f64(at offset: Int) -> Double {
        Double(bitPattern: u64(at: offset))
    }

    mutating func advance() {
        position += 1
        index += 1
    }
}

// MARK: - Little-endian helpers

@inline(__always) func appendLE(_ v: UInt32, to out: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
}

@inline(__always) func appendLE(_ v: UInt64, to out: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
}

@inline(__always) func loadLE32(_ b: [UInt8], _ offset: Int) -> UInt32 {
    b.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
}

@inline(__always) func loadLE64(_ b: [UInt8], _ offset: Int) -> UInt64 {
    b.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
}

@inline(__always) func loadLE32(_ b: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
    UInt32(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

@inline(__always) func loadLE64(_ b: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
    UInt64(littleEndian: b.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}

private func preadFully(_ fd: Int32, _ buffer: inout [UInt8], offset: Int) -> Bool {
    let n = buffer.count
    return buffer.withUnsafeMutableBytes { raw -> Bool in
        var done = 0
        while done < n {
            let r = pread(fd, raw.baseAddress! + done, n - done, off_t(offset + done))
            if r < 0 {
                if errno == EINTR { continue }
                return false
            }
            if r == 0 { return false }
            done += r
        }
        return true
    }
}

// MARK: - Folders and small files

/// Small file-system helpers on Glibc (the dedup module does not use Foundation).
enum Files {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and its parents.
    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            if isDirectory(prefix) { continue }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw FileError(path: prefix, operation: "create directory", code: errno)
            }
        }
    }

    /// The names in a folder, sorted (empty when it does not exist).
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func remove(_ path: String) {
        _ = unlink(path)
    }

    /// Removes a folder and everything in it.
    static func removeTree(_ path: String) {
        guard isDirectory(path) else {
            remove(path)
            return
        }
        for name in list(path) { removeTree(path + "/" + name) }
        _ = rmdir(path)
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        let source = try ByteSource.readWholeFile(path: path, maxBytes: 1 << 30)
        return source.bytes
    }
}
