import SluiceCore

/// Scores documents with any fastText classifier (DCLM's `fasttext-oh-eli5` quality model,
/// your own) and optionally keeps only those above a threshold.
///
/// YAML type `fasttext_classifier`. The text is prepared as DCLM does by default
/// (`" ".join(text.strip().splitlines())`), then predicted exactly as official fastText.
///
/// Options:
/// - `model` (required): the `.bin`/`.ftz` file; loaded once per process, shared by workers.
/// - `key` (default `fasttext`): the metadata path that gets the result (a leading
///   `metadata.` is optional; dots make nested objects).
/// - `score_label`: when set, `key` gets one number, DCLM's score for that label: the top
///   label's probability if it is this label, otherwise one minus it (for DCLM's two-label
///   model, P(hq)). When not set, `key` gets an object with every label's probability (label
///   without `__label__` → probability, as fastText reports them with k = −1).
/// - `labels`: with no `score_label`, write only these labels.
/// - `keep_threshold`: keep documents whose `score_label` score is at least this, drop the
///   rest with `below_threshold` (needs `score_label`). DCLM keeps P(hq) ≥ 0.018112.
/// - `text_preparation`: `dclm` (default) or `newlines_to_spaces` (datatrove's).
///
/// Documents without any known feature get no prediction: their key is not written, and with
/// `keep_threshold` they are dropped with `no_prediction`.
///
/// ```yaml
/// - type: fasttext_classifier
///   model: models/openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin
///   key: dclm_hq_prob
///   score_label: hq
///   keep_threshold: 0.018112
/// ```
///
/// Note: this stage lives in `SluiceFastText` until the `SluiceQuality` module exists.
public struct FastTextClassifier: Stage {
    public struct Configuration: Decodable, Sendable {
        public var model: String
        public var key: String
        public var scoreLabel: String?
        public var labels: [String]?
        public var keepThreshold: Double?
        public var textPreparation: String

        enum CodingKeys: String, CodingKey {
            case model, key, scoreLabel = "score_label", labels, keepThreshold = "keep_threshold"
            case textPreparation = "text_preparation"
        }

        public init(
            model: String, key: String = "fasttext", scoreLabel: String? = nil, labels: [String]? = nil,
            keepThreshold: Double? = nil, textPreparation: String = "dclm"
        ) {
            self.model = model
            self.key = key
            self.scoreLabel = scoreLabel
            self.labels = labels
            self.keepThreshold = keepThreshold
            self.textPreparation = textPreparation
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let model = try c.decodeIfPresent(String.self, forKey: .model)
            key = try c.decodeIfPresent(String.self, forKey: .key) ?? "fasttext"
            scoreLabel = try c.decodeIfPresent(String.self, forKey: .scoreLabel)
            labels = try c.decodeIfPresent([String].self, forKey: .labels)
            keepThreshold = try c.decodeIfPresent(Double.self, forKey: .keepThreshold)
            textPreparation = try c.decodeIfPresent(String.self, forKey: .textPreparation) ?? "dclm"
            guard let model else {
                throw StageConfigurationError("fasttext_classifier needs model: the path of a fastText classifier (.bin or .ftz)")
            }
            self.model = model
        }
    }

    public static let type = "fasttext_classifier"
    public static let summary = "Scores documents with a fastText classifier (e.g. DCLM's quality model) into metadata; optionally keeps those above a threshold."
    public static let options: [StageOption] = [
        StageOption("model", "string", help: "Path of the fastText classifier (.bin or .ftz); loaded once and shared by all workers."),
        StageOption("key", "string", default: "fasttext", help: "Metadata path for the result (dots make nested objects)."),
        StageOption("score_label", "string", default: "null", help: "Write one number: DCLM's score for this label (top probability if it is the top label, else 1 minus it). Without it, write every label's probability as an object."),
        StageOption("labels", "[string]", default: "null", help: "Without score_label: only write these labels' probabilities."),
        StageOption("keep_threshold", "number", default: "null", help: "Keep documents whose score_label score is at least this (DCLM: 0.018112); needs score_label."),
        StageOption("text_preparation", "dclm | newlines_to_spaces", default: "dclm", help: "dclm: strip and join lines with spaces, as DCLM; newlines_to_spaces: replace newlines with spaces, as datatrove."),
    ]
    public static let dropReasons: [DropReason] = ["below_threshold", "no_prediction"]

    public let model: FastTextModel
    let keyPath: [String]
    let keyString: String
    let scoreIndex: Int?
    let writtenLabels: [Int]
    let shortLabels: [String]
    let keepThreshold: Double?
    let preparation: FastTextTextPreparation
    let pool = ScratchPool()

    public init(configuration: Configuration) throws {
        let model: FastTextModel
        do {
            model = try FastTextModelCache.shared.model(at: configuration.model)
        } catch {
            let message = (error as? FastTextError)?.message ?? String(describing: error)
            throw StageConfigurationError("model: \(message)")
        }
        try self.init(model: model, configuration: configuration)
    }

    /// A stage over an already loaded model.
    public init(model: FastTextModel, configuration c: Configuration) throws {
        guard model.args.model == .supervised, model.dictionary.nlabels > 0 else {
            throw StageConfigurationError("model: \(c.model) is not a supervised fastText classifier with labels")
        }
        self.model = model
        var parts = c.key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1 && parts[0] == "metadata" { parts.removeFirst() }
        guard !c.key.isEmpty, !parts.contains(where: \.isEmpty) else {
            throw StageConfigurationError("key: '\(c.key)' is not a metadata path; write keys separated by dots, such as quality.dclm")
        }
        keyPath = parts
        keyString = parts.joined(separator: ".")
        let known = { (0..<min(model.labels.count, 20)).map { model.shortLabel($0) }.joined(separator: ", ") }
        if let s = c.scoreLabel {
            guard let i = model.labelIndex(s) else {
                throw StageConfigurationError("score_label: '\(s)' is not a label of \(c.model); its labels are \(known())")
            }
            scoreIndex = i
        } else {
            scoreIndex = nil
        }
        if let t = c.keepThreshold {
            guard c.scoreLabel != nil else {
                throw StageConfigurationError("keep_threshold needs score_label: the label whose score is compared, such as hq")
            }
            guard t.isFinite else { throw StageConfigurationError("keep_threshold must be a number, got \(t)") }
        }
        keepThreshold = c.keepThreshold
        if let labels = c.labels {
            guard c.scoreLabel == nil else {
                throw StageConfigurationError("labels and score_label exclude each other: score_label writes one number, labels chooses the object's entries")
            }
            guard !labels.isEmpty else { throw StageConfigurationError("labels is empty; leave it out to write every label") }
            var idx: [Int] = []
            for l in labels {
                guard let i = model.labelIndex(l) else {
                    throw StageConfigurationError("labels: '\(l)' is not a label of \(c.model); its labels are \(known())")
                }
                idx.append(i)
            }
            writtenLabels = idx
        } else {
            writtenLabels = Array(0..<model.labels.count)
        }
        guard let prep = FastTextTextPreparation(rawValue: c.textPreparation) else {
            throw StageConfigurationError("text_preparation: '\(c.textPreparation)' is not allowed; use one of dclm, newlines_to_spaces")
        }
        preparation = prep
        shortLabels = (0..<model.labels.count).map { model.shortLabel($0) }
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var scratch = pool.take()
        defer { pool.give(scratch) }
        batch.retain { doc in classify(&doc, scratch: &scratch) }
    }

    @inline(__always)
    static func number(_ f: Float) -> JSONValue { .number(JSONNumber(uncheckedLiteral: f.description)) }

    /// Scores one document and decides whether it stays.
    public func classify(_ doc: inout Document, scratch: inout FastTextScratch) -> Verdict {
        let encoded = doc.text.withUTF8Bytes { model.encode(document: $0, preparation: preparation, scratch: &scratch) }
        guard encoded else { return keepThreshold == nil ? .keep : .drop("no_prediction") }
        let value: JSONValue
        var score: Float = 0
        if let scoreIndex {
            guard model.topLabels(k: 1, scratch: &scratch) == 1 else { return keepThreshold == nil ? .keep : .drop("no_prediction") }
            let top = scratch.predictions[0]
            score = Int(top.label) == scoreIndex ? top.probability : 1 - top.probability
            value = Self.number(score)
        } else {
            var o = JSONObject()
            for i in writtenLabels {
                o.append(key: shortLabels[i], value: Self.number(model.probability(ofLabel: i, scratch: &scratch)))
            }
            value = .object(o)
        }
        if keyPath.count == 1 {
            doc.metadata[keyPath[0]] = value
        } else {
            doc.metadata.setValue(value, atPath: keyString)
        }
        if let t = keepThreshold, Double(score) < t { return .drop("below_threshold") }
        return .keep
    }
}
