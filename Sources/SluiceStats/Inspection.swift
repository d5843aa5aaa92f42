import Foundation
import SluiceCore
import SluiceIO

/// One `--where` condition: a field, a comparison and a value.
///
/// Forms: `KEY=VALUE`, `KEY!=VALUE`, `KEY>N`, `KEY>=N`, `KEY<N`, `KEY<=N`, `KEY~TEXT` (the
/// value contains TEXT), `KEY!~TEXT`, and `KEY?` (the field exists). KEY is a field as
/// ``FieldPath`` reads it (`source`, `language`, `quality.fasttext`, `metadata.url`), or one of
/// the computed `text.characters`, `text.words`, `text.lines`, `text.bytes`. `=` compares
/// numbers as numbers when both sides are numbers, `true`/`false`/`null` as JSON literals,
/// and everything else as text.
public struct DocumentCondition: Sendable, CustomStringConvertible {
    public enum Comparison: String, Sendable {
        case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case contains = "~", notContains = "!~", exists = "?"
    }

    public let field: FieldPath
    public let comparison: Comparison
    public let value: String
    public let description: String
    private let number: Double?
    private let computed: Computed?

    private enum Computed: Sendable { case characters, words, lines, bytes }

    /// Parses `KEY<op>VALUE`; throws with the accepted forms when it cannot.
    public init(parsing expression: String) throws {
        description = expression
        let s = Array(expression.unicodeScalars)
        var split: (Int, Comparison)?
        var i = 0
        while i < s.count {
            let c = s[i]
            let next: Unicode.Scalar? = i + 1 < s.count ? s[i + 1] : nil
            switch c {
            case "!" where next == "=": split = (i, .notEqual)
            case "!" where next == "~": split = (i, .notContains)
            case "<" where next == "=": split = (i, .lessOrEqual)
            case ">" where next == "=": split = (i, .greaterOrEqual)
            case "<": split = (i, .less)
            case ">": split = (i, .greater)
            case "=": split = (i, .equal)
            case "~": split = (i, .contains)
            case "?" where i == s.count - 1: split = (i, .exists)
            default: break
            }
            if split != nil { break }
            i += 1
        }
        guard let (at, op) = split else {
            throw InspectionError(
                "--where '\(expression)': expected KEY=VALUE, KEY!=VALUE, KEY>N, KEY>=N, KEY<N, KEY<=N, KEY~TEXT, KEY!~TEXT or KEY?")
        }
        let key = String(String.UnicodeScalarView(s[..<at])).trimmingSpaces()
        let rest = String(String.UnicodeScalarView(s[(at + op.rawValue.unicodeScalars.count)...]))
        guard !key.isEmpty else { throw InspectionError("--where '\(expression)': the field name is missing before '\(op.rawValue)'") }
        field = FieldPath(key)
        comparison = op
        value = op == .contains || op == .notContains ? rest : rest.trimmingSpaces()
        number = Double(value.trimmingSpaces())
        switch key {
        case "text.characters", "characters": computed = .characters
        case "text.words", "words": computed = .words
        case "text.lines", "lines": computed = .lines
        case "text.bytes": computed = .bytes
        default: computed = nil
        }
        if [.less, .lessOrEqual, .greater, .greaterOrEqual].contains(op) && number == nil {
            throw InspectionError("--where '\(expression)': '\(op.rawValue)' compares numbers, and '\(value)' is not a number")
        }
    }

    /// Whether `doc` satisfies the condition. A missing field satisfies only `!=` and `!~`.
    public func matches(_ doc: Document) -> Bool {
        var v: JSONValue?
        if let computed, doc.metadata.value(atPath: field.description) == nil {
            let c = countText(doc.text)
            switch computed {
            case .characters: v = .int(c.characters)
            case .words: v = .int(c.words)
            case .lines: v = .int(c.lines)
            case .bytes: v = .int(doc.text.utf8.count)
            }
        } else {
            v = field.value(in: doc)
        }
        guard let v else { return comparison == .notEqual || comparison == .notContains }
        switch comparison {
        case .exists: return true
        case .equal: return equals(v)
        case .notEqual: return !equals(v)
        case .contains: return text(of: v).contains(value)
        case .notContains: return !text(of: v).contains(value)
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard let n = numeric(v), let target = number else { return false }
            switch comparison {
            case .less: return n < target
            case .lessOrEqual: return n <= target
            case .greater: return n > target
            default: return n >= target
            }
        }
    }

    private func equals(_ v: JSONValue) -> Bool {
        switch v {
        case .number(let n): return number.map { $0 == n.doubleValue } ?? (n.literal == value)
        case .bool(let b): return value == (b ? "true" : "false")
        case .null: return value == "null"
        case .string(let s): return s == value
        default: return text(of: v) == value
        }
    }

    private func numeric(_ v: JSONValue) -> Double? {
        switch v {
        case .number(let n): return n.doubleValue
        case .string(let s): return Double(s)
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    private func text(of v: JSONValue) -> String {
        if case .string(let s) = v { return s }
        return String(decoding: encodeJSON(v), as: UTF8.self)
    }
}

/// A problem with what `sluice inspect` was asked.
public struct InspectionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// What `sluice inspect` shows and how.
public struct InspectOptions: Sendable {
    /// The most documents shown; nil for all.
    public var limit: Int?
    public var conditions: [DocumentCondition] = []
    /// Show a deterministic sample of this many matching documents.
    public var sample: Int?
    public var seed: UInt64 = 0
    /// Show only documents with this id.
    public var id: String?
    /// Print the lines exactly as stored.
    public var json = false
    /// Only rejected documents dropped for this reason (matched against
    /// `metadata._rejected.reason`, or `STAGE:REASON`, or a stage id for all its reasons).
    public var droppedReason: String?
    /// Wrap width for text.
    public var width = 100
    /// Characters of text shown per document (0: all).
    public var maxCharacters = 2000

    public init() {}
}

/// One document found by ``inspectDocuments(files:options:write:)``.
public struct FoundDocument: Sendable {
    public var file: String
    public var line: Int
    public var raw: [UInt8]
    public var document: Document
}

/// What an inspection looked at.
public struct InspectionResult: Sendable {
    public var filesRead: Int
    public var linesRead: Int
    public var matched: Int
    public var shown: Int
    /// Whether scanning stopped early because the limit was reached.
    public var stoppedEarly: Bool
    public var invalidLines: Int
}

/// Whether a rejected document was dropped for `reason` (see ``InspectOptions/droppedReason``).
public func wasDropped(_ doc: Document, for reason: String) -> Bool {
    guard case .object(let r)? = doc.metadata["_rejected"] else { return false }
    let stage = r["stage"]?.stringValue ?? ""
    let why = r["reason"]?.stringValue ?? ""
    if reason == "*" || reason == "all" { return true }
    if why == reason { return true }
    for sep in [":", "/"] where reason.contains(sep) {
        let parts = reason.split(separator: Character(sep), maxSplits: 1).map(String.init)
        if parts.count == 2 && parts[0] == stage && (parts[1] == why || parts[1] == "*") { return true }
    }
    return stage == reason
}

/// Reads documents from `files` in order, keeps those that match the options, and writes them
/// with `write` as they are found (or, with a sample, at the end in file order).
///
/// A sample of N keeps the N matching documents whose XXH64(seed, id) is smallest: the same
/// documents whatever the order, number or sharding of the files.
public func inspectDocuments(files: [String], options: InspectOptions, write: (String) -> Void) throws -> InspectionResult {
    var result = InspectionResult(filesRead: 0, linesRead: 0, matched: 0, shown: 0, stoppedEarly: false, invalidLines: 0)
    let limit = options.limit ?? (options.sample ?? .max)
    var sampleHeap: [(hash: UInt64, order: Int, found: FoundDocument)] = []
    var parser = DocumentLineParser()
    var order = 0
    fileLoop: for file in files {
        let reader: LineBatchReader
        do {
            reader = try LineBatchReader(path: file, maxLines: 1024, maxBytes: 8 << 20, maxLineBytes: 1 << 30)
        } catch {
            throw InspectionError("cannot read \(file): \(error)")
        }
        result.filesRead += 1
        while let batch = try reader.next() {
            for i in 0..<batch.count {
                result.linesRead += 1
                let parsed = batch.withLine(i) { parser.parse($0) }
                guard case .document(let doc) = parsed else {
                    result.invalidLines += 1
                    continue
                }
                if let id = options.id, doc.id != id { continue }
                if let reason = options.droppedReason, !wasDropped(doc, for: reason) { continue }
                if !options.conditions.allSatisfy({ $0.matches(doc) }) { continue }
                result.matched += 1
                order += 1
                let found = FoundDocument(file: file, line: batch.lineNumbers[i], raw: Array(batch[line: i]), document: doc)
                if let n = options.sample {
                    let h = XXH64.hash(doc.id.isEmpty ? "\(file):\(batch.lineNumbers[i])" : doc.id, seed: options.seed)
                    if sampleHeap.count < n {
                        sampleHeap.append((h, order, found))
                        if sampleHeap.count == n { sampleHeap.sort { ($0.hash, $0.order) > ($1.hash, $1.order) } }
                    } else if n > 0, (h, order) < (sampleHeap[0].hash, sampleHeap[0].order) {
                        // Replace the largest hash (kept first) and restore the order.
                        sampleHeap[0] = (h, order, found)
                        var j = 0
                        while j + 1 < sampleHeap.count && (sampleHeap[j].hash, sampleHeap[j].order) < (sampleHeap[j + 1].hash, sampleHeap[j + 1].order) {
                            sampleHeap.swapAt(j, j + 1)
                            j += 1
                        }
                    }
                } else {
                    if result.shown >= limit {
                        result.stoppedEarly = true
                        break fileLoop
                    }
                    result.shown += 1
                    write(options.json ? String(decoding: found.raw, as: UTF8.self) + "\n" : formatDocument(found, number: result.shown, options: options))
                }
            }
        }
    }
    if options.sample != nil {
        let chosen = sampleHeap.sorted { $0.order < $1.order }.prefix(limit)
        for s in chosen {
            result.shown += 1
            write(options.json ? String(decoding: s.found.raw, as: UTF8.self) + "\n" : formatDocument(s.found, number: result.shown, options: options))
        }
    }
    return result
}

/// A document for reading in a terminal: a header with where it is, the top-level fields and
/// the metadata (flattened to dotted keys) first, then the text wrapped to the width, with
/// control characters shown as symbols so they cannot disturb the terminal.
public func formatDocument(_ found: FoundDocument, number: Int, options: InspectOptions) -> String {
    let doc = found.document
    let width = max(40, options.width)
    let place = "\((found.file as NSString).lastPathComponent):\(found.line)"
    var out = ""
    var header = "━━ \(number) · \(place) "
    if case .object(let r)? = doc.metadata["_rejected"] {
        header += "· dropped by \(r["stage"]?.stringValue ?? "?"): \(r["reason"]?.stringValue ?? "?") "
    }
    out += header + String(repeating: "━", count: max(3, width - header.unicodeScalars.count)) + "\n"
    var fields: [(String, String)] = [("id", doc.id), ("source", doc.source)]
    if let a = doc.added { fields.append(("added", a)) }
    if let c = doc.created { fields.append(("created", c)) }
    var meta: [(String, String)] = []
    flattenMetadata(doc.metadata, prefix: "", into: &meta)
    for f in doc.extraFields { meta.append((f.key + " (top level)", String(decoding: f.rawValue.prefix(300), as: UTF8.self))) }
    let keyWidth = min(28, (fields + meta).map { $0.0.unicodeScalars.count }.max() ?? 8)
    let valueWidth = max(20, width - keyWidth - 4)
    for (k, v) in fields { out += "  " + pad(k, keyWidth) + "  " + displayText(v, max: valueWidth) + "\n" }
    if meta.isEmpty {
        out += "  " + pad("metadata", keyWidth) + "  {}\n"
    } else {
        for (k, v) in meta { out += "  " + pad(k, keyWidth) + "  " + displayText(v, max: valueWidth) + "\n" }
    }
    let counts = countText(doc.text)
    out += "  " + pad("text", keyWidth) + "  \(formatCount(counts.characters)) characters · \(formatCount(counts.words)) words · \(formatCount(counts.lines)) lines\n"
    var text = doc.text
    var cut = 0
    if options.maxCharacters > 0 && counts.characters > options.maxCharacters {
        text = String(String.UnicodeScalarView(doc.text.unicodeScalars.prefix(options.maxCharacters)))
        cut = counts.characters - options.maxCharacters
    }
    for line in wrapText(text, width: width - 4) { out += "  │ " + line + "\n" }
    if cut > 0 { out += "  … \(formatCount(cut)) more characters (--max-chars 0 shows all)\n" }
    return out + "\n"
}

private func pad(_ s: String, _ w: Int) -> String {
    let n = s.unicodeScalars.count
    return n >= w ? s : s + String(repeating: " ", count: w - n)
}

private func flattenMetadata(_ o: JSONObject, prefix: String, into out: inout [(String, String)]) {
    for e in o {
        let key = prefix.isEmpty ? e.key : prefix + "." + e.key
        switch e.value {
        case .object(let child) where !child.isEmpty: flattenMetadata(child, prefix: key, into: &out)
        case .string(let s): out.append((key, s))
        default: out.append((key, String(decoding: encodeJSON(e.value).prefix(300), as: UTF8.self)))
        }
    }
}

/// Terminal columns a scalar takes: 2 for East Asian wide characters, 0 for combining marks.
func displayWidth(_ u: Unicode.Scalar) -> Int {
    switch u.value {
    case 0x0300...0x036F, 0x200B...0x200F: return 0
    case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
        0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
        0x1F900...0x1F9FF, 0x20000...0x3FFFD:
        return 2
    default: return 1
    }
}

/// Splits text into display lines of at most `width` columns. Lines that fit are kept as they
/// are (indentation and runs of spaces included, so tables and ASCII art survive); longer
/// lines break at the last space that fits, or inside a word longer than a line. Control
/// characters become visible symbols and tabs four spaces.
public func wrapText(_ text: String, width: Int) -> [String] {
    let w = max(10, width)
    var lines: [String] = []
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
        var visible: [Unicode.Scalar] = []
        for u in raw.unicodeScalars {
            switch u.value {
            case 0x09: visible.append(contentsOf: "    ".unicodeScalars)
            case 0x0D: continue
            case 0..<0x20: visible.append(Unicode.Scalar(0x2400 + u.value)!)
            case 0x7F: visible.append("␡")
            case 0x80..<0xA0: visible.append("�")
            default: visible.append(u)
            }
        }
        var start = 0
        while true {
            // How many scalars from `start` fit in `w` columns.
            var cols = 0
            var end = start
            while end < visible.count {
                let cw = displayWidth(visible[end])
                if cols + cw > w { break }
                cols += cw
                end += 1
            }
            if end >= visible.count {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: visible[start...])
                lines.append(String(view))
                break
            }
            var cut = end
            if let space = visible[start..<end].lastIndex(of: " "), space > start { cut = space }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: visible[start..<cut])
            lines.append(String(view))
            start = cut
            while start < visible.count && visible[start] == " " { start += 1 }
            if start >= visible.count { break }
        }
    }
    while lines.last == "" && lines.count > 1 { lines.removeLast() }
    return lines
}
