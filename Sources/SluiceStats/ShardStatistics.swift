import SluiceCore
import SluiceIO

/// Statistics of one shard (or, merged, of any set of shards), written beside each shard as
/// `NNNNN_NNNN.stats.json`:
///
/// ```json
/// {"shard": "00000_0000.jsonl.zst", "documents": 812, "bytes": 1630211, "compressed_bytes": 402114,
///  "characters": 1580022, "words": 260113, "lines": 30121,
///  "histograms": {"characters": H, "words": H, "lines": H},
///  "metadata": {"language_score": H, "quality.fasttext": H},
///  "categories": {"source": S, "language": S, "domain": S, "content_type": S},
///  "input_files": ["in/part-0.jsonl.zst"]}
/// ```
///
/// `bytes` are uncompressed JSONL bytes (line feeds included), `characters`/`words`/`lines`
/// follow ``TextCounts``. Each `H` is a ``LogHistogram`` (see ``LogHistogram/json``), one per
/// length measure and one per numeric metadata field found (nested paths dotted, at most
/// ``maxMetadataFields`` per shard). Each `S` is a ``TopKSketch`` (see ``TopKSketch/json``).
/// Everything merges by adding, so the statistics of a run are the merge of its shards'.
public struct ShardStatistics: Sendable, Equatable {
    /// A shard tracks at most this many numeric metadata fields (the first ones seen).
    public static let maxMetadataFields = 256

    public var documents = 0
    public var bytes = 0
    public var compressedBytes = 0
    public var characters = 0
    public var words = 0
    public var lines = 0
    public var characterHistogram = LogHistogram()
    public var wordHistogram = LogHistogram()
    public var lineHistogram = LogHistogram()
    /// One histogram per numeric metadata field, by dotted path.
    public var metadata: [String: LogHistogram] = [:]
    /// Numeric values not tracked because the shard already had ``maxMetadataFields`` fields.
    public var untrackedMetadataValues = 0
    /// One sketch per ``CategoryField``, indexed by its raw value.
    public var categories: [TopKSketch] = CategoryField.allCases.map { TopKSketch(capacity: $0.capacity) }
    /// The input files that fed the shard, in first-seen order.
    public var inputFiles: [String] = []

    public init() {}

    public func category(_ field: CategoryField) -> TopKSketch { categories[field.rawValue] }

    /// The metadata field names, sorted.
    public var metadataFields: [String] { metadata.keys.sorted() }

    /// Adds document `i` of a batch.
    public mutating func add(_ profiles: DocumentProfiles, at i: Int) {
        add(profiles, range: i..<(i + 1))
    }

    /// Adds documents `range` of a batch, in order. Each metadata field is looked up once per
    /// call, not once per value.
    public mutating func add(_ profiles: DocumentProfiles, range: Range<Int>) {
        guard !range.isEmpty else { return }
        // Take the histograms of the batch's fields out of the dictionary while adding.
        var slots = [LogHistogram?](repeating: nil, count: profiles.fieldNames.count)
        var tracked = [Bool](repeating: false, count: profiles.fieldNames.count)
        var resolved = [Bool](repeating: false, count: profiles.fieldNames.count)
        for i in range {
            documents += 1
            let lineBytes = profiles.lineBytes[i]
            bytes += lineBytes
            guard profiles.profiled[i] else { continue }
            let c = profiles.characters[i]
            let w = profiles.words[i]
            let l = profiles.lines[i]
            characters += c
            words += w
            lines += l
            characterHistogram.add(Double(c))
            wordHistogram.add(Double(w))
            lineHistogram.add(Double(l))
            for j in profiles.numericRange(i) {
                let (field, value) = profiles.numeric(at: j)
                if !resolved[field] {
                    resolved[field] = true
                    let name = profiles.fieldNames[field]
                    if let h = metadata.removeValue(forKey: name) {
                        slots[field] = h
                        tracked[field] = true
                    } else if metadata.count + slots.lazy.filter({ $0 != nil }).count < Self.maxMetadataFields {
                        slots[field] = LogHistogram()
                        tracked[field] = true
                    }
                }
                if tracked[field] {
                    slots[field]!.add(value)
                } else {
                    untrackedMetadataValues += 1
                }
            }
            for f in CategoryField.allCases {
                if let v = profiles.category(f, of: i) {
                    categories[f.rawValue].add(v, bytes: lineBytes, characters: c, words: w)
                }
            }
        }
        for (field, h) in slots.enumerated() where tracked[field] { metadata[profiles.fieldNames[field]] = h! }
    }

    /// Notes the input file that fed the documents added next.
    public mutating func noteInputFile(_ file: String) {
        if inputFiles.last != file && !inputFiles.contains(file) { inputFiles.append(file) }
    }

    /// Adds another shard's statistics.
    public mutating func merge(_ other: ShardStatistics) {
        documents += other.documents
        bytes += other.bytes
        compressedBytes += other.compressedBytes
        characters += other.characters
        words += other.words
        lines += other.lines
        characterHistogram.merge(other.characterHistogram)
        wordHistogram.merge(other.wordHistogram)
        lineHistogram.merge(other.lineHistogram)
        for name in other.metadata.keys.sorted() {
            let h = other.metadata[name]!
            if metadata[name] == nil && metadata.count >= Self.maxMetadataFields {
                untrackedMetadataValues += h.total
                continue
            }
            metadata[name, default: LogHistogram()].merge(h)
        }
        untrackedMetadataValues += other.untrackedMetadataValues
        for i in categories.indices where i < other.categories.count { categories[i].merge(other.categories[i]) }
        for f in other.inputFiles { noteInputFile(f) }
    }

    /// The merge of many shards' statistics (their sketches merged at once, see
    /// ``TopKSketch/merged(_:capacity:)``), in order.
    public static func merged(_ list: [ShardStatistics]) -> ShardStatistics {
        var out = ShardStatistics()
        for s in list {
            var light = s
            light.categories = []
            out.merge(light)
        }
        for f in CategoryField.allCases {
            out.categories[f.rawValue] = TopKSketch.merged(
                list.map { f.rawValue < $0.categories.count ? $0.categories[f.rawValue] : TopKSketch(capacity: f.capacity) },
                capacity: f.capacity)
        }
        return out
    }

    /// The length histograms by name: `characters`, `words`, `lines`.
    public var lengthHistograms: [(name: String, histogram: LogHistogram)] {
        [("characters", characterHistogram), ("words", wordHistogram), ("lines", lineHistogram)]
    }

    // MARK: JSON

    /// The sidecar's JSON (keys in a fixed order, so the file is byte-stable).
    public func json(shard: String) -> JSONValue {
        var o: JSONObject = ["shard": .string(shard)]
        o.append(key: "documents", value: .int(documents))
        o.append(key: "bytes", value: .int(bytes))
        o.append(key: "compressed_bytes", value: .int(compressedBytes))
        o.append(key: "characters", value: .int(characters))
        o.append(key: "words", value: .int(words))
        o.append(key: "lines", value: .int(lines))
        o.append(
            key: "histograms",
            value: .object([
                "characters": characterHistogram.json, "words": wordHistogram.json, "lines": lineHistogram.json,
            ]))
        var meta = JSONObject()
        for name in metadataFields { meta.append(key: name, value: metadata[name]!.json) }
        o.append(key: "metadata", value: .object(meta))
        if untrackedMetadataValues > 0 { o.append(key: "untracked_metadata_values", value: .int(untrackedMetadataValues)) }
        var cats = JSONObject()
        for f in CategoryField.allCases { cats.append(key: f.name, value: categories[f.rawValue].json) }
        o.append(key: "categories", value: .object(cats))
        o.append(key: "input_files", value: .array(inputFiles.map { .string($0) }))
        return .object(o)
    }

    /// Reads a sidecar's JSON; `file` names it in errors. Missing parts (older sidecars) are
    /// left empty.
    public init(json: JSONValue, file: String) throws {
        guard case .object(let o) = json else { throw StatsFileError("\(file): expected a JSON object") }
        func int(_ key: String) throws -> Int {
            guard let v = o[key] else { return 0 }
            guard case .number(let n) = v, let i = n.intValue else { throw StatsFileError("\(file): '\(key)' must be an integer") }
            return i
        }
        documents = try int("documents")
        bytes = try int("bytes")
        compressedBytes = try int("compressed_bytes")
        characters = try int("characters")
        words = try int("words")
        lines = try int("lines")
        untrackedMetadataValues = try int("untracked_metadata_values")
        if let h = o["histograms"]?.objectValue {
            if let v = h["characters"] { characterHistogram = try LogHistogram(json: v, file: file) }
            if let v = h["words"] { wordHistogram = try LogHistogram(json: v, file: file) }
            if let v = h["lines"] { lineHistogram = try LogHistogram(json: v, file: file) }
        }
        if let m = o["metadata"]?.objectValue {
            for e in m { metadata[e.key] = try LogHistogram(json: e.value, file: file) }
        }
        if let c = o["categories"]?.objectValue {
            for f in CategoryField.allCases {
                if let v = c[f.name] { categories[f.rawValue] = try TopKSketch(json: v, file: file) }
            }
        }
        inputFiles = (o["input_files"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    /// Reads a sidecar file.
    public init(contentsOf path: String) throws {
        let bytes = try readWholeFile(path)
        let value: JSONValue
        do {
            value = try parseJSONValue(bytes)
        } catch {
            throw StatsFileError("\(path) is not valid JSON: \(error)")
        }
        try self.init(json: value, file: path)
    }
}

/// A statistics file that cannot be read or has the wrong shape.
public struct StatsFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}

extension LogHistogram {
    /// `{"total": n, "sum": s, "min": a, "max": b, "bins_per_octave": 16, "first_bin": k,
    /// "counts": [c, c, …]}`: the counts of bins `first_bin`, `first_bin + 1`, … (see
    /// ``LogHistogram`` for what a bin key means). `min`/`max` are null when empty.
    public var json: JSONValue {
        var o = JSONObject()
        o.append(key: "total", value: .int(total))
        o.append(key: "sum", value: .double(sum))
        o.append(key: "min", value: total > 0 ? .double(min) : .null)
        o.append(key: "max", value: total > 0 ? .double(max) : .null)
        o.append(key: "bins_per_octave", value: .int(LogHistogram.subBinsPerOctave))
        o.append(key: "first_bin", value: .int(firstKey))
        o.append(key: "counts", value: .array(counts.map { .int($0) }))
        return .object(o)
    }

    /// Reads ``json``. A histogram stored with other bins keeps its totals but no bins.
    public init(json: JSONValue, file: String) throws {
        guard case .object(let o) = json else { throw StatsFileError("\(file): a histogram must be a JSON object") }
        let total = Int(o["total"]?.doubleValue ?? 0)
        let sum = o["sum"]?.doubleValue ?? 0
        let min = o["min"]?.doubleValue ?? .infinity
        let max = o["max"]?.doubleValue ?? -.infinity
        var counts: [Int] = []
        var first = 0
        if o["bins_per_octave"]?.doubleValue == Double(LogHistogram.subBinsPerOctave), let list = o["counts"]?.arrayValue {
            first = Int(o["first_bin"]?.doubleValue ?? 0)
            counts.reserveCapacity(list.count)
            for v in list {
                guard case .number(let n) = v, let c = n.intValue, c >= 0 else {
                    throw StatsFileError("\(file): histogram counts must be non-negative integers")
                }
                counts.append(c)
            }
        }
        self.init(firstKey: first, counts: counts, total: total, sum: sum, min: min, max: max)
    }
}

extension TopKSketch {
    /// `{"capacity": 64, "total": n, "exact": true, "entries": [{"value": "en", "count": 812,
    /// "error": 0, "bytes": b, "characters": c, "words": w}, …]}`, largest count first.
    public var json: JSONValue {
        var o = JSONObject()
        o.append(key: "capacity", value: .int(capacity))
        o.append(key: "total", value: .int(total))
        o.append(key: "exact", value: .bool(isExact))
        o.append(
            key: "entries",
            value: .array(
                top().map { e in
                    .object([
                        "value": .string(e.value), "count": .int(e.count), "error": .int(e.error),
                        "bytes": .int(e.bytes), "characters": .int(e.characters), "words": .int(e.words),
                    ])
                }))
        return .object(o)
    }

    /// Reads ``json``.
    public init(json: JSONValue, file: String) throws {
        guard case .object(let o) = json else { throw StatsFileError("\(file): a top-k sketch must be a JSON object") }
        var entries: [Entry] = []
        for v in o["entries"]?.arrayValue ?? [] {
            guard case .object(let e) = v, let value = e["value"]?.stringValue else {
                throw StatsFileError("\(file): a top-k entry needs a string 'value'")
            }
            func int(_ k: String) -> Int { Int(e[k]?.doubleValue ?? 0) }
            entries.append(
                Entry(value: value, count: int("count"), error: int("error"), bytes: int("bytes"),
                      characters: int("characters"), words: int("words")))
        }
        self.init(
            capacity: Int(o["capacity"]?.doubleValue ?? Double(TopKSketch.defaultCapacity)),
            total: Int(o["total"]?.doubleValue ?? 0), isExact: o["exact"]?.boolValue ?? true, entries: entries)
    }
}

/// Reads a whole (small) file.
func readWholeFile(_ path: String) throws -> [UInt8] {
    let whole: WholeFile
    do {
        whole = try ByteSource.readWholeFile(path: path, maxBytes: 1 << 30)
    } catch {
        throw StatsFileError("cannot read \(path): \(error)")
    }
    return whole.bytes
}
