import Foundation
import SluiceCore
import SluiceIO
import SluiceTestSupport
import Testing

@testable import SluiceQuality

/// Routing by bucket: steps that read one earlier step (`from`) and write separate outputs.
@Suite("routing by score bucket through sluice run", .serialized)
struct RouteRunTests {
    let sluice = sluiceExecutable()
    let root = packageRoot()

    func run(_ args: [String], env: [String: String] = [:]) throws -> CommandResult {
        try runCommand(sluice, args, environment: env, currentDirectory: root)
    }

    func routes(_ dir: TemporaryDirectory, tasks: Int = 3, extraStep: String = "") throws -> String {
        let route = { (name: String) in
            """
              - name: \(name)
                from: scored
                stages:
                  - type: field_filter
                    field: quality.edu_bucket_name
                    equals: \(name)
            """
        }
        let text = """
            name: routes-test
            input:
              type: jsonl
              paths: ["\(dir.path)/in/*.jsonl.zst"]
            output:
              path: \(dir.path)/tail
            run:
              tasks: \(tasks)
              workers: 2
            steps:
              - name: scored
                stages:
                  - type: score_buckets
                    score: quality.edu
                    percentiles: [30, 60]
                    names: [tail, middle, head]
                output:
                  path: \(dir.path)/all
            \(route("head"))
                output:
                  path: \(dir.path)/head
            \(route("middle"))
                output:
                  path: \(dir.path)/middle
            \(extraStep)\(route("tail"))

            """
        let p = dir.file("routes.yaml")
        try writeFile(p, text)
        return p
    }

    @Test("three steps read the bucketed step: every document lands in exactly the output of its bucket, each output verifies")
    func everyDocumentInItsRoute() throws {
        let dir = TemporaryDirectory()
        let docs = ScoreBucketRunTests.corpus(count: 1200)
        try ScoreBucketRunTests.write(docs, files: 4, to: dir)
        let p = try routes(dir)
        let v = try run(["validate", p])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(v.stdout.contains("step head:") && v.stdout.contains("reads the shards of step scored"), "\(v.stdout)")
        let r = try run(["run", p, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let all = try ScoreBucketRunTests.outputDocuments(dir.path + "/all")
        #expect(all.count == 1200)
        var seen: [String: String] = [:]
        for route in ["head", "middle", "tail"] {
            let out = dir.path + "/" + route
            let check = try run(["verify", out])
            #expect(check.status == 0, "\(route): \(check.stderr)")
            let got = try ScoreBucketRunTests.outputDocuments(out)
            #expect(!got.isEmpty, "\(route) is empty")
            for (id, doc) in got {
                #expect(seen[id] == nil, "\(id) is in \(route) and \(seen[id] ?? "")")
                seen[id] = route
                #expect(doc == all[id], "\(id) changed on its way to \(route)")
                #expect(doc.value(atPath: "metadata.quality.edu_bucket_name")?.stringValue == route)
            }
        }
        #expect(Set(seen.keys) == Set(all.keys), "documents in no route: \(Set(all.keys).subtracting(seen.keys).sorted().prefix(5))")
        // Percentiles 30 and 60 of the words: the head holds the most words, the tail the fewest.
        let words = { (route: String) in seen.filter { $0.value == route }.keys.reduce(0) { $0 + countText(all[$1]!["text"]!.stringValue!).words } }
        #expect(words("tail") <= words("middle") + words("head"))
        // A rerun has nothing to do and changes nothing.
        let before = try ["all", "head", "middle", "tail"].map { try ScoreBucketRunTests.outputDocuments(dir.path + "/" + $0) }
        let again = try run(["run", p])
        #expect(again.status == 0, "\(again.stderr)")
        for step in ["scored", "head", "middle", "tail"] {
            #expect(again.stdout.contains("step \(step): 0 tasks run, 3 already complete (skipped)"), "\(again.stdout)")
        }
        // The summary names every route's output with its count, not only the last step's.
        for (step, folder) in [("scored", "all"), ("head", "head"), ("middle", "middle")] {
            let n = before[["all", "head", "middle", "tail"].firstIndex(of: folder)!].count
            #expect(again.stdout.contains("output of step \(step): \(dir.path)/\(folder): \(n) documents in "), "\(again.stdout)")
        }
        #expect(again.stdout.contains("output: \(dir.path)/tail: \(before[3].count) documents in "), "\(again.stdout)")
        let after = try ["all", "head", "middle", "tail"].map { try ScoreBucketRunTests.outputDocuments(dir.path + "/" + $0) }
        #expect(before == after)
    }

    @Test("one task at a time (as Slurm array tasks run) gives the same routes as the whole run")
    func taskByTaskMatches() throws {
        let whole = TemporaryDirectory()
        let byTask = TemporaryDirectory()
        let docs = ScoreBucketRunTests.corpus(count: 600, seed: 11)
        try ScoreBucketRunTests.write(docs, files: 3, to: whole)
        try ScoreBucketRunTests.write(docs, files: 3, to: byTask)
        let p1 = try routes(whole, tasks: 2)
        #expect(try run(["run", p1, "--quiet"]).status == 0)
        let p2 = try routes(byTask, tasks: 2)
        // Every step of the plan, task by task, in order: what sluice slurm submit's arrays do.
        let v = try run(["validate", p2])
        let steps = v.stdout.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("step ") else { return nil }
            return String(line.dropFirst(5).prefix { $0 != ":" })
        }
        #expect(steps.count == 6, "\(v.stdout)")  // scores, boundaries, scored, head, middle, tail
        for step in steps {
            for t in 0..<2 {
                let r = try run(["run", p2, "--step", step, "--task-index", "\(t)", "--quiet"])
                #expect(r.status == 0, "\(step) task \(t): \(r.stderr)")
            }
        }
        for route in ["all", "head", "middle", "tail"] {
            #expect(try ScoreBucketRunTests.outputDocuments(whole.path + "/" + route) == ScoreBucketRunTests.outputDocuments(byTask.path + "/" + route), "\(route)")
        }
    }

    @Test("from must name an earlier step that writes shards; the error says which steps it may name")
    func badFrom() throws {
        let dir = TemporaryDirectory()
        try ScoreBucketRunTests.write(ScoreBucketRunTests.corpus(count: 10), files: 1, to: dir)
        func pipeline(_ steps: String) throws -> String {
            let p = dir.file("bad.yaml")
            try writeFile(p, "name: bad\ninput:\n  type: jsonl\n  paths: [\"\(dir.path)/in/*.jsonl.zst\"]\noutput:\n  path: \(dir.path)/out\nsteps:\n" + steps)
            return p
        }
        let cases: [(String, String)] = [
            ("  - name: a\n    from: b\n    stages: []\n  - name: b\n    stages: []\n",
             "bad.yaml:9:11: step 'a' reads from 'b', which is not an earlier step; the first step reads the pipeline's input: remove 'from'"),
            ("  - name: a\n    stages: []\n  - name: b\n    from: c\n    stages: []\n",
             "step 'b' reads from 'c', which is not an earlier step; earlier steps: a"),
            ("  - name: a\n    stages: []\n  - name: b\n    from: b\n    stages: []\n", "step 'b' reads from 'b', which is not an earlier step"),
            ("  - name: a\n    stages:\n      - type: minhash_signatures\n  - name: b\n    from: a\n    stages: []\n",
             "step 'b' reads from 'a', which writes no shards"),
            ("  - name: a\n    stages: []\n  - name: b\n    form: a\n    stages: []\n", "unknown key 'form'"),
        ]
        for (i, (steps, message)) in cases.enumerated() {
            let v = try run(["validate", try pipeline(steps)])
            #expect(v.status == 2, "case \(i): \(v.stdout)")
            #expect(v.stderr.contains(message), "case \(i): expected '\(message)' in: \(v.stderr)")
        }
    }
}
