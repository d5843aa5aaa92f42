import Foundation
import SluiceCore
import SluiceIO

/// A document field named on the command line: `source`, `added`, `created`, `id`, any other
/// top-level key, or a metadata path (`language`, `metadata.quality.fasttext`, `quality.fasttext`).
public struct FieldPath: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case id, text, source, added, created
        /// A path inside `metadata`.
        case metadata(String)
        /// A top-level key the schema does not know, falling back to the same path in metadata.
        case topLevel(String)
    }

    public let kind: Kind
    public let description: String

    public init(_ name: String) {
        description = name
        switch name {
        case "id": kind = .id
        case "text": kind = .text
        case "source": kind = .source
        case "added": kind = .added
        case "created": kind = .created
        default:
            if name.hasPrefix("metadata.") {
                kind = .metadata(String(name.dropFirst("metadata.".count)))
            } else {
                kind = .topLevel(name)
            }
        }
    }

    /// The field's value in a document: the metadata path first, then a top-level extra field.
    public func value(in doc: Document) -> JSONValue? {
        switch kind {
        case .id: return .string(doc.id)
        case .text: return .string(doc.text)
        case .source: return .string(doc.source)
        case .added: return doc.added.map { .string($0) }
        case .created: return doc.created.map { .string($0) }
        case .metadata(let p): return doc.metadata.value(atPath: p)
        case .topLevel(let p):
            if let v = doc.metadata.value(atPath: p) { return v }
            let parts = p.split(separator: ".", maxSplits: 1).map(String.init)
            guard let field = doc.extraFields.last(where: { $0.key == parts[0] }),
                let v = try? parseJSONValue(field.rawValue)
            else { return nil }
            if parts.count == 1 { return v }
            return v.objectValue?.value(atPath: parts[1])
        }
    }

    /// The top-level key to capture while scanning, if the field may live there.
    var topLevelKey: [UInt8]? {
        switch kind {
        case .added: return Array("added".utf8)
        case .created: return Array("created".utf8)
        case .id: return Array("id".utf8)
        case .topLevel(let p): return Array((p.split(separator: ".").first.map(String.init) ?? p).utf8)
        default: return nil
        }
    }
}

/// A JSON value as a grouping key: strings as they are, numbers as written, `true`/`false`,
/// arrays and objects as compact JSON; nil for null.
public func groupingKey(_ v: JSONValue) -> String? {
    switch v {
    case .null: return nil
    case .string(let s): return s
    case .number(let n): return n.literal
    case .bool(let b): return b ? "true" : "false"
    default: return String(decoding: encodeJSON(v), as: UTF8.self)
    }
}

extension ShardScanner {
    /// Documents by the value of any field, read from the shards (for `sluice stats --by`
    /// with a field the shard statistics do not count). Exact up to `capacity` distinct values.
    public static func breakdown(paths: [String], field: FieldPath, workers: Int, capacity: Int = 1000) throws -> Breakdown {
        let slots = ResultSlots<Result<(TopKSketch, Int, Int), any Error>>(count: paths.count)
        let next = Counter()
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, paths.count))) { _ in
            while true {
                let i = next.take()
                if i >= paths.count { return }
                slots.set(i, Result { try breakdown(path: paths[i], field: field, capacity: capacity) })
            }
        }
        var sketch = TopKSketch(capacity: capacity)
        var documents = 0
        var bytes = 0
        for r in slots.values {
            let (s, d, b) = try r!.get()
            sketch.merge(s)
            documents += d
            bytes += b
        }
        return Breakdown(
            field: field.description, origin: "read from \(paths.count) shards", documents: documents, bytes: bytes,
            documentsWithValue: sketch.total, exact: sketch.isExact, maximumError: sketch.maximumError, rows: sketch.top(),
            fromScan: true)
    }

    private static func breakdown(path: String, field: FieldPath, capacity: Int) throws -> (TopKSketch, Int, Int) {
        var sketch = TopKSketch(capacity: capacity)
        var documents = 0
        var bytes = 0
        let capture = field.topLevelKey
        try forEachLine(path: path) { line, lineBytes in
            documents += 1
            bytes += lineBytes
            guard let doc = scanDocumentLine(line, capture: capture) else { return }
            var value: JSONValue?
            let metadata = doc.metadata
            switch field.kind {
            case .source: value = .string(doc.source)
            case .metadata(let p): value = metadata.value(atPath: p)
            case .topLevel(let p):
                value = metadata.value(atPath: p)
                if value == nil, let raw = doc.captured, let v = try? parseJSONValue(UnsafeRawBufferPointer(raw)) {
                    let parts = p.split(separator: ".", maxSplits: 1).map(String.init)
                    value = parts.count == 1 ? v : v.objectValue?.value(atPath: parts[1])
                }
            case .text: value = nil
            case .id, .added, .created:
                if let raw = doc.captured { value = try? parseJSONValue(UnsafeRawBufferPointer(raw)) }
            }
            if let v = value, let key = groupingKey(v) {
                sketch.add(key, bytes: lineBytes, characters: doc.counts.characters, words: doc.counts.words)
            }
        }
        return (sketch, documents, bytes)
    }

    /// Calls `body` with every line of a (plain, .gz or .zst) file, without its line feed, and
    /// the line's length with its line feed.
    static func forEachLine(path: String, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        let reader: LineBatchReader
        do {
            reader = try LineBatchReader(path: path, maxLines: 4096, maxBytes: 8 << 20, maxLineBytes: 1 << 30)
        } catch {
            throw StatsFileError("cannot open \(path): \(error)")
        }
        while let batch = try reader.next() {
            try batch.bytes.withUnsafeBufferPointer { all in
                for i in 0..<batch.count {
                    let line = UnsafeBufferPointer(rebasing: all[batch.lineStarts[i]..<batch.lineEnds[i]])
                    try body(line, batch.lineEnds[i] - batch.lineStarts[i] + 1)
                }
            }
        }
    }
}
