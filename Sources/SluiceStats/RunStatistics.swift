import SluiceCore
import SluiceIO

/// One stage of a run's funnel: its pipeline id, its type and what it did.
public struct FunnelStage: Sendable {
    public var id: String
    public var type: String
    public var stats: StageStats

    public init(id: String, type: String, stats: StageStats) {
        self.id = id
        self.type = type
        self.stats = stats
    }
}

/// One shard of a run, with its statistics when its sidecar could be read.
public struct ShardEntry: Sendable {
    public var path: String
    public var documents: Int
    public var bytes: Int
    public var compressedBytes: Int
    public var statistics: ShardStatistics?

    public init(path: String, documents: Int, bytes: Int, compressedBytes: Int, statistics: ShardStatistics?) {
        self.path = path
        self.documents = documents
        self.bytes = bytes
        self.compressedBytes = compressedBytes
        self.statistics = statistics
    }
}

/// Everything `sluice stats`, `sluice report` and `sluice diff` show about a run: the funnel,
/// the shards and their merged statistics.
public struct RunStatistics: Sendable {
    public var root: String
    /// The pipeline's name, from the manifest, when there is one.
    public var name: String?
    public var tasks: Int
    public var completedTasks: Int
    public var stages: [FunnelStage]
    public var shards: [ShardEntry]
    public var inputProblems: [String]
    /// The merge of every shard's statistics.
    public var combined: ShardStatistics
    /// Whether the statistics were recomputed from the shards rather than read from sidecars.
    public var recomputed: Bool
    /// Shards whose statistics were missing or unreadable, with the reason.
    public var statisticsProblems: [String]
    /// The pipeline file's text, from the manifest, when there is one.
    public var pipelineText: String?

    public init(
        root: String, name: String?, tasks: Int, completedTasks: Int, stages: [FunnelStage], shards: [ShardEntry],
        inputProblems: [String], recomputed: Bool = false, statisticsProblems: [String] = []
    ) {
        self.root = root
        self.name = name
        self.tasks = tasks
        self.completedTasks = completedTasks
        self.stages = stages
        self.shards = shards
        self.inputProblems = inputProblems
        self.recomputed = recomputed
        self.statisticsProblems = statisticsProblems
        combined = ShardStatistics.merged(shards.compactMap(\.statistics))
    }

    public var documents: Int { shards.reduce(0) { $0 + $1.documents } }
    public var bytes: Int { shards.reduce(0) { $0 + $1.bytes } }
    public var compressedBytes: Int { shards.reduce(0) { $0 + $1.compressedBytes } }
    /// Documents that entered the run (the first stage's received count), when known.
    public var documentsIn: Int? { stages.first?.stats.received }
    /// Shards that have statistics.
    public var shardsWithStatistics: Int { shards.filter { $0.statistics != nil }.count }

    // MARK: Text

    /// What to include in ``renderText(_:)``.
    public struct TextOptions: Sendable {
        public var maxShardRows = 20
        public var histograms = true
        public var maxMetadataHistograms = 6
        public var categoryRows = 10
        public var width = 40
        public init() {}
    }

    /// The terminal report: totals, the funnel with percentages, shards, length and metadata
    /// distributions with text histograms, and the top values of the categorical fields.
    public func renderText(_ options: TextOptions = TextOptions()) -> String {
        var out = "\(root): \(formatCount(documents)) documents in \(formatCount(shards.count)) shards, "
        out += "\(formatBytes(bytes)) JSONL, \(formatBytes(compressedBytes)) compressed"
        if bytes > 0 { out += " (ratio \(formatFixed(Double(compressedBytes) / Double(bytes), digits: 3)))" }
        if completedTasks < tasks { out += "\n  only \(completedTasks) of \(tasks) tasks are complete; these numbers cover the finished ones" }
        if let input = documentsIn, input > 0 {
            out += "\nkept \(formatCount(documents)) of \(formatCount(input)) input documents (\(formatPercent(Double(documents), of: Double(input))))"
        }
        if combined.documents > 0 {
            out += "\ntext: \(formatCount(combined.characters)) characters, \(formatCount(combined.words)) words, \(formatCount(combined.lines)) lines"
        }
        out += "\n\n" + renderFunnelText(stages)
        out += "\n" + renderShardTable(maxRows: options.maxShardRows)
        if recomputed { out += "(statistics recomputed from the shards)\n" }
        if !statisticsProblems.isEmpty {
            out += "\nstatistics missing for \(statisticsProblems.count) shard(s); numbers below leave them out (sluice stats --recompute reads the shards):\n"
            for p in statisticsProblems.prefix(5) { out += "  " + p + "\n" }
        }
        if combined.documents > 0 {
            out += "\n" + renderDistributionTable()
            if options.histograms {
                for (name, h) in combined.lengthHistograms where name != "lines" {
                    out += "\n" + renderTextHistogram(h, title: "\(name) per document", width: options.width)
                }
                for name in combined.metadataFields.prefix(options.maxMetadataHistograms) {
                    out += "\n" + renderTextHistogram(combined.metadata[name]!, title: "metadata.\(name)", width: options.width)
                }
                if combined.metadata.count > options.maxMetadataHistograms {
                    out += "\n(\(combined.metadata.count - options.maxMetadataHistograms) more metadata fields in the table above; sluice report draws them all)\n"
                }
            }
            out += "\n" + renderCategories(rows: options.categoryRows)
        }
        if !inputProblems.isEmpty {
            out += "\ninput problems (\(inputProblems.count)):\n"
            for p in inputProblems.prefix(20) { out += "  " + p + "\n" }
            if inputProblems.count > 20 { out += "  … and \(inputProblems.count - 20) more (sluice stats --json lists them all)\n" }
        }
        return out
    }

    /// The shard table.
    public func renderShardTable(maxRows: Int) -> String {
        var rows: [[String]] = [["shard", "documents", "bytes", "compressed", "ratio", "characters", "words", "mean chars"]]
        for s in shards.prefix(maxRows) {
            var row = [s.path, formatCount(s.documents), formatBytes(s.bytes), formatBytes(s.compressedBytes),
                       s.bytes > 0 ? formatFixed(Double(s.compressedBytes) / Double(s.bytes), digits: 3) : "-"]
            if let st = s.statistics {
                row += [formatCount(st.characters), formatCount(st.words),
                        st.documents > 0 ? formatCount(st.characters / st.documents) : "-"]
            } else {
                row += ["-", "-", "-"]
            }
            rows.append(row)
        }
        var out = renderTextTable(rows, rightAligned: [1, 2, 3, 4, 5, 6, 7])
        if shards.count > maxRows { out += "… and \(shards.count - maxRows) more shards (--shards N shows more)\n" }
        return out
    }

    /// One row per length measure and numeric metadata field: count, mean and quantiles.
    public func renderDistributionTable() -> String {
        var rows: [[String]] = [["field", "documents", "mean", "min", "p10", "p50", "p90", "max"]]
        func row(_ name: String, _ h: LogHistogram) -> [String] {
            [name, formatCount(h.total), formatStatistic(h.mean, of: h), formatValue(h.min), formatStatistic(h.quantile(0.1) ?? 0, of: h),
             formatStatistic(h.quantile(0.5) ?? 0, of: h), formatStatistic(h.quantile(0.9) ?? 0, of: h), formatValue(h.max)]
        }
        for (name, h) in combined.lengthHistograms { rows.append(row(name, h)) }
        for name in combined.metadataFields { rows.append(row("metadata." + name, combined.metadata[name]!)) }
        return "distributions (quantiles within 1/16 of the value)\n" + renderTextTable(rows, rightAligned: [1, 2, 3, 4, 5, 6, 7])
    }

    /// The top values of each categorical field that documents have.
    public func renderCategories(rows: Int) -> String {
        var out = ""
        for f in CategoryField.allCases {
            let b = breakdown(f)
            guard b.documentsWithValue > 0 else { continue }
            out += b.renderText(maxRows: rows) + "\n"
        }
        return out
    }

    /// One line on the speed of a `--recompute`: shards, bytes, seconds, MB/s of compressed shards.
    public func rescanReport(seconds: Double, workers: Int) -> String {
        let s = max(seconds, 1e-9)
        return "rescanned \(shards.count) shards, \(formatBytes(compressedBytes)) compressed (\(formatBytes(bytes)) JSONL) in "
            + "\(formatFixed(s, digits: 2)) s: \(formatFixed(Double(compressedBytes) / 1e6 / s, digits: 0)) MB/s compressed, "
            + "\(formatFixed(Double(bytes) / 1e6 / s, digits: 0)) MB/s JSONL, on \(workers) workers"
    }

    // MARK: Breakdown

    /// The documents by the value of a categorical field, from the merged sketches.
    public func breakdown(_ field: CategoryField) -> Breakdown {
        let sketch = combined.category(field)
        var b = Breakdown(
            field: field.name, origin: field.origin, documents: combined.documents, bytes: combined.bytes,
            documentsWithValue: sketch.total, exact: sketch.isExact, maximumError: sketch.maximumError,
            rows: sketch.top(), fromScan: recomputed)
        b.capacity = sketch.capacity
        return b
    }

    // MARK: JSON

    /// Keys added to `sluice stats --json` beside `totals`, `stages` and `shards`: `lengths`
    /// and `metadata` (a summary with quantiles and the histogram for each measure and numeric
    /// field) and `categories` (the top values of each categorical field).
    public var distributionJSON: [(key: String, value: JSONValue)] {
        var lengths = JSONObject()
        for (name, h) in combined.lengthHistograms { lengths.append(key: name, value: histogramSummaryJSON(h)) }
        var meta = JSONObject()
        for name in combined.metadataFields { meta.append(key: name, value: histogramSummaryJSON(combined.metadata[name]!)) }
        var cats = JSONObject()
        for f in CategoryField.allCases { cats.append(key: f.name, value: breakdown(f).json) }
        return [
            ("text", .object([
                "characters": .int(combined.characters), "words": .int(combined.words), "lines": .int(combined.lines),
            ])),
            ("lengths", .object(lengths)), ("metadata", .object(meta)), ("categories", .object(cats)),
            ("statistics_source", .string(recomputed ? "recomputed" : "sidecars")),
            ("statistics_problems", .array(statisticsProblems.map { .string($0) })),
        ]
    }

    /// Extra keys for a shard's entry in `--json`: its text counts, when known.
    public static func shardExtraJSON(_ s: ShardEntry) -> [(key: String, value: JSONValue)] {
        guard let st = s.statistics else { return [("statistics", .bool(false))] }
        return [("characters", .int(st.characters)), ("words", .int(st.words)), ("lines", .int(st.lines))]
    }
}

/// Count, mean, min, quantiles and max of a histogram, with the histogram itself.
public func histogramSummaryJSON(_ h: LogHistogram) -> JSONValue {
    var o = JSONObject()
    o.append(key: "count", value: .int(h.total))
    o.append(key: "mean", value: h.total > 0 ? .double(h.mean) : .null)
    o.append(key: "min", value: h.total > 0 ? .double(h.min) : .null)
    for (k, q) in [("p10", 0.1), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p90", 0.9), ("p99", 0.99)] {
        o.append(key: k, value: h.quantile(q).map { .double($0) } ?? .null)
    }
    o.append(key: "max", value: h.total > 0 ? .double(h.max) : .null)
    o.append(key: "histogram", value: h.json)
    return .object(o)
}

/// Documents grouped by the value of one field.
public struct Breakdown: Sendable {
    /// The field's name as shown.
    public var field: String
    /// Where its values come from (`metadata.language`).
    public var origin: String
    /// All documents, and their JSONL bytes.
    public var documents: Int
    public var bytes: Int
    /// Documents that have a value.
    public var documentsWithValue: Int
    /// Whether every count is exact.
    public var exact: Bool
    public var maximumError: Int
    /// Values, largest count first.
    public var rows: [TopKSketch.Entry]
    /// Whether the shards were read to compute it.
    public var fromScan: Bool
    /// The sketch's capacity.
    public var capacity: Int = TopKSketch.defaultCapacity

    /// The rows whose count is known well enough to rank: exact ones, and those whose
    /// guaranteed part (`count - error`) is at least as large as the possible excess.
    public var reliableRows: [TopKSketch.Entry] {
        rows.filter { $0.error == 0 || $0.count - $0.error >= $0.error }
    }

    public init(field: String, origin: String, documents: Int, bytes: Int, documentsWithValue: Int, exact: Bool,
                maximumError: Int, rows: [TopKSketch.Entry], fromScan: Bool) {
        self.field = field
        self.origin = origin
        self.documents = documents
        self.bytes = bytes
        self.documentsWithValue = documentsWithValue
        self.exact = exact
        self.maximumError = maximumError
        self.rows = rows
        self.fromScan = fromScan
    }

    public func renderText(maxRows: Int = .max) -> String {
        var out = "by \(field) (\(origin)): \(formatCount(documentsWithValue)) of \(formatCount(documents)) documents have a value"
        out += exact ? "; exact counts\n" : "; top values, counts may be over by at most \(formatCount(maximumError)) (±)\n"
        var table: [[String]] = [[field, "documents", "%", "bytes", "% bytes", "characters", "words", "mean chars"]]
        var shownDocs = 0
        var shownBytes = 0
        let reliable = reliableRows
        for e in reliable.prefix(maxRows) {
            shownDocs += e.count
            shownBytes += e.bytes
            table.append([
                e.value.isEmpty ? "(empty)" : displayText(e.value, max: 48),
                formatCount(e.count) + (e.error > 0 ? " ±\(formatCount(e.error))" : ""),
                formatPercent(Double(e.count), of: Double(documents)), formatBytes(e.bytes),
                formatPercent(Double(e.bytes), of: Double(bytes)), formatCount(e.characters), formatCount(e.words),
                e.count > 0 ? formatCount(e.characters / e.count) : "-",
            ])
        }
        let others = documentsWithValue - shownDocs
        if others > 0 {
            table.append(["(other values)", formatCount(max(0, others)), formatPercent(Double(max(0, others)), of: Double(documents)),
                          "", "", "", "", ""])
        }
        if documents > documentsWithValue {
            table.append(["(no value)", formatCount(documents - documentsWithValue),
                          formatPercent(Double(documents - documentsWithValue), of: Double(documents)), "", "", "", "", ""])
        }
        _ = shownBytes
        out += renderTextTable(table, rightAligned: [1, 2, 3, 4, 5, 6, 7])
        if reliable.count < rows.count {
            out += "(\(rows.count - reliable.count) more values tracked with uncertain counts are counted in (other values); --json lists them)\n"
        }
        return out
    }

    public var json: JSONValue {
        var o = JSONObject()
        o.append(key: "field", value: .string(field))
        o.append(key: "origin", value: .string(origin))
        o.append(key: "documents", value: .int(documents))
        o.append(key: "documents_with_value", value: .int(documentsWithValue))
        o.append(key: "exact", value: .bool(exact))
        o.append(key: "max_error", value: .int(maximumError))
        o.append(
            key: "values",
            value: .array(rows.map { e in
                .object([
                    "value": .string(e.value), "documents": .int(e.count), "error": .int(e.error), "bytes": .int(e.bytes),
                    "characters": .int(e.characters), "words": .int(e.words),
                ])
            }))
        return .object(o)
    }
}

/// The funnel table: one row per stage with received, kept and dropped documents and their
/// shares, text bytes in and out and time; under each stage its drop reasons with their share
/// of the stage's input and of the run's input, and its counters.
public func renderFunnelText(_ stages: [FunnelStage]) -> String {
    guard !stages.isEmpty else { return "funnel: no per-task statistics in _stats/\n" }
    let input = Double(stages.first?.stats.received ?? 0)
    var rows: [[String]] = [["stage", "type", "received", "kept", "kept %", "dropped", "% of stage", "% of input", "text in → out", "seconds"]]
    for s in stages {
        let st = s.stats
        rows.append([
            s.id, s.type, formatCount(st.received), formatCount(st.kept), formatPercent(Double(st.kept), of: Double(st.received)),
            formatCount(st.droppedTotal), formatPercent(Double(st.droppedTotal), of: Double(st.received)),
            formatPercent(Double(st.droppedTotal), of: input), "\(formatBytes(st.bytesIn)) → \(formatBytes(st.bytesOut))",
            formatFixed(st.seconds, digits: 2),
        ])
        for (reason, n) in st.dropped.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            rows.append(["", "  " + reason, "", "", "", formatCount(n), formatPercent(Double(n), of: Double(st.received)),
                         formatPercent(Double(n), of: input), "", ""])
        }
        for (name, n) in st.counters.sorted(by: { $0.key < $1.key }) {
            rows.append(["", "  (" + name + ")", "", "", "", formatCount(n), "", "", "", ""])
        }
    }
    var out = renderTextTable(rows, rightAligned: [2, 3, 4, 5, 6, 7, 8, 9])
    if let first = stages.first?.stats, let last = stages.last?.stats, first.received > 0 {
        out += "→ \(formatCount(last.kept)) of \(formatCount(first.received)) documents kept (\(formatPercent(Double(last.kept), of: Double(first.received))))"
        if first.bytesOut > 0 {
            out += ", \(formatBytes(last.bytesOut)) of \(formatBytes(first.bytesOut)) text (\(formatPercent(Double(last.bytesOut), of: Double(first.bytesOut))))"
        }
        out += "\n"
    }
    return out
}

/// Text made safe and short for one table cell or line: control characters shown as `␛`-style
/// symbols, newlines as `⏎`, cut at `max` characters with `…`.
public func displayText(_ s: String, max: Int) -> String {
    var out = ""
    var n = 0
    for u in s.unicodeScalars {
        if n >= max {
            out += "…"
            break
        }
        switch u.value {
        case 0x0A: out += "⏎"
        case 0x09: out += " "
        case 0..<0x20: out.unicodeScalars.append(Unicode.Scalar(0x2400 + u.value)!)
        case 0x7F: out += "␡"
        case 0x80..<0xA0: out += "�"
        default: out.unicodeScalars.append(u)
        }
        n += 1
    }
    return out
}
