import Foundation
import SluiceCore
import SluiceFastText
import SluiceIO

/// `sluice quality train`: distils judge annotations into a fastText classifier that scores a
/// whole corpus at fastText speed (the FineWeb-Edu and DCLM recipe, with fastText as the
/// student).
///
/// - **Labels.** Binary (the default): a score at or above `threshold` is `__label__hq`, below
///   it `__label__lq` (names configurable); the `quality_score` stage then scores with
///   `label: hq`. Multi-class: one label per score value (`__label__0` … `__label__5`); score
///   with `output: expected` for the expected score, or `label: N`.
/// - **Split.** A document is held out when `XXH64(id, seed) / 2^64 < held_out`: the split
///   depends only on the ids, so it is the same whatever the order or number of annotations,
///   and a document never moves between train and test when more annotations are added.
/// - **Text.** Each example is the record's `text` prepared as DCLM prepares text for its
///   classifier (stripped, lines joined with spaces), which is exactly what the
///   `quality_score` and `fasttext_classifier` stages do before predicting.
/// - **Training** is SluiceFastText's supervised trainer (official fastText's algorithm and
///   file format) with DCLM's settings by default (softmax, word bigrams, lr 0.1, 5 epochs)
///   except the vector size: 16 rather than 100, because scoring is bound by memory reads of
///   the rows it sums (16 dimensions score about 31,000 2 KB documents/s per core, 100 about
///   13,000) while held-out accuracy on judge labels barely moves; raise `dim` for harder
///   label sets. One thread by default, so the same annotations give the same model bytes.
/// - **Evaluation** on the held-out documents: precision, recall and F1 of the positive label
///   (binary) or of every label with accuracy and macro F1 (multi-class; plus the binary
///   metrics at `threshold` when one is given), predicting exactly as the stages do.
public enum QualityTrainer {
    public struct Options: Sendable {
        /// Annotation JSONL files (from `sluice annotate`): `id`, `score`, `text` per line.
        public var annotations: [String]
        /// The model file to write (`.bin`).
        public var output: String
        /// Binary labels: a score at or above this is positive; nil takes the rubric's threshold
        /// that `sluice annotate` wrote into the records. With ``multiclass`` it only adds
        /// binary metrics at this cut-off to the report.
        public var threshold: Double?
        /// One label per score value instead of two.
        public var multiclass = false
        public var positiveLabel = "hq"
        public var negativeLabel = "lq"
        public var heldOut = 0.2
        public var seed: UInt64 = 0
        public var epoch = 5
        public var lr = 0.1
        public var dim = 16
        public var wordNgrams = 2
        public var bucket = 200_000
        public var minCount = 1
        public var thread = 1
        public var loss: FastTextLoss = .softmax
        /// Where to write `train.txt` and `test.txt` (fastText format), for comparisons with
        /// other trainers; nil writes them only to a temporary folder.
        public var splitsDirectory: String?

        public init(annotations: [String], output: String, threshold: Double?, multiclass: Bool = false) {
            self.annotations = annotations
            self.output = output
            self.threshold = threshold
            self.multiclass = multiclass
        }
    }

    /// Precision, recall and F1 of one label on the held-out set.
    public struct LabelMetrics: Sendable, Equatable {
        public var label: String
        public var truePositives = 0
        public var falsePositives = 0
        public var falseNegatives = 0
        public var support: Int { truePositives + falseNegatives }
        public var precision: Double { truePositives + falsePositives == 0 ? 0 : Double(truePositives) / Double(truePositives + falsePositives) }
        public var recall: Double { support == 0 ? 0 : Double(truePositives) / Double(support) }
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }

        public init(label: String) { self.label = label }

        var json: JSONValue {
            var o = JSONObject()
            o["label"] = .string(label)
            o["precision"] = .double(round4(precision))
            o["recall"] = .double(round4(recall))
            o["f1"] = .double(round4(f1))
            o["support"] = .int(support)
            o["true_positives"] = .int(truePositives)
            o["false_positives"] = .int(falsePositives)
            o["false_negatives"] = .int(falseNegatives)
            return .object(o)
        }
    }

    public struct Report: Sendable {
        public var model: String
        public var mode: String
        public var threshold: Double?
        public var trainExamples = 0
        public var testExamples = 0
        /// Examples per label (train and test together).
        public var labelCounts: [String: Int] = [:]
        /// Records skipped: no text, no score, or not JSON.
        public var skipped: [String: Int] = [:]
        /// The positive label's metrics (binary), or those at `threshold` (multi-class with a threshold).
        public var binary: LabelMetrics?
        /// Every label's metrics (multi-class).
        public var perLabel: [LabelMetrics] = []
        public var accuracy = 0.0
        public var trainSeconds = 0.0
        public var trainPath = ""
        public var testPath = ""

        public var macroF1: Double { perLabel.isEmpty ? 0 : perLabel.map(\.f1).reduce(0, +) / Double(perLabel.count) }

        public var json: JSONValue {
            var o = JSONObject()
            o["model"] = .string(model)
            o["mode"] = .string(mode)
            o["threshold"] = threshold.map { .double($0) } ?? .null
            o["train_examples"] = .int(trainExamples)
            o["test_examples"] = .int(testExamples)
            var lc = JSONObject()
            for k in labelCounts.keys.sorted() { lc[k] = .int(labelCounts[k]!) }
            o["labels"] = .object(lc)
            var sk = JSONObject()
            for k in skipped.keys.sorted() { sk[k] = .int(skipped[k]!) }
            o["skipped"] = .object(sk)
            if let binary {
                o["precision"] = .double(round4(binary.precision))
                o["recall"] = .double(round4(binary.recall))
                o["f1"] = .double(round4(binary.f1))
                o["positive"] = binary.json
            }
            if !perLabel.isEmpty {
                o["per_label"] = .array(perLabel.map(\.json))
                o["macro_f1"] = .double(round4(macroF1))
            }
            o["accuracy"] = .double(round4(accuracy))
            o["train_seconds"] = .double(round4(trainSeconds))
            o["train_file"] = .string(trainPath)
            o["test_file"] = .string(testPath)
            return .object(o)
        }

        public func render() -> String {
            var lines: [String] = []
            lines.append("model: \(model) (\(mode)\(threshold.map { ", threshold \(Rubric.format($0))" } ?? ""))")
            lines.append("examples: \(trainExamples) train, \(testExamples) held out; labels: " + labelCounts.keys.sorted().map { "\($0) \(labelCounts[$0]!)" }.joined(separator: ", "))
            if !skipped.isEmpty { lines.append("skipped records: " + skipped.keys.sorted().map { "\($0) \(skipped[$0]!)" }.joined(separator: ", ")) }
            if let b = binary {
                lines.append(
                    String(format: "held-out %@: precision %.4f, recall %.4f, F1 %.4f (%d positives of %d)", b.label, b.precision, b.recall, b.f1, b.support, testExamples))
            }
            for m in perLabel {
                lines.append(String(format: "  %@: precision %.4f, recall %.4f, F1 %.4f, support %d", m.label, m.precision, m.recall, m.f1, m.support))
            }
            if !perLabel.isEmpty { lines.append(String(format: "macro F1 %.4f", macroF1)) }
            lines.append(String(format: "accuracy %.4f; trained in %.2f s", accuracy, trainSeconds))
            return lines.joined(separator: "\n")
        }
    }

    struct Example {
        var id: String
        var label: String
        var score: Double
        var text: String
        var heldOut: Bool
    }

    /// Reads annotation records: `id` (string or number), `score` (number), `text` (string).
    static func readAnnotations(_ paths: [String], skipped: inout [String: Int], thresholds: inout Set<Double>) throws -> [(id: String, score: Double, text: String)] {
        var out: [(String, Double, String)] = []
        for path in paths {
            let reader = LineBatchReader(source: try ByteSource(path: path), maxLines: 1024, maxBytes: 8 << 20, maxLineBytes: 256 << 20)
            while let batch = try reader.next() {
                for i in 0..<batch.count {
                    let line = Array(batch[line: i])
                    if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                    guard let v = try? parseJSONValue(line), case .object(let o) = v else {
                        skipped["invalid_json", default: 0] += 1
                        continue
                    }
                    guard let score = o["score"]?.doubleValue, score.isFinite else {
                        skipped["no_score", default: 0] += 1
                        continue
                    }
                    guard let text = o["text"]?.stringValue else {
                        skipped["no_text", default: 0] += 1
                        continue
                    }
                    if let t = o["threshold"]?.doubleValue, t.isFinite { thresholds.insert(t) }
                    var id = o["id"].map { jsonID($0) } ?? ""
                    if id.isEmpty { id = "\(path):\(batch.lineNumbers[i])" }
                    out.append((id, score, text))
                }
                if let d = batch.damage { throw FastTextError("\(path) is damaged: \(d)") }
            }
        }
        return out
    }

    static func jsonID(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .number(let n): return n.literal
        default: return ""
        }
    }

    /// One training line: `__label__X ` and the text with every Python line boundary turned
    /// into a space (so the example stays on one line and tokenizes exactly as the DCLM
    /// preparation the stages use).
    static func appendTrainingLine(label: String, text: String, to out: inout [UInt8]) {
        out.append(contentsOf: "__label__".utf8)
        out.append(contentsOf: label.utf8)
        out.append(32)
        text.withUTF8Bytes { b in
            var i = 0
            while i < b.count {
                let c = b[i]
                if c == 10 || c == 11 || c == 12 || c == 13 || c == 0x1C || c == 0x1D || c == 0x1E || c == 0 {
                    out.append(32)
                    i += 1
                } else if c == 0xC2 && i + 1 < b.count && b[i + 1] == 0x85 {
                    out.append(32); out.append(32)
                    i += 2
                } else if c == 0xE2 && i + 2 < b.count && b[i + 1] == 0x80 && (b[i + 2] == 0xA8 || b[i + 2] == 0xA9) {
                    out.append(32); out.append(32); out.append(32)
                    i += 3
                } else {
                    out.append(c)
                    i += 1
                }
            }
        }
        out.append(10)
    }

    static func labelName(_ score: Double) -> String { Rubric.format(score) }

    /// Checks the options; the message names the flag.
    public static func validate(_ o: Options) throws {
        func need(_ ok: Bool, _ message: String) throws { if !ok { throw FastTextError(message) } }
        try need(!o.annotations.isEmpty, "give at least one annotations file (from sluice annotate)")
        try need(o.heldOut > 0 && o.heldOut < 1, "--held-out must be between 0 and 1 (exclusive), got \(o.heldOut)")
        try need(o.epoch >= 1, "--epoch must be at least 1")
        try need(o.lr > 0 && o.lr.isFinite, "--lr must be a positive number")
        try need(o.dim >= 1 && o.dim <= 65536, "--dim must be between 1 and 65536")
        try need(o.wordNgrams >= 1, "--word-ngrams must be at least 1")
        try need(o.bucket >= 1 || o.wordNgrams == 1, "--bucket must be at least 1 with word n-grams")
        try need(o.bucket >= 0 && o.bucket <= Int(Int32.max), "--bucket is out of range")
        try need(o.minCount >= 1, "--min-count must be at least 1")
        try need(o.thread >= 1, "--thread must be at least 1")
        let labelOK = { (s: String) in !s.isEmpty && !s.utf8.contains { $0 <= 32 } }
        try need(labelOK(o.positiveLabel) && labelOK(o.negativeLabel) && o.positiveLabel != o.negativeLabel, "the positive and negative labels must be two different words without spaces")
        if let t = o.threshold { try need(t.isFinite, "--threshold must be a number") }
    }

    /// Trains, evaluates and writes the model. `log` hears progress.
    public static func run(_ o: Options, log: (String) -> Void = { _ in }) throws -> Report {
        try validate(o)
        var o = o
        var skipped: [String: Int] = [:]
        var thresholds = Set<Double>()
        let records = try readAnnotations(o.annotations, skipped: &skipped, thresholds: &thresholds)
        if o.threshold == nil && !o.multiclass {
            guard thresholds.count == 1, let t = thresholds.first else {
                throw FastTextError(
                    thresholds.isEmpty
                        ? "give --threshold T (a score at or above T is positive) or --multiclass (one label per score); the annotations name no rubric threshold"
                        : "the annotations come from rubrics with different thresholds (\(thresholds.sorted().map(Rubric.format).joined(separator: ", "))); give --threshold T")
            }
            o.threshold = t
            log("threshold \(Rubric.format(t)), the rubric's (from the annotations)")
        }
        var report = Report(model: o.output, mode: o.multiclass ? "multiclass" : "binary", threshold: o.threshold)
        report.skipped = skipped
        // One example per id (the last record wins, as a re-annotation replaces an earlier one).
        var byID: [String: Int] = [:]
        var examples: [Example] = []
        for r in records {
            let label: String
            if !o.multiclass, let t = o.threshold { label = r.score >= t ? o.positiveLabel : o.negativeLabel } else { label = labelName(r.score) }
            let held = Double(XXH64.hash(r.id, seed: o.seed ^ 0x5155_414C_4954_5953)) * 0x1p-64 < o.heldOut
            let e = Example(id: r.id, label: label, score: r.score, text: r.text, heldOut: held)
            if let i = byID[r.id] {
                examples[i] = e
                report.skipped["duplicate_id", default: 0] += 1
            } else {
                byID[r.id] = examples.count
                examples.append(e)
            }
        }
        for e in examples { report.labelCounts[e.label, default: 0] += 1 }
        let train = examples.filter { !$0.heldOut }
        let test = examples.filter(\.heldOut)
        report.trainExamples = train.count
        report.testExamples = test.count
        guard !train.isEmpty, !test.isEmpty else {
            throw FastTextError("\(examples.count) usable annotation\(examples.count == 1 ? "" : "s"): too few to split into training and held-out sets; annotate more documents")
        }
        guard Set(train.map(\.label)).count >= 2 else {
            throw FastTextError(
                "every training example has the label \(train[0].label); a classifier needs at least two classes (choose another --threshold, or annotate more varied documents)")
        }

        // Splits in fastText's format.
        let fm = FileManager.default
        var temporary: String? = nil
        let dir: String
        if let d = o.splitsDirectory {
            try InputListing.createDirectories(d)
            dir = d
        } else {
            let t = fm.temporaryDirectory.path + "/sluice-quality-train-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            try InputListing.createDirectories(t)
            temporary = t
            dir = t
        }
        defer { if let temporary { try? fm.removeItem(atPath: temporary) } }
        var trainBytes: [UInt8] = []
        for e in train { appendTrainingLine(label: e.label, text: e.text, to: &trainBytes) }
        var testBytes: [UInt8] = []
        for e in test { appendTrainingLine(label: e.label, text: e.text, to: &testBytes) }
        report.trainPath = dir + "/train.txt"
        report.testPath = dir + "/test.txt"
        try writeAtomically(path: report.trainPath, bytes: trainBytes)
        try writeAtomically(path: report.testPath, bytes: testBytes)
        if temporary != nil {
            report.trainPath = ""
            report.testPath = ""
        }

        var ft = FastTextTrainingOptions(input: dir + "/train.txt")
        ft.epoch = o.epoch
        ft.lr = o.lr
        ft.dim = o.dim
        ft.wordNgrams = o.wordNgrams
        ft.bucket = o.bucket
        ft.minCount = o.minCount
        ft.thread = o.thread
        ft.loss = o.loss
        ft.verbose = 0
        log("training on \(train.count) examples (\(o.thread) thread\(o.thread == 1 ? "" : "s"), \(o.epoch) epochs, dim \(o.dim), word n-grams \(o.wordNgrams))")
        let started = Date()
        let model = try FastTextModel.train(ft)
        report.trainSeconds = Date().timeIntervalSince(started)
        let outDir = (o.output as NSString).deletingLastPathComponent
        if !outDir.isEmpty { try InputListing.createDirectories(outDir) }
        try model.write(to: o.output)

        // Evaluate as the stages predict.
        var scratch = FastTextScratch()
        var correct = 0
        let labels = Set(examples.map(\.label)).sorted { a, b in
            if let x = Double(a), let y = Double(b) { return x < y }
            return a < b
        }
        var per = Dictionary(uniqueKeysWithValues: labels.map { ($0, LabelMetrics(label: $0)) })
        for e in test {
            let n = e.text.withUTF8Bytes { model.predict(document: $0, preparation: .dclm, k: 1, scratch: &scratch) }
            let predicted = n > 0 ? model.shortLabel(Int(scratch.predictions[0].label)) : ""
            if predicted == e.label {
                correct += 1
                per[e.label]?.truePositives += 1
            } else {
                per[e.label]?.falseNegatives += 1
                if !predicted.isEmpty { per[predicted]?.falsePositives += 1 }
            }
        }
        report.accuracy = Double(correct) / Double(test.count)
        if !o.multiclass {
            report.binary = per[o.positiveLabel] ?? LabelMetrics(label: o.positiveLabel)
        } else {
            report.perLabel = labels.map { per[$0]! }
            if let t = o.threshold {
                report.binary = binaryMetrics(model: model, examples: test.map { ($0.text, $0.score) }, threshold: t, label: ">=\(Rubric.format(t))")
            }
        }
        return report
    }

    /// Binary metrics of a multi-class model at a threshold: a document counts as positive
    /// when its predicted label's value is at least `threshold`.
    public static func binaryMetrics(model: FastTextModel, examples: [(text: String, score: Double)], threshold: Double, label: String = "hq") -> LabelMetrics {
        var m = LabelMetrics(label: label)
        var scratch = FastTextScratch()
        for e in examples {
            let n = e.text.withUTF8Bytes { model.predict(document: $0, preparation: .dclm, k: 1, scratch: &scratch) }
            let v = n > 0 ? Double(model.shortLabel(Int(scratch.predictions[0].label))) ?? -Double.infinity : -Double.infinity
            let predicted = v >= threshold, actual = e.score >= threshold
            if predicted && actual { m.truePositives += 1 } else if predicted { m.falsePositives += 1 } else if actual { m.falseNegatives += 1 }
        }
        return m
    }
}

func round4(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }
