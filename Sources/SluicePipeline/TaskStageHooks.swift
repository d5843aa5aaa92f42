import Foundation
import SluiceCore
import SluiceIO

/// The executor's side of `TaskAwareStage` and `WorkStage`: task contexts, the begin and finish
/// calls around a task's batches, and tasks of steps that read no documents.
extension TaskRunner {
    func taskContext(for instance: StageInstance, files: [String]) -> TaskContext {
        TaskContext(
            step: step.name, task: task, tasks: step.tasks, workers: max(1, step.workers), inputFiles: files,
            outputDirectory: step.output.root, workDirectory: step.workDirectory, stageID: instance.id)
    }

    /// Tells every task-aware stage that the task starts.
    func beginStageTasks(files: [String]) throws {
        for instance in step.stages {
            guard let aware = instance.stage as? any TaskAwareStage else { continue }
            try aware.beginTask(taskContext(for: instance, files: files))
        }
    }

    /// Tells every task-aware stage, in pipeline order, that the task's input is finished; their
    /// counts go into the stage's totals. Runs before the completion marker is written.
    func finishStageTasks(files: [String], totals: inout [StageStats]) throws {
        for (i, instance) in step.stages.enumerated() {
            guard let aware = instance.stage as? any TaskAwareStage else { continue }
            var stats = StageStats()
            let t0 = monotonicNanoseconds()
            try aware.finishTask(taskContext(for: instance, files: files), stats: &stats)
            stats.nanoseconds = monotonicNanoseconds() - t0
            totals[i + 1].merge(stats)
        }
    }

    /// One task of a step whose only stage is a `WorkStage`: it works from files, so there is
    /// no reader, no worker queue and no shard; the task's stats and completion marker are
    /// written as for any task.
    func runWorkTask(started: UInt64) throws -> TaskReport {
        guard step.stages.count == 1, let work = step.stages[0].stage as? any WorkStage else {
            throw OutputError("step '\(step.name)' reads no documents but does not consist of one work stage")
        }
        let instance = step.stages[0]
        var stats = StageStats()
        let t0 = monotonicNanoseconds()
        try work.runTask(taskContext(for: instance, files: []), stats: &stats)
        stats.nanoseconds = monotonicNanoseconds() - t0
        if let sig = Interruption.signal { throw RunInterrupted(signal: sig) }
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        let stageList: [(id: String, type: String, stats: StageStats)] = [
            (readStageID, "input", StageStats()), (instance.id, instance.type, stats),
        ]
        try writeTaskStats(stageList, problems: [], seconds: seconds)
        let completion = CompletionRecord(
            task: task, tasks: step.tasks, step: step.name, configurationHash: step.configurationHash, inputFiles: [],
            shards: [], rejected: [], documentsIn: 0, documentsOut: 0)
        try createDirectory(step.output.completionsDirectory)
        try writeAtomically(path: step.output.completionPath(task), bytes: prettyJSON(completion.json))
        return TaskReport(task: task, skipped: false, stages: stageList, shards: [], inputProblems: [], seconds: seconds)
    }
}
