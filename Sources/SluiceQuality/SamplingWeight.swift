import Foundation
import SluiceCore

/// Writes `metadata.sampling_weight`, a per-document weight derived from a score or a bucket,
/// for users who upsample good documents and downsample poor ones instead of deleting them
/// (as Baichuan 2 fed its scores into sampling weights rather than hard filtering).
///
/// YAML type `sampling_weight`. A mapper: it drops nothing unless `missing: drop`. Three maps:
///
/// - `table`: a weight per value of `source`, typically a bucket from `score_buckets`
///   (`{0: 0.2, 1: 1, 2: 3}`, or bucket names: `{head: 2, middle: 1, tail: 0.5}`). Keys are
///   matched against the value's text: an integer's digits, or a string. A value not in the
///   table gets `default` when set, and otherwise counts as missing.
/// - `linear`: with `from: [a, b]` and `to: [wa, wb]`, the score is clamped to `[a, b]` and
///   mapped linearly: `w = wa + (x - a) · (wb - wa) / (b - a)`.
/// - `exponential`: same `from` and `to` (both weights > 0), geometric instead of linear:
///   `w = wa · (wb / wa)^((x - a) / (b - a))`, so equal score steps multiply the weight by
///   equal factors.
///
/// Either way the weight stays between the `to` bounds, and `min_weight` / `max_weight`
/// clamp the result further (for table weights too). Weights are written as JSON numbers
/// (shortest text that reads back as the same double).
///
/// Options:
/// - `source` (required): the metadata path read (`language_score_bucket`, `quality.edu`).
/// - `map` (default `table` when `table` is given): `table`, `linear` or `exponential`.
/// - `table`: the mapping from value to weight, for `map: table`.
/// - `default`: the weight of a value absent from the table (default: treated as missing).
/// - `from`, `to`: `[low, high]` score range and weight range, for `linear`/`exponential`.
/// - `min_weight`, `max_weight`: final clamp (optional).
/// - `key` (default `sampling_weight`): the metadata path written.
/// - `missing` (default `weight`): a document without a usable source value gets
///   `missing_weight` (`weight`), or is dropped with `sampling_weight_missing` (`drop`).
/// - `missing_weight` (default 1): the weight such documents get.
///
/// Counters: `weighted`, `source_missing`, `not_in_table`.
///
/// ```yaml
/// - type: score_buckets
///   score: quality.edu
///   percentiles: [30, 60]
///   names: [low, middle, high]
/// - type: sampling_weight            # keep everything, sample the best 3x as often
///   source: quality.edu_bucket
///   table: {0: 0.3, 1: 1, 2: 3}
/// - type: sampling_weight            # or straight from the score
///   source: quality.edu
///   map: exponential
///   from: [0, 5]
///   to: [0.25, 4]
///   key: edu_weight
/// ```
public struct SamplingWeight: MapperStage {
    public struct Configuration: Decodable, Sendable {
        public var source: String?
        public var map: String?
        public var table: JSONValue?
        public var defaultWeight: Double?
        public var from: [Double]?
        public var to: [Double]?
        public var minWeight: Double?
        public var maxWeight: Double?
        public var key: String?
        public var missing: String?
        public var missingWeight: Double?

        enum CodingKeys: String, CodingKey {
            case source, map, table, from, to, key, missing
            case defaultWeight = "default", minWeight = "min_weight", maxWeight = "max_weight"
            case missingWeight = "missing_weight"
        }

        public init(
            source: String? = nil, map: String? = nil, table: JSONValue? = nil, defaultWeight: Double? = nil,
            from: [Double]? = nil, to: [Double]? = nil, minWeight: Double? = nil, maxWeight: Double? = nil,
            key: String? = nil, missing: String? = nil, missingWeight: Double? = nil
        ) {
            self.source = source
            self.map = map
            self.table = table
            self.defaultWeight = defaultWeight
            self.from = from
            self.to = to
            self.minWeight = minWeight
            self.maxWeight = maxWeight
            self.key = key
            self.missing = missing
            self.missingWeight = missingWeight
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            source = try c.decodeIfPresent(String.self, forKey: .source)
            map = try c.decodeIfPresent(String.self, forKey: .map)
            table = try c.decodeIfPresent(JSONValue.self, forKey: .table)
            defaultWeight = try c.decodeIfPresent(Double.self, forKey: .defaultWeight)
            from = try c.decodeIfPresent([Double].self, forKey: .from)
            to = try c.decodeIfPresent([Double].self, forKey: .to)
            minWeight = try c.decodeIfPresent(Double.self, forKey: .minWeight)
            maxWeight = try c.decodeIfPresent(Double.self, forKey: .maxWeight)
            key = try c.decodeIfPresent(String.self, forKey: .key)
            missing = try c.decodeIfPresent(String.self, forKey: .missing)
            missingWeight = try c.decodeIfPresent(Double.self, forKey: .missingWeight)
        }
    }

    public static let type = "sampling_weight"
    public static let summary =
        "Writes metadata.sampling_weight from a score or bucket (per-bucket table, or a linear/exponential map with bounds), to upsample rather than delete."
    public static let options: [StageOption] = [
        StageOption("source", "string", help: "Metadata path of the score or bucket the weight is derived from."),
        StageOption("map", "table | linear | exponential", default: "table when table is given", help: "How the source value becomes a weight."),
        StageOption("table", "mapping", default: "null", help: "Weight per source value (bucket number or name), e.g. {0: 0.3, 1: 1, 2: 3}."),
        StageOption("default", "number", default: "null", help: "Weight of a value absent from the table; without it such a value counts as missing."),
        StageOption("from", "[number, number]", default: "null", help: "Score range [low, high] for linear/exponential; scores outside are clamped to it."),
        StageOption("to", "[number, number]", default: "null", help: "Weights at the low and high end of from (both > 0 for exponential)."),
        StageOption("min_weight", "number", default: "null", help: "Lower clamp of the weight."),
        StageOption("max_weight", "number", default: "null", help: "Upper clamp of the weight."),
        StageOption("key", "string", default: "sampling_weight", help: "Metadata path that gets the weight."),
        StageOption("missing", "weight | drop", default: "weight", help: "A document without a usable source value gets missing_weight, or is dropped (sampling_weight_missing)."),
        StageOption("missing_weight", "number", default: "1", help: "The weight of a document without a usable source value, with missing: weight."),
    ]
    public static let dropReasons: [DropReason] = ["sampling_weight_missing"]

    enum Mapping: Sendable {
        case table([String: Double], default: Double?)
        case linear(from: (Double, Double), to: (Double, Double))
        case exponential(from: (Double, Double), to: (Double, Double))
    }

    let source: ScoreBucketPath
    let key: ScoreBucketPath
    let mapping: Mapping
    let minWeight: Double
    let maxWeight: Double
    /// nil: drop documents without a usable value.
    let missingWeight: Double?

    public init(configuration c: Configuration) throws {
        guard let s = c.source else {
            throw StageConfigurationError("sampling_weight needs source: the metadata path of a score or bucket, such as quality.edu_bucket")
        }
        source = try ScoreBucketPath(parsing: s, option: "source")
        key = try ScoreBucketPath(parsing: c.key ?? "sampling_weight", option: "key")
        func checkWeight(_ w: Double, _ what: String) throws {
            guard w.isFinite, w >= 0 else { throw StageConfigurationError("\(what) must be a finite number ≥ 0, got \(w)") }
        }
        let kind = c.map ?? (c.table != nil ? "table" : "")
        switch kind {
        case "table":
            guard c.from == nil, c.to == nil else { throw StageConfigurationError("from and to belong to map: linear or exponential, not to a table") }
            guard let t = c.table?.objectValue, !t.isEmpty else {
                throw StageConfigurationError("map: table needs table: a mapping from bucket (number or name) to weight, such as {0: 0.3, 1: 1, 2: 3}")
            }
            var table: [String: Double] = [:]
            for e in t {
                guard let w = e.value.doubleValue else {
                    throw StageConfigurationError("table: the weight of '\(e.key)' is \(e.value.typeName), not a number")
                }
                try checkWeight(w, "table: the weight of '\(e.key)'")
                table[e.key] = w
            }
            if let d = c.defaultWeight { try checkWeight(d, "default") }
            mapping = .table(table, default: c.defaultWeight)
        case "linear", "exponential":
            guard c.table == nil, c.defaultWeight == nil else {
                throw StageConfigurationError("table and default belong to map: table; map: \(kind) uses from and to")
            }
            guard let f = c.from, f.count == 2, f[0].isFinite, f[1].isFinite, f[0] < f[1] else {
                throw StageConfigurationError("map: \(kind) needs from: [low, high], two finite scores with low < high")
            }
            guard let t = c.to, t.count == 2 else {
                throw StageConfigurationError("map: \(kind) needs to: [weight at low, weight at high]")
            }
            try checkWeight(t[0], "to[0]")
            try checkWeight(t[1], "to[1]")
            if kind == "linear" {
                mapping = .linear(from: (f[0], f[1]), to: (t[0], t[1]))
            } else {
                guard t[0] > 0, t[1] > 0 else { throw StageConfigurationError("map: exponential needs weights above 0 in to, got \(t)") }
                mapping = .exponential(from: (f[0], f[1]), to: (t[0], t[1]))
            }
        case "":
            throw StageConfigurationError("sampling_weight needs table: {bucket: weight, …} or map: linear / exponential with from and to")
        default:
            throw StageConfigurationError("map: '\(kind)' is not allowed; use table, linear or exponential")
        }
        if let m = c.minWeight { try checkWeight(m, "min_weight") }
        if let m = c.maxWeight { try checkWeight(m, "max_weight") }
        minWeight = c.minWeight ?? 0
        maxWeight = c.maxWeight ?? .infinity
        guard minWeight <= maxWeight else {
            throw StageConfigurationError("min_weight (\(minWeight)) is greater than max_weight (\(maxWeight))")
        }
        switch c.missing ?? "weight" {
        case "weight":
            let w = c.missingWeight ?? 1
            try checkWeight(w, "missing_weight")
            missingWeight = w
        case "drop":
            guard c.missingWeight == nil else {
                throw StageConfigurationError("missing_weight is set but missing is drop; remove one of them")
            }
            missingWeight = nil
        case let other:
            throw StageConfigurationError("missing: '\(other)' is not allowed; use weight (missing_weight) or drop (sampling_weight_missing)")
        }
    }

    /// The weight for a source value, or nil when the value gives none.
    func weight(for value: JSONValue) -> Double? {
        let raw: Double
        switch mapping {
        case .table(let table, let fallback):
            let text: String
            switch value {
            case .number(let n): text = n.intValue.map(String.init) ?? n.literal
            case .string(let s): text = s
            case .bool(let b): text = b ? "true" : "false"
            default: return nil
            }
            guard let w = table[text] ?? fallback else { return nil }
            raw = w
        case .linear(let f, let t):
            guard let x = value.doubleValue, x.isFinite else { return nil }
            let u = (min(max(x, f.0), f.1) - f.0) / (f.1 - f.0)
            raw = t.0 + u * (t.1 - t.0)
        case .exponential(let f, let t):
            guard let x = value.doubleValue, x.isFinite else { return nil }
            let u = (min(max(x, f.0), f.1) - f.0) / (f.1 - f.0)
            raw = t.0 * Foundation.pow(t.1 / t.0, u)
        }
        return min(max(raw, minWeight), maxWeight)
    }

    /// Sets the weight; counts what happened.
    @inline(__always)
    func apply(_ doc: inout Document, weighted: inout Int, missing: inout Int, notInTable: inout Int) -> Verdict {
        let value = source.value(in: doc.metadata)
        var w: Double?
        if let value {
            w = weight(for: value)
            if w == nil, case .table = mapping, value != .null { notInTable += 1 }
        }
        if let w {
            weighted += 1
            key.set(.double(w), in: &doc.metadata)
            return .keep
        }
        missing += 1
        guard let m = missingWeight else { return .drop("sampling_weight_missing") }
        key.set(.double(m), in: &doc.metadata)
        return .keep
    }

    public func map(_ document: inout Document) -> Verdict {
        var a = 0, b = 0, c = 0
        return apply(&document, weighted: &a, missing: &b, notInTable: &c)
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var weighted = 0
        var missing = 0
        var notInTable = 0
        batch.retain { apply(&$0, weighted: &weighted, missing: &missing, notInTable: &notInTable) }
        if weighted > 0 { stats.counters["weighted", default: 0] += weighted }
        if missing > 0 { stats.counters["source_missing", default: 0] += missing }
        if notInTable > 0 { stats.counters["not_in_table", default: 0] += notInTable }
    }
}
