import Foundation
import SluiceCore
import SluiceIO

// The work files of one `score_buckets` job, under `OUT/_work/<stage id>/`:
//
//   scores/TTTTT.scores   step 1, per task: one (key, weight) record per scored document
//   scores/TTTTT.json     step 1, per task: what the task saw; written last (its presence
//                         means the task's score file is complete)
//   boundaries.json       step 2 (task 0): the percentiles and their boundaries

/// The folder of one score-bucket job and the names inside it.
struct ScoreBucketWork: Sendable {
    let name: String
    let root: String

    init(context: TaskContext, name: String) {
        self.name = name
        root = context.workFolder(name)
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    static func taskName(_ t: Int) -> String {
        let s = String(t)
        return s.count >= 5 ? s : String(repeating: "0", count: 5 - s.count) + s
    }

    func scoresPath(task: Int) -> String { path("scores/\(Self.taskName(task)).scores") }
    func recordPath(task: Int) -> String { path("scores/\(Self.taskName(task)).json") }
    var boundariesPath: String { path("boundaries.json") }

    func makeDirectory(_ relative: String = "") throws {
        let p = relative.isEmpty ? root : path(relative)
        do {
            try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        } catch {
            throw ScoreBucketError("score_buckets: cannot create the work folder \(p): \(error)")
        }
    }

    /// Removes the given file and any temporary an interrupted write of it left.
    func removeStale(_ fullPath: String) {
        let fm = FileManager.default
        try? fm.removeItem(atPath: fullPath)
        let dir = (fullPath as NSString).deletingLastPathComponent
        let base = (fullPath as NSString).lastPathComponent
        for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? []
        where AtomicFile.isTemporaryName(name) && name.hasPrefix("." + base + AtomicFile.temporaryMarker) {
            try? fm.removeItem(atPath: dir + "/" + name)
        }
    }
}

/// The binary file of one task's scores: fixed 16-byte little-endian records.
///
/// ```
/// header   16 bytes: "SLSCORE1", record size (u32, 16), 0 (u32)
/// records  key (u64: ScoreBucketMath.key of the score), weight (u64)
/// footer   24 bytes: record count (u64), XXH64 of the record bytes (u64), "SLSCEND\0"
/// ```
///
/// Written atomically, so a file under its final name is complete; every pass over it
/// checks its length and checksum.
enum ScoreFile {
    static let magic: [UInt8] = Array("SLSCORE1".utf8)
    static let endMagic: [UInt8] = Array("SLSCEND\0".utf8)
    static let headerSize = 16
    static let footerSize = 24
    static let recordSize = 16

    static func expectedSize(records: Int) -> Int { headerSize + records * recordSize + footerSize }
}

/// Appends records to a score file; ``commit()`` makes it appear under its final name.
final class ScoreFileWriter {
    let path: String
    private let writer: AtomicFileWriter
    private var buffer: [UInt8] = []
    private var hash = XXH64(seed: 0)
    private(set) var count = 0

    init(path: String) throws {
        self.path = path
        writer = try AtomicFileWriter(path: path, bufferCapacity: 1 << 20)
        var header = ScoreFile.magic
        appendLE32(UInt32(ScoreFile.recordSize), &header)
        appendLE32(0, &header)
        try writer.write(header)
        buffer.reserveCapacity(1 << 16)
    }

    func append(key: UInt64, weight: UInt64) throws {
        appendLE64(key, &buffer)
        appendLE64(weight, &buffer)
        count += 1
        if buffer.count >= 1 << 16 { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { hash.update($0) }
        try writer.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func commit() throws {
        try flush()
        var footer: [UInt8] = []
        appendLE64(UInt64(count), &footer)
        appendLE64(hash.finalize(), &footer)
        footer += ScoreFile.endMagic
        try writer.write(footer)
        try writer.commit()
    }
}

/// Reads a score file once from start to end, checking its header, length and checksum.
func readScoreFile(_ path: String, records expected: Int, _ visit: (UInt64, UInt64) -> Void) throws {
    let source: ByteSource
    do {
        source = try ByteSource(path: path, format: .plain)
    } catch {
        throw ScoreBucketError("score_buckets: cannot read \(path) (\(error)); the scores step must run first. Delete the job's work folder and its _steps/ folders to rerun it from the start")
    }
    defer { source.close() }
    func damaged(_ what: String) -> ScoreBucketError {
        ScoreBucketError("score_buckets: \(path) is damaged or from another run (\(what)). Delete the work folder OUT/_work and the _steps/ folders of the job and run again")
    }
    guard source.fileSize == ScoreFile.expectedSize(records: expected) else {
        throw damaged("\(source.fileSize) bytes, expected \(ScoreFile.expectedSize(records: expected)) for \(expected) records")
    }
    let chunk = 1 << 20
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    var header = [UInt8](repeating: 0, count: ScoreFile.headerSize)
    let h = try header.withUnsafeMutableBytes { try readFully(source, $0) }
    guard h == ScoreFile.headerSize, Array(header[0..<8]) == ScoreFile.magic, loadLE32(header, 8) == UInt32(ScoreFile.recordSize)
    else { throw damaged("bad header") }
    var left = expected * ScoreFile.recordSize
    var hash = XXH64(seed: 0)
    while left > 0 {
        let want = min(chunk, left)
        let n = try readFully(source, UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
        guard n == want else { throw damaged("truncated") }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
        hash.update(bytes)
        var o = 0
        while o < n {
            let key = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self))
            let weight = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self))
            visit(key, weight)
            o += ScoreFile.recordSize
        }
        left -= n
    }
    var footer = [UInt8](repeating: 0, count: ScoreFile.footerSize)
    let f = try footer.withUnsafeMutableBytes { try readFully(source, $0) }
    guard f == ScoreFile.footerSize, Array(footer[16..<24]) == ScoreFile.endMagic else { throw damaged("bad footer") }
    guard loadLE64(footer, 0) == UInt64(expected) else { throw damaged("footer count \(loadLE64(footer, 0)), expected \(expected)") }
    guard loadLE64(footer, 8) == hash.finalize() else { throw damaged("checksum mismatch") }
}

private func readFully(_ source: ByteSource, _ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var done = 0
    while done < buffer.count {
        let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
        if n == 0 { break }
        done += n
    }
    return done
}

@inline(__always) private func appendLE64(_ v: UInt64, _ out: inout [UInt8]) {
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
}

@inline(__always) private func appendLE32(_ v: UInt32, _ out: inout [UInt8]) {
    for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
}

private func loadLE64(_ b: [UInt8], _ o: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<8 { v |= UInt64(b[o + i]) << (8 * UInt64(i)) }
    return v
}

private func loadLE32(_ b: [UInt8], _ o: Int) -> UInt32 {
    var v: UInt32 = 0
    for i in 0..<4 { v |= UInt32(b[o + i]) << (8 * UInt32(i)) }
    return v
}

/// What one task of the scores step saw, written after its score file.
struct ScoreTaskRecord: Sendable {
    var task: Int
    var tasks: Int
    var jobID: String
    /// Documents read (scored or not).
    var documents: Int
    /// Records in the score file.
    var scored: Int
    /// Documents without a usable score.
    var missing: Int
    /// Documents with a score left out by `sample`.
    var sampledOut: Int
    var weightTotal: UInt64
    var minimum: Double?
    var maximum: Double?
    var inputFiles: [String]

    var json: JSONValue {
        .object([
            "task": .int(task), "tasks": .int(tasks), "job_id": .string(jobID), "documents": .int(documents),
            "scored": .int(scored), "missing": .int(missing), "sampled_out": .int(sampledOut),
            "weight_total": .number(JSONNumber(uncheckedLiteral: String(weightTotal))),
            "min": minimum.map { .double($0) } ?? .null, "max": maximum.map { .double($0) } ?? .null,
            "input_files": .array(inputFiles.map { .string($0) }),
        ])
    }

    func write(_ work: ScoreBucketWork) throws {
        try writeSmallJSONFile(work.recordPath(task: task), json)
    }

    static func read(_ work: ScoreBucketWork, task: Int) throws -> ScoreTaskRecord {
        let path = work.recordPath(task: task)
        let o = try readSmallJSON(path, missingHint: "the scores step must run first (same stage id, same task count)")
        func int(_ k: String) throws -> Int {
            guard case .number(let n)? = o[k], let i = n.intValue else { throw ScoreBucketError("score_buckets: \(path): '\(k)' is not an integer; the file is damaged, delete the job's work folder and rerun") }
            return i
        }
        guard let job = o["job_id"]?.stringValue, case .number(let w)? = o["weight_total"], let weight = UInt64(w.literal),
            let files = o["input_files"]?.arrayValue
        else { throw ScoreBucketError("score_buckets: \(path) is damaged; delete the job's work folder and rerun") }
        return ScoreTaskRecord(
            task: try int("task"), tasks: try int("tasks"), jobID: job, documents: try int("documents"),
            scored: try int("scored"), missing: try int("missing"), sampledOut: try int("sampled_out"), weightTotal: weight,
            minimum: o["min"]?.doubleValue, maximum: o["max"]?.doubleValue, inputFiles: files.compactMap(\.stringValue))
    }
}

func readSmallJSON(_ path: String, missingHint: String) throws -> JSONObject {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ScoreBucketError("score_buckets: \(path) is missing; \(missingHint)")
    }
    let value: JSONValue
    do {
        value = try parseJSONValue([UInt8](data))
    } catch {
        throw ScoreBucketError("score_buckets: \(path) is not valid JSON (\(error)); delete the job's work folder and rerun")
    }
    guard case .object(let o) = value else { throw ScoreBucketError("score_buckets: \(path) is not a JSON object") }
    return o
}
