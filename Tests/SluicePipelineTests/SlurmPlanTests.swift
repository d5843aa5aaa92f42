import Foundation
import SluiceCore
import SluiceIO
import SluicePipeline
import SluiceTestSupport
import Testing

/// The Slurm client's parts that need no cluster: array index lists, splitting past
/// MaxArraySize, the `slurm:` block, the sbatch scripts of a dry run, and `sluice run --step`
/// with its upstream-marker guard.
@Suite("Slurm submission planning and the step guard (no cluster)")
struct SlurmPlanTests {
    let sluice = sluiceExecutable()
    let root = packageRoot()

    @Test("index lists render as Slurm ranges and parse back")
    func indexLists() throws {
        #expect(SlurmIndexList.render([0, 1, 2, 3, 5, 7, 8, 9]) == "0-3,5,7-9")
        #expect(SlurmIndexList.render([9, 3, 3]) == "3,9")
        #expect(SlurmIndexList.render(Array(0..<8)) == "0-7")
        #expect(try SlurmIndexList.parse("0-3,5,7-9") == [0, 1, 2, 3, 5, 7, 8, 9])
        #expect(try SlurmIndexList.parse("1-9:4%2") == [1, 5, 9])
        #expect(throws: OutputError.self) { try SlurmIndexList.parse("3-x") }
        #expect(throws: OutputError.self) { try SlurmIndexList.parse("5-2") }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<50 {
            let set = (0..<40).filter { _ in rng.next() % 3 == 0 }
            #expect(try SlurmIndexList.parse(SlurmIndexList.render(set)) == set)
        }
    }

    @Test("1,500 tasks against MaxArraySize 1001 become two arrays whose indices stay below 1001")
    func splitPastMaxArraySize() {
        let chunks = SlurmArrayChunk.split(tasks: Array(0..<1500), maxArraySize: 1001)
        #expect(chunks.count == 2)
        #expect(chunks[0].offset == 0 && chunks[0].arraySpec(limit: nil) == "0-1000")
        #expect(chunks[1].offset == 1001 && chunks[1].arraySpec(limit: 50) == "0-498%50")
        #expect(chunks.flatMap(\.tasks) == Array(0..<1500))
        #expect(chunks.allSatisfy { $0.indices.allSatisfy { $0 >= 0 && $0 < 1001 } })
        // Resuming: only the missing tasks, still below the limit.
        let resumed = SlurmArrayChunk.split(tasks: [3, 5, 7, 8, 9, 1200, 1499], maxArraySize: 1001)
        #expect(resumed.map { $0.arraySpec(limit: nil) } == ["3,5,7-9", "199,498"])
        #expect(SlurmArrayChunk.split(tasks: Array(0..<8), maxArraySize: 1001).map { $0.arraySpec(limit: 4) } == ["0-7%4"])
    }

    @Test("shell words split like sh and quoting round-trips")
    func shellWordsAndQuoting() throws {
        #expect(try shellWords("--constraint=ssd  --comment 'two words' \"a \\\"b\\\"\" c\\ d") == [
            "--constraint=ssd", "--comment", "two words", "a \"b\"", "c d",
        ])
        #expect(throws: ShellWordsError.self) { try shellWords("--comment 'open") }
        for w in ["plain", "with space", "it's", "$HOME", "a\"b", ""] {
            #expect(try shellWords(shellQuote(w)) == [w])
        }
    }

    func write(_ dir: TemporaryDirectory, _ name: String, _ text: String) throws -> String {
        let p = dir.file(name)
        try writeFile(p, text)
        return p
    }

    func basicPipeline(_ dir: TemporaryDirectory, slurm: String, tasks: Int = 8, name: String = "p.yaml") throws -> String {
        for f in 0..<3 {
            try writeFile(dir.file("in/part-\(f).jsonl"), jsonl(syntheticDocuments(count: 5, bytesPerDocument: 300, seed: UInt64(f + 1))))
        }
        return try write(
            dir, name,
            """
            name: slurmtest
            input:
              type: jsonl
              paths: ["\(dir.path)/in/*.jsonl"]
            stages:
              - type: length_filter
                min_words: 5
            output:
              path: \(dir.path)/out
            run:
              tasks: \(tasks)
              workers: 1
            \(slurm)

            """)
    }

    @Test("the slurm block is validated strictly, with file, line and a suggestion")
    func slurmBlockValidation() throws {
        let dir = TemporaryDirectory()
        let good = try basicPipeline(dir, slurm: "slurm:\n  partition: cpu\n  time: \"04:00:00\"\n  cpus_per_task: 4\n  mem: 16G\n  array_limit: 8\n  extra: \"--constraint=ssd --comment 'a b'\"")
        let spec = try PipelineLoader.load(path: good).spec
        #expect(spec.slurm == SlurmSettings(partition: "cpu", time: "04:00:00", cpusPerTask: 4, mem: "16G", arrayLimit: 8, extra: ["--constraint=ssd", "--comment", "a b"]))
        let cli = SlurmSettings(partition: "gpu", arrayLimit: 2, extra: ["--nice=5"])
        #expect(spec.slurm.overlaid(with: cli) == SlurmSettings(partition: "gpu", time: "04:00:00", cpusPerTask: 4, mem: "16G", arrayLimit: 2, extra: ["--constraint=ssd", "--comment", "a b", "--nice=5"]))

        let typo = try basicPipeline(dir, slurm: "slurm:\n  partiton: cpu")
        let e1 = #expect(throws: PipelineError.self) { try PipelineLoader.load(path: typo) }
        #expect(e1?.description.contains("p.yaml:14:3: unknown key 'partiton' in 'slurm'") == true, "\(e1?.description ?? "")")
        #expect(e1?.description.contains("did you mean 'partition'?") == true)

        let badTime = try basicPipeline(dir, slurm: "slurm:\n  time: 4 hours", name: "time.yaml")
        let e2 = #expect(throws: PipelineError.self) { try PipelineLoader.load(path: badTime) }
        #expect(e2?.description.contains("'slurm.time' must be a Slurm time limit") == true, "\(e2?.description ?? "")")

        let badLimit = try basicPipeline(dir, slurm: "slurm:\n  array_limit: 0", name: "limit.yaml")
        #expect(throws: PipelineError.self) { try PipelineLoader.load(path: badLimit) }

        // `sluice validate` reports it too, with exit status 2.
        let r = try runCommand(sluice, ["validate", typo])
        #expect(r.status == 2 && r.stderr.contains("partiton"))
        // Valid times.
        for t in ["30", "30:00", "04:00:00", "1-00", "1-12:00", "2-00:00:00", "UNLIMITED"] {
            #expect(SlurmSettings(time: t).problem() == nil, "\(t)")
        }
        for t in ["", "4h", "1:2:3:4", "-1"] { #expect(SlurmSettings(time: t).problem() != nil, "\(t)") }
    }

    @Test("a dry run prints one sbatch script per array with absolute paths, the step, afterok and the options")
    func dryRunScripts() throws {
        let dir = TemporaryDirectory()
        // Two steps: the second reads the first's shards.
        for f in 0..<3 {
            try writeFile(dir.file("in/part-\(f).jsonl"), jsonl(syntheticDocuments(count: 5, bytesPerDocument: 300, seed: UInt64(f + 1))))
        }
        _ = try write(
            dir, "two.yaml",
            """
            name: two
            input:
              type: jsonl
              paths: ["in/*.jsonl"]
            steps:
              - name: clean
                stages:
                  - type: normalize_whitespace
                run: {tasks: 1500}
                output: {path: out/clean}
              - name: final
                stages:
                  - type: length_filter
                    min_words: 5
            output:
              path: out/final
            run:
              tasks: 3
              workers: 1
            slurm:
              time: "00:10:00"
              array_limit: 50
              partition: yaml-partition

            """)
        // No Slurm on PATH: the dry run assumes Slurm's default MaxArraySize.
        let env = ["PATH": "/usr/bin/nonexistent-slurm"]
        let r = try runCommand(
            sluice, ["slurm", "submit", "two.yaml", "--dry-run", "--partition", "cli-partition", "--extra", "--nice=5", "--set", "run.batch_size=100"],
            environment: env, currentDirectory: dir.path)
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout
        #expect(r.stderr.contains("assuming 1001"))
        #expect(out.contains("3 array jobs for 1503 of 1503 tasks"), "\(out)")
        // The 1,500-task step is split in two arrays; the second starts at task 1001.
        #expect(out.contains("#SBATCH --array=0-1000%50\n"))
        #expect(out.contains("#SBATCH --array=0-498%50\n"))
        #expect(out.contains("task=$((SLURM_ARRAY_TASK_ID + 1001))"))
        #expect(out.contains("#SBATCH --array=0-2%50\n"))
        // The command line wins over the file; the file's other settings stay.
        #expect(out.contains("#SBATCH --partition=cli-partition\n") && !out.contains("yaml-partition"))
        #expect(out.contains("#SBATCH --time=00:10:00\n"))
        #expect(out.contains("sbatch --parsable --nice=5 <<'EOF'"))
        // Absolute paths: the binary, the pipeline, the working folder and the logs.
        let real = URL(fileURLWithPath: dir.path).resolvingSymlinksInPath().path
        let base = out.contains(real) ? real : dir.path
        #expect(out.contains("#SBATCH --output=\(base)/out/final/_logs/00_clean/%A_%a.log"))
        #expect(out.contains("#SBATCH --output=\(base)/out/final/_logs/01_final/%A_%a.log"))
        #expect(out.contains("#SBATCH --chdir=\(base)\n"))
        #expect(out.contains("--step clean --task-index \"$task\" --set run.batch_size=100"))
        #expect(out.contains("exec /"), "the sluice binary is given by absolute path")
        #expect(out.contains(" run \(base)/two.yaml --step final"))
        // Only the second step waits, on both arrays of the first.
        #expect(out.components(separatedBy: "--kill-on-invalid-dep=yes").count == 2)
        #expect(out.contains("#SBATCH --dependency=afterok:<job id of clean array 0>:<job id of clean array 1>\n"))
        // A dry run writes nothing.
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out"))
    }

    @Test("without a cluster, submit explains that sbatch or scontrol is missing and exits 1")
    func submitWithoutSlurm() throws {
        let dir = TemporaryDirectory()
        let p = try basicPipeline(dir, slurm: "")
        let r = try runCommand(sluice, ["slurm", "submit", p], environment: ["PATH": "/usr/bin/nonexistent-slurm"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("'scontrol' was not found on PATH"), "\(r.stderr)")
        let s = try runCommand(sluice, ["slurm", "status", dir.path + "/out"])
        #expect(s.status == 1 && s.stderr.contains("_slurm.json does not exist"), "\(s.stderr)")
    }

    @Test("sluice run --step runs one step; a later step refuses to start while an earlier step's markers are missing")
    func stepGuard() throws {
        let dir = TemporaryDirectory()
        for f in 0..<4 {
            try writeFile(dir.file("in/part-\(f).jsonl"), jsonl(syntheticDocuments(count: 20, bytesPerDocument: 400, seed: UInt64(f + 1))))
        }
        let p = try write(
            dir, "steps.yaml",
            """
            name: steps
            input:
              type: jsonl
              paths: ["\(dir.path)/in/*.jsonl"]
            steps:
              - name: clean
                stages:
                  - type: normalize_whitespace
                output: {path: \(dir.path)/out/_clean}
              - name: final
                stages:
                  - type: length_filter
                    min_words: 5
            output:
              path: \(dir.path)/out
            run:
              tasks: 2
              workers: 1

            """)
        // The second step before the first: refused, nothing written.
        let early = try runCommand(sluice, ["run", p, "--step", "final", "--task-index", "0", "--quiet"])
        #expect(early.status == 1)
        #expect(early.stderr.contains("step 'clean' is not complete: 2 of 2 tasks have no completion marker"), "\(early.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/_completions"))
        // The same through SLURM_ARRAY_TASK_ID, as an array task gets it.
        let viaEnv = try runCommand(sluice, ["run", p, "--step", "final", "--quiet"], environment: ["SLURM_ARRAY_TASK_ID": "1"])
        #expect(viaEnv.status == 1 && viaEnv.stderr.contains("is not complete"))
        // An unknown step is named with the list of steps.
        let unknown = try runCommand(sluice, ["run", p, "--step", "nope", "--quiet"])
        #expect(unknown.status == 1 && unknown.stderr.contains("its steps are: clean, final"), "\(unknown.stderr)")
        // Step by step, task by task, as the arrays run it…
        for step in ["clean", "final"] {
            for t in 0..<2 {
                let r = try runCommand(sluice, ["run", p, "--step", step, "--quiet"], environment: ["SLURM_ARRAY_TASK_ID": "\(t)"])
                #expect(r.status == 0, "\(step) \(t): \(r.stderr)")
            }
        }
        // …gives the same shards as one plain run.
        let plain = try runCommand(sluice, ["run", p, "--set", "output.path=\(dir.path)/plain", "--set", "steps.clean.output.path=\(dir.path)/plain/_clean", "--quiet"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let a = try snapshotFiles(dir.path + "/out") { !$0.hasSuffix(".jsonl.zst") }
        let b = try snapshotFiles(dir.path + "/plain") { !$0.hasSuffix(".jsonl.zst") }
        #expect(!a.isEmpty && a == b)
        // Once an upstream marker disappears, the step refuses again.
        try FileManager.default.removeItem(atPath: dir.path + "/out/_clean/_completions/00001.json")
        let again = try runCommand(sluice, ["run", p, "--step", "final", "--task-index", "0", "--quiet"])
        #expect(again.status == 1 && again.stderr.contains("first missing: task 1"), "\(again.stderr)")
    }

    @Test("steps that read one step (from) wait only for it: their arrays depend on its job, and --step runs them in any order")
    func routesWaitOnlyForTheirSource() throws {
        let dir = TemporaryDirectory()
        for f in 0..<2 {
            try writeFile(dir.file("in/part-\(f).jsonl"), jsonl(syntheticDocuments(count: 20, bytesPerDocument: 400, seed: UInt64(f + 1))))
        }
        let p = try write(
            dir, "routes.yaml",
            """
            name: routes
            input:
              type: jsonl
              paths: ["\(dir.path)/in/*.jsonl"]
            steps:
              - name: base
                stages:
                  - type: normalize_whitespace
                output: {path: \(dir.path)/out/base}
              - name: short
                from: base
                stages:
                  - {type: length_filter, max_words: 60}
                output: {path: \(dir.path)/out/short}
              - name: long
                from: base
                stages:
                  - {type: length_filter, min_words: 61}
                output: {path: \(dir.path)/out/long}
              - name: after
                stages:
                  - type: normalize_whitespace
            output:
              path: \(dir.path)/out/after
            run:
              tasks: 2
              workers: 1

            """)
        let dry = try runCommand(sluice, ["slurm", "submit", p, "--dry-run"], environment: ["PATH": "/usr/bin/nonexistent-slurm"])
        #expect(dry.status == 0, "\(dry.stderr)")
        // short and long wait for base only; after (no from) waits for the step before it, long.
        let scripts = dry.stdout.components(separatedBy: "sbatch --parsable")
        func dependency(of step: String) -> String? {
            guard let script = scripts.first(where: { $0.contains("--step \(step) ") }) else { return nil }
            return script.split(separator: "\n").first { $0.hasPrefix("#SBATCH --dependency=") }.map(String.init) ?? ""
        }
        #expect(dependency(of: "base") == "")
        #expect(dependency(of: "short") == "#SBATCH --dependency=afterok:<job id of base>")
        #expect(dependency(of: "long") == "#SBATCH --dependency=afterok:<job id of base>")
        #expect(dependency(of: "after") == "#SBATCH --dependency=afterok:<job id of long>")
        // The guard follows the same edges: long runs before short, after needs long (not short).
        func step(_ name: String) throws -> CommandResult {
            let first = try runCommand(sluice, ["run", p, "--step", name, "--task-index", "0", "--quiet"])
            if first.status != 0 { return first }
            return try runCommand(sluice, ["run", p, "--step", name, "--task-index", "1", "--quiet"])
        }
        let early = try step("long")
        #expect(early.status == 1 && early.stderr.contains("step 'base' is not complete"), "\(early.stderr)")
        #expect(try step("base").status == 0)
        let tooSoon = try step("after")
        #expect(tooSoon.status == 1 && tooSoon.stderr.contains("step 'long' is not complete"), "\(tooSoon.stderr)")
        #expect(try step("long").status == 0)
        let afterLong = try step("after")
        #expect(afterLong.status == 0, "\(afterLong.stderr)")
        let short = try step("short")
        #expect(short.status == 0, "\(short.stderr)")
        // Every document of base is in exactly one of short and long.
        func count(_ out: String) throws -> Int {
            let r = try runCommand(sluice, ["stats", dir.path + "/out/" + out, "--json"])
            let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            return (o["totals"] as! [String: Any])["documents"] as! Int
        }
        let (b, s, l) = (try count("base"), try count("short"), try count("long"))
        #expect(b == 40 && s > 0 && l > 0 && s + l == b, "base \(b), short \(s), long \(l)")
    }
}
