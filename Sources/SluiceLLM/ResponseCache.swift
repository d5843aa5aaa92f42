import Foundation
import SluiceCore
import Synchronization

/// A 128-bit cache key.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The key of a list of parts: each part is length-prefixed, then hashed twice (XXH64 with
    /// two seeds), so `["ab", "c"]` and `["a", "bc"]` differ.
    public init(parts: [String]) {
        var bytes: [UInt8] = Array("sluice-llm-cache-v1".utf8)
        for p in parts {
            let u = Array(p.utf8)
            var n = UInt64(u.count)
            withUnsafeBytes(of: &n) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: u)
        }
        high = XXH64.hash(bytes, seed: 0x5EED_0001)
        low = XXH64.hash(bytes, seed: 0x5EED_0002)
    }

    public var description: String { hex64(high) + hex64(low) }
}

/// A persistent map from ``CacheKey`` to bytes (a finished reply), safe against `kill -9` and
/// shared by concurrent processes.
///
/// The cache is a folder of append-only log files. Each process that writes makes its own file
/// (`<time>-<pid>-<random>.log`, never appended to by anyone else) and adds one record per
/// entry with a single `write(2)`:
///
/// ```
/// "SLC1"  UInt32 payload length  16-byte key  payload  UInt64 XXH64(key + payload)   (little-endian)
/// ```
///
/// Opening reads every log and indexes the valid records (key → file and offset; payloads stay
/// on disk and are read on lookup). A record cut short by a crash fails its length or
/// checksum and is ignored with everything after it in that file, so a kill at any moment
/// loses at most the record being written and never yields a damaged entry. Records are not
/// fsynced one by one: a killed process loses nothing the kernel already has, a power cut may
/// lose the newest records (which are then simply requested again). Memory use is about 64
/// bytes per entry; delete the folder to start afresh.
public final class ResponseCache: Sendable {
    public let directory: String

    private struct Location {
        var file: Int
        var offset: Int
        var length: Int
    }

    private struct State: ~Copyable {
        var files: [String] = []
        var index: [CacheKey: Location] = [:]
        var writer: Int32 = -1
        var writerFile = -1
        var writerOffset = 0
        var damaged = 0
    }

    private let state: Mutex<State>

    static let magic: [UInt8] = Array("SLC1".utf8)
    static let headerBytes = 4 + 4 + 16
    static let maxPayload = 256 << 20

    /// Opens (creating if needed) the cache in `directory` and indexes its logs.
    ///
    /// - Throws: ``LLMError/setup(_:)`` when the folder cannot be made or read.
    public init(directory: String) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LLMError.setup("cannot create the LLM response cache folder \(directory): \(error.localizedDescription); set cache_dir to a writable folder")
        }
        var files: [String] = []
        var index: [CacheKey: Location] = [:]
        var damaged = 0
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
        for name in names {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let fileIndex = files.count
            files.append(path)
            damaged += Self.scan([UInt8](data)) { key, offset, length in
                index[key] = Location(file: fileIndex, offset: offset, length: length)
            }
        }
        var s = State()
        s.files = files
        s.index = index
        s.damaged = damaged
        state = Mutex(s)
    }

    deinit {
        state.withLock { s in
            if s.writer >= 0 {
                fsync(s.writer)
                close(s.writer)
                s.writer = -1
            }
        }
    }

    /// Entries indexed.
    public var count: Int { state.withLock { $0.index.count } }

    /// Log files whose tail was cut off or damaged (found when opening).
    public var damagedFiles: Int { state.withLock { $0.damaged } }

    /// Calls `record` for every valid record in `bytes`; returns 1 if the log ends in a damaged
    /// or partial record, else 0.
    static func scan(_ bytes: [UInt8], record: (CacheKey, Int, Int) -> Void) -> Int {
        var at = 0
        return bytes.withUnsafeBytes { raw -> Int in
            while at < raw.count {
                guard raw.count - at >= headerBytes + 8,
                    raw[at] == magic[0], raw[at + 1] == magic[1], raw[at + 2] == magic[2], raw[at + 3] == magic[3]
                else { return 1 }
                let length = Int(raw.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self).littleEndian)
                guard length <= maxPayload, raw.count - at >= headerBytes + length + 8 else { return 1 }
                let high = raw.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self).littleEndian
                let low = raw.loadUnaligned(fromByteOffset: at + 16, as: UInt64.self).littleEndian
                let body = UnsafeRawBufferPointer(rebasing: raw[(at + 8)..<(at + headerBytes + length)])
                let check = raw.loadUnaligned(fromByteOffset: at + headerBytes + length, as: UInt64.self).littleEndian
                guard XXH64.hash(body, seed: 0xCAC4E) == check else { return 1 }
                record(CacheKey(high: high, low: low), at + headerBytes, length)
                at += headerBytes + length + 8
            }
            return 0
        }
    }

    /// The bytes stored for `key`, or nil.
    public func value(for key: CacheKey) -> [UInt8]? {
        guard let (path, loc) = state.withLock({ s -> (String, Location)? in
            guard let l = s.index[key] else { return nil }
            return (s.files[l.file], l)
        }) else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: loc.length)
        var done = 0
        while done < loc.length {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, loc.length - done, off_t(loc.offset + done)) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return nil
            }
            done += n
        }
        return out
    }

    /// Stores `value` under `key` (appending a record to this process's log).
    ///
    /// - Throws: ``LLMError/setup(_:)`` when the log cannot be written (disk full, permissions).
    public func store(_ value: [UInt8], for key: CacheKey) throws {
        precondition(value.count <= Self.maxPayload)
        var record = [UInt8]()
        record.reserveCapacity(Self.headerBytes + value.count + 8)
        record.append(contentsOf: Self.magic)
        var len = UInt32(value.count).littleEndian
        withUnsafeBytes(of: &len) { record.append(contentsOf: $0) }
        var h = key.high.littleEndian, l = key.low.littleEndian
        withUnsafeBytes(of: &h) { record.append(contentsOf: $0) }
        withUnsafeBytes(of: &l) { record.append(contentsOf: $0) }
        record.append(contentsOf: value)
        var check = record[8...].withUnsafeBytes { XXH64.hash($0, seed: 0xCAC4E) }.littleEndian
        withUnsafeBytes(of: &check) { record.append(contentsOf: $0) }

        try state.withLock { s in
            if s.writer < 0 {
                let name = String(format: "%013ld-%d-%08x.log", Int(Date().timeIntervalSince1970 * 1000), getpid(), UInt32.random(in: 0...UInt32.max))
                let path = directory + "/" + name
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
                guard fd >= 0 else {
                    throw LLMError.setup("cannot create \(path) in the LLM response cache: \(String(cString: strerror(errno)))")
                }
                s.writer = fd
                s.writerFile = s.files.count
                s.files.append(path)
                s.writerOffset = 0
            }
            var done = 0
            while done < record.count {
                let n = record.withUnsafeBytes { write(s.writer, $0.baseAddress! + done, record.count - done) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw LLMError.setup("cannot write the LLM response cache \(s.files[s.writerFile]): \(String(cString: strerror(errno)))")
                }
                done += n
            }
            s.index[key] = Location(file: s.writerFile, offset: s.writerOffset + Self.headerBytes, length: value.count)
            s.writerOffset += record.count
        }
    }

    /// Makes the records written so far durable (fsync).
    public func flush() {
        state.withLock { s in
            if s.writer >= 0 { fsync(s.writer) }
        }
    }

    /// Every key with its stored bytes (for inspection and tests).
    public func allEntries() -> [(CacheKey, [UInt8])] {
        let keys = state.withLock { Array($0.index.keys) }
        return keys.compactMap { k in value(for: k).map { (k, $0) } }
    }
}
