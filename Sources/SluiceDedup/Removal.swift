import SluiceCore

/// The removal step shared by every multi-step dedup: for each task, it reads the same input
/// as the signing step (checked), numbers the documents in order, and applies the decisions
/// that the deciding step wrote for that task: drop the document, or (for paragraph and line
/// dedup) remove some of its units.
struct RemovalFilter: Sendable {
    let work: String
    let stage: String
    /// The phase folder of the signing step (`signatures`, `hashes`) and its stage type.
    let signing: String
    let deciding: String
    let producer: String
    let decider: String
    let reason: DropReason
    /// With a prefix `P`, every document gets `P_cluster_id` and `P_cluster_size` metadata.
    let metadataPrefix: String?
    /// For paragraph and line dedup: how documents split into units.
    let units: TextUnits?

    private let tasks = Locked<[Int: RemovalTask]>([:])

    init(
        work: String, stage: String, signing: String, deciding: String, producer: String, decider: String,
        reason: DropReason, metadataPrefix: String?, units: TextUnits? = nil
    ) {
        self.work = work
        self.stage = stage
        self.signing = signing
        self.deciding = deciding
        self.producer = producer
        self.decider = decider
        self.reason = reason
        self.metadataPrefix = metadataPrefix
        self.units = units
    }

    func begin(_ context: TaskContext) throws {
        let w = DedupWork(context: context, name: work)
        guard Files.exists(PhaseRecord.path(w, signing, task: context.task)) else {
            throw DedupError(
                "\(stage): no \(signing) for task \(context.task) in \(w.path(signing)); the \(producer) step must run first, with the same `work` name ('\(work)') and the same task count. If an earlier run completed, its work files were removed (set run.keep_work: true to keep them): delete the output folder to run again from the start")
        }
        let signed = try PhaseRecord.read(w, signing, task: context.task)
        try checkSameSplit(signed, context: context, stage: stage, producer: producer)
        let deciders = try PhaseRecord.readAll(
            w, deciding, stage: stage, producer: decider, requireDocuments: false, jobID: signed.jobID)
        let marker = "-for-" + DedupWork.taskName(context.task)
        var files: [String] = []
        for d in deciders {
            for f in d.files where f.path.contains(marker) { files.append(w.path(f.path)) }
        }
        let task = try RemovalTask(signed: signed, stream: try DecisionStream(files: files))
        tasks.withLock { $0[context.task] = task }
    }

    private var current: RemovalTask? {
        tasks.withLock { $0.count == 1 ? $0.first!.value : nil }
    }

    func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        guard let task = current else {
            throw DedupError("\(stage): a batch arrived outside a task; the stage needs a runtime that calls beginTask")
        }
        var unitsRemoved = 0
        var bytesRemoved = 0
        try batch.retain { doc in
                let index = task.index
                task.index += 1
                var decisions: [Decision] = []
                while let d = task.peek, Int(d.index) <= index {
                    guard Int(d.index) == index else {
                        throw DedupError("\(stage): decision for document \(d.index) of task \(task.signed.task) arrived after document \(index); the decision files are not sorted")
                    }
                    decisions.append(d)
                    try task.advance()
                }
                if let units {
                    let remove = Set(decisions.filter(\.remove).map { Int($0.unit) })
                    guard !remove.isEmpty else { return .keep }
                    let before = doc.text.utf8.count
                    let (text, removed) = units.removing(remove, from: doc.text)
                    unitsRemoved += removed
                    bytesRemoved += before - text.utf8.count
                    if text.isEmpty { return .drop(reason) }
                    doc.text = text
                    return .keep
                }
                let d = decisions.first
                if let prefix = metadataPrefix {
                    doc.metadata[prefix + "_cluster_id"] = .int(d.map { Int($0.cluster) } ?? -1)
                    doc.metadata[prefix + "_cluster_size"] = .int(d.map { Int($0.size) } ?? 1)
                }
                return d?.remove == true ? .drop(reason) : .keep
        }
        if units != nil {
            stats.counters["units_removed", default: 0] += unitsRemoved
            stats.counters["bytes_removed", default: 0] += bytesRemoved
        }
    }

    func finish(_ context: TaskContext, stats: inout StageStats) throws {
        guard let task = tasks.withLock({ $0.removeValue(forKey: context.task) }) else { return }
        guard task.index == task.signed.documents else {
            throw DedupError(
                "\(stage): task \(context.task) read \(task.index) documents but the \(producer) step read \(task.signed.documents) from the same files; the input changed, or the stages before the two steps differ. Rerun the whole job")
        }
        if let d = task.peek {
            throw DedupError("\(stage): a decision names document \(d.index) of task \(context.task), which has only \(task.index) documents")
        }
    }
}

/// The removal state of one task: the document count so far and the decision stream.
final class RemovalTask: @unchecked Sendable {
    let signed: PhaseRecord
    var index = 0
    private var stream: DecisionStream
    private(set) var peek: Decision?

    init(signed: PhaseRecord, stream: DecisionStream) throws {
        self.signed = signed
        self.stream = stream
        peek = try self.stream.next()
    }

    func advance() throws { peek = try stream.next() }
}

// MARK: - The shape every removal stage and shortcut shares

/// A removal step (`minhash_filter`, `exact_dedup_filter`, the removal phase of paragraph and
/// line dedup): a stateful, task-aware stage whose task hooks and batches all go to its
/// ``RemovalFilter``.
protocol RemovalStage: TaskAwareStage {
    var removal: RemovalFilter { get }
}

extension RemovalStage {
    public static var isStateless: Bool { false }
    public func beginTask(_ context: TaskContext) throws { try removal.begin(context) }
    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        try removal.process(&batch, stats: &stats)
    }
    public func finishTask(_ context: TaskContext, stats: inout StageStats) throws {
        try removal.finish(context, stats: &stats)
    }
}

/// The names a document-removal step works with: its job's phase folders and stages, its drop
/// reason and the prefix of its metadata keys.
struct RemovalJob: Sendable {
    let defaultWork: String
    let signing: String
    let deciding: String
    let producer: String
    let decider: String
    let reason: DropReason
    let metadataPrefix: String

    static let minhash = RemovalJob(
        defaultWork: "minhash", signing: "signatures", deciding: "clusters", producer: "minhash_signatures",
        decider: "minhash_clusters", reason: "minhash_duplicate", metadataPrefix: "minhash")
    static let exact = RemovalJob(
        defaultWork: "exact_dedup", signing: "hashes", deciding: "decisions", producer: "exact_dedup_hashes",
        decider: "exact_dedup_decide", reason: "exact_duplicate", metadataPrefix: "exact")

    /// The removal stage's options: `work` and `cluster_metadata`.
    var options: [StageOption] {
        [
            workOption(defaultWork, "The work folder's name; the same as \(producer)'."),
            clusterMetadataOption(prefix: metadataPrefix),
        ]
    }
}

/// A removal stage of whole documents (`minhash_filter`, `exact_dedup_filter`), configured
/// with `work` and `cluster_metadata`.
protocol DocumentRemovalStage: RemovalStage where Configuration == MinhashFilter.Configuration {
    static var job: RemovalJob { get }
    init(removal: RemovalFilter)
}

extension DocumentRemovalStage {
    public static var dropReasons: [DropReason] { [job.reason] }
    public static var options: [StageOption] { job.options }

    public init(configuration c: Configuration) throws {
        self.init(work: try checkWorkName(c.work ?? Self.job.defaultWork), clusterMetadata: c.clusterMetadata ?? false)
    }

    init(work: String, clusterMetadata: Bool) {
        let j = Self.job
        self.init(
            removal: RemovalFilter(
                work: work, stage: Self.type, signing: j.signing, deciding: j.deciding, producer: j.producer,
                decider: j.decider, reason: j.reason, metadataPrefix: clusterMetadata ? j.metadataPrefix : nil))
    }
}

/// The `cluster_metadata` option of a removal stage or shortcut whose metadata keys start with
/// `prefix`.
func clusterMetadataOption(prefix: String) -> StageOption {
    StageOption(
        "cluster_metadata", "bool", default: "false",
        help: "Add \(prefix)_cluster_id and \(prefix)_cluster_size to each document's metadata.")
}

/// The options of a first dedup step that a shortcut reuses: they name the work folder.
protocol WorkFolderConfiguration: Decodable, Sendable {
    var work: String? { get }
}

/// Decodes a dedup shortcut's options: all of its first step's (`C`) except `work`, since a
/// shortcut keeps its files in `OUT/_work/ID` under its stage id, plus `cluster_metadata`.
func decodeShortcutConfiguration<C: WorkFolderConfiguration>(
    _ decoder: any Decoder, stage: String
) throws -> (first: C, clusterMetadata: Bool?) {
    let first = try C(from: decoder)
    if first.work != nil {
        throw StageConfigurationError("\(stage) keeps its files in OUT/_work/ID (its stage id); it has no 'work' option")
    }
    let c = try decoder.container(keyedBy: ShortcutKeys.self)
    return (first, try c.decodeIfPresent(Bool.self, forKey: .clusterMetadata))
}

private enum ShortcutKeys: String, CodingKey {
    case clusterMetadata = "cluster_metadata"
}
