import Foundation
import SluiceCore
import SluiceIO

/// What `sluice slurm submit` was asked to do.
public struct SlurmSubmitOptions: Sendable {
    /// The pipeline file, as given.
    public var pipelinePath: String
    /// `--set` overrides, passed on to every task.
    public var overrides: [String] = []
    /// `--tasks`, passed on to every task.
    public var tasks: Int?
    /// `--workers`, passed on to every task (else `cpus_per_task`, else the pipeline's).
    public var workers: Int?
    /// Options from the command line; they win over the pipeline's `slurm:` block.
    public var settings = SlurmSettings()
    /// The `sluice` executable the tasks run; nil for this process's own, by absolute path.
    public var sluiceBinary: String?
    /// Print the scripts, submit nothing.
    public var dryRun = false
    /// The environment for `${VAR}` in the pipeline and for Slurm's commands.
    public var environment: [String: String] = ProcessInfo.processInfo.environment
    /// The folder relative paths are relative to (the jobs run there too).
    public var workingDirectory: String = FileManager.default.currentDirectoryPath

    public init(pipelinePath: String) {
        self.pipelinePath = pipelinePath
    }
}

/// One `sbatch` call of a submission: an array job running some tasks of one step.
public struct SlurmJobPlan: Sendable {
    public var step: String
    /// The step's position in the pipeline.
    public var position: Int
    public var chunk: SlurmArrayChunk
    /// The `--array` value.
    public var array: String
    /// Positions in ``SlurmSubmissionPlan/jobs`` of the jobs this one waits for (`afterok`).
    public var dependsOn: [Int]
    /// The batch script, with `@DEPENDENCY@` where the dependency line goes.
    public var script: String
    /// Arguments for sbatch's command line (the `extra` options).
    public var arguments: [String]
}

/// Everything a submission would send, worked out before anything is sent.
public struct SlurmSubmissionPlan: Sendable {
    public var record: SlurmRecord
    public var jobs: [SlurmJobPlan]
    /// Per step: its name, its task count and the tasks to submit.
    public var missing: [(step: String, tasks: Int, missing: [Int])]
    public var maxArraySize: Int
    /// A note about how MaxArraySize was found (dry runs without a cluster).
    public var notes: [String]

    /// The script of job `i` with its dependency filled in from `ids` (or placeholders).
    public func script(_ i: Int, jobIDs ids: [String]?) -> String {
        let job = jobs[i]
        var dependency = ""
        if !job.dependsOn.isEmpty {
            let list = job.dependsOn.map { d in
                ids.map { $0[d] } ?? "<job id of \(jobs[d].step)" + (jobs.filter { $0.step == jobs[d].step }.count > 1 ? " array \(d)" : "") + ">"
            }
            dependency = "#SBATCH --dependency=afterok:" + list.joined(separator: ":") + "\n#SBATCH --kill-on-invalid-dep=yes\n"
        }
        return job.script.replacingOccurrences(of: "@DEPENDENCY@\n", with: dependency)
    }
}

/// `sluice slurm submit`: one array job per step of the pipeline, each waiting (`afterok`) for
/// the step before, for the tasks that have no completion marker yet.
public struct SlurmSubmitter: Sendable {
    public var options: SlurmSubmitOptions
    public var client: SlurmClient

    public init(options: SlurmSubmitOptions, client: SlurmClient? = nil) {
        self.options = options
        self.client = client ?? SlurmClient(environment: options.environment)
    }

    /// Absolute form of a path relative to the working directory.
    func absolute(_ path: String) -> String {
        let p = path.hasPrefix("/") ? path : options.workingDirectory + "/" + path
        return URL(fileURLWithPath: p).standardizedFileURL.path
    }

    /// The `sluice` executable the tasks will run, by absolute path.
    func sluiceBinary() throws -> String {
        if let given = options.sluiceBinary {
            let p = absolute(given)
            guard FileManager.default.isExecutableFile(atPath: p) else {
                throw SlurmError("--sluice-binary \(given): \(p) is not an executable file")
            }
            return p
        }
        return ownExecutable()
    }

    /// This process's executable, by absolute path.
    func ownExecutable() -> String {
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return exe }
        return absolute(CommandLine.arguments[0])
    }

    /// Works out the jobs: loads the pipeline, finds the tasks without completion markers and
    /// splits each step's tasks into arrays below MaxArraySize. Sends nothing.
    ///
    /// - Throws: ``PipelineError`` for an invalid pipeline, ``OutputError`` for an output folder
    ///   that holds another configuration's tasks, ``SlurmError`` when Slurm cannot be asked.
    public func plan() throws -> SlurmSubmissionPlan {
        let pipelinePath = absolute(options.pipelinePath)
        let prepared = try PreparedRun(
            pipelinePath: pipelinePath, overrides: options.overrides, environment: options.environment, tasks: options.tasks,
            workers: options.workers)
        let settings = prepared.pipeline.spec.slurm.overlaid(with: options.settings)
        if let problem = settings.problem() { throw SlurmError(problem) }
        guard let last = prepared.steps.last else { throw SlurmError("the pipeline has no steps") }
        let output = absolute(last.output.root)
        let sluice = try sluiceBinary()

        var steps: [SlurmRecord.Step] = []
        var missing: [(step: String, tasks: Int, missing: [Int])] = []
        for step in prepared.steps {
            let stepOutput = absolute(step.output.root)
            try checkExistingMarkers(step, output: stepOutput)
            let todo = (0..<step.tasks).filter {
                !FileManager.default.fileExists(atPath: OutputLayout(root: stepOutput).completionPath($0))
            }
            steps.append(
                SlurmRecord.Step(
                    name: step.name, tasks: step.tasks, output: stepOutput,
                    logs: OutputLayout(root: output).path("_logs/\(pad(step.position, 2))_\(step.name)")))
            missing.append((step.name, step.tasks, todo))
        }

        var notes: [String] = []
        let maxArraySize: Int
        do {
            maxArraySize = try client.maxArraySize()
        } catch {
            guard options.dryRun else { throw error }
            maxArraySize = 1001
            notes.append("could not read MaxArraySize from Slurm (\(error)); assuming 1001, Slurm's default")
        }

        var jobs: [SlurmJobPlan] = []
        // The jobs to wait for so that each step is complete: its own arrays, or for a step
        // with nothing to run, what it would have waited for.
        var doneAfter: [[Int]] = []
        let workers = options.workers ?? settings.cpusPerTask
        for (position, step) in prepared.steps.enumerated() {
            var waitFor: [Int] = []
            for p in step.prerequisites { waitFor += doneAfter[p] }
            waitFor = Array(Set(waitFor)).sorted()
            guard !missing[position].missing.isEmpty else {
                doneAfter.append(waitFor)
                continue
            }
            var current: [Int] = []
            let chunks = SlurmArrayChunk.split(tasks: missing[position].missing, maxArraySize: maxArraySize)
            for chunk in chunks {
                let array = chunk.arraySpec(limit: settings.arrayLimit)
                var lines = ["#!/bin/bash"]
                func directive(_ s: String) { lines.append("#SBATCH " + s) }
                let pipelineName = prepared.pipeline.spec.name
                directive("--job-name=" + jobName(pipeline: pipelineName, step: step.name))
                directive("--array=" + array)
                directive("--output=" + sbatchQuote(steps[position].logs + "/%A_%a.log"))
                directive("--chdir=" + sbatchQuote(options.workingDirectory))
                directive("--export=ALL")
                if let v = settings.partition { directive("--partition=" + v) }
                if let v = settings.time { directive("--time=" + v) }
                if let v = settings.cpusPerTask { directive("--cpus-per-task=\(v)") }
                if let v = settings.mem { directive("--mem=" + v) }
                if let v = settings.qos { directive("--qos=" + v) }
                if let v = settings.account { directive("--account=" + v) }
                lines.append("@DEPENDENCY@")
                var command = [sluice, "run", pipelinePath, "--step", step.name, "--task-index"].map(shellQuote)
                command.append("\"$task\"")
                if let t = options.tasks { command += ["--tasks", String(t)] }
                if let w = workers { command += ["--workers", String(w)] }
                for o in options.overrides { command += ["--set", shellQuote(o)] }
                lines += [
                    "# Written by sluice slurm submit: step '\(step.name)' (\(position + 1) of \(prepared.steps.count)), tasks \(SlurmIndexList.render(chunk.tasks)) of \(step.tasks).",
                    "# Task index = array index + \(chunk.offset). A task refuses to start unless the steps it depends on have completion markers for every task.",
                    "task=$((SLURM_ARRAY_TASK_ID + \(chunk.offset)))",
                    "echo \"sluice: step \(step.name) task $task of \(step.tasks), job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)\" >&2",
                    "exec " + command.joined(separator: " "),
                ]
                current.append(jobs.count)
                jobs.append(
                    SlurmJobPlan(
                        step: step.name, position: position, chunk: chunk, array: array, dependsOn: waitFor,
                        script: lines.joined(separator: "\n") + "\n", arguments: settings.extra))
            }
            doneAfter.append(current)
        }

        var command = [ownExecutable(), "slurm", "submit", pipelinePath]
        if let t = options.tasks { command += ["--tasks", String(t)] }
        if let w = options.workers { command += ["--workers", String(w)] }
        for o in options.overrides { command += ["--set", o] }
        let cli = options.settings
        if let v = cli.partition { command += ["--partition", v] }
        if let v = cli.time { command += ["--time", v] }
        if let v = cli.cpusPerTask { command += ["--cpus-per-task", String(v)] }
        if let v = cli.mem { command += ["--mem", v] }
        if let v = cli.qos { command += ["--qos", v] }
        if let v = cli.account { command += ["--account", v] }
        if let v = cli.arrayLimit { command += ["--array-limit", String(v)] }
        if !cli.extra.isEmpty { command += ["--extra", cli.extra.map(shellQuote).joined(separator: " ")] }
        if options.sluiceBinary != nil { command += ["--sluice-binary", sluice] }

        var record =
            try SlurmRecord.read(output: output)
            ?? SlurmRecord(
                pipeline: pipelinePath, workingDirectory: options.workingDirectory, output: output, submitCommand: command,
                steps: steps, submissions: [])
        record.pipeline = pipelinePath
        record.workingDirectory = options.workingDirectory
        record.submitCommand = command
        record.steps = steps
        return SlurmSubmissionPlan(record: record, jobs: jobs, missing: missing, maxArraySize: maxArraySize, notes: notes)
    }

    /// Refuses an output folder whose markers come from another configuration or task count
    /// (every task would refuse it too, after waiting in the queue).
    private func checkExistingMarkers(_ step: ExecutionStep, output: String) throws {
        let dir = OutputLayout(root: output).completionsDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        guard let name = names.sorted().first(where: { $0.hasSuffix(".json") && !$0.hasPrefix(".") }) else { return }
        let record = try readCompletion(dir + "/" + name)
        if record.tasks != step.tasks {
            throw OutputError(
                "\(output) holds output of a run with \(record.tasks) tasks, but this submission has \(step.tasks); use the same task count to resume, or another output.path (or delete the folder) to start over")
        }
        if record.configurationHash != step.configurationHash {
            throw OutputError(
                "\(output) holds output of step '\(record.step)' run with a different configuration or input; use another output.path (or delete the folder) to start over")
        }
    }

    private func jobName(pipeline: String, step: String) -> String {
        let raw = step == pipeline ? "sluice-" + pipeline : "sluice-" + pipeline + "-" + step
        return String(raw.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    }

    /// The tasks of earlier submissions that Slurm still has queued or running and that have
    /// no marker, as `JOBID_INDEX` strings: submitting them again would run them twice.
    public func liveTasks(_ record: SlurmRecord) throws -> [String] {
        let ids = record.allJobIDs
        if ids.isEmpty { return [] }
        let states = try client.queue(jobIDs: ids)
        return states.filter { SlurmTaskCategory(state: $0.state) != .ended }.map { "\($0.arrayJobID)_\($0.index)" }
    }

    /// What a submission did.
    public struct Result: Sendable {
        /// `(step, job id, --array)` per array job, in submission order.
        public var jobs: [(step: String, jobID: String, array: String)]
        public var output: String
    }

    /// Submits the plan: each job in order, later steps `afterok` on earlier ones, then records
    /// the job ids in `OUT/_slurm.json`. If sbatch refuses one job, the jobs already submitted
    /// are cancelled and nothing is recorded.
    ///
    /// - Throws: ``SlurmError`` when tasks of an earlier submission are still queued or running, or
    ///   when sbatch refuses a job.
    public func submit(_ plan: SlurmSubmissionPlan) throws -> Result {
        var record = plan.record
        let live = try liveTasks(record)
        if !live.isEmpty {
            var ids = Set<Int>()
            for task in live {
                if let id = Int(task.prefix { $0 != "_" }) { ids.insert(id) }
            }
            let jobs: [String] = ids.sorted().map { String($0) }
            throw SlurmError(
                "\(live.count) task(s) of \(record.output) are still queued or running in Slurm (jobs \(jobs.joined(separator: ", "))); wait for them (sluice slurm status \(record.output)) or cancel them (scancel \(jobs.joined(separator: " "))) before submitting again")
        }
        for step in record.steps { try InputListing.createDirectories(step.logs) }
        var ids: [String] = []
        do {
            for i in plan.jobs.indices {
                // Dependencies refer to jobs submitted before this one.
                let script = plan.script(i, jobIDs: ids + Array(repeating: "", count: plan.jobs.count - ids.count))
                ids.append(try client.submit(script: script, arguments: plan.jobs[i].arguments))
            }
        } catch {
            client.cancel(jobIDs: ids)
            let cancelled = ids.isEmpty ? "" : " (cancelled the jobs already submitted: \(ids.joined(separator: ", ")))"
            throw SlurmError("\(error)\(cancelled)")
        }
        let stamp = ISO8601DateFormatter().string(from: Date())
        record.submissions.append(
            SlurmRecord.Submission(
                submittedAt: stamp,
                jobs: plan.jobs.enumerated().map { i, j in
                    SlurmRecord.Job(step: j.step, jobID: ids[i], array: j.array, offset: j.chunk.offset, tasks: j.chunk.tasks)
                }))
        do {
            try record.write()
        } catch {
            throw SlurmError(
                "submitted jobs \(ids.joined(separator: ", ")) but could not write \(SlurmRecord.path(output: record.output)): \(error); status will not find them")
        }
        return Result(jobs: plan.jobs.enumerated().map { (step: $1.step, jobID: ids[$0], array: $1.array) }, output: record.output)
    }
}

/// A value for an `#SBATCH` line: in double quotes (which sbatch removes) when it holds
/// spaces, quotes or backslashes.
func sbatchQuote(_ value: String) -> String {
    guard value.contains(where: { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "\\" }) else { return value }
    return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// Where a Slurm job state puts a task that has no completion marker.
public enum SlurmTaskCategory: Sendable, Equatable {
    case pending, running, ended

    public init(state: String) {
        switch state {
        case "PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SPECIAL_EXIT":
            self = .pending
        case "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
            "DEADLINE", "REVOKED":
            self = .ended
        default:
            // RUNNING, COMPLETING, CONFIGURING, SUSPENDED, STOPPED, SIGNALING, STAGE_OUT, RESIZING, …
            self = .running
        }
    }
}
