import Dispatch
import SluiceCore
import SluiceTestSupport

@testable import SluiceDedup

/// Runs dedup stages in-process the way the executor does (task contexts, begin and finish
/// around a task's batches, stateless stages on several threads with batches out of order):
/// unit tests of the stages without the CLI. End-to-end tests run the real `sluice`.
final class DedupDriver: @unchecked Sendable {
    let directory = TemporaryDirectory("sluice-dedup")
    var out: String { directory.path + "/out" }
    var workDirectory: String { out + "/_work" }

    func context(step: String, task: Int, tasks: Int, workers: Int = 2, files: [String], stageID: String) -> TaskContext {
        TaskContext(
            step: step, task: task, tasks: tasks, workers: workers, inputFiles: files,
            outputDirectory: out + "/" + step, workDirectory: workDirectory, stageID: stageID)
    }

    static func inputFiles(task: Int) -> [String] { ["input-\(task).jsonl"] }

    struct DocumentResult {
        var kept: [[Document]] = []
        var dropped: [[(Document, DropReason)]] = []
        var stats = StageStats()
        var allKept: [Document] { kept.flatMap { $0 } }
    }

    /// Runs a document-reading stage over `tasks` (each task's documents in input order).
    func runDocuments<S: Stage>(
        _ stage: S, stageID: String = S.type, step: String = "step", tasks: [[Document]], batchSize: Int = 7,
        workers: Int = 2
    ) throws -> DocumentResult {
        var result = DocumentResult()
        for (t, docs) in tasks.enumerated() {
            let ctx = context(step: step, task: t, tasks: tasks.count, workers: workers, files: Self.inputFiles(task: t), stageID: stageID)
            if let aware = stage as? any TaskAwareStage { try aware.beginTask(ctx) }
            var batches: [DocumentBatch] = stride(from: 0, to: docs.count, by: batchSize).enumerated().map { seq, start in
                DocumentBatch(sequence: seq, documents: Array(docs[start..<min(docs.count, start + batchSize)]), keepsRejected: true)
            }
            let statsLock = Locked<StageStats>(StageStats())
            if S.isStateless && workers > 1 {
                // Out of order and concurrently, as worker threads would.
                let order = Array(batches.indices.reversed())
                let shared = Locked(batches)
                let failure = Locked<(any Error)?>(nil)
                DispatchQueue.concurrentPerform(iterations: order.count) { k in
                    let i = order[k]
                    var b = shared.withLock { $0[i] }
                    var s = StageStats()
                    b.currentStageID = stageID
                    do {
                        try stage.process(&b, stats: &s)
                        s.addDrops(b.takeDropCounts())
                    } catch {
                        failure.withLock { $0 = $0 ?? error }
                    }
                    shared.withLock { $0[i] = b }
                    statsLock.withLock { $0.merge(s) }
                }
                if let e = failure.withLock({ $0 }) { throw e }
                batches = shared.withLock { $0 }
            } else {
                for i in batches.indices {
                    var s = StageStats()
                    batches[i].currentStageID = stageID
                    try stage.process(&batches[i], stats: &s)
                    s.addDrops(batches[i].takeDropCounts())
                    statsLock.withLock { $0.merge(s) }
                }
            }
            var stats = statsLock.withLock { $0 }
            if let aware = stage as? any TaskAwareStage { try aware.finishTask(ctx, stats: &stats) }
            result.stats.merge(stats)
            result.kept.append(batches.flatMap(\.documents))
            result.dropped.append(batches.flatMap { b in
                var copy = b
                return copy.takeRejected().map { ($0.document, $0.reason) }
            })
        }
        return result
    }

    /// Runs every task of a work stage.
    @discardableResult
    func runWork<S: WorkStage>(_ stage: S, stageID: String = S.type, step: String = "work", tasks: Int = 1, workers: Int = 2) throws -> StageStats {
        var total = StageStats()
        for t in 0..<tasks {
            var s = StageStats()
            try stage.runTask(context(step: step, task: t, tasks: tasks, workers: workers, files: [], stageID: stageID), stats: &s)
            total.merge(s)
        }
        return total
    }

    /// Runs a multi-step stage's phases over `tasks`: the result of the last phase.
    func runPhases(_ phases: [StagePhase], stageID: String, tasks: [[Document]], workTasks: Int = 1, workers: Int = 2) throws -> DocumentResult {
        var last = DocumentResult()
        for phase in phases {
            if let work = phase.stage as? any WorkStage {
                try runWorkAny(work, stageID: stageID, step: phase.name, tasks: workTasks, workers: workers)
            } else {
                last = try runDocumentsAny(phase.stage, stageID: stageID, step: phase.name, tasks: tasks, workers: workers)
            }
        }
        return last
    }

    private func runWorkAny(_ stage: any WorkStage, stageID: String, step: String, tasks: Int, workers: Int) throws {
        func open<S: WorkStage>(_ s: S) throws { try runWork(s, stageID: stageID, step: step, tasks: tasks, workers: workers) }
        try open(stage)
    }

    private func runDocumentsAny(_ stage: any Stage, stageID: String, step: String, tasks: [[Document]], workers: Int) throws -> DocumentResult {
        func open<S: Stage>(_ s: S) throws -> DocumentResult {
            try runDocuments(s, stageID: stageID, step: step, tasks: tasks, workers: workers)
        }
        return try open(stage)
    }
}

/// Documents split over `tasks` tasks the way input files are: round robin by file, here one
/// document per "file" slot.
func splitIntoTasks(_ docs: [Document], tasks: Int) -> [[Document]] {
    var out = Array(repeating: [Document](), count: tasks)
    let per = (docs.count + tasks - 1) / tasks
    for (i, d) in docs.enumerated() { out[min(tasks - 1, i / max(1, per))].append(d) }
    return out
}
