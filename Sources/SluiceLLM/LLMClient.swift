import Foundation
import SluiceCore
import SluiceIO
import Synchronization

/// One completion to ask for.
public struct LLMRequest: Sendable, Equatable {
    /// The system message (chat), or text put before the prompt (completions).
    public var system: String?
    /// The user message (chat) or the prompt (completions).
    public var prompt: String
    public var sampling: SamplingParameters

    public init(system: String? = nil, prompt: String, sampling: SamplingParameters = SamplingParameters()) {
        self.system = system
        self.prompt = prompt
        self.sampling = sampling
    }

    /// A rough token count of the prompt (bytes / 4), for tokens-per-minute limits.
    public var estimatedPromptTokens: Int { ((system?.utf8.count ?? 0) + prompt.utf8.count + 3) / 4 }
}

/// What the server generated.
public struct LLMReply: Sendable, Equatable {
    public var text: String
    /// `stop`, `length`, … as the server said; nil when it did not say.
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// The model that answered, as the server named it.
    public var model: String?

    public init(text: String, finishReason: String?, promptTokens: Int?, completionTokens: Int?, model: String?) {
        self.text = text
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.model = model
    }
}

/// What went wrong talking to an endpoint.
public enum LLMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A configuration or setup problem.
    case setup(String)
    /// A problem no retry can fix (400, 401, 403, 404, a bad TLS certificate, an endpoint that
    /// keeps failing): the job must stop.
    case fatal(String)
    /// This request failed after its retries (or the server said not to retry); `kind` names
    /// the last failure (`timeout`, `connection`, `rate_limited`, `server_error`, `bad_response`, …).
    case failed(kind: String, attempts: Int, message: String)
    /// The server refused this one request as malformed (400, 413, 422: often a prompt over
    /// the context length). Fatal unless the caller chooses to skip such requests.
    case rejected(status: Int, message: String)
    /// The endpoint did not become ready in time.
    case notReady(String)
    /// The request was abandoned because its batch failed.
    case cancelled

    public var description: String {
        switch self {
        case .setup(let m): m
        case .fatal(let m): m
        case .failed(let kind, let attempts, let m): "\(kind) after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(m)"
        case .rejected(_, let m): m
        case .notReady(let m): m
        case .cancelled: "cancelled"
        }
    }
}

/// One request's result with what it cost: attempts, failures by kind, latency.
public struct LLMOutcome: Sendable {
    public var result: Result<LLMReply, LLMError>
    /// HTTP attempts made (1 when the first succeeded).
    public var attempts: Int
    /// Failed attempts by kind (`rate_limited`, `server_error`, `timeout`, `connection`, `bad_response`, …).
    public var failures: [String: Int]
    /// Seconds the successful attempt took.
    public var latency: Double?

    public var retries: Int { max(0, attempts - 1) }
}

/// Totals over every request a client made.
public struct LLMClientStatistics: Sendable {
    public var requests = 0
    public var succeeded = 0
    public var retries = 0
    public var failedRequests = 0
    public var failures: [String: Int] = [:]
    public var promptTokens = 0
    public var completionTokens = 0
    /// Latency of successful attempts, in milliseconds.
    public var latencyMilliseconds = LogHistogram()
}

/// A client for an OpenAI-compatible server: `POST /v1/chat/completions` or `/v1/completions`.
///
/// Requests run on libcurl's multi interface from one event-loop thread, at most
/// `max_in_flight` at once and within the optional per-minute limits. Failed attempts are
/// retried with exponential backoff and jitter on connection errors, timeouts, malformed
/// replies, 408, 409, 429 and 5xx, waiting as `retry-after-ms` or `Retry-After` ask when the
/// server sends them; `x-should-retry` overrides the choice. 400, 401, 403, 404 (and other
/// 4xx), a 429 for an exhausted quota, and TLS failures are fatal, with the server's message.
///
/// The blocking ``complete(_:isCancelled:onOutcome:)`` suits synchronous stages: a whole
/// batch goes in flight at once and the calling thread handles outcomes as they arrive.
public final class LLMClient: Sendable {
    public let endpoint: LLMEndpoint
    private let apiKey: String?
    private let engine: HTTPEngine
    private let consecutiveFailures = Atomic<Int>(0)
    private let totals = Mutex(LLMClientStatistics())
    private let jitterState = Atomic<UInt64>(0x243F_6A88_85A3_08D3)

    /// Makes a client; reads the API key from `environment[endpoint.apiKeyEnv]`.
    public init(endpoint: LLMEndpoint, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        try endpoint.validate()
        self.endpoint = endpoint
        if let name = endpoint.apiKeyEnv {
            guard let key = environment[name], !key.isEmpty else {
                throw LLMError.setup("the environment variable \(name) (endpoint.api_key_env) is not set; export it with the API key")
            }
            apiKey = key
        } else {
            apiKey = nil
        }
        let limiter = RateLimiter(requestsPerMinute: endpoint.requestsPerMinute, tokensPerMinute: endpoint.tokensPerMinute)
        engine = try HTTPEngine(maxActive: endpoint.maxInFlight, limiter: limiter)
    }

    deinit { engine.shutdown() }

    /// Stops the event loop; requests still running fail. Called by `deinit` too.
    public func shutdown() { engine.shutdown() }

    /// A snapshot of the totals.
    public var statistics: LLMClientStatistics { totals.withLock { $0 } }

    /// Requests in flight now.
    public var inFlight: Int { engine.activeCount.load(ordering: .relaxed) }

    // MARK: - Blocking API

    /// Sends every request at once (up to `max_in_flight` run together) and calls `onOutcome`
    /// on the calling thread as each finishes, in completion order. Returns when all have
    /// finished. If `onOutcome` throws, the requests not yet finished are abandoned and the
    /// error is rethrown.
    public func complete(
        _ requests: [LLMRequest], isCancelled: (@Sendable () -> Bool)? = nil,
        onOutcome: (Int, LLMOutcome) throws -> Void
    ) rethrows {
        if requests.isEmpty { return }
        let channel = OutcomeChannel()
        let cancel = CancelFlag()
        let cancelled: @Sendable () -> Bool = { cancel.isSet || (isCancelled?() ?? false) }
        for (i, r) in requests.enumerated() {
            send(r, isCancelled: cancelled) { channel.push(i, $0) }
        }
        for _ in 0..<requests.count {
            let (i, outcome) = channel.pop()
            do {
                try onOutcome(i, outcome)
            } catch {
                cancel.set()
                throw error
            }
        }
    }

    /// Sends one request and waits for its reply.
    ///
    /// - Throws: ``LLMError``.
    public func complete(_ request: LLMRequest) throws -> (LLMReply, LLMOutcome) {
        var out: LLMOutcome?
        complete([request]) { _, o in out = o }
        let o = out!
        return (try o.result.get(), o)
    }

    /// Waits until the server answers `/health` (or, where it has none, `{base_url}/models`)
    /// with 200, polling every second, up to `ready_timeout_s`. `log` hears about the wait
    /// every ten seconds.
    ///
    /// - Throws: ``LLMError/notReady(_:)`` on timeout, ``LLMError/fatal(_:)`` when the server
    ///   refuses the key or the URL is wrong.
    public func waitUntilReady(log: (String) -> Void = { _ in }) throws {
        if endpoint.readyTimeoutSeconds <= 0 { return }
        let started = monotonicNow()
        let deadline = started + UInt64(endpoint.readyTimeoutSeconds * 1e9)
        var lastLog = started
        var useModels = false
        var lastProblem = ""
        while true {
            let url = useModels ? endpoint.modelsURL : endpoint.healthURL
            let r = get(url, timeout: min(endpoint.timeoutSeconds, 10))
            if let e = r.transportError {
                if e.kind == .tls { throw LLMError.fatal("TLS failure reaching \(LLMEndpoint.redacted(url)): \(e.message)") }
                lastProblem = e.message
            } else if r.status == 200 {
                return
            } else if r.status == 404 || r.status == 405 || r.status == 421 {
                if useModels {
                    throw LLMError.fatal(
                        "\(LLMEndpoint.redacted(url)) answered \(r.status): \(Self.errorMessage(r.body)); check endpoint.base_url, which must end with /v1 for most servers")
                }
                useModels = true
                continue
            } else if r.status == 401 || r.status == 403 {
                throw LLMError.fatal(
                    "\(LLMEndpoint.redacted(url)) answered \(r.status): \(Self.errorMessage(r.body)); check the key in the variable named by endpoint.api_key_env")
            } else {
                lastProblem = "HTTP \(r.status): \(Self.errorMessage(r.body))"
            }
            let now = monotonicNow()
            if now >= deadline {
                throw LLMError.notReady(
                    "the endpoint \(LLMEndpoint.redacted(endpoint.normalizedBaseURL)) was not ready after \(formatSeconds(endpoint.readyTimeoutSeconds)) (last: \(lastProblem)); start the server, check endpoint.base_url, or raise endpoint.ready_timeout_s")
            }
            if now - lastLog >= 10_000_000_000 {
                log("waiting for \(LLMEndpoint.redacted(endpoint.normalizedBaseURL)) to become ready (\(lastProblem))")
                lastLog = now
            }
            usleep(useconds_t(min(1_000_000, max(1000, (deadline - now) / 1000))))
        }
    }

    /// One GET, blocking (readiness and `sluice llm check`).
    func get(_ url: String, timeout: Double) -> HTTPResponse {
        let box = OutcomeBox<HTTPResponse>()
        engine.submit(
            HTTPEngine.Job(
                request: HTTPRequest(
                    method: .get, url: url, headers: headerLines(json: false), body: [],
                    timeoutMilliseconds: Int(timeout * 1000), connectTimeoutMilliseconds: Int(endpoint.connectTimeoutSeconds * 1000)),
                cost: 0, notBefore: 0, isCancelled: nil, completion: { box.put($0) }))
        return box.take()
    }

    // MARK: - The attempt machine

    private func headerLines(json: Bool) -> [String] {
        var h = ["Accept: application/json", "User-Agent: sluice-llm/1"]
        if json { h.append("Content-Type: application/json") }
        if let apiKey { h.append("Authorization: Bearer \(apiKey)") }
        for (k, v) in endpoint.headers.sorted(by: { $0.key < $1.key }) { h.append("\(k): \(v)") }
        return h
    }

    /// The request body as JSON bytes.
    public func body(for request: LLMRequest) -> [UInt8] { Self.requestBody(endpoint: endpoint, request: request) }

    /// The exact JSON body sent for `request` to `endpoint` (also for dry runs, which make no client).
    public static func requestBody(endpoint: LLMEndpoint, request: LLMRequest) -> [UInt8] {
        var o = JSONObject()
        o.append(key: "model", value: .string(endpoint.model))
        switch endpoint.api {
        case .chat:
            var messages: [JSONValue] = []
            if let s = request.system, !s.isEmpty {
                messages.append(.object(["role": .string("system"), "content": .string(s)]))
            }
            messages.append(.object(["role": .string("user"), "content": .string(request.prompt)]))
            o.append(key: "messages", value: .array(messages))
        case .completions:
            let p = (request.system.map { $0.isEmpty ? "" : $0 + "\n\n" } ?? "") + request.prompt
            o.append(key: "prompt", value: .string(p))
        }
        for e in request.sampling.json where o[e.key] == nil { o.append(key: e.key, value: e.value) }
        if o["stream"] == nil { o.append(key: "stream", value: .bool(false)) }
        return encodeJSON(.object(o))
    }

    private final class Attempt: @unchecked Sendable {
        let http: HTTPRequest
        let cost: Double
        let isCancelled: @Sendable () -> Bool
        let deliver: @Sendable (LLMOutcome) -> Void
        var attempts = 0
        var failures: [String: Int] = [:]

        init(http: HTTPRequest, cost: Double, isCancelled: @escaping @Sendable () -> Bool, deliver: @escaping @Sendable (LLMOutcome) -> Void) {
            self.http = http
            self.cost = cost
            self.isCancelled = isCancelled
            self.deliver = deliver
        }
    }

    /// Sends one request with retries; `deliver` runs once, on the event-loop thread.
    public func send(_ request: LLMRequest, isCancelled: @escaping @Sendable () -> Bool = { false }, deliver: @escaping @Sendable (LLMOutcome) -> Void) {
        let http = HTTPRequest(
            method: .post, url: endpoint.completionURL, headers: headerLines(json: true), body: body(for: request),
            timeoutMilliseconds: Int(endpoint.timeoutSeconds * 1000), connectTimeoutMilliseconds: Int(endpoint.connectTimeoutSeconds * 1000))
        let cost = Double(request.estimatedPromptTokens + (request.sampling.maxTokens ?? 256))
        submit(Attempt(http: http, cost: cost, isCancelled: isCancelled, deliver: deliver), notBefore: 0)
    }

    private func submit(_ a: Attempt, notBefore: UInt64) {
        engine.submit(
            HTTPEngine.Job(
                request: a.http, cost: a.cost, notBefore: notBefore, isCancelled: a.isCancelled,
                completion: { [self] response in handle(response, a) }))
    }

    private enum Verdict {
        case success(LLMReply)
        case retry(kind: String, message: String, wait: Double?)
        case fail(kind: String, message: String)
        case fatal(String)
        case rejected(Int, String)
    }

    private func handle(_ r: HTTPResponse, _ a: Attempt) {
        a.attempts += 1
        if a.isCancelled() {
            a.deliver(LLMOutcome(result: .failure(.cancelled), attempts: a.attempts, failures: a.failures, latency: nil))
            return
        }
        let verdict = classify(r)
        switch verdict {
        case .success(let reply):
            consecutiveFailures.store(0, ordering: .relaxed)
            totals.withLock {
                $0.requests += 1
                $0.succeeded += 1
                $0.promptTokens += reply.promptTokens ?? 0
                $0.completionTokens += reply.completionTokens ?? 0
                $0.latencyMilliseconds.add(r.seconds * 1000)
            }
            a.deliver(LLMOutcome(result: .success(reply), attempts: a.attempts, failures: a.failures, latency: r.seconds))
        case .retry(let kind, let message, let wait):
            a.failures[kind, default: 0] += 1
            totals.withLock {
                $0.requests += 1
                $0.failures[kind, default: 0] += 1
            }
            if a.attempts <= endpoint.maxRetries {
                totals.withLock { $0.retries += 1 }
                let delay = wait ?? backoff(attempt: a.attempts)
                submit(a, notBefore: monotonicNow() + UInt64(max(0, delay) * 1e9))
            } else {
                exhausted(a, kind: kind, message: message)
            }
        case .fail(let kind, let message):
            a.failures[kind, default: 0] += 1
            totals.withLock {
                $0.requests += 1
                $0.failures[kind, default: 0] += 1
            }
            exhausted(a, kind: kind, message: message)
        case .fatal(let message):
            totals.withLock {
                $0.requests += 1
                $0.failures["fatal", default: 0] += 1
                $0.failedRequests += 1
            }
            a.deliver(LLMOutcome(result: .failure(.fatal(message)), attempts: a.attempts, failures: a.failures, latency: nil))
        case .rejected(let status, let message):
            a.failures["bad_request", default: 0] += 1
            totals.withLock {
                $0.requests += 1
                $0.failures["bad_request", default: 0] += 1
                $0.failedRequests += 1
            }
            a.deliver(
                LLMOutcome(result: .failure(.rejected(status: status, message: message)), attempts: a.attempts, failures: a.failures, latency: nil))
        }
    }

    private func exhausted(_ a: Attempt, kind: String, message: String) {
        let n = consecutiveFailures.add(1, ordering: .relaxed).newValue
        totals.withLock { $0.failedRequests += 1 }
        let error: LLMError =
            n >= endpoint.maxConsecutiveFailures
            ? .fatal(
                "\(n) requests in a row to \(LLMEndpoint.redacted(endpoint.normalizedBaseURL)) failed after all their retries (last: \(kind): \(message)); the endpoint looks down or overloaded. Check the server, lower endpoint.max_in_flight, or raise endpoint.max_retries")
            : .failed(kind: kind, attempts: a.attempts, message: message)
        a.deliver(LLMOutcome(result: .failure(error), attempts: a.attempts, failures: a.failures, latency: nil))
    }

    /// The delay before retry number `attempt` (1-based): `backoff_initial_s · 2^(attempt−1)`,
    /// capped at `backoff_max_s`, then scaled by a random factor in [0.5, 1).
    func backoff(attempt: Int) -> Double {
        let base = min(endpoint.backoffMaxSeconds, endpoint.backoffInitialSeconds * pow(2, Double(min(attempt - 1, 40))))
        var x = jitterState.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        let u = Double(x >> 11) / Double(1 << 53)
        return base * (0.5 + 0.5 * u)
    }

    private func classify(_ r: HTTPResponse) -> Verdict {
        if let e = r.transportError {
            switch e.kind {
            case .timeout: return .retry(kind: "timeout", message: e.message, wait: nil)
            case .connection: return .retry(kind: "connection", message: e.message, wait: nil)
            case .tls: return .fatal("TLS failure talking to \(LLMEndpoint.redacted(endpoint.normalizedBaseURL)): \(e.message)")
            case .other:
                if e.message == "cancelled" { return .fail(kind: "cancelled", message: e.message) }
                return .retry(kind: "connection", message: e.message, wait: nil)
            }
        }
        let wait = r.retryAfter.flatMap { $0 <= 600 ? $0 : nil }
        let status = r.status
        if (200..<300).contains(status) {
            if let reply = Self.parseReply(r.body, chat: endpoint.api == .chat) { return .success(reply) }
            return .retry(kind: "bad_response", message: "a \(status) reply that is not an OpenAI completion: \(Self.snippet(r.body))", wait: nil)
        }
        let message = Self.errorMessage(r.body)
        if let should = r.shouldRetry {
            if should { return .retry(kind: Self.kind(ofStatus: status), message: "HTTP \(status): \(message)", wait: wait) }
            if status >= 500 || status == 429 || status == 408 || status == 409 {
                return .fail(kind: Self.kind(ofStatus: status), message: "HTTP \(status) (x-should-retry: false): \(message)")
            }
        }
        switch status {
        case 429:
            if Self.isQuotaError(r.body) {
                return .fatal("\(LLMEndpoint.redacted(endpoint.normalizedBaseURL)) answered 429 insufficient_quota: \(message); the account's quota is used up")
            }
            return .retry(kind: "rate_limited", message: "HTTP 429: \(message)", wait: wait)
        case 408, 409:
            return .retry(kind: Self.kind(ofStatus: status), message: "HTTP \(status): \(message)", wait: wait)
        case 500...599:
            return .retry(kind: "server_error", message: "HTTP \(status): \(message)", wait: wait)
        case 400, 413, 422:
            return .rejected(status, "\(LLMEndpoint.redacted(endpoint.completionURL)) answered \(status): \(message); check the model name, sampling settings and prompt length (a segment over the context length also gives this: lower max_segment_tokens)")
        case 401:
            return .fatal("\(LLMEndpoint.redacted(endpoint.completionURL)) answered 401 Unauthorized: \(message); check the key in the variable named by endpoint.api_key_env")
        case 403:
            return .fatal("\(LLMEndpoint.redacted(endpoint.completionURL)) answered 403 Forbidden: \(message); the key may lack access to model '\(endpoint.model)'")
        case 404:
            return .fatal("\(LLMEndpoint.redacted(endpoint.completionURL)) answered 404 Not Found: \(message); check endpoint.base_url (up to and including /v1), endpoint.api and endpoint.model")
        case 400..<500:
            return .fatal("\(LLMEndpoint.redacted(endpoint.completionURL)) answered \(status): \(message)")
        default:
            return .retry(kind: "bad_response", message: "unexpected HTTP \(status): \(message)", wait: wait)
        }
    }

    static func kind(ofStatus s: Int) -> String {
        switch s {
        case 408: "request_timeout"
        case 409: "conflict"
        case 429: "rate_limited"
        case 500...599: "server_error"
        default: "http_\(s)"
        }
    }

    // MARK: - Reply parsing

    /// The first choice of an OpenAI completion reply, or nil when `body` is not one.
    public static func parseReply(_ body: [UInt8], chat: Bool) -> LLMReply? {
        guard let value = try? parseJSONValue(body), case .object(let o) = value,
            let choices = o["choices"]?.arrayValue, let first = choices.first?.objectValue
        else { return nil }
        let text: String
        if chat {
            guard let message = first["message"]?.objectValue else { return nil }
            switch message["content"] {
            case .string(let s)?: text = s
            case .null?, nil: text = ""
            default: return nil
            }
        } else {
            guard let t = first["text"]?.stringValue else { return nil }
            text = t
        }
        let usage = o["usage"]?.objectValue
        func int(_ v: JSONValue?) -> Int? { v?.doubleValue.flatMap { $0.isFinite ? Int($0) : nil } }
        return LLMReply(
            text: text, finishReason: first["finish_reason"]?.stringValue, promptTokens: int(usage?["prompt_tokens"]),
            completionTokens: int(usage?["completion_tokens"]), model: o["model"]?.stringValue)
    }

    /// The server's error message from an OpenAI error body (or the start of the body).
    static func errorMessage(_ body: [UInt8]) -> String {
        if let value = try? parseJSONValue(body), case .object(let o) = value {
            if let e = o["error"] {
                if let m = e.objectValue?["message"]?.stringValue { return m }
                if let s = e.stringValue { return s }
            }
            if let m = o["message"]?.stringValue { return m }
            if let d = o["detail"]?.stringValue { return d }
        }
        return body.isEmpty ? "(empty body)" : snippet(body)
    }

    static func isQuotaError(_ body: [UInt8]) -> Bool {
        guard let value = try? parseJSONValue(body), let e = value.objectValue?["error"]?.objectValue else { return false }
        return e["code"]?.stringValue == "insufficient_quota" || e["type"]?.stringValue == "insufficient_quota"
    }

    static func snippet(_ body: [UInt8]) -> String {
        let s = String(decoding: body.prefix(300), as: UTF8.self)
        return body.count > 300 ? s + "…" : s
    }
}

func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
}

/// Outcomes handed from the event loop to the waiting thread.
final class OutcomeChannel: Sendable {
    private let items = Mutex<[(Int, LLMOutcome)]>([])
    private let available = DispatchSemaphore(value: 0)

    func push(_ i: Int, _ o: LLMOutcome) {
        items.withLock { $0.append((i, o)) }
        available.signal()
    }

    func pop() -> (Int, LLMOutcome) {
        available.wait()
        return items.withLock { $0.removeFirst() }
    }
}

/// One value handed from the event loop to a waiting thread.
final class OutcomeBox<T: Sendable>: Sendable {
    private let value = Mutex<T?>(nil)
    private let ready = DispatchSemaphore(value: 0)
    func put(_ v: T) {
        value.withLock { $0 = v }
        ready.signal()
    }
    func take() -> T {
        ready.wait()
        return value.withLock { $0! }
    }
}

final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

extension LLMReply {
    /// The reply as cache bytes: a JSON object, with `context` fields (document id, segment,
    /// prompt) stored beside it for inspection.
    public func cacheBytes(context: JSONObject = JSONObject()) -> [UInt8] {
        var o = JSONObject()
        o.append(key: "text", value: .string(text))
        o.append(key: "finish_reason", value: finishReason.map { .string($0) } ?? .null)
        o.append(key: "prompt_tokens", value: promptTokens.map { .int($0) } ?? .null)
        o.append(key: "completion_tokens", value: completionTokens.map { .int($0) } ?? .null)
        o.append(key: "model", value: model.map { .string($0) } ?? .null)
        for e in context where o[e.key] == nil { o.append(key: e.key, value: e.value) }
        return encodeJSON(.object(o))
    }

    /// A reply read back from ``cacheBytes(context:)``; nil when the bytes are not one.
    public init?(cacheBytes: [UInt8]) {
        guard let v = try? parseJSONValue(cacheBytes), case .object(let o) = v, let text = o["text"]?.stringValue else { return nil }
        func int(_ v: JSONValue?) -> Int? { v?.doubleValue.flatMap { $0.isFinite ? Int($0) : nil } }
        self.init(
            text: text, finishReason: o["finish_reason"]?.stringValue, promptTokens: int(o["prompt_tokens"]),
            completionTokens: int(o["completion_tokens"]), model: o["model"]?.stringValue)
    }
}

/// A JSON value as text: a string as itself, anything else as compact JSON.
public func jsonText(_ value: JSONValue) -> String {
    switch value {
    case .string(let s): return s
    case .null: return ""
    case .number(let n): return n.literal
    case .bool(let b): return b ? "true" : "false"
    default: return String(decoding: encodeJSON(value), as: UTF8.self)
    }
}

/// Parses JSON text (for tools that show request bodies).
public func parseJSONText(_ bytes: [UInt8]) -> JSONValue? { try? parseJSONValue(bytes) }
