import Foundation
import SluiceCore
import SluiceLLM
import SluiceTestSupport
import Testing

/// A server with the given behaviour, started; stopped when the test's scope ends.
func startServer(_ configure: (inout OpenAITestServer.Behaviour) -> Void = { _ in }) throws -> OpenAITestServer {
    var b = OpenAITestServer.Behaviour()
    configure(&b)
    let s = OpenAITestServer(b)
    try s.start()
    return s
}

/// An endpoint for tests: fast backoff; timeouts generous enough that a loaded CI machine
/// (2 cores running every suite at once) never turns a healthy request into a retry. Tests
/// about timeouts set their own, short ones.
func testEndpoint(_ server: OpenAITestServer, _ change: (inout LLMEndpoint) -> Void = { _ in }) -> LLMEndpoint {
    var e = LLMEndpoint(
        baseURL: server.baseURL, model: "test-model", timeoutSeconds: 60, connectTimeoutSeconds: 20, maxInFlight: 8,
        maxRetries: 6, backoffInitialSeconds: 0.005, backoffMaxSeconds: 0.05, readyTimeoutSeconds: 5)
    change(&e)
    return e
}

@Suite("LLM client")
struct LLMClientTests {
    @Test("a chat completion comes back with its text, finish reason and token usage")
    func chatReply() throws {
        let server = try startServer { $0.prefix = "Echo: " }
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server))
        defer { client.shutdown() }
        let (reply, outcome) = try client.complete(LLMRequest(system: "Be brief.", prompt: "rivers carry silt", sampling: SamplingParameters(temperature: 0.2, maxTokens: 20)))
        #expect(reply.text == "Echo: rivers carry silt")
        #expect(reply.finishReason == "stop")
        #expect(reply.promptTokens == 3)
        #expect(reply.completionTokens == 4)
        #expect(outcome.attempts == 1, "failed attempts: \(outcome.failures)")
        let body = server.snapshot().recentBodies.last ?? ""
        #expect(body.contains(#""role":"system""#) && body.contains(#""max_tokens":20"#) && body.contains(#""model":"test-model""#))
    }

    @Test("the completions route sends one prompt string")
    func completionsRoute() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server) { $0.api = .completions })
        defer { client.shutdown() }
        let (reply, _) = try client.complete(LLMRequest(system: "Context", prompt: "go on"))
        #expect(reply.text == "Context\n\ngo on")
        #expect(server.snapshot().byPath["/v1/completions"] == 1)
    }

    @Test("the API key goes out as a Bearer token and a refused key stops with the server's message")
    func apiKey() throws {
        let server = try startServer { $0.apiKey = "sk-test-123" }
        defer { server.stop() }
        let good = try LLMClient(endpoint: testEndpoint(server) { $0.apiKeyEnv = "SLUICE_TEST_KEY" }, environment: ["SLUICE_TEST_KEY": "sk-test-123"])
        defer { good.shutdown() }
        _ = try good.complete(LLMRequest(prompt: "hi"))
        #expect(server.snapshot().authorizations.contains("Bearer sk-test-123"))

        let bad = try LLMClient(endpoint: testEndpoint(server) { $0.apiKeyEnv = "SLUICE_TEST_KEY" }, environment: ["SLUICE_TEST_KEY": "sk-wrong"])
        defer { bad.shutdown() }
        do {
            _ = try bad.complete(LLMRequest(prompt: "hi"))
            Issue.record("a refused key must fail")
        } catch let e as LLMError {
            guard case .fatal(let m) = e else { Issue.record("expected fatal, got \(e)"); return }
            #expect(m.contains("401") && m.contains("Incorrect API key provided"))
            #expect(!m.contains("sk-wrong"))
        }
        #expect(throws: LLMError.self) { try LLMClient(endpoint: testEndpoint(server) { $0.apiKeyEnv = "SLUICE_UNSET_VAR_X" }, environment: [:]) }
    }

    @Test("429 with Retry-After or retry-after-ms is retried after the wait the server asks for")
    func retryAfter() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server))
        defer { client.shutdown() }
        server.enqueue([.rateLimited(retryAfterSeconds: 1)])
        var t0 = Date()
        var (_, o) = try client.complete(LLMRequest(prompt: "a"))
        #expect(Date().timeIntervalSince(t0) >= 0.95)
        #expect(o.attempts == 2 && o.failures == ["rate_limited": 1])
        server.enqueue([.rateLimitedMilliseconds(300)])
        t0 = Date()
        (_, o) = try client.complete(LLMRequest(prompt: "b"))
        let waited = Date().timeIntervalSince(t0)
        #expect(waited >= 0.29 && waited < 5, "a 300 ms Retry-After took \(waited) s")
        #expect(o.attempts == 2)
    }

    @Test("500, 503, dropped connections, malformed JSON and timeouts are retried until a reply comes")
    func transientFaultsAreRetried() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server) { $0.timeoutSeconds = 1.5; $0.maxRetries = 8 })
        defer { client.shutdown() }
        // The drop comes first, on a fresh connection: on a reused keep-alive connection that
        // closes before answering, libcurl itself replays the request once (the classic stale
        // connection race), and the client never sees the drop.
        server.enqueue([.dropConnection, .serverError, .unavailable, .malformedJSON, .slow(seconds: 3), .status(408, message: "slow client"), .status(409, message: "busy")])
        let (reply, o) = try client.complete(LLMRequest(prompt: "persist"))
        #expect(reply.text == "persist")
        #expect(o.attempts == 8, "failed attempts: \(o.failures)")
        #expect(o.failures == ["server_error": 2, "connection": 1, "bad_response": 1, "timeout": 1, "request_timeout": 1, "conflict": 1])
        #expect(client.statistics.retries == 7)
    }

    @Test("400, 401, 403 and 404 stop at once with the server's message", arguments: [400, 401, 403, 404])
    func fatalStatuses(status: Int) throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server))
        defer { client.shutdown() }
        server.enqueue([.status(status, message: "the server says no (\(status))")])
        var outcome: LLMOutcome?
        client.complete([LLMRequest(prompt: "x")]) { _, o in outcome = o }
        #expect(outcome?.attempts == 1)
        guard case .failure(let e) = outcome?.result else {
            Issue.record("expected a failure")
            return
        }
        #expect(e.description.contains("the server says no (\(status))"))
        if status == 400 {
            #expect(e == .rejected(status: 400, message: e.description))
        } else if case .fatal = e {
        } else {
            Issue.record("\(status) must be fatal, got \(e)")
        }
        #expect(server.snapshot().completions == 1)
    }

    @Test("a request gives up after max_retries and names the last failure")
    func retriesRunOut() throws {
        let server = try startServer()
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server) { $0.maxRetries = 2 })
        defer { client.shutdown() }
        server.enqueue([.serverError, .serverError, .serverError, .serverError])
        var outcome: LLMOutcome?
        client.complete([LLMRequest(prompt: "x")]) { _, o in outcome = o }
        guard case .failure(.failed(let kind, let attempts, let message))? = outcome?.result else {
            Issue.record("expected .failed, got \(String(describing: outcome?.result))")
            return
        }
        #expect(kind == "server_error" && attempts == 3 && message.contains("500"))
    }

    @Test("a refused connection is retried, then reported as a connection failure")
    func connectionRefused() throws {
        let server = try startServer()
        let endpoint = testEndpoint(server) { $0.maxRetries = 1 }
        server.stop()
        let client = try LLMClient(endpoint: endpoint)
        defer { client.shutdown() }
        var outcome: LLMOutcome?
        client.complete([LLMRequest(prompt: "x")]) { _, o in outcome = o }
        guard case .failure(.failed(let kind, let attempts, _))? = outcome?.result else {
            Issue.record("expected .failed, got \(String(describing: outcome?.result))")
            return
        }
        #expect(kind == "connection" && attempts == 2)
    }

    @Test("an endpoint that keeps failing becomes fatal after max_consecutive_failures")
    func circuitBreaker() throws {
        let server = try startServer { $0.faultRate = 1; $0.faultMix = [.serverError] }
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server) { $0.maxRetries = 0; $0.maxConsecutiveFailures = 5; $0.maxInFlight = 1 })
        defer { client.shutdown() }
        var fatal = 0, failed = 0
        client.complete((0..<8).map { LLMRequest(prompt: "\($0)") }) { _, o in
            if case .failure(.fatal(let m)) = o.result {
                fatal += 1
                #expect(m.contains("in a row"))
            } else {
                failed += 1
            }
        }
        #expect(failed == 4 && fatal == 4)
    }

    @Test("no more than max_in_flight requests run at once, and a batch fills them all")
    func maxInFlight() throws {
        let server = try startServer { $0.latency = 0.03...0.03 }
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server) { $0.maxInFlight = 4 })
        defer { client.shutdown() }
        var n = 0
        client.complete((0..<40).map { LLMRequest(prompt: "\($0)") }) { _, o in if case .success = o.result { n += 1 } }
        #expect(n == 40)
        #expect(server.snapshot().maxConcurrent == 4)
        #expect(server.snapshot().connections <= 4)
    }

    @Test("requests_per_minute spaces out request starts")
    func requestsPerMinute() throws {
        let server = try startServer()
        defer { server.stop() }
        // 1,200 per minute = 20 per second; the bucket holds 10 seconds' worth (200).
        let client = try LLMClient(endpoint: testEndpoint(server) { $0.requestsPerMinute = 1200; $0.maxInFlight = 32 })
        defer { client.shutdown() }
        let t0 = Date()
        client.complete((0..<220).map { LLMRequest(prompt: "\($0)") }) { _, _ in }
        let seconds = Date().timeIntervalSince(t0)
        #expect(seconds >= 0.9 && seconds < 5, "220 requests at 20/s after a 200 burst took \(seconds) s")
    }

    @Test("the readiness wait polls /health until the model has loaded, and falls back to /v1/models")
    func readiness() throws {
        let server = try startServer { $0.readyAfter = 0.6 }
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server))
        defer { client.shutdown() }
        let t0 = Date()
        try client.waitUntilReady()
        #expect(Date().timeIntervalSince(t0) >= 0.5)
        #expect((server.snapshot().byPath["/health"] ?? 0) >= 1)

        // A server without /health (as hosted APIs): /v1/models answers instead.
        let hosted = try startServer { $0.serveHealth = false }
        defer { hosted.stop() }
        let other = try LLMClient(endpoint: testEndpoint(hosted) { $0.baseURL = hosted.baseURL + "/" })
        defer { other.shutdown() }
        try other.waitUntilReady()
        #expect(hosted.snapshot().byPath["/health"] == 1 && hosted.snapshot().byPath["/v1/models"] == 1)

        let down = try startServer()
        let url = down.baseURL
        down.stop()
        let never = try LLMClient(endpoint: LLMEndpoint(baseURL: url, model: "m", readyTimeoutSeconds: 0.5))
        defer { never.shutdown() }
        #expect(throws: LLMError.self) { try never.waitUntilReady() }
    }

    @Test("hundreds of requests through an endpoint failing 30% of the time all succeed exactly once")
    func faultyEndpoint() throws {
        let server = try startServer {
            $0.faultRate = 0.3
            $0.latency = 0...0.005
            $0.faultMix = [.rateLimited(retryAfterSeconds: 0), .rateLimitedMilliseconds(5), .serverError, .unavailable, .dropConnection, .malformedJSON, .slow(seconds: 0.4)]
        }
        defer { server.stop() }
        let client = try LLMClient(endpoint: testEndpoint(server) { $0.maxInFlight = 32; $0.timeoutSeconds = 0.2; $0.maxRetries = 12 })
        defer { client.shutdown() }
        var texts = [String?](repeating: nil, count: 600)
        client.complete((0..<600).map { LLMRequest(prompt: "item \($0)") }) { i, o in
            if case .success(let r) = o.result {
                #expect(texts[i] == nil)
                texts[i] = r.text
            }
        }
        for i in 0..<600 { #expect(texts[i] == "item \(i)") }
        let c = server.snapshot()
        #expect(c.completions > 650)
        #expect(c.succeededByKey.count == 600)
        #expect(client.statistics.succeeded == 600)
    }
}

@Suite("LLM client lifetime")
struct LLMClientLifetimeTests {
    @Test("a client released while its request runs finishes the request and stops its thread")
    func releaseWhileInFlight() throws {
        let server = try startServer { $0.latency = 0.05...0.05 }
        defer { server.stop() }
        let done = DispatchSemaphore(value: 0)
        do {
            let client = try LLMClient(endpoint: testEndpoint(server))
            client.send(LLMRequest(prompt: "x")) { o in
                if case .success = o.result { done.signal() }
            }
        }
        #expect(done.wait(timeout: .now() + 5) == .success)
        // The last reference went away on the client's own thread; it must not wait for itself.
        usleep(100_000)
        let again = try LLMClient(endpoint: testEndpoint(server))
        #expect(try again.complete(LLMRequest(prompt: "y")).0.text == "y")
        again.shutdown()
    }
}

@Suite("LLM response parsing")
struct ReplyParsingTests {
    @Test("replies with null content, missing usage or extra fields parse; others are rejected")
    func parsing() {
        let ok = LLMClient.parseReply(Array(#"{"choices":[{"message":{"content":null},"finish_reason":"length"}]}"#.utf8), chat: true)
        #expect(ok == LLMReply(text: "", finishReason: "length", promptTokens: nil, completionTokens: nil, model: nil))
        #expect(LLMClient.parseReply(Array(#"{"choices":[]}"#.utf8), chat: true) == nil)
        #expect(LLMClient.parseReply(Array(#"{"choices":[{"text":"t"}]}"#.utf8), chat: true) == nil)
        #expect(LLMClient.parseReply(Array(#"{"choices":[{"text":"t"}]}"#.utf8), chat: false)?.text == "t")
        #expect(LLMClient.parseReply(Array("not json".utf8), chat: true) == nil)
    }

    @Test("the endpoint's URLs and host are derived from base_url")
    func urls() throws {
        let e = LLMEndpoint(baseURL: "https://user:pw@api.example.com:8443/v1/", model: "m")
        #expect(e.completionURL == "https://user:pw@api.example.com:8443/v1/chat/completions")
        #expect(e.healthURL == "https://user:pw@api.example.com:8443/health")
        #expect(e.host == "api.example.com:8443")
        #expect(LLMEndpoint.redacted(e.completionURL) == "https://api.example.com:8443/v1/chat/completions")
        #expect(LLMEndpoint.redacted("http://h/v1/a@b") == "http://h/v1/a@b")
        #expect(throws: LLMError.self) { try LLMEndpoint(baseURL: "localhost:8080/v1", model: "m").validate() }
        #expect(throws: LLMError.self) { try LLMEndpoint(baseURL: "http://x/v1", model: "m", apiKeyEnv: "sk-abc def").validate() }
    }
}
