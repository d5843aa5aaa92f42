import SluiceCore

// Compact JSON writing on bytes: the string escaper, JSON values, and Dolma document lines.
//
// Escaping: `"` and `\` get a backslash; `\n \r \t \b \f` their short forms; the other control
// characters below 0x20 become `\u00xx` (lowercase hex). Everything else, including `/`, DEL
// and non-ASCII, is written raw as UTF-8. Runs without special bytes are copied whole.

private let hexDigits: StaticString = "0123456789abcdef"

/// Appends the JSON escaping of UTF-8 `bytes`, without the surrounding quotes.
@inline(__always)
func appendEscapedUTF8(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
    guard let base = bytes.baseAddress else { return }
    let n = bytes.count
    var runStart = 0
    var p = 0
    while true {
        p = findStringSpecial(base, from: p, end: n)
        if p >= n { break }
        if p > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: p &- runStart)) }
        appendEscape(base[p], to: &out)
        p &+= 1
        runStart = p
    }
    if n > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: n &- runStart)) }
}

@inline(never)
private func appendEscape(_ b: UInt8, to out: inout [UInt8]) {
    switch b {
    case ASCII.quote: out.append(ASCII.backslash); out.append(ASCII.quote)
    case ASCII.backslash: out.append(ASCII.backslash); out.append(ASCII.backslash)
    case 0x0A: out.append(ASCII.backslash); out.append(UInt8(ascii: "n"))
    case 0x0D: out.append(ASCII.backslash); out.append(UInt8(ascii: "r"))
    case 0x09: out.append(ASCII.backslash); out.append(UInt8(ascii: "t"))
    case 0x08: out.append(ASCII.backslash); out.append(UInt8(ascii: "b"))
    case 0x0C: out.append(ASCII.backslash); out.append(UInt8(ascii: "f"))
    default:
        let hex = hexDigits.utf8Start
        out.append(ASCII.backslash)
        out.append(UInt8(ascii: "u"))
        out.append(ASCII.zero)
        out.append(ASCII.zero)
        out.append(hex[Int(b &>> 4)])
        out.append(hex[Int(b & 0xF)])
    }
}

/// Appends `string` as a quoted, escaped JSON string.
@inline(__always)
public func appendJSONString(_ string: String, to out: inout [UInt8]) {
    out.append(ASCII.quote)
    var s = string  // `withUTF8` is mutating; on a native string it is zero-copy
    s.withUTF8 { appendEscapedUTF8($0, to: &out) }
    out.append(ASCII.quote)
}

/// Appends the UTF-8 text in `bytes` as a quoted, escaped JSON string. The bytes are written as
/// they are, so they must be valid UTF-8 for the output to be.
public func appendJSONString(utf8 bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
    out.append(ASCII.quote)
    appendEscapedUTF8(bytes, to: &out)
    out.append(ASCII.quote)
}

@inline(__always)
private func appendASCII(_ s: StaticString, to out: inout [UInt8]) {
    out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
}

/// Appends `value` as compact JSON (no spaces; object keys in their stored order; numbers as
/// their literal text).
public func appendJSON(_ value: JSONValue, to out: inout [UInt8]) {
    switch value {
    case .null: appendASCII("null", to: &out)
    case .bool(let b): b ? appendASCII("true", to: &out) : appendASCII("false", to: &out)
    case .number(let n):
        var literal = n.literal
        literal.withUTF8 { out.append(contentsOf: $0) }
    case .string(let s): appendJSONString(s, to: &out)
    case .array(let elements):
        out.append(ASCII.openBracket)
        var first = true
        for e in elements {
            if !first { out.append(ASCII.comma) }
            first = false
            appendJSON(e, to: &out)
        }
        out.append(ASCII.closeBracket)
    case .object(let object): appendJSON(object, to: &out)
    }
}

/// Appends `object` as compact JSON, keys in their stored order.
public func appendJSON(_ object: JSONObject, to out: inout [UInt8]) {
    out.append(ASCII.openBrace)
    var first = true
    for entry in object.entries {
        if !first { out.append(ASCII.comma) }
        first = false
        appendJSONString(entry.key, to: &out)
        out.append(ASCII.colon)
        appendJSON(entry.value, to: &out)
    }
    out.append(ASCII.closeBrace)
}

/// `value` as compact JSON bytes.
public func encodeJSON(_ value: JSONValue) -> [UInt8] {
    var out: [UInt8] = []
    appendJSON(value, to: &out)
    return out
}

/// Appends `doc` as one JSONL line in Dolma's schema, ending with `\n`:
/// `{"id":…,"text":…,"source":…,"added":…,"created":…,"metadata":{…},<extra fields>}`.
///
/// The keys come in that order; `added` and `created` only when set; `metadata` always (`{}`
/// when empty); then ``Document/extraFields`` with their raw bytes, in order. An extra field
/// whose key is one of the keys already written (`id`, `text`, `source`, `metadata`, and
/// `added`/`created` when set) is left out, so a line never has a duplicate key; this happens
/// when a field mapping moved, say, `content` into `text` and kept the original `text` as an
/// extra field.
public func appendJSONLine(_ doc: Document, to out: inout [UInt8]) {
    appendASCII("{\"id\":", to: &out)
    appendJSONString(doc.id, to: &out)
    appendASCII(",\"text\":", to: &out)
    appendJSONString(doc.text, to: &out)
    appendASCII(",\"source\":", to: &out)
    appendJSONString(doc.source, to: &out)
    if let added = doc.added {
        appendASCII(",\"added\":", to: &out)
        appendJSONString(added, to: &out)
    }
    if let created = doc.created {
        appendASCII(",\"created\":", to: &out)
        appendJSONString(created, to: &out)
    }
    appendASCII(",\"metadata\":", to: &out)
    appendJSON(doc.metadata, to: &out)
    for field in doc.extraFields where !isWrittenKey(field.key, doc) {
        out.append(ASCII.comma)
        appendJSONString(field.key, to: &out)
        out.append(ASCII.colon)
        out.append(contentsOf: field.rawValue)
    }
    appendASCII("}\n", to: &out)
}

/// `doc` as one JSONL line, ending with `\n`; see ``appendJSONLine(_:to:)``.
public func encodeJSONLine(_ doc: Document) -> [UInt8] {
    var out: [UInt8] = []
    appendJSONLine(doc, to: &out)
    return out
}

/// Whether `key` is a canonical key that ``appendJSONLine(_:to:)`` has already written.
@inline(__always)
private func isWrittenKey(_ key: String, _ doc: Document) -> Bool {
    switch key.utf8.count {
    case 2: return key == "id"
    case 4: return key == "text"
    case 5: return key == "added" && doc.added != nil
    case 6: return key == "source"
    case 7: return key == "created" && doc.created != nil
    case 8: return key == "metadata"
    default: return false
    }
}
