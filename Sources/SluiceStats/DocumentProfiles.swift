import SluiceCore

/// The categorical fields every shard's statistics count, each in a ``TopKSketch``.
public enum CategoryField: Int, CaseIterable, Sendable {
    /// The document's `source`.
    case source
    /// `metadata.language` (what `language_id` writes).
    case language
    /// The host of `metadata.url`, lowercased, without `www.`, port or user.
    case domain
    /// `metadata.content_type` without parameters (`text/html; charset=utf-8` → `text/html`).
    case contentType

    /// The key in stats files and the name `--by` accepts.
    public var name: String {
        switch self {
        case .source: "source"
        case .language: "language"
        case .domain: "domain"
        case .contentType: "content_type"
        }
    }

    /// Values kept per shard in the field's ``TopKSketch``: 256 for domains, which have long
    /// tails, 64 for the others.
    public var capacity: Int { self == .domain ? 256 : TopKSketch.defaultCapacity }

    /// Where the value comes from, for help texts.
    public var origin: String {
        switch self {
        case .source: "source"
        case .language: "metadata.language"
        case .domain: "metadata.url"
        case .contentType: "metadata.content_type"
        }
    }

    /// The field a user means by `name`: `language`, `metadata.language`, `domain`, `url`, …
    public init?(userName: String) {
        switch userName {
        case "source": self = .source
        case "language", "metadata.language", "lang": self = .language
        case "domain", "url", "metadata.url", "host": self = .domain
        case "content_type", "metadata.content_type", "content-type", "mime": self = .contentType
        default: return nil
        }
    }
}

/// What the statistics need to know about each document of a batch, collected where the
/// documents are encoded (on the worker threads) and added to shard statistics in order on the
/// writer. Column storage: one allocation per column per batch, not per document; metadata
/// paths are interned per batch by their bytes, so a path becomes a `String` once per batch.
///
/// Per document: its JSONL line length; characters, words and lines of its text (the rules of
/// ``TextCounts``); every numeric metadata value with its dotted path (`quality.fasttext`),
/// up to ``maxNumericFieldsPerDocument``; and the values of the ``CategoryField``s.
public struct DocumentProfiles: Sendable {
    /// At most this many numeric metadata values are taken from one document.
    public static let maxNumericFieldsPerDocument = 64
    /// Nested objects deeper than this are not searched for numbers.
    public static let maxMetadataDepth = 8

    public private(set) var count = 0
    /// The JSONL line length of each document, its line feed included.
    public private(set) var lineBytes: [Int] = []
    /// Whether each document was profiled (rejected documents are not).
    public private(set) var profiled: [Bool] = []
    public private(set) var characters: [Int] = []
    public private(set) var words: [Int] = []
    public private(set) var lines: [Int] = []
    /// Numeric values of document `i` are `numericStart[i] ..< numericStart[i + 1]`.
    private var numericStart: [Int32] = [0]
    private var numericField: [Int32] = []
    private var numericValue: [Double] = []
    /// Interned dotted paths of this batch, by index.
    public private(set) var fieldNames: [String] = []
    private var fieldKeys: [[UInt8]] = []
    private var fieldTable: [Int32] = Array(repeating: -1, count: 32)
    /// The dotted path being walked.
    private var path: [UInt8] = []
    private var taken = 0
    /// `CategoryField.allCases.count` values per document.
    private var categoryValues: [String?] = []
    private var languageCache = BytesCache()
    private var hostCache = BytesCache()
    private var contentTypeCache = BytesCache()
    private var sourceCache = BytesCache()

    public init() {}

    public mutating func reserveCapacity(_ n: Int) {
        lineBytes.reserveCapacity(n)
        profiled.reserveCapacity(n)
        characters.reserveCapacity(n)
        words.reserveCapacity(n)
        lines.reserveCapacity(n)
        numericStart.reserveCapacity(n + 1)
        categoryValues.reserveCapacity(n * CategoryField.allCases.count)
    }

    /// Profiles a document that was encoded as a `lineBytes`-byte line.
    public mutating func append(_ document: Document, lineBytes: Int) {
        let counts = document.text.withUTF8Bytes { countText($0) }
        append(lineBytes: lineBytes, counts: counts, source: document.source, metadata: document.metadata)
    }

    /// Profiles a document from its parts.
    public mutating func append(lineBytes: Int, counts: TextCounts, source: String, metadata: JSONObject) {
        taken = 0
        path.removeAll(keepingCapacity: true)
        collectNumbers(metadata, depth: 0)
        var urlHost: String?
        if let url = metadata["url"]?.stringValue {
            urlHost = url.withUTF8Bytes { b in
                hostCache.lookup(UnsafeBufferPointer(rebasing: b[authorityRange(b)])) { host(ofAuthority: $0) }
            }
        }
        var contentType: String?
        if let c = metadata["content_type"]?.stringValue {
            contentType = c.withUTF8Bytes { b in contentTypeCache.lookup(b) { mediaType(ofBytes: $0) } }
        }
        finish(
            lineBytes: lineBytes, counts: counts, source: source, language: metadata["language"]?.stringValue,
            domain: urlHost, contentType: contentType)
    }

    /// Profiles a document read by the shard scanner: `metadata` is the raw JSON of its
    /// metadata object (or nil). Returns false when that JSON is malformed (nothing is added).
    mutating func append(
        lineBytes: Int, counts: TextCounts, quotedSource: UnsafeBufferPointer<UInt8>?, metadataJSON: UnsafeBufferPointer<UInt8>?
    ) -> Bool {
        taken = 0
        path.removeAll(keepingCapacity: true)
        let mark = numericField.count
        var found = TopLevelStrings()
        if let json = metadataJSON, let base = json.baseAddress, json.count > 0 {
            var s = ByteScanner(base: base, end: json.count)
            guard walkMetadata(&s, depth: 0, found: &found), s.pos == json.count else {
                numericField.removeSubrange(mark...)
                numericValue.removeSubrange(mark...)
                return false
            }
        }
        let source = quotedSource.map { q in sourceCache.lookup(q) { decodeJSONString($0) ?? "" } ?? "" } ?? ""
        let language = found.language.flatMap { q in languageCache.lookup(q) { decodeJSONString($0) } }
        let contentType = found.contentType.flatMap { q in
            contentTypeCache.lookup(q) { decodeJSONString($0).flatMap { mediaType(of: $0) } }
        }
        var urlHost: String?
        if let q = found.url {
            let inner = UnsafeBufferPointer(rebasing: q[1..<max(1, q.count - 1)])
            if inner.contains(UInt8(ascii: "\\")) {
                urlHost = decodeJSONString(q).flatMap { domain(ofURL: $0) }
            } else {
                urlHost = hostCache.lookup(UnsafeBufferPointer(rebasing: inner[authorityRange(inner)])) { host(ofAuthority: $0) }
            }
        }
        finish(lineBytes: lineBytes, counts: counts, source: source, language: language, domain: urlHost, contentType: contentType)
        return true
    }

    private mutating func finish(lineBytes: Int, counts: TextCounts, source: String, language: String?, domain: String?, contentType: String?) {
        count += 1
        self.lineBytes.append(lineBytes)
        profiled.append(true)
        characters.append(counts.characters)
        words.append(counts.words)
        lines.append(counts.lines)
        numericStart.append(Int32(numericField.count))
        categoryValues.append(source)
        categoryValues.append(language)
        categoryValues.append(domain)
        categoryValues.append(contentType)
    }

    /// Records a line that is not profiled (a rejected document): only its length counts.
    public mutating func appendUnprofiled(lineBytes: Int) {
        count += 1
        self.lineBytes.append(lineBytes)
        profiled.append(false)
        characters.append(0)
        words.append(0)
        lines.append(0)
        numericStart.append(Int32(numericField.count))
        for _ in CategoryField.allCases { categoryValues.append(nil) }
    }

    /// The numeric metadata values of document `i` as (path index into ``fieldNames``, value).
    @inline(__always)
    func numericRange(_ i: Int) -> Range<Int> { Int(numericStart[i])..<Int(numericStart[i + 1]) }
    @inline(__always)
    func numeric(at j: Int) -> (field: Int, value: Double) { (Int(numericField[j]), numericValue[j]) }

    /// The value of `field` for document `i`.
    public func category(_ field: CategoryField, of i: Int) -> String? {
        categoryValues[i * CategoryField.allCases.count + field.rawValue]
    }

    /// The numeric metadata values of document `i` by dotted path.
    public func numericValues(of i: Int) -> [(path: String, value: Double)] {
        numericRange(i).map { j in (fieldNames[Int(numericField[j])], numericValue[j]) }
    }

    // MARK: Walking metadata

    private mutating func collectNumbers(_ object: JSONObject, depth: Int) {
        let before = path.count
        for entry in object {
            if taken >= Self.maxNumericFieldsPerDocument { return }
            switch entry.value {
            case .number(let n):
                let v = n.doubleValue
                guard v.isFinite else { continue }
                pushKey(entry.key, depth: depth)
                addNumber(v)
                path.removeSubrange(before...)
            case .object(let child) where depth + 1 < Self.maxMetadataDepth:
                pushKey(entry.key, depth: depth)
                collectNumbers(child, depth: depth + 1)
                path.removeSubrange(before...)
            default:
                continue
            }
        }
    }

    @inline(__always)
    private mutating func pushKey(_ key: String, depth: Int) {
        if depth > 0 { path.append(UInt8(ascii: ".")) }
        key.withUTF8Bytes { path.append(contentsOf: $0) }
    }

    struct TopLevelStrings {
        var language: UnsafeBufferPointer<UInt8>?
        var url: UnsafeBufferPointer<UInt8>?
        var contentType: UnsafeBufferPointer<UInt8>?
    }

    /// Walks a metadata object's bytes (the scanner's path): numbers to ``addNumber(_:)`` under
    /// their dotted paths, the top-level category strings into `found` (quoted, first wins).
    private mutating func walkMetadata(_ s: inout ByteScanner, depth: Int, found: inout TopLevelStrings) -> Bool {
        guard s.peek() == UInt8(ascii: "{") else { return false }
        s.pos += 1
        s.skipWhitespace()
        if s.peek() == UInt8(ascii: "}") {
            s.pos += 1
            return true
        }
        let before = path.count
        while true {
            guard s.peek() == UInt8(ascii: "\"") else { return false }
            let keyStart = s.pos + 1
            guard let afterKey = s.skipString() else { return false }
            let key = UnsafeBufferPointer(start: s.base + keyStart, count: afterKey - 1 - keyStart)
            s.skipWhitespace()
            guard s.peek() == UInt8(ascii: ":") else { return false }
            s.pos += 1
            s.skipWhitespace()
            guard s.pos < s.end else { return false }
            let b = s.base[s.pos]
            let valueStart = s.pos
            switch b {
            case UInt8(ascii: "\""):
                guard s.skipString() != nil else { return false }
                if depth == 0 {
                    let value = UnsafeBufferPointer(start: s.base + valueStart, count: s.pos - valueStart)
                    if found.language == nil && keyEquals(key, "language") { found.language = value }
                    else if found.url == nil && keyEquals(key, "url") { found.url = value }
                    else if found.contentType == nil && keyEquals(key, "content_type") { found.contentType = value }
                }
            case UInt8(ascii: "{"):
                if depth + 1 < Self.maxMetadataDepth && taken < Self.maxNumericFieldsPerDocument {
                    pushKey(bytes: key, depth: depth)
                    var inner = TopLevelStrings()
                    guard walkMetadata(&s, depth: depth + 1, found: &inner) else { return false }
                    path.removeSubrange(before...)
                } else {
                    guard s.skipValue(depth: depth + 1) else { return false }
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard s.skipValue(depth: depth + 1) else { return false }
                if taken < Self.maxNumericFieldsPerDocument {
                    let v = parseJSONDouble(UnsafeBufferPointer(start: s.base + valueStart, count: s.pos - valueStart))
                    if v.isFinite {
                        pushKey(bytes: key, depth: depth)
                        addNumber(v)
                        path.removeSubrange(before...)
                    }
                }
            default:
                guard s.skipValue(depth: depth + 1) else { return false }
            }
            s.skipWhitespace()
            let c = s.peek()
            if c == UInt8(ascii: ",") {
                s.pos += 1
                s.skipWhitespace()
            } else if c == UInt8(ascii: "}") {
                s.pos += 1
                return true
            } else {
                return false
            }
        }
    }

    private mutating func pushKey(bytes key: UnsafeBufferPointer<UInt8>, depth: Int) {
        if depth > 0 { path.append(UInt8(ascii: ".")) }
        if key.contains(UInt8(ascii: "\\")) {
            // An escaped key: decode it.
            var quoted: [UInt8] = [UInt8(ascii: "\"")]
            quoted.append(contentsOf: key)
            quoted.append(UInt8(ascii: "\""))
            let s = quoted.withUnsafeBufferPointer { decodeJSONString($0) } ?? ""
            s.withUTF8Bytes { path.append(contentsOf: $0) }
        } else {
            path.append(contentsOf: key)
        }
    }

    private func keyEquals(_ key: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        let n = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        if key.contains(UInt8(ascii: "\\")) {
            var quoted: [UInt8] = [UInt8(ascii: "\"")]
            quoted.append(contentsOf: key)
            quoted.append(UInt8(ascii: "\""))
            guard let decoded = quoted.withUnsafeBufferPointer({ decodeJSONString($0) }) else { return false }
            return decoded.utf8.elementsEqual(n)
        }
        return key.elementsEqual(n)
    }

    /// Adds a value under the current path.
    private mutating func addNumber(_ v: Double) {
        numericField.append(intern())
        numericValue.append(v)
        taken += 1
    }

    /// The batch index of the current path, adding it when new.
    private mutating func intern() -> Int32 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in path { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let mask = fieldTable.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let f = fieldTable[slot]
            if f < 0 { break }
            if fieldKeys[Int(f)] == path { return f }
            slot = (slot + 1) & mask
        }
        let index = Int32(fieldNames.count)
        fieldNames.append(String(decoding: path, as: UTF8.self))
        fieldKeys.append(path)
        fieldTable[slot] = index
        if fieldNames.count * 2 > fieldTable.count { rehash() }
        return index
    }

    private mutating func rehash() {
        fieldTable = Array(repeating: -1, count: fieldTable.count * 2)
        let mask = fieldTable.count - 1
        for (i, key) in fieldKeys.enumerated() {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in key { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            var slot = Int(truncatingIfNeeded: h) & mask
            while fieldTable[slot] >= 0 { slot = (slot + 1) & mask }
            fieldTable[slot] = Int32(i)
        }
    }
}

/// A JSON number's value, exactly as `Double(literal)` reads it: plain decimals of up to 15
/// significant digits directly (exact: an integer below 2^53 divided by an exact power of ten
/// is correctly rounded), anything else through the standard library.
func parseJSONDouble(_ bytes: UnsafeBufferPointer<UInt8>) -> Double {
    var i = 0
    let n = bytes.count
    var negative = false
    if i < n && bytes[i] == UInt8(ascii: "-") {
        negative = true
        i += 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var fraction = 0
    var seenDot = false
    while i < n {
        let c = bytes[i]
        if c >= 48 && c <= 57 {
            mantissa = mantissa &* 10 &+ UInt64(c - 48)
            digits += 1
            if seenDot { fraction += 1 }
        } else if c == UInt8(ascii: ".") && !seenDot {
            seenDot = true
        } else {
            break
        }
        i += 1
    }
    if i == n && digits > 0 && digits <= 15 && !(seenDot && fraction == 0) {
        var v = Double(mantissa)
        if fraction > 0 { v /= exactPowersOfTen[fraction] }
        return negative ? -v : v
    }
    return Double(String(decoding: bytes, as: UTF8.self)) ?? .nan
}

private let exactPowersOfTen: [Double] = (0...22).map { k in
    var v = 1.0
    for _ in 0..<k { v *= 10 }
    return v
}

/// The host of a URL, lowercased, without user, port and a leading `www.`; nil when the text
/// has no host or the host has characters no host has (spaces, controls, quotes, `<>{}|\^`).
/// `https://User@WWW.Example.com:8080/a?b` gives `example.com`; `example.com/a` gives
/// `example.com`.
public func domain(ofURL url: String) -> String? {
    url.withUTF8Bytes { b in host(ofAuthority: UnsafeBufferPointer(rebasing: b[authorityRange(b)])) }
}

/// Where the authority of URL bytes is: after `scheme://` or `//`, up to `/`, `?` or `#`.
func authorityRange(_ b: UnsafeBufferPointer<UInt8>) -> Range<Int> {
    let n = min(b.count, 4096)
    var start = 0
    var i = 0
    while i < n && b[i] != UInt8(ascii: ":") { i += 1 }
    if i + 2 < n && b[i + 1] == UInt8(ascii: "/") && b[i + 2] == UInt8(ascii: "/") {
        start = i + 3
    } else if n >= 2 && b[0] == UInt8(ascii: "/") && b[1] == UInt8(ascii: "/") {
        start = 2
    }
    var end = start
    while end < n {
        let c = b[end]
        if c == UInt8(ascii: "/") || c == UInt8(ascii: "?") || c == UInt8(ascii: "#") { break }
        end += 1
    }
    return start..<end
}

/// The normalised host of a URL's authority (`user@Host:port`), or nil.
func host(ofAuthority authority: UnsafeBufferPointer<UInt8>) -> String? {
    var start = 0
    var end = authority.count
    // Drop user info.
    if let at = authority.lastIndex(of: UInt8(ascii: "@")) { start = at + 1 }
    // Drop the port (not inside an IPv6 literal).
    if start < end && authority[start] == UInt8(ascii: "[") {
        if let close = authority[start..<end].firstIndex(of: UInt8(ascii: "]")) { end = close + 1 }
    } else if let colon = authority[start..<end].firstIndex(of: UInt8(ascii: ":")) {
        end = colon
    }
    while end > start && authority[end - 1] == UInt8(ascii: ".") { end -= 1 }
    guard end > start else { return nil }
    var bytes = [UInt8](repeating: 0, count: end - start)
    var upper = false
    for i in start..<end {
        let c = authority[i]
        // A host has no spaces, controls or URL punctuation; text that is not a URL gives none.
        if c <= 0x20 || c == 0x7F || c == UInt8(ascii: "\"") || c == UInt8(ascii: "<") || c == UInt8(ascii: ">")
            || c == UInt8(ascii: "\\") || c == UInt8(ascii: "^") || c == UInt8(ascii: "`") || c == UInt8(ascii: "{")
            || c == UInt8(ascii: "|") || c == UInt8(ascii: "}")
        {
            return nil
        }
        if c >= 65 && c <= 90 { upper = true }
        bytes[i - start] = c >= 65 && c <= 90 ? c + 32 : c
    }
    _ = upper
    var from = 0
    if bytes.count > 4 && bytes[0] == UInt8(ascii: "w") && bytes[1] == UInt8(ascii: "w") && bytes[2] == UInt8(ascii: "w")
        && bytes[3] == UInt8(ascii: ".")
    {
        from = 4
    }
    return String(decoding: bytes[from...], as: UTF8.self)
}

/// A media type without parameters, lowercased and trimmed: `Text/HTML; charset=UTF-8` → `text/html`.
public func mediaType(of contentType: String) -> String? {
    contentType.withUTF8Bytes { mediaType(ofBytes: $0) }
}

func mediaType(ofBytes b: UnsafeBufferPointer<UInt8>) -> String? {
    var end = b.firstIndex(of: UInt8(ascii: ";")) ?? b.count
    var start = 0
    func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
    while start < end && isSpace(b[start]) { start += 1 }
    while end > start && isSpace(b[end - 1]) { end -= 1 }
    guard end > start else { return nil }
    return String(decoding: b[start..<end].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
}

/// The last bytes looked up and what they gave: documents in a row often share a language,
/// a content type, a source or a host, so most lookups make no new `String`.
struct BytesCache: Sendable {
    private var key: [UInt8] = []
    private var value: String?
    private var valid = false

    mutating func lookup(_ bytes: UnsafeBufferPointer<UInt8>, _ make: (UnsafeBufferPointer<UInt8>) -> String?) -> String? {
        if valid && key.count == bytes.count && key.withUnsafeBufferPointer({ $0.elementsEqual(bytes) }) { return value }
        key.removeAll(keepingCapacity: true)
        key.append(contentsOf: bytes)
        value = make(bytes)
        valid = true
        return value
    }
}
