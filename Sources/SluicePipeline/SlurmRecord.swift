import Foundation
import SluiceCore
import SluiceIO

/// `OUT/_slurm.json`: what `sluice slurm submit` sent to Slurm for one output folder, so that
/// `sluice slurm status` can find the jobs and a later submit can resume. Every submission is
/// kept, newest last; a task's current job is the newest one that includes it.
///
/// ```json
/// {
///   "pipeline": "/abs/pipeline.yaml",
///   "working_directory": "/abs/dir",
///   "output": "/abs/out",
///   "submit_command": ["/abs/sluice", "slurm", "submit", "/abs/pipeline.yaml", "--time", "01:00:00"],
///   "steps": [{"name": "filters", "tasks": 8, "output": "/abs/out", "logs": "/abs/out/_logs/00_filters"}],
///   "submissions": [
///     {"submitted_at": "2026-01-01T00:00:00Z",
///      "jobs": [{"step": "filters", "job_id": "12", "array": "0-7%4", "offset": 0, "tasks": "0-7"}]}
///   ]
/// }
/// ```
public struct SlurmRecord: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var name: String
        public var tasks: Int
        /// The step's output folder (absolute): its `_completions/` says which tasks are done.
        public var output: String
        /// Where the step's task logs go: `JOBID_INDEX.log`.
        public var logs: String
    }

    public struct Job: Sendable, Equatable {
        public var step: String
        public var jobID: String
        /// The `--array` value as submitted.
        public var array: String
        /// Task index = `SLURM_ARRAY_TASK_ID` + offset.
        public var offset: Int
        /// The task indices this array runs.
        public var tasks: [Int]

        /// The array index of task `t`.
        public func index(ofTask t: Int) -> Int { t - offset }
    }

    public struct Submission: Sendable, Equatable {
        public var submittedAt: String
        public var jobs: [Job]
    }

    public var pipeline: String
    public var workingDirectory: String
    public var output: String
    public var submitCommand: [String]
    public var steps: [Step]
    public var submissions: [Submission]

    public static let fileName = "_slurm.json"

    /// `OUT/_slurm.json`.
    public static func path(output: String) -> String { OutputLayout(root: output).path(fileName) }

    public var json: JSONValue {
        .object([
            "pipeline": .string(pipeline),
            "working_directory": .string(workingDirectory),
            "output": .string(output),
            "submit_command": .array(submitCommand.map { .string($0) }),
            "steps": .array(steps.map { s in
                .object(["name": .string(s.name), "tasks": .int(s.tasks), "output": .string(s.output), "logs": .string(s.logs)])
            }),
            "submissions": .array(submissions.map { sub in
                .object([
                    "submitted_at": .string(sub.submittedAt),
                    "jobs": .array(sub.jobs.map { j in
                        .object([
                            "step": .string(j.step), "job_id": .string(j.jobID), "array": .string(j.array),
                            "offset": .int(j.offset), "tasks": .string(SlurmIndexList.render(j.tasks)),
                        ])
                    }),
                ])
            }),
        ])
    }

    public init(
        pipeline: String, workingDirectory: String, output: String, submitCommand: [String], steps: [Step],
        submissions: [Submission]
    ) {
        self.pipeline = pipeline
        self.workingDirectory = workingDirectory
        self.output = output
        self.submitCommand = submitCommand
        self.steps = steps
        self.submissions = submissions
    }

    public init(json value: JSONValue, file: String) throws {
        let o = try JSONFields(value, file: file)
        pipeline = try o.string("pipeline")
        workingDirectory = try o.string("working_directory")
        output = try o.string("output")
        submitCommand = try o.array("submit_command").map {
            guard let s = $0.stringValue else { throw OutputError("\(file): 'submit_command' must be a list of strings") }
            return s
        }
        steps = try o.array("steps").map { v in
            let s = try JSONFields(v, file: file)
            return Step(name: try s.string("name"), tasks: try s.int("tasks"), output: try s.string("output"), logs: try s.string("logs"))
        }
        submissions = try o.array("submissions").map { v in
            let s = try JSONFields(v, file: file)
            return Submission(
                submittedAt: try s.string("submitted_at"),
                jobs: try s.array("jobs").map { jv in
                    let j = try JSONFields(jv, file: file)
                    return Job(
                        step: try j.string("step"), jobID: try j.string("job_id"), array: try j.string("array"),
                        offset: try j.int("offset"), tasks: try SlurmIndexList.parse(try j.string("tasks")))
                })
        }
    }

    /// Reads `OUT/_slurm.json`; nil when there is none.
    public static func read(output: String) throws -> SlurmRecord? {
        let file = path(output: output)
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let value: JSONValue
        do {
            value = try parseJSONValue([UInt8](data))
        } catch {
            throw OutputError("\(file) is not valid JSON (\(error)); restore it, or delete it to start a new record (status then no longer knows the earlier jobs)")
        }
        return try SlurmRecord(json: value, file: file)
    }

    /// Writes `OUT/_slurm.json` atomically.
    public func write() throws {
        try writeAtomically(path: Self.path(output: output), bytes: prettyJSON(json))
    }

    /// Every job id of every submission, oldest first, without repeats.
    public var allJobIDs: [String] {
        var seen = Set<String>()
        var out: [String] = []
        for s in submissions { for j in s.jobs where seen.insert(j.jobID).inserted { out.append(j.jobID) } }
        return out
    }

    /// The newest job that runs task `task` of step `step`, if any was submitted.
    public func latestJob(step: String, task: Int) -> Job? {
        for s in submissions.reversed() {
            for j in s.jobs where j.step == step && j.tasks.contains(task) { return j }
        }
        return nil
    }

    /// The log file of task `task` in `job`.
    public func logPath(step: Step, job: Job, task: Int) -> String {
        step.logs + "/\(job.jobID)_\(job.index(ofTask: task)).log"
    }

    /// The command that submits the missing tasks again, for a shell.
    public var resubmitCommand: String {
        "cd " + shellQuote(workingDirectory) + " && " + submitCommand.map(shellQuote).joined(separator: " ")
    }
}
