import SluiceCore
import SluiceIO

/// What the writer needs to know about one encoded document besides its bytes.
struct EncodedDocumentInfo: Sendable {
    var lineBytes: Int
    var characters: Int
    var words: Int
    var lines: Int
}

/// Statistics of one shard, written beside it as `NNNNN_NNNN.stats.json`.
struct ShardStatistics: Sendable {
    var documents = 0
    var bytes = 0
    var compressedBytes = 0
    var characters = 0
    var words = 0
    var lines = 0
    var characterHistogram = LogHistogram()
    var inputFiles: [String] = []

    mutating func add(_ info: EncodedDocumentInfo) {
        documents += 1
        bytes += info.lineBytes
        characters += info.characters
        words += info.words
        lines += info.lines
        characterHistogram.add(Double(info.characters))
    }

    func json(shard: String) -> JSONValue {
        .object([
            "shard": .string(shard),
            "documents": .int(documents), "bytes": .int(bytes), "compressed_bytes": .int(compressedBytes),
            "characters": .int(characters), "words": .int(words), "lines": .int(lines),
            "histograms": .object(["characters": characterHistogram.json]),
            "input_files": .array(inputFiles.map { .string($0) }),
        ])
    }
}

extension LogHistogram {
    /// Sparse JSON form: `{"bins_per_doubling": 4, "total": n, "sum": s, "min": a, "max": b, "counts": {"bin": count}}`.
    var json: JSONValue {
        var counts = JSONObject()
        for (i, c) in self.counts.enumerated() where c > 0 { counts.append(key: String(i), value: .int(c)) }
        return .object([
            "bins_per_doubling": .int(LogHistogram.binsPerDoubling), "total": .int(total),
            "sum": .double(sum), "min": total > 0 ? .double(min) : .null, "max": total > 0 ? .double(max) : .null,
            "counts": .object(counts),
        ])
    }

    init(json: JSONValue) {
        let o = json.objectValue ?? JSONObject()
        var counts = Array(repeating: 0, count: LogHistogram.binCount)
        for e in o["counts"]?.objectValue ?? JSONObject() {
            if let i = Int(e.key), i >= 0, i < counts.count, case .number(let n) = e.value { counts[i] = n.intValue ?? 0 }
        }
        self.init(
            counts: counts, total: Int(o["total"]?.doubleValue ?? 0), sum: o["sum"]?.doubleValue ?? 0,
            min: o["min"]?.doubleValue ?? .infinity, max: o["max"]?.doubleValue ?? -.infinity)
    }
}

/// Writes a task's documents into shards `TTTTT_SSSS.jsonl.zst`, rotating when a shard's
/// uncompressed size would pass `maxShardBytes`. Each shard is written under a temporary name,
/// fsynced and renamed when complete, with its statistics sidecar; the records of finished
/// shards go into the task's completion marker.
final class ShardSink {
    private let layout: OutputLayout
    private let task: Int
    private let maxShardBytes: Int
    private let level: Int
    private let compressionThreads: Int
    private let relativeName: (Int) -> String
    private let writeSidecars: Bool

    private var sequence = 0
    private var file: AtomicFileWriter?
    private var compressor: ZstdCompressor?
    private var compressed: [UInt8] = []
    private var hasher = XXH64()
    private var current = ShardStatistics()
    private var currentInputs: [String] = []
    private(set) var records: [ShardRecord] = []

    init(layout: OutputLayout, task: Int, maxShardBytes: Int, level: Int, compressionThreads: Int,
         writeSidecars: Bool, relativeName: @escaping (Int) -> String) {
        self.layout = layout
        self.task = task
        self.maxShardBytes = max(1, maxShardBytes)
        self.level = level
        self.compressionThreads = compressionThreads
        self.writeSidecars = writeSidecars
        self.relativeName = relativeName
    }

    /// Appends encoded JSONL lines; `infos[i]` describes the i-th line of `bytes`.
    func append(_ bytes: [UInt8], infos: [EncodedDocumentInfo], inputFile: String) throws {
        var start = 0
        var runStart = 0
        var runBytes = 0
        for info in infos {
            if file != nil, current.bytes + info.lineBytes > maxShardBytes, current.bytes > 0 {
                try write(bytes, from: runStart, count: runBytes)
                try finishShard()
                runStart = start
                runBytes = 0
            }
            if file == nil { try openShard() }
            current.add(info)
            noteInput(inputFile)
            runBytes += info.lineBytes
            start += info.lineBytes
        }
        if runBytes > 0 { try write(bytes, from: runStart, count: runBytes) }
    }

    private func noteInput(_ f: String) {
        if currentInputs.last != f && !currentInputs.contains(f) { currentInputs.append(f) }
    }

    private func openShard() throws {
        let name = relativeName(sequence)
        file = try AtomicFileWriter(path: layout.path(name))
        compressor = try ZstdCompressor(level: level, workers: compressionThreads)
        hasher = XXH64()
        current = ShardStatistics()
        currentInputs = []
        compressed.removeAll(keepingCapacity: true)
    }

    private func write(_ bytes: [UInt8], from start: Int, count: Int) throws {
        guard let compressor, let file else { return }
        compressed.removeAll(keepingCapacity: true)
        try bytes.withUnsafeBytes { raw in
            try compressor.compress(UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)]), into: &compressed)
        }
        try flushCompressed(to: file)
    }

    private func flushCompressed(to file: AtomicFileWriter) throws {
        guard !compressed.isEmpty else { return }
        try compressed.withUnsafeBytes { raw in
            hasher.update(raw)
            try file.write(raw)
        }
        current.compressedBytes += compressed.count
        compressed.removeAll(keepingCapacity: true)
    }

    private func finishShard() throws {
        guard let compressor, let file else { return }
        compressed.removeAll(keepingCapacity: true)
        try compressor.endFrame(into: &compressed)
        try flushCompressed(to: file)
        current.inputFiles = currentInputs
        let name = relativeName(sequence)
        if writeSidecars {
            try writeAtomically(
                path: layout.path(OutputLayout.shardStatsName(forShard: name)),
                bytes: prettyJSON(current.json(shard: name)))
        }
        try file.commit()
        records.append(
            ShardRecord(
                path: name, documents: current.documents, bytes: current.bytes,
                compressedBytes: current.compressedBytes, checksum: hex64(hasher.finalize())))
        self.file = nil
        self.compressor = nil
        sequence += 1
    }

    /// Completes the open shard, if any, and returns every shard's record.
    func finish() throws -> [ShardRecord] {
        if file != nil { try finishShard() }
        return records
    }

    /// Drops the open shard's temporary file.
    func abort() {
        file?.abort()
        file = nil
        compressor = nil
    }
}
