import Foundation
import SluiceCore
import SluiceIO
import SluicePipeline
import SluiceTestSupport
import Testing

/// `sluice slurm submit` and `status` against a real Slurm cluster: the one `SLURM_CONF` names.
/// CI starts a single-node cluster with scripts/ci/slurm-up.sh (MaxArraySize 1001, a short
/// MinJobAge); without `SLURM_CONF` every test here is skipped with the reason printed, so a
/// plain `swift test` stays hermetic.
///
/// Every scenario checks the shards against the same pipeline run locally with the same task
/// count, byte for byte.
@Suite(
    "Slurm: pipelines as array jobs on a real cluster",
    .enabled(
        if: ProcessInfo.processInfo.environment["SLURM_CONF"].map { !$0.isEmpty } ?? false,
        "SLURM_CONF is not set, so no Slurm cluster is configured; CI starts one with scripts/ci/slurm-up.sh (see .ci/run)"))
struct SlurmIntegrationTests {
    let sluice = sluiceExecutable()

    // MARK: - Helpers

    func sl(_ args: [String], in dir: String, env: [String: String] = [:]) throws -> CommandResult {
        try runCommand(sluice, args, environment: env, currentDirectory: dir)
    }

    /// `sluice slurm status OUT --json`, parsed.
    func status(_ out: String) throws -> JSONValue {
        let r = try runCommand(sluice, ["slurm", "status", out, "--json"])
        guard r.status == 0 else { throw OutputError("status failed: \(r.stderr)") }
        return try parseJSONValue(Array(r.stdout.utf8))
    }

    /// Polls status until nothing is queued or running; returns it and the seconds waited.
    func waitSettled(_ out: String, timeout: Double = 480) async throws -> (JSONValue, Double) {
        let start = Date()
        while true {
            let s = try status(out)
            let steps = s.objectValue?["steps"]?.arrayValue ?? []
            let busy = steps.reduce(0) { $0 + int($1, "running") + int($1, "pending") }
            if busy == 0 { return (s, Date().timeIntervalSince(start)) }
            if Date().timeIntervalSince(start) > timeout {
                throw OutputError("still \(busy) tasks queued or running after \(Int(timeout)) s: \(renderJSON(s))")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    func int(_ v: JSONValue, _ key: String) -> Int {
        if case .number(let n) = v.objectValue?[key] ?? .null { return n.intValue ?? -1 }
        return -1
    }

    func step(_ s: JSONValue, _ i: Int) -> JSONValue { s.objectValue?["steps"]?.arrayValue?[i] ?? .null }

    func steps(_ s: JSONValue) -> [JSONValue] { s.objectValue?["steps"]?.arrayValue ?? [] }

    func complete(_ s: JSONValue) -> Bool { s.objectValue?["complete"]?.boolValue ?? false }

    /// Every shard under `root` (steps and rejected included), by relative path.
    func shards(_ root: String) throws -> [String: [UInt8]] {
        try snapshotFiles(root) { !$0.hasSuffix(".jsonl.zst") || $0.hasPrefix("_logs/") }
    }

    /// Runs the pipeline locally into `dir/local-run` and checks that its shards equal those in
    /// `slurmOut`. With `started`, the local run was started earlier (``startLocalRun``).
    func expectSameAsLocal(_ pipeline: String, in dir: String, slurmOut: String, extra: [String] = [], started: RunningCommand? = nil) throws {
        let local = dir + "/local-run"
        let r = try started?.wait() ?? sl(["run", pipeline, "--set", "output.path=\(local)", "--quiet"] + extra, in: dir)
        #expect(r.status == 0, "local run: \(r.stderr)")
        let a = try shards(slurmOut)
        let b = try shards(local)
        #expect(!a.isEmpty, "the Slurm run wrote no shards")
        #expect(a.keys.sorted() == b.keys.sorted(), "different shard files: Slurm \(a.keys.sorted()) local \(b.keys.sorted())")
        for (k, v) in a where b[k] != nil && b[k]! != v { Issue.record("\(k) differs between the Slurm run and the local run") }
    }

    /// Starts the local run of ``expectSameAsLocal`` now, to overlap it with the Slurm run.
    func startLocalRun(_ pipeline: String, in dir: String) throws -> RunningCommand {
        try startCommand(sluice, ["run", pipeline, "--set", "output.path=\(dir)/local-run", "--quiet"], currentDirectory: dir)
    }

    func record(_ out: String) throws -> SlurmRecord {
        guard let r = try SlurmRecord.read(output: out) else { throw OutputError("no _slurm.json in \(out)") }
        return r
    }

    /// A slurm.conf value from `scontrol show config`.
    func clusterSetting(_ name: String) throws -> String? {
        let r = try runCommand("/usr/bin/env", ["scontrol", "show", "config"])
        for line in r.stdout.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name {
                return kv[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    func writeInputs(_ dir: TemporaryDirectory, files: Int, docs: Int = 40, seed: UInt64 = 1) throws {
        for f in 0..<files {
            var list = syntheticDocuments(count: docs, bytesPerDocument: 600, seed: seed + UInt64(f), idPrefix: "f\(f)")
            // Some short documents for the length filter to drop.
            for i in stride(from: 0, to: list.count, by: 5) { list[i].text = "too short \(i)" }
            try writeFile(dir.file("in/part-\(f).jsonl"), jsonl(list))
        }
    }

    /// A stand-in for `sluice` that crashes task `task` of step `step` until the file `FIXED`
    /// exists beside it, the way a task dies of a node problem; otherwise it runs sluice.
    func crashingWrapper(_ dir: TemporaryDirectory, step: String, task: Int) throws -> String {
        let path = dir.file("crashing-sluice.sh")
        try writeFile(
            path,
            """
            #!/bin/sh
            case " $* " in
              *" --step \(step) --task-index \(task) "*)
                if [ ! -e '\(dir.path)/FIXED' ]; then echo "simulated crash of step \(step) task \(task)" >&2; exit 3; fi ;;
            esac
            exec '\(sluice)' "$@"

            """)
        chmod(path, 0o755)
        return path
    }

    func twoStepPipeline(_ dir: TemporaryDirectory, tasks: Int) throws -> String {
        let p = dir.file("two.yaml")
        try writeFile(
            p,
            """
            name: two
            input:
              type: jsonl
              paths: ["in/*.jsonl"]
            steps:
              - name: clean
                stages:
                  - type: normalize_whitespace
                output: {path: out/_clean}
              - name: final
                stages:
                  - type: length_filter
                    min_words: 20
            output:
              path: out
              rejected: true
            run:
              tasks: \(tasks)
              workers: 1
            slurm:
              time: "00:10:00"
              cpus_per_task: 1

            """)
        return p
    }

    // MARK: - Scenarios

    @Test("a filter pipeline of 8 tasks runs as one array and equals the local run")
    func filterPipelineAsOneArray() async throws {
        let dir = TemporaryDirectory("sluice-slurm")
        try writeInputs(dir, files: 8)
        let p = dir.file("filters.yaml")
        try writeFile(
            p,
            """
            name: filters
            input:
              type: jsonl
              paths: ["in/*.jsonl"]
            stages:
              - type: normalize_whitespace
              - type: length_filter
                min_words: 20
            output:
              path: out
              rejected: true
            run:
              tasks: 8
              workers: 2
            slurm:
              time: "00:10:00"
              array_limit: 4
              cpus_per_task: 2

            """)
        let out = dir.path + "/out"
        let started = Date()
        let r = try sl(["slurm", "submit", "filters.yaml", "--cpus-per-task", "1"], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("--array=0-7%4 (8 of 8 tasks)"), "\(r.stdout)")
        let (s, _) = try await waitSettled(out)
        print("slurm timing: 8-task filter array, submit → done \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(complete(s), "\(renderJSON(s))")
        #expect(steps(s).count == 1)
        #expect(int(step(s, 0), "tasks") == 8 && int(step(s, 0), "done") == 8 && int(step(s, 0), "failed") == 0)
        let rec = try record(out)
        #expect(rec.submissions.count == 1 && rec.submissions[0].jobs.count == 1)
        #expect(rec.submissions[0].jobs[0].array == "0-7%4")
        // One log per task, named JOBID_INDEX.log; the tasks ran with one worker (the CLI's
        // --cpus-per-task won over the file's).
        let id = rec.submissions[0].jobs[0].jobID
        let logs = try FileManager.default.contentsOfDirectory(atPath: out + "/_logs/00_filters").sorted()
        #expect(logs == (0..<8).map { "\(id)_\($0).log" }.sorted(), "\(logs)")
        let log0 = String(decoding: try readFile(out + "/_logs/00_filters/\(id)_0.log"), as: UTF8.self)
        #expect(log0.contains("sluice: step filters task 0 of 8"), "\(log0)")
        try expectSameAsLocal(p, in: dir.path, slurmOut: out)
        // verify agrees, and submitting again finds nothing to do.
        #expect(try sl(["verify", out], in: dir.path).status == 0)
        let again = try sl(["slurm", "submit", "filters.yaml"], in: dir.path)
        #expect(again.status == 0 && again.stdout.contains("nothing to submit"), "\(again.stdout) \(again.stderr)")
        let text = try sl(["slurm", "status", out], in: dir.path)
        #expect(text.status == 0 && text.stdout.contains("complete: every task of every step has its completion marker"), "\(text.stdout)")
    }

    @Test("MinHash dedup runs as dependent arrays, one per step, and equals the local run")
    func minhashAsDependentArrays() async throws {
        let dir = TemporaryDirectory("sluice-slurm")
        // Near-duplicates: copies of earlier documents with one word changed, spread over files.
        var docs = syntheticDocuments(count: 60, bytesPerDocument: 800, seed: 5, idPrefix: "base")
        for i in stride(from: 0, to: 60, by: 3) {
            var copy = docs[i]
            copy.id = "near-\(i)"
            copy.text = "Changed " + copy.text.dropFirst(4)
            docs.append(copy)
        }
        for f in 0..<3 {
            try writeFile(dir.file("in/part-\(f).jsonl"), jsonl(stride(from: f, to: docs.count, by: 3).map { docs[$0] }))
        }
        let p = dir.file("dedup.yaml")
        try writeFile(
            p,
            """
            name: dedup
            input:
              type: jsonl
              paths: ["in/*.jsonl"]
            stages:
              - type: minhash_dedup
                cluster_metadata: true
            output:
              path: out
              rejected: true
            run:
              tasks: 3
              workers: 1

            """)
        let out = dir.path + "/out"
        // The dry run shows the chain: every step after the first waits for the one before.
        let dry = try sl(["slurm", "submit", "dedup.yaml", "--dry-run"], in: dir.path)
        #expect(dry.status == 0, "\(dry.stderr)")
        let arrays = dry.stdout.components(separatedBy: "#SBATCH --array=").count - 1
        #expect(arrays >= 3, "MinHash should expand into several steps: \(dry.stdout)")
        #expect(dry.stdout.components(separatedBy: "#SBATCH --dependency=afterok:").count - 1 == arrays - 1)
        #expect(dry.stdout.components(separatedBy: "#SBATCH --kill-on-invalid-dep=yes").count - 1 == arrays - 1)

        let started = Date()
        let r = try sl(["slurm", "submit", "dedup.yaml"], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let (s, _) = try await waitSettled(out)
        print("slurm timing: MinHash dedup, \(arrays) dependent 3-task arrays, submit → done \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(complete(s), "\(renderJSON(s))")
        #expect(steps(s).count == arrays)
        #expect(steps(s).allSatisfy { int($0, "done") == 3 })
        let rec = try record(out)
        #expect(rec.submissions.last?.jobs.count == arrays)
        // Job ids grow along the chain (each later step was submitted after, and waited for, the one before).
        let ids = rec.submissions.last!.jobs.map { Int($0.jobID)! }
        #expect(ids == ids.sorted())
        try expectSameAsLocal(p, in: dir.path, slurmOut: out)
        // The dedup removed the planted near-duplicates.
        let removed = try shards(out).keys.filter { $0.hasPrefix("_rejected/") }
        #expect(!removed.isEmpty)
    }

    @Test("routes (steps with from) run as arrays that wait only for the step they read, and equal the local run")
    func routesAsArrays() async throws {
        let dir = TemporaryDirectory("sluice-slurm")
        try writeInputs(dir, files: 3)
        let p = dir.file("routes.yaml")
        try writeFile(
            p,
            """
            name: routes
            input:
              type: jsonl
              paths: ["in/*.jsonl"]
            steps:
              - name: base
                stages:
                  - type: normalize_whitespace
                output: {path: out/base}
              - name: short
                from: base
                stages:
                  - {type: length_filter, max_words: 19}
                output: {path: out/short}
              - name: long
                from: base
                stages:
                  - {type: length_filter, min_words: 20}
            output:
              path: out/long
            run:
              tasks: 3
              workers: 1
            slurm:
              time: "00:10:00"
              cpus_per_task: 1

            """)
        let out = dir.path + "/out/long"
        let started = Date()
        let r = try sl(["slurm", "submit", "routes.yaml"], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let (s, _) = try await waitSettled(out)
        print("slurm timing: a step and two routes, submit → done \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(complete(s), "\(renderJSON(s))")
        #expect(steps(s).count == 3 && steps(s).allSatisfy { int($0, "done") == 3 })
        // Both routes' jobs depend on base's job alone (scontrol shows the dependency while a
        // job is pending; the sbatch scripts are the record).
        let rec = try record(out)
        let jobs = rec.submissions.last?.jobs ?? []
        #expect(jobs.map(\.step) == ["base", "short", "long"])
        // Each route equals the same routes run locally.
        let local = dir.path + "/local"
        let l = try sl(
            ["run", "routes.yaml", "--set", "output.path=\(local)/long", "--set", "steps.base.output.path=\(local)/base",
             "--set", "steps.short.output.path=\(local)/short", "--quiet"], in: dir.path)
        #expect(l.status == 0, "\(l.stderr)")
        for route in ["base", "short", "long"] {
            let a = try shards(dir.path + "/out/" + route)
            let b = try shards(local + "/" + route)
            #expect(!a.isEmpty && a == b, "\(route): Slurm \(a.keys.sorted()) local \(b.keys.sorted())")
        }
    }

    @Test("a failing task: dependents are cancelled, status shows it with its log, and a resubmit runs only the missing tasks")
    func failureAndResubmit() async throws {
        let dir = TemporaryDirectory("sluice-slurm")
        try writeInputs(dir, files: 4, seed: 11)
        _ = try twoStepPipeline(dir, tasks: 4)
        let wrapper = try crashingWrapper(dir, step: "clean", task: 2)
        let out = dir.path + "/out"
        let started = Date()
        let r = try sl(["slurm", "submit", "two.yaml", "--sluice-binary", wrapper], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let (s, _) = try await waitSettled(out)
        print("slurm timing: failing task, submit → failure reported \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(!complete(s))
        let clean = step(s, 0)
        let final = step(s, 1)
        #expect(int(clean, "done") == 3 && int(clean, "failed") == 1, "\(renderJSON(s))")
        #expect(int(final, "done") == 0 && int(final, "failed") == 4, "\(renderJSON(s))")
        let failed = clean.objectValue?["failed_tasks"]?.arrayValue?.first?.objectValue
        #expect(int(.object(failed ?? [:]), "task") == 2)
        let state = failed?["state"]?.stringValue ?? ""
        #expect(state == "FAILED" || state == "GONE", "\(state)")
        if state == "FAILED" { #expect(failed?["exit_code"]?.stringValue == "3:0") }
        let tail = failed?["log_tail"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(tail.contains("simulated crash of step clean task 2"), "\(tail)")
        // The dependents did nothing: Slurm cancelled them (or has already forgotten them), or,
        // had Slurm forgotten the failed job before judging the dependency, the guard refused.
        for f in final.objectValue?["failed_tasks"]?.arrayValue ?? [] {
            let st = f.objectValue?["state"]?.stringValue ?? ""
            #expect(["CANCELLED", "GONE", "FAILED"].contains(st), "\(st)")
            if st == "CANCELLED" { #expect(f.objectValue?["reason"]?.stringValue == "DependencyNeverSatisfied") }
            if st == "FAILED" {
                let lines = f.objectValue?["log_tail"]?.arrayValue?.compactMap(\.stringValue) ?? []
                #expect(lines.contains { $0.contains("step 'clean' is not complete") }, "\(lines)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/_completions"))
        // The text form shows the failure, its log and the command that resubmits.
        let text = try sl(["slurm", "status", out], in: dir.path)
        #expect(text.stdout.contains("task 2: "), "\(text.stdout)")
        #expect(text.stdout.contains("| simulated crash of step clean task 2"), "\(text.stdout)")
        let resubmit = s.objectValue?["resubmit"]?.stringValue ?? ""
        #expect(resubmit.contains("slurm submit") && resubmit.contains("--sluice-binary"), "\(resubmit)")
        #expect(text.stdout.contains(resubmit))

        // Fix the cause and resubmit with the printed command: only the missing tasks run.
        let done = (0..<4).filter { $0 != 2 }.map { out + "/_clean/_completions/0000\($0).json" }
        let before = try done.map { try FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as! Date }
        try writeFile(dir.path + "/FIXED", "")
        let restarted = Date()
        let again = try runCommand("/bin/sh", ["-c", resubmit])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("clean: job") && again.stdout.contains("--array=2 (1 of 4 tasks)"), "\(again.stdout)")
        #expect(again.stdout.contains("--array=0-3 (4 of 4 tasks)"), "\(again.stdout)")
        let (s2, _) = try await waitSettled(out)
        print("slurm timing: resubmit of the missing tasks, submit → done \(String(format: "%.1f", Date().timeIntervalSince(restarted))) s")
        #expect(complete(s2), "\(renderJSON(s2))")
        let after = try done.map { try FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as! Date }
        #expect(before == after, "tasks that had finished ran again")
        let rec = try record(out)
        #expect(rec.submissions.count == 2)
        #expect(rec.submissions[1].jobs.map { "\($0.step):\(SlurmIndexList.render($0.tasks))" } == ["clean:2", "final:0-3"])
        try expectSameAsLocal(dir.path + "/two.yaml", in: dir.path, slurmOut: out, extra: ["--set", "steps.clean.output.path=\(dir.path)/local-run/_clean"])
    }

    @Test("submitting again while tasks are still queued is refused; after scancel, status counts them failed and a resubmit runs them")
    func submitWhileQueued() async throws {
        let dir = TemporaryDirectory("sluice-slurm")
        try writeInputs(dir, files: 2, docs: 10, seed: 41)
        _ = try twoStepPipeline(dir, tasks: 2)
        let out = dir.path + "/out"
        // --hold keeps the jobs pending until released.
        let r = try sl(["slurm", "submit", "two.yaml", "--extra", "--hold"], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let s = try status(out)
        #expect(int(step(s, 0), "pending") == 2 && int(step(s, 1), "pending") == 2, "\(renderJSON(s))")
        let twice = try sl(["slurm", "submit", "two.yaml"], in: dir.path)
        #expect(twice.status == 1)
        #expect(twice.stderr.contains("4 task(s) of \(out) are still queued or running in Slurm"), "\(twice.stderr)")
        let ids = try record(out).allJobIDs
        #expect(twice.stderr.contains("scancel \(ids.joined(separator: " "))"), "\(twice.stderr)")
        #expect(try record(out).submissions.count == 1, "a refused submission is not recorded")
        _ = try runCommand("/usr/bin/env", ["scancel"] + ids)
        let (cancelled, _) = try await waitSettled(out)
        #expect(int(step(cancelled, 0), "failed") == 2 && int(step(cancelled, 1), "failed") == 2, "\(renderJSON(cancelled))")
        let again = try sl(["slurm", "submit", "two.yaml"], in: dir.path)
        #expect(again.status == 0, "\(again.stderr)")
        let (done, _) = try await waitSettled(out)
        #expect(complete(done), "\(renderJSON(done))")
    }

    @Test("a task whose dependency points at a job Slurm has forgotten refuses to run without the upstream markers")
    func guardAgainstForgottenDependency() async throws {
        let dir = TemporaryDirectory("sluice-slurm")
        try writeInputs(dir, files: 2, docs: 10, seed: 3)
        let p = try twoStepPipeline(dir, tasks: 2)
        // Slurm counts a dependency on an unknown job id as satisfied, so this array starts at once.
        // (No --kill-on-invalid-dep here: under load the controller may judge the dependency
        // invalid first and cancel the array, which is not the case this test is about.)
        let script = """
            #!/bin/bash
            #SBATCH --array=0-1
            #SBATCH --output=\(dir.path)/guard-%a.log
            #SBATCH --chdir=\(dir.path)
            #SBATCH --dependency=afterok:987654
            exec '\(sluice)' run '\(p)' --step final --task-index "$SLURM_ARRAY_TASK_ID"

            """
        try writeFile(dir.file("guard.sh"), script)
        let sub = try runCommand("/usr/bin/env", ["sbatch", "--parsable", dir.path + "/guard.sh"])
        #expect(sub.status == 0, "\(sub.stderr)")
        let id = sub.stdout.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        // The tasks' logs are the evidence: both ran and refused. (Their Slurm states are not
        // waited for: on a busy test cluster squeue can time out for minutes, and a task may be
        // forgotten after MinJobAge before the other leaves the queue.)
        let message = "step 'clean' is not complete: 2 of 2 tasks have no completion marker"
        func logs() -> [String] {
            (0..<2).map { String(decoding: (try? readFile(dir.path + "/guard-\($0).log")) ?? [], as: UTF8.self) }
        }
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline && !logs().allSatisfy({ $0.contains(message) }) {
            try await Task.sleep(for: .milliseconds(500))
        }
        for log in logs() { #expect(log.contains(message), "\(log)") }
        let q = try runCommand("/usr/bin/env", ["squeue", "-h", "-t", "all", "-r", "-j", id, "-o", "%T"])
        #expect(!q.stdout.contains("COMPLETED"), "a task that refused to start must not end COMPLETED: \(q.stdout)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/_completions"))
    }

    @Test("1,500 tasks against MaxArraySize 1001 run as two arrays and equal the local run")
    func arrayLargerThanMaxArraySize() async throws {
        let maxArray = Int(try clusterSetting("MaxArraySize") ?? "") ?? 0
        let dir = TemporaryDirectory("sluice-slurm")
        try writeInputs(dir, files: 6, docs: 10, seed: 21)
        let p = dir.file("many.yaml")
        try writeFile(
            p,
            """
            name: many
            input:
              type: jsonl
              paths: ["in/*.jsonl"]
            stages:
              - type: length_filter
                min_words: 20
            output:
              path: out
            run:
              tasks: 1500
              workers: 1

            """)
        let out = dir.path + "/out"
        let started = Date()
        // A lower priority lets the other scenarios' jobs pass these 1,500 in the queue.
        let r = try sl(["slurm", "submit", "many.yaml", "--extra", "--nice=1000"], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let rec = try record(out)
        let jobs = rec.submissions[0].jobs
        if maxArray > 0 && maxArray <= 1500 {
            #expect(jobs.count == (1500 + maxArray - 1) / maxArray)
            #expect(jobs[0].array == "0-\(maxArray - 1)" && jobs[0].offset == 0)
            #expect(jobs[1].array == "0-\(1500 - maxArray - 1)" && jobs[1].offset == maxArray, "\(jobs)")
        } else {
            print("note: this cluster's MaxArraySize is \(maxArray); start it with SLURM_CI_MAX_ARRAY_SIZE=1001 to check the split")
        }
        let local = try startLocalRun(p, in: dir.path)
        let (s, _) = try await waitSettled(out, timeout: 600)
        print("slurm timing: 1,500 tasks in \(jobs.count) arrays (MaxArraySize \(maxArray)), submit → done \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        #expect(complete(s), "\(renderJSON(s))")
        #expect(int(step(s, 0), "done") == 1500)
        try expectSameAsLocal(p, in: dir.path, slurmOut: out, started: local)
    }

    @Test("status after Slurm has forgotten the jobs: markers say what is done, the rest counts as failed, and a resubmit finishes it")
    func statusAfterJobsAgedOut() async throws {
        guard let age = Int((try clusterSetting("MinJobAge") ?? "").split(separator: " ").first ?? ""), age <= 120 else {
            print("note: MinJobAge is over 120 s on this cluster; start it with SLURM_CI_MIN_JOB_AGE=10 to check status after jobs age out")
            return
        }
        let dir = TemporaryDirectory("sluice-slurm")
        try writeInputs(dir, files: 2, docs: 10, seed: 31)
        _ = try twoStepPipeline(dir, tasks: 2)
        let wrapper = try crashingWrapper(dir, step: "final", task: 1)
        let out = dir.path + "/out"
        let r = try sl(["slurm", "submit", "two.yaml", "--sluice-binary", wrapper], in: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        _ = try await waitSettled(out)
        // Wait until Slurm has forgotten every job (MinJobAge, then its purge pass).
        let ids = try record(out).allJobIDs
        let started = Date()
        let deadline = started.addingTimeInterval(Double(age) + 150)
        var forgotten = false
        while Date() < deadline {
            let q = try runCommand("/usr/bin/env", ["squeue", "-h", "-t", "all", "-j", ids.joined(separator: ","), "-o", "%i"])
            if q.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                forgotten = true
                break
            }
            try await Task.sleep(for: .seconds(1))
        }
        print("slurm timing: jobs aged out \(String(format: "%.0f", Date().timeIntervalSince(started))) s after finishing (MinJobAge \(age) s)")
        try #require(forgotten, "Slurm still knows jobs \(ids) after \(age + 150) s")
        let s = try status(out)
        #expect(int(step(s, 0), "done") == 2 && int(step(s, 0), "failed") == 0, "\(renderJSON(s))")
        #expect(int(step(s, 1), "done") == 1 && int(step(s, 1), "failed") == 1, "\(renderJSON(s))")
        let gone = step(s, 1).objectValue?["failed_tasks"]?.arrayValue?.first?.objectValue
        #expect(gone?["state"]?.stringValue == "GONE" && int(.object(gone ?? [:]), "task") == 1)
        // The log is still there to read.
        let tail = gone?["log_tail"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(tail.contains("simulated crash of step final task 1"), "\(tail)")
        #expect(!complete(s))
        // Resubmit: only the missing task.
        try writeFile(dir.path + "/FIXED", "")
        let again = try runCommand("/bin/sh", ["-c", s.objectValue?["resubmit"]?.stringValue ?? "false"])
        #expect(again.status == 0 && again.stdout.contains("final: job") && again.stdout.contains("--array=1 (1 of 2 tasks)"), "\(again.stdout + again.stderr)")
        let (s2, _) = try await waitSettled(out)
        #expect(complete(s2), "\(renderJSON(s2))")
        try expectSameAsLocal(dir.path + "/two.yaml", in: dir.path, slurmOut: out, extra: ["--set", "steps.clean.output.path=\(dir.path)/local-run/_clean"])
    }
}
