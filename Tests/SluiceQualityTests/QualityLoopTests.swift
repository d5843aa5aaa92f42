import Foundation
import SluiceCore
import SluiceIO
import SluiceQuality
import SluiceTestSupport
import Testing

/// The LLM-judge loop through the real `sluice` CLI on real documents (SampleData), with a
/// scripted judge on a real HTTP server on loopback: annotate -> train -> score.
@Suite("annotate -> train -> score through the sluice CLI", .serialized)
struct QualityLoopTests {
    let sluice = sluiceExecutable()
    let root = packageRoot()

    func run(_ args: [String]) throws -> CommandResult {
        try runCommand(sluice, args, currentDirectory: root)
    }

    func jsonLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    @Test("the loop runs end to end: every score is the judge's, reruns come from the cache, the classifier learns the judge")
    func loop() throws {
        let server = try ScriptedJudge.start()
        defer { server.stop() }
        let dir = TemporaryDirectory()
        let inputs = ["SampleData/prose.jsonl.zst", "SampleData/manpages.jsonl.zst", "SampleData/fortunes.jsonl.zst"]
        let ann = dir.path + "/ann.jsonl"
        let annotate = [
            "annotate"] + inputs + [
                "-o", ann, "--sample", "1500", "--seed", "4", "--base-url", server.baseURL, "--model", "scripted-judge", "--concurrency", "8",
                "--cache-dir", dir.path + "/cache", "--include-reply", "--json",
            ]
        let a = try run(annotate)
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stderr.contains("sluice annotate: sampled 1500 of 5781 documents"))
        let summary = try JSONSerialization.jsonObject(with: Data(a.stdout.utf8)) as! [String: Any]
        let records = try jsonLines(ann)
        let bad = try jsonLines(dir.path + "/ann.unparseable.jsonl")
        #expect(summary["sampled"] as? Int == 1500)
        #expect(summary["scored"] as? Int == records.count)
        #expect(summary["unparseable"] as? Int == bad.count)
        #expect(records.count + bad.count == 1500)
        #expect(bad.count > 10 && bad.count < 90)  // about 1 in 40
        #expect(server.snapshot().completions == 1500)
        // Every score is the scripted judge's, whatever shape the reply took.
        var shapes = Set<String>()
        for r in records {
            let text = r["text"] as! String
            #expect(r["score"] as? Int == ScriptedJudge.score(text), "\(r["id"]!)")
            let reply = r["reply"] as! String
            shapes.insert(reply.contains("**Score:**") ? "md" : reply.contains("**") ? "bold" : reply.contains("score") ? "plain" : "bare")
            #expect(text.unicodeScalars.count <= 1000)
            #expect((r["source"] as? [String: Any])?["file"] is String)
        }
        #expect(shapes == ["md", "bold", "plain", "bare"])
        for b in bad {
            #expect(b["reason"] as? String == "no_score")
            #expect(b["reply"] as? String == "I am not able to rate this document.")
        }
        // A rerun asks the server nothing and writes the same bytes.
        let before = try readFile(ann)
        let again = try run(annotate)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(server.snapshot().completions == 1500)
        #expect(try readFile(ann) == before)
        #expect((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as! [String: Any])["cache_hits"] as? Int == 1500)

        // Train: binary at the rubric's threshold (3, recorded by annotate), held-out metrics.
        #expect(records.allSatisfy { $0["threshold"] as? Int == 3 })
        let model = dir.path + "/judge.bin"
        let t = try run(["quality", "train", ann, "-o", model, "--bucket", "50000", "--report", dir.path + "/report.json"])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stdout.contains("(binary, threshold 3)"))
        #expect(t.stdout.contains("held-out hq: precision"))
        let report = try JSONSerialization.jsonObject(with: Data(try readFile(dir.path + "/report.json"))) as! [String: Any]
        let f1 = report["f1"] as! Double
        #expect(f1 > 0.8, "held-out F1 \(f1)")
        #expect((report["train_examples"] as! Int) + (report["test_examples"] as! Int) == records.count)

        // Score the corpus with the distilled classifier; kept documents must be the ones the
        // judge likes.
        let pipeline = dir.path + "/score.yaml"
        try writeFile(pipeline, """
            name: score
            input:
              type: jsonl
              paths: ["\(root)/SampleData/*.jsonl.zst"]
            stages:
              - type: quality_score
                scorers:
                  - {name: judge, type: fasttext, model: \(model), label: hq}
                keep: {score: judge, min: 0.5}
            output:
              path: \(dir.path)/scored
              rejected: true
            run:
              tasks: 1
              workers: 2
            """)
        let s = try run(["run", pipeline, "--quiet"])
        #expect(s.status == 0, "\(s.stderr)")
        let kept = try run(["inspect", dir.path + "/scored", "--json", "--limit", "100000"])
        var keptScores: [Int] = []
        for line in kept.stdout.split(separator: "\n") {
            let d = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let text = String((d["text"] as! String).unicodeScalars.prefix(1000))
            keptScores.append(ScriptedJudge.score(text))
            #expect(((d["metadata"] as! [String: Any])["quality"] as! [String: Any])["judge"] as! Double >= 0.5)
        }
        let stats = try JSONSerialization.jsonObject(with: Data(try run(["stats", dir.path + "/scored", "--json"]).stdout.utf8)) as! [String: Any]
        let stage = (stats["stages"] as! [[String: Any]]).first { $0["type"] as? String == "quality_score" }!
        let dropped = (stage["dropped"] as! [String: Int])["below_min_score"] ?? 0
        #expect(dropped > 1000 && keptScores.count > 1000)
        let highShare = Double(keptScores.filter { $0 >= 3 }.count) / Double(keptScores.count)
        #expect(highShare > 0.85, "share of kept documents the judge scores >= 3: \(highShare)")
    }

    @Test("a user rubric from YAML and the endpoint from a YAML file are used as given")
    func userRubricAndEndpointFile() throws {
        let server = try ScriptedJudge.start()
        defer { server.stop() }
        let dir = TemporaryDirectory()
        try writeFile(dir.file("rubric.yaml"), """
            name: river_rubric
            version: 2
            system: You grade passages about rivers.
            prompt: |
              Grade the passage for river knowledge (id {{id}}, {{chars}} characters).
              \"\"\"
              {{text}}
              \"\"\"
              End with "Educational score: N", N from {{min}} to {{max}}.
            min: 0
            max: 5
            statement: Educational score
            threshold: 3
            sampling: {temperature: 0, max_tokens: 50}
            """)
        try writeFile(dir.file("endpoint.yaml"), """
            endpoint:
              base_url: \(server.baseURL)
              model: scripted-judge
              max_in_flight: 2
            """)
        let r = try run([
            "annotate", "SampleData/prose.jsonl.zst", "-o", dir.path + "/ann.jsonl.zst", "--sample", "20", "--rubric", dir.path + "/rubric.yaml",
            "--endpoint", dir.path + "/endpoint.yaml", "--no-cache", "--text", "none", "--max-chars", "200",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("annotated 20 of 1330 documents"))
        let bodies = server.snapshot().recentBodies
        #expect(bodies.contains { $0.contains("Grade the passage for river knowledge (id ") && $0.contains("You grade passages about rivers.") })
        #expect(bodies.contains { $0.contains("N from 0 to 5") && $0.contains("\"max_tokens\":50") })
        let text = String(decoding: try ZstdDecompressor.decompress(readFile(dir.path + "/ann.jsonl.zst")), as: UTF8.self)
        let first = try JSONSerialization.jsonObject(with: Data(text.split(separator: "\n")[0].utf8)) as! [String: Any]
        #expect(first["text"] == nil)
        #expect(first["rubric"] as? String == "river_rubric")
        #expect(server.snapshot().maxConcurrent <= 2)
    }

    @Test("bad usage exits 2 with a clear message; an endpoint that never answers exits 1")
    func failures() throws {
        let dir = TemporaryDirectory()
        let noEndpoint = try run(["annotate", "SampleData/prose.jsonl.zst", "-o", dir.path + "/a.jsonl"])
        #expect(noEndpoint.status == 2)
        #expect(noEndpoint.stderr.contains("--base-url"))
        try writeFile(dir.file("r.yaml"), "name: r\nprompt: no text here\nmin: 0\nmax: 5\nstatement: Score\n")
        let badRubric = try run(["annotate", "SampleData/prose.jsonl.zst", "-o", dir.path + "/a.jsonl", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--rubric", dir.path + "/r.yaml"])
        #expect(badRubric.status == 2)
        #expect(badRubric.stderr.contains("{{text}}"))
        let down = try run([
            "annotate", "SampleData/prose.jsonl.zst", "-o", dir.path + "/a.jsonl", "--sample", "3", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
            "--ready-timeout", "1", "--no-cache",
        ])
        #expect(down.status == 1)
        #expect(down.stderr.contains("not ready"))
        try writeFile(dir.file("plain.jsonl"), "{\"id\":\"a\",\"score\":1,\"text\":\"x\"}\n{\"id\":\"b\",\"score\":4,\"text\":\"y\"}\n")
        let train = try run(["quality", "train", dir.path + "/plain.jsonl", "-o", dir.path + "/m.bin"])
        #expect(train.status == 2)
        #expect(train.stderr.contains("--threshold"))
        let missing = try run(["quality", "train", dir.path + "/none.jsonl", "--threshold", "3", "-o", dir.path + "/m.bin"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("none.jsonl"))
    }
}
