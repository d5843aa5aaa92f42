import CCurl
import Foundation
import Synchronization

/// One HTTP request for the engine.
struct HTTPRequest: Sendable {
    enum Method: Sendable { case get, post }
    var method: Method
    var url: String
    /// Header lines, `Name: value`.
    var headers: [String]
    var body: [UInt8]
    var timeoutMilliseconds: Int
    var connectTimeoutMilliseconds: Int
}

/// What came back for one request: a status and body, or a transport error.
struct HTTPResponse: Sendable {
    /// The HTTP status; 0 when no response arrived.
    var status: Int = 0
    var body: [UInt8] = []
    /// `retry-after-ms`, else `Retry-After` (seconds or an HTTP date), in seconds.
    var retryAfter: Double?
    /// `x-should-retry: true|false`.
    var shouldRetry: Bool?
    /// Set when the transfer failed below HTTP (connection, timeout, reset, TLS).
    var transportError: TransportError?
    /// Seconds from the start of the transfer to its end.
    var seconds: Double = 0
}

/// A failure below HTTP, as libcurl reports it.
struct TransportError: Sendable, Equatable {
    enum Kind: String, Sendable { case timeout, connection, tls, other }
    var kind: Kind
    var message: String
}

/// Nanoseconds on the monotonic clock.
@inline(__always) func monotonicNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Initialises libcurl once per process, before any handle is made.
private let curlGlobalInit: Bool = {
    curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
}()

/// An HTTP client on libcurl's multi interface, driven by one event-loop thread.
///
/// Jobs are submitted from any thread; at most `maxActive` transfers run at once, the rest
/// wait in arrival order (or until their `notBefore` time, for retries with backoff). An
/// optional ``RateLimiter`` is asked before each transfer starts. Completion handlers run on
/// the loop thread and must be quick: they hand results elsewhere or resubmit.
///
/// All libcurl handles are touched only by the loop thread; `submit` crosses threads through a
/// mutex-protected inbox and `curl_multi_wakeup`.
final class HTTPEngine: @unchecked Sendable {
    struct Job: Sendable {
        var request: HTTPRequest
        /// Estimated tokens, for a tokens-per-minute limit.
        var cost: Double
        /// Monotonic nanoseconds before which the job must not start.
        var notBefore: UInt64
        /// Checked when the job would start; a cancelled job completes with an error instead.
        var isCancelled: (@Sendable () -> Bool)?
        var completion: @Sendable (HTTPResponse) -> Void
    }

    private struct Inbox: ~Copyable {
        var jobs: [Job] = []
        var stopping = false
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    private let maxActive: Int
    private let limiter: RateLimiter?
    private let stopped = DispatchSemaphore(value: 0)
    private var thread: Thread?

    // Loop-thread state.
    private var ready: [Job] = []
    private var readyHead = 0
    private var delayed: [Job] = []  // a min-heap on notBefore
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private var spareHandles: [UnsafeMutableRawPointer] = []

    /// Transfers running now (read from any thread; approximate).
    let activeCount = Atomic<Int>(0)
    /// The loop thread's id, so `shutdown` called from a completion handler does not wait for itself.
    private let loopThread = Atomic<UInt>(0)

    init(maxActive: Int, limiter: RateLimiter?) throws {
        precondition(maxActive >= 1)
        guard curlGlobalInit, let m = curl_multi_init() else {
            throw LLMError.setup("libcurl could not be initialised")
        }
        multi = m
        self.maxActive = maxActive
        self.limiter = limiter
        _ = sluice_multi_setopt_long(m, CURLMOPT_MAXCONNECTS, maxActive + 8)
        let t = Thread { [self] in
            loopThread.store(UInt(pthread_self()), ordering: .releasing)
            loop()
            stopped.signal()
        }
        t.name = "sluice-llm-http"
        t.stackSize = 1 << 20
        thread = t
        t.start()
    }

    deinit {
        curl_multi_cleanup(multi)
    }

    /// Queues a job; its completion runs on the loop thread.
    func submit(_ job: Job) {
        let accepted = inbox.withLock { box -> Bool in
            if box.stopping { return false }
            box.jobs.append(job)
            return true
        }
        if accepted {
            curl_multi_wakeup(multi)
        } else {
            var r = HTTPResponse()
            r.transportError = TransportError(kind: .other, message: "the LLM client was shut down")
            job.completion(r)
        }
    }

    /// Stops the loop: running and waiting jobs complete with an error. Waits for the thread,
    /// unless called on it (from a completion handler), where it only asks it to stop.
    func shutdown() {
        let first = inbox.withLock { box -> Bool in
            if box.stopping { return false }
            box.stopping = true
            return true
        }
        guard first else { return }
        curl_multi_wakeup(multi)
        if loopThread.load(ordering: .acquiring) == UInt(pthread_self()) { return }
        stopped.wait()
    }

    // MARK: - The loop

    private func loop() {
        var stillRunning: Int32 = 0
        while true {
            let (incoming, stopping) = inbox.withLock { box -> ([Job], Bool) in
                let j = box.jobs
                box.jobs.removeAll(keepingCapacity: true)
                return (j, box.stopping)
            }
            if stopping {
                drainOnShutdown(incoming)
                return
            }
            let now = monotonicNow()
            for job in incoming {
                if job.notBefore > now { pushDelayed(job) } else { ready.append(job) }
            }
            while let top = delayed.first, top.notBefore <= now { ready.append(popDelayed()) }

            var waitForLimiter: UInt64?
            while active.count < maxActive && readyHead < ready.count {
                if let limiter {
                    let wait = limiter.reserve(cost: ready[readyHead].cost, now: now)
                    if wait > 0 {
                        waitForLimiter = wait
                        break
                    }
                }
                let job = ready[readyHead]
                readyHead += 1
                start(job)
            }
            if readyHead > 1024 && readyHead * 2 > ready.count {
                ready.removeFirst(readyHead)
                readyHead = 0
            }
            activeCount.store(active.count, ordering: .relaxed)

            curl_multi_perform(multi, &stillRunning)
            var left: Int32 = 0
            while let msg = curl_multi_info_read(multi, &left) {
                var easy: UnsafeMutableRawPointer?
                var code = CURLE_OK
                if sluice_msg_done(msg, &easy, &code) != 0, let easy {
                    finish(easy, code: code)
                }
            }
            activeCount.store(active.count, ordering: .relaxed)

            // Sleep until a socket is ready, curl's own timer, the next delayed job, the rate
            // limiter, or a wakeup.
            var timeout: Int = 1000
            var curlTimeout: Int = -1
            curl_multi_timeout(multi, &curlTimeout)
            if curlTimeout >= 0 { timeout = min(timeout, curlTimeout) }
            let after = monotonicNow()
            if let top = delayed.first {
                timeout = min(timeout, Int((top.notBefore &- min(top.notBefore, after)) / 1_000_000) + 1)
            }
            if let w = waitForLimiter { timeout = min(timeout, Int(w / 1_000_000) + 1) }
            if readyHead < ready.count && active.count < maxActive && waitForLimiter == nil { timeout = 0 }
            if timeout > 0 {
                curl_multi_poll(multi, nil, 0, Int32(timeout), nil)
            }
        }
    }

    private func drainOnShutdown(_ incoming: [Job]) {
        var r = HTTPResponse()
        r.transportError = TransportError(kind: .other, message: "the LLM client was shut down")
        for (easy, t) in active {
            curl_multi_remove_handle(multi, easy)
            curl_easy_cleanup(easy)
            t.release()
            t.job.completion(r)
        }
        active.removeAll()
        for job in ready[readyHead...] { job.completion(r) }
        for job in delayed { job.completion(r) }
        for job in incoming { job.completion(r) }
        ready.removeAll()
        readyHead = 0
        delayed.removeAll()
        for h in spareHandles { curl_easy_cleanup(h) }
        spareHandles.removeAll()
    }

    // MARK: Transfers

    private func start(_ job: Job) {
        if let c = job.isCancelled, c() {
            var r = HTTPResponse()
            r.transportError = TransportError(kind: .other, message: "cancelled")
            job.completion(r)
            return
        }
        let easy: UnsafeMutableRawPointer
        if let h = spareHandles.popLast() {
            curl_easy_reset(h)
            easy = h
        } else if let h = curl_easy_init() {
            easy = h
        } else {
            var r = HTTPResponse()
            r.transportError = TransportError(kind: .other, message: "libcurl could not make a transfer handle")
            job.completion(r)
            return
        }
        let t = Transfer(job: job)
        let ud = Unmanaged.passUnretained(t).toOpaque()
        let req = job.request
        _ = sluice_easy_setopt_str(easy, CURLOPT_URL, req.url)
        _ = sluice_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = sluice_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(1, req.timeoutMilliseconds))
        _ = sluice_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, max(1, req.connectTimeoutMilliseconds))
        _ = sluice_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        _ = sluice_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        _ = sluice_easy_setopt_str(easy, CURLOPT_ACCEPT_ENCODING, "")
        _ = sluice_easy_setopt_ptr(easy, CURLOPT_ERRORBUFFER, t.errorBuffer)
        _ = sluice_easy_setopt_datacb(easy, CURLOPT_WRITEFUNCTION, transferWrite)
        _ = sluice_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, ud)
        _ = sluice_easy_setopt_datacb(easy, CURLOPT_HEADERFUNCTION, transferHeader)
        _ = sluice_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, ud)
        var list: UnsafeMutablePointer<curl_slist>?
        for h in req.headers { list = curl_slist_append(list, h) }
        list = curl_slist_append(list, "Expect:")  // no 100-continue round trip
        t.headerList = list
        _ = sluice_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
        switch req.method {
        case .get:
            _ = sluice_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case .post:
            _ = sluice_easy_setopt_long(easy, CURLOPT_POST, 1)
            _ = sluice_easy_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(req.body.count))
            req.body.withUnsafeBytes { raw in
                _ = sluice_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
        }
        t.started = monotonicNow()
        active[easy] = t
        curl_multi_add_handle(multi, easy)
    }

    private func finish(_ easy: UnsafeMutableRawPointer, code: CURLcode) {
        curl_multi_remove_handle(multi, easy)
        guard let t = active.removeValue(forKey: easy) else {
            curl_easy_cleanup(easy)
            return
        }
        var r = HTTPResponse()
        r.seconds = Double(monotonicNow() &- t.started) / 1e9
        if code == CURLE_OK {
            var status = 0
            _ = sluice_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            r.status = status
            r.body = t.body
            r.retryAfter = t.requestedWait
            r.shouldRetry = t.shouldRetry
        } else {
            var detail = String(cString: t.errorBuffer)
            if detail.isEmpty { detail = String(cString: curl_easy_strerror(code)) }
            let kind: TransportError.Kind
            switch code {
            case CURLE_OPERATION_TIMEDOUT: kind = .timeout
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_GOT_NOTHING,
                CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE:
                kind = .connection
            case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
                CURLE_SSL_CACERT_BADFILE:
                kind = .tls
            default: kind = .other
            }
            r.transportError = TransportError(kind: kind, message: detail)
        }
        t.release()
        if spareHandles.count < maxActive { spareHandles.append(easy) } else { curl_easy_cleanup(easy) }
        t.job.completion(r)
    }

    // MARK: Delayed heap

    private func pushDelayed(_ job: Job) {
        delayed.append(job)
        var i = delayed.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if delayed[p].notBefore <= delayed[i].notBefore { break }
            delayed.swapAt(p, i)
            i = p
        }
    }

    private func popDelayed() -> Job {
        let top = delayed[0]
        let last = delayed.removeLast()
        if !delayed.isEmpty {
            delayed[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < delayed.count && delayed[l].notBefore < delayed[m].notBefore { m = l }
                if r < delayed.count && delayed[r].notBefore < delayed[m].notBefore { m = r }
                if m == i { break }
                delayed.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}

/// The state of one running transfer; touched only by the loop thread (and by libcurl's
/// callbacks, which run on it).
final class Transfer {
    let job: HTTPEngine.Job
    var body: [UInt8] = []
    var retryAfter: Double?
    var retryAfterMilliseconds: Double?
    var shouldRetry: Bool?
    var started: UInt64 = 0
    var headerList: UnsafeMutablePointer<curl_slist>?
    let errorBuffer: UnsafeMutablePointer<CChar>
    /// Responses larger than this are cut off (a protection against a runaway server).
    static let maxBodyBytes = 64 << 20

    init(job: HTTPEngine.Job) {
        self.job = job
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    func release() {
        if let headerList { curl_slist_free_all(headerList) }
        headerList = nil
    }

    deinit {
        errorBuffer.deallocate()
        if let headerList { curl_slist_free_all(headerList) }
    }

    /// One header line from libcurl (status lines included, one call per line).
    func header(_ line: UnsafeRawBufferPointer) {
        // A new status line (after a 100 Continue or a redirect) starts a new header block.
        if line.count >= 5 && line[0] == UInt8(ascii: "H") && line[1] == UInt8(ascii: "T") && line[2] == UInt8(ascii: "T")
            && line[3] == UInt8(ascii: "P") && line[4] == UInt8(ascii: "/")
        {
            retryAfter = nil
            retryAfterMilliseconds = nil
            shouldRetry = nil
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = String(decoding: line[0..<colon], as: UTF8.self).lowercased()
        guard name == "retry-after" || name == "retry-after-ms" || name == "x-should-retry" else { return }
        let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        switch name {
        case "retry-after-ms":
            if let ms = Double(value), ms >= 0 { retryAfterMilliseconds = ms }
        case "retry-after":
            if let s = Double(value), s >= 0 {
                retryAfter = s
            } else if let date = parseHTTPDate(value) {
                retryAfter = max(0, date.timeIntervalSinceNow)
            }
        default:
            shouldRetry = value.lowercased() == "true" ? true : value.lowercased() == "false" ? false : nil
        }
    }
}

extension Transfer {
    /// The server's requested wait: `retry-after-ms` wins over `Retry-After`.
    var requestedWait: Double? { retryAfterMilliseconds.map { $0 / 1000 } ?? retryAfter }
}

private func parseHTTPDate(_ s: String) -> Date? {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    return f.date(from: s)
}

private let transferWrite: sluice_curl_data_callback = { ptr, size, nmemb, userdata in
    let n = size * nmemb
    guard let userdata, let ptr else { return n }
    let t = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    if t.body.count + n > Transfer.maxBodyBytes { return 0 }
    t.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: n))
    return n
}

private let transferHeader: sluice_curl_data_callback = { ptr, size, nmemb, userdata in
    let n = size * nmemb
    guard let userdata, let ptr else { return n }
    let t = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    t.header(UnsafeRawBufferPointer(start: ptr, count: n))
    return n
}
