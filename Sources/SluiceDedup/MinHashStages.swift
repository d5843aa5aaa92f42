import Glibc
import SluiceCore
import SluiceIO

// MinHash-LSH deduplication in four steps, as datatrove runs it, with files that carry
// checksums and steps that run in parallel in bounded memory:
//
//   minhash_signatures  per task: signatures, sorted per band      work/signatures/band_BBB/TTTTT-RRRR.sig
//   minhash_buckets     per band (and hash range): duplicate pairs work/buckets/pairs-BBB-SSSS.pairs
//   minhash_clusters    connected components, keepers, decisions   work/clusters/TTTTT.dec, work/report.json
//   minhash_filter      per task: drops all but the keeper         (the step's shards)
//
// `minhash_dedup` stands for all four in one step.

/// Options of the signature step (and of `minhash_dedup`).
struct MinHashSettings: Sendable {
    var parameters: MinHashParameters
    var ranking: KeeperRanking
    var memoryBytes: Int

    var jobID: String {
        let p = parameters
        let text = "minhash:v1:ngram=\(p.ngram):bands=\(p.bands):rows=\(p.rows):seed=\(p.seed):hash=\(p.hash.recordName):keep=\(ranking.policy.rawValue):field=\(ranking.field?.text ?? "")"
        return hex64(XXH64.hash(text))
    }

    static func make(
        ngram: Int?, bands: Int?, rows: Int?, seed: Int?, hash: ShingleHash? = nil, keep: KeepPolicy?,
        priorityField: String?, memory: ByteSize?, stage: String
    ) throws -> MinHashSettings {
        let p = MinHashParameters(
            ngram: ngram ?? 5, bands: bands ?? 14, rows: rows ?? 8, seed: UInt32(clamping: seed ?? 1), hash: hash ?? .xxhash)
        guard (1...64).contains(p.ngram) else { throw StageConfigurationError("ngram must be from 1 to 64, got \(p.ngram)") }
        guard (1...1024).contains(p.bands) else { throw StageConfigurationError("bands must be from 1 to 1024, got \(p.bands)") }
        guard (1...256).contains(p.rows) else { throw StageConfigurationError("rows must be from 1 to 256, got \(p.rows)") }
        if let seed, seed < 0 || seed > Int(UInt32.max) {
            throw StageConfigurationError("seed must be from 0 to 4294967295 (numpy's RandomState seeds), got \(seed)")
        }
        let memory = memory?.bytes ?? 256_000_000
        guard memory >= 1_000_000 else { throw StageConfigurationError("memory must be at least 1MB, got \(memory) bytes") }
        return MinHashSettings(
            parameters: p, ranking: try KeeperRanking(policy: keep ?? .first, field: priorityField, stage: stage),
            memoryBytes: memory)
    }
}

let minhashCommonOptions: [StageOption] = [
    StageOption("ngram", "int", default: "5", help: "Words per shingle (datatrove's n_grams)."),
    StageOption("bands", "int", default: "14", help: "LSH bands (datatrove's num_buckets); more bands catch lower similarities."),
    StageOption("rows", "int", default: "8", help: "Hashes per band (datatrove's hashes_per_bucket); more rows demand higher similarity."),
    StageOption("seed", "int", default: "1", help: "Seed of the hash permutations, drawn as numpy.random.RandomState(seed) does."),
    StageOption("hash", "xxhash | sha1", default: "xxhash", help: "Shingle hash: xxhash (xxHash64, datatrove 0.10.1's default) or sha1 (the first 8 bytes of SHA-1, as FineWeb ran datatrove; the signature step then takes about 1.7x the CPU time)."),
    StageOption("keep", "first | highest | lowest", default: "first", help: "Which document of a cluster survives: the first in input order, or the one with the highest or lowest priority_field."),
    StageOption("priority_field", "string", default: "null", help: "For keep: highest/lowest: the field to compare (metadata path, created or added; numbers, or ISO-8601 dates)."),
    StageOption("memory", "size", default: "256MB", help: "Signatures held in memory per task before a sorted run is written to disk."),
]

// MARK: - Step 1: signatures

/// Computes each document's MinHash signature and writes it, sorted per band, to the work
/// folder. Documents end here: the step writes no shards, and the removal step reads the same
/// input again.
///
/// YAML type `minhash_signatures`. Runs in parallel on every worker. Text is normalised and
/// split into words exactly as datatrove does (see ``DatatroveText``), so signatures equal
/// datatrove's. A document with fewer words than `ngram` gets no signature and is never a
/// duplicate (as in datatrove).
///
/// ```yaml
/// steps:
///   - name: signatures
///     stages: [{type: minhash_signatures, work: minhash}]
///   - name: buckets
///     stages: [{type: minhash_buckets, work: minhash}]
///   - name: clusters
///     stages: [{type: minhash_clusters, work: minhash}]
///     run: {tasks: 1}
///   - name: dedup
///     stages: [{type: minhash_filter, work: minhash}]
/// ```
public struct MinhashSignatures: DocumentSinkStage {
    public struct Configuration: WorkFolderConfiguration {
        public var ngram: Int?
        public var bands: Int?
        public var rows: Int?
        public var seed: Int?
        public var hash: ShingleHash?
        public var keep: KeepPolicy?
        public var priorityField: String?
        public var memory: ByteSize?
        public var work: String?

        enum CodingKeys: String, CodingKey {
            case ngram, bands, rows, seed, hash, keep, memory, work
            case priorityField = "priority_field"
        }

        public init(
            ngram: Int? = nil, bands: Int? = nil, rows: Int? = nil, seed: Int? = nil, hash: ShingleHash? = nil,
            keep: KeepPolicy? = nil, priorityField: String? = nil, memory: ByteSize? = nil, work: String? = nil
        ) {
            self.ngram = ngram
            self.bands = bands
            self.rows = rows
            self.seed = seed
            self.hash = hash
            self.keep = keep
            self.priorityField = priorityField
            self.memory = memory
            self.work = work
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ngram = try c.decodeIfPresent(Int.self, forKey: .ngram)
            bands = try c.decodeIfPresent(Int.self, forKey: .bands)
            rows = try c.decodeIfPresent(Int.self, forKey: .rows)
            seed = try c.decodeIfPresent(Int.self, forKey: .seed)
            hash = try c.decodeIfPresent(ShingleHash.self, forKey: .hash)
            keep = try c.decodeIfPresent(KeepPolicy.self, forKey: .keep)
            priorityField = try c.decodeIfPresent(String.self, forKey: .priorityField)
            memory = try c.decodeIfPresent(ByteSize.self, forKey: .memory)
            work = try c.decodeIfPresent(String.self, forKey: .work)
        }
    }

    public static let type = "minhash_signatures"
    public static let summary = "MinHash step 1: signatures of each document, sorted per band into the work folder (no shards)."
    public static let options: [StageOption] =
        minhashCommonOptions + [workOption("minhash", "The work folder's name, OUT/_work/NAME; the four MinHash steps must share it.")]

    let settings: MinHashSettings
    let work: String
    private let a: [UInt64]
    private let b: [UInt64]
    private let tasks = Locked<[Int: SignatureTask]>([:])

    public init(configuration c: Configuration) throws {
        settings = try MinHashSettings.make(
            ngram: c.ngram, bands: c.bands, rows: c.rows, seed: c.seed, hash: c.hash, keep: c.keep, priorityField: c.priorityField,
            memory: c.memory, stage: Self.type)
        work = try checkWorkName(c.work ?? "minhash")
        (a, b) = MinHasher.permutations(count: settings.parameters.hashes, seed: settings.parameters.seed)
    }

    init(settings: MinHashSettings, work: String) {
        self.settings = settings
        self.work = work
        (a, b) = MinHasher.permutations(count: settings.parameters.hashes, seed: settings.parameters.seed)
    }

    public func beginTask(_ context: TaskContext) throws {
        let w = DedupWork(context: context, name: work)
        let task = try SignatureTask(context: context, work: w, settings: settings)
        tasks.withLock { $0[context.task] = task }
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        let p = settings.parameters
        var hasher = MinHasher(parameters: p, a: a, b: b)
        var result = BatchSignatures(count: batch.count)
        result.digests.reserveCapacity(batch.count * p.bands)
        for (i, doc) in batch.documents.enumerated() {
            if settings.ranking.usesPriority { result.priorities.append(settings.ranking.preference(of: doc)) }
            if hasher.sign(doc.text) {
                result.positions.append(UInt32(i))
                for band in 0..<p.bands { result.digests.append(hasher.bandDigest(band)) }
            }
        }
        stats.counters["signed", default: 0] += result.positions.count
        stats.counters["too_few_words", default: 0] += batch.count - result.positions.count
        guard let task = currentTask(batch: batch) else {
            throw DedupError("\(Self.type): a batch arrived outside a task; the stage needs a runtime that calls beginTask")
        }
        try task.deliver(sequence: batch.sequence, result)
    }

    private func currentTask(batch: DocumentBatch) -> SignatureTask? {
        tasks.withLock { t in t.count == 1 ? t.first!.value : nil }
    }

    public func finishTask(_ context: TaskContext, stats: inout StageStats) throws {
        guard let task = tasks.withLock({ $0.removeValue(forKey: context.task) }) else { return }
        try task.finish(stats: &stats)
    }
}

/// One batch's signatures: band digests of the documents that have one, by position.
struct BatchSignatures: Sendable {
    var count: Int
    var positions: [UInt32] = []
    /// `bands` digests per signed document, in the order of `positions`.
    var digests: [UInt64] = []
    /// The keeper preference of every document, when the policy needs one.
    var priorities: [Double] = []
}

/// The signatures of one task: batches arrive in any order and are numbered in input order;
/// every `memory` bytes a sorted run per band goes to disk.
final class SignatureTask: @unchecked Sendable {
    private let context: TaskContext
    private let work: DedupWork
    private let settings: MinHashSettings
    private let lock = Locked<Void>(())
    private var nextSequence = 0
    private var pending: [Int: BatchSignatures] = [:]
    private var documents = 0
    private var signed = 0
    private var keys: [[UInt64]]
    private var values: [[UInt32]]
    private var runs = 0
    private var files: [(path: String, records: Int)] = []
    private var priorityWriter: RecordFileWriter?
    private let runLimit: Int

    static let sigKind = "MSIG"
    static let sigSize = 12
    static let priorityKind = "PRIO"

    init(context: TaskContext, work: DedupWork, settings: MinHashSettings) throws {
        self.context = context
        self.work = work
        self.settings = settings
        let bands = settings.parameters.bands
        keys = Array(repeating: [], count: bands)
        values = Array(repeating: [], count: bands)
        // 12 bytes per record and band in memory, plus one band's copy while it is sorted.
        runLimit = max(1024, settings.memoryBytes / ((bands + 1) * 12))
        PhaseRecord.removeStale(work, "signatures", task: context.task)
        PhaseRecord.removeStale(work, "priorities", task: context.task)
        try Files.makeDirectories(work.path("signatures"))
        for band in 0..<bands { try Files.makeDirectories(work.path("signatures/" + Self.bandFolder(band))) }
        if settings.ranking.usesPriority {
            try Files.makeDirectories(work.path("priorities"))
            priorityWriter = try RecordFileWriter(
                path: work.path("priorities/\(DedupWork.taskName(context.task)).prio"), kind: Self.priorityKind,
                recordSize: 8)
        }
    }

    static func bandFolder(_ band: Int) -> String { "band_" + pad(band, 3) }

    func deliver(sequence: Int, _ batch: BatchSignatures) throws {
        try lock.withLock { _ in
            pending[sequence] = batch
            while let ready = pending.removeValue(forKey: nextSequence) {
                nextSequence += 1
                try append(ready)
            }
        }
    }

    private func append(_ batch: BatchSignatures) throws {
        let bands = settings.parameters.bands
        for (k, position) in batch.positions.enumerated() {
            let index = documents + Int(position)
            guard index < Int(UInt32.max) else {
                throw DedupError("minhash_signatures: task \(context.task) has more than 2^32-1 documents; use more tasks")
            }
            if keys[0].isEmpty {
                // Whole runs are reserved at once: no doubling beyond the memory budget.
                for band in 0..<bands {
                    keys[band].reserveCapacity(runLimit + 1024)
                    values[band].reserveCapacity(runLimit + 1024)
                }
            }
            for band in 0..<bands {
                keys[band].append(batch.digests[k * bands + band])
                values[band].append(UInt32(index))
            }
        }
        if let w = priorityWriter {
            for p in batch.priorities { try w.append { $0.f64(p) } }
        }
        documents += batch.count
        signed += batch.positions.count
        if keys[0].count >= runLimit { try spill() }
    }

    private func spill() throws {
        guard !keys[0].isEmpty else { return }
        for band in 0..<settings.parameters.bands {
            var k = keys[band]
            var v = values[band]
            keys[band] = []
            values[band] = []
            radixSort(keys: &k, values: &v)
            let rel = "signatures/\(Self.bandFolder(band))/\(DedupWork.taskName(context.task))-\(pad(runs, 4)).sig"
            let w = try RecordFileWriter(path: work.path(rel), kind: Self.sigKind, recordSize: Self.sigSize)
            for i in k.indices {
                try w.append { r in
                    r.u64(k[i])
                    r.u32(v[i])
                }
            }
            try w.commit()
            files.append((rel, k.count))
        }
        runs += 1
        // The run's arrays are freed; give their pages back before the next run is reserved,
        // or glibc keeps them and the resident set grows with every run.
        releaseFreeMemory()
    }

    func finish(stats: inout StageStats) throws {
        try lock.withLock { _ in
            guard pending.isEmpty else {
                throw DedupError("minhash_signatures: task \(context.task) ended with batches missing (next expected \(nextSequence))")
            }
            try spill()
            keys = []
            values = []
            releaseFreeMemory()
            try priorityWriter?.commit()
            let p = settings.parameters
            let record = PhaseRecord(
                task: context.task, tasks: context.tasks, documents: documents, inputFiles: context.inputFiles,
                jobID: settings.jobID, files: files,
                extra: [
                    "signed": .int(signed), "ngram": .int(p.ngram), "bands": .int(p.bands), "rows": .int(p.rows),
                    "seed": .int(Int(p.seed)), "hash": .string(p.hash.recordName), "keep": .string(settings.ranking.policy.rawValue),
                    "priority_field": settings.ranking.field.map { .string($0.text) } ?? .null,
                    "runs": .int(runs),
                ])
            try record.write(work, phase: "signatures")
            stats.counters["sorted_runs", default: 0] += runs
        }
    }
}

// MARK: - Step 2: buckets

/// Finds duplicate candidates: for each band, merges every task's sorted signatures and pairs
/// each document with the first of its run of equal band values.
///
/// YAML type `minhash_buckets`. Reads no documents. Its tasks share the bands (and, with more
/// tasks than bands, hash ranges within a band); each task merges its bands on all workers.
/// Memory: one 64 KiB block per signature file being merged.
public struct MinhashBuckets: WorkStage {
    public struct Configuration: Decodable, Sendable {
        public var work: String?
        enum CodingKeys: String, CodingKey { case work }
        public init(work: String? = nil) { self.work = work }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            work = try c.decodeIfPresent(String.self, forKey: .work)
        }
    }

    public static let type = "minhash_buckets"
    public static let summary = "MinHash step 2: merges the signatures per band into duplicate pairs (reads no documents)."
    public static let options: [StageOption] = [workOption("minhash", "The work folder's name; the same as minhash_signatures'.")]

    let work: String

    public init(configuration: Configuration) throws {
        work = try checkWorkName(configuration.work ?? "minhash")
    }

    init(work: String) { self.work = work }

    static let pairKind = "PAIR"

    public func runTask(_ context: TaskContext, stats: inout StageStats) throws {
        let w = DedupWork(context: context, name: work)
        let signed = try PhaseRecord.readAll(w, "signatures", stage: Self.type, producer: "minhash_signatures")
        let bands = try signed[0].extraInt("bands")
        var offsets = [0]
        for s in signed { offsets.append(offsets.last! + s.documents) }
        guard offsets.last! < Int(UInt32.max) else {
            throw DedupError("\(Self.type): \(offsets.last!) documents in all; at most 2^32-2 are supported per job")
        }
        // Signature files per band, with the task that wrote them.
        var bandFiles = Array(repeating: [(path: String, task: Int)](), count: bands)
        for s in signed {
            for f in s.files {
                guard let band = bandOf(f.path), band < bands else {
                    throw DedupFileError(path: PhaseRecord.path(w, "signatures", task: s.task), "lists an unexpected file \(f.path)")
                }
                bandFiles[band].append((w.path(f.path), s.task))
            }
        }
        let splits = max(1, (context.tasks + bands - 1) / bands)
        let units = Array(stride(from: context.task, to: bands * splits, by: context.tasks))
        PhaseRecord.removeStale(w, "buckets", task: context.task)
        try Files.makeDirectories(w.path("buckets"))
        let results = Locked<[Int: (path: String, pairs: Int, read: Int)]>([:])
        let offsetsCopy = offsets
        let bandFilesCopy = bandFiles
        try parallelFor(count: units.count, workers: context.workers) { k in
            let u = units[k]
            let band = u / splits
            let split = u % splits
            let rel = "buckets/\(DedupWork.taskName(context.task))-pairs-\(pad(band, 3))-\(pad(split, 4)).pairs"
            let r = try Self.mergeBand(
                files: bandFilesCopy[band], offsets: offsetsCopy, split: split, splits: splits, output: w.path(rel))
            results.withLock { $0[k] = (rel, r.pairs, r.read) }
        }
        let done = results.withLock { $0 }
        var files: [(path: String, records: Int)] = []
        for k in units.indices {
            let r = done[k]!
            files.append((r.path, r.pairs))
            stats.counters["signatures_read", default: 0] += r.read
            stats.counters["candidate_pairs", default: 0] += r.pairs
        }
        stats.counters["bands_merged", default: 0] += units.count
        try PhaseRecord(
            task: context.task, tasks: context.tasks, documents: 0, inputFiles: [], jobID: signed[0].jobID, files: files,
            extra: ["units": .array(units.map { .int($0) })]
        ).write(w, phase: "buckets")
    }

    /// The k-way merge of one band's sorted signature files over one hash range.
    static func mergeBand(
        files: [(path: String, task: Int)], offsets: [Int], split: Int, splits: Int, output: String
    ) throws -> (pairs: Int, read: Int) {
        let lo: UInt64 = split == 0 ? 0 : UInt64((UInt128(split) << 64) / UInt128(splits))
        let hi: UInt64? = split == splits - 1 ? nil : UInt64((UInt128(split + 1) << 64) / UInt128(splits))
        var cursors: [RecordCursor] = []
        var bases: [UInt32] = []
        var heap = KWayHeap<KeyPair>()
        for f in files {
            let reader = try RecordFileReader(path: f.path, kind: SignatureTask.sigKind, recordSize: SignatureTask.sigSize)
            let start = lo == 0 ? 0 : try reader.lowerBound { loadLE64($0, 0) >= lo }
            let end = try hi.map { h in try reader.lowerBound { loadLE64($0, 0) >= h } } ?? reader.count
            var c = RecordCursor(reader, from: start, to: end)
            let base = UInt32(offsets[f.task])
            if try c.fill() {
                heap.push(KeyPair(a: c.u64(at: 0), b: UInt64(base + c.u32(at: 8))), source: cursors.count)
            }
            cursors.append(c)
            bases.append(base)
        }
        let out = try RecordFileWriter(path: output, kind: pairKind, recordSize: 8)
        var read = 0
        var groupDigest: UInt64 = 0
        var groupFirst: UInt32 = 0
        var inGroup = false
        var last: KeyPair?
        while let top = heap.pop() {
            read += 1
            let node = UInt32(top.key.b)
            if let last, top.key < last {
                throw DedupFileError(path: cursors[top.source].reader.path, "is not sorted at record \(cursors[top.source].index)")
            }
            last = top.key
            if inGroup && top.key.a == groupDigest {
                try out.append { r in
                    r.u32(groupFirst)
                    r.u32(node)
                }
            } else {
                groupDigest = top.key.a
                groupFirst = node
                inGroup = true
            }
            var c = cursors[top.source]
            c.advance()
            if try c.fill() {
                heap.push(KeyPair(a: c.u64(at: 0), b: UInt64(bases[top.source] + c.u32(at: 8))), source: top.source)
            }
            cursors[top.source] = c
        }
        try out.commit()
        return (out.count, read)
    }

    private func bandOf(_ path: String) -> Int? {
        // signatures/band_BBB/TTTTT-RRRR.sig
        let parts = path.split(separator: "/")
        guard parts.count >= 2, parts[parts.count - 2].hasPrefix("band_") else { return nil }
        return Int(parts[parts.count - 2].dropFirst(5))
    }
}

// MARK: - Step 3: clusters

/// Joins duplicate pairs into clusters and decides which document of each survives.
///
/// YAML type `minhash_clusters`. Reads no documents. A union-find over 4 bytes per document
/// (flattened in place afterwards; cluster sizes are kept for clusters only) takes the pairs as
/// they stream from the bucket files, on all workers at once (lock-free;
/// each cluster's root is its first document, whatever the order). It never holds the pairs
/// in memory. With several tasks, each does the same union and writes the decisions of its
/// share of the input tasks (task `t` goes to cluster task `t mod tasks`). Task 0 writes
/// `OUT/_work/NAME/report.json`: parameters, the S-curve, totals and the cluster-size
/// histogram; the stats count clusters by size (`cluster_size_2`, `cluster_size_3-4`, …).
public struct MinhashClusters: WorkStage {
    public typealias Configuration = MinhashBuckets.Configuration

    public static let type = "minhash_clusters"
    public static let summary = "MinHash step 3: clusters the duplicate pairs (parallel union-find) and picks each cluster's keeper."
    public static let options: [StageOption] = [workOption("minhash", "The work folder's name; the same as minhash_signatures'.")]

    let work: String

    public init(configuration: Configuration) throws {
        work = try checkWorkName(configuration.work ?? "minhash")
    }

    init(work: String) { self.work = work }

    public func runTask(_ context: TaskContext, stats: inout StageStats) throws {
        let w = DedupWork(context: context, name: work)
        let signed = try PhaseRecord.readAll(w, "signatures", stage: Self.type, producer: "minhash_signatures")
        let buckets = try PhaseRecord.readAll(
            w, "buckets", stage: Self.type, producer: "minhash_buckets", requireDocuments: false, jobID: signed[0].jobID)
        var offsets = [0]
        for s in signed { offsets.append(offsets.last! + s.documents) }
        let total = offsets.last!
        if context.task == 0 { _ = try? removeStaleTemporaries(in: w.root, matching: "report") }
        let pairFiles = buckets.flatMap { b in b.files.map { (w.path($0.path), $0.records) } }
        let pairsRead = Locked<Int>(0)
        let roots = try Self.union(pairFiles: pairFiles, total: total, workers: context.workers, pairsRead: pairsRead)
        defer { releaseFreeMemory() }
        // The size of every cluster (two documents or more) by its root; a document whose root
        // is itself and that is no key here is alone.
        var sizes: [UInt32: UInt32] = [:]
        for n in 0..<total {
            let r = roots.root(n)
            if r != UInt32(n) { sizes[r, default: 1] += 1 }
        }
        let keep = KeepPolicy(rawValue: (try? signed[0].extraString("keep")) ?? "first") ?? .first
        let keepers = try Self.keepers(policy: keep, roots: roots, sizes: sizes, signed: signed, offsets: offsets, work: w)
        // Decisions for this task's share of the input tasks, one sorted file each.
        PhaseRecord.removeStale(w, "clusters", task: context.task)
        try Files.makeDirectories(w.path("clusters"))
        var files: [(path: String, records: Int)] = []
        let owned = Array(stride(from: context.task, to: signed.count, by: context.tasks))
        var removed = 0
        for t in owned {
            let rel = decisionFileName(phase: "clusters", producer: context.task, task: t, run: 0)
            let out = try RecordFileWriter(path: w.path(rel), kind: Decision.kind, recordSize: Decision.size)
            for n in offsets[t]..<offsets[t + 1] {
                let r = roots.root(n)
                guard let size = sizes[r] else { continue }
                let keeper = keepers?[r] ?? r
                let d = Decision(
                    index: UInt32(n - offsets[t]), unit: 0, size: size, remove: UInt32(n) != keeper, cluster: UInt64(keeper))
                if d.remove { removed += 1 }
                try d.write(out)
            }
            try out.commit()
            files.append((rel, out.count))
        }
        // Cluster sizes: each cluster counted by the task that owns its first document.
        var histogram: [String: Int] = [:]
        var fullHistogram: [Int: Int] = [:]
        var clusters = 0
        var inClusters = 0
        for (root, size) in sizes {
            // The input task of the cluster's root: the last offset at or below it.
            var lo = 0
            var hi = offsets.count - 1
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if offsets[mid] <= Int(root) { lo = mid } else { hi = mid }
            }
            fullHistogram[Int(size), default: 0] += 1
            clusters += 1
            inClusters += Int(size)
            if lo % context.tasks == context.task {
                histogram[clusterSizeBin(Int(size)), default: 0] += 1
            }
        }
        for (k, v) in histogram { stats.counters[k, default: 0] += v }
        stats.counters["documents_removed", default: 0] += removed
        stats.counters["clusters", default: 0] += histogram.values.reduce(0, +)
        if context.task == 0 {
            stats.counters["pairs_read", default: 0] += pairsRead.withLock { $0 }
            try writeReport(
                work: w, signed: signed, clusters: clusters, inClusters: inClusters, histogram: fullHistogram,
                pairs: pairsRead.withLock { $0 })
        }
        try PhaseRecord(
            task: context.task, tasks: context.tasks, documents: 0, inputFiles: [], jobID: signed[0].jobID, files: files,
            extra: ["for_tasks": .array(owned.map { .int($0) })]
        ).write(w, phase: "clusters")
    }

    /// The union-find of every document, flattened so that each points at its root (4 bytes a
    /// document); the pairs stream through from their files and are never held.
    static func union(pairFiles: [(String, Int)], total: Int, workers: Int, pairsRead: Locked<Int>) throws -> ConcurrentUnionFind {
        let uf = ConcurrentUnionFind(count: total)
        try parallelFor(count: pairFiles.count, workers: workers) { i in
            let reader = try RecordFileReader(path: pairFiles[i].0, kind: MinhashBuckets.pairKind, recordSize: 8)
            guard reader.count == pairFiles[i].1 else {
                throw DedupFileError(path: reader.path, "holds \(reader.count) pairs, its step recorded \(pairFiles[i].1)")
            }
            try reader.forEachBlock { raw, _ in
                let n = raw.count / 8
                for k in 0..<n {
                    let a = loadLE32(raw, k * 8)
                    let b = loadLE32(raw, k * 8 + 4)
                    guard Int(a) < total, Int(b) < total else {
                        throw DedupFileError(path: reader.path, "pair (\(a), \(b)) names a document beyond the \(total) signed")
                    }
                    uf.union(a, b)
                }
                return true
            }
            pairsRead.withLock { $0 += reader.count }
        }
        try uf.flatten(workers: workers)
        return uf
    }

    /// For keep: highest/lowest, the best document of every cluster (nil for keep: first, where
    /// the root, the first document, is the keeper).
    static func keepers(
        policy: KeepPolicy, roots: ConcurrentUnionFind, sizes: [UInt32: UInt32], signed: [PhaseRecord], offsets: [Int],
        work: DedupWork
    ) throws -> [UInt32: UInt32]? {
        guard policy != .first else { return nil }
        var best: [UInt32: (Double, UInt32)] = [:]
        for s in signed {
            let path = work.path("priorities/\(DedupWork.taskName(s.task)).prio")
            let reader = try RecordFileReader(path: path, kind: SignatureTask.priorityKind, recordSize: 8)
            guard reader.count == s.documents else {
                throw DedupFileError(path: path, "holds \(reader.count) priorities for \(s.documents) documents")
            }
            try reader.forEachBlock { raw, start in
                for k in 0..<(raw.count / 8) {
                    let node = offsets[s.task] + start + k
                    let r = roots.root(node)
                    guard sizes[r] != nil else { continue }
                    let p = Double(bitPattern: loadLE64(raw, k * 8))
                    if let current = best[r], !(p > current.0) { continue }
                    best[r] = (p, UInt32(node))
                }
                return true
            }
        }
        return best.mapValues { $0.1 }
    }

    private func writeReport(
        work: DedupWork, signed: [PhaseRecord], clusters: Int, inClusters: Int, histogram: [Int: Int], pairs: Int
    ) throws {
        let s0 = signed[0]
        let p = MinHashParameters(
            ngram: try s0.extraInt("ngram"), bands: try s0.extraInt("bands"), rows: try s0.extraInt("rows"),
            seed: UInt32(try s0.extraInt("seed")),
            hash: ShingleHash(recordName: (try? s0.extraString("hash")) ?? "") ?? .xxhash)
        var curve = JSONObject()
        for s in stride(from: 0.5, through: 1.0001, by: 0.05) {
            let key = formatFixed(s, digits: 2)
            curve.append(key: key, value: .double((p.candidateProbability(similarity: s) * 10000).rounded() / 10000))
        }
        var hist = JSONObject()
        for size in histogram.keys.sorted() { hist.append(key: String(size), value: .int(histogram[size]!)) }
        var bins = JSONObject()
        var binCounts: [String: Int] = [:]
        var binOrder: [String] = []
        for size in histogram.keys.sorted() {
            let bin = clusterSizeBin(size)
            if binCounts[bin] == nil { binOrder.append(bin) }
            binCounts[bin, default: 0] += histogram[size]!
        }
        for bin in binOrder { bins.append(key: bin, value: .int(binCounts[bin]!)) }
        let documents = signed.reduce(0) { $0 + $1.documents }
        let signedCount = signed.reduce(0) { $0 + ((try? $1.extraInt("signed")) ?? 0) }
        let report: JSONValue = .object([
            "method": .string("minhash-lsh"),
            "parameters": .object([
                "ngram": .int(p.ngram), "bands": .int(p.bands), "rows": .int(p.rows), "hashes": .int(p.hashes),
                "seed": .int(Int(p.seed)), "hash": .string(p.hash.recordName), "normalisation": .string("datatrove simplify_text + spaCy English words"),
                "keep": s0.extra["keep"] ?? .string("first"), "priority_field": s0.extra["priority_field"] ?? .null,
            ]),
            "threshold": .double((p.threshold * 10000).rounded() / 10000),
            "candidate_probability_by_similarity": .object(curve),
            "tasks": .int(s0.tasks),
            "documents": .int(documents),
            "documents_signed": .int(signedCount),
            "candidate_pairs": .int(pairs),
            "clusters": .int(clusters),
            "documents_in_clusters": .int(inClusters),
            "documents_removed": .int(inClusters - clusters),
            "removed_fraction": .double(documents > 0 ? (Double(inClusters - clusters) / Double(documents) * 1e6).rounded() / 1e6 : 0),
            "cluster_sizes": .object(bins),
            "cluster_size_histogram": .object(hist),
        ])
        try writeSmallJSONFile(work.path("report.json"), report)
    }
}

/// The name of a cluster-size bin: `cluster_size_2`, `cluster_size_3-4`, `cluster_size_5-8`, …
func clusterSizeBin(_ size: Int) -> String {
    if size <= 2 { return "cluster_size_2" }
    var lo = 3
    var hi = 4
    while size > hi {
        lo = hi + 1
        hi *= 2
    }
    return "cluster_size_\(lo)-\(hi)"
}

// MARK: - Step 4: removal

/// Drops every document that a dedup job decided to remove, reading the same input with the
/// same task count as the signing step (and failing loudly when that is not so).
///
/// YAML type `minhash_filter`. Sees each task's documents in order (a stateful stage). With
/// `cluster_metadata: true` it adds `minhash_cluster_id` (the global number of the cluster's
/// keeper, -1 outside clusters) and `minhash_cluster_size` (1 outside clusters) to every
/// document's metadata, as datatrove does. Drop reason: `minhash_duplicate`.
public struct MinhashFilter: DocumentRemovalStage {
    public struct Configuration: Decodable, Sendable {
        public var work: String?
        public var clusterMetadata: Bool?
        enum CodingKeys: String, CodingKey {
            case work
            case clusterMetadata = "cluster_metadata"
        }
        public init(work: String? = nil, clusterMetadata: Bool? = nil) {
            self.work = work
            self.clusterMetadata = clusterMetadata
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            work = try c.decodeIfPresent(String.self, forKey: .work)
            clusterMetadata = try c.decodeIfPresent(Bool.self, forKey: .clusterMetadata)
        }
    }

    public static let type = "minhash_filter"
    public static let summary = "MinHash step 4: drops all but the keeper of each cluster, re-reading the signed input."
    static let job = RemovalJob.minhash

    let removal: RemovalFilter
    init(removal: RemovalFilter) { self.removal = removal }
}

// MARK: - The shortcut

/// MinHash-LSH near-duplicate removal in one stage: it runs as four steps of the same
/// `sluice run` (signatures, buckets, clusters, removal), with files under `OUT/_work/ID/`,
/// so a killed run resumes where it stopped and memory stays bounded.
///
/// YAML type `minhash_dedup`. Defaults equal datatrove's (word 5-grams after datatrove's
/// normalisation, 14 bands of 8 rows, xxHash64, seed 1; `hash: sha1` for FineWeb's SHA-1
/// shingles): about 0.72 Jaccard is where the
/// S-curve turns, and a pair at 0.8 is caught with probability 0.924. Drop reason
/// `minhash_duplicate`; `OUT/_work/ID/report.json` holds the parameters, the S-curve, the
/// counts and the cluster-size histogram.
///
/// ```yaml
/// stages:
///   - type: minhash_dedup
///     keep: highest
///     priority_field: metadata.quality
///     cluster_metadata: true
/// ```
public struct MinhashDedup: MultiStepStage {
    public struct Configuration: Decodable, Sendable {
        public var signatures: MinhashSignatures.Configuration
        public var clusterMetadata: Bool?

        public init(signatures: MinhashSignatures.Configuration = .init(), clusterMetadata: Bool? = nil) {
            self.signatures = signatures
            self.clusterMetadata = clusterMetadata
        }

        public init(from decoder: any Decoder) throws {
            (signatures, clusterMetadata) = try decodeShortcutConfiguration(decoder, stage: MinhashDedup.type)
        }
    }

    public static let type = "minhash_dedup"
    public static let summary = "Removes near-duplicates with MinHash-LSH (datatrove's parameters), as four steps in one run."
    public static let dropReasons: [DropReason] = ["minhash_duplicate"]
    public static let options: [StageOption] = minhashCommonOptions + [clusterMetadataOption(prefix: "minhash")]

    let settings: MinHashSettings
    let clusterMetadata: Bool

    public init(configuration c: Configuration) throws {
        let s = c.signatures
        settings = try MinHashSettings.make(
            ngram: s.ngram, bands: s.bands, rows: s.rows, seed: s.seed, hash: s.hash, keep: s.keep, priorityField: s.priorityField,
            memory: s.memory, stage: Self.type)
        clusterMetadata = c.clusterMetadata ?? false
    }

    public func phases(stageID: String) throws -> [StagePhase]? {
        let work = try checkWorkName(stageID)
        return [
            StagePhase(name: "signatures", type: MinhashSignatures.type, stage: MinhashSignatures(settings: settings, work: work)),
            StagePhase(name: "buckets", type: MinhashBuckets.type, stage: MinhashBuckets(work: work)),
            StagePhase(name: "clusters", type: MinhashClusters.type, stage: MinhashClusters(work: work)),
            StagePhase(name: "remove", type: Self.type, stage: MinhashFilter(work: work, clusterMetadata: clusterMetadata)),
        ]
    }
}

// MARK: - Shared helpers

/// Returns freed heap memory to the system (glibc keeps it otherwise), so that a large
/// step's buffers do not count against the next step's resident memory.
func releaseFreeMemory() {
    // malloc_trim(3) is glibc's; the Glibc module does not export it, so look it up.
    guard let symbol = dlsym(nil, "malloc_trim") else { return }
    let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    _ = trim(0)
}

func workOption(_ defaultName: String, _ help: String) -> StageOption {
    StageOption("work", "string", default: defaultName, help: help)
}

/// Work names become folder names under OUT/_work.
extension PhaseRecord {
    func extraInt(_ key: String) throws -> Int {
        guard case .number(let n)? = extra[key], let i = n.intValue else {
            throw DedupFileError(path: "task \(task) record", "no integer '\(key)'")
        }
        return i
    }

    func extraString(_ key: String) throws -> String {
        guard let s = extra[key]?.stringValue else { throw DedupFileError(path: "task \(task) record", "no string '\(key)'") }
        return s
    }
}
