import Foundation
import SluiceCore
import SluiceLLM
import SluiceSynth
import SluiceTestSupport
import Testing

/// Every fault the test server can script, for the mixed-fault floors.
let mixedFaults: [OpenAITestServer.Fault] = [
    .rateLimited(retryAfterSeconds: 0), .rateLimitedMilliseconds(5), .serverError, .unavailable, .dropConnection,
    .malformedJSON, .slow(seconds: 0.6), .missingPrefix, .truncated,
]

/// `count` documents of `paragraphs` paragraphs each, every paragraph about 45 bytes so that
/// with a 16-token (64-byte) budget each paragraph is one segment.
func multiSegmentDocuments(_ count: Int, paragraphs: Int) -> [Document] {
    (0..<count).map { d in
        let id = "d\(d)"
        let text = (0..<paragraphs).map { "paragraph \($0) of document \(id) reads well." }.joined(separator: "\n\n")
        return Document(id: id, text: text, source: "floor")
    }
}

@Suite("LLM floors", .serialized)
struct LLMFloorTests {
    @Test("10,000 segments through an endpoint failing 30%: each is in the output exactly once or counted as failed")
    func exactlyOnceUnderFaults() throws {
        let server = try keyedServer {
            $0.faultRate = 0.3
            $0.faultMix = mixedFaults
            $0.latency = 0...0.004
        }
        defer { server.stop() }
        let docs = multiSegmentDocuments(2500, paragraphs: 4)
        var c = stageConfiguration(server, cache: nil)
        c.endpoint.maxInFlight = 64
        c.endpoint.timeoutSeconds = 0.25
        c.endpoint.maxRetries = 12
        c.endpoint.maxConsecutiveFailures = 10_000
        let stage = try LLMRewrite(configuration: c)
        defer { stage.generation.shutdown() }

        // Batches of 250 documents, two at a time, as two workers would run them.
        let batches = stride(from: 0, to: docs.count, by: 250).map { Array(docs[$0..<min(docs.count, $0 + 250)]) }
        let results = Results(count: batches.count)
        let t0 = Date()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for b in stride(from: worker, to: batches.count, by: 2) {
                results.set(b, Result { try run(stage, batches[b]) })
            }
        }
        let seconds = Date().timeIntervalSince(t0)

        var output: [String: Int] = [:]
        var dropped: [String: String] = [:]
        var total = StageStats()
        for r in results.all {
            let (batch, stats) = try r.get()
            total.merge(stats)
            for d in batch.documents { output[d.id, default: 0] += 1 }
            for r in batch.rejected { dropped[r.document.id] = r.reason.name }
            for d in batch.documents {
                let expected = docs[Int(d.id.dropFirst())!].text.uppercased()
                #expect(d.text == expected, "\(d.id): every segment once, in order")
            }
        }
        #expect(output.values.allSatisfy { $0 == 1 })
        #expect(output.count + dropped.count == docs.count)
        #expect(Set(output.keys).isDisjoint(with: dropped.keys))
        let failedSegments = total.counters.filter { $0.key.hasPrefix("llm_segments_failed_") }.values.reduce(0, +)
        #expect(total.counters["llm_segments"] == 10_000)
        #expect((total.counters["llm_segments_ok"] ?? 0) + failedSegments == 10_000)
        #expect(Set(dropped.values).isSubset(of: ["llm_missing_prefix", "llm_truncated", "llm_request_failed"]))
        #expect(total.droppedTotal == dropped.count)
        let counts = server.snapshot()
        #expect(counts.completions > 12_000)
        print(
            "floor: 10,000 segments, \(counts.completions) requests (\(total.counters["llm_retries"] ?? 0) retries), faults \(counts.faults.sorted { $0.key < $1.key }), \(output.count) documents out, \(dropped.count) dropped, \(String(format: "%.1f", seconds)) s"
        )
    }

    @Test("kill -9 halfway through a run and rerun: no finished segment is requested again")
    func killAndRerun() throws {
        let server = try keyedServer {
            $0.faultRate = 0.3
            $0.faultMix = mixedFaults
            $0.latency = 0.005...0.03
        }
        defer { server.stop() }
        let dir = TemporaryDirectory("sluice-llm-kill")
        let docs = multiSegmentDocuments(1500, paragraphs: 2)
        try writeFile(dir.file("in/docs.jsonl"), jsonl(docs))
        let yaml = """
            name: kill-test
            input: {type: jsonl, paths: ["\(dir.path)/in/*.jsonl"]}
            stages:
              - type: llm_rewrite
                endpoint:
                  base_url: \(server.baseURL)
                  model: test-model
                  max_in_flight: 16
                  timeout_s: 0.25
                  max_retries: 12
                  backoff_initial_s: 0.005
                  backoff_max_s: 0.05
                  ready_timeout_s: 10
                  max_consecutive_failures: 10000
                prompt: upper
                prompts:
                  - name: upper
                    version: 3
                    system: Shout.
                    template: "ID:{{id}}#{{segment_index}}\\n{{text}}"
                    prefix: "OUT:"
                max_segment_tokens: 16
                min_input_tokens: 1
                cache_dir: \(dir.path)/cache
            output: {path: \(dir.path)/out, rejected: true}
            run: {tasks: 1, workers: 2, batch_size: 100}
            """
        try writeFile(dir.file("p.yaml"), yaml)
        let sluice = sluiceExecutable()

        let first = try startCommand(sluice, ["run", dir.path + "/p.yaml", "--quiet"])
        let deadline = Date().addingTimeInterval(60)
        while server.snapshot().succeededByKey.count < 1200 && Date() < deadline { usleep(10_000) }
        first.signal(SIGKILL)
        let r1 = first.wait()
        #expect(r1.signalled, "the first run must be killed mid-way: \(r1.stderr)")

        // What the client had finished when it died is what its cache holds.
        let cache = try ResponseCache(directory: dir.path + "/cache")
        var finished = Set<String>()
        for (_, bytes) in cache.allEntries() {
            let o = parseJSONText(bytes)?.objectValue
            if let id = o?["doc_id"]?.stringValue, let seg = o?["segment"]?.doubleValue { finished.insert("\(id)#\(Int(seg))") }
        }
        #expect(finished.count >= 1000 && finished.count < 3000, "finished before the kill: \(finished.count)")

        server.resetCounts()
        let second = try runCommand(sluice, ["run", dir.path + "/p.yaml", "--quiet"])
        #expect(second.status == 0, "\(second.stderr)")
        let counts = server.snapshot()
        let again = finished.filter { counts.byKey[$0] != nil }
        #expect(again.isEmpty, "finished segments requested again: \(again.sorted().prefix(5))")
        // Everything not finished was requested in the second run.
        #expect(Set(counts.byKey.keys).union(finished).count == 3000)

        let stats = try runCommand(sluice, ["stats", dir.path + "/out", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        let stage = (json?["stages"] as? [[String: Any]])?.first { ($0["id"] as? String) == "llm_rewrite" }
        let kept = stage?["kept"] as? Int ?? -1
        let droppedCount = (stage?["dropped"] as? [String: Int] ?? [:]).values.reduce(0, +)
        #expect(kept + droppedCount == 1500)
        let inspect = try runCommand(sluice, ["inspect", dir.path + "/out", "--json", "--limit", "100000"])
        var ids: [String: Int] = [:]
        for line in inspect.stdout.split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let id = o?["id"] as? String ?? ""
            ids[id, default: 0] += 1
            #expect(o?["text"] as? String == docs[Int(id.dropFirst())!].text.uppercased())
        }
        #expect(ids.count == kept && ids.values.allSatisfy { $0 == 1 })
        print("kill -9 floor: \(finished.count) of 3000 segments finished before the kill; \(counts.completions) requests in the rerun, none for a finished segment; \(kept) documents out, \(droppedCount) dropped")
    }

    @Test(
        "throughput: one core sustains at least 250 requests/s against 200 ms latency with 64 in flight",
        .enabled(if: ProcessInfo.processInfo.environment["SLUICE_LLM_THROUGHPUT"] == "1"))
    func throughput() throws {
        let server = try startServer {
            $0.latency = 0.2...0.2
            $0.reply = { _ in "Rewritten passage: a reply of about the size a model would write for a short segment of text." }
        }
        defer { server.stop() }
        let n = ProcessInfo.processInfo.environment["SLUICE_LLM_THROUGHPUT_REQUESTS"].flatMap(Int.init) ?? 5000
        let r = try runCommand(
            "/usr/bin/taskset",
            ["-c", "0", sluiceExecutable(), "llm", "check", "--base-url", server.baseURL, "--model", "m", "--requests", "\(n)", "--max-in-flight", "64", "--max-tokens", "512"])
        #expect(r.status == 0, "\(r.stderr)")
        print(r.stdout)
        let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("throughput:") } ?? ""
        let rate = Double(line.split(separator: " ")[1]) ?? 0
        #expect(rate >= 250, "\(line)")
    }
}

/// Results of concurrently processed batches, by index.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Result<(DocumentBatch, StageStats), any Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<(DocumentBatch, StageStats), any Error>) {
        lock.lock()
        values[i] = r
        lock.unlock()
    }
    var all: [Result<(DocumentBatch, StageStats), any Error>] { values.map { $0! } }
}

@Suite("sluice llm commands", .serialized)
struct LLMCommandTests {
    @Test("sluice llm check prints the latency and the reply, and fails with the server's message")
    func check() throws {
        let server = try startServer { $0.prefix = "Hello: " }
        defer { server.stop() }
        let ok = try runCommand(sluiceExecutable(), ["llm", "check", "--base-url", server.baseURL, "--model", "test-model", "--prompt", "ping"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("latency:") && ok.stdout.contains("reply: Hello: ping") && ok.stdout.contains("finish_reason: stop"))

        let load = try runCommand(sluiceExecutable(), ["llm", "check", "--base-url", server.baseURL, "--model", "m", "--requests", "200", "--max-in-flight", "16"])
        #expect(load.status == 0, "\(load.stderr)")
        #expect(load.stdout.contains("200 ok") && load.stdout.contains("throughput:"))

        let viaPipeline = try runCommand(
            sluiceExecutable(), ["llm", "check", "--pipeline", "Pipelines/synthesize.yaml", "--set", "stages.llm_synthesize.endpoint.base_url=\(server.baseURL)"],
            currentDirectory: packageRoot())
        #expect(viaPipeline.status == 0, "\(viaPipeline.stderr)")
        #expect(viaPipeline.stdout.contains("(model local-model)"))

        server.enqueue([.status(404, message: "model 'nope' not found")])
        let bad = try runCommand(sluiceExecutable(), ["llm", "check", "--base-url", server.baseURL, "--model", "nope"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("model 'nope' not found"))
    }

    @Test("sluice llm dry-run prints the exact prompts of the shipped pipeline and sends nothing")
    func dryRunCommand() throws {
        let r = try runCommand(
            sluiceExecutable(), ["llm", "dry-run", "Pipelines/synthesize.yaml", "--limit", "2", "--set", "stages.llm_synthesize.endpoint.base_url=http://127.0.0.1:9/v1"],
            currentDirectory: packageRoot())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("--- user ---") && r.stdout.contains("Passage:") && r.stdout.contains("Rewritten passage:"))
        #expect(r.stdout.components(separatedBy: "=== document").count - 1 >= 2)
        let j = try runCommand(sluiceExecutable(), ["llm", "dry-run", "Pipelines/synthesize.yaml", "--limit", "1", "--json"], currentDirectory: packageRoot())
        #expect(j.status == 0, "\(j.stderr)")
        let first = try JSONSerialization.jsonObject(with: Data((j.stdout.split(separator: "\n").first ?? "").utf8)) as? [String: Any]
        #expect((first?["body"] as? [String: Any])?["model"] as? String == "local-model")
    }
}
