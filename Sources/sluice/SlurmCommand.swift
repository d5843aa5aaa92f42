import ArgumentParser
import Foundation
import SluiceCore
import SluicePipeline

struct SlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Run a pipeline on a Slurm cluster: one array job per step, resumable, with status.",
        subcommands: [SlurmSubmit.self, SlurmStatusCommand.self])
}

struct SlurmSubmit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a pipeline to Slurm: each step an array job, later steps afterok on earlier ones.",
        discussion: """
            Each step becomes an array job (--array=0-(N-1), split into several arrays past the \
            cluster's MaxArraySize) whose tasks run `sluice run PIPELINE --step STEP --task-index I` \
            in the current folder. Later steps wait for earlier ones (--dependency=afterok, \
            --kill-on-invalid-dep=yes), and a task refuses to start unless the earlier steps' \
            completion markers are all there. Only tasks without a completion marker are \
            submitted, so submitting again after a failure resumes. Task logs go to \
            OUT/_logs/NN_STEP/JOBID_INDEX.log, job ids to OUT/_slurm.json. Options may also come \
            from a `slurm:` block in the pipeline file (partition, time, cpus_per_task, mem, qos, \
            account, array_limit, extra); the command line wins.
            """)

    @Argument(help: "The pipeline YAML file.")
    var pipeline: String

    @Option(help: ArgumentHelp("Split the input into N tasks (overrides run.tasks); passed on to every task.", valueName: "n"))
    var tasks: Int?

    @Option(help: ArgumentHelp("Worker threads per task (default: --cpus-per-task when set, else run.workers).", valueName: "w"))
    var workers: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a pipeline key by dotted path (repeatable); passed on to every task.", valueName: "key=value"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("sbatch --partition.", valueName: "name"))
    var partition: String?

    @Option(help: ArgumentHelp("sbatch --time: each task's time limit, e.g. 04:00:00.", valueName: "limit"))
    var time: String?

    @Option(name: .customLong("cpus-per-task"), help: ArgumentHelp("sbatch --cpus-per-task.", valueName: "n"))
    var cpusPerTask: Int?

    @Option(help: ArgumentHelp("sbatch --mem: memory per task, e.g. 16G.", valueName: "size"))
    var mem: String?

    @Option(help: ArgumentHelp("sbatch --qos.", valueName: "qos"))
    var qos: String?

    @Option(help: ArgumentHelp("sbatch --account.", valueName: "account"))
    var account: String?

    @Option(name: .customLong("array-limit"), help: ArgumentHelp("At most N tasks of one array at once (--array=…%N).", valueName: "n"))
    var arrayLimit: Int?

    @Option(parsing: .unconditionalSingleValue, help: ArgumentHelp("More sbatch options, as one string (repeatable), e.g. --extra \"--constraint=ssd\".", valueName: "options"))
    var extra: [String] = []

    @Option(name: .customLong("sluice-binary"), help: ArgumentHelp("The sluice executable the tasks run (default: this one, by absolute path).", valueName: "path"))
    var sluiceBinary: String?

    @Flag(name: .customLong("dry-run"), help: "Print the sbatch scripts and submit nothing.")
    var dryRun = false

    func validate() throws {
        if let tasks, tasks < 1 { throw ValidationError("--tasks must be at least 1") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let cpusPerTask, cpusPerTask < 1 { throw ValidationError("--cpus-per-task must be at least 1") }
        if let arrayLimit, arrayLimit < 1 { throw ValidationError("--array-limit must be at least 1") }
    }

    func run() throws {
        var options = SlurmSubmitOptions(pipelinePath: pipeline)
        options.tasks = tasks
        options.workers = workers
        options.overrides = overrides
        options.sluiceBinary = sluiceBinary
        options.dryRun = dryRun
        var extraWords: [String] = []
        for e in extra {
            do {
                extraWords += try shellWords(e)
            } catch {
                throw ValidationError("--extra: \(error)")
            }
        }
        options.settings = SlurmSettings(
            partition: partition, time: time, cpusPerTask: cpusPerTask, mem: mem, qos: qos, account: account,
            arrayLimit: arrayLimit, extra: extraWords)
        if let problem = options.settings.problem() { throw ValidationError(problem) }
        let submitter = SlurmSubmitter(options: options)
        let plan: SlurmSubmissionPlan
        do {
            plan = try submitter.plan()
        } catch let e as PipelineError {
            printError("\(e)")
            throw Exit.usage
        } catch {
            printError("\(error)")
            throw Exit.failed
        }
        for note in plan.notes { FileHandle.standardError.write(Data("sluice: note: \(note)\n".utf8)) }
        let total = plan.missing.reduce(0) { $0 + $1.tasks }
        let todo = plan.missing.reduce(0) { $0 + $1.missing.count }
        if todo == 0 {
            print("nothing to submit: all \(total) tasks of \(plan.missing.count) step\(plan.missing.count == 1 ? "" : "s") have completion markers in \(plan.record.output)")
            return
        }
        if dryRun {
            print("# dry run: \(plan.jobs.count) array job\(plan.jobs.count == 1 ? "" : "s") for \(todo) of \(total) tasks (MaxArraySize \(plan.maxArraySize)); nothing submitted")
            for i in plan.jobs.indices {
                let job = plan.jobs[i]
                print("\n# step \(job.step): tasks \(SlurmIndexList.render(job.chunk.tasks))")
                print((["sbatch", "--parsable"] + job.arguments).map(shellQuote).joined(separator: " ") + " <<'EOF'")
                print(plan.script(i, jobIDs: nil), terminator: "")
                print("EOF")
            }
            return
        }
        let result: SlurmSubmitter.Result
        do {
            result = try submitter.submit(plan)
        } catch {
            printError("\(error)")
            throw Exit.failed
        }
        for (step, missing) in zip(plan.missing.map(\.step), plan.missing) where missing.missing.isEmpty {
            print("\(step): all \(missing.tasks) tasks already complete, not submitted")
        }
        for j in result.jobs {
            let m = plan.missing.first { $0.step == j.step }
            print("\(j.step): job \(j.jobID) --array=\(j.array)" + (m.map { " (\($0.missing.count) of \($0.tasks) tasks)" } ?? ""))
        }
        print("submitted \(todo) task\(todo == 1 ? "" : "s") in \(result.jobs.count) array job\(result.jobs.count == 1 ? "" : "s"); logs in \(result.output)/_logs/, job ids in \(SlurmRecord.path(output: result.output))")
        print("follow with: sluice slurm status \(shellQuote(result.output))")
    }
}

struct SlurmStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show per step how many tasks are done, running, pending and failed, with failed tasks' logs.",
        discussion: """
            Completion markers decide what is done; Slurm (squeue, scontrol) is asked about the \
            rest. A task Slurm has forgotten (finished jobs age out after MinJobAge) that left no \
            marker counts as failed. --json prints {"steps": [{"name", "tasks", "done", "running", \
            "pending", "failed", …}], "complete": …}. Exit status 0 whenever the status could be read.
            """)

    @Argument(help: "The output folder of the pipeline (its output.path), holding _slurm.json.")
    var out: String

    @Flag(help: "Print JSON.")
    var json = false

    @Option(name: .customLong("log-lines"), help: ArgumentHelp("Lines of each failed task's log to show.", valueName: "n"))
    var logLines: Int = 10

    func run() throws {
        do {
            let report = try SlurmStatusReport.read(output: out, logTailLines: max(0, logLines))
            if json {
                print(renderJSON(report.json), terminator: "")
            } else {
                print(report.renderText(), terminator: "")
            }
        } catch {
            printError("\(error)")
            throw Exit.failed
        }
    }
}

private func printError(_ message: String) {
    FileHandle.standardError.write(Data("sluice: error: \(message)\n".utf8))
}
