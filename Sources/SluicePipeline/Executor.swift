import Foundation
import SluiceCore
import SluiceIO

/// Runs a pipeline's steps in order, each as `tasks` independent tasks.
///
/// Tasks with a completion marker are skipped, so a rerun after a crash redoes only the
/// unfinished ones, and each unfinished task starts from scratch (its partial files are
/// removed first). With `taskIndex` set, only that task of each step runs: this is how array
/// jobs (Slurm, Kubernetes indexed jobs) run a pipeline.
public struct PipelineExecutor: Sendable {
    public var steps: [ExecutionStep]
    /// The step before the first of `steps`, whose completion they require.
    public var upstream: ExecutionStep?
    public var taskIndex: Int?
    public var progress: ProgressMode
    public var pipelineName: String
    public var pipelineText: String

    public init(
        steps: [ExecutionStep], upstream: ExecutionStep? = nil, taskIndex: Int?, progress: ProgressMode,
        pipelineName: String, pipelineText: String
    ) {
        self.steps = steps
        self.upstream = upstream
        self.taskIndex = taskIndex
        self.progress = progress
        self.pipelineName = pipelineName
        self.pipelineText = pipelineText
    }

    /// What a whole run did, step by step.
    public struct StepReport: Sendable {
        public var step: String
        public var tasks: [TaskReport]
        public var skippedTasks: Int
    }

    /// Runs every step (or one task of each); throws on the first failed task.
    public func run(log: (String) -> Void) throws -> [StepReport] {
        var reports: [StepReport] = []
        for (i, step) in steps.enumerated() {
            if let t = taskIndex, t >= step.tasks {
                throw OutputError("task index \(t) is out of range: step '\(step.name)' has \(step.tasks) tasks (0...\(step.tasks - 1))")
            }
            try checkCompatible(step)
            if let before = i > 0 ? steps[i - 1] : upstream {
                try requireUpstreamComplete(before)
            }
            if step.readsDocuments && step.files.isEmpty {
                throw OutputError(
                    "step '\(step.name)' has no input files" + (step.documentSource != nil ? ": the step whose shards it reads wrote none" : ""))
            }
            let taskList = taskIndex.map { [$0] } ?? Array(0..<step.tasks)
            var report = StepReport(step: step.name, tasks: [], skippedTasks: 0)
            for t in taskList {
                if Interruption.requested { throw RunInterrupted(signal: Interruption.signal ?? SIGINT) }
                if FileManager.default.fileExists(atPath: step.output.completionPath(t)) {
                    report.skippedTasks += 1
                    continue
                }
                let runner = TaskRunner(step: step, task: t, progress: progress)
                let r = try runner.run()
                log("\(step.name): task \(t) done: \(r.stages.first?.stats.received ?? 0) in, \(r.shards.reduce(0) { $0 + $1.documents }) out, \(r.shards.count) shards, \(formatFixed(r.seconds, digits: 1)) s")
                report.tasks.append(r)
            }
            reports.append(report)
            try writeManifestIfComplete(step)
            // Later steps need this step complete; with one task index, each array job
            // continues only if the whole step is already done.
            if taskIndex != nil, i + 1 < steps.count, !isComplete(step) { break }
        }
        return reports
    }

    func isComplete(_ step: ExecutionStep) -> Bool {
        (0..<step.tasks).allSatisfy { FileManager.default.fileExists(atPath: step.output.completionPath($0)) }
    }

    func requireUpstreamComplete(_ upstream: ExecutionStep) throws {
        let missing = (0..<upstream.tasks).filter { !FileManager.default.fileExists(atPath: upstream.output.completionPath($0)) }
        if !missing.isEmpty {
            throw OutputError(
                "step '\(upstream.name)' is not complete: \(missing.count) of \(upstream.tasks) tasks have no completion marker in \(upstream.output.completionsDirectory) (first missing: task \(missing[0])); run it first")
        }
    }

    /// Refuses to mix output of different configurations or task counts in one folder.
    private func checkCompatible(_ step: ExecutionStep) throws {
        let dir = step.output.completionsDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names.sorted() where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let path = dir + "/" + name
            let record = try readCompletion(path)
            if record.tasks != step.tasks {
                throw OutputError(
                    "\(step.output.root) holds output of a run with \(record.tasks) tasks, but this run has \(step.tasks); use the same task count to resume, or another output.path (or delete the folder) to start over")
            }
            if record.configurationHash != step.configurationHash {
                throw OutputError(
                    "\(step.output.root) holds output of step '\(record.step)' run with a different configuration or input; use another output.path (or delete the folder) to start over")
            }
        }
    }

    /// Writes `_manifest.json` once every task of the step has its marker.
    private func writeManifestIfComplete(_ step: ExecutionStep) throws {
        guard isComplete(step) else { return }
        var records: [CompletionRecord] = []
        for t in 0..<step.tasks { records.append(try readCompletion(step.output.completionPath(t))) }
        var stageTotals: [(id: String, type: String, stats: StageStats)] = []
        for t in 0..<step.tasks {
            let path = step.output.taskStatsPath(t)
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let value = try [UInt8](data).withUnsafeBytes { try parseJSONValue($0) }
            let list = try JSONFields(value, file: path).array("stages")
            for (i, entry) in list.enumerated() {
                let s = try stageStats(fromJSON: entry, file: path)
                if i < stageTotals.count { stageTotals[i].stats.merge(s.stats) } else { stageTotals.append(s) }
            }
        }
        let shards = records.flatMap(\.shards)
        let manifest: JSONValue = .object([
            "name": .string(pipelineName),
            "step": .string(step.name),
            "sluice_version": .string(sluiceVersion),
            "configuration_hash": .string(step.configurationHash),
            "tasks": .int(step.tasks),
            "inputs": .array(step.files.map { .string($0) }),
            "totals": .object([
                "documents": .int(shards.reduce(0) { $0 + $1.documents }),
                "bytes": .int(shards.reduce(0) { $0 + $1.bytes }),
                "compressed_bytes": .int(shards.reduce(0) { $0 + $1.compressedBytes }),
                "shards": .int(shards.count),
                "documents_in": .int(records.reduce(0) { $0 + $1.documentsIn }),
            ]),
            "stages": .array(stageTotals.map { stageStatsJSON(id: $0.id, type: $0.type, stats: $0.stats).withoutSeconds }),
            "shards": .array(shards.map(\.json)),
            "rejected": .array(records.flatMap(\.rejected).map(\.json)),
            "pipeline": .string(pipelineText),
        ])
        try writeAtomically(path: step.output.manifestPath, bytes: prettyJSON(manifest))
    }
}

extension JSONValue {
    /// The object without its `seconds` key: the manifest stays byte-identical across reruns.
    fileprivate var withoutSeconds: JSONValue {
        guard case .object(var o) = self else { return self }
        o["seconds"] = nil
        return .object(o)
    }
}

/// Reads and parses a completion marker.
public func readCompletion(_ path: String) throws -> CompletionRecord {
    guard let data = FileManager.default.contents(atPath: path) else { throw OutputError("cannot read \(path)") }
    let value: JSONValue
    do {
        value = try [UInt8](data).withUnsafeBytes { try parseJSONValue($0) }
    } catch {
        throw OutputError("\(path) is not valid JSON (\(error)); delete it to rerun that task")
    }
    return try CompletionRecord(json: value, file: path)
}

/// The version written into manifests.
public let sluiceVersion = "0.1.0"
