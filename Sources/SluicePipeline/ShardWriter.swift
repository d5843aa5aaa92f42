import SluiceCore
import SluiceIO
import SluiceStats

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
    /// Uncompressed bytes in the open shard.
    private var currentBytes = 0
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

    /// Appends encoded JSONL lines; `profiles` describes the lines of `bytes` in order.
    func append(_ bytes: [UInt8], profiles: DocumentProfiles, inputFile: String) throws {
        var start = 0
        var runStart = 0
        var runBytes = 0
        var runFirst = 0
        for i in 0..<profiles.count {
            let lineBytes = profiles.lineBytes[i]
            if file != nil, currentBytes + lineBytes > maxShardBytes, currentBytes > 0 {
                try write(bytes, from: runStart, count: runBytes)
                addStatistics(profiles, runFirst..<i, inputFile: inputFile)
                try finishShard()
                runStart = start
                runBytes = 0
                runFirst = i
            }
            if file == nil { try openShard() }
            currentBytes += lineBytes
            runBytes += lineBytes
            start += lineBytes
        }
        if runBytes > 0 { try write(bytes, from: runStart, count: runBytes) }
        addStatistics(profiles, runFirst..<profiles.count, inputFile: inputFile)
    }

    private func addStatistics(_ profiles: DocumentProfiles, _ range: Range<Int>, inputFile: String) {
        guard !range.isEmpty else { return }
        current.add(profiles, range: range)
        current.noteInputFile(inputFile)
    }

    private func openShard() throws {
        let name = relativeName(sequence)
        file = try AtomicFileWriter(path: layout.path(name))
        compressor = try ZstdCompressor(level: level, workers: compressionThreads)
        hasher = XXH64()
        current = ShardStatistics()
        currentBytes = 0
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
