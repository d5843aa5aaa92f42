import Foundation
import SluiceCore
import SluiceIO
import SluiceTestSupport
import Testing

@testable import SluiceQuality

/// `score_buckets` and `sampling_weight` through the real `sluice` executable: the three
/// steps, task counts, kill -9 and rerun, configuration errors, missing scores, filtering.
@Suite("score buckets through sluice run", .serialized)
struct ScoreBucketRunTests {
    let sluice = sluiceExecutable()
    let root = packageRoot()

    func run(_ args: [String]) throws -> CommandResult {
        try runCommand(sluice, args, currentDirectory: root)
    }

    /// Documents with `metadata.quality.edu` (ties included) and 0 to 120 words; every
    /// `missingEvery`-th has no score.
    static func corpus(count: Int, missingEvery: Int = 0, seed: UInt64 = 7) -> [Document] {
        var rng = SplitMix64(seed: seed)
        let vocabulary = ["river", "delta", "sluice", "gate", "water", "stone", "barge", "grain", "lock", "level"]
        return (0..<count).map { i in
            let n = Int(rng.next() % 121)
            let text = (0..<n).map { _ in vocabulary[Int(rng.next() % UInt64(vocabulary.count))] }.joined(separator: i % 3 == 0 ? "\n" : " ")
            var meta = JSONObject()
            if missingEvery == 0 || i % missingEvery != missingEvery - 1 {
                // Three decimals: many exact ties, as classifier scores rounded for storage.
                let score = Double(rng.next() % 5001) / 1000
                meta["quality"] = .object(["edu": .double(score)])
            }
            meta["n"] = .int(i)
            return Document(id: "doc-\(i)", text: text, metadata: meta)
        }
    }

    static func write(_ docs: [Document], files: Int, to dir: TemporaryDirectory) throws {
        for f in 0..<files {
            let part = stride(from: f, to: docs.count, by: files).map { docs[$0] }
            try writeFile(dir.file("in/part-\(f).jsonl.zst"), try ZstdCompressor.compress(jsonl(part)))
        }
    }

    func pipeline(_ dir: TemporaryDirectory, stages: String, tasks: Int = 3, out: String = "out", name: String = "p.yaml") throws -> String {
        let text = """
            name: buckets-test
            input:
              type: jsonl
              paths: ["\(dir.path)/in/*.jsonl.zst"]
            stages:
            \(stages)
            output:
              path: \(dir.path)/\(out)
              rejected: true
            run:
              tasks: \(tasks)
              workers: 2

            """
        let p = dir.file(name)
        try writeFile(p, text)
        return p
    }

    /// Every output document (the final shards), by id.
    static func outputDocuments(_ out: String) throws -> [String: JSONObject] {
        var docs: [String: JSONObject] = [:]
        for n in try FileManager.default.contentsOfDirectory(atPath: out).sorted() where n.hasSuffix(".jsonl.zst") && n.first?.isNumber == true {
            let bytes = try ZstdDecompressor.decompress(try readFile(out + "/" + n))
            for line in bytes.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
                guard case .object(let o) = try parseJSONValue(Array(line)), let id = o["id"]?.stringValue else { continue }
                docs[id] = o
            }
        }
        return docs
    }

    static func boundaries(_ out: String, stage: String = "score_buckets") throws -> JSONObject {
        guard case .object(let o) = try parseJSONValue(try readFile(out + "/_work/\(stage)/boundaries.json")) else {
            throw ScoreBucketError("boundaries.json is not an object")
        }
        return o
    }

    static func doubles(_ v: JSONValue?) -> [Double] { v?.arrayValue?.compactMap(\.doubleValue) ?? [] }

    /// The stats of a stage (by id, or type) of the final output, as `sluice stats --json` prints them.
    func stageStats(_ out: String, type: String) throws -> [String: Any] {
        let r = try run(["stats", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let stages = o["stages"] as! [[String: Any]]
        return stages.first { ($0["id"] as? String) == type } ?? stages.first { ($0["type"] as? String) == type } ?? [:]
    }

    static let twenty = """
          - type: score_buckets
            score: quality.edu
        """

    @Test("20 token-weighted buckets: the boundaries are the reference percentiles and every document carries its bucket")
    func twentyBuckets() throws {
        let dir = TemporaryDirectory()
        let docs = Self.corpus(count: 1200)
        try Self.write(docs, files: 4, to: dir)
        let p = try pipeline(dir, stages: Self.twenty)
        let v = try run(["validate", p])
        #expect(v.status == 0, "\(v.stderr)")
        for step in ["buckets-test.score_buckets.scores", "buckets-test.score_buckets.boundaries", "step buckets-test:"] {
            #expect(v.stdout.contains(step), "\(step) missing from:\n\(v.stdout)")
        }
        let r = try run(["run", p, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.path + "/out"
        let expected = ScoreBucketMath.boundaries(
            scores: docs.map { $0.metadata.value(atPath: "quality.edu")!.doubleValue! },
            weights: docs.map { UInt64(countText($0.text).words) }, percentiles: ScoreBucketMath.percentiles(buckets: 20))!
        let info = try Self.boundaries(out)
        #expect(Self.doubles(info["boundaries"]) == expected)
        #expect(info["scored"] == .int(1200))
        #expect(info["weight"]?.stringValue == "tokens")
        let got = try Self.outputDocuments(out)
        #expect(got.count == 1200)
        var perBucket = [Int](repeating: 0, count: 20)
        for d in docs {
            let bucket = got[d.id]?.value(atPath: "metadata.quality.edu_bucket")
            let want = ScoreBucketMath.bucket(of: d.metadata.value(atPath: "quality.edu")!.doubleValue!, boundaries: expected)
            #expect(bucket == .int(want), "\(d.id)")
            perBucket[want] += 1
        }
        // The bucket counts are in the final step's stats.
        let stats = try stageStats(out, type: "score_buckets")
        let counters = stats["counters"] as? [String: Int] ?? [:]
        for (b, n) in perBucket.enumerated() where n > 0 {
            #expect(counters["bucket_" + (b < 10 ? "0" : "") + String(b)] == n, "bucket \(b): \(counters)")
        }
        // The boundaries are in the boundaries step's stats too (times 10^6).
        guard case .object(let step2)? = try? parseJSONValue(
            try readFile(out + "/_steps/01_buckets-test.score_buckets.boundaries/_stats/00000.json")),
            let stages = step2["stages"]?.arrayValue, stages.count == 2
        else {
            Issue.record("no stats for the boundaries step")
            return
        }
        #expect(stages[1].objectValue?.value(atPath: "counters.boundary_p50_x1e6") == .int(Int((expected[9] * 1e6).rounded())))
        #expect(try run(["verify", out]).status == 0)
    }

    @Test("three tasks give the same boundaries and buckets as one task")
    func taskCountDoesNotMatter() throws {
        let dir = TemporaryDirectory()
        try Self.write(Self.corpus(count: 900), files: 5, to: dir)
        let stages = Self.twenty + "\n    percentiles: [30, 60]\n    names: [head, middle, tail]\n"
        var results: [(JSONObject, [String: JSONObject])] = []
        for tasks in [1, 3] {
            let p = try pipeline(dir, stages: stages, tasks: tasks, out: "out\(tasks)", name: "p\(tasks).yaml")
            let r = try run(["run", p, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            results.append((try Self.boundaries(dir.path + "/out\(tasks)"), try Self.outputDocuments(dir.path + "/out\(tasks)")))
        }
        #expect(Self.doubles(results[0].0["boundaries"]) == Self.doubles(results[1].0["boundaries"]))
        #expect(results[0].0["weight_total"] == results[1].0["weight_total"])
        #expect(results[0].1.count == 900)
        #expect(results[0].1 == results[1].1, "every document, metadata included, is the same")
        let names = Set(results[0].1.values.compactMap { $0.value(atPath: "metadata.quality.edu_bucket_name")?.stringValue })
        #expect(names == ["head", "middle", "tail"])
    }

    @Test("kill -9 in the middle of each step, then a rerun, gives the same bytes as a clean run")
    func killNineInEachStep() throws {
        let dir = TemporaryDirectory()
        try Self.write(Self.corpus(count: 6000), files: 6, to: dir)
        let stages = "  - type: length_filter\n    min_words: 1\n" + Self.twenty + "\n    keep_buckets: [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]\n"
        let p = try pipeline(dir, stages: stages)
        let clean = try run(["run", p, "--quiet"])
        #expect(clean.status == 0, "\(clean.stderr)")
        func snapshot() throws -> [String: [UInt8]] {
            try snapshotFiles(dir.path + "/out", excluding: { $0.split(separator: "/").contains("_stats") })
        }
        let expected = try snapshot()
        #expect(expected.keys.contains("_work/score_buckets/boundaries.json"))
        let steps = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out/_steps").sorted()
        #expect(steps.count == 3, "\(steps)")
        let problems = try killInEachStepThenRerun(
            sluice: sluice, pipeline: p, out: dir.path + "/out", root: root, expected: expected, snapshot: snapshot)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("keep_buckets drops the other buckets with bucket_not_kept, counted")
    func keepBucketsDropsCounted() throws {
        let dir = TemporaryDirectory()
        let docs = Self.corpus(count: 800)
        try Self.write(docs, files: 2, to: dir)
        let stages = Self.twenty + "\n    percentiles: [30, 60]\n    names: [low, middle, high]\n    keep_buckets: [high, 1]\n    key: edu_tier\n"
        let p = try pipeline(dir, stages: stages, tasks: 2)
        let r = try run(["run", p, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.path + "/out"
        let b = Self.doubles(try Self.boundaries(out)["boundaries"])
        let low = docs.filter { ScoreBucketMath.bucket(of: $0.metadata.value(atPath: "quality.edu")!.doubleValue!, boundaries: b) == 0 }
        #expect(!low.isEmpty)
        let stats = try stageStats(out, type: "score_buckets")
        let dropped = stats["dropped"] as? [String: Int] ?? [:]
        #expect(dropped == ["bucket_not_kept": low.count])
        let got = try Self.outputDocuments(out)
        #expect(got.count == docs.count - low.count)
        #expect(Set(got.values.compactMap { $0.value(atPath: "metadata.edu_tier")?.doubleValue }) == [1, 2])
        #expect(Set(got.values.compactMap { $0.value(atPath: "metadata.edu_tier_name")?.stringValue }) == ["middle", "high"])
        // The rejected documents carry their reason.
        let rejected = try FileManager.default.subpathsOfDirectory(atPath: out + "/_rejected").filter { $0.hasSuffix(".jsonl.zst") }
        #expect(!rejected.isEmpty)
    }

    @Test("documents without the score are dropped with score_missing, or get a bucket of their own")
    func missingScores() throws {
        let dir = TemporaryDirectory()
        let docs = Self.corpus(count: 600, missingEvery: 4)
        try Self.write(docs, files: 2, to: dir)
        let missing = docs.filter { $0.metadata["quality"] == nil }.count
        #expect(missing == 150)
        // Drop (the default).
        let p1 = try pipeline(dir, stages: Self.twenty + "\n    buckets: 4\n", tasks: 2, out: "drop", name: "drop.yaml")
        let r1 = try run(["run", p1, "--quiet"])
        #expect(r1.status == 0, "\(r1.stderr)")
        let s1 = try stageStats(dir.path + "/drop", type: "score_buckets")
        #expect((s1["dropped"] as? [String: Int]) == ["score_missing": missing])
        #expect(try Self.outputDocuments(dir.path + "/drop").count == 600 - missing)
        let info = try Self.boundaries(dir.path + "/drop")
        #expect(info["missing"] == .int(missing))
        #expect(info["scored"] == .int(600 - missing))
        // A bucket of their own.
        let p2 = try pipeline(
            dir, stages: Self.twenty + "\n    buckets: 4\n    missing: bucket\n    missing_bucket: 99\n    names: [a, b, c, d]\n", tasks: 2,
            out: "own", name: "own.yaml")
        let r2 = try run(["run", p2, "--quiet"])
        #expect(r2.status == 0, "\(r2.stderr)")
        let got = try Self.outputDocuments(dir.path + "/own")
        #expect(got.count == 600)
        let unscored = got.values.filter { $0.value(atPath: "metadata.quality.edu") == nil }
        #expect(unscored.count == missing)
        #expect(unscored.allSatisfy { $0.value(atPath: "metadata.quality.edu_bucket") == .int(99) })
        #expect(unscored.allSatisfy { $0.value(atPath: "metadata.quality.edu_bucket_name") == .string("missing") })
        let counters = try stageStats(dir.path + "/own", type: "score_buckets")["counters"] as? [String: Int] ?? [:]
        #expect(counters["bucket_missing"] == missing)
        // Boundaries are computed from the scored documents only, in both runs.
        #expect(Self.doubles(try Self.boundaries(dir.path + "/own")["boundaries"]) == Self.doubles(info["boundaries"]))
    }

    @Test("sample takes the percentiles from a deterministic share of documents, the same for any task count")
    func sampleIsDeterministic() throws {
        let dir = TemporaryDirectory()
        let docs = Self.corpus(count: 1000)
        try Self.write(docs, files: 3, to: dir)
        let stages = Self.twenty + "\n    sample: 0.3\n    seed: 5\n    weight: documents\n"
        var got: [[Double]] = []
        for tasks in [1, 3] {
            let p = try pipeline(dir, stages: stages, tasks: tasks, out: "s\(tasks)", name: "s\(tasks).yaml")
            let r = try run(["run", p, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            got.append(Self.doubles(try Self.boundaries(dir.path + "/s\(tasks)")["boundaries"]))
            #expect(try Self.outputDocuments(dir.path + "/s\(tasks)").count == 1000, "every document is bucketed")
        }
        let sampled = docs.filter { Double(XXH64.hash($0.id, seed: 5)) * 0x1p-64 < 0.3 }
        #expect(sampled.count > 200 && sampled.count < 400)
        let expected = ScoreBucketMath.boundaries(
            scores: sampled.map { $0.metadata.value(atPath: "quality.edu")!.doubleValue! },
            weights: sampled.map { _ in 1 }, percentiles: ScoreBucketMath.percentiles(buckets: 20))!
        #expect(got[0] == expected)
        #expect(got[1] == expected)
    }

    @Test("fixed boundaries bucket in one step, with no work files")
    func fixedBoundaries() throws {
        let dir = TemporaryDirectory()
        let docs = Self.corpus(count: 300)
        try Self.write(docs, files: 2, to: dir)
        let p = try pipeline(dir, stages: Self.twenty + "\n    boundaries: [1.5, 3.5]\n    names: [head, middle, tail]\n    keep_buckets: [head]\n", tasks: 2)
        let r = try run(["run", p, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/_steps"))
        let got = try Self.outputDocuments(dir.path + "/out")
        #expect(got.count == docs.filter { $0.metadata.value(atPath: "quality.edu")!.doubleValue! < 1.5 }.count)
    }

    @Test("bad configurations are invalid pipelines with a message that says what to fix")
    func badConfigurations() throws {
        let dir = TemporaryDirectory()
        try Self.write(Self.corpus(count: 10), files: 1, to: dir)
        let cases: [(String, String)] = [
            ("  - type: score_buckets\n    buckets: 20\n", "needs score"),
            (Self.twenty + "\n    buckets: 1\n", "buckets must be between 2 and 1000"),
            (Self.twenty + "\n    buckets: 10\n    percentiles: [30, 60]\n", "one of buckets, percentiles or boundaries"),
            (Self.twenty + "\n    percentiles: [60, 30]\n", "percentiles must increase strictly"),
            (Self.twenty + "\n    percentiles: [0, 50]\n", "strictly between 0 and 100"),
            (Self.twenty + "\n    percentiles: [30, 60]\n    names: [a, b]\n", "names has 2 entries but there are 3 buckets"),
            (Self.twenty + "\n    percentiles: [30, 60]\n    keep_buckets: [3]\n", "keep_buckets: 3 is not a bucket"),
            (Self.twenty + "\n    percentiles: [30, 60]\n    names: [a, b, c]\n    keep_buckets: [d]\n", "'d' is not a bucket name"),
            (Self.twenty + "\n    weight: bytes\n", "weight: 'bytes' is not allowed"),
            (Self.twenty + "\n    missing: keep\n", "missing: 'keep' is not allowed"),
            (Self.twenty + "\n    missing: bucket\n    missing_bucket: 3\n", "missing_bucket 3 is one of the score buckets"),
            (Self.twenty + "\n    sample: 0\n", "sample must be above 0"),
            (Self.twenty + "\n    bucket: 3\n", "bucket"),
            ("  - type: sampling_weight\n    source: x\n", "needs table"),
            ("  - type: sampling_weight\n    source: x\n    map: exponential\n    from: [0, 1]\n    to: [0, 2]\n", "weights above 0"),
            ("  - type: sampling_weight\n    source: x\n    map: linear\n    from: [1, 1]\n    to: [0, 2]\n", "low < high"),
            ("  - type: sampling_weight\n    source: x\n    table: {0: -1}\n", "finite number ≥ 0"),
        ]
        for (i, (stages, message)) in cases.enumerated() {
            let p = try pipeline(dir, stages: stages, tasks: 1, name: "bad\(i).yaml")
            let v = try run(["validate", p])
            #expect(v.status == 2, "case \(i): \(v.stdout)")
            #expect(v.stderr.contains(message), "case \(i): expected '\(message)' in: \(v.stderr)")
        }
    }

    @Test("a score that no document has fails the boundaries step with a clear message")
    func noScoresFails() throws {
        let dir = TemporaryDirectory()
        try Self.write(Self.corpus(count: 50), files: 1, to: dir)
        let p = try pipeline(dir, stages: "  - type: score_buckets\n    score: quality.nothing\n", tasks: 1)
        let r = try run(["run", p, "--quiet"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no document has a numeric metadata.quality.nothing"), "\(r.stderr)")
    }

    @Test("sampling_weight after score_buckets: per-bucket table and an exponential map of the score")
    func samplingWeightInAPipeline() throws {
        let dir = TemporaryDirectory()
        let docs = Self.corpus(count: 400, missingEvery: 10)
        try Self.write(docs, files: 2, to: dir)
        let stages = Self.twenty + """

                percentiles: [30, 60]
                missing: bucket
              - id: bucket_weight
                type: sampling_weight
                source: quality.edu_bucket
                table: {0: 0.25, 1: 1, 2: 3}
                missing_weight: 0.5
              - id: edu_weight
                type: sampling_weight
                source: quality.edu
                map: exponential
                from: [0, 5]
                to: [0.5, 2]
                key: weights.edu
                missing: drop

            """
        let p = try pipeline(dir, stages: stages, tasks: 2)
        let r = try run(["run", p, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let got = try Self.outputDocuments(dir.path + "/out")
        #expect(got.count == docs.filter { $0.metadata["quality"] != nil }.count, "missing: drop in the second weight stage")
        for (_, d) in got {
            let bucket = d.value(atPath: "metadata.quality.edu_bucket")?.doubleValue
            let w = d.value(atPath: "metadata.sampling_weight")?.doubleValue
            #expect(w == [0: 0.25, 1: 1.0, 2: 3.0][Int(bucket ?? -9)])
            let x = d.value(atPath: "metadata.quality.edu")!.doubleValue!
            #expect(d.value(atPath: "metadata.weights.edu")?.doubleValue == 0.5 * Foundation.pow(4.0, x / 5))
        }
        let s = try stageStats(dir.path + "/out", type: "edu_weight")
        #expect((s["dropped"] as? [String: Int]) == ["sampling_weight_missing": docs.filter { $0.metadata["quality"] == nil }.count])
    }
}
