import SluiceCore
import Synchronization

/// Puts every document in an integer bucket by where its score falls among the corpus's
/// token-weighted percentiles, writes the bucket to metadata, and optionally keeps only some
/// buckets: Nemotron-CC's 20 equal-weight buckets of a classifier score, or CCNet's
/// head/middle/tail at the 30th and 60th percentiles of perplexity.
///
/// YAML type `score_buckets`. A multi-step job in one `sluice run` (like `exact_dedup`): the
/// step holding it becomes
///
/// 1. `STEP.ID.scores` (per task, reads documents, writes no shards): the score of each
///    document that has one and its weight, to `OUT/_work/ID/scores/TTTTT.scores`, every value
///    or a deterministic `sample`;
/// 2. `STEP.ID.boundaries` (reads no documents; task 0 does the work, the other tasks have
///    nothing to do): the exact weighted percentiles over all tasks' files, written to
///    `OUT/_work/ID/boundaries.json` and reported in the step's stats as counters
///    `boundary_pNN_x1e6` (the boundary times 10^6, rounded);
/// 3. `STEP` itself (per task, re-reads the same documents): each document's bucket, then the
///    stages after `score_buckets`.
///
/// When the stages before `score_buckets` exist they run once, as `STEP.ID.input`, and both
/// document-reading steps read its shards. With fixed `boundaries` there is no global step and
/// the stage runs as an ordinary one. Once the whole run is complete the runtime removes the
/// score files (`run.keep_work: true` keeps them, for `scripts/compare_buckets_numpy.py`);
/// `boundaries.json` stays, so a rerun that changes only later stages reuses it.
///
/// **Definition** (see ``ScoreBucketMath``): the boundary of percentile `p` is the smallest
/// score `v` with `Double(W(v)) / Double(T) ≥ p / 100` (and `W(v) > 0`), where `W(v)` is the
/// total weight of documents scoring at most `v` and `T` the total weight: numpy ≥ 2's
/// `np.percentile(scores, p, weights=w, method="inverted_cdf")`, checked by
/// `scripts/compare_buckets_numpy.py`. A document's bucket is the number of boundaries ≤ its
/// score (`np.digitize`), so `buckets: 20` gives 0 … 19 (19 scores highest) and
/// `percentiles: [30, 60]` gives 0 (below p30), 1 and 2.
///
/// Options:
/// - `score` (required): the metadata path of the score (`quality.edu`, `language_score`).
///   A document without it (or with a value that is not a finite number) is "missing".
/// - `weight` (default `tokens`): `tokens` weighs each document by its whitespace-delimited
///   words (``TextCounts``), as Nemotron-CC weighs by tokens; `documents` weighs each by 1.
/// - `buckets` (default 20): equal-weight quantile buckets (percentiles `100·i/buckets`).
/// - `percentiles`: explicit increasing percentiles in (0, 100) instead of `buckets`.
/// - `boundaries`: fixed increasing cutoffs instead (no corpus-wide steps), e.g. CCNet's
///   English perplexity cutoffs `[340, 520]`.
/// - `names`: one name per bucket (`[head, middle, tail]`), written to `name_key` beside the
///   number and usable in `keep_buckets`.
/// - `key` (default `<score>_bucket`): the metadata path that gets the bucket number.
/// - `name_key` (default `<key>_name`): where the bucket's name goes, when `names` is set.
/// - `keep_buckets`: the buckets (numbers or names) to keep; others are dropped with
///   `bucket_not_kept`. Default: keep all.
/// - `missing` (default `drop`): what happens to a document without the score: `drop`
///   (reason `score_missing`) or `bucket` (it gets `missing_bucket`, name `missing`).
/// - `missing_bucket` (default -1): the bucket number of such documents with `missing: bucket`.
/// - `sample` (default 1): the share of scored documents whose values the percentiles are
///   computed from, chosen by a seeded hash of the document id (as the `sample` stage), so the
///   choice is the same whatever the task split; every document is still bucketed.
/// - `seed` (default 0): the sampling hash seed.
/// - `memory` (default 256MB): step 2's budget for collecting a percentile's last candidates.
///
/// **Memory.** Step 1 holds one task's out-of-order batches' records (16 bytes a document)
/// and a 64 KiB write buffer; step 2 holds 1 MiB per percentile still being narrowed plus at
/// most `memory` of collected records, whatever the corpus size (it reads the score files in
/// two to five passes); step 3 holds the boundaries. Stats: step 1 counts `scored`,
/// `score_missing` and `sampled_out`; step 3 counts `bucket_NN` per bucket (and
/// `bucket_missing`).
///
/// ```yaml
/// - type: score_buckets            # CCNet-style head / middle / tail of perplexity
///   score: quality.perplexity
///   percentiles: [30, 60]
///   names: [head, middle, tail]
///   keep_buckets: [head, middle]
/// - type: score_buckets            # Nemotron-CC: 20 token-weighted buckets
///   score: quality.edu
///   buckets: 20
/// ```
public struct ScoreBuckets: MultiStepStage {
    public struct Configuration: Decodable, Sendable {
        public var score: String?
        public var weight: String?
        public var buckets: Int?
        public var percentiles: [Double]?
        public var boundaries: [Double]?
        public var names: [String]?
        public var key: String?
        public var nameKey: String?
        public var keepBuckets: JSONValue?
        public var missing: String?
        public var missingBucket: Int?
        public var sample: Double?
        public var seed: Int?
        public var memory: ByteSize?

        enum CodingKeys: String, CodingKey {
            case score, weight, buckets, percentiles, boundaries, names, key, missing, sample, seed, memory
            case nameKey = "name_key", keepBuckets = "keep_buckets", missingBucket = "missing_bucket"
        }

        public init(
            score: String? = nil, weight: String? = nil, buckets: Int? = nil, percentiles: [Double]? = nil,
            boundaries: [Double]? = nil, names: [String]? = nil, key: String? = nil, nameKey: String? = nil,
            keepBuckets: JSONValue? = nil, missing: String? = nil, missingBucket: Int? = nil, sample: Double? = nil,
            seed: Int? = nil, memory: ByteSize? = nil
        ) {
            self.score = score
            self.weight = weight
            self.buckets = buckets
            self.percentiles = percentiles
            self.boundaries = boundaries
            self.names = names
            self.key = key
            self.nameKey = nameKey
            self.keepBuckets = keepBuckets
            self.missing = missing
            self.missingBucket = missingBucket
            self.sample = sample
            self.seed = seed
            self.memory = memory
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            score = try c.decodeIfPresent(String.self, forKey: .score)
            weight = try c.decodeIfPresent(String.self, forKey: .weight)
            buckets = try c.decodeIfPresent(Int.self, forKey: .buckets)
            percentiles = try c.decodeIfPresent([Double].self, forKey: .percentiles)
            boundaries = try c.decodeIfPresent([Double].self, forKey: .boundaries)
            names = try c.decodeIfPresent([String].self, forKey: .names)
            key = try c.decodeIfPresent(String.self, forKey: .key)
            nameKey = try c.decodeIfPresent(String.self, forKey: .nameKey)
            keepBuckets = try c.decodeIfPresent(JSONValue.self, forKey: .keepBuckets)
            missing = try c.decodeIfPresent(String.self, forKey: .missing)
            missingBucket = try c.decodeIfPresent(Int.self, forKey: .missingBucket)
            sample = try c.decodeIfPresent(Double.self, forKey: .sample)
            seed = try c.decodeIfPresent(Int.self, forKey: .seed)
            memory = try c.decodeIfPresent(ByteSize.self, forKey: .memory)
        }
    }

    public static let type = "score_buckets"
    public static let summary =
        "Buckets documents by token-weighted percentiles of a score over the corpus (Nemotron-CC's 20, CCNet's head/middle/tail), as three steps; can keep only some buckets."
    public static let options: [StageOption] = [
        StageOption("score", "string", help: "Metadata path of the score, such as quality.edu or language_score."),
        StageOption("weight", "tokens | documents", default: "tokens", help: "Weigh each document by its whitespace-delimited words (tokens) or by 1 (documents)."),
        StageOption("buckets", "int", default: "20", help: "Equal-weight quantile buckets: boundaries at percentiles 100*i/buckets."),
        StageOption("percentiles", "[number]", default: "null", help: "Explicit increasing percentiles in (0, 100) instead of buckets, e.g. [30, 60] as CCNet."),
        StageOption("boundaries", "[number]", default: "null", help: "Fixed increasing score cutoffs instead of percentiles (no corpus-wide steps)."),
        StageOption("names", "[string]", default: "null", help: "One name per bucket, e.g. [head, middle, tail]; written to name_key, usable in keep_buckets."),
        StageOption("key", "string", default: "<score>_bucket", help: "Metadata path that gets the bucket number."),
        StageOption("name_key", "string", default: "<key>_name", help: "Metadata path that gets the bucket name (with names)."),
        StageOption("keep_buckets", "[int | string]", default: "null", help: "Buckets (numbers or names) to keep; the others are dropped with bucket_not_kept. Default: all."),
        StageOption("missing", "drop | bucket", default: "drop", help: "Documents without the score: drop them (score_missing) or give them missing_bucket."),
        StageOption("missing_bucket", "int", default: "-1", help: "Bucket number of documents without the score, with missing: bucket."),
        StageOption("sample", "number", default: "1", help: "Share of scored documents (by a seeded hash of the id) the percentiles are computed from; all are bucketed."),
        StageOption("seed", "int", default: "0", help: "Hash seed of sample."),
        StageOption("memory", "size", default: "256MB", help: "Step 2's budget for the records it collects to settle each percentile exactly."),
    ]
    public static let dropReasons: [DropReason] = ["score_missing", "bucket_not_kept"]

    let spec: ScoreBucketSpec

    public init(configuration c: Configuration) throws {
        spec = try ScoreBucketSpec(c)
    }

    public func phases(stageID: String) throws -> [StagePhase]? {
        guard spec.fixedBoundaries == nil else { return nil }
        let work = try checkWorkName(stageID)
        return [
            StagePhase(name: "scores", type: ScoreBucketsCollect.type, stage: ScoreBucketsCollect(spec: spec, work: work)),
            StagePhase(name: "boundaries", type: ScoreBucketsBoundaries.type, stage: ScoreBucketsBoundaries(spec: spec, work: work)),
            StagePhase(name: "assign", type: Self.type, stage: ScoreBucketsAssign(spec: spec, work: work)),
        ]
    }

    /// With fixed `boundaries` only: buckets each document (the runtime expands the other
    /// configurations into steps).
    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        guard let fixed = spec.fixedBoundaries else {
            throw StageConfigurationError("stage 'score_buckets' runs as several steps; the runtime expands it")
        }
        var counts = [Int](repeating: 0, count: fixed.count + 2)
        batch.retain { spec.assign(&$0, boundaries: fixed, counts: &counts) }
        spec.addBucketCounters(counts, to: &stats)
    }
}

/// A document's score and weight, the bucket settings, and the job's identity: what every
/// step of a `score_buckets` job shares.
struct ScoreBucketSpec: Sendable {
    enum Weighting: String, Sendable { case tokens, documents }

    let score: ScoreBucketPath
    let weighting: Weighting
    /// The percentiles whose boundaries are computed (empty with fixed boundaries).
    let percentiles: [Double]
    let fixedBoundaries: [Double]?
    let names: [String]?
    let key: ScoreBucketPath
    let nameKey: ScoreBucketPath?
    /// Bucket numbers kept (nil: all).
    let keep: Set<Int>?
    /// nil: drop documents without the score; otherwise their bucket.
    let missingBucket: Int?
    let sample: Double
    let seed: UInt64
    let memoryBytes: Int
    /// The number of buckets (boundaries + 1).
    let bucketCount: Int

    init(_ c: ScoreBuckets.Configuration) throws {
        guard let scoreText = c.score else {
            throw StageConfigurationError("score_buckets needs score: the metadata path of the score to bucket, such as quality.edu or language_score")
        }
        score = try ScoreBucketPath(parsing: scoreText, option: "score")
        switch c.weight ?? "tokens" {
        case "tokens": weighting = .tokens
        case "documents": weighting = .documents
        case let other: throw StageConfigurationError("weight: '\(other)' is not allowed; use tokens (words of the text) or documents (1 each)")
        }
        let given = [c.buckets != nil ? "buckets" : nil, c.percentiles != nil ? "percentiles" : nil, c.boundaries != nil ? "boundaries" : nil]
            .compactMap { $0 }
        guard given.count <= 1 else {
            throw StageConfigurationError("score_buckets takes one of buckets, percentiles or boundaries, not \(given.joined(separator: " and "))")
        }
        if let b = c.boundaries {
            guard !b.isEmpty else { throw StageConfigurationError("boundaries must list at least one cutoff") }
            guard b.allSatisfy(\.isFinite) else { throw StageConfigurationError("boundaries must be finite numbers, got \(b)") }
            for i in 1..<b.count where !(b[i - 1] < b[i]) {
                throw StageConfigurationError("boundaries must increase strictly, but \(b[i - 1]) is followed by \(b[i])")
            }
            fixedBoundaries = b
            percentiles = []
        } else if let p = c.percentiles {
            guard !p.isEmpty else { throw StageConfigurationError("percentiles must list at least one percentile, such as [30, 60]") }
            for v in p where !(v > 0 && v < 100) {
                throw StageConfigurationError("percentiles must lie strictly between 0 and 100, got \(v)")
            }
            for i in 1..<p.count where !(p[i - 1] < p[i]) {
                throw StageConfigurationError("percentiles must increase strictly, but \(p[i - 1]) is followed by \(p[i])")
            }
            percentiles = p
            fixedBoundaries = nil
        } else {
            let n = c.buckets ?? 20
            guard n >= 2 && n <= 1000 else { throw StageConfigurationError("buckets must be between 2 and 1000, got \(n)") }
            percentiles = ScoreBucketMath.percentiles(buckets: n)
            fixedBoundaries = nil
        }
        bucketCount = (fixedBoundaries?.count ?? percentiles.count) + 1
        if let names = c.names {
            guard names.count == bucketCount else {
                throw StageConfigurationError("names has \(names.count) entries but there are \(bucketCount) buckets; give one name per bucket, lowest scores first")
            }
            guard Set(names).count == names.count, !names.contains(where: \.isEmpty), !names.contains("missing") else {
                throw StageConfigurationError("names must be distinct, non-empty, and not 'missing' (the name of documents without the score), got \(names)")
            }
        }
        self.names = c.names
        key = try ScoreBucketPath(parsing: c.key ?? (score.text + "_bucket"), option: "key")
        if c.nameKey != nil && c.names == nil {
            throw StageConfigurationError("name_key is set but names is not; give names: [...] (one per bucket) or remove name_key")
        }
        nameKey = c.names == nil ? nil : try ScoreBucketPath(parsing: c.nameKey ?? (key.text + "_name"), option: "name_key")
        switch c.missing ?? "drop" {
        case "drop":
            if c.missingBucket != nil {
                throw StageConfigurationError("missing_bucket is set but missing is drop; set missing: bucket to give documents without the score a bucket")
            }
            missingBucket = nil
        case "bucket":
            let m = c.missingBucket ?? -1
            guard m < 0 || m >= bucketCount else {
                throw StageConfigurationError("missing_bucket \(m) is one of the score buckets 0…\(bucketCount - 1); pick a number outside them, such as -1")
            }
            missingBucket = m
        case let other:
            throw StageConfigurationError("missing: '\(other)' is not allowed; use drop (reason score_missing) or bucket (missing_bucket)")
        }
        if let k = c.keepBuckets {
            guard let list = k.arrayValue, !list.isEmpty else {
                throw StageConfigurationError("keep_buckets must be a non-empty list of bucket numbers or names, such as [18, 19] or [head]")
            }
            var kept = Set<Int>()
            for item in list {
                switch item {
                case .number(let n):
                    guard let i = n.intValue, (i >= 0 && i < bucketCount) || i == missingBucket else {
                        throw StageConfigurationError(
                            "keep_buckets: \(n) is not a bucket; buckets are 0…\(bucketCount - 1)\(missingBucket.map { " and \($0) (missing)" } ?? "")")
                    }
                    kept.insert(i)
                case .string(let s):
                    if s == "missing", let m = missingBucket {
                        kept.insert(m)
                    } else if let i = c.names?.firstIndex(of: s) {
                        kept.insert(i)
                    } else {
                        throw StageConfigurationError(
                            "keep_buckets: '\(s)' is not a bucket name; the names are \(c.names.map { $0.joined(separator: ", ") } ?? "not set (give names: [...])")\(missingBucket != nil ? " and missing" : "")")
                    }
                default:
                    throw StageConfigurationError("keep_buckets: \(item.typeName) is not a bucket number or name")
                }
            }
            keep = kept
        } else {
            keep = nil
        }
        let s = c.sample ?? 1
        guard s > 0 && s <= 1 else { throw StageConfigurationError("sample must be above 0 and at most 1, got \(s)") }
        sample = s
        if s < 1 && fixedBoundaries != nil {
            throw StageConfigurationError("sample applies to computed percentiles; with fixed boundaries nothing is sampled, so remove it")
        }
        seed = UInt64(bitPattern: Int64(c.seed ?? 0))
        memoryBytes = c.memory?.bytes ?? 256_000_000
        guard memoryBytes >= 1_000_000 else { throw StageConfigurationError("memory must be at least 1MB, got \(memoryBytes) bytes") }
    }

    /// Identifies the scores and percentiles: the steps of one job compare it.
    var jobID: String {
        var text = "score_buckets:v1:score=\(score.components.joined(separator: "."))"
        text += ":weight=\(weighting.rawValue):sample=\(sample):seed=\(seed):p="
        text += percentiles.map { "\($0)" }.joined(separator: ",")
        return hex64(XXH64.hash(text))
    }

    /// The document's score when it is a finite number.
    @inline(__always)
    func scoreValue(of document: Document) -> Double? {
        guard case .number(let n)? = score.value(in: document.metadata) else { return nil }
        let v = n.doubleValue
        return v.isFinite ? v : nil
    }

    @inline(__always)
    func weight(of document: Document) -> UInt64 {
        switch weighting {
        case .documents: return 1
        case .tokens: return UInt64(countText(document.text).words)
        }
    }

    /// Whether the document's score goes into the percentiles.
    @inline(__always)
    func isSampled(_ document: Document) -> Bool {
        sample >= 1 || Double(XXH64.hash(document.id, seed: seed)) * 0x1p-64 < sample
    }

    /// Writes the document's bucket and decides whether it stays. `counts` has one slot per
    /// bucket and a last one for missing scores.
    @inline(__always)
    func assign(_ document: inout Document, boundaries: [Double], counts: inout [Int]) -> Verdict {
        let bucket: Int
        let name: String?
        if let v = scoreValue(of: document) {
            bucket = ScoreBucketMath.bucket(of: v, boundaries: boundaries)
            counts[bucket] += 1
            name = names?[bucket]
        } else {
            counts[counts.count - 1] += 1
            guard let m = missingBucket else { return .drop("score_missing") }
            bucket = m
            name = "missing"
        }
        key.set(.int(bucket), in: &document.metadata)
        if let nameKey, let name { nameKey.set(.string(name), in: &document.metadata) }
        if let keep, !keep.contains(bucket) { return .drop("bucket_not_kept") }
        return .keep
    }

    func addBucketCounters(_ counts: [Int], to stats: inout StageStats) {
        let width = String(bucketCount - 1).count
        for (b, n) in counts.dropLast().enumerated() where n > 0 {
            var label = String(b)
            if label.count < width { label = String(repeating: "0", count: width - label.count) + label }
            let name = names.map { "_" + $0[b] } ?? ""
            stats.counters["bucket_" + label + name, default: 0] += n
        }
        if let last = counts.last, last > 0, missingBucket != nil { stats.counters["bucket_missing", default: 0] += last }
    }
}

/// A metadata path split once (`quality.edu` → `["quality", "edu"]`; a leading `metadata.` is
/// optional).
struct ScoreBucketPath: Sendable {
    let components: [String]
    let text: String

    init(parsing text: String, option: String) throws {
        var parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1 && parts[0] == "metadata" { parts.removeFirst() }
        guard !text.isEmpty, !parts.contains(where: \.isEmpty) else {
            throw StageConfigurationError("\(option): '\(text)' is not a metadata path; write keys separated by dots, such as quality.edu")
        }
        components = parts
        self.text = parts.joined(separator: ".")
    }

    func value(in object: JSONObject) -> JSONValue? {
        var current = object
        for i in 0..<(components.count - 1) {
            guard case .object(let next)? = current[components[i]] else { return nil }
            current = next
        }
        return current[components[components.count - 1]]
    }

    /// Sets the value, creating objects on the way and replacing non-objects there.
    func set(_ value: JSONValue, in object: inout JSONObject) {
        set(value, in: &object, at: 0)
    }

    private func set(_ value: JSONValue, in object: inout JSONObject, at index: Int) {
        let k = components[index]
        if index == components.count - 1 {
            object[k] = value
            return
        }
        var child = object[k]?.objectValue ?? JSONObject()
        set(value, in: &child, at: index + 1)
        object[k] = .object(child)
    }
}
