import Foundation
import SluiceCore
import SluiceIO

/// `sluice slurm status OUT`: per step, how many tasks are done, running, pending and failed.
///
/// Completion markers decide what is done. For the other tasks, Slurm is asked (`squeue`) about
/// the newest job that ran each; a task Slurm no longer knows (finished jobs are forgotten
/// after the cluster's `MinJobAge`) and that has no marker ended without finishing, so it
/// counts as failed, as do tasks that were never submitted.
public struct SlurmStatusReport: Sendable {
    /// A task that has no marker and will not get one without a new submission.
    public struct FailedTask: Sendable {
        public var task: Int
        /// Slurm's state (`FAILED`, `CANCELLED`, `TIMEOUT`, …), `COMPLETED` for a task that ended
        /// without writing its marker, `GONE` when Slurm has forgotten the job, `NOT_SUBMITTED`.
        public var state: String
        public var reason: String
        /// `exit:signal`, when Slurm still knows it.
        public var exitCode: String?
        /// `JOBID_INDEX`.
        public var job: String?
        public var log: String?
        /// The last lines of the log (only for the first few failed tasks of a step).
        public var logTail: [String]

        public var json: JSONValue {
            var o: JSONObject = ["task": .int(task), "state": .string(state), "reason": .string(reason)]
            o["exit_code"] = exitCode.map { .string($0) } ?? .null
            o["job"] = job.map { .string($0) } ?? .null
            o["log"] = log.map { .string($0) } ?? .null
            o["log_tail"] = .array(logTail.map { .string($0) })
            return .object(o)
        }
    }

    public struct Step: Sendable {
        public var name: String
        public var tasks: Int
        public var done: Int
        public var running: Int
        public var pending: Int
        public var failed: Int
        /// Why the pending tasks wait (`Dependency`, `Resources`, …) with counts.
        public var pendingReasons: [String: Int]
        public var failedTasks: [FailedTask]

        public var json: JSONValue {
            .object([
                "name": .string(name), "tasks": .int(tasks), "done": .int(done), "running": .int(running),
                "pending": .int(pending), "failed": .int(failed),
                "pending_reasons": .object(JSONObject(entries: pendingReasons.sorted { $0.key < $1.key }.map { JSONObject.Entry(key: $0.key, value: .int($0.value)) })),
                "failed_tasks": .array(failedTasks.map(\.json)),
            ])
        }
    }

    public var output: String
    public var steps: [Step]
    /// The command that submits the missing tasks again.
    public var resubmitCommand: String
    public var submissions: Int

    /// True when every task of every step has its completion marker.
    public var complete: Bool { steps.allSatisfy { $0.done == $0.tasks } }
    /// True when nothing is queued or running.
    public var settled: Bool { steps.allSatisfy { $0.running == 0 && $0.pending == 0 } }

    /// The `--json` shape: `steps` (`name`, `tasks`, `done`, `running`, `pending`, `failed`, plus
    /// `pending_reasons` and `failed_tasks`), `complete`, `output` and `resubmit`.
    public var json: JSONValue {
        .object([
            "output": .string(output),
            "steps": .array(steps.map(\.json)),
            "complete": .bool(complete),
            "resubmit": complete ? .null : .string(resubmitCommand),
        ])
    }

    /// The table, the failed tasks with their log tails, and what to do next.
    public func renderText(maxFailedPerStep: Int = 5) -> String {
        var out = "output: \(output) (\(submissions) submission\(submissions == 1 ? "" : "s"))\n"
        let width = max(4, steps.map(\.name.count).max() ?? 0)
        func row(_ cells: [String]) -> String {
            cells[0].padding(toLength: width, withPad: " ", startingAt: 0)
                + cells.dropFirst().map { String(repeating: " ", count: max(0, 9 - $0.count)) + $0 }.joined() + "\n"
        }
        out += row(["step", "tasks", "done", "running", "pending", "failed"])
        for s in steps {
            out += row([s.name, String(s.tasks), String(s.done), String(s.running), String(s.pending), String(s.failed)])
        }
        for s in steps {
            if !s.pendingReasons.isEmpty {
                out += "\(s.name): pending because " + s.pendingReasons.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ") + "\n"
            }
        }
        for s in steps where !s.failedTasks.isEmpty {
            var byState: [String: Int] = [:]
            for f in s.failedTasks { byState["\(f.state)\(f.reason.isEmpty || f.reason == "None" ? "" : " (\(f.reason))")", default: 0] += 1 }
            out += "\n\(s.name): \(s.failed) task\(s.failed == 1 ? "" : "s") ended without finishing: "
                + byState.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "\n"
            // Tasks Slurm cancelled because a step before failed never started: no need to list them.
            let own = s.failedTasks.filter { rank($0) != 2 }
            if own.isEmpty {
                out += "  (none of them started: Slurm cancelled them because a step before failed)\n"
                continue
            }
            let shown = own.sorted { rank($0) < rank($1) || (rank($0) == rank($1) && $0.task < $1.task) }.prefix(maxFailedPerStep)
            for f in shown {
                var line = "  task \(f.task): \(f.state)"
                if !f.reason.isEmpty && f.reason != "None" { line += " (\(f.reason))" }
                if let e = f.exitCode { line += ", exit code \(e)" }
                if let j = f.job { line += ", job \(j)" }
                out += line + "\n"
                if let log = f.log {
                    if FileManager.default.fileExists(atPath: log) {
                        out += "    log: \(log)\n"
                        for l in f.logTail { out += "    | \(l)\n" }
                    } else {
                        out += "    log: \(log) (not written: the task never started)\n"
                    }
                }
            }
            if own.count > shown.count { out += "  … and \(own.count - shown.count) more (--json lists them all)\n" }
        }
        if complete {
            out += "complete: every task of every step has its completion marker\n"
        } else if settled {
            out += "\nnot complete, and nothing is queued or running. Fix the cause, then submit the missing tasks again:\n  \(resubmitCommand)\n"
        } else {
            out += "\nin progress. If tasks fail, submit the missing ones again once the queue is empty:\n  \(resubmitCommand)\n"
        }
        return out
    }

    private func rank(_ f: FailedTask) -> Int {
        if f.state == "CANCELLED" && f.reason.hasPrefix("Dependency") { return 2 }
        if f.state == "NOT_SUBMITTED" { return 3 }
        return f.state == "GONE" ? 1 : 0
    }

    /// Reads `OUT/_slurm.json`, the steps' completion markers and Slurm's queue.
    ///
    /// - Throws: ``OutputError`` when `OUT` has no `_slurm.json`; ``SlurmError`` when Slurm must
    ///   be asked and cannot be.
    public static func read(output: String, client: SlurmClient = SlurmClient(), logTailLines: Int = 10, tailsPerStep: Int = 10) throws -> SlurmStatusReport {
        guard let record = try SlurmRecord.read(output: output) else {
            throw OutputError(
                "\(SlurmRecord.path(output: output)) does not exist: no Slurm submission is recorded for this output folder; submit with `sluice slurm submit PIPELINE.yaml` (or check the path: it is the pipeline's output.path)")
        }
        func markers(_ step: SlurmRecord.Step) -> Set<Int> {
            let layout = OutputLayout(root: step.output)
            return Set((0..<step.tasks).filter { FileManager.default.fileExists(atPath: layout.completionPath($0)) })
        }
        // The newest job of every task.
        var latest: [String: [Int: Int]] = [:]  // step → task → job number
        var jobs: [SlurmRecord.Job] = []
        for s in record.submissions {
            for j in s.jobs {
                let n = jobs.count
                jobs.append(j)
                for t in j.tasks { latest[j.step, default: [:]][t] = n }
            }
        }
        var done = record.steps.map(markers)
        // Ask Slurm about the jobs of the tasks that are not done.
        var wanted = Set<Int>()
        for (i, step) in record.steps.enumerated() {
            for t in 0..<step.tasks where !done[i].contains(t) {
                if let n = latest[step.name]?[t] { wanted.insert(n) }
            }
        }
        var states: [String: SlurmTaskState] = [:]  // "JOB_INDEX"
        if !wanted.isEmpty {
            let ids = Array(Set(wanted.map { jobs[$0].jobID })).sorted()
            for s in try client.queue(jobIDs: ids) { states["\(s.arrayJobID)_\(s.index)"] = s }
            // A task may have finished while Slurm was being asked.
            done = record.steps.map(markers)
        }
        var exitCodes: [String: [Int: String]] = [:]
        var result: [Step] = []
        for (i, step) in record.steps.enumerated() {
            var s = Step(name: step.name, tasks: step.tasks, done: done[i].count, running: 0, pending: 0, failed: 0, pendingReasons: [:], failedTasks: [])
            for t in 0..<step.tasks where !done[i].contains(t) {
                guard let n = latest[step.name]?[t] else {
                    s.failed += 1
                    s.failedTasks.append(FailedTask(task: t, state: "NOT_SUBMITTED", reason: "", exitCode: nil, job: nil, log: nil, logTail: []))
                    continue
                }
                let job = jobs[n]
                let key = "\(job.jobID)_\(job.index(ofTask: t))"
                let log = record.logPath(step: step, job: job, task: t)
                guard let state = states[key] else {
                    s.failed += 1
                    s.failedTasks.append(
                        FailedTask(
                            task: t, state: "GONE", reason: "Slurm no longer knows the job and the task left no completion marker",
                            exitCode: nil, job: key, log: log, logTail: []))
                    continue
                }
                switch SlurmTaskCategory(state: state.state) {
                case .running:
                    s.running += 1
                case .pending:
                    s.pending += 1
                    s.pendingReasons[state.reason, default: 0] += 1
                case .ended:
                    s.failed += 1
                    var code: String?
                    if state.state != "CANCELLED" {
                        if exitCodes[job.jobID] == nil { exitCodes[job.jobID] = client.exitCodes(arrayJobID: job.jobID) }
                        code = exitCodes[job.jobID]?[job.index(ofTask: t)]
                    }
                    let reason = state.state == "COMPLETED" ? "ended without writing its completion marker" : state.reason
                    s.failedTasks.append(FailedTask(task: t, state: state.state, reason: reason, exitCode: code, job: key, log: log, logTail: []))
                }
            }
            // Log tails for the tasks that failed on their own, then the others.
            var order = Array(s.failedTasks.indices)
            order.sort { a, b in
                let ra = s.failedTasks[a].state == "CANCELLED" ? 1 : 0
                let rb = s.failedTasks[b].state == "CANCELLED" ? 1 : 0
                return ra != rb ? ra < rb : a < b
            }
            for k in order.prefix(tailsPerStep) {
                if let log = s.failedTasks[k].log { s.failedTasks[k].logTail = tail(of: log, lines: logTailLines) }
            }
            result.append(s)
        }
        return SlurmStatusReport(
            output: record.output, steps: result, resubmitCommand: record.resubmitCommand, submissions: record.submissions.count)
    }
}

/// The last `lines` lines of a text file (reading at most its last 16 KiB).
func tail(of path: String, lines: Int) -> [String] {
    guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
    defer { try? handle.close() }
    let size = (try? handle.seekToEnd()) ?? 0
    let start = size > 16384 ? size - 16384 : 0
    try? handle.seek(toOffset: start)
    let data = (try? handle.readToEnd()) ?? Data()
    let text = String(decoding: data, as: UTF8.self)
    var all = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if all.last == "" { all.removeLast() }
    if start > 0 && !all.isEmpty { all.removeFirst() }  // a partial first line
    return Array(all.suffix(lines))
}
