import SluiceCore
import SluiceIO

// The three steps a `score_buckets` stage expands into (see ``ScoreBuckets``). They are not
// registered as stage types of their own: the runtime builds them from the expansion.

// MARK: - Step 1: scores

/// Writes the score and weight of each document that has a score (every one, or the sampled
/// ones) to the task's score file. Documents end here: the step writes no shards.
struct ScoreBucketsCollect: DocumentSinkStage {
    typealias Configuration = ScoreBuckets.Configuration

    static let type = "score_buckets_scores"
    static let summary = "score_buckets step 1: the score and weight of each document, to OUT/_work/ID/scores (no shards)."
    static let options: [StageOption] = []

    let spec: ScoreBucketSpec
    let work: String
    private let tasks = Locked<[Int: ScoreCollectTask]>([:])

    init(configuration c: Configuration) throws {
        self.init(spec: try ScoreBucketSpec(c), work: "score_buckets")
    }

    init(spec: ScoreBucketSpec, work: String) {
        self.spec = spec
        self.work = work
    }

    func beginTask(_ context: TaskContext) throws {
        let task = try ScoreCollectTask(context: context, work: ScoreBucketWork(context: context, name: work), spec: spec)
        tasks.withLock { $0[context.task] = task }
    }

    func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var chunk = ScoreCollectTask.Chunk(count: batch.count)
        chunk.records.reserveCapacity(batch.count)
        for doc in batch.documents {
            guard let v = spec.scoreValue(of: doc) else {
                chunk.missing += 1
                continue
            }
            guard spec.isSampled(doc) else {
                chunk.sampledOut += 1
                continue
            }
            chunk.records.append((ScoreBucketMath.key(v), spec.weight(of: doc)))
        }
        stats.counters["scored", default: 0] += chunk.records.count
        if chunk.missing > 0 { stats.counters["score_missing", default: 0] += chunk.missing }
        if chunk.sampledOut > 0 { stats.counters["sampled_out", default: 0] += chunk.sampledOut }
        guard let task = tasks.withLock({ $0.count == 1 ? $0.first!.value : nil }) else {
            throw ScoreBucketError("\(Self.type): a batch arrived outside a task; the stage needs a runtime that calls beginTask")
        }
        try task.deliver(sequence: batch.sequence, chunk)
    }

    func finishTask(_ context: TaskContext, stats: inout StageStats) throws {
        guard let task = tasks.withLock({ $0.removeValue(forKey: context.task) }) else { return }
        try task.finish()
    }
}

/// One task's score file, written in input order whatever order batches arrive in (so a
/// rerun writes the same bytes).
final class ScoreCollectTask: @unchecked Sendable {
    struct Chunk {
        var count: Int
        var records: [(key: UInt64, weight: UInt64)] = []
        var missing = 0
        var sampledOut = 0
    }

    private let context: TaskContext
    private let work: ScoreBucketWork
    private let spec: ScoreBucketSpec
    private let lock = Locked<Void>(())
    private var pending: [Int: Chunk] = [:]
    private var nextSequence = 0
    private let writer: ScoreFileWriter
    private var record: ScoreTaskRecord

    init(context: TaskContext, work: ScoreBucketWork, spec: ScoreBucketSpec) throws {
        self.context = context
        self.work = work
        self.spec = spec
        try work.makeDirectory("scores")
        work.removeStale(work.recordPath(task: context.task))
        work.removeStale(work.scoresPath(task: context.task))
        writer = try ScoreFileWriter(path: work.scoresPath(task: context.task))
        record = ScoreTaskRecord(
            task: context.task, tasks: context.tasks, jobID: spec.jobID, documents: 0, scored: 0, missing: 0,
            sampledOut: 0, weightTotal: 0, minimum: nil, maximum: nil, inputFiles: context.inputFiles)
    }

    func deliver(sequence: Int, _ chunk: Chunk) throws {
        try lock.withLock { _ in
            pending[sequence] = chunk
            while let ready = pending.removeValue(forKey: nextSequence) {
                nextSequence += 1
                for r in ready.records {
                    try writer.append(key: r.key, weight: r.weight)
                    let (sum, overflow) = record.weightTotal.addingReportingOverflow(r.weight)
                    guard !overflow else { throw ScoreBucketError("score_buckets: the total weight of task \(context.task) overflows 64 bits") }
                    record.weightTotal = sum
                    let v = ScoreBucketMath.score(r.key)
                    if record.minimum.map({ v < $0 }) ?? true { record.minimum = v }
                    if record.maximum.map({ v > $0 }) ?? true { record.maximum = v }
                }
                record.documents += ready.count
                record.scored += ready.records.count
                record.missing += ready.missing
                record.sampledOut += ready.sampledOut
            }
        }
    }

    func finish() throws {
        try lock.withLock { _ in
            guard pending.isEmpty else {
                throw ScoreBucketError("score_buckets: task \(context.task) ended with batches missing (next expected \(nextSequence))")
            }
            try writer.commit()
            try record.write(work)
        }
    }
}

// MARK: - Step 2: boundaries

/// Computes the weighted percentiles over every task's score file and writes
/// `OUT/_work/ID/boundaries.json`. Reads no documents; task 0 does the work and the step's
/// other tasks have nothing to do.
struct ScoreBucketsBoundaries: WorkStage {
    typealias Configuration = ScoreBuckets.Configuration

    static let type = "score_buckets_boundaries"
    static let summary = "score_buckets step 2: exact token-weighted percentiles over all tasks' scores (reads no documents)."
    static let options: [StageOption] = []

    let spec: ScoreBucketSpec
    let work: String

    init(configuration c: Configuration) throws {
        self.init(spec: try ScoreBucketSpec(c), work: "score_buckets")
    }

    init(spec: ScoreBucketSpec, work: String) {
        self.spec = spec
        self.work = work
    }

    func runTask(_ context: TaskContext, stats: inout StageStats) throws {
        guard context.task == 0 else { return }
        let w = ScoreBucketWork(context: context, name: work)
        w.removeStale(w.boundariesPath)
        let first = try ScoreTaskRecord.read(w, task: 0)
        var records = [first]
        for t in 1..<max(1, first.tasks) {
            let r = try ScoreTaskRecord.read(w, task: t)
            guard r.tasks == first.tasks else {
                throw ScoreBucketError("score_buckets: \(w.recordPath(task: t)) belongs to a run with \(r.tasks) tasks, task 0 to one with \(first.tasks); delete OUT/_work/\(work) and the job's _steps/ folders and rerun")
            }
            records.append(r)
        }
        for r in records where r.jobID != spec.jobID {
            throw ScoreBucketError("score_buckets: \(w.recordPath(task: r.task)) was written for another configuration (job \(r.jobID), this one is \(spec.jobID)); delete OUT/_work/\(work) and the job's _steps/ folders and rerun")
        }
        let documents = records.reduce(0) { $0 + $1.documents }
        let scored = records.reduce(0) { $0 + $1.scored }
        let missing = records.reduce(0) { $0 + $1.missing }
        let sampledOut = records.reduce(0) { $0 + $1.sampledOut }
        var total: UInt64 = 0
        for r in records {
            let (s, o) = total.addingReportingOverflow(r.weightTotal)
            guard !o else { throw ScoreBucketError("score_buckets: the total weight overflows 64 bits") }
            total = s
        }
        let scorePath = spec.score.text
        guard scored > 0 else {
            throw ScoreBucketError(
                "score_buckets: no document has a numeric metadata.\(scorePath) (\(documents) documents read, \(missing) without it, \(sampledOut) left out by sample, in \(first.tasks) tasks); run the stage that writes the score before score_buckets, or fix score:")
        }
        guard total > 0 else {
            throw ScoreBucketError(
                "score_buckets: the \(scored) scored documents weigh 0 in total (weight: \(spec.weighting.rawValue): every text is empty); use weight: documents")
        }
        guard total <= ScoreBucketMath.maximumTotalWeight else {
            throw ScoreBucketError("score_buckets: the total weight \(total) exceeds 2^53, where float64 sums stop being exact; use sample: to compute the percentiles from a share of the corpus")
        }
        let limit = max(1024, spec.memoryBytes / 16 / max(1, spec.percentiles.count))
        let selection = ScoreBucketSelection(percentiles: spec.percentiles, total: total, collectLimit: limit)
        let (keys, passes) = try selection.run { visit in
            for r in records where r.scored > 0 {
                try readScoreFile(w.scoresPath(task: r.task), records: r.scored, visit)
            }
        }
        let boundaries = keys.map(ScoreBucketMath.score)
        let minimum = records.compactMap(\.minimum).min()
        let maximum = records.compactMap(\.maximum).max()
        var o: JSONObject = [
            "job_id": .string(spec.jobID), "score": .string(scorePath), "weight": .string(spec.weighting.rawValue),
            "sample": .double(spec.sample), "seed": .number(JSONNumber(uncheckedLiteral: String(Int64(bitPattern: spec.seed)))),
            "tasks": .int(first.tasks), "documents": .int(documents), "scored": .int(scored), "missing": .int(missing),
            "sampled_out": .int(sampledOut), "weight_total": .number(JSONNumber(uncheckedLiteral: String(total))),
            "min": minimum.map { .double($0) } ?? .null, "max": maximum.map { .double($0) } ?? .null,
            "percentiles": .array(spec.percentiles.map { .double($0) }),
            "boundaries": .array(boundaries.map { .double($0) }),
        ]
        if let names = spec.names { o["names"] = .array(names.map { .string($0) }) }
        o["passes"] = .int(passes)
        o["definition"] = .string(
            "boundary(p) = smallest score v with double(W(v))/double(T) >= p/100 and W(v) > 0, W(v) = weight of scores <= v, T = total weight; numpy: np.percentile(scores, p, weights=w, method='inverted_cdf'); bucket(x) = number of boundaries <= x (np.digitize)")
        try w.makeDirectory()
        try writeSmallJSONFile(w.boundariesPath, .object(o))
        stats.counters["documents", default: 0] += documents
        stats.counters["scored", default: 0] += scored
        stats.counters["weight_total", default: 0] += Int(total)
        stats.counters["passes", default: 0] += passes
        for (p, b) in zip(spec.percentiles, boundaries) {
            stats.counters[boundaryCounterName(p), default: 0] += Int(max(-9e18, min(9e18, (b * 1e6).rounded())))
        }
    }
}

/// `boundary_p05_x1e6`, `boundary_p33.333_x1e6`: a counter name for a percentile's boundary.
func boundaryCounterName(_ p: Double) -> String {
    let thousandths = Int((p * 1000).rounded())
    var text = String(thousandths / 1000)
    if thousandths % 1000 != 0 {
        var fraction = String(thousandths % 1000)
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        text += "." + fraction
    }
    if thousandths < 10_000 { text = "0" + text }
    return "boundary_p" + text + "_x1e6"
}

// MARK: - Step 3: assign

/// Reads the boundaries and gives each document its bucket (and drops what is not kept).
struct ScoreBucketsAssign: TaskAwareStage {
    typealias Configuration = ScoreBuckets.Configuration

    static let type = ScoreBuckets.type
    static let summary = "score_buckets step 3: each document's bucket from the boundaries of step 2."
    static let options: [StageOption] = []
    static let dropReasons: [DropReason] = ScoreBuckets.dropReasons

    let spec: ScoreBucketSpec
    let work: String

    final class TaskState: @unchecked Sendable {
        let boundaries: [Double]
        /// Documents the scores step read for this task, when it read the same files.
        let expectedDocuments: Int?
        let seen = Locked<Int>(0)
        init(boundaries: [Double], expectedDocuments: Int?) {
            self.boundaries = boundaries
            self.expectedDocuments = expectedDocuments
        }
    }

    private let tasks = Locked<[Int: TaskState]>([:])

    init(configuration c: Configuration) throws {
        self.init(spec: try ScoreBucketSpec(c), work: "score_buckets")
    }

    init(spec: ScoreBucketSpec, work: String) {
        self.spec = spec
        self.work = work
    }

    func beginTask(_ context: TaskContext) throws {
        let w = ScoreBucketWork(context: context, name: work)
        let o = try readSmallJSON(w.boundariesPath, missingHint: "the boundaries step (score_buckets step 2) must run first")
        guard o["job_id"]?.stringValue == spec.jobID else {
            throw ScoreBucketError("score_buckets: \(w.boundariesPath) was computed for another configuration (job \(o["job_id"]?.stringValue ?? "?"), this one is \(spec.jobID)); delete OUT/_work/\(work) and the job's _steps/ folders and rerun")
        }
        guard let list = o["boundaries"]?.arrayValue, list.count == spec.percentiles.count else {
            throw ScoreBucketError("score_buckets: \(w.boundariesPath) does not hold \(spec.percentiles.count) boundaries; delete it and rerun")
        }
        let boundaries = try list.map { v -> Double in
            guard let d = v.doubleValue, d.isFinite else { throw ScoreBucketError("score_buckets: \(w.boundariesPath) holds a boundary that is not a number") }
            return d
        }
        var expected: Int?
        if let r = try? ScoreTaskRecord.read(w, task: context.task), r.tasks == context.tasks, r.inputFiles == context.inputFiles {
            expected = r.documents
        }
        tasks.withLock { $0[context.task] = TaskState(boundaries: boundaries, expectedDocuments: expected) }
    }

    func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        guard let state = tasks.withLock({ $0.count == 1 ? $0.first!.value : nil }) else {
            throw ScoreBucketError("score_buckets: a batch arrived outside a task; the stage needs a runtime that calls beginTask")
        }
        state.seen.withLock { $0 += batch.count }
        var counts = [Int](repeating: 0, count: state.boundaries.count + 2)
        batch.retain { spec.assign(&$0, boundaries: state.boundaries, counts: &counts) }
        spec.addBucketCounters(counts, to: &stats)
    }

    func finishTask(_ context: TaskContext, stats: inout StageStats) throws {
        guard let state = tasks.withLock({ $0.removeValue(forKey: context.task) }) else { return }
        let seen = state.seen.withLock { $0 }
        if let expected = state.expectedDocuments, expected != seen {
            throw ScoreBucketError(
                "score_buckets: task \(context.task) read \(seen) documents but the scores step read \(expected) from the same files; the input changed between the steps. Delete the output folder and rerun the whole job")
        }
    }
}
