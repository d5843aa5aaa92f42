import SluiceCore
import SluiceFastText
import SluiceLM
import Synchronization

/// Scores every document with one or more quality models and writes each score to
/// `metadata.quality.<name>`; optionally keeps only documents whose chosen score is in range.
///
/// YAML type `quality_score`. Scorers run in the order listed; each has a `name` (the metadata
/// key) and a `type`:
///
/// - `fasttext`: the probability of `label` under a fastText classifier (`model`, `.bin` or
///   `.ftz`), predicted exactly as official fastText does. The text is prepared as DCLM does
///   (`text_preparation: dclm`, the default: strip, then join the lines with spaces) or as
///   datatrove does (`newlines_to_spaces`); the preparation is the `fasttext_classifier`
///   stage's own. `output: expected` writes instead the expected label value
///   `Σ p(label) · label` of a classifier whose labels are numbers (such as a 0-to-5
///   classifier trained by `sluice quality train --multiclass`). **Higher is better.**
/// - `perplexity`: the document's perplexity under an n-gram language model in ARPA format
///   (`model`; `sluice lm train` writes one), as CCNet defines it:
///   `10^(−Σ log10 p / Σ (words + 1))` over the lines. `normalization: ccnet` normalises the
///   text as CCNet does first (lowercase, accents stripped, digits to 0, Unicode punctuation
///   to ASCII); `none` (default) scores it as it is. **Lower is better**: a low perplexity
///   means text like the model's training corpus.
/// - `ensemble`: the `max` or `mean` (`method`, default `max`) of the *normalised* scores of
///   the earlier scorers named in `scorers`.
///
/// **Normalisation** (for ensembles). Every scorer has a `range: [lo, hi]`: its normalised
/// score is `(s − lo) / (hi − lo)` clamped to [0, 1] for scores where higher is better
/// (fastText, ensembles), and `(hi − s) / (hi − lo)` clamped to [0, 1] for perplexity, so
/// that 1 is always best: a perplexity at or below `lo` counts 1, at or above `hi` counts 0.
/// `range` defaults to `[0, 1]` for fastText probabilities and ensembles; a perplexity scorer
/// used in an ensemble must give its range (CCNet's English head and tail cut-offs, 340 and
/// 520, are one sensible choice; `sluice quality` does not guess it). For `output: expected`
/// the default range is the smallest and largest label value. Members without a score (a
/// document with no known fastText feature, say) are left out of the max or mean; an
/// ensemble with no member score gets none.
///
/// **Keep rule** (optional): `keep: {score: NAME, min: X, max: Y}` keeps a document when the
/// named score (raw, not normalised) is at least `min` and at most `max` (either may be left
/// out; for perplexity give `max`). Dropped documents count as `below_min_score`,
/// `above_max_score`, or `no_score` (the score could not be computed).
///
/// Models are loaded once per process and shared by every worker; each worker reuses its own
/// prediction buffers, so scoring allocates only the metadata values.
///
/// ```yaml
/// - type: quality_score
///   scorers:
///     - name: edu                      # metadata.quality.edu
///       type: fasttext
///       model: models/quality-default.bin
///       label: hq
///     - name: ppl                      # metadata.quality.ppl (lower is better)
///       type: perplexity
///       model: models/wiki.en.arpa
///       normalization: ccnet
///       range: [340, 520]              # perplexity 340 → 1, 520 → 0
///     - name: best
///       type: ensemble
///       method: max
///       scorers: [edu, ppl]
///   keep: {score: best, min: 0.5}
/// ```
public struct QualityScore: Stage {
    /// One scorer of the `scorers` list.
    public struct ScorerConfiguration: Decodable, Sendable {
        public var name: String
        public var type: String
        public var model: String?
        public var label: String?
        public var output: String?
        public var textPreparation: String?
        public var normalization: String?
        public var range: [Double]?
        public var scorers: [String]?
        public var method: String?

        enum CodingKeys: String, CodingKey {
            case name, type, model, label, output, textPreparation = "text_preparation", normalization, range, scorers, method
        }

        public init(
            name: String, type: String, model: String? = nil, label: String? = nil, output: String? = nil,
            textPreparation: String? = nil, normalization: String? = nil, range: [Double]? = nil, scorers: [String]? = nil,
            method: String? = nil
        ) {
            self.name = name
            self.type = type
            self.model = model
            self.label = label
            self.output = output
            self.textPreparation = textPreparation
            self.normalization = normalization
            self.range = range
            self.scorers = scorers
            self.method = method
        }

        /// A fastText scorer.
        public static func fastText(name: String, model: String, label: String, textPreparation: String = "dclm") -> Self {
            Self(name: name, type: "fasttext", model: model, label: label, textPreparation: textPreparation)
        }

        /// A perplexity scorer.
        public static func perplexity(name: String, model: String, normalization: String = "none", range: [Double]? = nil) -> Self {
            Self(name: name, type: "perplexity", model: model, normalization: normalization, range: range)
        }

        /// An ensemble scorer.
        public static func ensemble(name: String, scorers: [String], method: String = "max") -> Self {
            Self(name: name, type: "ensemble", scorers: scorers, method: method)
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let name = try c.decodeIfPresent(String.self, forKey: .name)
            let type = try c.decodeIfPresent(String.self, forKey: .type)
            model = try c.decodeIfPresent(String.self, forKey: .model)
            label = try c.decodeIfPresent(String.self, forKey: .label)
            output = try c.decodeIfPresent(String.self, forKey: .output)
            textPreparation = try c.decodeIfPresent(String.self, forKey: .textPreparation)
            normalization = try c.decodeIfPresent(String.self, forKey: .normalization)
            range = try c.decodeIfPresent([Double].self, forKey: .range)
            scorers = try c.decodeIfPresent([String].self, forKey: .scorers)
            method = try c.decodeIfPresent(String.self, forKey: .method)
            guard let name else {
                throw StageConfigurationError("every scorer needs a name: the key it is written under (metadata.quality.NAME)")
            }
            guard let type else {
                throw StageConfigurationError("scorer '\(name)' needs a type: fasttext, perplexity or ensemble")
            }
            self.name = name
            self.type = type
        }
    }

    /// The optional `keep` rule.
    public struct KeepRule: Decodable, Sendable, Equatable {
        public var score: String
        public var min: Double?
        public var max: Double?

        enum CodingKeys: String, CodingKey { case score, min, max }

        public init(score: String, min: Double? = nil, max: Double? = nil) {
            self.score = score
            self.min = min
            self.max = max
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let score = try c.decodeIfPresent(String.self, forKey: .score)
            min = try c.decodeIfPresent(Double.self, forKey: .min)
            max = try c.decodeIfPresent(Double.self, forKey: .max)
            guard let score else {
                throw StageConfigurationError("keep needs score: the name of the scorer whose score decides, e.g. keep: {score: edu, min: 0.5}")
            }
            self.score = score
        }
    }

    public struct Configuration: Decodable, Sendable {
        public var scorers: [ScorerConfiguration]
        public var keep: KeepRule?
        public var key: String

        enum CodingKeys: String, CodingKey { case scorers, keep, key }

        public init(scorers: [ScorerConfiguration], keep: KeepRule? = nil, key: String = "quality") {
            self.scorers = scorers
            self.keep = keep
            self.key = key
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let scorers = try c.decodeIfPresent([ScorerConfiguration].self, forKey: .scorers)
            keep = try c.decodeIfPresent(KeepRule.self, forKey: .keep)
            key = try c.decodeIfPresent(String.self, forKey: .key) ?? "quality"
            guard let scorers else {
                throw StageConfigurationError(
                    "quality_score needs scorers: a list such as [{name: edu, type: fasttext, model: models/quality-default.bin, label: hq}]")
            }
            self.scorers = scorers
        }
    }

    public static let type = "quality_score"
    public static let summary =
        "Scores documents with fastText classifiers, n-gram perplexity and ensembles into metadata.quality.<name>; optionally keeps a score range."
    public static let options: [StageOption] = [
        StageOption(
            "scorers", "[mapping]",
            help: "Scorers in order, each written to metadata.<key>.<name>. Every scorer: name, type, range ([lo, hi] mapping the score to 0..1 for ensembles; "
                + "perplexity inverted, lo -> 1, hi -> 0; default [0, 1], required for perplexity in an ensemble). "
                + "type fasttext (higher is better): model (.bin/.ftz), label (whose probability is the score), output (probability | expected: the expected value of numeric labels), "
                + "text_preparation (dclm | newlines_to_spaces, default dclm). "
                + "type perplexity (LOWER is better): model (ARPA file), normalization (none | ccnet, default none). "
                + "type ensemble: scorers (names of earlier scorers), method (max | mean of their normalised scores, default max)."),
        StageOption("keep", "mapping", default: "null", help: "{score: NAME, min: X, max: Y}: keep documents whose raw score NAME is within [min, max]; either bound may be left out."),
        StageOption("key", "string", default: "quality", help: "Metadata path of the object that gets the scores (dots make nested objects)."),
    ]
    public static let dropReasons: [DropReason] = ["below_min_score", "above_max_score", "no_score"]

    /// How one scorer computes its score.
    enum Kind: Sendable {
        case fastText(FastTextModel, label: Int, preparation: FastTextTextPreparation, reuseEncoding: Bool)
        case expected(FastTextModel, values: [Double], preparation: FastTextTextPreparation, reuseEncoding: Bool)
        case perplexity(NGramModel, PerplexityNormalization)
        case ensemble(members: [Int], mean: Bool)
    }

    /// A built scorer.
    struct Scorer: Sendable {
        let name: String
        let kind: Kind
        let lo: Double
        let hi: Double
        let lowerIsBetter: Bool
        let hasRange: Bool
        let path: String
        let floatOutput: Bool

        @inline(__always)
        func normalized(_ s: Double) -> Double {
            let x = lowerIsBetter ? (hi - s) / (hi - lo) : (s - lo) / (hi - lo)
            return x < 0 ? 0 : (x > 1 ? 1 : x)
        }
    }

    let scorers: [Scorer]
    let keepIndex: Int?
    let keepMin: Double?
    let keepMax: Double?
    let objectKey: String?
    let pool = QualityScratchPool()

    /// The scorer names in order.
    public var scorerNames: [String] { scorers.map(\.name) }

    public init(configuration c: Configuration) throws {
        guard !c.scorers.isEmpty else {
            throw StageConfigurationError("scorers is empty; list at least one scorer, such as {name: edu, type: fasttext, model: ..., label: hq}")
        }
        var parts = c.key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1 && parts[0] == "metadata" { parts.removeFirst() }
        guard !c.key.isEmpty, !parts.contains(where: \.isEmpty) else {
            throw StageConfigurationError("key: '\(c.key)' is not a metadata path; write keys separated by dots, such as quality or scores.quality")
        }
        let keyString = parts.joined(separator: ".")
        objectKey = parts.count == 1 ? keyString : nil

        var built: [Scorer] = []
        var index: [String: Int] = [:]
        var lastFastText: (model: ObjectIdentifier, preparation: FastTextTextPreparation)? = nil
        for (position, s) in c.scorers.enumerated() {
            let what = "scorer '\(s.name)'"
            guard !s.name.isEmpty, !s.name.contains(".") else {
                throw StageConfigurationError("scorer \(position + 1): name '\(s.name)' must be a non-empty key without dots (it becomes metadata.\(keyString).NAME)")
            }
            guard index[s.name] == nil else {
                throw StageConfigurationError("\(what) is listed twice; every scorer needs its own name")
            }
            func forbid(_ key: String, _ present: Bool, _ type: String) throws {
                if present { throw StageConfigurationError("\(what): \(key) is not an option of a \(type) scorer") }
            }
            var range = s.range
            if let r = range {
                guard r.count == 2, r[0].isFinite, r[1].isFinite, r[0] < r[1] else {
                    throw StageConfigurationError("\(what): range must be [lo, hi] with lo < hi, got \(r)")
                }
            }
            let kind: Kind
            var lowerIsBetter = false
            var floatOutput = false
            var hasRange = range != nil
            switch s.type {
            case "fasttext":
                try forbid("normalization", s.normalization != nil, "fasttext")
                try forbid("scorers", s.scorers != nil, "fasttext")
                try forbid("method", s.method != nil, "fasttext")
                guard let path = s.model else {
                    throw StageConfigurationError("\(what) (fasttext) needs model: the path of a fastText classifier (.bin or .ftz)")
                }
                let model: FastTextModel
                do {
                    model = try FastTextModelCache.shared.model(at: path)
                } catch {
                    var hint = ""
                    if path.hasSuffix("quality-default.bin") {
                        hint = "; run scripts/setup-models.sh to train it from SampleData/ (or set SLUICE_MODELS to its folder)"
                    }
                    throw StageConfigurationError("\(what): model: \(error)\(hint)")
                }
                guard model.args.model == .supervised, model.dictionary.nlabels > 0 else {
                    throw StageConfigurationError("\(what): \(path) is not a supervised fastText classifier with labels")
                }
                let prepName = s.textPreparation ?? "dclm"
                guard let prep = FastTextTextPreparation(rawValue: prepName) else {
                    throw StageConfigurationError("\(what): text_preparation '\(prepName)' is not allowed; use dclm or newlines_to_spaces")
                }
                let known = (0..<min(model.labels.count, 20)).map { model.shortLabel($0) }.joined(separator: ", ")
                let reuse = lastFastText.map { $0.model == ObjectIdentifier(model) && $0.preparation == prep } ?? false
                lastFastText = (ObjectIdentifier(model), prep)
                switch s.output ?? "probability" {
                case "probability":
                    guard let label = s.label else {
                        throw StageConfigurationError("\(what) (fasttext) needs label: the label whose probability is the score; \(path) has \(known)")
                    }
                    guard let li = model.labelIndex(label) else {
                        throw StageConfigurationError("\(what): label '\(label)' is not a label of \(path); its labels are \(known)")
                    }
                    kind = .fastText(model, label: li, preparation: prep, reuseEncoding: reuse)
                    floatOutput = true
                case "expected":
                    try forbid("label", s.label != nil, "fasttext scorer with output: expected (it uses every label)")
                    var values: [Double] = []
                    for i in 0..<model.labels.count {
                        guard let v = Double(model.shortLabel(i)), v.isFinite else {
                            throw StageConfigurationError(
                                "\(what): output: expected needs labels that are numbers (__label__0 ... __label__5); \(path) has '\(model.shortLabel(i))'")
                        }
                        values.append(v)
                    }
                    kind = .expected(model, values: values, preparation: prep, reuseEncoding: reuse)
                    if range == nil {
                        let lo = values.min()!, hi = values.max()!
                        range = lo < hi ? [lo, hi] : [lo, lo + 1]
                        hasRange = true
                    }
                case let other:
                    throw StageConfigurationError("\(what): output '\(other)' is not allowed; use probability or expected")
                }
            case "perplexity":
                try forbid("label", s.label != nil, "perplexity")
                try forbid("output", s.output != nil, "perplexity")
                try forbid("text_preparation", s.textPreparation != nil, "perplexity")
                try forbid("scorers", s.scorers != nil, "perplexity")
                try forbid("method", s.method != nil, "perplexity")
                guard let path = s.model else {
                    throw StageConfigurationError("\(what) (perplexity) needs model: the path of an ARPA n-gram model (sluice lm train writes one)")
                }
                let normName = s.normalization ?? "none"
                guard let norm = PerplexityNormalization(rawValue: normName) else {
                    throw StageConfigurationError(
                        "\(what): normalization '\(normName)' is not allowed; use \(PerplexityNormalization.allCases.map(\.rawValue).joined(separator: " or "))")
                }
                let model: NGramModel
                do {
                    model = try NGramModelCache.shared.model(at: path)
                } catch {
                    throw StageConfigurationError("\(what): model: \(error)")
                }
                kind = .perplexity(model, norm)
                lowerIsBetter = true
            case "ensemble":
                try forbid("model", s.model != nil, "ensemble")
                try forbid("label", s.label != nil, "ensemble")
                try forbid("output", s.output != nil, "ensemble")
                try forbid("text_preparation", s.textPreparation != nil, "ensemble")
                try forbid("normalization", s.normalization != nil, "ensemble")
                guard let names = s.scorers, !names.isEmpty else {
                    throw StageConfigurationError("\(what) (ensemble) needs scorers: the names of earlier scorers to combine, e.g. [edu, ppl]")
                }
                var members: [Int] = []
                for n in names {
                    guard let i = index[n] else {
                        let earlier = built.map(\.name)
                        throw StageConfigurationError(
                            "\(what): '\(n)' is not an earlier scorer; an ensemble combines scorers listed before it (\(earlier.isEmpty ? "none yet" : earlier.joined(separator: ", ")))")
                    }
                    guard !members.contains(i) else { throw StageConfigurationError("\(what): '\(n)' is listed twice in scorers") }
                    if built[i].lowerIsBetter && !built[i].hasRange {
                        throw StageConfigurationError(
                            "\(what): perplexity scorer '\(n)' needs range: [lo, hi] to be combined (perplexity lo counts 1, hi counts 0), e.g. range: [340, 520]")
                    }
                    members.append(i)
                }
                let method = s.method ?? "max"
                guard method == "max" || method == "mean" else {
                    throw StageConfigurationError("\(what): method '\(method)' is not allowed; use max or mean")
                }
                kind = .ensemble(members: members, mean: method == "mean")
            default:
                throw StageConfigurationError("\(what): type '\(s.type)' is not allowed; use fasttext, perplexity or ensemble")
            }
            let r = range ?? [0, 1]
            index[s.name] = built.count
            built.append(
                Scorer(
                    name: s.name, kind: kind, lo: r[0], hi: r[1], lowerIsBetter: lowerIsBetter, hasRange: hasRange,
                    path: keyString + "." + s.name, floatOutput: floatOutput))
        }
        scorers = built
        if let k = c.keep {
            guard let i = index[k.score] else {
                throw StageConfigurationError("keep.score: '\(k.score)' is not a scorer; the scorers are \(built.map(\.name).joined(separator: ", "))")
            }
            guard k.min != nil || k.max != nil else {
                throw StageConfigurationError("keep needs min, max or both: the range of \(k.score) to keep")
            }
            if let lo = k.min, !lo.isFinite { throw StageConfigurationError("keep.min must be a number") }
            if let hi = k.max, !hi.isFinite { throw StageConfigurationError("keep.max must be a number") }
            if let lo = k.min, let hi = k.max, lo > hi {
                throw StageConfigurationError("keep.min (\(lo)) is above keep.max (\(hi)), so nothing would be kept")
            }
            keepIndex = i
            keepMin = k.min
            keepMax = k.max
        } else {
            keepIndex = nil
            keepMin = nil
            keepMax = nil
        }
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var scratch = pool.take(scorers: scorers.count)
        defer { pool.give(scratch) }
        batch.retain { doc in score(&doc, scratch: &scratch) }
    }

    /// Computes every score of `text` into `scratch.values` (NaN where there is none).
    public func computeScores(_ text: UnsafeBufferPointer<UInt8>, scratch: inout QualityScratch) {
        scratch.fit(scorers.count)
        for i in scorers.indices {
            var v = Double.nan
            switch scorers[i].kind {
            case .fastText(let model, let label, let prep, let reuse):
                let ok = reuse ? scratch.encoded : model.encode(document: text, preparation: prep, scratch: &scratch.fastText)
                scratch.encoded = ok
                if ok { v = Double(model.probability(ofLabel: label, scratch: &scratch.fastText)) }
            case .expected(let model, let values, let prep, let reuse):
                let ok = reuse ? scratch.encoded : model.encode(document: text, preparation: prep, scratch: &scratch.fastText)
                scratch.encoded = ok
                if ok {
                    var sum = 0.0, total = 0.0
                    for l in values.indices {
                        let p = Double(model.probability(ofLabel: l, scratch: &scratch.fastText))
                        sum += p * values[l]
                        total += p
                    }
                    if total > 0 { v = sum / total }
                }
            case .perplexity(let model, let norm):
                let p = model.documentPerplexity(text, normalization: norm, scratch: &scratch.lm)
                if p.isFinite { v = p }
            case .ensemble(let members, let mean):
                var acc = mean ? 0.0 : -Double.infinity
                var n = 0
                for m in members {
                    let x = scratch.values[m]
                    if x.isNaN { continue }
                    let y = scorers[m].normalized(x)
                    if mean { acc += y } else if y > acc { acc = y }
                    n += 1
                }
                if n > 0 { v = mean ? acc / Double(n) : acc }
            }
            scratch.values[i] = v
        }
    }

    /// Scores one document, writes the scores and decides whether it stays.
    public func score(_ doc: inout Document, scratch: inout QualityScratch) -> Verdict {
        doc.text.withUTF8Bytes { computeScores($0, scratch: &scratch) }
        if let objectKey {
            let existing = doc.metadata[objectKey]?.objectValue
            var o = existing ?? JSONObject()
            var wrote = false
            for i in scorers.indices {
                let v = scratch.values[i]
                if v.isNaN { continue }
                o[scorers[i].name] = Self.number(v, float: scorers[i].floatOutput)
                wrote = true
            }
            if wrote || existing != nil { doc.metadata[objectKey] = .object(o) }
        } else {
            for i in scorers.indices {
                let v = scratch.values[i]
                if v.isNaN { continue }
                doc.metadata.setValue(Self.number(v, float: scorers[i].floatOutput), atPath: scorers[i].path)
            }
        }
        guard let k = keepIndex else { return .keep }
        let v = scratch.values[k]
        if v.isNaN { return .drop("no_score") }
        if let lo = keepMin, v < lo { return .drop("below_min_score") }
        if let hi = keepMax, v > hi { return .drop("above_max_score") }
        return .keep
    }

    /// A score as a JSON number: fastText probabilities as fastText prints a float (as
    /// `fasttext_classifier` writes them), other scores as the shortest double.
    @inline(__always)
    static func number(_ v: Double, float: Bool) -> JSONValue {
        if float { return .number(JSONNumber(uncheckedLiteral: Float(v).description)) }
        return .double(v)
    }
}

/// Per-worker buffers of ``QualityScore``: fastText and language-model scratch and the scores of
/// the document being scored. Make one per worker and reuse it.
public struct QualityScratch: Sendable {
    var fastText = FastTextScratch()
    var lm = LMScratch()
    var encoded = false
    /// The scores of the last document, in scorer order; NaN where there is none.
    public internal(set) var values: [Double] = []

    public init() {}

    mutating func fit(_ n: Int) {
        if values.count != n { values = [Double](repeating: .nan, count: n) }
        encoded = false
    }
}

/// Scratch buffers handed to concurrent batches and taken back, so steady state allocates nothing.
final class QualityScratchPool: Sendable {
    private let free = Mutex<[QualityScratch]>([])

    func take(scorers: Int) -> QualityScratch {
        var s = free.withLock { $0.popLast() } ?? QualityScratch()
        s.fit(scorers)
        return s
    }

    func give(_ s: QualityScratch) {
        free.withLock { $0.append(s) }
    }
}
