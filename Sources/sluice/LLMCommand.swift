import ArgumentParser
import Foundation
import SluiceCore
import SluiceIO
import SluiceLLM
import SluicePipeline
import SluiceSynth

struct LLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm",
        abstract: "Check an OpenAI-compatible LLM endpoint, or preview the prompts a pipeline would send.",
        subcommands: [LLMCheck.self, LLMDryRun.self])
}

/// Where `llm check` gets its endpoint: flags, or the first LLM stage of a pipeline.
struct EndpointOptions: ParsableArguments {
    @Option(name: .customLong("base-url"), help: ArgumentHelp("The server's URL up to and including /v1.", valueName: "url"))
    var baseURL: String?

    @Option(help: ArgumentHelp("The model name.", valueName: "name"))
    var model: String?

    @Option(name: .customLong("api-key-env"), help: ArgumentHelp("Name of the environment variable holding the API key.", valueName: "VAR"))
    var apiKeyEnv: String?

    @Option(help: ArgumentHelp("chat or completions.", valueName: "api"))
    var api: String = "chat"

    @Option(help: ArgumentHelp("Take the endpoint from the first llm_rewrite or llm_synthesize stage of this pipeline.", valueName: "pipeline.yaml"))
    var pipeline: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("With --pipeline: override a pipeline key by dotted path (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    func endpoint() throws -> LLMEndpoint {
        if let pipeline {
            let loaded = try PipelineLoader.load(path: pipeline, overrides: overrides)
            for step in loaded.steps {
                for s in step.stages {
                    if let l = s.stage as? any LLMPromptingStage { return l.generation.endpoint }
                }
            }
            throw ValidationError("\(pipeline) has no llm_rewrite or llm_synthesize stage")
        }
        guard let baseURL, let model else {
            throw ValidationError("give --base-url and --model (or --pipeline FILE to use a pipeline's endpoint)")
        }
        guard let a = LLMEndpoint.API(rawValue: api) else { throw ValidationError("--api must be chat or completions") }
        return LLMEndpoint(baseURL: baseURL, model: model, apiKeyEnv: apiKeyEnv, api: a)
    }
}

struct LLMCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Send one request to an endpoint and print the latency and the reply.",
        discussion: """
            Waits for the server to be ready (/health or /v1/models), sends one short request and \
            prints how long it took, the finish reason, token usage and the reply. With --requests N \
            it sends N requests, --max-in-flight at a time, and prints the throughput, latency \
            percentiles and the client's CPU time per request. Exit status 1 when the endpoint fails.
            """)

    @OptionGroup var target: EndpointOptions

    @Option(help: ArgumentHelp("The prompt to send.", valueName: "text"))
    var prompt: String = "Reply with one short sentence about rivers."

    @Option(name: .customLong("max-tokens"), help: ArgumentHelp("max_tokens of the request.", valueName: "n"))
    var maxTokens: Int = 64

    @Option(help: ArgumentHelp("Send this many requests and report throughput.", valueName: "n"))
    var requests: Int = 1

    @Option(name: .customLong("max-in-flight"), help: ArgumentHelp("Requests at once (with --requests).", valueName: "n"))
    var maxInFlight: Int?

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds per request.", valueName: "s"))
    var timeout: Double?

    @Option(name: .customLong("ready-timeout"), help: ArgumentHelp("Seconds to wait for the server to be ready.", valueName: "s"))
    var readyTimeout: Double = 60

    func validate() throws {
        if requests < 1 { throw ValidationError("--requests must be at least 1") }
        if let m = maxInFlight, m < 1 { throw ValidationError("--max-in-flight must be at least 1") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
    }

    func run() throws {
        var endpoint: LLMEndpoint
        do {
            endpoint = try target.endpoint()
        } catch let e as ValidationError {
            throw e
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.usage
        }
        if let m = maxInFlight { endpoint.maxInFlight = m }
        if let t = timeout { endpoint.timeoutSeconds = t }
        endpoint.readyTimeoutSeconds = readyTimeout
        endpoint.maxRetries = requests == 1 ? 0 : endpoint.maxRetries
        let out = LLMCheckReport(endpoint: endpoint)
        do {
            let client = try LLMClient(endpoint: endpoint)
            let ready0 = Date()
            try client.waitUntilReady { FileHandle.standardError.write(Data("sluice: \($0)\n".utf8)) }
            out.line("endpoint: \(endpoint.completionURL) (model \(endpoint.model)), ready after \(String(format: "%.2f", Date().timeIntervalSince(ready0))) s")
            let sampling = SamplingParameters(temperature: 0, maxTokens: maxTokens)
            if requests == 1 {
                let t0 = Date()
                let (reply, _) = try client.complete(LLMRequest(prompt: prompt, sampling: sampling))
                let ms = Date().timeIntervalSince(t0) * 1000
                out.line("latency: \(String(format: "%.0f", ms)) ms")
                out.line("finish_reason: \(reply.finishReason ?? "(none)")")
                out.line("tokens: \(reply.promptTokens.map(String.init) ?? "?") in, \(reply.completionTokens.map(String.init) ?? "?") out")
                if let m = reply.model { out.line("model (as the server names it): \(m)") }
                out.line("reply: \(reply.text)")
            } else {
                let list = (0..<requests).map { LLMRequest(prompt: "\(prompt) (\($0))", sampling: sampling) }
                let cpu0 = processCPUSeconds()
                let t0 = Date()
                var ok = 0
                var failed: [String: Int] = [:]
                var latencies: [Double] = []
                try client.complete(list) { _, o in
                    switch o.result {
                    case .success:
                        ok += 1
                        if let l = o.latency { latencies.append(l * 1000) }
                    case .failure(.failed(let kind, _, _)): failed[kind, default: 0] += 1
                    case .failure(let e): throw e
                    }
                }
                let seconds = Date().timeIntervalSince(t0)
                let cpu = processCPUSeconds() - cpu0
                latencies.sort()
                func pct(_ p: Double) -> String {
                    latencies.isEmpty ? "-" : String(format: "%.0f", latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))])
                }
                let s = client.statistics
                out.line("requests: \(requests) (\(ok) ok, \(requests - ok) failed\(failed.isEmpty ? "" : ": " + failed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))), \(s.retries) retries, max in flight \(endpoint.maxInFlight)")
                out.line(String(format: "throughput: %.1f requests/s over %.2f s", Double(requests) / seconds, seconds))
                out.line("latency ms: p50 \(pct(0.5)), p90 \(pct(0.9)), p99 \(pct(0.99)), max \(latencies.last.map { String(format: "%.0f", $0) } ?? "-")")
                out.line(String(format: "client CPU: %.3f s (%.3f ms per request)", cpu, cpu * 1000 / Double(requests)))
                out.line("tokens: \(s.promptTokens) in, \(s.completionTokens) out")
            }
            client.shutdown()
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.failed
        }
    }
}

/// Prints `llm check` lines to standard output.
final class LLMCheckReport {
    let endpoint: LLMEndpoint
    init(endpoint: LLMEndpoint) { self.endpoint = endpoint }
    func line(_ s: String) { print(s) }
}

private func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

struct LLMDryRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dry-run",
        abstract: "Print the exact prompts a pipeline's first LLM stage would send for the first N documents; send nothing.",
        discussion: """
            Reads the pipeline's input, runs the stages before the first llm_rewrite or \
            llm_synthesize stage on it, and prints, for each segment of each of the first N \
            documents that reach that stage, the prompt name, the segment's span and the system \
            and user messages (with --json: the exact request bodies as JSON lines). Nothing is \
            sent and nothing is written.
            """)

    @Argument(help: "The pipeline YAML file.")
    var pipeline: String

    @Option(help: ArgumentHelp("Documents to show.", valueName: "n"))
    var limit: Int = 3

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a pipeline key by dotted path (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Flag(help: "Print the exact request bodies as JSON lines.")
    var json = false

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        do {
            let prepared = try PreparedRun(
                pipelinePath: pipeline, overrides: overrides, environment: ProcessInfo.processInfo.environment,
                tasks: nil, workers: nil, resolveInputs: true)
            let step = prepared.steps[0]
            guard let at = step.stages.firstIndex(where: { $0.stage is any LLMPromptingStage }),
                let llm = step.stages[at].stage as? any LLMPromptingStage
            else {
                FileHandle.standardError.write(Data("sluice: error: \(pipeline) has no llm_rewrite or llm_synthesize stage in its first step\n".utf8))
                throw Exit.usage
            }
            guard step.input.kind == .jsonl else {
                FileHandle.standardError.write(Data("sluice: error: llm dry-run reads jsonl input; this pipeline reads \(step.input.kind.rawValue)\n".utf8))
                throw Exit.usage
            }
            let generation = llm.generation
            var shown = 0
            var sequence = 0
            files: for file in step.files {
                let reader = LineBatchReader(
                    source: try ByteSource(path: file), maxLines: 256, maxBytes: 4 << 20, maxLineBytes: step.input.maxLineBytes)
                while let raw = try reader.next() {
                    var docs: [Document] = []
                    var parser = DocumentLineParser(mapping: step.input.mapping)
                    raw.bytes.withUnsafeBytes { all in
                        for i in 0..<raw.count {
                            if let d = parser.parse(UnsafeRawBufferPointer(rebasing: all[raw.lineStarts[i]..<raw.lineEnds[i]])).document {
                                docs.append(d)
                            }
                        }
                    }
                    var batch = DocumentBatch(sequence: sequence, documents: docs)
                    sequence += 1
                    var stats = StageStats()
                    for s in step.stages[..<at] { try s.stage.process(&batch, stats: &stats) }
                    for doc in batch.documents {
                        let planned = generation.plan(doc)
                        if planned.isEmpty { continue }
                        for p in planned { printPlanned(p, endpoint: generation.endpoint) }
                        shown += 1
                        if shown >= limit { break files }
                    }
                }
            }
            if shown == 0 {
                FileHandle.standardError.write(Data("sluice: no document reached the \(step.stages[at].id) stage with a prompt to send\n".utf8))
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.usage
        }
    }

    private func printPlanned(_ p: PlannedRequest, endpoint: LLMEndpoint) {
        if json {
            var o = JSONObject()
            o["document"] = .string(p.documentID)
            o["prompt"] = .string(p.prompt)
            o["segment"] = .int(p.segmentIndex)
            o["span"] = .array([.int(p.span.lowerBound), .int(p.span.upperBound)])
            o["url"] = .string(endpoint.completionURL)
            o["body"] = parseJSONText(p.body) ?? .null
            print(String(decoding: encodeJSON(.object(o)), as: UTF8.self))
            return
        }
        print("=== document \(p.documentID) · prompt \(p.prompt) · segment \(p.segmentIndex + 1)/\(p.segmentCount) · characters \(p.span.lowerBound)..<\(p.span.upperBound) · POST \(endpoint.completionURL)")
        if let s = p.request.system, !s.isEmpty {
            print("--- system ---")
            print(s)
        }
        print("--- user ---")
        print(p.request.prompt)
        print("--- sampling --- " + String(decoding: encodeJSON(.object(p.request.sampling.json)), as: UTF8.self))
        print("")
    }
}
