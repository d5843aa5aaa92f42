import SluiceCore

/// Identifies each document's language with a fastText model (such as `lid.176.ftz` or
/// `lid.176.bin`), records it, and drops documents not in the wanted languages.
///
/// YAML type `language_id`. It works as datatrove's `LanguageFilter` does: newlines in the text
/// count as spaces (datatrove's `text.replace("\n", " ")`), the prediction is official
/// fastText's, and:
///
/// - `metadata.language` gets the most likely label without `__label__` (`en`), and
///   `metadata.language_score` its probability as fastText reports it;
/// - without `languages`, a document is kept when that score is above `threshold`;
/// - with `languages`, it is kept when any listed language scores above `threshold`.
///
/// Options:
/// - `model` (required): path of the `.bin`/`.ftz` model. Loaded once per process and
///   shared by every worker. `scripts/setup-models.sh` puts `lid.176.ftz` in `models/`.
/// - `languages`: the labels to keep, with or without `__label__` (`[en, de]`); default all.
/// - `threshold` (default 0.65, datatrove's): the score a language must exceed.
/// - `label_only` (default false): record the language but drop nothing.
///
/// Drop reasons: `language_not_allowed` (the best language is not listed and no listed one
/// is above the threshold), `low_language_score` (the best language is listed, or no list
/// is given, but its score is not above the threshold), `no_language_prediction` (the model
/// found nothing to predict on; rare, as `</s>` is always there for lid.176).
///
/// ```yaml
/// - type: language_id
///   model: ${SLUICE_MODELS:-models}/lid.176.ftz
///   languages: [en, de]
///   threshold: 0.65
/// ```
///
/// Note: this stage lives in `SluiceFastText` until the `SluiceQuality` module exists.
public struct LanguageID: Stage {
    public struct Configuration: Decodable, Sendable {
        public var model: String
        public var languages: [String]?
        public var threshold: Double
        public var labelOnly: Bool

        enum CodingKeys: String, CodingKey {
            case model, languages, threshold, labelOnly = "label_only"
        }

        public init(model: String, languages: [String]? = nil, threshold: Double = 0.65, labelOnly: Bool = false) {
            self.model = model
            self.languages = languages
            self.threshold = threshold
            self.labelOnly = labelOnly
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let model = try c.decodeIfPresent(String.self, forKey: .model)
            languages = try c.decodeIfPresent([String].self, forKey: .languages)
            threshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? 0.65
            labelOnly = try c.decodeIfPresent(Bool.self, forKey: .labelOnly) ?? false
            guard let model else {
                throw StageConfigurationError(
                    "language_id needs model: the path of a fastText language model such as models/lid.176.ftz (scripts/setup-models.sh downloads it)")
            }
            self.model = model
        }
    }

    public static let type = "language_id"
    public static let summary = "Identifies each document's language with a fastText model (lid.176) and keeps the wanted languages."
    public static let options: [StageOption] = [
        StageOption("model", "string", help: "Path of the fastText language model (.bin or .ftz), e.g. ${SLUICE_MODELS:-models}/lid.176.ftz; loaded once and shared by all workers."),
        StageOption("languages", "[string]", default: "null", help: "Languages to keep (labels with or without __label__, e.g. [en, de]); null keeps any language above the threshold."),
        StageOption("threshold", "number", default: "0.65", help: "Keep a document when a wanted language's score is above this (datatrove's default)."),
        StageOption("label_only", "bool", default: "false", help: "Only write metadata.language and metadata.language_score; drop nothing."),
    ]
    public static let dropReasons: [DropReason] = ["language_not_allowed", "low_language_score", "no_language_prediction"]

    public let model: FastTextModel
    let allowed: [Bool]
    let allowedIndices: [Int]
    let hasList: Bool
    let threshold: Float
    let labelOnly: Bool
    let shortLabels: [String]
    let pool = ScratchPool()

    public init(configuration: Configuration) throws {
        let model: FastTextModel
        do {
            model = try FastTextModelCache.shared.model(at: configuration.model)
        } catch {
            let message = (error as? FastTextError)?.message ?? String(describing: error)
            var hint = ""
            if configuration.model.hasSuffix("lid.176.ftz") || configuration.model.hasSuffix("lid.176.bin") {
                hint = "; run scripts/setup-models.sh to put lid.176.ftz in models/ (or set SLUICE_MODELS to its folder)"
            }
            throw StageConfigurationError("model: \(message)\(hint)")
        }
        try self.init(model: model, configuration: configuration)
    }

    /// A stage over an already loaded model (`configuration.model` is then only a label).
    public init(model: FastTextModel, configuration: Configuration) throws {
        guard model.args.model == .supervised, model.dictionary.nlabels > 0 else {
            throw StageConfigurationError("model: \(configuration.model) is not a supervised fastText classifier with labels")
        }
        guard configuration.threshold.isFinite, configuration.threshold >= 0, configuration.threshold <= 1.00001 else {
            throw StageConfigurationError("threshold must be between 0 and 1, got \(configuration.threshold)")
        }
        self.model = model
        var allowed = [Bool](repeating: false, count: model.labels.count)
        var indices: [Int] = []
        if let languages = configuration.languages {
            guard !languages.isEmpty else {
                throw StageConfigurationError("languages is empty, so every document would be dropped; list languages such as [en] or leave it out to keep any")
            }
            var unknown: [String] = []
            for l in languages {
                if let i = model.labelIndex(l) {
                    if !allowed[i] { indices.append(i) }
                    allowed[i] = true
                } else {
                    unknown.append(l)
                }
            }
            if !unknown.isEmpty {
                let known = (0..<min(model.labels.count, 40)).map { model.shortLabel($0) }.joined(separator: ", ")
                throw StageConfigurationError(
                    "languages: \(unknown.joined(separator: ", ")) \(unknown.count == 1 ? "is" : "are") not a label of \(configuration.model); it knows \(model.labels.count) labels such as \(known)")
            }
        }
        self.allowed = allowed
        allowedIndices = indices
        hasList = configuration.languages != nil
        threshold = Float(configuration.threshold)
        labelOnly = configuration.labelOnly
        shortLabels = (0..<model.labels.count).map { model.shortLabel($0) }
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var scratch = pool.take()
        defer { pool.give(scratch) }
        batch.retain { doc in
            identify(&doc, scratch: &scratch)
        }
    }

    /// Labels one document and decides whether it stays.
    public func identify(_ doc: inout Document, scratch: inout FastTextScratch) -> Verdict {
        let encoded = doc.text.withUTF8Bytes { model.encode($0, scratch: &scratch) }
        guard encoded, model.topLabels(k: 1, scratch: &scratch) == 1 else {
            return labelOnly ? .keep : .drop("no_language_prediction")
        }
        let best = scratch.predictions[0]
        let bestIndex = Int(best.label)
        doc.metadata["language"] = .string(shortLabels[bestIndex])
        doc.metadata["language_score"] = .number(JSONNumber(uncheckedLiteral: best.probability.description))
        if labelOnly { return .keep }
        if !hasList {
            return best.probability > threshold ? .keep : .drop("low_language_score")
        }
        if allowed[bestIndex] {
            // The best label is wanted; no other label scores higher.
            return best.probability > threshold ? .keep : .drop("low_language_score")
        }
        // Another wanted language can only pass when the best one is above the threshold.
        if best.probability > threshold {
            for i in allowedIndices where model.probability(ofLabel: i, scratch: &scratch) > threshold {
                return .keep
            }
        }
        return .drop("language_not_allowed")
    }
}
