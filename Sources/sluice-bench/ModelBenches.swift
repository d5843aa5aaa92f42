// `quality` and `lm`: scoring throughput of the model-based quality stages on one core.
import Foundation
import SluiceCore
import SluiceLM
import SluiceQuality

// MARK: quality_score with a fastText classifier

let qualityCommand = BenchCommand(
    name: "quality",
    summary: """
        quality_score with one fastText scorer (DCLM text preparation, metadata written, as a worker does) on one
          core, over documents of about 2 KB cut from real prose: documents/s and MB/s, the fastest of --repeat
          passes. Issue 8's floor is 20,000 documents/s per core.
        """,
    options: [
        OptionSpec(name: "model", value: "PATH", help: "fastText classifier (default models/quality-default.bin from scripts/setup-models.sh)"),
        OptionSpec(name: "corpus", value: "FILE", help: "JSONL(.zst) whose texts are cut into documents (default SampleData/prose.jsonl.zst)"),
        OptionSpec(name: "documents", value: "N", help: "documents scored per pass (default 20000)"),
        OptionSpec(name: "bytes", value: "N", help: "bytes per document (default 2048)"),
        OptionSpec(name: "repeat", value: "N", help: "passes; the fastest is reported (default 3)"),
        OptionSpec(name: "json", value: nil, help: "print the results as JSON"),
    ])

func runQuality(_ args: [String]) throws {
    let o = qualityCommand.parse(args)
    let model = o.string("model", "models/quality-default.bin")
    guard FileManager.default.fileExists(atPath: model) else {
        throw BenchError(description: "no model at \(model); run scripts/setup-models.sh or pass --model")
    }
    let corpus = o.string("corpus", "SampleData/prose.jsonl.zst")
    let machine = machineLine()
    let r = try QualityBenchmark.fastTextScoring(
        modelPath: model, corpusPath: corpus, documents: o.int("documents", 20_000), bytesPerDocument: o.int("bytes", 2048),
        repetitions: o.int("repeat", 3))
    if o.flag("json") {
        printJSON(
            .object([
                "benchmark": .string("quality"), "model": .string(model), "corpus": .string(corpus), "documents": .int(r.documents),
                "bytes": .int(r.bytes), "seconds": .double(r.seconds), "docs_per_s": .double(r.documentsPerSecond),
                "mb_per_s": .double(r.megabytesPerSecond), "machine": .string(machine),
            ]))
        return
    }
    print("quality_score, one fastText scorer, one core: \(model) on documents cut from \(corpus)")
    print(machine)
    print("\(r.documents) documents, \(formatBytes(r.bytes)) in \(formatFixed(r.seconds, digits: 3)) s (fastest pass): \(formatFixed(r.documentsPerSecond, digits: 0)) docs/s, \(formatFixed(r.megabytesPerSecond, digits: 1)) MB/s")
}

// MARK: n-gram perplexity

let lmCommand = BenchCommand(
    name: "lm",
    summary: """
        CCNet document perplexity under a modified Kneser-Ney model: trains an order-N model on SampleData's prose
          (timed separately), or loads --model, then scores documents of about 2 KB cut from the man pages and
          prose on one core (or --workers threads sharing the model): documents/s and MB/s.
        """,
    options: [
        OptionSpec(name: "model", value: "PATH", help: "an ARPA model to score with instead of training one"),
        OptionSpec(name: "order", value: "N", help: "order of the trained model (default 5)"),
        OptionSpec(name: "workers", value: "N", help: "threads scoring at once, sharing one model (default 1)"),
        OptionSpec(name: "repeat", value: "N", help: "passes; the fastest is reported (default 3)"),
        OptionSpec(name: "json", value: nil, help: "print the results as JSON"),
    ])

func runLM(_ args: [String]) throws {
    let o = lmCommand.parse(args)
    let prose = try loadDocuments("SampleData/prose.jsonl.zst").map { Array($0.document.text.utf8) }
    let manpages = try loadDocuments("SampleData/manpages.jsonl.zst").map { Array($0.document.text.utf8) }
    let documents = LMBenchmark.documents(from: manpages + prose, bytesPerDocument: 2000)
    let machine = machineLine()
    let r: LMBenchmark.Result
    if let path = o.optionalString("model") {
        r = LMBenchmark.run(
            model: try NGramModel(contentsOf: path), documents: documents, repetitions: o.int("repeat", 3), workers: o.int("workers", 1))
    } else {
        r = try LMBenchmark.run(
            reference: prose, documents: documents, order: o.int("order", 5), repetitions: o.int("repeat", 3),
            workers: o.int("workers", 1))
    }
    if o.flag("json") {
        printJSON(
            .object([
                "benchmark": .string("lm"), "documents": .int(r.documents), "bytes": .int(r.bytes), "seconds": .double(r.seconds),
                "training_seconds": .double(r.trainingSeconds), "docs_per_s": .double(r.documentsPerSecond),
                "mb_per_s": .double(r.megabytesPerSecond), "workers": .int(r.workers),
                "ngrams": .array(r.counts.map { .int($0) }), "machine": .string(machine),
            ]))
        return
    }
    print("n-gram perplexity (CCNet normalisation):")
    print(machine)
    print(r.description)
}
