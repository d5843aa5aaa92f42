import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small OpenAI-compatible HTTP/1.1 server on a loopback port, for testing LLM clients
/// against real sockets with scripted faults.
///
/// It answers `POST /v1/chat/completions` and `POST /v1/completions` (the reply text comes
/// from ``Behaviour/reply``, by default an echo of the prompt after ``Behaviour/prefix``),
/// `GET /health` (503 until ``Behaviour/readyAfter`` has passed, as llama.cpp's server does
/// while loading) and `GET /v1/models`. Connections are kept alive; each runs on its own
/// thread, so latency is simulated by sleeping.
///
/// Faults come from three places, in this order: a per-key script (``enqueue(_:forKey:)``), a
/// global script (``enqueue(_:)``), then at random with ``Behaviour/faultRate`` from
/// ``Behaviour/faultMix``. Every completion request is counted per *key*: the prompt (the
/// last user message, or `prompt`), or with ``Behaviour/keyMarker`` the rest of the first line
/// that starts with the marker, so tests can tell how often each segment was requested.
public final class OpenAITestServer: @unchecked Sendable {
    /// A scripted misbehaviour for one completion request.
    public enum Fault: Sendable, Hashable, CustomStringConvertible {
        /// 429 with `Retry-After: seconds`.
        case rateLimited(retryAfterSeconds: Int)
        /// 429 with `retry-after-ms: milliseconds`.
        case rateLimitedMilliseconds(Int)
        /// 500 with an OpenAI error body.
        case serverError
        /// 503 with an OpenAI error body.
        case unavailable
        /// The normal answer, after sleeping this many seconds (longer than a client's timeout).
        case slow(seconds: Double)
        /// The connection is closed after the request is read, without a response.
        case dropConnection
        /// 200 with a body that is not valid JSON.
        case malformedJSON
        /// 200 with a reply that lacks ``Behaviour/prefix``.
        case missingPrefix
        /// 200 with a cut-off reply and `finish_reason: "length"`.
        case truncated
        /// Any status with an OpenAI error body carrying `message`.
        case status(Int, message: String)

        public var description: String {
            switch self {
            case .rateLimited(let s): "429 Retry-After \(s)"
            case .rateLimitedMilliseconds(let ms): "429 retry-after-ms \(ms)"
            case .serverError: "500"
            case .unavailable: "503"
            case .slow(let s): "slow \(s)s"
            case .dropConnection: "dropped connection"
            case .malformedJSON: "malformed JSON"
            case .missingPrefix: "missing prefix"
            case .truncated: "finish_reason length"
            case .status(let c, _): "status \(c)"
            }
        }

        /// A short name for counting: `rate_limited`, `server_error`, …
        public var kind: String {
            switch self {
            case .rateLimited, .rateLimitedMilliseconds: "rate_limited"
            case .serverError, .unavailable: "server_error"
            case .slow: "slow"
            case .dropConnection: "dropped"
            case .malformedJSON: "malformed_json"
            case .missingPrefix: "missing_prefix"
            case .truncated: "truncated"
            case .status(let c, _): "status_\(c)"
            }
        }
    }

    /// How the server answers.
    public struct Behaviour: Sendable {
        /// Seconds each completion takes, drawn uniformly from this range.
        public var latency: ClosedRange<Double> = 0...0
        /// The share of completion requests that get a random fault from ``faultMix``.
        public var faultRate: Double = 0
        /// The faults drawn from when ``faultRate`` hits.
        public var faultMix: [Fault] = [
            .rateLimited(retryAfterSeconds: 0), .rateLimitedMilliseconds(20), .serverError, .unavailable,
            .dropConnection, .malformedJSON,
        ]
        /// Text every normal reply starts with.
        public var prefix: String = ""
        /// The model name in replies and in `/v1/models`.
        public var model: String = "test-model"
        /// When set, requests must carry `Authorization: Bearer <apiKey>` (else 401).
        public var apiKey: String?
        /// When set, a request's key is the rest of the first prompt line starting with it.
        public var keyMarker: String?
        /// Seconds after ``start()`` during which `/health` answers 503.
        public var readyAfter: Double = 0
        /// Whether `/health` exists (hosted APIs have none: 404).
        public var serveHealth = true
        /// The reply text for a prompt (after ``prefix``).
        public var reply: @Sendable (String) -> String = { $0 }
        /// Seed of the fault and latency draws.
        public var seed: UInt64 = 1

        public init() {}
    }

    /// What the server has seen.
    public struct Counts: Sendable {
        /// Completion requests in total.
        public var completions = 0
        /// Completion requests per key.
        public var byKey: [String: Int] = [:]
        /// Completion requests answered normally (200 with a well-formed reply, prefix and all), per key.
        public var succeededByKey: [String: Int] = [:]
        /// Faults served, by ``Fault/kind``.
        public var faults: [String: Int] = [:]
        /// Requests per path (`/health`, `/v1/models`, …).
        public var byPath: [String: Int] = [:]
        /// Connections accepted.
        public var connections = 0
        /// The largest number of completion requests being handled at once.
        public var maxConcurrent = 0
        /// `Authorization` header values seen (for tests that check a key is sent).
        public var authorizations: Set<String> = []
        /// Request bodies of the last few completion requests (newest last).
        public var recentBodies: [String] = []
    }

    private let lock = NSLock()
    private var behaviour: Behaviour
    private var counts = Counts()
    private var script: [Fault] = []
    private var keyScripts: [String: [Fault]] = [:]
    private var rng: UInt64
    private var listenFD: Int32 = -1
    private var connections: Set<Int32> = []
    private var stopped = false
    private var startedAt = Date()
    private var concurrent = 0
    private var connectionThreads = 0
    private let finished = NSCondition()

    /// The port it listens on (after ``start()``).
    public private(set) var port: Int = 0

    public init(_ behaviour: Behaviour = Behaviour()) {
        self.behaviour = behaviour
        rng = behaviour.seed
    }

    deinit { stop() }

    /// `http://127.0.0.1:PORT/v1`.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Starts listening on 127.0.0.1 (on `port`, or any free port when 0).
    public func start(port requested: Int = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(requested).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 1024) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ServerError("bind/listen on 127.0.0.1:\(requested): \(message)")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        lock.lock()
        listenFD = fd
        startedAt = Date()
        stopped = false
        lock.unlock()
        let t = Thread { [self] in acceptLoop(fd) }
        t.name = "openai-test-server-accept"
        t.start()
    }

    /// Stops listening, closes every connection and waits (up to 5 s) for their threads.
    ///
    /// Sockets are only shut down here, under the lock; the thread that owns each one closes
    /// it. Closing one here would free its descriptor number while its thread may still use it,
    /// and a server started meanwhile by a parallel test can get that number: a stale accept
    /// loop then accepted, and closed, the other server's connections.
    public func stop() {
        lock.lock()
        if stopped {
            lock.unlock()
            return
        }
        stopped = true
        if listenFD >= 0 { shutdown(listenFD, Int32(SHUT_RDWR)) }
        for c in connections { shutdown(c, Int32(SHUT_RDWR)) }
        lock.unlock()
        let deadline = Date().addingTimeInterval(5)
        finished.lock()
        while activeThreads() > 0 && Date() < deadline {
            _ = finished.wait(until: Date().addingTimeInterval(0.05))
        }
        finished.unlock()
    }

    private func activeThreads() -> Int {
        lock.lock()
        defer { lock.unlock() }
        return connectionThreads
    }

    /// Replaces the behaviour (faults already scripted stay).
    public func setBehaviour(_ b: Behaviour) {
        lock.lock()
        behaviour = b
        lock.unlock()
    }

    /// Changes the behaviour in place.
    public func updateBehaviour(_ change: (inout Behaviour) -> Void) {
        lock.lock()
        change(&behaviour)
        lock.unlock()
    }

    /// Faults for the next completion requests, in order (one request each).
    public func enqueue(_ faults: [Fault]) {
        lock.lock()
        script += faults
        lock.unlock()
    }

    /// Faults for the next requests with this key, in order.
    public func enqueue(_ faults: [Fault], forKey key: String) {
        lock.lock()
        keyScripts[key, default: []] += faults
        lock.unlock()
    }

    /// A snapshot of the counts.
    public func snapshot() -> Counts {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }

    /// Clears the counts (scripts and behaviour stay).
    public func resetCounts() {
        lock.lock()
        counts = Counts()
        lock.unlock()
    }

    // MARK: - Serving

    /// Accepts until ``stop()`` shuts the socket down, then closes it (this thread owns it).
    private func acceptLoop(_ fd: Int32) {
        defer {
            lock.lock()
            if listenFD == fd { listenFD = -1 }
            close(fd)
            lock.unlock()
        }
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    usleep(10_000)  // out of descriptors for now: wait rather than stop serving
                    continue
                }
                return  // shut down by stop()
            }
            var one: Int32 = 1
            setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            lock.lock()
            if stopped {
                lock.unlock()
                close(c)
                return
            }
            connections.insert(c)
            connectionThreads += 1
            counts.connections += 1
            lock.unlock()
            let t = Thread { [self] in
                serve(c)
                lock.lock()
                connections.remove(c)
                connectionThreads -= 1
                lock.unlock()
                close(c)
                finished.lock()
                finished.broadcast()
                finished.unlock()
            }
            t.stackSize = 256 << 10
            t.start()
        }
    }

    private struct Request {
        var method: String
        var path: String
        var headers: [String: String]
        var body: [UInt8]
    }

    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            // Read one request.
            var headerEnd: Int?
            while headerEnd == nil {
                headerEnd = findHeaderEnd(buffer)
                if headerEnd != nil { break }
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[0..<n])
            }
            guard let end = headerEnd, var request = parseHead(Array(buffer[0..<end])) else {
                _ = send(fd, Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
                return
            }
            buffer.removeFirst(end + 4)
            let length = Int(request.headers["content-length"] ?? "0") ?? 0
            if request.headers["expect"]?.lowercased() == "100-continue" && buffer.count < length {
                _ = send(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
            }
            while buffer.count < length {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                buffer.append(contentsOf: chunk[0..<n])
            }
            request.body = Array(buffer[0..<length])
            buffer.removeFirst(length)
            let keepAlive = request.headers["connection"]?.lowercased() != "close"
            guard let response = respond(to: request) else { return }  // dropped connection
            if !send(fd, response) || !keepAlive { return }
        }
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                return false
            }
            off += n
        }
        return true
    }

    private func findHeaderEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func parseHead(_ head: [UInt8]) -> Request? {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let first = lines.removeFirst().split(separator: " ")
        guard first.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Request(method: String(first[0]), path: String(first[1]), headers: headers, body: [])
    }

    private func random() -> Double {
        // SplitMix64 under the lock.
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    /// The response bytes, or nil to drop the connection.
    private func respond(to request: Request) -> [UInt8]? {
        lock.lock()
        counts.byPath[request.path, default: 0] += 1
        if let a = request.headers["authorization"] { counts.authorizations.insert(a) }
        let b = behaviour
        let ready = Date().timeIntervalSince(startedAt) >= b.readyAfter
        lock.unlock()

        if let key = b.apiKey, request.headers["authorization"] != "Bearer \(key)" {
            return errorResponse(401, "Incorrect API key provided.", type: "invalid_request_error")
        }
        switch (request.method, request.path) {
        case ("GET", "/health"), ("GET", "/v1/health"):
            if !b.serveHealth { return errorResponse(404, "no route for GET \(request.path)", type: "not_found") }
            if !ready { return errorResponse(503, "Loading model", type: "unavailable_error") }
            return response(200, body: Array(#"{"status":"ok"}"#.utf8))
        case ("GET", "/v1/models"):
            if !ready { return errorResponse(503, "Loading model", type: "unavailable_error") }
            let body = try! JSONSerialization.data(withJSONObject: [
                "object": "list", "data": [["id": b.model, "object": "model", "owned_by": "sluice-test"]],
            ])
            return response(200, body: [UInt8](body))
        case ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"):
            return completion(request, behaviour: b, chat: request.path.hasSuffix("chat/completions"))
        default:
            return errorResponse(404, "no route for \(request.method) \(request.path)", type: "not_found")
        }
    }

    private func completion(_ request: Request, behaviour b: Behaviour, chat: Bool) -> [UInt8]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            return errorResponse(400, "request body is not a JSON object", type: "invalid_request_error")
        }
        guard let model = object["model"] as? String, !model.isEmpty else {
            return errorResponse(400, "you must provide a model parameter", type: "invalid_request_error")
        }
        var prompt = ""
        if chat {
            guard let messages = object["messages"] as? [[String: Any]], !messages.isEmpty else {
                return errorResponse(400, "'messages' must be a non-empty list", type: "invalid_request_error")
            }
            for m in messages where (m["role"] as? String) == "user" { prompt = m["content"] as? String ?? "" }
        } else {
            guard let p = object["prompt"] as? String else {
                return errorResponse(400, "'prompt' must be a string", type: "invalid_request_error")
            }
            prompt = p
        }
        var key = prompt
        if let marker = b.keyMarker {
            for line in prompt.split(separator: "\n", omittingEmptySubsequences: false) where line.hasPrefix(marker) {
                key = String(line.dropFirst(marker.count))
                break
            }
        }

        lock.lock()
        counts.completions += 1
        counts.byKey[key, default: 0] += 1
        counts.recentBodies.append(String(decoding: request.body, as: UTF8.self))
        if counts.recentBodies.count > 20 { counts.recentBodies.removeFirst() }
        var fault: Fault?
        if var s = keyScripts[key], !s.isEmpty {
            fault = s.removeFirst()
            keyScripts[key] = s
        } else if !script.isEmpty {
            fault = script.removeFirst()
        } else if b.faultRate > 0, random() < b.faultRate, !b.faultMix.isEmpty {
            fault = b.faultMix[min(b.faultMix.count - 1, Int(random() * Double(b.faultMix.count)))]
        }
        let latency = b.latency.lowerBound + (b.latency.upperBound - b.latency.lowerBound) * random()
        if let fault { counts.faults[fault.kind, default: 0] += 1 }
        concurrent += 1
        counts.maxConcurrent = max(counts.maxConcurrent, concurrent)
        lock.unlock()
        defer {
            lock.lock()
            concurrent -= 1
            lock.unlock()
        }

        if latency > 0 { sleepSeconds(latency) }
        var text = b.prefix + b.reply(prompt)
        var finish = "stop"
        switch fault {
        case .rateLimited(let s)?:
            return errorResponse(429, "Rate limit reached; retry later.", type: "rate_limit_exceeded", extra: "Retry-After: \(s)\r\n")
        case .rateLimitedMilliseconds(let ms)?:
            return errorResponse(429, "Rate limit reached; retry later.", type: "rate_limit_exceeded", extra: "retry-after-ms: \(ms)\r\n")
        case .serverError?:
            return errorResponse(500, "The server had an error while processing your request.", type: "server_error")
        case .unavailable?:
            return errorResponse(503, "The server is overloaded.", type: "server_error")
        case .slow(let s)?:
            sleepSeconds(s)
        case .dropConnection?:
            return nil
        case .malformedJSON?:
            return response(200, body: Array(#"{"id":"cmpl-broken","choices":[{"index":0,"message":{"content":"unterminated"#.utf8))
        case .missingPrefix?:
            text = b.reply(prompt)
        case .truncated?:
            text = String(text.prefix(max(1, text.count / 2)))
            finish = "length"
        case .status(let code, let message)?:
            return errorResponse(code, message, type: "invalid_request_error")
        case nil:
            break
        }
        var succeeded = fault == nil
        if case .slow? = fault { succeeded = true }
        if succeeded {
            lock.lock()
            counts.succeededByKey[key, default: 0] += 1
            lock.unlock()
        }
        let promptTokens = prompt.split(whereSeparator: { $0 == " " || $0 == "\n" }).count
        let completionTokens = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).count
        let choice: [String: Any] =
            chat
            ? ["index": 0, "message": ["role": "assistant", "content": text], "finish_reason": finish]
            : ["index": 0, "text": text, "finish_reason": finish]
        let body: [String: Any] = [
            "id": chat ? "chatcmpl-test" : "cmpl-test", "object": chat ? "chat.completion" : "text_completion",
            "created": 1_700_000_000, "model": b.model, "choices": [choice],
            "usage": ["prompt_tokens": promptTokens, "completion_tokens": completionTokens, "total_tokens": promptTokens + completionTokens],
        ]
        return response(200, body: [UInt8](try! JSONSerialization.data(withJSONObject: body)))
    }

    private func sleepSeconds(_ s: Double) {
        // Sleep in slices so stop() is not held up long.
        var left = s
        while left > 0 {
            lock.lock()
            let stop = stopped
            lock.unlock()
            if stop { return }
            let slice = min(left, 0.05)
            usleep(UInt32(slice * 1_000_000))
            left -= slice
        }
    }

    private func errorResponse(_ status: Int, _ message: String, type: String, extra: String = "") -> [UInt8] {
        let body = try! JSONSerialization.data(withJSONObject: ["error": ["message": message, "type": type, "code": status]])
        return response(status, body: [UInt8](body), extraHeaders: extra)
    }

    private func response(_ status: Int, body: [UInt8], extraHeaders: String = "") -> [UInt8] {
        let reason: String =
            switch status {
            case 200: "OK"
            case 400: "Bad Request"
            case 401: "Unauthorized"
            case 403: "Forbidden"
            case 404: "Not Found"
            case 429: "Too Many Requests"
            case 500: "Internal Server Error"
            case 503: "Service Unavailable"
            default: "Status"
            }
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        head += extraHeaders
        head += "\r\n"
        return Array(head.utf8) + body
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}
