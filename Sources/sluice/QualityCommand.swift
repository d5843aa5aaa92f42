import ArgumentParser
import Foundation
import SluiceCore
import SluiceFastText
import SluiceIO
import SluicePipeline
import SluiceQuality

/// `sluice quality …`: tools of the model-based quality loop.
struct QualityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "Train fastText quality classifiers from judge annotations (the step after `sluice annotate`), and measure scoring speed.",
        subcommands: [QualityTrain.self, QualityBench.self])
}

struct QualityTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a fastText classifier on annotations and report precision, recall and F1 on a held-out split.",
        discussion: """
            Reads annotation JSONL (id, score, text per line, as `sluice annotate` writes it), \
            labels each document (binary: score >= --threshold is __label__hq, else __label__lq; \
            or --multiclass: one label per score value), holds out the documents with \
            XXH64(id, --seed)/2^64 < --held-out (deterministic, independent of order), trains \
            with fastText's supervised algorithm (DCLM's settings by default: softmax, word \
            bigrams, lr 0.1, 5 epochs; but 16 dimensions, for scoring speed; one thread, so the \
            same annotations give the same model bytes) and writes the model. The held-out report gives precision, recall and F1 of \
            the positive label (binary), or of every label with accuracy and macro F1 \
            (multi-class). Text is prepared as the quality_score stage prepares it (DCLM's).

            Score a corpus with the model in a pipeline:
              - type: quality_score
                scorers: [{name: edu, type: fasttext, model: MODEL.bin, label: hq}]
                keep: {score: edu, min: 0.5}
            (multi-class: output: expected instead of label, for the expected score.)
            """)

    @Argument(help: ArgumentHelp("Annotation JSONL files (.jsonl, .jsonl.zst).", valueName: "annotations"))
    var annotations: [String]

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The model file to write (.bin).", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("Binary labels: a score at or above this is positive (default: the rubric's threshold recorded by sluice annotate, 3 for educational_value; with --multiclass: also report binary metrics at it).", valueName: "t"))
    var threshold: Double?

    @Flag(help: "One label per score value instead of two.")
    var multiclass = false

    @Option(name: .customLong("held-out"), help: ArgumentHelp("Share of documents held out for evaluation.", valueName: "fraction"))
    var heldOut: Double = 0.2

    @Option(help: ArgumentHelp("Seed of the held-out split.", valueName: "n"))
    var seed: Int = 0

    @Option(name: .customLong("positive-label"), help: ArgumentHelp("Name of the positive label (binary).", valueName: "name"))
    var positiveLabel: String = "hq"

    @Option(name: .customLong("negative-label"), help: ArgumentHelp("Name of the negative label (binary).", valueName: "name"))
    var negativeLabel: String = "lq"

    @Option(help: ArgumentHelp("Training epochs.", valueName: "n"))
    var epoch: Int = 5

    @Option(help: ArgumentHelp("Learning rate.", valueName: "rate"))
    var lr: Double = 0.1

    @Option(help: ArgumentHelp("Vector size (16 scores ~2.5x faster than fastText's 100 at about the same accuracy on judge labels).", valueName: "n"))
    var dim: Int = 16

    @Option(name: .customLong("word-ngrams"), help: ArgumentHelp("Word n-grams (2: bigrams, as DCLM).", valueName: "n"))
    var wordNgrams: Int = 2

    @Option(help: ArgumentHelp("Hash buckets for word n-grams (the model holds bucket x dim floats).", valueName: "n"))
    var bucket: Int = 200_000

    @Option(name: .customLong("min-count"), help: ArgumentHelp("Minimal word count.", valueName: "n"))
    var minCount: Int = 1

    @Option(help: ArgumentHelp("Training threads (more than 1 is faster but not deterministic).", valueName: "n"))
    var thread: Int = 1

    @Option(help: ArgumentHelp("Loss: softmax, hs, ns or ova.", valueName: "loss"))
    var loss: String = "softmax"

    @Option(help: ArgumentHelp("Also write the training and held-out files (fastText format) into this folder.", valueName: "dir"))
    var splits: String?

    @Option(help: ArgumentHelp("Write the report as JSON to this file.", valueName: "file"))
    var report: String?

    @Flag(help: "Print the report as JSON on standard output.")
    var json = false

    func validate() throws {
        if !["softmax", "hs", "ns", "ova"].contains(loss) { throw ValidationError("--loss must be softmax, hs, ns or ova") }
    }

    func run() throws {
        var o = QualityTrainer.Options(annotations: annotations, output: output, threshold: threshold, multiclass: multiclass)
        o.heldOut = heldOut
        o.seed = UInt64(bitPattern: Int64(seed))
        o.positiveLabel = positiveLabel
        o.negativeLabel = negativeLabel
        o.epoch = epoch
        o.lr = lr
        o.dim = dim
        o.wordNgrams = wordNgrams
        o.bucket = bucket
        o.minCount = minCount
        o.thread = thread
        o.loss = ["softmax": FastTextLoss.softmax, "hs": .hs, "ns": .ns, "ova": .ova][loss]!
        o.splitsDirectory = splits
        do {
            try QualityTrainer.validate(o)
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.usage
        }
        let result: QualityTrainer.Report
        do {
            result = try QualityTrainer.run(o) { FileHandle.standardError.write(Data("sluice quality train: \($0)\n".utf8)) }
            if let report { try writeAtomically(path: report, string: renderJSON(result.json)) }
        } catch let e as FastTextError where e.message.contains("give --threshold") {
            FileHandle.standardError.write(Data("sluice: error: \(e)\n".utf8))
            throw Exit.usage
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.failed
        }
        if json {
            print(renderJSON(result.json), terminator: "")
        } else {
            print(result.render())
        }
    }
}

struct QualityBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure quality_score's fastText scoring speed on one core (documents/s).",
        discussion: """
            Builds --documents documents of about --bytes bytes each (cut from --corpus, JSONL plain \
            or compressed, or made of English-like words), and scores them on the calling thread \
            with a quality_score stage holding one fastText scorer (the model's first label, DCLM \
            text preparation), in batches of 1,000 as a worker does. Prints the fastest of \
            --repetitions passes. Build with -c release for meaningful numbers.
            """)

    @Option(help: ArgumentHelp("The fastText classifier (.bin or .ftz).", valueName: "file"))
    var model: String

    @Option(help: ArgumentHelp("JSONL documents to cut the test documents from.", valueName: "file"))
    var corpus: String?

    @Option(help: ArgumentHelp("Number of documents.", valueName: "n"))
    var documents: Int = 20_000

    @Option(help: ArgumentHelp("Bytes per document.", valueName: "n"))
    var bytes: Int = 2048

    @Option(help: ArgumentHelp("Passes; the fastest counts.", valueName: "n"))
    var repetitions: Int = 3

    func validate() throws {
        if documents < 1 || bytes < 1 || repetitions < 1 { throw ValidationError("--documents, --bytes and --repetitions must be at least 1") }
    }

    func run() throws {
        do {
            let t = try QualityBenchmark.fastTextScoring(
                modelPath: model, corpusPath: corpus, documents: documents, bytesPerDocument: bytes, repetitions: repetitions)
            print(String(format: "quality_score fasttext: %d documents (%.0f bytes each) in %.3f s on one core: %.0f documents/s, %.1f MB/s",
                t.documents, Double(t.bytes) / Double(t.documents), t.seconds, t.documentsPerSecond, t.megabytesPerSecond))
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.failed
        }
    }
}
