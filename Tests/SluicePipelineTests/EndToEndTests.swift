import Foundation
import SluiceCore
import SluiceIO
import SluicePipeline
import SluiceTestSupport
import Testing

/// Runs the real `sluice` executable on real files, as a user would.
@Suite("sluice run, stats and verify end to end", .serialized)
struct EndToEndTests {
    let sluice = sluiceExecutable()
    let root = packageRoot()

    func run(_ args: [String], env: [String: String] = [:]) throws -> CommandResult {
        try runCommand(sluice, args, environment: env, currentDirectory: root)
    }

    /// Writes a pipeline file with the given input pattern, stages and output folder.
    func pipeline(
        in dir: TemporaryDirectory, input: String, stages: String = "  - type: length_filter\n    min_words: 5\n",
        tasks: Int = 2, workers: Int = 2, extraOutput: String = "", extraInput: String = ""
    ) throws -> String {
        let text = """
            name: test
            input:
              type: jsonl
              paths: ["\(input)"]
            \(extraInput)
            stages:
            \(stages)
            output:
              path: \(dir.path)/out
              max_shard_bytes: 200kB
              rejected: true
            \(extraOutput)
            run:
              tasks: \(tasks)
              workers: \(workers)

            """
        let path = dir.file("pipeline.yaml")
        try writeFile(path, text)
        return path
    }

    func writeCorpus(_ dir: TemporaryDirectory, files: Int = 4, docsPerFile: Int = 300, bytesPerDocument: Int = 1500) throws {
        for f in 0..<files {
            let docs = syntheticDocuments(count: docsPerFile, bytesPerDocument: bytesPerDocument, seed: UInt64(f + 1), idPrefix: "f\(f)")
            try writeFile(dir.file("in/part-\(f).jsonl.zst"), try ZstdCompressor.compress(jsonl(docs)))
        }
    }

    /// Decodes every shard with the zstd command-line tool and parses each line with Foundation.
    func decodeShardsWithCLI(_ out: String) throws -> [[String: Any]] {
        var docs: [[String: Any]] = []
        let names = try FileManager.default.contentsOfDirectory(atPath: out).filter(OutputLayout.isShardName).sorted()
        for n in names {
            let r = try runCommand("/usr/bin/zstd", ["-dc", "--no-progress", out + "/" + n])
            #expect(r.status == 0, "zstd could not decode \(n): \(r.stderr)")
            for line in r.stdout.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
                let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(obj != nil)
                if let obj { docs.append(obj) }
            }
        }
        return docs
    }

    func expectSameFiles(_ a: [String: [UInt8]], _ b: [String: [UInt8]], _ what: String) {
        #expect(a.keys.sorted() == b.keys.sorted(), "\(what): different files")
        for (k, v) in a where b[k] != nil && b[k]! != v {
            Issue.record("\(what): \(k) differs")
        }
    }

    @Test("the quickstart pipeline runs on SampleData, decodes with zstd, verifies, and stats count every line")
    func quickstartRunsEndToEnd() throws {
        let dir = TemporaryDirectory()
        let out = dir.path + "/quickstart"
        let r = try run(["run", "Pipelines/quickstart.yaml", "--set", "output.path=\(out)", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("length_filter"))
        let docs = try decodeShardsWithCLI(out)
        #expect(docs.count > 1000)
        for d in docs {
            #expect(d["id"] is String)
            #expect(d["text"] is String)
            #expect(d["source"] is String)
            #expect(d["metadata"] is [String: Any])
        }
        let v = try run(["verify", out])
        #expect(v.status == 0, "\(v.stderr)")
        let s = try run(["stats", out, "--json"])
        #expect(s.status == 0)
        let stats = try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as! [String: Any]
        let totals = stats["totals"] as! [String: Any]
        #expect(totals["documents"] as? Int == docs.count)
        let stages = stats["stages"] as! [[String: Any]]
        #expect(stages.map { $0["id"] as! String } == ["read", "normalize_whitespace", "language_id", "length_filter", "quality_score", "add_metadata"])
        let shards = stats["shards"] as! [[String: Any]]
        #expect(shards.reduce(0) { $0 + ($1["documents"] as! Int) } == docs.count)
    }

    @Test("every pipeline in Pipelines/ validates and runs")
    func everyPipelineRuns() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/Pipelines").filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(!names.isEmpty)
        for name in names {
            let dir = TemporaryDirectory()
            // Steps with their own output (Pipelines/routes.yaml) write under SLUICE_OUT.
            let env = ["SLUICE_OUT": dir.path + "/steps"]
            let v = try run(["validate", "Pipelines/" + name, "--set", "output.path=\(dir.path)/out"], env: env)
            #expect(v.status == 0, "\(name): \(v.stderr)")
            let r = try run(["run", "Pipelines/" + name, "--set", "output.path=\(dir.path)/out", "--quiet"], env: env)
            #expect(r.status == 0, "\(name): \(r.stderr)")
            let check = try run(["verify", dir.path + "/out"])
            #expect(check.status == 0, "\(name): \(check.stderr)")
        }
    }

    @Test("a rerun skips completed tasks and leaves the bytes unchanged")
    func rerunSkipsCompletedTasks() throws {
        let dir = TemporaryDirectory()
        try writeCorpus(dir)
        let p = try pipeline(in: dir, input: dir.path + "/in/*.jsonl.zst")
        let first = try run(["run", p, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try snapshotFiles(dir.path + "/out", excluding: { $0.hasPrefix("_stats") })
        let second = try run(["run", p, "--quiet"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("2 already complete (skipped)"))
        let after = try snapshotFiles(dir.path + "/out", excluding: { $0.hasPrefix("_stats") })
        expectSameFiles(before, after, "rerun")
    }

    @Test("the number of workers does not change a single output byte")
    func workersDoNotChangeOutput() throws {
        let dir = TemporaryDirectory()
        try writeCorpus(dir)
        var snapshots: [[String: [UInt8]]] = []
        for w in [1, 2, 3] {
            let p = try pipeline(in: dir, input: dir.path + "/in/*.jsonl.zst", workers: w)
            try? FileManager.default.removeItem(atPath: dir.path + "/out")
            let r = try run(["run", p, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            snapshots.append(try snapshotFiles(dir.path + "/out", excluding: { $0.hasPrefix("_stats") }))
        }
        // The manifest records the pipeline text, which names the worker count; everything else
        // must be byte-identical.
        for s in snapshots { #expect(s.keys.contains("_manifest.json")) }
        let strip = { (s: [String: [UInt8]]) in s.filter { $0.key != "_manifest.json" } }
        expectSameFiles(strip(snapshots[0]), strip(snapshots[1]), "1 vs 2 workers")
        expectSameFiles(strip(snapshots[0]), strip(snapshots[2]), "1 vs 3 workers")
    }

    @Test("kill -9 at random moments, then a rerun, gives the same bytes as a clean run")
    func killNineThenRerunEqualsCleanRun() throws {
        let dir = TemporaryDirectory()
        try writeCorpus(dir, files: 6, docsPerFile: 1500, bytesPerDocument: 2000)
        let p = try pipeline(in: dir, input: dir.path + "/in/*.jsonl.zst", tasks: 3, workers: 2)
        let clean = try run(["run", p, "--quiet"])
        #expect(clean.status == 0, "\(clean.stderr)")
        let expected = try snapshotFiles(dir.path + "/out", excluding: { $0.hasPrefix("_stats") })
        var rng = SplitMix64(seed: 42)
        for attempt in 0..<4 {
            try FileManager.default.removeItem(atPath: dir.path + "/out")
            // Kill repeatedly at random moments, then let a final rerun finish the job.
            for _ in 0..<2 {
                let child = try startCommand(sluice, ["run", p, "--quiet"], currentDirectory: root)
                usleep(UInt32(50_000 + rng.next() % 900_000))
                child.signal(SIGKILL)
                _ = child.wait()
                // Whatever is visible under a final name must be complete: no shard without its
                // completion marker may be mistaken for output, and no temporary is a shard.
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/out")) ?? []
                for n in names where OutputLayout.isShardName(n) {
                    let r = try runCommand("/usr/bin/zstd", ["-t", "-q", dir.path + "/out/" + n])
                    #expect(r.status == 0, "attempt \(attempt): \(n) is visible but does not decode")
                }
            }
            let finish = try run(["run", p, "--quiet"])
            #expect(finish.status == 0, "\(finish.stderr)")
            let got = try snapshotFiles(dir.path + "/out", excluding: { $0.hasPrefix("_stats") })
            expectSameFiles(got, expected, "kill -9 attempt \(attempt)")
            let v = try run(["verify", dir.path + "/out"])
            #expect(v.status == 0, "\(v.stderr)")
        }
    }

    @Test("SIGINT stops the run with exit 1, leaves no half-written shard, and a rerun finishes the job")
    func interruptStopsCleanly() throws {
        let dir = TemporaryDirectory()
        try writeCorpus(dir, files: 4, docsPerFile: 3000, bytesPerDocument: 2000)
        let p = try pipeline(in: dir, input: dir.path + "/in/*.jsonl.zst", tasks: 1, workers: 1)
        let child = try startCommand(sluice, ["run", p], currentDirectory: root)
        // Signal as soon as the first shard's temporary appears: the run is mid-write.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/out")) ?? []
            if names.contains(where: { AtomicFile.isTemporaryName($0) || OutputLayout.isShardName($0) }) { break }
            usleep(2_000)
        }
        child.signal(SIGINT)
        let r = child.wait()
        if r.status == 0 {
            Issue.record("the run finished before the signal arrived; make the input larger")
            return
        }
        #expect(r.status == 1)
        #expect(r.stderr.contains("interrupted"))
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out")
        #expect(!names.contains { AtomicFile.isTemporaryName($0) }, "temporaries left: \(names)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/_completions/00000.json"))
        let again = try run(["run", p, "--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try run(["verify", dir.path + "/out"]).status == 0)
    }

    @Test("--task-index and SLURM_ARRAY_TASK_ID run one task; the manifest appears when all are done")
    func taskIndexRunsOneTask() throws {
        let dir = TemporaryDirectory()
        try writeCorpus(dir)
        let p = try pipeline(in: dir, input: dir.path + "/in/*.jsonl.zst", tasks: 2)
        let one = try run(["run", p, "--task-index", "1", "--quiet"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/out/_completions/00001.json"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/_completions/00000.json"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/_manifest.json"))
        let zero = try run(["run", p, "--quiet"], env: ["SLURM_ARRAY_TASK_ID": "0"])
        #expect(zero.status == 0, "\(zero.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.path + "/out/_manifest.json"))
        let split = try snapshotFiles(dir.path + "/out", excluding: { $0.hasPrefix("_stats") })
        try FileManager.default.removeItem(atPath: dir.path + "/out")
        #expect(try run(["run", p, "--quiet"]).status == 0)
        let whole = try snapshotFiles(dir.path + "/out", excluding: { $0.hasPrefix("_stats") })
        expectSameFiles(split, whole, "task by task vs whole run")
        let bad = try run(["run", p, "--task-index", "5"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("out of range"))
    }

    @Test("a multi-step job runs its steps in order, each reading the previous step's shards")
    func multiStepJob() throws {
        let dir = TemporaryDirectory()
        try writeCorpus(dir)
        let text = """
            name: two-steps
            input:
              type: jsonl
              paths: ["\(dir.path)/in/*.jsonl.zst"]
            steps:
              - name: sample
                stages:
                  - type: sample
                    fraction: 0.5
                run:
                  tasks: 3
              - name: tag
                stages:
                  - type: add_metadata
                    fields: {step: two}
                run:
                  tasks: 2
            output:
              path: \(dir.path)/out

            """
        let p = dir.file("steps.yaml")
        try writeFile(p, text)
        let r = try run(["run", p, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let docs = try decodeShardsWithCLI(dir.path + "/out")
        #expect(docs.count > 400 && docs.count < 800)
        #expect(docs.allSatisfy { ($0["metadata"] as? [String: Any])?["step"] as? String == "two" })
        #expect(FileManager.default.fileExists(atPath: dir.path + "/out/_steps/00_sample/_manifest.json"))
        #expect(try run(["verify", dir.path + "/out"]).status == 0)
        #expect(try run(["verify", dir.path + "/out/_steps/00_sample"]).status == 0)
    }

    @Test("a typo in a pipeline file exits 2 naming the line, column and the allowed keys")
    func typoInPipelineFile() throws {
        let dir = TemporaryDirectory()
        try writeCorpus(dir, files: 1, docsPerFile: 10)
        let p = try pipeline(in: dir, input: dir.path + "/in/*.jsonl.zst", stages: "  - type: length_filter\n    min_word: 5\n")
        let r = try run(["run", p])
        #expect(r.status == 2)
        #expect(r.stderr.contains("pipeline.yaml:"))
        #expect(r.stderr.contains("min_word"))
        #expect(r.stderr.contains("min_words"))
        let v = try run(["validate", p])
        #expect(v.status == 2)
    }

    @Test("a glob that matches nothing is a clear error with exit 2")
    func globMatchingNothing() throws {
        let dir = TemporaryDirectory()
        let p = try pipeline(in: dir, input: dir.path + "/nothing/*.jsonl.zst")
        let r = try run(["run", p])
        #expect(r.status == 2)
        #expect(r.stderr.contains("nothing/*.jsonl.zst"))
    }

    @Test("hostile input is counted, never a crash: truncated zst and gz, bad UTF-8, NUL, non-JSON, empty files, oversized lines")
    func hostileInput() throws {
        let dir = TemporaryDirectory()
        let good = syntheticDocuments(count: 200, bytesPerDocument: 800, seed: 9)
        let zst = try ZstdCompressor.compress(jsonl(good))
        try writeFile(dir.file("in/a-truncated.jsonl.zst"), Array(zst.prefix(zst.count / 2)))
        let gzBytes = try GzipCompressor.compress(jsonl(good))
        try writeFile(dir.file("in/b-truncated.jsonl.gz"), Array(gzBytes.prefix(gzBytes.count / 2)))
        var mixed: [UInt8] = Array(#"{"id":"u1","text":"bad \#u{FF} byte here and more words to pass"}"#.utf8)
        mixed[20] = 0xFF
        mixed.append(10)
        mixed += Array("this is not json\n".utf8)
        mixed += Array(#"{"id":"nul","text":"a raw NUL"#.utf8) + [0] + Array(#" byte"}"#.utf8) + [10]
        mixed += Array(#"{"id":"esc","text":"an escaped \u0000 NUL is fine and has enough words"}"#.utf8) + [10]
        mixed += Array(#"{"id":"big","text":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 3 << 20) + Array("\"}\n".utf8)
        mixed += Array(#"{"id":"last","text":"the last line has no newline but has words"}"#.utf8)
        try writeFile(dir.file("in/c-mixed.jsonl"), mixed)
        try writeFile(dir.file("in/d-empty.jsonl"), [])
        try writeFile(dir.file("in/e-empty.jsonl.zst"), [])
        let p = try pipeline(
            in: dir, input: dir.path + "/in/*", stages: "  - type: length_filter\n    min_words: 3\n", tasks: 1,
            extraInput: "  max_line_bytes: 1MiB")
        let r = try run(["run", p, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.path + "/out"
        #expect(try run(["verify", out]).status == 0)
        let s = try run(["stats", out, "--json"])
        let stats = try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as! [String: Any]
        let read = (stats["stages"] as! [[String: Any]])[0]
        let dropped = read["dropped"] as! [String: Int]
        #expect(dropped["invalid_json"] == 2)  // "this is not json" and the raw NUL
        #expect(dropped["too_large"] == 1)
        #expect((read["counters"] as! [String: Int])["invalid_utf8_replaced"] == 1)
        let problems = stats["input_problems"] as! [String]
        #expect(problems.contains { $0.contains("a-truncated.jsonl.zst") })
        #expect(problems.contains { $0.contains("b-truncated.jsonl.gz") })
        let ids = Set(try decodeShardsWithCLI(out).map { $0["id"] as! String })
        #expect(ids.contains("u1") && ids.contains("esc") && ids.contains("last"))
        #expect(!ids.contains("big") && !ids.contains("nul"))
        // Documents before the damage in the truncated files survive.
        #expect(ids.contains("doc-0"))
        // The rejected output holds the unparseable lines with their reason.
        let rejected = try snapshotFiles(out + "/_rejected")
        #expect(rejected.keys.contains { $0.hasPrefix("read/") })
    }
}
