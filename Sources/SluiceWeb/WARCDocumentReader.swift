import SluiceCore
import SluiceIO

/// Options of the `warc` input type: the keys of the pipeline's `input` block besides `type`,
/// `paths` and the common ones.
///
/// ```yaml
/// input:
///   type: warc
///   paths: ["crawl/*.warc.gz"]
///   record_types: [response, resource, conversion]
///   mime_types: [text/html, application/xhtml+xml]
///   http_statuses: [200]
///   max_record_bytes: 64MiB
/// ```
public struct WARCReaderOptions: Decodable, Sendable {
    /// Record types read as documents (`response`, `resource`, `conversion`); other records
    /// (requests, metadata, warcinfo, revisits) are counted and passed over.
    public var recordTypes: [String]
    /// Payload MIME types kept from `response` and `resource` records; `type/*` matches a whole
    /// type. WET `conversion` records are text and always kept.
    public var mimeTypes: [String]
    /// HTTP statuses kept from `response` records; an empty list keeps every status.
    public var httpStatuses: [Int]
    /// Records larger than this (the whole record block) are skipped as `too_large` without
    /// being read into memory; so are payloads that decompress past it.
    public var maxRecordBytes: ByteSize
    /// The `source` of every document; nil derives it from the file name. Set by the executor
    /// from `input.source`, not a YAML key of its own.
    public var source: String?

    public static let defaultRecordTypes = ["response", "resource", "conversion"]
    public static let defaultMimeTypes = ["text/html", "application/xhtml+xml"]

    enum CodingKeys: String, CodingKey {
        case recordTypes = "record_types", mimeTypes = "mime_types", httpStatuses = "http_statuses"
        case maxRecordBytes = "max_record_bytes"
    }

    /// Every key, for the pipeline loader's messages and documentation.
    public static let options: [StageOption] = [
        StageOption("record_types", "[string]", default: "[response, resource, conversion]",
                    help: "WARC record types read as documents; others (request, metadata, warcinfo, revisit) are counted and passed over."),
        StageOption("mime_types", "[string]", default: "[text/html, application/xhtml+xml]",
                    help: "Payload MIME types kept from response and resource records ('text/*' matches a whole type); WET conversion records are always kept."),
        StageOption("http_statuses", "[int]", default: "[200]", help: "HTTP statuses kept from response records; [] keeps all."),
        StageOption("max_record_bytes", "size", default: "64MiB",
                    help: "Larger records (or payloads that decompress past it) are skipped as too_large without being held in memory."),
    ]

    /// Reasons a record is counted as dropped by the reader.
    public static let dropReasons: [DropReason] = [
        "truncated_record", "too_large", "not_selected", "binary_content", "bad_charset", "bad_content_encoding", "invalid_http", "empty",
    ]

    public init(
        recordTypes: [String] = defaultRecordTypes, mimeTypes: [String] = defaultMimeTypes, httpStatuses: [Int] = [200],
        maxRecordBytes: ByteSize = ByteSize(bytes: 64 << 20), source: String? = nil
    ) {
        self.recordTypes = recordTypes
        self.mimeTypes = mimeTypes
        self.httpStatuses = httpStatuses
        self.maxRecordBytes = maxRecordBytes
        self.source = source
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        recordTypes = try c.decodeIfPresent([String].self, forKey: .recordTypes) ?? Self.defaultRecordTypes
        mimeTypes = try c.decodeIfPresent([String].self, forKey: .mimeTypes) ?? Self.defaultMimeTypes
        httpStatuses = try c.decodeIfPresent([Int].self, forKey: .httpStatuses) ?? [200]
        maxRecordBytes = try c.decodeIfPresent(ByteSize.self, forKey: .maxRecordBytes) ?? ByteSize(bytes: 64 << 20)
        source = nil
        let known: Set<String> = ["response", "resource", "conversion"]
        for t in recordTypes where !known.contains(t.lowercased()) {
            throw DecodingError.dataCorruptedError(
                forKey: .recordTypes, in: c,
                debugDescription: "unknown record type '\(t)'; documents come from response, resource and conversion records")
        }
        if recordTypes.isEmpty {
            throw DecodingError.dataCorruptedError(forKey: .recordTypes, in: c, debugDescription: "needs at least one record type")
        }
        for m in mimeTypes where !m.contains("/") {
            throw DecodingError.dataCorruptedError(
                forKey: .mimeTypes, in: c, debugDescription: "'\(m)' is not a MIME type (write it as type/subtype, or type/*)")
        }
        for s in httpStatuses where s < 100 || s > 999 {
            throw DecodingError.dataCorruptedError(forKey: .httpStatuses, in: c, debugDescription: "\(s) is not an HTTP status")
        }
        if maxRecordBytes.bytes < 1 {
            throw DecodingError.dataCorruptedError(forKey: .maxRecordBytes, in: c, debugDescription: "must be at least 1 byte")
        }
    }
}

/// What ``WARCDocumentReader/next()`` returns.
public enum WARCReadResult: Sendable {
    /// A document: `text` is the page decoded to UTF-8 (HTML for `response` and `resource`
    /// records, plain text for WET `conversion` records).
    case document(Document)
    /// A record that was read but gives no document: count it as dropped with this reason.
    /// The string says which record and why.
    case skipped(DropReason, String)
    /// Damaged input. When ``WARCProblem/lostRecord`` is true a record was lost: count it as
    /// dropped (`truncated_record`); always report the problem.
    case damaged(WARCProblem)
    /// A record of a type that is not read (request, metadata, warcinfo, …): not a document;
    /// count it under this counter name (`warc_request_records`, …).
    case ignored(counter: String)
}

/// Reads documents from one WARC or WET file (`.warc`, `.warc.gz` with a gzip member per record
/// or gzipped whole, `.warc.zst`, with or without a dictionary).
///
/// - `response` records: the HTTP status line and headers are parsed, `Transfer-Encoding:
///   chunked` and `Content-Encoding: gzip/deflate` undone, and the payload decoded to UTF-8 from
///   the charset of the HTTP `Content-Type`, a byte-order mark, or the page's `<meta>`, checked
///   against the bytes and detected when missing (see ``CharsetDecoder``).
/// - `resource` records: the block is the payload, typed by the record's `Content-Type`.
/// - `conversion` records (WET): the block is UTF-8 text.
///
/// Each document has `id` = the `WARC-Record-ID` (without angle brackets) and metadata `url`,
/// `warc_date`, `content_type` (MIME type without parameters), `charset` (the WHATWG name of
/// the encoding used), `http_status`, `warc_file` and `warc_offset`: the on-disk offset of the
/// gzip member or zstd frame holding the record (of the record itself in a plain file), plus
/// `warc_offset_in_member` when the record does not start its member (whole-file gzip), so
/// `tail -c +$((warc_offset+1)) FILE | zcat | tail -c +$((warc_offset_in_member+1))` shows the
/// record. `warc_truncated` copies `WARC-Truncated` when the crawler cut the payload.
///
/// Not `Sendable`: one reader per file, used by one thread.
public final class WARCDocumentReader {
    public let path: String
    public let options: WARCReaderOptions
    private let records: WARCRecordReader
    private let charsets = CharsetDecoder()
    private let wantedTypes: Set<String>
    private let exactMimes: Set<String>
    private let mimePrefixes: [String]
    private let statuses: Set<Int>
    private let fileName: String
    private let source: String

    /// Opens `path`.
    /// - Throws: `FileError` when the file cannot be opened or read.
    public init(path: String, options: WARCReaderOptions) throws {
        self.path = path
        self.options = options
        let types = Set(options.recordTypes.map { $0.lowercased() })
        wantedTypes = types
        records = WARCRecordReader(
            input: try WARCByteInput(path: path), maxRecordBytes: options.maxRecordBytes.bytes,
            wantsType: { types.contains($0) })
        var exact = Set<String>()
        var prefixes: [String] = []
        for m in options.mimeTypes.map({ $0.lowercased() }) {
            if m.hasSuffix("/*") { prefixes.append(String(m.dropLast(1))) } else { exact.insert(m) }
        }
        exactMimes = exact
        mimePrefixes = prefixes
        statuses = Set(options.httpStatuses)
        fileName = path
        let base = path.split(separator: "/").last.map(String.init) ?? path
        source = options.source ?? (base.split(separator: ".").first.map(String.init) ?? base)
    }

    /// On-disk bytes read so far (for progress).
    public var compressedBytesRead: Int { records.input.compressedBytesRead }
    /// The file's size on disk.
    public var fileSize: Int { records.input.fileSize }

    /// The next result; nil at the end of the file.
    /// - Throws: `FileError` for I/O failures (damage is a result, not an error).
    public func next() throws -> WARCReadResult? {
        guard let event = try records.next() else { return nil }
        switch event {
        case .damaged(let p):
            return .damaged(p)
        case .skipped(let type, let length, let tooLarge, let headers, let position):
            if !wantedTypes.contains(type) {
                return .ignored(counter: "warc_\(type.isEmpty ? "untyped" : type)_records")
            }
            _ = tooLarge
            return .skipped("too_large", describe(headers, position) + ": \(length)-byte record over max_record_bytes (\(options.maxRecordBytes.bytes))")
        case .record(let r):
            return convert(r)
        }
    }

    private func describe(_ headers: HeaderFields, _ position: WARCPosition) -> String {
        "\(path): record at byte \(position.offset)" + (headers["WARC-Target-URI"].map { " (\($0))" } ?? "")
    }

    private func mimeSelected(_ mime: String) -> Bool {
        if exactMimes.contains(mime) { return true }
        for p in mimePrefixes where mime.hasPrefix(p) { return true }
        return false
    }

    private func convert(_ r: WARCRecord) -> WARCReadResult {
        let where_ = { self.describe(r.headers, r.position) }
        var metadata = JSONObject()
        let url = r.headers["WARC-Target-URI"].map(stripAngleBrackets) ?? ""
        metadata["url"] = .string(url)
        metadata["warc_date"] = r.headers["WARC-Date"].map { .string($0) } ?? .null

        var payload: [UInt8]
        var mime: String
        var declaredCharset: String?
        var status: Int?
        let isText: Bool
        switch r.type {
        case "response":
            guard let http = HTTPResponse.parse(r.block) else {
                return .skipped("invalid_http", where_() + ": block does not start with an HTTP status line")
            }
            status = http.status
            if !statuses.isEmpty && !statuses.contains(http.status) {
                return .skipped("not_selected", where_() + ": HTTP status \(http.status)")
            }
            var body = Array(r.block[http.bodyStart...])
            if let te = http.headers["Transfer-Encoding"], te.lowercased().contains("chunked"), let plain = dechunk(body[...]) {
                body = plain
            }
            switch decodeContent(body, encoding: http.headers["Content-Encoding"], maxBytes: options.maxRecordBytes.bytes) {
            case .decoded(let b): body = b
            case .tooLarge:
                return .skipped("too_large", where_() + ": payload decompresses past max_record_bytes")
            case .unsupported(let e):
                return .skipped("bad_content_encoding", where_() + ": unsupported Content-Encoding '\(e)'")
            case .failed(let m):
                return .skipped("bad_content_encoding", where_() + ": cannot undo Content-Encoding: \(m)")
            }
            payload = body
            let contentType = http.headers["Content-Type"]
            mime = contentType.map(mimeType) ?? ""
            declaredCharset = contentType.flatMap { charsetParameter(ofContentType: $0.utf8) }
            if mime.isEmpty || mime == "application/octet-stream" || mime == "unknown/unknown" {
                mime = r.headers["WARC-Identified-Payload-Type"].map(mimeType) ?? mime
                if mime.isEmpty || mime == "application/octet-stream", looksLikeHTML(payload) { mime = "text/html" }
            }
            isText = false
        case "resource":
            payload = r.block
            let contentType = r.headers["Content-Type"]
            mime = contentType.map(mimeType) ?? ""
            declaredCharset = contentType.flatMap { charsetParameter(ofContentType: $0.utf8) }
            if mime.isEmpty || mime == "application/octet-stream", looksLikeHTML(payload) { mime = "text/html" }
            isText = false
        default:  // conversion (WET)
            payload = r.block
            mime = r.headers["Content-Type"].map(mimeType) ?? "text/plain"
            if mime.isEmpty { mime = "text/plain" }
            declaredCharset = "utf-8"
            isText = true
        }
        if !isText && !mimeSelected(mime) {
            return .skipped("not_selected", where_() + ": MIME type '\(mime.isEmpty ? "unknown" : mime)'")
        }
        if payload.isEmpty {
            return .skipped("empty", where_() + ": empty payload")
        }
        if !isText && looksBinary(payload) {
            return .skipped("binary_content", where_() + ": binary payload labelled \(mime)")
        }
        let isHTML = !isText && (mime.contains("html") || mime.contains("xml"))
        guard let decoded = payload.withUnsafeBytes({ charsets.decode($0, declared: declaredCharset, isHTML: isHTML) }) else {
            return .skipped("bad_charset", where_() + ": cannot decode the payload's charset (\(declaredCharset ?? "undeclared"))")
        }
        metadata["content_type"] = .string(mime)
        metadata["charset"] = .string(decoded.encoding.name)
        metadata["http_status"] = status.map { .int($0) } ?? .null
        metadata["warc_file"] = .string(fileName)
        metadata["warc_offset"] = .int(r.position.offset)
        if r.position.offsetInMember > 0 { metadata["warc_offset_in_member"] = .int(r.position.offsetInMember) }
        if let t = r.headers["WARC-Truncated"] { metadata["warc_truncated"] = .string(t) }
        let id = r.headers["WARC-Record-ID"].map(stripAngleBrackets) ?? "\(path):\(r.position.offset)"
        let text = String(decoding: decoded.utf8, as: UTF8.self)
        return .document(Document(id: id, text: text, source: source, metadata: metadata))
    }
}

/// The MIME type of a `Content-Type` value: lowercased, parameters removed.
func mimeType(_ contentType: String) -> String {
    let main = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    return main.trimmingCharacters(in: " \t").lowercased()
}

func stripAngleBrackets(_ s: String) -> String {
    var t = s[...]
    if t.hasPrefix("<") { t = t.dropFirst() }
    if t.hasSuffix(">") { t = t.dropLast() }
    return String(t)
}

/// An HTML-looking start: optional whitespace or BOM, then `<!doctype html`, `<html`, `<head`,
/// a comment, or markup with `<body` or `<p` in the first 1 KB.
func looksLikeHTML(_ payload: [UInt8]) -> Bool {
    let head = Array(payload.prefix(1024))
    for needle in ["<!doctype html", "<html", "<head", "<body", "<title", "<p>", "<div"] {
        if findCaseInsensitive(head, needle, from: 0) != nil { return true }
    }
    return false
}

/// Binary data labelled as text: known magic numbers, or NUL bytes in the first 1 KB
/// (UTF-16 text with a BOM excepted).
func looksBinary(_ payload: [UInt8]) -> Bool {
    if payload.count >= 2 && ((payload[0] == 0xFF && payload[1] == 0xFE) || (payload[0] == 0xFE && payload[1] == 0xFF)) {
        return false
    }
    let magics: [[UInt8]] = [
        [0x89, 0x50, 0x4E, 0x47], Array("%PDF".utf8), [0x50, 0x4B, 0x03, 0x04], Array("GIF8".utf8), [0xFF, 0xD8, 0xFF],
        [0x1F, 0x8B], [0x28, 0xB5, 0x2F, 0xFD], Array("RIFF".utf8), [0x00, 0x00, 0x01, 0x00], Array("wOFF".utf8),
    ]
    for m in magics where payload.count >= m.count && Array(payload.prefix(m.count)) == m { return true }
    var nul = 0
    for b in payload.prefix(1024) where b == 0 { nul += 1 }
    return nul > 0
}
