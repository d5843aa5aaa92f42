import Foundation
import SluiceCore
import SluiceIO
import SluicePipeline
import SluiceStats
import SluiceTestSupport
import Testing

/// A corpus with the metadata a web pipeline produces: language, URL, content type, scores.
func writeWebCorpus(_ dir: TemporaryDirectory, files: Int = 3, docsPerFile: Int = 400) throws {
    let languages = ["en", "en", "en", "de", "fr", "zh"]
    let hosts = ["https://www.example.com/a", "https://docs.python.org/3/", "http://news.example.org/x?y=1", "https://blog.acme.io/"]
    for f in 0..<files {
        var docs: [Document] = []
        for (i, var d) in syntheticDocuments(count: docsPerFile, bytesPerDocument: 200 + 700 * (f + 1), seed: UInt64(f + 10), idPrefix: "f\(f)").enumerated() {
            let n = f * docsPerFile + i
            // Every seventh document is short, to be dropped by the length filter.
            if n % 7 == 0 { d.text = "Too short to keep, really." }
            d.metadata["language"] = .string(languages[n % languages.count])
            d.metadata["url"] = .string(hosts[n % hosts.count] + "\(n)")
            d.metadata["content_type"] = .string(n % 3 == 0 ? "text/plain" : "text/html; charset=utf-8")
            d.metadata["quality"] = .object(["fasttext": .double(Double((n * 37) % 100) / 100)])
            d.metadata["bucket"] = .int(n % 4)
            docs.append(d)
        }
        try writeFile(dir.file("in/part-\(f).jsonl.zst"), try ZstdCompressor.compress(jsonl(docs)))
    }
}

func webPipeline(_ dir: TemporaryDirectory, out: String, threshold: Double = 0.2) throws -> String {
    let text = """
        name: web-stats
        input:
          type: jsonl
          paths: ["\(dir.path)/in/*.jsonl.zst"]
        stages:
          - type: length_filter
            min_words: 20
          - id: quality
            type: field_filter
            field: quality.fasttext
            gte: \(threshold)
        output:
          path: \(out)
          max_shard_bytes: 150kB
          rejected: true
        run:
          tasks: 2
          workers: 2

        """
    let path = dir.file("pipeline-\(threshold).yaml")
    try writeFile(path, text)
    return path
}

@Suite("sluice stats, inspect, report and diff on real runs", .serialized)
struct CommandTests {
    let sluice = sluiceExecutable()

    func run(_ args: [String]) throws -> CommandResult { try runCommand(sluice, args) }

    func json(_ s: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(s.utf8)) as! [String: Any]
    }

    /// Every shard decoded with the zstd CLI and each line parsed with Foundation.
    func decodeShards(_ out: String) throws -> [[String: Any]] {
        var docs: [[String: Any]] = []
        for n in try FileManager.default.contentsOfDirectory(atPath: out).filter(OutputLayout.isShardName).sorted() {
            let r = try runCommand("/usr/bin/zstd", ["-dc", "--no-progress", out + "/" + n])
            #expect(r.status == 0)
            for line in r.stdout.split(separator: "\n") {
                docs.append(try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])
            }
        }
        return docs
    }

    func makeRun(_ dir: TemporaryDirectory, threshold: Double = 0.2, name: String = "out") throws -> String {
        if !FileManager.default.fileExists(atPath: dir.path + "/in") { try writeWebCorpus(dir) }
        let out = dir.path + "/" + name
        let r = try run(["run", try webPipeline(dir, out: out, threshold: threshold), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    @Test("stats totals and distributions agree with an independent count by the zstd CLI and a JSON parser")
    func statsAgreeWithIndependentCount() throws {
        let dir = TemporaryDirectory()
        let out = try makeRun(dir)
        let docs = try decodeShards(out)
        let s = try run(["stats", out, "--json"])
        #expect(s.status == 0, "\(s.stderr)")
        let stats = try json(s.stdout)
        let totals = stats["totals"] as! [String: Any]
        let texts = docs.map { $0["text"] as! String }
        #expect(totals["documents"] as? Int == docs.count)
        #expect(totals["characters"] as? Int == texts.reduce(0) { $0 + $1.unicodeScalars.count })
        #expect(totals["words"] as? Int == texts.reduce(0) { $0 + $1.split(whereSeparator: { $0 == " " || $0 == "\n" }).count })
        #expect(totals["documents_in"] as? Int == 1200)
        // The contract keys are still there.
        for key in ["documents", "bytes", "compressed_bytes", "shards"] { #expect(totals[key] != nil) }
        let stages = stats["stages"] as! [[String: Any]]
        #expect(stages.map { $0["id"] as! String } == ["read", "length_filter", "quality"])
        let shards = stats["shards"] as! [[String: Any]]
        #expect(shards.allSatisfy { $0["path"] is String && $0["characters"] is Int })
        // Languages counted exactly.
        let languages = (stats["categories"] as! [String: Any])["language"] as! [String: Any]
        var truth: [String: Int] = [:]
        for d in docs { truth[((d["metadata"] as! [String: Any])["language"] as! String), default: 0] += 1 }
        for v in languages["values"] as! [[String: Any]] {
            #expect(truth[v["value"] as! String] == v["documents"] as? Int)
        }
        // Quality scores: the median is within 1/16 of the exact one.
        let scores = docs.map { (($0["metadata"] as! [String: Any])["quality"] as! [String: Any])["fasttext"] as! Double }.sorted()
        let meta = (stats["metadata"] as! [String: Any])["quality.fasttext"] as! [String: Any]
        let exact = scores[scores.count / 2]
        #expect(abs((meta["p50"] as! Double) - exact) <= exact / 16 + 0.01)
        #expect(meta["min"] as? Double == scores.first && meta["max"] as? Double == scores.last)

        // Recomputing from the shards gives the same statistics as the sidecars.
        let r = try run(["stats", out, "--json", "--recompute"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("MB/s compressed"))
        var a = stats
        var b = try json(r.stdout)
        a["statistics_source"] = nil
        b["statistics_source"] = nil
        #expect(NSDictionary(dictionary: a).isEqual(to: b), "recomputed statistics differ from the sidecars")

        // The text report has the funnel with shares, histograms and the top values.
        let t = try run(["stats", out])
        #expect(t.status == 0)
        for needle in ["too_few_words", "% of input", "characters per document", "metadata.quality.fasttext", "by language", "█"] {
            #expect(t.stdout.contains(needle), "stats output lacks \(needle)")
        }
    }

    @Test("stats --by breaks documents down from the sidecars or, for other fields, from the shards")
    func statsBy() throws {
        let dir = TemporaryDirectory()
        let out = try makeRun(dir)
        let docs = try decodeShards(out)
        let byLanguage = try run(["stats", out, "--by", "language", "--json"])
        #expect(byLanguage.status == 0)
        let breakdown = try json(byLanguage.stdout)["breakdown"] as! [String: Any]
        #expect(breakdown["exact"] as? Bool == true)
        #expect((breakdown["values"] as! [[String: Any]]).reduce(0) { $0 + ($1["documents"] as! Int) } == docs.count)
        let byBucket = try run(["stats", out, "--by", "bucket", "--json"])
        #expect(byBucket.status == 0, "\(byBucket.stderr)")
        let values = (try json(byBucket.stdout)["breakdown"] as! [String: Any])["values"] as! [[String: Any]]
        #expect(Set(values.map { $0["value"] as! String }) == ["0", "1", "2", "3"])
        #expect(values.reduce(0) { $0 + ($1["documents"] as! Int) } == docs.count)
        let text = try run(["stats", out, "--by", "domain"])
        #expect(text.stdout.contains("docs.python.org"))
    }

    @Test("inspect shows what a rule dropped, filters with --where, samples deterministically and prints lines as stored")
    func inspect() throws {
        let dir = TemporaryDirectory()
        let out = try makeRun(dir)
        let stats = try json(try run(["stats", out, "--json"]).stdout)
        let lengthStage = (stats["stages"] as! [[String: Any]]).first { $0["id"] as? String == "length_filter" }!
        let dropped = (lengthStage["dropped"] as! [String: Int])["too_few_words"]!
        let r = try run(["inspect", out, "--dropped", "too_few_words", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == dropped)
        for l in lines {
            let d = try JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: Any]
            let rej = (d["metadata"] as! [String: Any])["_rejected"] as! [String: Any]
            #expect(rej["reason"] as? String == "too_few_words" && rej["stage"] as? String == "length_filter")
        }
        let readable = try run(["inspect", out, "--dropped", "length_filter:too_few_words", "--limit", "2"])
        #expect(readable.stdout.contains("dropped by length_filter: too_few_words"))
        #expect(readable.stdout.contains("│ Too short to keep, really."))
        #expect(readable.stdout.contains("2 documents shown"))
        let unknown = try run(["inspect", out, "--dropped", "no_such_reason"])
        #expect(unknown.status == 1 && unknown.stderr.contains("too_few_words"))

        // --where with a comparison on a nested metadata field, and as-stored lines.
        let high = try run(["inspect", out, "--where", "quality.fasttext>0.8", "--where", "language=en", "--json"])
        #expect(high.status == 0, "\(high.stderr)")
        let highDocs = try high.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let expected = try decodeShards(out).filter {
            let m = $0["metadata"] as! [String: Any]
            return ((m["quality"] as! [String: Any])["fasttext"] as! Double) > 0.8 && m["language"] as? String == "en"
        }
        #expect(highDocs.count == expected.count && !expected.isEmpty)
        // Lines exactly as stored: the first shard's first line.
        let first = try run(["inspect", out + "/00000_0000.jsonl.zst", "--json", "--limit", "1"])
        let stored = try runCommand("/usr/bin/zstd", ["-dc", out + "/00000_0000.jsonl.zst"]).stdout.split(separator: "\n").first!
        #expect(first.stdout == stored + "\n")
        // A deterministic sample: the same twice, another with another seed, and --id finds one.
        let s1 = try run(["inspect", out, "--sample", "5", "--json"]).stdout
        let s2 = try run(["inspect", out, "--sample", "5", "--json"]).stdout
        let s3 = try run(["inspect", out, "--sample", "5", "--seed", "9", "--json"]).stdout
        #expect(s1 == s2 && s1 != s3 && s1.split(separator: "\n").count == 5)
        let id = (try JSONSerialization.jsonObject(with: Data(s1.split(separator: "\n")[2].utf8)) as! [String: Any])["id"] as! String
        let byID = try run(["inspect", out, "--id", id, "--json"])
        #expect(byID.stdout.split(separator: "\n").count == 1 && byID.stdout.contains(id))
        let bad = try run(["inspect", out, "--where", "quality.fasttext>high"])
        #expect(bad.status == 2 && bad.stderr.contains("not a number"))
    }

    @Test("diff shows the drop share that a threshold change moved")
    func diff() throws {
        let dir = TemporaryDirectory()
        let a = try makeRun(dir, threshold: 0.2, name: "a")
        let b = try makeRun(dir, threshold: 0.6, name: "b")
        let r = try run(["diff", a, b])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("gte: 0.2") && r.stdout.contains("gte: 0.6"))
        #expect(r.stdout.contains("field_mismatch") && r.stdout.contains("pp"))
        let j = try json(try run(["diff", a, b, "--json"]).stdout)
        let quality = (j["stages"] as! [[String: Any]]).first { $0["id"] as? String == "quality" }!
        let reason = (quality["reasons"] as! [[String: Any]]).first!
        #expect((reason["b_share"] as! Double) > (reason["a_share"] as! Double))
    }

    @Test("stats merges a thousand shards' sidecars")
    func thousandSidecars() throws {
        let dir = TemporaryDirectory()
        // SLUICE_STATS_BENCH_DIR keeps a copy for timing a release build by hand.
        let benchDir = ProcessInfo.processInfo.environment["SLUICE_STATS_BENCH_DIR"]
        let root = benchDir ?? (dir.path + "/big")
        // The benchmark copy has full-size sidecars (3,000 distinct domains); the test's are lighter.
        try writeSyntheticRun(root: root, shards: 1000, documentsPerShard: benchDir == nil ? 100 : 500, domains: benchDir == nil ? 300 : 3000)
        let perShard = benchDir == nil ? 100 : 500
        let started = Date()
        let r = try run(["stats", root, "--json"])
        let seconds = Date().timeIntervalSince(started)
        #expect(r.status == 0, "\(r.stderr)")
        let totals = try json(r.stdout)["totals"] as! [String: Any]
        #expect(totals["shards"] as? Int == 1000)
        #expect(totals["documents"] as? Int == 1000 * perShard)
        #expect(totals["characters"] as? Int == 1000 * perShard * 1000)
        let languages = ((try json(r.stdout)["categories"] as! [String: Any])["language"] as! [String: Any])
        #expect(languages["exact"] as? Bool == true && languages["documents_with_value"] as? Int == 1000 * perShard)
        print("sluice stats over 1,000 sidecars (debug build): \(formatFixed(seconds, digits: 2)) s")
    }
}

/// An output folder with `shards` shards' completion markers, task stats and sidecars (each
/// `documentsPerShard` documents with length, five score and four category fields, URLs from
/// `domains` hosts), without the shard files: what `sluice stats` reads.
func writeSyntheticRun(root: String, shards: Int, tasks: Int = 10, documentsPerShard: Int = 500, domains: Int = 3000) throws {
    try FileManager.default.createDirectory(atPath: root + "/_completions", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: root + "/_stats", withIntermediateDirectories: true)
    var rng = SplitMix64(seed: 1)
    let perTask = shards / tasks
    for t in 0..<tasks {
        var records: [String] = []
        for s in 0..<perTask {
            let name = String(format: "%05d_%04d.jsonl.zst", t, s)
            var profiles = DocumentProfiles()
            for i in 0..<documentsPerShard {
                var meta: JSONObject = [
                    "language": .string(["en", "de", "fr", "zh", "ru", "es"][Int(rng.next() % 6)]),
                    "language_score": .double(Double(rng.next() % 10_000) / 10_000),
                    "url": .string("https://site\(rng.next() % UInt64(domains)).example/\(i)"),
                    "content_type": .string("text/html"),
                    "quality": .object([
                        "fasttext": .double(Double(rng.next() % 10_000) / 10_000), "perplexity": .double(Double(rng.next() % 2000)),
                        "dclm": .double(Double(rng.next() % 10_000) / 10_000),
                    ]),
                ]
                meta["minhash_cluster_size"] = .int(Int(rng.next() % 5))
                let words = 100 + Int(rng.next() % 300)
                profiles.append(
                    lineBytes: 1500, counts: TextCounts(characters: 1000, words: words, lines: 10), source: "cc", metadata: meta)
            }
            var st = ShardStatistics()
            for i in 0..<profiles.count { st.add(profiles, at: i) }
            st.compressedBytes = 400_000
            st.inputFiles = ["in/part-\(t).jsonl.zst"]
            var bytes: [UInt8] = []
            appendJSON(st.json(shard: name), to: &bytes)
            try writeFile(root + "/" + OutputLayout.shardStatsName(forShard: name), bytes)
            records.append(#"{"path": "\#(name)", "documents": \#(documentsPerShard), "bytes": \#(documentsPerShard * 1500), "compressed_bytes": 400000, "xxh64": "0000000000000000"}"#)
        }
        let completion = #"{"task": \#(t), "tasks": \#(tasks), "step": "main", "configuration_hash": "x", "documents_in": \#(perTask * 600), "documents_out": \#(perTask * documentsPerShard), "input_files": [], "shards": [\#(records.joined(separator: ","))], "rejected": []}"#
        try writeFile(root + "/_completions/" + String(format: "%05d.json", t), completion)
        let stats = #"{"task": \#(t), "tasks": \#(tasks), "step": "main", "seconds": 1, "stages": [{"id": "read", "type": "input", "received": \#(perTask * 600), "kept": \#(perTask * 600), "dropped": {}, "bytes_in": 0, "bytes_out": 0, "seconds": 1, "counters": {}}, {"id": "length_filter", "type": "length_filter", "received": \#(perTask * 600), "kept": \#(perTask * 500), "dropped": {"too_few_words": \#(perTask * 100)}, "bytes_in": 0, "bytes_out": 0, "seconds": 1, "counters": {}}], "input_problems": []}"#
        try writeFile(root + "/_stats/" + String(format: "%05d.json", t), stats)
    }
}
