import Foundation
import SluiceCore
import SluiceLLM
import SluicePipeline
import SluiceSynth
import SluiceTestSupport
import Testing

/// A prompt whose first line names the document and segment (the test server's key) and whose
/// reply (from ``upperCaseReply``) is the segment in capitals after `OUT:`.
let keyedPrompt = PromptTemplate(name: "upper", version: 3, system: "Shout.", template: "ID:{{id}}#{{segment_index}}\n{{text}}", prefix: "OUT:")

let upperCaseReply: @Sendable (String) -> String = { prompt in
    guard let nl = prompt.firstIndex(of: "\n") else { return prompt.uppercased() }
    return prompt[prompt.index(after: nl)...].uppercased()
}

func keyedServer(_ change: (inout OpenAITestServer.Behaviour) -> Void = { _ in }) throws -> OpenAITestServer {
    try startServer {
        $0.prefix = "OUT: "
        $0.keyMarker = "ID:"
        $0.reply = upperCaseReply
        change(&$0)
    }
}

func stageConfiguration(_ server: OpenAITestServer, cache: String?, _ change: (inout LLMStageConfiguration) -> Void = { _ in }) -> LLMStageConfiguration {
    var c = LLMStageConfiguration(endpoint: testEndpoint(server))
    c.prompts = [keyedPrompt]
    c.prompt = "upper"
    c.maxSegmentTokens = 16
    c.minInputTokens = 1
    if let cache { c.cacheDir = cache } else { c.cache = false }
    change(&c)
    return c
}

func run<S: Stage>(_ stage: S, _ docs: [Document]) throws -> (DocumentBatch, StageStats) {
    var batch = DocumentBatch(sequence: 0, documents: docs, keepsRejected: true)
    var stats = StageStats()
    try stage.process(&batch, stats: &stats)
    stats.addDrops(batch.takeDropCounts())
    return (batch, stats)
}

/// Two paragraphs, so two segments with a 16-token budget.
func twoParagraphDoc(_ id: String, metadata: JSONObject = JSONObject()) -> Document {
    Document(id: id, text: "first paragraph of \(id) is written here.\n\nsecond paragraph of \(id) is written there.", source: "test", metadata: metadata)
}

@Suite("llm_rewrite and llm_synthesize")
struct LLMStageTests {
    @Test("llm_rewrite replaces each document with its segments rewritten and joined, with provenance")
    func rewriteReplaces() throws {
        let server = try keyedServer()
        defer { server.stop() }
        let stage = try LLMRewrite(configuration: stageConfiguration(server, cache: nil))
        defer { stage.generation.shutdown() }
        let (batch, stats) = try run(stage, [twoParagraphDoc("a"), twoParagraphDoc("b")])
        #expect(batch.documents.map(\.text) == [twoParagraphDoc("a").text.uppercased(), twoParagraphDoc("b").text.uppercased()])
        let p = try #require(batch.documents[0].metadata["synth"]?.objectValue)
        #expect(p["source_id"] == .string("a"))
        #expect(p["prompt"]?.objectValue?["name"] == .string("upper"))
        #expect(p["prompt"]?.objectValue?["version"] == .int(3))
        #expect(p["prompt"]?.objectValue?["hash"] == .string(keyedPrompt.hash))
        #expect(p["model"] == .string("test-model"))
        #expect(p["endpoint"] == .string("127.0.0.1:\(server.port)"))
        #expect(p["mode"] == .string("replace"))
        #expect(p["sampling"]?.objectValue?["temperature"] == .double(0.5))
        let segs = try #require(p["segments"]?.arrayValue)
        #expect(segs.count == 2)
        #expect(segs[0].objectValue?["span"] == .array([.int(0), .int(37)]))
        #expect(segs[1].objectValue?["finish_reason"] == .string("stop"))
        #expect(p["usage"]?.objectValue?["completion_tokens"] != nil)
        #expect(stats.counters["llm_requests"] == 4)
        #expect(stats.counters["llm_segments_ok"] == 4)
        #expect((stats.counters["llm_tokens_out"] ?? 0) > 0)
        #expect(stats.counters.keys.contains { $0.hasPrefix("llm_latency_ms_") })
        #expect(server.snapshot().byKey == ["a#0": 1, "a#1": 1, "b#0": 1, "b#1": 1])
    }

    @Test("a missing prefix, a cut-off reply and length bounds reject the document with the reason")
    func rejections() throws {
        let server = try keyedServer()
        defer { server.stop() }
        server.enqueue([.missingPrefix], forKey: "p#1")
        server.enqueue([.truncated], forKey: "t#0")
        let stage = try LLMRewrite(configuration: stageConfiguration(server, cache: nil) { $0.maxOutputTokens = 40 })
        defer { stage.generation.shutdown() }
        let long = Document(id: "long", text: String(repeating: "word ", count: 60))
        let (batch, stats) = try run(stage, [twoParagraphDoc("p"), twoParagraphDoc("t"), twoParagraphDoc("ok")])
        #expect(batch.documents.map(\.id) == ["ok"])
        #expect(stats.dropped == ["llm_missing_prefix": 1, "llm_truncated": 1])
        #expect(stats.counters["llm_segments_failed_missing_prefix"] == 1)
        #expect(stats.counters["llm_segments_failed_truncated"] == 1)
        let rejected = Dictionary(uniqueKeysWithValues: batch.rejected.map { ($0.document.id, $0.reason.name) })
        #expect(rejected == ["p": "llm_missing_prefix", "t": "llm_truncated"])

        let bounded = try LLMRewrite(configuration: stageConfiguration(server, cache: nil) { $0.maxOutputTokens = 10; $0.maxSegmentTokens = 100 })
        defer { bounded.generation.shutdown() }
        let (b2, s2) = try run(bounded, [long])
        #expect(b2.documents.isEmpty && s2.dropped == ["llm_output_too_long": 1])

        let keep = try LLMRewrite(configuration: stageConfiguration(server, cache: nil) { $0.onFailure = .keep })
        defer { keep.generation.shutdown() }
        server.enqueue([.missingPrefix], forKey: "k#0")
        let (b3, _) = try run(keep, [twoParagraphDoc("k")])
        #expect(b3.documents.first?.text == twoParagraphDoc("k").text)
        #expect(b3.documents.first?.metadata.value(atPath: "synth.error") == .string("llm_missing_prefix"))
    }

    @Test("mode append adds the generated text after the original")
    func appendMode() throws {
        let server = try keyedServer()
        defer { server.stop() }
        let stage = try LLMRewrite(configuration: stageConfiguration(server, cache: nil) { $0.mode = .append; $0.appendSeparator = "\n---\n"; $0.maxSegmentTokens = 100 })
        defer { stage.generation.shutdown() }
        let (batch, stats) = try run(stage, [Document(id: "x", text: "short text"), Document(id: "blank", text: " \n\n ")])
        #expect(batch.documents[0].text == "short text\n---\nSHORT TEXT")
        #expect(batch.documents[1].text == " \n\n " && batch.documents[1].metadata.isEmpty)
        #expect(stats.counters["llm_skipped_short"] == 1)
    }

    @Test("routing picks prompts by a metadata value; emit adds one document per prompt")
    func routingAndEmit() throws {
        let server = try keyedServer()
        defer { server.stop() }
        var second = keyedPrompt
        second.name = "upper2"
        second.template = "ID:{{id}}@2#{{segment_index}}\n{{text}}"
        let stage = try LLMSynthesize(configuration: stageConfiguration(server, cache: nil) {
            $0.prompt = nil
            $0.prompts = [keyedPrompt, second]
            $0.routeBy = "quality.bucket"
            $0.routes = ["high": PromptNames(["upper", "upper2"]), "low": PromptNames(["upper"]), "7": PromptNames(["upper2"])]
            $0.maxSegmentTokens = 100
        })
        defer { stage.generation.shutdown() }
        let docs = [
            Document(id: "h", text: "high text", metadata: ["quality": .object(["bucket": .string("high")])]),
            Document(id: "l", text: "low text", metadata: ["quality": .object(["bucket": .string("low")])]),
            Document(id: "n", text: "numeric bucket", metadata: ["quality": .object(["bucket": .int(7)])]),
            Document(id: "u", text: "no bucket"),
        ]
        let (batch, stats) = try run(stage, docs)
        #expect(batch.documents.map(\.id) == ["h", "h/upper", "h/upper2", "l", "l/upper", "n", "n/upper2", "u"])
        #expect(batch.documents[1].text == "HIGH TEXT")
        #expect(batch.documents[1].metadata.value(atPath: "synth.route") == .string("high"))
        #expect(batch.documents[1].metadata.value(atPath: "quality.bucket") == .string("high"))
        #expect(batch.documents[2].metadata.value(atPath: "synth.prompt.name") == .string("upper2"))
        #expect(stats.counters["llm_documents_emitted"] == 4)
        #expect(stats.counters["llm_unrouted"] == 1)

        let replaceSources = try LLMSynthesize(configuration: stageConfiguration(server, cache: nil) { $0.keepOriginal = false; $0.maxSegmentTokens = 100 })
        defer { replaceSources.generation.shutdown() }
        let (b2, s2) = try run(replaceSources, [Document(id: "s", text: "source")])
        #expect(b2.documents.map(\.id) == ["s/upper"])
        #expect(s2.counters["llm_sources_replaced"] == 1)
    }

    @Test("finished replies come from the cache: a second run sends nothing and gives the same bytes")
    func cacheAvoidsRepeats() throws {
        let server = try keyedServer()
        defer { server.stop() }
        let dir = TemporaryDirectory()
        let docs = (0..<20).map { twoParagraphDoc("d\($0)") }
        let first = try LLMRewrite(configuration: stageConfiguration(server, cache: dir.path))
        let (b1, _) = try run(first, docs)
        first.generation.shutdown()
        #expect(server.snapshot().completions == 40)
        server.resetCounts()
        let second = try LLMRewrite(configuration: stageConfiguration(server, cache: dir.path))
        defer { second.generation.shutdown() }
        let (b2, s2) = try run(second, docs)
        #expect(server.snapshot().completions == 0)
        #expect(s2.counters["llm_cache_hits"] == 40)
        #expect(jsonl(b1.documents) == jsonl(b2.documents))

        // A different prompt version is a different request.
        var changed = keyedPrompt
        changed.version = 4
        let third = try LLMRewrite(configuration: stageConfiguration(server, cache: dir.path) { $0.prompts = [changed] })
        defer { third.generation.shutdown() }
        _ = try run(third, Array(docs.prefix(1)))
        #expect(server.snapshot().completions == 2)
    }

    @Test("a dry run sends nothing and stores the exact request bodies")
    func dryRun() throws {
        let server = try keyedServer()
        defer { server.stop() }
        let stage = try LLMRewrite(configuration: stageConfiguration(server, cache: nil) { $0.dryRun = true })
        let (batch, stats) = try run(stage, [twoParagraphDoc("a")])
        #expect(server.snapshot().completions == 0 && server.snapshot().byPath.isEmpty)
        #expect(batch.documents[0].text == twoParagraphDoc("a").text)
        let requests = try #require(batch.documents[0].metadata.value(atPath: "synth.requests")?.arrayValue)
        #expect(requests.count == 2)
        let body = try #require(requests[1].objectValue?["body"]?.objectValue)
        #expect(body["model"] == .string("test-model"))
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages.last?.objectValue?["content"] == .string("ID:a#1\nsecond paragraph of a is written there."))
        #expect(stats.counters["llm_dry_run_requests"] == 2)
        let planned = stage.generation.plan(twoParagraphDoc("a"))
        #expect(planned.map(\.request.prompt) == ["ID:a#0\nfirst paragraph of a is written here.", "ID:a#1\nsecond paragraph of a is written there."])
    }

    @Test("{{title}}, {{language}}, metadata paths and variables are filled in")
    func templateVariables() throws {
        let server = try keyedServer()
        defer { server.stop() }
        let prompt = PromptTemplate(name: "vars", template: "ID:x#0\n[{{title}}|{{language}}|{{meta.n}}|{{audience}}] {{text}}")
        let stage = try LLMRewrite(configuration: stageConfiguration(server, cache: nil) {
            $0.prompts = [prompt]
            $0.prompt = "vars"
            $0.variables = ["audience": "students"]
            $0.dryRun = true
        })
        let doc = Document(id: "x", text: "body", metadata: ["title": .string("Rivers"), "language": .string("de"), "meta": .object(["n": .int(3)])])
        #expect(stage.generation.plan(doc).first?.request.prompt == "ID:x#0\n[Rivers|German|3|students] body")
        #expect(stage.generation.plan(Document(id: "y", text: "body")).first?.request.prompt == "ID:x#0\n[|English||students] body")
    }

    @Test("a 400 stops the batch unless skip_bad_requests counts it as a failed segment")
    func badRequests() throws {
        let server = try keyedServer()
        defer { server.stop() }
        server.enqueue([.status(400, message: "context length exceeded")], forKey: "a#0")
        let stage = try LLMRewrite(configuration: stageConfiguration(server, cache: nil))
        defer { stage.generation.shutdown() }
        #expect(throws: LLMError.self) { try run(stage, [twoParagraphDoc("a")]) }

        server.enqueue([.status(400, message: "context length exceeded")], forKey: "b#0")
        let skipping = try LLMRewrite(configuration: stageConfiguration(server, cache: nil) { $0.skipBadRequests = true })
        defer { skipping.generation.shutdown() }
        let (batch, stats) = try run(skipping, [twoParagraphDoc("b"), twoParagraphDoc("c")])
        #expect(batch.documents.map(\.id) == ["c"])
        #expect(stats.dropped == ["llm_bad_request": 1])
    }

    @Test("an endpoint that never becomes ready stops the run with a clear message")
    func notReady() throws {
        let server = try keyedServer()
        let endpoint = testEndpoint(server) { $0.readyTimeoutSeconds = 0.3 }
        server.stop()
        var c = stageConfiguration(server, cache: nil)
        c.endpoint = endpoint
        let stage = try LLMRewrite(configuration: c)
        do {
            _ = try run(stage, [twoParagraphDoc("a")])
            Issue.record("must throw")
        } catch {
            #expect("\(error)".contains("was not ready"))
        }
    }

    @Test("bad configurations are refused with a message naming the problem")
    func configurationErrors() throws {
        let server = try keyedServer()
        defer { server.stop() }
        func message(_ change: (inout LLMStageConfiguration) -> Void) -> String {
            do {
                _ = try LLMRewrite(configuration: stageConfiguration(server, cache: nil, change))
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(message { $0.prompt = "nope" }.contains("unknown prompt 'nope'"))
        #expect(message { $0.prompts = [PromptTemplate(name: "x", template: "no text here")]; $0.prompt = "x" }.contains("never uses {{text}}"))
        #expect(message { $0.prompt = nil; $0.routeBy = "q"; $0.routes = ["a": PromptNames(["upper", "upper"])] }.contains("one prompt per document"))
        #expect(message { $0.routeBy = "q" }.contains("route_by needs routes"))
        #expect(message { $0.keepOriginal = false }.contains("keep_original applies only to mode emit"))
        #expect(message { $0.endpoint.apiKeyEnv = "SLUICE_SURELY_UNSET_KEY" }.contains("SLUICE_SURELY_UNSET_KEY"))
        #expect(message { $0.endpoint.apiKeyEnv = "SLUICE_SURELY_UNSET_KEY"; $0.dryRun = true } == "accepted")
        #expect(message { $0.endpoint.maxInFlight = 0 }.contains("max_in_flight"))
    }

    @Test("pipeline files with llm stages validate strictly, down to the endpoint block")
    func yamlValidation() throws {
        let base = """
            name: t
            input: {type: jsonl, paths: ["in/*.jsonl"]}
            stages:
              - type: llm_synthesize
                endpoint: {base_url: "http://127.0.0.1:9/v1", model: m, max_in_flght: 4}
                routes_by: quality.bucket
            output: {path: out}
            """
        do {
            _ = try PipelineLoader().load(yaml: base, path: "p.yaml", environment: [:])
            Issue.record("unknown keys must fail")
        } catch {
            #expect("\(error)".contains("max_in_flght") || "\(error)".contains("routes_by"))
        }
        let good = """
            name: t
            input: {type: jsonl, paths: ["in/*.jsonl"]}
            stages:
              - type: llm_synthesize
                endpoint: {base_url: "http://127.0.0.1:9/v1", model: m, max_in_flight: 4, requests_per_minute: 100}
                route_by: quality.bucket
                routes: {high: [qa_pairs, knowledge_list], low: wikipedia_rephrase}
                sampling: {temperature: 0.7, max_tokens: 256, extra: {top_k: 20}}
            output: {path: out}
            """
        let loaded = try PipelineLoader().load(yaml: good, path: "p.yaml", environment: [:])
        let stage = try #require(loaded.stages.first?.stage as? LLMSynthesize)
        #expect(stage.generation.endpoint.requestsPerMinute == 100)
        #expect(stage.generation.prompts["qa_pairs"]?.sampling.maxTokens == 256)
        #expect(stage.generation.prompts["qa_pairs"]?.sampling.extra?["top_k"] == .int(20))
    }
}
