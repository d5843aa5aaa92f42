import SluiceCore
import SluiceIO

// Exact dedup (of documents, or of their lines or paragraphs) in three steps:
//
//   hashes    per task: a 128-bit hash of each document (or unit), sorted  work/hashes/TTTTT-RRRR.hash
//   decide    per hash range: groups of equal hashes, the keeper of each   work/decisions/PPPPP-for-TTTTT-RRRR.dec
//   remove    per task: drops what was decided                             (the step's shards)

/// What the hash step hashes.
struct HashSpec: Sendable {
    enum Target: Sendable {
        /// Whole documents: a field's value (the text by default).
        case documents(field: DocumentField)
        /// Lines or paragraphs of the text, those of at least `minCharacters` after normalising.
        case units(TextUnits, minCharacters: Int)
    }
    var target: Target
    var normalization: ContentNormalization
    var ranking: KeeperRanking
    var memoryBytes: Int

    var isUnits: Bool {
        if case .units = target { return true }
        return false
    }

    var jobID: String {
        var text = "exact:v1:norm=\(normalization.rawValue):keep=\(ranking.policy.rawValue):field=\(ranking.field?.text ?? "")"
        switch target {
        case .documents(let f): text += ":documents:\(f.text)"
        case .units(let u, let m): text += ":units:\(u.kind.rawValue):min=\(m)"
        }
        return hex64(XXH64.hash(text))
    }
}

/// One hashed document or unit: 32 bytes on disk.
struct HashRecord: Sendable {
    var hi: UInt64
    var lo: UInt64
    var index: UInt32
    var unit: UInt32
    var preference: Double

    static let kind = "XHSH"
    static let size = 32

    @inline(__always) static func < (a: HashRecord, b: HashRecord) -> Bool {
        if a.hi != b.hi { return a.hi < b.hi }
        if a.lo != b.lo { return a.lo < b.lo }
        if a.index != b.index { return a.index < b.index }
        return a.unit < b.unit
    }
}

let exactCommonOptions: [StageOption] = [
    StageOption("field", "string", default: "text", help: "What identifies a copy: text, id, source, created, added, or a metadata path such as url."),
    StageOption("normalize", "none | whitespace | simplified", default: "whitespace for text, none otherwise", help: "How the value is normalised before its 128-bit hash; simplified is datatrove's (lowercase, digits, punctuation, accents)."),
    StageOption("keep", "first | highest | lowest", default: "first", help: "Which copy survives: the first in input order, or the one with the highest or lowest priority_field."),
    StageOption("priority_field", "string", default: "null", help: "For keep: highest/lowest: the field to compare (metadata path, created or added; numbers, or ISO-8601 dates)."),
    StageOption("memory", "size", default: "256MB", help: "Hashes held in memory per task before a sorted run is written to disk."),
]

func makeDocumentHashSpec(
    field: String?, normalize: ContentNormalization?, keep: KeepPolicy?, priorityField: String?, memory: ByteSize?, stage: String
) throws -> HashSpec {
    let f = try DocumentField(parsing: field ?? "text", option: "field")
    let norm = normalize ?? (f.kind == .text ? .whitespace : ContentNormalization.none)
    let memoryBytes = memory?.bytes ?? 256_000_000
    guard memoryBytes >= 1_000_000 else { throw StageConfigurationError("memory must be at least 1MB, got \(memoryBytes) bytes") }
    return HashSpec(
        target: .documents(field: f), normalization: norm,
        ranking: try KeeperRanking(policy: keep ?? .first, field: priorityField, stage: stage), memoryBytes: memoryBytes)
}

// MARK: - Step 1: hashes

/// Hashes each document (a field, normalised) to 128 bits and writes the hashes, sorted, to
/// the work folder. Documents end here: the step writes no shards.
///
/// YAML type `exact_dedup_hashes`. Runs on every worker. A document without the field is
/// never a duplicate.
///
/// ```yaml
/// steps:
///   - name: hashes
///     stages: [{type: exact_dedup_hashes, field: url}]
///   - name: decide
///     stages: [{type: exact_dedup_decide}]
///   - name: dedup
///     stages: [{type: exact_dedup_filter}]
/// ```
public struct ExactDedupHashes: DocumentSinkStage {
    public struct Configuration: WorkFolderConfiguration {
        public var field: String?
        public var normalize: ContentNormalization?
        public var keep: KeepPolicy?
        public var priorityField: String?
        public var memory: ByteSize?
        public var work: String?

        enum CodingKeys: String, CodingKey {
            case field, normalize, keep, memory, work
            case priorityField = "priority_field"
        }

        public init(
            field: String? = nil, normalize: ContentNormalization? = nil, keep: KeepPolicy? = nil,
            priorityField: String? = nil, memory: ByteSize? = nil, work: String? = nil
        ) {
            self.field = field
            self.normalize = normalize
            self.keep = keep
            self.priorityField = priorityField
            self.memory = memory
            self.work = work
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            field = try c.decodeIfPresent(String.self, forKey: .field)
            normalize = try c.decodeIfPresent(ContentNormalization.self, forKey: .normalize)
            keep = try c.decodeIfPresent(KeepPolicy.self, forKey: .keep)
            priorityField = try c.decodeIfPresent(String.self, forKey: .priorityField)
            memory = try c.decodeIfPresent(ByteSize.self, forKey: .memory)
            work = try c.decodeIfPresent(String.self, forKey: .work)
        }
    }

    public static let type = "exact_dedup_hashes"
    public static let summary = "Exact dedup step 1: a 128-bit hash of each document (or of a field), sorted into the work folder (no shards)."
    public static let options: [StageOption] =
        exactCommonOptions + [workOption("exact_dedup", "The work folder's name, OUT/_work/NAME; the three exact-dedup steps must share it.")]

    let spec: HashSpec
    let work: String
    private let tasks = Locked<[Int: HashTask]>([:])

    public init(configuration c: Configuration) throws {
        spec = try makeDocumentHashSpec(
            field: c.field, normalize: c.normalize, keep: c.keep, priorityField: c.priorityField, memory: c.memory,
            stage: Self.type)
        work = try checkWorkName(c.work ?? "exact_dedup")
    }

    init(spec: HashSpec, work: String) {
        self.spec = spec
        self.work = work
    }

    public func beginTask(_ context: TaskContext) throws {
        let task = try HashTask(context: context, work: DedupWork(context: context, name: work), spec: spec)
        tasks.withLock { $0[context.task] = task }
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var hasher = ContentHasher(normalization: spec.normalization)
        var records: [HashRecord] = []
        records.reserveCapacity(batch.count)
        var missing = 0
        var short = 0
        for (i, doc) in batch.documents.enumerated() {
            switch spec.target {
            case .documents(let field):
                guard let value = field.value(in: doc) else {
                    missing += 1
                    continue
                }
                let h: (hi: UInt64, lo: UInt64, characters: Int)
                if case .string(let s) = value {
                    h = s.withUTF8Bytes { hasher.hash($0) }
                } else {
                    let bytes = encodeJSON(value)
                    h = bytes.withUnsafeBufferPointer { hasher.hash($0) }
                }
                records.append(
                    HashRecord(hi: h.hi, lo: h.lo, index: UInt32(i), unit: 0, preference: spec.ranking.preference(of: doc)))
            case .units(let units, let minCharacters):
                doc.text.withUTF8Bytes { b in
                    for (u, unit) in units.split(b).units.enumerated() {
                        let h = hasher.hash(UnsafeBufferPointer(rebasing: b[unit.start..<unit.end]))
                        if h.characters < minCharacters {
                            short += 1
                            continue
                        }
                        records.append(HashRecord(hi: h.hi, lo: h.lo, index: UInt32(i), unit: UInt32(u), preference: 0))
                    }
                }
            }
        }
        if missing > 0 { stats.counters["field_missing", default: 0] += missing }
        if short > 0 { stats.counters["units_too_short", default: 0] += short }
        stats.counters[spec.isUnits ? "units_hashed" : "hashed", default: 0] += records.count
        guard let task = tasks.withLock({ $0.count == 1 ? $0.first!.value : nil }) else {
            throw DedupError("\(Self.type): a batch arrived outside a task; the stage needs a runtime that calls beginTask")
        }
        try task.deliver(sequence: batch.sequence, count: batch.count, records)
    }

    public func finishTask(_ context: TaskContext, stats: inout StageStats) throws {
        guard let task = tasks.withLock({ $0.removeValue(forKey: context.task) }) else { return }
        try task.finish(stats: &stats)
    }
}

/// The hashes of one task: batches numbered in input order, sorted runs every `memory` bytes.
final class HashTask: @unchecked Sendable {
    private let context: TaskContext
    private let work: DedupWork
    private let spec: HashSpec
    private let lock = Locked<Void>(())
    private var nextSequence = 0
    private var pending: [Int: (count: Int, records: [HashRecord])] = [:]
    private var documents = 0
    private var hashed = 0
    private var buffer: [HashRecord] = []
    private var runs = 0
    private var files: [(path: String, records: Int)] = []
    private let runLimit: Int

    init(context: TaskContext, work: DedupWork, spec: HashSpec) throws {
        self.context = context
        self.work = work
        self.spec = spec
        runLimit = max(1024, spec.memoryBytes / (HashRecord.size * 2))
        PhaseRecord.removeStale(work, "hashes", task: context.task)
        try Files.makeDirectories(work.path("hashes"))
    }

    func deliver(sequence: Int, count: Int, _ records: [HashRecord]) throws {
        try lock.withLock { _ in
            pending[sequence] = (count, records)
            while let ready = pending.removeValue(forKey: nextSequence) {
                nextSequence += 1
                guard documents + ready.count < Int(UInt32.max) else {
                    throw DedupError("exact dedup: task \(context.task) has more than 2^32-1 documents; use more tasks")
                }
                for var r in ready.records {
                    r.index += UInt32(documents)
                    buffer.append(r)
                }
                documents += ready.count
                hashed += ready.records.count
                if buffer.count >= runLimit { try spill() }
            }
        }
    }

    private func spill() throws {
        guard !buffer.isEmpty else { return }
        buffer.sort(by: <)
        let rel = "hashes/\(DedupWork.taskName(context.task))-\(pad(runs, 4)).hash"
        let w = try RecordFileWriter(path: work.path(rel), kind: HashRecord.kind, recordSize: HashRecord.size)
        for r in buffer {
            try w.append { b in
                b.u64(r.hi)
                b.u64(r.lo)
                b.u32(r.index)
                b.u32(r.unit)
                b.f64(r.preference)
            }
        }
        try w.commit()
        files.append((rel, buffer.count))
        buffer.removeAll(keepingCapacity: true)
        runs += 1
    }

    func finish(stats: inout StageStats) throws {
        try lock.withLock { _ in
            guard pending.isEmpty else {
                throw DedupError("exact dedup: task \(context.task) ended with batches missing (next expected \(nextSequence))")
            }
            try spill()
            buffer = []
            var extra: JSONObject = [
                "hashed": .int(hashed), "normalize": .string(spec.normalization.rawValue),
                "keep": .string(spec.ranking.policy.rawValue),
                "priority_field": spec.ranking.field.map { .string($0.text) } ?? .null, "runs": .int(runs),
            ]
            switch spec.target {
            case .documents(let f):
                extra["target"] = .string("documents")
                extra["field"] = .string(f.text)
            case .units(let u, let m):
                extra["target"] = .string(u.kind.rawValue + "s")
                extra["min_chars"] = .int(m)
            }
            try PhaseRecord(
                task: context.task, tasks: context.tasks, documents: documents, inputFiles: context.inputFiles,
                jobID: spec.jobID, files: files, extra: extra
            ).write(work, phase: "hashes")
            stats.counters["sorted_runs", default: 0] += runs
        }
    }
}

// MARK: - Step 2: decide

/// Groups equal hashes across all tasks and decides, per group, which copy survives.
///
/// YAML type `exact_dedup_decide`. Reads no documents. Its tasks split the hash space; each
/// merges every hash file over its range (one 64 KiB block per file in memory) and writes the
/// decisions for each input task, spilling sorted runs past `memory`. Stats count groups by
/// size (`cluster_size_2`, `cluster_size_3-4`, …); `OUT/_work/NAME/report-PPPPP.json` holds
/// the totals of each task.
public struct ExactDedupDecide: WorkStage {
    public struct Configuration: Decodable, Sendable {
        public var work: String?
        public var memory: ByteSize?
        enum CodingKeys: String, CodingKey { case work, memory }
        public init(work: String? = nil, memory: ByteSize? = nil) {
            self.work = work
            self.memory = memory
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            work = try c.decodeIfPresent(String.self, forKey: .work)
            memory = try c.decodeIfPresent(ByteSize.self, forKey: .memory)
        }
    }

    public static let type = "exact_dedup_decide"
    public static let summary = "Exact dedup step 2: merges the hashes of all tasks and picks each group's keeper (reads no documents)."
    public static let options: [StageOption] = [
        workOption("exact_dedup", "The work folder's name; the same as exact_dedup_hashes'."),
        StageOption("memory", "size", default: "256MB", help: "Decisions held in memory before a sorted run is written to disk."),
    ]

    let work: String
    let memoryBytes: Int
    let label: String

    public init(configuration c: Configuration) throws {
        work = try checkWorkName(c.work ?? "exact_dedup")
        memoryBytes = c.memory?.bytes ?? 256_000_000
        label = Self.type
    }

    init(work: String, memoryBytes: Int, label: String) {
        self.work = work
        self.memoryBytes = memoryBytes
        self.label = label
    }

    struct MergeKey: Comparable {
        var hi: UInt64
        var lo: UInt64
        var doc: UInt64
        var unit: UInt32
        static func < (a: MergeKey, b: MergeKey) -> Bool {
            if a.hi != b.hi { return a.hi < b.hi }
            if a.lo != b.lo { return a.lo < b.lo }
            if a.doc != b.doc { return a.doc < b.doc }
            return a.unit < b.unit
        }
    }

    public func runTask(_ context: TaskContext, stats: inout StageStats) throws {
        let w = DedupWork(context: context, name: work)
        let hashed = try PhaseRecord.readAll(w, "hashes", stage: label, producer: "hashes")
        let units = ((try? hashed[0].extraString("target")) ?? "documents") != "documents"
        let lo: UInt64 = context.task == 0 ? 0 : UInt64((UInt128(context.task) << 64) / UInt128(context.tasks))
        let hi: UInt64? = context.task == context.tasks - 1 ? nil : UInt64((UInt128(context.task + 1) << 64) / UInt128(context.tasks))
        PhaseRecord.removeStale(w, "decisions", task: context.task)
        _ = try? removeStaleTemporaries(in: w.root, matching: "report-" + DedupWork.taskName(context.task))
        var cursors: [RecordCursor] = []
        var owners: [Int] = []
        var heap = KWayHeap<MergeKey>()
        func key(_ c: RecordCursor, _ task: Int) -> MergeKey {
            MergeKey(hi: c.u64(at: 0), lo: c.u64(at: 8), doc: UInt64(task) << 32 | UInt64(c.u32(at: 16)), unit: c.u32(at: 20))
        }
        for s in hashed {
            for f in s.files {
                let reader = try RecordFileReader(path: w.path(f.path), kind: HashRecord.kind, recordSize: HashRecord.size)
                guard reader.count == f.records else {
                    throw DedupFileError(path: reader.path, "holds \(reader.count) hashes, its step recorded \(f.records)")
                }
                let start = lo == 0 ? 0 : try reader.lowerBound { loadLE64($0, 0) >= lo }
                let end = try hi.map { h in try reader.lowerBound { loadLE64($0, 0) >= h } } ?? reader.count
                var c = RecordCursor(reader, from: start, to: end)
                if try c.fill() { heap.push(key(c, s.task), source: cursors.count) }
                cursors.append(c)
                owners.append(s.task)
            }
        }
        let spiller = DecisionSpiller(
            work: w, phase: "decisions", producerTask: context.task, budgetRecords: memoryBytes / (Decision.size * 2))
        // Documents: a group is held until it ends (its keeper may be any member). Units: the
        // first of a group is its keeper, so the others are decided as they stream by.
        var group: [(doc: UInt64, unit: UInt32, preference: Double)] = []
        var groupHash: (UInt64, UInt64)?
        var groupCount = 0
        var groupFirst: UInt64 = 0
        var read = 0
        var groups = 0
        var removed = 0
        var bins: [String: Int] = [:]
        var last: MergeKey?
        func flush() throws {
            defer {
                group.removeAll(keepingCapacity: true)
                groupCount = 0
            }
            guard groupCount > 1 else { return }
            groups += 1
            bins[clusterSizeBin(groupCount), default: 0] += 1
            removed += groupCount - 1
            guard !units else { return }
            var keeper = 0
            for i in 1..<group.count where group[i].preference > group[keeper].preference { keeper = i }
            let k = group[keeper]
            for (i, m) in group.enumerated() {
                try spiller.add(
                    task: Int(m.doc >> 32),
                    Decision(
                        index: UInt32(truncatingIfNeeded: m.doc), unit: m.unit, size: UInt32(clamping: group.count),
                        remove: i != keeper, cluster: k.doc))
            }
        }
        while let top = heap.pop() {
            read += 1
            if let last, top.key < last {
                throw DedupFileError(path: cursors[top.source].reader.path, "is not sorted at record \(cursors[top.source].index)")
            }
            last = top.key
            var c = cursors[top.source]
            let pref = c.f64(at: 24)
            if let g = groupHash, g != (top.key.hi, top.key.lo) { try flush() }
            groupHash = (top.key.hi, top.key.lo)
            groupCount += 1
            if units {
                if groupCount == 1 {
                    groupFirst = top.key.doc
                } else {
                    try spiller.add(
                        task: Int(top.key.doc >> 32),
                        Decision(
                            index: UInt32(truncatingIfNeeded: top.key.doc), unit: top.key.unit, size: 0, remove: true,
                            cluster: groupFirst))
                }
            } else {
                group.append((top.key.doc, top.key.unit, pref))
            }
            c.advance()
            if try c.fill() { heap.push(key(c, owners[top.source]), source: top.source) }
            cursors[top.source] = c
        }
        try flush()
        try spiller.spill()
        for (k, v) in bins { stats.counters[k, default: 0] += v }
        stats.counters["hashes_read", default: 0] += read
        stats.counters["groups", default: 0] += groups
        stats.counters[units ? "units_removed" : "documents_removed", default: 0] += removed
        try writeSmallJSONFile(
            w.path("report-\(DedupWork.taskName(context.task)).json"),
            .object([
                "method": .string(units ? "exact \((try? hashed[0].extraString("target")) ?? "units")" : "exact documents"),
                "normalize": hashed[0].extra["normalize"] ?? .null, "field": hashed[0].extra["field"] ?? .null,
                "keep": hashed[0].extra["keep"] ?? .null, "hash_range_task": .int(context.task), "tasks": .int(context.tasks),
                "hashes_read": .int(read), "duplicate_groups": .int(groups),
                units ? "units_removed" : "documents_removed": .int(removed),
                "group_sizes": .object(JSONObject(entries: bins.keys.sorted { binOrder($0) < binOrder($1) }.map { .init(key: $0, value: .int(bins[$0]!)) })),
            ]))
        try PhaseRecord(
            task: context.task, tasks: context.tasks, documents: 0, inputFiles: [], jobID: hashed[0].jobID,
            files: spiller.files, extra: [:]
        ).write(w, phase: "decisions")
    }
}

private func binOrder(_ name: String) -> Int {
    Int(name.split(separator: "_").last.map { $0.split(separator: "-")[0] } ?? "0") ?? 0
}

// MARK: - Step 3: remove

/// Drops every copy that the decide step did not keep, reading the same input with the same
/// task count as the hash step (and failing loudly when that is not so).
///
/// YAML type `exact_dedup_filter`. With `cluster_metadata: true` every document gets
/// `exact_cluster_id` (the global number of the group's keeper, -1 when unique) and
/// `exact_cluster_size`. Drop reason: `exact_duplicate`.
public struct ExactDedupFilter: DocumentRemovalStage {
    public typealias Configuration = MinhashFilter.Configuration

    public static let type = "exact_dedup_filter"
    public static let summary = "Exact dedup step 3: drops the copies the decide step did not keep, re-reading the hashed input."
    static let job = RemovalJob.exact

    let removal: RemovalFilter
    init(removal: RemovalFilter) { self.removal = removal }
}

// MARK: - The shortcut

/// Removes exact duplicates across the whole input, as three steps of one `sluice run`
/// (hashes, a global decision, removal) with files under `OUT/_work/ID/`.
///
/// YAML type `exact_dedup`. Copies are identified by a 128-bit hash of the text (whitespace
/// collapsed) or of any field (`field: url`); the keeper is the first copy in input order or
/// the one with the highest (or lowest) `priority_field`. Drop reason `exact_duplicate`.
///
/// ```yaml
/// stages:
///   - type: exact_dedup
///     field: metadata.url
///     keep: highest
///     priority_field: created
/// ```
public struct ExactDedup: MultiStepStage {
    public struct Configuration: Decodable, Sendable {
        public var hashes: ExactDedupHashes.Configuration
        public var clusterMetadata: Bool?

        public init(hashes: ExactDedupHashes.Configuration = .init(), clusterMetadata: Bool? = nil) {
            self.hashes = hashes
            self.clusterMetadata = clusterMetadata
        }

        public init(from decoder: any Decoder) throws {
            (hashes, clusterMetadata) = try decodeShortcutConfiguration(decoder, stage: ExactDedup.type)
        }
    }

    public static let type = "exact_dedup"
    public static let summary = "Removes exact duplicates (normalised text or any field, e.g. url) across all tasks, as three steps in one run."
    public static let dropReasons: [DropReason] = ["exact_duplicate"]
    public static let options: [StageOption] = exactCommonOptions + [clusterMetadataOption(prefix: "exact")]

    let spec: HashSpec
    let clusterMetadata: Bool

    public init(configuration c: Configuration) throws {
        let h = c.hashes
        spec = try makeDocumentHashSpec(
            field: h.field, normalize: h.normalize, keep: h.keep, priorityField: h.priorityField, memory: h.memory,
            stage: Self.type)
        clusterMetadata = c.clusterMetadata ?? false
    }

    public func phases(stageID: String) throws -> [StagePhase]? {
        let work = try checkWorkName(stageID)
        return [
            StagePhase(name: "hashes", type: ExactDedupHashes.type, stage: ExactDedupHashes(spec: spec, work: work)),
            StagePhase(
                name: "decide", type: ExactDedupDecide.type,
                stage: ExactDedupDecide(work: work, memoryBytes: spec.memoryBytes, label: ExactDedupDecide.type)),
            StagePhase(name: "remove", type: Self.type, stage: ExactDedupFilter(work: work, clusterMetadata: clusterMetadata)),
        ]
    }
}
