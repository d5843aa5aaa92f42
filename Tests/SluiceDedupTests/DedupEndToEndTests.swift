import Foundation
import SluiceCore
import SluiceDedup
import SluiceIO
import SluiceTestSupport
import Testing

/// The dedup stages through the real `sluice` executable: multi-step expansion, reruns after
/// kill -9, guards and the shipped pipeline.
@Suite("dedup through sluice run", .serialized)
struct DedupEndToEndTests {
    let sluice = sluiceExecutable()
    let root = packageRoot()

    func run(_ args: [String]) throws -> CommandResult {
        try runCommand(sluice, args, currentDirectory: root)
    }

    /// Planted near-duplicates and exact copies in `files` zstd JSONL files.
    func writeCorpus(_ dir: TemporaryDirectory, files: Int = 4) throws -> Int {
        var docs = PlantedCorpus(bases: 120, words: 80, similarities: [0.95, 0.6], seed: 21).documents
        for i in stride(from: 0, to: 60, by: 6) {
            var copy = docs[i]
            copy.id = "exact-copy-\(i)"
            docs.append(copy)
        }
        for f in 0..<files {
            let part = stride(from: f, to: docs.count, by: files).map { docs[$0] }
            try writeFile(dir.file("in/part-\(f).jsonl.zst"), try ZstdCompressor.compress(jsonl(part)))
        }
        return docs.count
    }

    func pipeline(_ dir: TemporaryDirectory, stages: String, tasks: Int = 2, name: String = "p.yaml") throws -> String {
        let text = """
            name: dedup-test
            input:
              type: jsonl
              paths: ["\(dir.path)/in/*.jsonl.zst"]
            stages:
            \(stages)
            output:
              path: \(dir.path)/out
              rejected: true
            run:
              tasks: \(tasks)
              workers: 2

            """
        let p = dir.file(name)
        try writeFile(p, text)
        return p
    }

    func snapshot(_ dir: TemporaryDirectory) throws -> [String: [UInt8]] {
        try snapshotFiles(dir.path + "/out", excluding: { $0.split(separator: "/").contains("_stats") })
    }

    func outputIDs(_ out: String) throws -> Set<String> {
        var ids = Set<String>()
        for n in try FileManager.default.contentsOfDirectory(atPath: out) where n.hasSuffix(".jsonl.zst") && n.first?.isNumber == true {
            let text = String(decoding: try ZstdDecompressor.decompress(try readFile(out + "/" + n)), as: UTF8.self)
            for line in text.split(separator: "\n") {
                let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                ids.insert(obj["id"] as! String)
            }
        }
        return ids
    }

    static let bothStages = """
          - type: exact_dedup
          - type: minhash_dedup
            cluster_metadata: true
        """

    @Test("Pipelines/dedup.yaml removes the sample data's exact and near duplicates and verifies")
    func shippedPipeline() throws {
        let dir = TemporaryDirectory()
        let out = dir.path + "/out"
        let r = try run(["run", "Pipelines/dedup.yaml", "--set", "output.path=\(out)", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("exact_duplicate"))
        #expect(r.stdout.contains("minhash_duplicate"))
        #expect(try run(["verify", out]).status == 0)
        let exact = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + "/_steps/02_dedup.minhash_dedup.input/_manifest.json"))) as! [String: Any]
        let totals = exact["totals"] as! [String: Any]
        #expect(totals["documents_in"] as? Int == 5781)
        #expect(totals["documents"] as? Int == 5761, "SampleData holds 20 exact duplicates")
        let report = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + "/_work/minhash_dedup/report.json"))) as! [String: Any]
        #expect((report["documents_removed"] as? Int ?? 0) > 0)
        #expect(report["threshold"] != nil)
    }

    @Test("the steps of an expanded dedup are listed by validate")
    func validateListsSteps() throws {
        let dir = TemporaryDirectory()
        _ = try writeCorpus(dir)
        let p = try pipeline(dir, stages: "  - type: length_filter\n    min_words: 3\n" + Self.bothStages)
        let v = try run(["validate", p])
        #expect(v.status == 0, "\(v.stderr)")
        for step in [
            "dedup-test.exact_dedup.input", "dedup-test.exact_dedup.hashes", "dedup-test.exact_dedup.decide",
            "dedup-test.minhash_dedup.input", "dedup-test.minhash_dedup.signatures", "dedup-test.minhash_dedup.buckets",
            "dedup-test.minhash_dedup.clusters", "step dedup-test:",
        ] {
            #expect(v.stdout.contains(step), "\(step) missing from:\n\(v.stdout)")
        }
    }

    @Test("kill -9 in the middle of each step, then a rerun, gives the same bytes as a clean run")
    func killNineInEachStep() throws {
        let dir = TemporaryDirectory()
        let total = try writeCorpus(dir)
        let p = try pipeline(dir, stages: Self.bothStages)
        let clean = try run(["run", p, "--quiet"])
        #expect(clean.status == 0, "\(clean.stderr)")
        let expected = try snapshot(dir)
        let kept = try outputIDs(dir.path + "/out")
        #expect(kept.count < total - 100, "the planted duplicates are removed")
        let steps = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out/_steps").sorted()
        #expect(steps.count == 6)
        let problems = try killInEachStepThenRerun(
            sluice: sluice, pipeline: p, out: dir.path + "/out", root: root, expected: expected, snapshot: { try snapshot(dir) })
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("an explicit four-step MinHash job removes what minhash_dedup removes; a removal step with another task count fails")
    func explicitSteps() throws {
        let dir = TemporaryDirectory()
        _ = try writeCorpus(dir)
        let shortcut = try pipeline(dir, stages: "  - type: minhash_dedup\n", name: "short.yaml")
        #expect(try run(["run", shortcut, "--quiet"]).status == 0)
        let expected = try outputIDs(dir.path + "/out")
        try FileManager.default.removeItem(atPath: dir.path + "/out")
        func explicit(filterTasks: Int) throws -> String {
            let text = """
                name: explicit
                input:
                  type: jsonl
                  paths: ["\(dir.path)/in/*.jsonl.zst"]
                steps:
                  - name: signatures
                    stages: [{type: minhash_signatures}]
                  - name: buckets
                    stages: [{type: minhash_buckets}]
                    run: {tasks: 5}
                  - name: clusters
                    stages: [{type: minhash_clusters}]
                    run: {tasks: 1}
                  - name: dedup
                    stages: [{type: minhash_filter}]
                    run: {tasks: \(filterTasks)}
                output:
                  path: \(dir.path)/out
                run:
                  tasks: 2
                  workers: 2

                """
            let p = dir.file("explicit-\(filterTasks).yaml")
            try writeFile(p, text)
            return p
        }
        let bad = try run(["run", try explicit(filterTasks: 3), "--quiet"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("runs 3 tasks but the minhash_signatures step ran 2"), "\(bad.stderr)")
        try FileManager.default.removeItem(atPath: dir.path + "/out")
        let good = try run(["run", try explicit(filterTasks: 2), "--quiet"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(try outputIDs(dir.path + "/out") == expected)
        #expect(try run(["verify", dir.path + "/out"]).status == 0)
    }

    /// Every file under OUT/_work, relative to it.
    func workFiles(_ dir: TemporaryDirectory) -> [String] {
        let work = dir.path + "/out/_work"
        var out: [String] = []
        let listing = FileManager.default.enumerator(atPath: work)
        while let name = listing?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: work + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                out.append(name)
            }
        }
        return out.sorted()
    }

    @Test("a complete run removes the work files but keeps the reports; its rerun is a no-op")
    func workFilesRemovedAfterCompletion() throws {
        let dir = TemporaryDirectory()
        _ = try writeCorpus(dir)
        let p = try pipeline(dir, stages: Self.bothStages)
        let first = try run(["run", p])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("intermediate files"), "the removal is logged: \(first.stderr)")
        #expect(workFiles(dir) == ["exact_dedup/report-00000.json", "exact_dedup/report-00001.json", "minhash_dedup/report.json"])
        let expected = try snapshot(dir)
        let again = try run(["run", p])
        #expect(again.status == 0, "\(again.stderr)")
        let stepLines = again.stdout.split(separator: "\n").filter { $0.hasPrefix("step ") }
        #expect(stepLines.count == 7)
        #expect(stepLines.allSatisfy { $0.contains(": 0 tasks run, 2 already complete (skipped)") }, "\(again.stdout)")
        #expect(!again.stderr.contains("intermediate files"), "nothing left to remove")
        let got = try snapshot(dir)
        #expect(got.keys.sorted() == expected.keys.sorted())
        for (k, v) in got where expected[k] != v { Issue.record("\(k) changed in the rerun") }
        #expect(try run(["verify", dir.path + "/out"]).status == 0)
    }

    @Test("run.keep_work: true keeps the work files after a complete run")
    func keepWork() throws {
        let dir = TemporaryDirectory()
        _ = try writeCorpus(dir)
        let p = try pipeline(dir, stages: "  - type: minhash_dedup\n")
        let r = try run(["run", p, "--quiet", "--set", "run.keep_work=true"])
        #expect(r.status == 0, "\(r.stderr)")
        let files = workFiles(dir)
        for folder in ["signatures/", "buckets/", "clusters/"] {
            #expect(files.contains { $0.hasPrefix("minhash_dedup/" + folder) }, "\(folder) kept: \(files)")
        }
    }

    @Test("a run that is not complete keeps the work files, so the next run resumes from them")
    func partialRunKeepsWork() throws {
        let dir = TemporaryDirectory()
        _ = try writeCorpus(dir)
        let p = try pipeline(dir, stages: "  - type: minhash_dedup\n")
        // Task 0 of each step, as one array job would: the first step is then half done.
        let half = try run(["run", p, "--quiet", "--task-index", "0"])
        #expect(half.status == 0, "\(half.stderr)")
        #expect(workFiles(dir).contains("minhash_dedup/signatures/00000.json"), "\(workFiles(dir))")
        // Task 1 completes the signatures, then runs task 1 of every later step it can.
        for _ in 0..<4 {
            #expect(try run(["run", p, "--quiet", "--task-index", "1"]).status == 0)
            #expect(try run(["run", p, "--quiet", "--task-index", "0"]).status == 0)
        }
        #expect(FileManager.default.fileExists(atPath: dir.path + "/out/_manifest.json"))
        #expect(workFiles(dir) == ["minhash_dedup/report.json"], "removed once the last step completed")
        let resumed = try outputIDs(dir.path + "/out")
        try FileManager.default.removeItem(atPath: dir.path + "/out")
        #expect(try run(["run", p, "--quiet"]).status == 0)
        #expect(try outputIDs(dir.path + "/out") == resumed)
    }

    @Test("a work stage that shares its step, or a sink stage that is not last, is an invalid pipeline")
    func misplacedStages() throws {
        let dir = TemporaryDirectory()
        _ = try writeCorpus(dir)
        let shared = try pipeline(dir, stages: "  - type: length_filter\n    min_words: 1\n  - type: minhash_buckets\n")
        let v1 = try run(["validate", shared])
        #expect(v1.status == 2)
        #expect(v1.stderr.contains("must be the only stage of its step"))
        let notLast = try pipeline(dir, stages: "  - type: minhash_signatures\n  - type: length_filter\n    min_words: 1\n")
        let v2 = try run(["validate", notLast])
        #expect(v2.status == 2)
        #expect(v2.stderr.contains("must be the last stage of its step"))
    }

    @Test("a dedup of input without documents fails loudly instead of writing nothing")
    func emptyInput() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("in/empty.jsonl.zst"), try ZstdCompressor.compress([]))
        let p = try pipeline(dir, stages: "  - type: minhash_dedup\n", tasks: 1)
        let r = try run(["run", p, "--quiet"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("saw no documents"), "\(r.stderr)")
    }
}
