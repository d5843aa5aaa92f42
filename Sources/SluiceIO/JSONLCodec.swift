import SluiceCore

// The JSONL codec for Dolma-schema documents: one JSON object per line with `id`, `text`,
// `source`, `added`, `created`, `metadata`, and any other top-level fields kept as raw bytes.
// Reading is in `DocumentLineParser` (on top of `JSONReader`), writing in `JSONWriter.swift`.

extension DropReason {
    /// The line is not a JSON object, or a known field has the wrong type.
    public static let invalidJSON: DropReason = "invalid_json"
    /// The text field is present but not a string.
    public static let invalidText: DropReason = "invalid_text"
    /// The object has no text field.
    public static let missingText: DropReason = "missing_text"
    /// The line is empty or holds only whitespace.
    public static let emptyLine: DropReason = "empty_line"
}

/// Which input fields become a document's `text` and `id`, and the `source` of documents that
/// have none.
public struct DocumentFieldMapping: Sendable, Hashable {
    /// The top-level key whose string value becomes ``Document/text``.
    public var textKey: String
    /// The top-level key whose string or number value becomes ``Document/id``.
    public var idKey: String
    /// The ``Document/source`` of documents without a `source` field (or with `"source": null`).
    public var defaultSource: String

    public init(textKey: String = "text", idKey: String = "id", defaultSource: String = "") {
        self.textKey = textKey
        self.idKey = idKey
        self.defaultSource = defaultSource
    }
}

/// The outcome of parsing one JSONL line: a document, or a drop reason with a short message
/// that names the byte column.
public enum LineParseResult: Sendable {
    case document(Document)
    case invalid(DropReason, String)

    /// The document, or `nil` for an invalid line.
    public var document: Document? {
        if case .document(let d) = self { return d }
        return nil
    }
}

/// Parses JSONL lines into ``Document``s, byte by byte.
///
/// Top-level fields:
/// - the id key (``DocumentFieldMapping/idKey``): a string, or a number kept as its literal
///   text; missing or `null` gives `id == ""` (the caller assigns a deterministic id); any other
///   type is `invalid_json`;
/// - the text key: must be a string (`invalid_text` otherwise, `missing_text` when absent);
/// - `source`: a string, or `null`/missing for ``DocumentFieldMapping/defaultSource``; any other
///   type is `invalid_json`;
/// - `added`, `created`: strings (`null` means absent); another type is kept as an extra field;
/// - `metadata`: an object (`null` means empty); any other type is `invalid_json`;
/// - everything else, including a field literally named `text` or `id` when the mapping renames
///   those, goes to ``Document/extraFields`` as its raw JSON bytes, validated but not re-encoded,
///   in input order. (An extra value whose strings hold invalid UTF-8 is re-encoded with U+FFFD
///   so output stays valid UTF-8.) For a repeated known key the last one wins.
///
/// The JSON is strict RFC 8259 with a nesting limit of ``maxJSONNestingDepth``; syntax errors
/// are `invalid_json`. Invalid UTF-8 in decoded strings becomes U+FFFD, one per maximal invalid
/// subsequence, as does a lone surrogate escape; both are counted in
/// ``invalidUTF8Replacements``.
///
/// The parser keeps scratch buffers between lines, so keep one per worker and reuse it for a
/// whole batch. It is a value: a copy gets its own buffers the first time it parses.
public struct DocumentLineParser: Sendable {
    /// The drop reasons ``parse(_:)`` can return.
    public static let dropReasons: [DropReason] = [.emptyLine, .invalidJSON, .invalidText, .missingText]

    /// The field mapping this parser applies.
    public let mapping: DocumentFieldMapping
    /// The running count of U+FFFD substitutions (invalid UTF-8 subsequences and lone surrogate
    /// escapes) in the documents this parser has returned.
    public private(set) var invalidUTF8Replacements = 0

    private var scratch = JSONScratch()
    private let textKey: [UInt8]
    private let idKey: [UInt8]

    public init(mapping: DocumentFieldMapping = DocumentFieldMapping()) {
        self.mapping = mapping
        textKey = Array(mapping.textKey.utf8)
        idKey = Array(mapping.idKey.utf8)
    }

    /// Parses one line (with or without its trailing newline).
    public mutating func parse(_ line: UnsafeRawBufferPointer) -> LineParseResult {
        guard let raw = line.baseAddress, line.count > 0 else { return .invalid(.emptyLine, "empty line") }
        if !isKnownUniquelyReferenced(&scratch) { scratch = JSONScratch() }
        let scratch = self.scratch
        defer { if line.count > 16 << 20 { scratch.trim() } }
        var reader = JSONReader(base: raw.assumingMemoryBound(to: UInt8.self), count: line.count, scratch: scratch)
        defer { reader.returnBuffers(to: scratch) }
        reader.skipWhitespace()
        if reader.pos == reader.end { return .invalid(.emptyLine, "empty line") }
        do throws(JSONSyntaxError) {
            let result = try parseDocument(&reader)
            if case .document = result { invalidUTF8Replacements &+= reader.replacements }
            return result
        } catch {
            return .invalid(.invalidJSON, error.description)
        }
    }

    /// Parses one line (with or without its trailing newline).
    public mutating func parse(_ line: UnsafeBufferPointer<UInt8>) -> LineParseResult {
        parse(UnsafeRawBufferPointer(line))
    }

    /// Parses one line (with or without its trailing newline).
    public mutating func parse(_ line: [UInt8]) -> LineParseResult {
        line.withUnsafeBytes { parse($0) }
    }

    private enum FieldKind {
        case text, id, source, added, created, metadata, other
    }

    @inline(__always)
    private static func equal(_ key: UnsafeBufferPointer<UInt8>, _ name: [UInt8]) -> Bool {
        guard key.count == name.count else { return false }
        return name.withUnsafeBufferPointer { n in
            var i = 0
            while i < n.count {
                if key[i] != n[i] { return false }
                i &+= 1
            }
            return true
        }
    }

    @inline(__always)
    private static func equal(_ key: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount else { return false }
        let n = name.utf8Start
        var i = 0
        while i < key.count {
            if key[i] != n[i] { return false }
            i &+= 1
        }
        return true
    }

    @inline(__always)
    private func classify(_ key: DecodedString) -> FieldKind {
        classify(key.bytes)
    }

    @inline(__always)
    private func classify(_ key: UnsafeBufferPointer<UInt8>) -> FieldKind {
        if Self.equal(key, textKey) { return .text }
        if Self.equal(key, idKey) { return .id }
        switch key.count {
        case 6: return Self.equal(key, "source") ? .source : .other
        case 5: return Self.equal(key, "added") ? .added : .other
        case 7: return Self.equal(key, "created") ? .created : .other
        case 8: return Self.equal(key, "metadata") ? .metadata : .other
        default: return .other
        }
    }

    private static func typeName(startingWith b: UInt8) -> String {
        switch b {
        case ASCII.openBrace: "an object"
        case ASCII.openBracket: "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        default: "a number"
        }
    }

    private func parseDocument(_ r: inout JSONReader) throws(JSONSyntaxError) -> LineParseResult {
        guard r.peek() == ASCII.openBrace else { throw r.unexpected("expected a JSON object") }
        r.pos &+= 1
        r.skipWhitespace()

        var id = ""
        var text: String?
        var textProblem: (type: String, offset: Int)?
        var source: String?
        var added: String?
        var created: String?
        var metadata = JSONObject()
        var extra: [RawField] = []

        if r.peek() == ASCII.closeBrace {
            r.pos &+= 1
        } else {
            members: while true {
                guard r.peek() == ASCII.quote else { throw r.unexpected("expected a string key") }
                let keyBytes = try r.readStringBytes()
                var kind = classify(keyBytes)
                // Extra keys become Strings now, before the scratch buffer is reused.
                let extraKey: String? = kind == .other ? r.makeString(keyBytes) : nil
                r.skipWhitespace()
                guard r.peek() == ASCII.colon else { throw r.unexpected("expected ':' after an object key") }
                r.pos &+= 1
                r.skipWhitespace()
                let valueStart = r.pos
                let first = r.peek()

                switch kind {
                case .text:
                    if first == ASCII.quote {
                        text = r.makeString(try r.readStringBytes())
                        textProblem = nil
                    } else {
                        _ = try r.skipValue(depth: 1)
                        text = nil
                        textProblem = (Self.typeName(startingWith: first), valueStart)
                    }
                case .id:
                    if first == ASCII.quote {
                        id = r.makeString(try r.readStringBytes())
                    } else if first == ASCII.minus || (first >= ASCII.zero && first <= ASCII.nine) {
                        id = r.asciiString(try r.scanNumber())
                    } else if first == UInt8(ascii: "n") {
                        try r.expectLiteral("null")
                        id = ""
                    } else {
                        _ = try r.skipValue(depth: 1)
                        throw JSONSyntaxError(
                            "field '\(mapping.idKey)' must be a string or a number, found \(Self.typeName(startingWith: first))",
                            offset: valueStart)
                    }
                case .source:
                    if first == ASCII.quote {
                        source = r.makeString(try r.readStringBytes())
                    } else if first == UInt8(ascii: "n") {
                        try r.expectLiteral("null")
                        source = nil
                    } else {
                        _ = try r.skipValue(depth: 1)
                        throw JSONSyntaxError(
                            "field 'source' must be a string, found \(Self.typeName(startingWith: first))",
                            offset: valueStart)
                    }
                case .added, .created:
                    var value: String?
                    if first == ASCII.quote {
                        value = r.makeString(try r.readStringBytes())
                    } else if first == UInt8(ascii: "n") {
                        try r.expectLiteral("null")
                        value = nil
                    } else {
                        kind = .other
                    }
                    if kind == .added { added = value } else if kind == .created { created = value }
                case .metadata:
                    if first == ASCII.openBrace {
                        metadata = try r.parseObject(depth: 2)
                    } else if first == UInt8(ascii: "n") {
                        try r.expectLiteral("null")
                        metadata = JSONObject()
                    } else {
                        _ = try r.skipValue(depth: 1)
                        throw JSONSyntaxError(
                            "field 'metadata' must be an object, found \(Self.typeName(startingWith: first))",
                            offset: valueStart)
                    }
                case .other:
                    break
                }

                if kind == .other {
                    let key = extraKey ?? r.makeString(keyBytes)
                    extra.append(RawField(key: key, rawValue: try rawValue(&r)))
                }

                r.skipWhitespace()
                let b = r.peek()
                if b == ASCII.comma {
                    r.pos &+= 1
                    r.skipWhitespace()
                } else if b == ASCII.closeBrace {
                    r.pos &+= 1
                    break members
                } else {
                    throw r.unexpected("expected ',' or '}' in an object")
                }
            }
        }

        r.skipWhitespace()
        if r.pos < r.end { throw r.unexpected("unexpected bytes after the JSON object") }

        guard let text else {
            if let textProblem {
                return .invalid(
                    .invalidText,
                    "field '\(mapping.textKey)' must be a string, found \(textProblem.type) at column \(textProblem.offset + 1)"
                )
            }
            return .invalid(.missingText, "no '\(mapping.textKey)' field")
        }
        return .document(
            Document(
                id: id, text: text, source: source ?? mapping.defaultSource, added: added, created: created,
                metadata: metadata, extraFields: extra))
    }

    /// Validates the value at the reader's position and returns its raw bytes; a value whose
    /// strings hold invalid UTF-8 is decoded (with U+FFFD) and re-encoded instead.
    private func rawValue(_ r: inout JSONReader) throws(JSONSyntaxError) -> [UInt8] {
        let start = r.pos
        let needsRepair = try r.skipValue(depth: 1)
        let bytes = UnsafeBufferPointer(start: r.base + start, count: r.pos &- start)
        guard needsRepair else { return Array(bytes) }
        var sub = JSONReader(base: r.base + start, count: bytes.count, decoded: r.decoded, repaired: r.repaired)
        defer {
            r.decoded = sub.decoded
            r.repaired = sub.repaired
        }
        let value = try sub.parseValue(depth: 1)
        r.replacements &+= sub.replacements
        var out: [UInt8] = []
        appendJSON(value, to: &out)
        return out
    }
}
