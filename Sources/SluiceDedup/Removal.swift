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
                "\(stage): no \(signing) for task \(context.task) in \(w.path(signing)); the \(producer) step must run first, with the same `work` name ('\(work)') and the same task count")
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
