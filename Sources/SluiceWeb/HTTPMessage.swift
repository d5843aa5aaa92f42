import SluiceIO

/// An HTTP response as stored in a WARC `response` record: status, headers and payload.
struct HTTPResponse {
    var status: Int
    var headers: HeaderFields
    /// Offset of the payload within the record block.
    var bodyStart: Int

    /// Parses the status line and headers at the start of `block`; nil when it does not start
    /// with `HTTP/` or the header block never ends.
    static func parse(_ block: [UInt8]) -> HTTPResponse? {
        guard block.count >= 12, block[0] == UInt8(ascii: "H"), block[1] == UInt8(ascii: "T"),
            block[2] == UInt8(ascii: "T"), block[3] == UInt8(ascii: "P"), block[4] == UInt8(ascii: "/")
        else { return nil }
        var i = 5
        while i < block.count && block[i] != 0x20 && block[i] != 0x0A { i += 1 }
        while i < block.count && block[i] == 0x20 { i += 1 }
        var status = 0
        var digits = 0
        while i < block.count && digits < 3, block[i] >= 0x30 && block[i] <= 0x39 {
            status = status * 10 + Int(block[i] - 0x30)
            i += 1
            digits += 1
        }
        guard digits == 3 else { return nil }
        while i < block.count && block[i] != 0x0A { i += 1 }
        let headerStart = i + 1
        // The blank line.
        var j = headerStart
        if j < block.count && block[j] == 0x0A { return HTTPResponse(status: status, headers: HeaderFields(), bodyStart: j + 1) }
        if j + 1 < block.count && block[j] == 0x0D && block[j + 1] == 0x0A {
            return HTTPResponse(status: status, headers: HeaderFields(), bodyStart: j + 2)
        }
        while j < block.count {
            if block[j] == 0x0A {
                if j + 1 < block.count && block[j + 1] == 0x0A {
                    return HTTPResponse(status: status, headers: .parse(block[headerStart..<j]), bodyStart: j + 2)
                }
                if j + 2 < block.count && block[j + 1] == 0x0D && block[j + 2] == 0x0A {
                    return HTTPResponse(status: status, headers: .parse(block[headerStart..<j]), bodyStart: j + 3)
                }
            }
            j += 1
        }
        // Headers only, no blank line: an empty body.
        return HTTPResponse(status: status, headers: .parse(block[headerStart...]), bodyStart: block.count)
    }
}

/// Undoes `Transfer-Encoding: chunked`. Nil when the body is not validly chunked.
func dechunk(_ body: ArraySlice<UInt8>) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(body.count)
    var i = body.startIndex
    let end = body.endIndex
    while true {
        // Chunk size in hex, optional extensions, CRLF.
        var size = 0
        var digits = 0
        while i < end, let h = hexValue(body[i]) {
            size = size * 16 + h
            if size > Int(Int32.max) { return nil }
            i += 1
            digits += 1
        }
        guard digits > 0 else { return out.isEmpty ? nil : out }  // tolerate a missing last chunk
        while i < end && body[i] != 0x0A { i += 1 }
        i += 1
        if size == 0 { return out }
        guard i <= end else { return nil }
        let take = min(size, end - i)
        out.append(contentsOf: body[i..<(i + take)])
        i += take
        if take < size { return out }  // cut short: keep what arrived
        if i < end && body[i] == 0x0D { i += 1 }
        if i < end && body[i] == 0x0A { i += 1 }
        if i >= end { return out }
    }
}

@inline(__always) private func hexValue(_ c: UInt8) -> Int? {
    switch c {
    case 0x30...0x39: Int(c - 0x30)
    case 0x41...0x46: Int(c - 0x41 + 10)
    case 0x61...0x66: Int(c - 0x61 + 10)
    default: nil
    }
}

/// The result of undoing a `Content-Encoding`.
enum ContentDecoding {
    case decoded([UInt8])
    case tooLarge
    case unsupported(String)
    case failed(String)
}

/// Undoes `Content-Encoding: gzip`, `x-gzip` or `deflate` (zlib or raw); `identity` and an
/// absent header leave the body as it is. A stream cut short keeps what decoded (crawlers
/// truncate large payloads).
func decodeContent(_ body: [UInt8], encoding: String?, maxBytes: Int) -> ContentDecoding {
    guard let raw = encoding?.lowercased(), !raw.isEmpty else { return .decoded(body) }
    let codings = raw.split(separator: ",").map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty && $0 != "identity" }
    guard !codings.isEmpty else { return .decoded(body) }
    guard codings.count == 1 else { return .unsupported(raw) }
    let wrappers: [InflateWrapper]
    switch codings[0] {
    case "gzip", "x-gzip": wrappers = [.gzipOrZlib]
    case "deflate": wrappers = [.zlib, .raw]
    default: return .unsupported(codings[0])
    }
    // Some servers label an already decoded body; crawlers often store it decoded.
    if body.count >= 2 && !(body[0] == 0x1F && body[1] == 0x8B) && codings[0] != "deflate" {
        if looksLikeText(body) { return .decoded(body) }
    }
    var lastError = "empty body"
    for w in wrappers {
        let result: InflateStream.Result
        do {
            result = try body.withUnsafeBytes { try InflateStream.inflateAll($0, wrapper: w, maxOutputBytes: maxBytes) }
        } catch {
            return .failed("\(error)")
        }
        if result.isTooLarge { return .tooLarge }
        if result.isComplete || (!result.bytes.isEmpty && result.error?.kind == .truncated) { return .decoded(result.bytes) }
        if !result.bytes.isEmpty && result.bytes.count >= 512 { return .decoded(result.bytes) }
        lastError = result.error?.message ?? "undecodable"
    }
    if looksLikeText(body) { return .decoded(body) }
    return .failed(lastError)
}

/// Whether the first bytes look like text markup rather than compressed or binary data.
func looksLikeText(_ body: [UInt8]) -> Bool {
    var i = 0
    while i < body.count && i < 64 && (body[i] == 0x20 || body[i] == 0x09 || body[i] == 0x0A || body[i] == 0x0D) { i += 1 }
    return i < body.count && (body[i] == UInt8(ascii: "<") || (i + 2 < body.count && body[i] == 0xEF && body[i + 1] == 0xBB))
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
