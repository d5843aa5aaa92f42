import Foundation

/// A Slurm command that failed, or is missing, with what to do about it.
public struct SlurmError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// One array task as `squeue` reports it.
public struct SlurmTaskState: Sendable, Equatable {
    /// The array's job id (`%F`).
    public var arrayJobID: String
    /// The array index (`%K`).
    public var index: Int
    /// `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, …
    public var state: String
    /// Why it is pending or how it ended: `Dependency`, `NonZeroExitCode`, `DependencyNeverSatisfied`, …
    public var reason: String
}

/// Runs Slurm's client commands (`sbatch`, `squeue`, `scontrol`, `scancel`) found on `PATH`.
/// They find the cluster the usual way (`SLURM_CONF`, `/etc/slurm/slurm.conf`, or DNS).
public struct SlurmClient: Sendable {
    /// The environment the commands run with (this process's by default).
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The output of one command.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The full path of `tool` on `PATH`, or nil.
    public func locate(_ tool: String) -> String? {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = dir + "/" + tool
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `tool` with `arguments` (and `input` on standard input) to completion.
    ///
    /// - Throws: ``SlurmError`` when the tool is not on `PATH` or cannot start.
    public func run(_ tool: String, _ arguments: [String], input: String? = nil) throws -> Output {
        guard let executable = locate(tool) else {
            throw SlurmError(
                "'\(tool)' was not found on PATH; run this where Slurm's client commands are installed (a login node), or add their folder to PATH")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let base = FileManager.default.temporaryDirectory.path + "/sluice-slurm-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        guard let out = FileHandle(forWritingAtPath: base + ".out"), let err = FileHandle(forWritingAtPath: base + ".err") else {
            throw SlurmError("cannot create temporary files under \(FileManager.default.temporaryDirectory.path)")
        }
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        do {
            try process.run()
        } catch {
            throw SlurmError("cannot run \(executable): \(error)")
        }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        process.waitUntilExit()
        try? out.close()
        try? err.close()
        let stdout = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        return Output(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// `MaxArraySize` from `scontrol show config`: array indices run from 0 to this minus 1.
    public func maxArraySize() throws -> Int {
        let r = try run("scontrol", ["show", "config"])
        guard r.status == 0 else {
            throw SlurmError("'scontrol show config' failed (exit \(r.status)): \(r.stderr.slurmTrimmed); is the cluster reachable (SLURM_CONF)?")
        }
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "MaxArraySize" else { continue }
            if let n = Int(parts[1].trimmingCharacters(in: .whitespaces)), n > 0 { return n }
        }
        throw SlurmError("'scontrol show config' printed no MaxArraySize")
    }

    /// Submits a batch script (read from standard input) and returns its job id.
    ///
    /// - Throws: ``SlurmError`` with sbatch's message when it refuses.
    public func submit(script: String, arguments: [String] = []) throws -> String {
        let r = try run("sbatch", ["--parsable"] + arguments, input: script)
        guard r.status == 0 else {
            throw SlurmError("sbatch refused the job (exit \(r.status)): \(r.stderr.slurmTrimmed)")
        }
        // `--parsable` prints `jobid` or `jobid;cluster`.
        let line = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let id = String(line.split(separator: ";", maxSplits: 1).first ?? "").slurmTrimmed
        guard !id.isEmpty, id.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw SlurmError("sbatch printed no job id: \(r.stdout.slurmTrimmed) \(r.stderr.slurmTrimmed)")
        }
        return id
    }

    /// Every task of the given arrays that Slurm still remembers, one record per task
    /// (`squeue -h -t all -r -j IDS -o '%F|%K|%T|%r'`). Finished jobs are forgotten after the
    /// cluster's `MinJobAge`, so an absent task means "ask the completion markers".
    public func queue(jobIDs: [String]) throws -> [SlurmTaskState] {
        if jobIDs.isEmpty { return [] }
        var states: [SlurmTaskState] = []
        // Long id lists in a few calls.
        var start = 0
        while start < jobIDs.count {
            let part = Array(jobIDs[start..<min(jobIDs.count, start + 200)])
            start += part.count
            let r = try run("squeue", ["-h", "-t", "all", "-r", "-j", part.joined(separator: ","), "-o", "%F|%K|%T|%r"])
            if r.status != 0 {
                // With one id, a forgotten job is an error; it just has no tasks left to show.
                if r.stderr.contains("Invalid job id") { continue }
                throw SlurmError("squeue failed (exit \(r.status)): \(r.stderr.slurmTrimmed); is the cluster reachable (SLURM_CONF)?")
            }
            for line in r.stdout.split(separator: "\n") {
                let f = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map { String($0).slurmTrimmed }
                guard f.count == 4, let index = Int(f[1]) else { continue }
                states.append(SlurmTaskState(arrayJobID: f[0], index: index, state: f[2], reason: f[3]))
            }
        }
        return states
    }

    /// Exit codes (`exit:signal`) of an array's tasks, from `scontrol show job -o ID`; empty
    /// when Slurm has forgotten the job.
    public func exitCodes(arrayJobID: String) -> [Int: String] {
        guard let r = try? run("scontrol", ["show", "job", "-o", arrayJobID]), r.status == 0 else { return [:] }
        var out: [Int: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            var fields: [Substring: Substring] = [:]
            for word in line.split(separator: " ") {
                let kv = word.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { fields[kv[0]] = kv[1] }
            }
            guard fields["ArrayJobId"].map(String.init) == arrayJobID, let task = fields["ArrayTaskId"].flatMap({ Int($0) }),
                let code = fields["ExitCode"]
            else { continue }
            out[task] = String(code)
        }
        return out
    }

    /// Cancels jobs (best effort).
    public func cancel(jobIDs: [String]) {
        if jobIDs.isEmpty { return }
        _ = try? run("scancel", jobIDs)
    }
}

extension String {
    var slurmTrimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
