import Foundation
import SluiceCore
import SluiceLLM
import Synchronization

/// A prompt ready to use: compiled, with its final sampling settings and segmenter.
public struct ResolvedPrompt: Sendable {
    public let template: PromptTemplate
    public let system: CompiledTemplate?
    public let user: CompiledTemplate
    public let sampling: SamplingParameters
    public let segmenter: Segmenter
    public let hash: String
    var name: String { template.name }
}

/// One request a document would cause: for dry runs and `sluice llm dry-run`.
public struct PlannedRequest: Sendable {
    public var documentID: String
    public var prompt: String
    public var segmentIndex: Int
    public var segmentCount: Int
    /// Code point offsets of the segment in the document's text.
    public var span: Range<Int>
    public var request: LLMRequest
    /// The exact JSON body that would be sent.
    public var body: [UInt8]
}

/// The work shared by `llm_rewrite` and `llm_synthesize`: routing, segmenting, rendering,
/// the cache, the requests, post-processing and assembly.
public final class LLMGeneration: Sendable {
    public let stageType: String
    public let endpoint: LLMEndpoint
    public let mode: GenerationMode
    public let prompts: [String: ResolvedPrompt]
    let singlePrompt: [String]
    let routeBy: String?
    let routes: [String: [String]]
    let defaultRoute: [String]?
    let keepOriginal: Bool
    let appendSeparator: String
    let bytesPerToken: Double
    let minInputTokens: Int
    let minOutputTokens: Int?
    let maxOutputTokens: Int?
    let requirePrefix: Bool
    let onFailure: FailurePolicy
    let skipBadRequests: Bool
    let cacheDirectory: String?
    public let dryRun: Bool
    let metadataKey: String
    let titleField: String
    let languageField: String
    let defaultLanguage: String
    let variables: [String: String]
    private let session: Session

    /// Every reason a document may be dropped for.
    public static let dropReasons: [DropReason] = [
        "llm_request_failed", "llm_bad_request", "llm_truncated", "llm_missing_prefix", "llm_empty_output",
        "llm_output_too_short", "llm_output_too_long",
    ]

    public init(
        _ c: LLMStageConfiguration, stageType: String, defaultPrompt: String, defaultMode: GenerationMode,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        self.stageType = stageType
        do {
            try c.endpoint.validate()
            try c.sampling?.validate()
        } catch let e as LLMError {
            throw StageConfigurationError(e.description)
        }
        endpoint = c.endpoint
        mode = c.mode ?? defaultMode
        dryRun = c.dryRun ?? false
        if !dryRun, let name = c.endpoint.apiKeyEnv, (environment[name] ?? "").isEmpty {
            throw StageConfigurationError(
                "endpoint.api_key_env names \(name), which is not set; export \(name) with the API key (or set dry_run: true to preview prompts)")
        }
        bytesPerToken = c.bytesPerToken ?? 4
        guard bytesPerToken >= 0.5 && bytesPerToken <= 16 else {
            throw StageConfigurationError("bytes_per_token must be between 0.5 and 16, got \(bytesPerToken)")
        }
        if let m = c.maxSegmentTokens, m < 16 {
            throw StageConfigurationError("max_segment_tokens must be at least 16, got \(m)")
        }
        minInputTokens = c.minInputTokens ?? 10
        if minInputTokens < 0 { throw StageConfigurationError("min_input_tokens must not be negative") }
        minOutputTokens = c.minOutputTokens
        maxOutputTokens = c.maxOutputTokens
        if let lo = minOutputTokens, let hi = maxOutputTokens, lo > hi {
            throw StageConfigurationError("min_output_tokens (\(lo)) is greater than max_output_tokens (\(hi))")
        }
        if mode != .emit && c.keepOriginal != nil {
            throw StageConfigurationError("keep_original applies only to mode emit (mode is \(mode.rawValue))")
        }
        if mode != .append && c.appendSeparator != nil {
            throw StageConfigurationError("append_separator applies only to mode append (mode is \(mode.rawValue))")
        }
        keepOriginal = c.keepOriginal ?? true
        appendSeparator = c.appendSeparator ?? "\n\n"
        requirePrefix = c.requirePrefix ?? true
        onFailure = c.onFailure ?? .drop
        skipBadRequests = c.skipBadRequests ?? false
        let useCache = c.cache ?? true
        if !useCache && c.cacheDir != nil { throw StageConfigurationError("cache_dir is set but cache is false") }
        cacheDirectory = useCache ? (c.cacheDir ?? ".sluice-cache/llm") : nil
        if cacheDirectory?.isEmpty == true { throw StageConfigurationError("cache_dir must not be empty; set cache: false to disable the cache") }
        metadataKey = c.metadataKey ?? "synth"
        if metadataKey.isEmpty { throw StageConfigurationError("metadata_key must not be empty") }
        titleField = c.titleField ?? "title"
        languageField = c.languageField ?? "language"
        defaultLanguage = c.defaultLanguage ?? "English"
        variables = c.variables ?? [:]

        // Prompts: the built-ins, then the file's own (same name replaces).
        var templates: [String: PromptTemplate] = [:]
        for p in PromptLibrary.builtIn { templates[p.name] = p }
        var seen = Set<String>()
        for p in c.prompts ?? [] {
            guard !p.name.isEmpty, p.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw StageConfigurationError("prompt name '\(p.name)' must be letters, digits, '_' or '-'")
            }
            guard seen.insert(p.name).inserted else { throw StageConfigurationError("prompt '\(p.name)' is defined twice in prompts") }
            guard p.version >= 0 else { throw StageConfigurationError("prompt '\(p.name)': version must not be negative") }
            if let m = p.maxSegmentTokens, m < 16 {
                throw StageConfigurationError("prompt '\(p.name)': max_segment_tokens must be at least 16, got \(m)")
            }
            templates[p.name] = p
        }

        // Routing.
        if c.routeBy != nil && c.routes == nil { throw StageConfigurationError("route_by needs routes (metadata value → prompt)") }
        if c.routes != nil && c.routeBy == nil { throw StageConfigurationError("routes needs route_by (the metadata path to route on)") }
        if c.defaultRoute != nil && c.routeBy == nil { throw StageConfigurationError("default_route needs route_by") }
        if c.routeBy != nil && c.prompt != nil {
            throw StageConfigurationError("give either prompt (one prompt for every document) or route_by with routes, not both")
        }
        if let r = c.routeBy, r.isEmpty { throw StageConfigurationError("route_by must be a metadata path such as quality.bucket") }
        routeBy = c.routeBy
        routes = (c.routes ?? [:]).mapValues(\.names)
        defaultRoute = c.defaultRoute?.names
        singlePrompt = c.routeBy == nil ? [c.prompt ?? defaultPrompt] : []

        var used: [String] = singlePrompt + (defaultRoute ?? [])
        for key in routes.keys.sorted() { used += routes[key]! }
        for (key, names) in routes.sorted(by: { $0.key < $1.key }) where names.isEmpty {
            throw StageConfigurationError("route '\(key)' lists no prompt")
        }
        if mode != .emit {
            for (key, names) in routes where names.count > 1 {
                throw StageConfigurationError(
                    "route '\(key)' lists \(names.count) prompts, but mode \(mode.rawValue) takes one prompt per document; use mode: emit for several")
            }
            if let d = defaultRoute, d.count > 1 {
                throw StageConfigurationError("default_route lists \(d.count) prompts, but mode \(mode.rawValue) takes one; use mode: emit for several")
            }
        }
        var resolved: [String: ResolvedPrompt] = [:]
        for name in used where resolved[name] == nil {
            guard let t = templates[name] else {
                throw StageConfigurationError(
                    "unknown prompt '\(name)'; built in: \(PromptLibrary.builtIn.map(\.name).joined(separator: ", "))"
                        + (seen.isEmpty ? "" : "; defined here: " + seen.sorted().joined(separator: ", ")))
            }
            let user = try CompiledTemplate(t.template, context: "prompt '\(name)' template")
            guard user.variables.contains("text") else {
                throw StageConfigurationError("prompt '\(name)': the template never uses {{text}}, so the document would not be sent")
            }
            let system = try t.system.map { try CompiledTemplate($0, context: "prompt '\(name)' system") }
            // Built-in prompts bring defaults the stage's sampling overrides; the file's own
            // prompts override the stage's sampling.
            let base = SamplingParameters(temperature: 0.5, topP: 0.9)
            let sampling =
                seen.contains(name)
                ? base.overridden(by: c.sampling).overridden(by: t.sampling)
                : base.overridden(by: t.sampling).overridden(by: c.sampling)
            do { try sampling.validate() } catch let e as LLMError { throw StageConfigurationError("prompt '\(name)': \(e.description)") }
            let budget = c.maxSegmentTokens ?? t.maxSegmentTokens ?? 1000
            resolved[name] = ResolvedPrompt(
                template: t, system: system, user: user, sampling: sampling,
                segmenter: Segmenter(maxTokens: budget, bytesPerToken: bytesPerToken), hash: t.hash)
        }
        prompts = resolved
        session = Session(endpoint: endpoint, cacheDirectory: cacheDirectory, environment: environment)
    }

    // MARK: - Routing and rendering

    /// The prompts for a document, and the routing value it was chosen by.
    func route(_ doc: Document) -> (names: [String], value: String?) {
        guard let path = routeBy else { return (singlePrompt, nil) }
        guard let v = doc.metadata.value(atPath: path), v != .null else { return (defaultRoute ?? [], nil) }
        let key = jsonText(v)
        return (routes[key] ?? defaultRoute ?? [], key)
    }

    func languageName(_ doc: Document) -> String {
        guard let v = doc.metadata.value(atPath: languageField)?.stringValue, !v.isEmpty else { return defaultLanguage }
        let code = v.split(whereSeparator: { $0 == "_" || $0 == "-" }).first.map { String($0).lowercased() } ?? v
        return languageNames[code] ?? v
    }

    /// The user and system messages for one segment; `missing` hears of variables with no value.
    func render(_ p: ResolvedPrompt, doc: Document, segment: TextSegment, index: Int, count: Int, missing: (String) -> Void) -> LLMRequest {
        let language = languageName(doc)
        let value: (String) -> String? = { name in
            switch name {
            case "text": return segment.text
            case "title": return doc.metadata.value(atPath: self.titleField).map(jsonText) ?? ""
            case "language": return language
            case "id": return doc.id
            case "source": return doc.source
            case "segment_index": return String(index)
            case "segment_count": return String(count)
            default:
                if let v = self.variables[name] { return v }
                let path = name.hasPrefix("metadata.") ? String(name.dropFirst(9)) : name
                return doc.metadata.value(atPath: path).map(jsonText)
            }
        }
        return LLMRequest(
            system: p.system?.render(value, missing: missing), prompt: p.user.render(value, missing: missing), sampling: p.sampling)
    }

    /// The requests a document would cause (nothing is sent).
    public func plan(_ doc: Document) -> [PlannedRequest] {
        let (names, _) = route(doc)
        if names.isEmpty || estimateTokens(doc.text.utf8.count) < minInputTokens || !doc.text.utf8.contains(where: { $0 > 0x20 }) { return [] }
        var out: [PlannedRequest] = []
        for name in names {
            let p = prompts[name]!
            let segments = p.segmenter.segments(of: doc.text)
            for (i, s) in segments.enumerated() {
                let r = render(p, doc: doc, segment: s, index: i, count: segments.count, missing: { _ in })
                out.append(
                    PlannedRequest(
                        documentID: doc.id, prompt: name, segmentIndex: i, segmentCount: segments.count, span: s.scalarRange,
                        request: r, body: LLMClient.requestBody(endpoint: endpoint, request: r)))
            }
        }
        return out
    }

    func estimateTokens(_ bytes: Int) -> Int { Segmenter.estimateTokens(bytes: bytes, bytesPerToken: bytesPerToken) }

    /// The cache key of one segment's request.
    func cacheKey(doc: Document, prompt: ResolvedPrompt, segment: TextSegment, index: Int, request: LLMRequest) -> CacheKey {
        let body = LLMClient.requestBody(endpoint: endpoint, request: request)
        let samplingText = jsonText(.object(prompt.sampling.json))
        return CacheKey(parts: [
            doc.id, String(index), "\(segment.scalarRange.lowerBound)-\(segment.scalarRange.upperBound)",
            prompt.name, String(prompt.template.version), prompt.hash, endpoint.model, endpoint.api.rawValue, samplingText,
            hex64(XXH64.hash(body)),
        ])
    }

    // MARK: - Post-processing

    enum SegmentResult {
        case reply(LLMReply)
        case failed(reason: String, message: String)
    }

    /// The usable text of a reply, or the reason to reject it.
    func postprocess(_ reply: LLMReply, prompt: ResolvedPrompt) -> Result<String, RejectReason> {
        if reply.finishReason == "length" { return .failure(RejectReason("llm_truncated")) }
        var text = Substring(reply.text)
        text = text.drop(while: { $0.isWhitespace })
        if let prefix = prompt.template.prefix, !prefix.isEmpty {
            // Tolerate Markdown emphasis or a heading mark around the prefix, and any letter case.
            var probe = text.drop(while: { $0 == "*" || $0 == "#" || $0 == "_" || $0 == " " })
            if probe.count >= prefix.count, probe.prefix(prefix.count).lowercased() == prefix.lowercased() {
                probe = probe.dropFirst(prefix.count)
                text = probe.drop(while: { $0 == "*" || $0 == "_" || $0.isWhitespace })
            } else if requirePrefix {
                return .failure(RejectReason("llm_missing_prefix"))
            }
        }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        if text.isEmpty { return .failure(RejectReason("llm_empty_output")) }
        let tokens = estimateTokens(text.utf8.count)
        if let lo = minOutputTokens, tokens < lo { return .failure(RejectReason("llm_output_too_short")) }
        if let hi = maxOutputTokens, tokens > hi { return .failure(RejectReason("llm_output_too_long")) }
        return .success(String(text))
    }

    struct RejectReason: Error {
        let name: String
        init(_ n: String) { name = n }
    }

    // MARK: - Processing a batch

    private struct Slot {
        var doc: Int
        var promptIndex: Int
        var segment: Int
        var key: CacheKey?
        var request: LLMRequest
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        // Plan every segment of every document.
        struct DocPlan {
            var names: [String] = []
            var routeValue: String?
            var segments: [[TextSegment]] = []
            var firstSlot: [[Int]] = []
        }
        var plans: [DocPlan] = []
        plans.reserveCapacity(batch.count)
        var slots: [Slot] = []
        var missingVariables = 0
        for (d, doc) in batch.documents.enumerated() {
            var plan = DocPlan()
            let (names, value) = route(doc)
            plan.routeValue = value
            if names.isEmpty {
                stats.counters["llm_unrouted", default: 0] += 1
            } else if estimateTokens(doc.text.utf8.count) < minInputTokens || !doc.text.utf8.contains(where: { $0 > 0x20 }) {
                stats.counters["llm_skipped_short", default: 0] += 1
            } else {
                plan.names = names
                for (pi, name) in names.enumerated() {
                    let p = prompts[name]!
                    let segments = p.segmenter.segments(of: doc.text)
                    var ids: [Int] = []
                    for (si, s) in segments.enumerated() {
                        let r = render(p, doc: doc, segment: s, index: si, count: segments.count, missing: { _ in missingVariables += 1 })
                        ids.append(slots.count)
                        slots.append(Slot(doc: d, promptIndex: pi, segment: si, key: nil, request: r))
                    }
                    plan.segments.append(segments)
                    plan.firstSlot.append(ids)
                }
            }
            plans.append(plan)
        }
        if missingVariables > 0 { stats.counters["llm_template_missing_values", default: 0] += missingVariables }
        stats.counters["llm_segments", default: 0] += slots.count

        if dryRun {
            for (d, plan) in plans.enumerated() where !plan.names.isEmpty {
                var requests: [JSONValue] = []
                for (pi, ids) in plan.firstSlot.enumerated() {
                    for (si, slot) in ids.enumerated() {
                        let s = plan.segments[pi][si]
                        let body = LLMClient.requestBody(endpoint: endpoint, request: slots[slot].request)
                        requests.append(.object([
                            "prompt": .string(plan.names[pi]), "segment": .int(si),
                            "span": .array([.int(s.scalarRange.lowerBound), .int(s.scalarRange.upperBound)]),
                            "body": parseJSONText(body) ?? .null,
                        ]))
                    }
                }
                batch.documents[d].metadata[metadataKey] = .object([
                    "dry_run": .bool(true), "endpoint": .string(endpoint.host), "model": .string(endpoint.model),
                    "requests": .array(requests),
                ])
            }
            stats.counters["llm_dry_run_requests", default: 0] += slots.count
            session.noteDryRun(stageType)
            return
        }
        if slots.isEmpty { return }

        let (client, cache) = try session.open(stageType: stageType)

        // Cached replies first; the rest go in flight together.
        var results = [SegmentResult?](repeating: nil, count: slots.count)
        var pending: [Int] = []
        for i in slots.indices {
            let s = slots[i]
            let doc = batch.documents[s.doc]
            let p = prompts[plans[s.doc].names[s.promptIndex]]!
            if let cache {
                let key = cacheKey(doc: doc, prompt: p, segment: plans[s.doc].segments[s.promptIndex][s.segment], index: s.segment, request: s.request)
                slots[i].key = key
                if let bytes = cache.value(for: key), let reply = LLMReply(cacheBytes: bytes) {
                    results[i] = .reply(reply)
                    stats.counters["llm_cache_hits", default: 0] += 1
                    continue
                }
            }
            pending.append(i)
        }
        let requests = pending.map { slots[$0].request }
        let documents = batch.documents
        try client.complete(requests) { k, outcome in
            let i = pending[k]
            account(outcome, into: &stats)
            switch outcome.result {
            case .success(let reply):
                if let cache, let key = slots[i].key {
                    let s = slots[i]
                    try cache.store(
                        reply.cacheBytes(context: [
                            "doc_id": .string(documents[s.doc].id), "segment": .int(s.segment),
                            "prompt": .string(plans[s.doc].names[s.promptIndex]),
                        ]), for: key)
                }
                results[i] = .reply(reply)
            case .failure(.rejected(_, let message)):
                if !skipBadRequests {
                    throw LLMError.fatal("\(stageType): \(message) (set skip_bad_requests: true to count such segments as failed and go on)")
                }
                results[i] = .failed(reason: "llm_bad_request", message: message)
            case .failure(.failed(let kind, let attempts, let message)):
                results[i] = .failed(reason: "llm_request_failed", message: "\(kind) after \(attempts) attempts: \(message)")
            case .failure(.fatal(let message)):
                throw LLMError.fatal("\(stageType): \(message)")
            case .failure(let e):
                throw e
            }
        }

        // Assemble documents in input order.
        var out: [Document] = []
        out.reserveCapacity(batch.count)
        for (d, doc) in batch.documents.enumerated() {
            let plan = plans[d]
            if plan.names.isEmpty {
                out.append(doc)
                continue
            }
            var emitted: [Document] = []
            var failure: String?
            var replaced: Document?
            for (pi, name) in plan.names.enumerated() {
                let p = prompts[name]!
                var texts: [String] = []
                var segmentInfo: [JSONValue] = []
                var promptTokens = 0, completionTokens = 0
                var reason: String?
                for (si, slot) in plan.firstSlot[pi].enumerated() {
                    let span = plan.segments[pi][si].scalarRange
                    switch results[slot]! {
                    case .failed(let r, _):
                        reason = reason ?? r
                        stats.counters["llm_segments_failed_" + r.dropLLMPrefix, default: 0] += 1
                    case .reply(let reply):
                        promptTokens += reply.promptTokens ?? 0
                        completionTokens += reply.completionTokens ?? 0
                        segmentInfo.append(.object([
                            "span": .array([.int(span.lowerBound), .int(span.upperBound)]),
                            "finish_reason": reply.finishReason.map { .string($0) } ?? .null,
                            "prompt_tokens": reply.promptTokens.map { .int($0) } ?? .null,
                            "completion_tokens": reply.completionTokens.map { .int($0) } ?? .null,
                        ]))
                        switch postprocess(reply, prompt: p) {
                        case .success(let t):
                            texts.append(t)
                            stats.counters["llm_segments_ok", default: 0] += 1
                        case .failure(let r):
                            reason = reason ?? r.name
                            stats.counters["llm_segments_failed_" + r.name.dropLLMPrefix, default: 0] += 1
                        }
                    }
                }
                var provenance = provenanceBlock(doc: doc, prompt: p, routeValue: plan.routeValue)
                if let reason {
                    failure = failure ?? reason
                    stats.counters["llm_documents_failed", default: 0] += 1
                    provenance["error"] = .string(reason)
                    if mode != .emit && onFailure == .keep {
                        var kept = doc
                        kept.metadata[metadataKey] = .object(provenance)
                        replaced = kept
                    }
                    continue
                }
                provenance["segments"] = .array(segmentInfo)
                provenance["usage"] = .object(["prompt_tokens": .int(promptTokens), "completion_tokens": .int(completionTokens)])
                let generated = texts.joined(separator: "\n\n")
                switch mode {
                case .replace, .append:
                    var changed = doc
                    changed.text = mode == .replace ? generated : doc.text + appendSeparator + generated
                    changed.metadata[metadataKey] = .object(provenance)
                    replaced = changed
                case .emit:
                    var n = Document(
                        id: doc.id + "/" + name, text: generated, source: doc.source, added: doc.added, created: doc.created,
                        metadata: doc.metadata)
                    n.metadata[metadataKey] = .object(provenance)
                    emitted.append(n)
                }
            }
            switch mode {
            case .replace, .append:
                if let replaced {
                    out.append(replaced)
                } else if let failure {
                    batch.drop(doc, reason: DropReason(failure))
                }
            case .emit:
                stats.counters["llm_documents_emitted", default: 0] += emitted.count
                if keepOriginal {
                    out.append(doc)
                } else if emitted.isEmpty, let failure {
                    batch.drop(doc, reason: DropReason(failure))
                } else {
                    stats.counters["llm_sources_replaced", default: 0] += 1
                }
                out.append(contentsOf: emitted)
            }
        }
        batch.documents = out
    }

    func provenanceBlock(doc: Document, prompt p: ResolvedPrompt, routeValue: String?) -> JSONObject {
        var o: JSONObject = [
            "source_id": .string(doc.id),
            "prompt": .object(["name": .string(p.name), "version": .int(p.template.version), "hash": .string(p.hash)]),
            "model": .string(endpoint.model),
            "endpoint": .string(endpoint.host),
            "sampling": .object(p.sampling.json),
            "mode": .string(mode.rawValue),
        ]
        if let routeValue { o["route"] = .string(routeValue) }
        return o
    }

    /// Adds one request's cost to the stage's counters.
    func account(_ o: LLMOutcome, into stats: inout StageStats) {
        stats.counters["llm_requests", default: 0] += o.attempts
        if o.retries > 0 { stats.counters["llm_retries", default: 0] += o.retries }
        for (k, v) in o.failures { stats.counters["llm_failures_" + k, default: 0] += v }
        if case .success(let r) = o.result {
            stats.counters["llm_tokens_in", default: 0] += r.promptTokens ?? 0
            stats.counters["llm_tokens_out", default: 0] += r.completionTokens ?? 0
            if let l = o.latency { stats.counters[latencyCounter(milliseconds: l * 1000), default: 0] += 1 }
        }
    }

    /// Shuts the client down (tests; a run just exits).
    public func shutdown() { session.shutdown() }
}

/// Latency histogram bins as counters, so they merge across batches, workers and tasks by adding.
let latencyBinsMilliseconds = [100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120_000]

func latencyCounter(milliseconds ms: Double) -> String {
    for b in latencyBinsMilliseconds where ms <= Double(b) { return "llm_latency_ms_le_\(b)" }
    return "llm_latency_ms_gt_\(latencyBinsMilliseconds.last!)"
}

extension String {
    var dropLLMPrefix: String { hasPrefix("llm_") ? String(dropFirst(4)) : self }
}

/// The client and cache of one stage, made when the first batch needs them, with the
/// readiness wait done once.
final class Session: Sendable {
    private struct State {
        var client: LLMClient?
        var cache: ResponseCache?
        var failure: String?
        var dryRunNoted = false
    }

    private let state = Mutex(State())
    let endpoint: LLMEndpoint
    let cacheDirectory: String?
    let environment: [String: String]

    init(endpoint: LLMEndpoint, cacheDirectory: String?, environment: [String: String]) {
        self.endpoint = endpoint
        self.cacheDirectory = cacheDirectory
        self.environment = environment
    }

    func open(stageType: String) throws -> (LLMClient, ResponseCache?) {
        try state.withLock { s -> (LLMClient, ResponseCache?) in
            if let f = s.failure { throw LLMError.fatal(f) }
            if let c = s.client { return (c, s.cache) }
            do {
                let cache = try cacheDirectory.map { try ResponseCache(directory: $0) }
                let client = try LLMClient(endpoint: endpoint, environment: environment)
                try client.waitUntilReady(log: { message in
                    FileHandle.standardError.write(Data("\(stageType): \(message)\n".utf8))
                })
                s.client = client
                s.cache = cache
                return (client, cache)
            } catch let e as LLMError {
                s.failure = "\(stageType): \(e.description)"
                throw LLMError.fatal(s.failure!)
            }
        }
    }

    func noteDryRun(_ stageType: String) {
        let first = state.withLock { s -> Bool in
            defer { s.dryRunNoted = true }
            return !s.dryRunNoted
        }
        if first {
            FileHandle.standardError.write(
                Data("\(stageType): dry run: nothing is sent to \(LLMEndpoint.redacted(endpoint.normalizedBaseURL)); the exact request bodies are stored in each document's metadata\n".utf8))
        }
    }

    func shutdown() {
        state.withLock { s in
            s.client?.shutdown()
            s.cache?.flush()
        }
    }
}
