import SluiceCore

/// Where and how to reach an OpenAI-compatible server: a stage's `endpoint` block.
///
/// ```yaml
/// endpoint:
///   base_url: http://127.0.0.1:8080/v1   # up to and including /v1
///   model: qwen2.5-1.5b-instruct
///   api_key_env: OPENAI_API_KEY          # the NAME of the variable holding the key
///   timeout_s: 300
///   max_in_flight: 64
///   requests_per_minute: 600             # optional
/// ```
///
/// The key itself is read from the environment when the client is made and never written to
/// logs, statistics, provenance or the cache.
public struct LLMEndpoint: Decodable, Sendable, Equatable {
    /// Which OpenAI route to call.
    public enum API: String, Decodable, Sendable {
        /// `POST {base_url}/chat/completions` with system and user messages (instruct models).
        case chat
        /// `POST {base_url}/completions` with one prompt string (base models).
        case completions
    }

    public var baseURL: String
    public var model: String
    public var apiKeyEnv: String?
    public var api: API
    public var timeoutSeconds: Double
    public var connectTimeoutSeconds: Double
    public var maxInFlight: Int
    public var requestsPerMinute: Double?
    public var tokensPerMinute: Double?
    public var maxRetries: Int
    public var backoffInitialSeconds: Double
    public var backoffMaxSeconds: Double
    public var readyTimeoutSeconds: Double
    public var maxConsecutiveFailures: Int
    public var headers: [String: String]

    enum CodingKeys: String, CodingKey {
        case baseURL = "base_url", model, apiKeyEnv = "api_key_env", api
        case timeoutSeconds = "timeout_s", connectTimeoutSeconds = "connect_timeout_s"
        case maxInFlight = "max_in_flight", requestsPerMinute = "requests_per_minute"
        case tokensPerMinute = "tokens_per_minute", maxRetries = "max_retries"
        case backoffInitialSeconds = "backoff_initial_s", backoffMaxSeconds = "backoff_max_s"
        case readyTimeoutSeconds = "ready_timeout_s", maxConsecutiveFailures = "max_consecutive_failures"
        case headers
    }

    /// The options of the `endpoint` block, for help text.
    public static let options: [StageOption] = [
        StageOption("base_url", "string", help: "The server's URL up to and including /v1, e.g. http://127.0.0.1:8080/v1 or https://api.openai.com/v1."),
        StageOption("model", "string", help: "The model name the server knows (llama-server's --alias, vLLM's served model name)."),
        StageOption("api_key_env", "string", default: "null", help: "Name of the environment variable holding the API key (sent as a Bearer token; never logged or stored)."),
        StageOption("api", "string", default: "chat", help: "chat (POST /chat/completions with messages) or completions (POST /completions with one prompt, for base models)."),
        StageOption("timeout_s", "number", default: "300", help: "Seconds one request may take before it is abandoned and retried."),
        StageOption("connect_timeout_s", "number", default: "10", help: "Seconds to establish a connection."),
        StageOption("max_in_flight", "int", default: "16", help: "Requests sent at once; match the server's parallel slots (llama-server -np, vLLM --max-num-seqs)."),
        StageOption("requests_per_minute", "number", default: "null", help: "Start at most this many requests per minute (hosted APIs)."),
        StageOption("tokens_per_minute", "number", default: "null", help: "Start at most this many estimated tokens (prompt + max_tokens) per minute."),
        StageOption("max_retries", "int", default: "6", help: "Retries per request on connection errors, timeouts, 408, 409, 429 and 5xx."),
        StageOption("backoff_initial_s", "number", default: "0.5", help: "First retry delay; doubles each retry, with jitter. Retry-After and retry-after-ms take precedence."),
        StageOption("backoff_max_s", "number", default: "30", help: "Longest retry delay of the exponential backoff."),
        StageOption("ready_timeout_s", "number", default: "300", help: "Wait up to this long for /health or /v1/models to answer before work starts; 0 skips the wait."),
        StageOption("max_consecutive_failures", "int", default: "32", help: "Stop the run when this many requests in a row fail after all their retries (the endpoint is down)."),
        StageOption("headers", "mapping", default: "{}", help: "Extra HTTP headers to send (for example OpenAI-Organization)."),
    ]

    public init(baseURL: String, model: String, apiKeyEnv: String? = nil, api: API = .chat, timeoutSeconds: Double = 300,
        connectTimeoutSeconds: Double = 10, maxInFlight: Int = 16, requestsPerMinute: Double? = nil,
        tokensPerMinute: Double? = nil, maxRetries: Int = 6, backoffInitialSeconds: Double = 0.5,
        backoffMaxSeconds: Double = 30, readyTimeoutSeconds: Double = 300, maxConsecutiveFailures: Int = 32,
        headers: [String: String] = [:]
    ) {
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv
        self.api = api
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.maxInFlight = maxInFlight
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.maxRetries = maxRetries
        self.backoffInitialSeconds = backoffInitialSeconds
        self.backoffMaxSeconds = backoffMaxSeconds
        self.readyTimeoutSeconds = readyTimeoutSeconds
        self.maxConsecutiveFailures = maxConsecutiveFailures
        self.headers = headers
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = LLMEndpoint(baseURL: "", model: "")
        baseURL = try c.decode(String.self, forKey: .baseURL)
        model = try c.decode(String.self, forKey: .model)
        apiKeyEnv = try c.decodeIfPresent(String.self, forKey: .apiKeyEnv)
        api = try c.decodeIfPresent(API.self, forKey: .api) ?? d.api
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? d.timeoutSeconds
        connectTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .connectTimeoutSeconds) ?? d.connectTimeoutSeconds
        maxInFlight = try c.decodeIfPresent(Int.self, forKey: .maxInFlight) ?? d.maxInFlight
        requestsPerMinute = try c.decodeIfPresent(Double.self, forKey: .requestsPerMinute)
        tokensPerMinute = try c.decodeIfPresent(Double.self, forKey: .tokensPerMinute)
        maxRetries = try c.decodeIfPresent(Int.self, forKey: .maxRetries) ?? d.maxRetries
        backoffInitialSeconds = try c.decodeIfPresent(Double.self, forKey: .backoffInitialSeconds) ?? d.backoffInitialSeconds
        backoffMaxSeconds = try c.decodeIfPresent(Double.self, forKey: .backoffMaxSeconds) ?? d.backoffMaxSeconds
        readyTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .readyTimeoutSeconds) ?? d.readyTimeoutSeconds
        maxConsecutiveFailures = try c.decodeIfPresent(Int.self, forKey: .maxConsecutiveFailures) ?? d.maxConsecutiveFailures
        headers = try c.decodeIfPresent([String: String].self, forKey: .headers) ?? [:]
    }

    /// Checks the settings; the message names the key and how to fix it.
    public func validate() throws {
        let trimmed = baseURL.trimmingSlashes
        guard trimmed.hasPrefix("http://") || trimmed.hasPrefix("https://"), trimmed.count > 8 else {
            throw LLMError.setup(
                "endpoint.base_url must be an http:// or https:// URL up to and including /v1 (for example http://127.0.0.1:8080/v1), got '\(baseURL)'")
        }
        if model.isEmpty { throw LLMError.setup("endpoint.model must not be empty; give the model name the server serves") }
        if let e = apiKeyEnv, e.isEmpty || e.contains(where: { !($0.isLetter || $0.isNumber || $0 == "_") }) {
            throw LLMError.setup("endpoint.api_key_env must be the NAME of an environment variable (like OPENAI_API_KEY), not the key itself")
        }
        if !(timeoutSeconds > 0) { throw LLMError.setup("endpoint.timeout_s must be more than 0, got \(timeoutSeconds)") }
        if !(connectTimeoutSeconds > 0) { throw LLMError.setup("endpoint.connect_timeout_s must be more than 0, got \(connectTimeoutSeconds)") }
        if maxInFlight < 1 || maxInFlight > 4096 { throw LLMError.setup("endpoint.max_in_flight must be between 1 and 4096, got \(maxInFlight)") }
        if let r = requestsPerMinute, !(r > 0) { throw LLMError.setup("endpoint.requests_per_minute must be more than 0, got \(r)") }
        if let r = tokensPerMinute, !(r > 0) { throw LLMError.setup("endpoint.tokens_per_minute must be more than 0, got \(r)") }
        if maxRetries < 0 || maxRetries > 100 { throw LLMError.setup("endpoint.max_retries must be between 0 and 100, got \(maxRetries)") }
        if !(backoffInitialSeconds >= 0) || !(backoffMaxSeconds >= backoffInitialSeconds) {
            throw LLMError.setup("endpoint.backoff_initial_s must be 0 or more and at most endpoint.backoff_max_s")
        }
        if !(readyTimeoutSeconds >= 0) { throw LLMError.setup("endpoint.ready_timeout_s must be 0 or more") }
        if maxConsecutiveFailures < 1 { throw LLMError.setup("endpoint.max_consecutive_failures must be at least 1") }
        for (k, v) in headers {
            if k.isEmpty || k.contains(where: { $0 == ":" || $0 == "\r" || $0 == "\n" || $0 == " " }) || v.contains(where: { $0 == "\r" || $0 == "\n" }) {
                throw LLMError.setup("endpoint.headers has an invalid header '\(k)'")
            }
            if k.lowercased() == "authorization" {
                throw LLMError.setup("endpoint.headers must not set Authorization; name the key's variable in endpoint.api_key_env")
            }
        }
    }

    /// `base_url` without trailing slashes.
    public var normalizedBaseURL: String { baseURL.trimmingSlashes }

    /// The URL of the completion route.
    public var completionURL: String {
        normalizedBaseURL + (api == .chat ? "/chat/completions" : "/completions")
    }

    /// `/health` beside `/v1` (llama.cpp, vLLM, SGLang).
    public var healthURL: String {
        var b = normalizedBaseURL
        if b.hasSuffix("/v1") { b.removeLast(3) }
        return b + "/health"
    }

    /// `{base_url}/models`.
    public var modelsURL: String { normalizedBaseURL + "/models" }

    /// `url` without any `user:password@` part, for messages.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + String(rest[rest.index(after: at)...])
    }

    /// The host (and port) of `base_url`, for provenance: no path, no credentials.
    public var host: String {
        var s = Substring(normalizedBaseURL)
        if let r = s.range(of: "://") { s = s[r.upperBound...] }
        if let slash = s.firstIndex(of: "/") { s = s[..<slash] }
        if let at = s.lastIndex(of: "@") { s = s[s.index(after: at)...] }
        return String(s)
    }
}

extension String {
    var trimmingSlashes: String {
        var s = Substring(self)
        while s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }
}

/// Sampling settings sent with each request. Every field is optional: absent ones are not
/// sent, so the server's defaults apply.
///
/// ```yaml
/// sampling: {temperature: 0.5, top_p: 0.9, max_tokens: 600, seed: 1, stop: ["</s>"]}
/// ```
public struct SamplingParameters: Decodable, Sendable, Equatable, Hashable {
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    public var seed: Int?
    public var stop: [String]?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    /// More body fields passed through as they are (vLLM's `top_k`, `min_p`, `repetition_penalty`, …).
    public var extra: JSONObject?

    enum CodingKeys: String, CodingKey {
        case temperature, topP = "top_p", maxTokens = "max_tokens", seed, stop
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty", extra
    }

    public static let options: [StageOption] = [
        StageOption("temperature", "number", default: "null", help: "Sampling temperature."),
        StageOption("top_p", "number", default: "null", help: "Nucleus sampling mass."),
        StageOption("max_tokens", "int", default: "null", help: "Most tokens to generate; a reply cut off here has finish_reason length and is rejected."),
        StageOption("seed", "int", default: "null", help: "Sampling seed, for servers that honour it."),
        StageOption("stop", "[string]", default: "null", help: "Stop sequences."),
        StageOption("presence_penalty", "number", default: "null", help: "OpenAI presence penalty."),
        StageOption("frequency_penalty", "number", default: "null", help: "OpenAI frequency penalty."),
        StageOption("extra", "mapping", default: "null", help: "More request-body fields sent as given (top_k, min_p, …)."),
    ]

    public init(
        temperature: Double? = nil, topP: Double? = nil, maxTokens: Int? = nil, seed: Int? = nil, stop: [String]? = nil,
        presencePenalty: Double? = nil, frequencyPenalty: Double? = nil, extra: JSONObject? = nil
    ) {
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.seed = seed
        self.stop = stop
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.extra = extra
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        topP = try c.decodeIfPresent(Double.self, forKey: .topP)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens)
        seed = try c.decodeIfPresent(Int.self, forKey: .seed)
        stop = try c.decodeIfPresent([String].self, forKey: .stop)
        presencePenalty = try c.decodeIfPresent(Double.self, forKey: .presencePenalty)
        frequencyPenalty = try c.decodeIfPresent(Double.self, forKey: .frequencyPenalty)
        switch try c.decodeIfPresent(JSONValue.self, forKey: .extra) {
        case .object(let o)?: extra = o
        case nil, .null?: extra = nil
        default: throw LLMError.setup("sampling.extra must be a mapping of request-body fields")
        }
    }

    /// These settings with every field `other` sets taking its place.
    public func overridden(by other: SamplingParameters?) -> SamplingParameters {
        guard let o = other else { return self }
        var s = self
        if let v = o.temperature { s.temperature = v }
        if let v = o.topP { s.topP = v }
        if let v = o.maxTokens { s.maxTokens = v }
        if let v = o.seed { s.seed = v }
        if let v = o.stop { s.stop = v }
        if let v = o.presencePenalty { s.presencePenalty = v }
        if let v = o.frequencyPenalty { s.frequencyPenalty = v }
        if let e = o.extra {
            var merged = s.extra ?? JSONObject()
            for entry in e { merged[entry.key] = entry.value }
            s.extra = merged
        }
        return s
    }

    public func validate() throws {
        if let t = temperature, !(t >= 0 && t <= 10) { throw LLMError.setup("sampling.temperature must be between 0 and 10, got \(t)") }
        if let p = topP, !(p > 0 && p <= 1) { throw LLMError.setup("sampling.top_p must be in (0, 1], got \(p)") }
        if let m = maxTokens, m < 1 { throw LLMError.setup("sampling.max_tokens must be at least 1, got \(m)") }
    }

    /// The fields as a JSON object in a fixed order (for request bodies, cache keys and provenance).
    public var json: JSONObject {
        var o = JSONObject()
        if let v = temperature { o["temperature"] = .double(v) }
        if let v = topP { o["top_p"] = .double(v) }
        if let v = maxTokens { o["max_tokens"] = .int(v) }
        if let v = seed { o["seed"] = .int(v) }
        if let v = stop { o["stop"] = .array(v.map { .string($0) }) }
        if let v = presencePenalty { o["presence_penalty"] = .double(v) }
        if let v = frequencyPenalty { o["frequency_penalty"] = .double(v) }
        if let e = extra { for entry in e { o[entry.key] = entry.value } }
        return o
    }
}
