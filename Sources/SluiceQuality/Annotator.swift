import Foundation
import SluiceCore
import SluiceIO
import SluiceLLM

/// The LLM-judge step of the quality loop: sends a deterministic sample of documents to an
/// OpenAI-compatible endpoint with a ``Rubric``, reads each reply's score and writes labelled
/// JSONL for `sluice quality train`.
///
/// Output records (one JSON object per line, in sample order, so reruns give the same file):
///
/// ```json
/// {"id": "...", "score": 3, "text": "<what was sent>", "source": {"file": "...", "line": 12},
///  "characters": 5120, "rubric": "educational_value", "threshold": 3, "model": "..."}
/// ```
/// (`threshold`: the rubric's cut-off, which `sluice quality train` uses when given none) with
/// `"reply"` added under ``Options/includeReply``, and `text` the whole document under
/// ``TextField/full`` or left out under ``TextField/none`` (the `source` pointer stays).
/// Replies with no readable score go to a second file, with the reply, the reason and any
/// number found, for inspection; requests that failed after their retries are counted and
/// listed there too.
///
/// Replies are cached (``ResponseCache``, keyed by the document id, the rubric's fingerprint,
/// the model and the exact request body), so an interrupted or repeated run only pays for
/// what it has not yet received.
public enum Annotator {
    /// What goes into each record's `text`.
    public enum TextField: String, Sendable, CaseIterable {
        /// The characters sent to the judge (the default: what the score is about).
        case prefix
        /// The whole document.
        case full
        /// No text; only the `source` pointer.
        case none
    }

    public struct Options: Sendable {
        public var inputs: [String]
        public var output: String
        /// Where unparseable replies and failed requests go; default `OUTPUT` with
        /// `.unparseable.jsonl` instead of its extension.
        public var unparseableOutput: String?
        public var rubric: Rubric
        public var endpoint: LLMEndpoint
        public var sampleSize: Int
        public var seed: UInt64
        public var maxChars: Int
        public var text: TextField
        public var includeReply: Bool
        public var cacheDirectory: String?
        public var mapping: DocumentFieldMapping

        public init(
            inputs: [String], output: String, rubric: Rubric = .educationalValue, endpoint: LLMEndpoint, sampleSize: Int = 1000, seed: UInt64 = 0,
            maxChars: Int = 1000, text: TextField = .prefix, includeReply: Bool = false, cacheDirectory: String? = ".sluice-cache/annotate",
            unparseableOutput: String? = nil, mapping: DocumentFieldMapping = DocumentFieldMapping()
        ) {
            self.inputs = inputs
            self.output = output
            self.rubric = rubric
            self.endpoint = endpoint
            self.sampleSize = sampleSize
            self.seed = seed
            self.maxChars = maxChars
            self.text = text
            self.includeReply = includeReply
            self.cacheDirectory = cacheDirectory
            self.unparseableOutput = unparseableOutput
            self.mapping = mapping
        }

        /// The unparseable-replies path actually used.
        public var unparseablePath: String {
            if let u = unparseableOutput { return u }
            for ext in [".jsonl.zst", ".jsonl.gz", ".jsonl", ".json"] where output.hasSuffix(ext) {
                return String(output.dropLast(ext.count)) + ".unparseable.jsonl"
            }
            return output + ".unparseable.jsonl"
        }
    }

    public struct Summary: Sendable {
        public var documentsRead = 0
        public var sampled = 0
        public var cacheHits = 0
        public var requested = 0
        public var scored = 0
        /// Unparseable replies by reason (`no_score`, `out_of_range`, `not_integer`, `empty_reply`).
        public var unparseable: [String: Int] = [:]
        /// Requests that failed after their retries (or were refused), by kind.
        public var failed: [String: Int] = [:]
        /// Scored documents per score.
        public var histogram: [Double: Int] = [:]
        public var invalidLines = 0
        public var emptyDocuments = 0
        public var seconds = 0.0
        public var promptTokens = 0
        public var completionTokens = 0

        public var unparseableCount: Int { unparseable.values.reduce(0, +) }
        public var failedCount: Int { failed.values.reduce(0, +) }

        /// A few lines for the terminal.
        public func render(output: String, unparseablePath: String) -> String {
            var lines: [String] = []
            lines.append("annotated \(sampled) of \(documentsRead) documents in \(String(format: "%.1f", seconds)) s (\(cacheHits) from the cache, \(requested) requested)")
            lines.append("scored: \(scored) -> \(output)")
            let hist = histogram.keys.sorted().map { "\(Rubric.format($0)): \(histogram[$0]!)" }.joined(separator: ", ")
            if !hist.isEmpty { lines.append("scores: \(hist)") }
            let u = unparseable.keys.sorted().map { "\($0) \(unparseable[$0]!)" }.joined(separator: ", ")
            lines.append("unparseable: \(unparseableCount)\(u.isEmpty ? "" : " (\(u))")\(unparseableCount + failedCount > 0 ? " -> \(unparseablePath)" : "")")
            if failedCount > 0 {
                lines.append("failed requests: \(failedCount) (\(failed.keys.sorted().map { "\($0) \(failed[$0]!)" }.joined(separator: ", ")))")
            }
            if invalidLines > 0 { lines.append("invalid input lines skipped: \(invalidLines)") }
            if emptyDocuments > 0 { lines.append("blank documents skipped: \(emptyDocuments)") }
            if promptTokens + completionTokens > 0 { lines.append("tokens: \(promptTokens) in, \(completionTokens) out") }
            return lines.joined(separator: "\n")
        }

        public var json: JSONValue {
            var o = JSONObject()
            o["documents_read"] = .int(documentsRead)
            o["sampled"] = .int(sampled)
            o["cache_hits"] = .int(cacheHits)
            o["requested"] = .int(requested)
            o["scored"] = .int(scored)
            o["unparseable"] = .int(unparseableCount)
            var ur = JSONObject()
            for k in unparseable.keys.sorted() { ur[k] = .int(unparseable[k]!) }
            o["unparseable_by_reason"] = .object(ur)
            o["failed"] = .int(failedCount)
            var h = JSONObject()
            for k in histogram.keys.sorted() { h[Rubric.format(k)] = .int(histogram[k]!) }
            o["histogram"] = .object(h)
            o["seconds"] = .double((seconds * 1000).rounded() / 1000)
            return .object(o)
        }
    }

    /// The cache key of one document's request.
    static func cacheKey(id: String, rubric: Rubric, endpoint: LLMEndpoint, body: [UInt8]) -> CacheKey {
        CacheKey(parts: [
            "annotate", id, rubric.name, String(rubric.version), rubric.fingerprint, endpoint.model, endpoint.api.rawValue,
            hex64(XXH64.hash(body)),
        ])
    }

    /// Runs the annotation; `log` hears progress lines (for standard error).
    ///
    /// - Throws: ``LLMError`` when the endpoint is down or refuses the key (after waiting for
    ///   it to be ready), ``InputListingError`` or I/O errors for the inputs and outputs.
    public static func run(_ options: Options, environment: [String: String] = ProcessInfo.processInfo.environment, log: @escaping (String) -> Void) throws -> Summary {
        let started = Date()
        var summary = Summary()
        let rubric = options.rubric
        try rubric.validate()
        try options.endpoint.validate()
        let files = try DocumentSample.resolveInputs(options.inputs)
        log("sampling \(options.sampleSize) documents (seed \(options.seed)) from \(files.count) file\(files.count == 1 ? "" : "s")")
        let sample = try DocumentSample.draw(
            files: files, size: options.sampleSize, seed: options.seed, maxChars: options.maxChars, keepFullText: options.text == .full,
            mapping: options.mapping, log: log)
        summary.documentsRead = sample.read
        summary.sampled = sample.documents.count
        summary.invalidLines = sample.invalidLines
        summary.emptyDocuments = sample.emptyDocuments
        let docs = sample.documents
        log("sampled \(docs.count) of \(sample.read) documents; judging with rubric \(rubric.name) v\(rubric.version) at \(LLMEndpoint.redacted(options.endpoint.completionURL)) (model \(options.endpoint.model))")

        let requests = docs.map { rubric.request(id: $0.id, text: $0.prefix, maxChars: options.maxChars) }
        var replies = [LLMReply?](repeating: nil, count: docs.count)
        var failures = [String?](repeating: nil, count: docs.count)
        var keys = [CacheKey?](repeating: nil, count: docs.count)
        let cache = try options.cacheDirectory.map { try ResponseCache(directory: $0) }
        var pending: [Int] = []
        for i in docs.indices {
            if let cache {
                let key = cacheKey(id: docs[i].id, rubric: rubric, endpoint: options.endpoint, body: LLMClient.requestBody(endpoint: options.endpoint, request: requests[i]))
                keys[i] = key
                if let bytes = cache.value(for: key), let r = LLMReply(cacheBytes: bytes) {
                    replies[i] = r
                    summary.cacheHits += 1
                    continue
                }
            }
            pending.append(i)
        }
        if !pending.isEmpty {
            let client = try LLMClient(endpoint: options.endpoint, environment: environment)
            defer { client.shutdown() }
            try client.waitUntilReady(log: log)
            let chunk = max(256, options.endpoint.maxInFlight * 8)
            var done = 0
            var lastLog = Date()
            var start = 0
            while start < pending.count {
                let part = Array(pending[start..<min(pending.count, start + chunk)])
                start += part.count
                try client.complete(part.map { requests[$0] }) { k, outcome in
                    let i = part[k]
                    summary.requested += 1
                    switch outcome.result {
                    case .success(let reply):
                        replies[i] = reply
                        if let cache, let key = keys[i] {
                            try cache.store(reply.cacheBytes(context: ["doc_id": .string(docs[i].id), "rubric": .string(rubric.name)]), for: key)
                        }
                    case .failure(.failed(let kind, let attempts, let message)):
                        failures[i] = "\(kind) after \(attempts) attempts: \(message)"
                        summary.failed[kind, default: 0] += 1
                    case .failure(.rejected(let status, let message)):
                        failures[i] = "refused (HTTP \(status)): \(message)"
                        summary.failed["refused", default: 0] += 1
                    case .failure(let e):
                        throw e
                    }
                    done += 1
                    if Date().timeIntervalSince(lastLog) >= 2 {
                        lastLog = Date()
                        let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
                        log("judged \(done + summary.cacheHits)/\(docs.count) (\(summary.cacheHits) cached), \(String(format: "%.1f", rate)) requests/s, \(summary.failedCount) failed")
                    }
                }
            }
            cache?.flush()
            let s = client.statistics
            summary.promptTokens = s.promptTokens
            summary.completionTokens = s.completionTokens
        }

        // Parse and write, in sample order.
        let parser = rubric.parser
        var out: [UInt8] = []
        var bad: [UInt8] = []
        for i in docs.indices {
            let d = docs[i]
            var source = JSONObject()
            source["file"] = .string(d.file)
            source["line"] = .int(d.line)
            guard let reply = replies[i] else {
                var o = JSONObject()
                o["id"] = .string(d.id)
                o["reason"] = .string("request_failed")
                o["error"] = .string(failures[i] ?? "no reply")
                o["source"] = .object(source)
                appendJSON(.object(o), to: &bad)
                bad.append(10)
                continue
            }
            switch parser.parse(reply.text) {
            case .score(let score):
                summary.scored += 1
                summary.histogram[score, default: 0] += 1
                var o = JSONObject()
                o["id"] = .string(d.id)
                o["score"] = .double(score)
                switch options.text {
                case .prefix: o["text"] = .string(d.prefix)
                case .full: o["text"] = .string(d.fullText ?? d.prefix)
                case .none: break
                }
                o["source"] = .object(source)
                o["characters"] = .int(d.characters)
                o["rubric"] = .string(rubric.name)
                if let t = rubric.threshold { o["threshold"] = .double(t) }
                o["model"] = .string(options.endpoint.model)
                if options.includeReply { o["reply"] = .string(reply.text) }
                appendJSON(.object(o), to: &out)
                out.append(10)
            case .unparseable(let reason, let found):
                summary.unparseable[reason, default: 0] += 1
                var o = JSONObject()
                o["id"] = .string(d.id)
                o["reason"] = .string(reason)
                if let found { o["found"] = .double(found) }
                o["reply"] = .string(reply.text)
                if reply.finishReason == "length" { o["truncated"] = .bool(true) }
                o["source"] = .object(source)
                appendJSON(.object(o), to: &bad)
                bad.append(10)
            }
        }
        try writeOutput(path: options.output, bytes: out)
        let badPath = options.unparseablePath
        if !bad.isEmpty {
            try writeOutput(path: badPath, bytes: bad)
        } else if FileManager.default.fileExists(atPath: badPath) {
            // A stale file from an earlier run would mislead.
            try? FileManager.default.removeItem(atPath: badPath)
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Writes a file atomically, zstd-compressed when the name ends in `.zst`, creating its folder.
    static func writeOutput(path: String, bytes: [UInt8]) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try InputListing.createDirectories(dir) }
        try writeAtomically(path: path, bytes: path.hasSuffix(".zst") ? try ZstdCompressor.compress(bytes) : bytes)
    }
}
