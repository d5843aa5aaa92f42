import Dispatch
import Glibc
import SluiceCore

/// The MinHash scale benchmark: `minhash_dedup`'s four steps in this process over generated
/// documents, one step after another, with each step's wall time and peak resident memory
/// (the peak is reset between steps through `/proc/self/clear_refs`).
///
/// Documents are `words` random words from a vocabulary of about a million; every
/// `1/duplicateFraction`-th document is a near copy (one word in `changeEvery` replaced) of an
/// earlier one. Nothing is held in memory between batches, so the numbers are the steps' own.
public enum DedupBenchmark {
    public struct Step: Sendable {
        public var name: String
        public var seconds: Double
        /// Peak resident set during the step, bytes (nil where /proc is not available).
        public var peakResidentBytes: Int?
        /// The step's counters; the steps that read documents count their UTF-8 text bytes as
        /// `text_bytes`.
        public var counters: [String: Int]
    }

    public struct Result: Sendable {
        public var documents: Int
        public var tasks: Int
        public var workers: Int
        public var removed: Int
        public var steps: [Step]
        public var documentsPerSecond: Double {
            documents > 0 ? Double(documents) / max(1e-9, steps.reduce(0) { $0 + $1.seconds }) : 0
        }
    }

    /// The names of the steps, in order: `signatures`, `buckets`, `clusters`, `remove`.
    public static let stepNames = ["signatures", "buckets", "clusters", "remove"]

    /// Runs the benchmark; `work` is a scratch folder (emptied when the signatures step runs).
    /// `only` runs some steps (the others must have run before with the same arguments), so
    /// that each step can run in a process of its own and its peak memory is its own.
    /// `hash` is the shingle hash (`minhash_dedup`'s `hash` option).
    public static func runMinHash(
        documents: Int, words: Int = 60, tasks: Int = 1, workers: Int = 2, duplicateFraction: Double = 0.1,
        changeEvery: Int = 20, batchSize: Int = 1000, hash: ShingleHash = .xxhash, work: String,
        only: Set<String>? = nil, log: (String) -> Void = { _ in }
    ) throws -> Result {
        if only?.contains("signatures") ?? true {
            Files.removeTree(work)
        }
        try Files.makeDirectories(work)
        let id = "minhash_dedup"
        let phases = try MinhashDedup(configuration: .init(signatures: .init(hash: hash))).phases(stageID: id)!
        let perTask = (documents + tasks - 1) / tasks
        let generator = BenchmarkCorpus(words: words, duplicateEvery: duplicateFraction > 0 ? max(2, Int((1 / duplicateFraction).rounded())) : 0, changeEvery: changeEvery)
        var steps: [Step] = []
        var removed = 0
        for phase in phases where only?.contains(phase.name) ?? true {
            resetPeakResident()
            let started = monotonicSeconds()
            var stats = StageStats()
            if let workStage = phase.stage as? any WorkStage {
                for t in 0..<tasks {
                    var s = StageStats()
                    try workStage.runTask(context(phase.name, t, tasks, workers, work, id), stats: &s)
                    stats.merge(s)
                }
            } else {
                for t in 0..<tasks {
                    let lo = t * perTask
                    let hi = min(documents, lo + perTask)
                    let s = try runDocuments(
                        phase.stage, context: context(phase.name, t, tasks, workers, work, id), range: lo..<max(lo, hi),
                        generator: generator, batchSize: batchSize, workers: workers)
                    stats.merge(s)
                }
            }
            let step = Step(
                name: phase.name, seconds: monotonicSeconds() - started, peakResidentBytes: peakResident(),
                counters: stats.counters)
            if phase.name == "remove" { removed = stats.dropped["minhash_duplicate"] ?? 0 }
            log("\(phase.name): \(formatSeconds(step.seconds)) s, peak RSS \(step.peakResidentBytes.map { formatBytes($0) } ?? "?")")
            steps.append(step)
        }
        return Result(documents: documents, tasks: tasks, workers: workers, removed: removed, steps: steps)
    }

    static func context(_ step: String, _ t: Int, _ tasks: Int, _ workers: Int, _ work: String, _ id: String) -> TaskContext {
        TaskContext(
            step: step, task: t, tasks: tasks, workers: workers, inputFiles: ["generated-\(t)"],
            outputDirectory: work + "/" + step, workDirectory: work, stageID: id)
    }

    /// One task's documents through a document-reading stage: batches on `workers` threads,
    /// sequence numbers in input order, at most `2 × workers` batches alive at once.
    static func runDocuments(
        _ stage: any Stage, context: TaskContext, range: Range<Int>, generator: BenchmarkCorpus, batchSize: Int, workers: Int
    ) throws -> StageStats {
        if let aware = stage as? any TaskAwareStage { try aware.beginTask(context) }
        let batches = (range.count + batchSize - 1) / batchSize
        let total = Locked(StageStats())
        let serial = !type(of: stage).isStateless
        try parallelFor(count: batches, workers: serial ? 1 : workers) { b in
            let lo = range.lowerBound + b * batchSize
            let hi = min(range.upperBound, lo + batchSize)
            var batch = DocumentBatch(sequence: b, documents: (lo..<hi).map { generator.document($0) })
            var s = StageStats()
            s.received = batch.count
            s.counters["text_bytes"] = batch.documents.reduce(0) { $0 + $1.text.utf8.count }
            try stage.process(&batch, stats: &s)
            s.addDrops(batch.takeDropCounts())
            s.kept = batch.count
            total.withLock { $0.merge(s) }
        }
        var stats = total.withLock { $0 }
        if let aware = stage as? any TaskAwareStage { try aware.finishTask(context, stats: &stats) }
        return stats
    }

    private static func resetPeakResident() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = "5".withCString { write(fd, $0, 1) }
        close(fd)
    }

    /// VmHWM from /proc/self/status, in bytes.
    public static func peakResident() -> Int? {
        guard let bytes = try? Files.readAll("/proc/self/status") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.filter { $0.isNumber }
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func formatSeconds(_ s: Double) -> String { formatFixed(s, digits: 1) }
}

/// Generated documents, each computed from its number alone.
struct BenchmarkCorpus: Sendable {
    let words: Int
    let duplicateEvery: Int
    let changeEvery: Int

    func document(_ i: Int) -> Document {
        var text: [UInt8] = []
        text.reserveCapacity(words * 9)
        if duplicateEvery > 0 && i % duplicateEvery == duplicateEvery - 1 && i > 0 {
            // A near copy of an earlier document.
            var pick = SplitMix64(seed: UInt64(i) &* 0x2545_F491_4F6C_DD1D)
            let source = Int(pick.next() % UInt64(i))
            var rng = SplitMix64(seed: UInt64(source))
            var change = SplitMix64(seed: UInt64(i))
            for w in 0..<words {
                let r = rng.next()
                if w > 0 { text.append(0x20) }
                PlantedCorpus.appendWord(w % changeEvery == changeEvery / 2 ? change.next() : r, to: &text)
            }
        } else {
            var rng = SplitMix64(seed: UInt64(i))
            for w in 0..<words {
                if w > 0 { text.append(0x20) }
                PlantedCorpus.appendWord(rng.next(), to: &text)
            }
        }
        return Document(id: "g\(i)", text: String(decoding: text, as: UTF8.self))
    }
}
