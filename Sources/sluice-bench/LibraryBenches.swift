// Benchmarks of library functions on one thread: fastText language ID and training, the
// heuristic filters, HTML main-content extraction. Each prints documents/s and MB/s.
import Foundation
import SluiceCore
import SluiceFastText
import SluiceFilters
import SluiceIO
import SluiceWeb

private let sampleInput = "SampleData/*.jsonl.zst"

// MARK: fastText language ID

let languageIDCommand = BenchCommand(
    name: "language-id",
    summary: """
        fastText language identification on one core, as `sluice fasttext predict MODEL FILE` does (top label of
          every line; the model is loaded first and not timed): lines/s and MB/s, the fastest of --repeat passes.
          Compare with official fastText: `fasttext predict MODEL FILE > /dev/null`.
        """,
    options: [
        OptionSpec(name: "model", value: "PATH", help: "fastText model (default $SLUICE_MODELS/lid.176.ftz, else models/lid.176.ftz from scripts/setup-models.sh)"),
        OptionSpec(name: "text", value: "FILE", help: "text to classify, one example a line (default: every document of --input, one per line)"),
        OptionSpec(name: "input", value: "GLOB", help: "JSONL(.zst) documents to make the lines from when --text is not given (default \(sampleInput))"),
        OptionSpec(name: "repeat", value: "N", help: "passes over the file; the fastest is reported (default 3)"),
        OptionSpec(name: "dir", value: "DIR", help: "folder for the generated text file (default /tmp/sluice-bench/fasttext)"),
        OptionSpec(name: "json", value: nil, help: "print the results as JSON"),
    ])

func runLanguageID(_ args: [String]) throws {
    let o = languageIDCommand.parse(args)
    let models = ProcessInfo.processInfo.environment["SLUICE_MODELS"].map { $0 + "/lid.176.ftz" } ?? "models/lid.176.ftz"
    let model = o.string("model", models)
    guard FileManager.default.fileExists(atPath: model) else {
        throw BenchError(description: "no model at \(model); run scripts/setup-models.sh or pass --model")
    }
    let text = try o.optionalString("text") ?? linesFile(from: o.string("input", sampleInput), dir: o.string("dir", "/tmp/sluice-bench/fasttext"), labelled: false)
    let machine = machineLine()
    let r = try FastTextBenchmark.languageID(modelPath: model, textPath: text, repetitions: o.int("repeat", 3))
    if o.flag("json") {
        printJSON(
            .object([
                "benchmark": .string("language-id"), "model": .string(model), "text": .string(text), "lines": .int(r.lines),
                "bytes": .int(r.bytes), "seconds": .double(r.seconds), "lines_per_s": .double(r.linesPerSecond),
                "mb_per_s": .double(r.megabytesPerSecond), "machine": .string(machine),
            ]))
        return
    }
    print("language ID (fastText predict, top label, one core): \(model) on \(text)")
    print(machine)
    print("\(r.lines) lines, \(formatBytes(r.bytes)) in \(formatFixed(r.seconds, digits: 3)) s (fastest pass): \(formatFixed(r.linesPerSecond, digits: 0)) docs/s, \(formatFixed(r.megabytesPerSecond, digits: 1)) MB/s")
}

// MARK: fastText training

let fastTextTrainCommand = BenchCommand(
    name: "fasttext-train",
    summary: """
        fastText supervised training (`sluice fasttext supervised`): wall seconds for the dictionary,
          initialisation and all epochs, and examples/s and MB/s over all epochs. Compare with official
          fastText: `fasttext supervised -input FILE -output /tmp/m` with the same flags.
        """,
    options: [
        OptionSpec(name: "input", value: "FILE", help: "training file, `__label__X text` a line (default: documents of --documents, labelled by file name)"),
        OptionSpec(name: "documents", value: "GLOB", help: "JSONL(.zst) documents to make the training file from (default \(sampleInput))"),
        OptionSpec(name: "epoch", value: "N", help: "epochs (default 5, as fastText)"),
        OptionSpec(name: "dim", value: "N", help: "vector size (default 100, as fastText)"),
        OptionSpec(name: "word-ngrams", value: "N", help: "word n-grams (default 1, as fastText)"),
        OptionSpec(name: "lr", value: "RATE", help: "learning rate (default 0.1, as fastText)"),
        OptionSpec(name: "threads", value: "N", help: "training threads (default 1, to measure one core; fastText's default is 12)"),
        OptionSpec(name: "dir", value: "DIR", help: "folder for the generated training file (default /tmp/sluice-bench/fasttext)"),
        OptionSpec(name: "json", value: nil, help: "print the results as JSON"),
    ])

func runFastTextTrain(_ args: [String]) throws {
    let o = fastTextTrainCommand.parse(args)
    let input = try o.optionalString("input") ?? linesFile(from: o.string("documents", sampleInput), dir: o.string("dir", "/tmp/sluice-bench/fasttext"), labelled: true)
    var options = FastTextTrainingOptions(input: input)
    options.epoch = o.int("epoch", 5)
    options.dim = o.int("dim", 100)
    options.wordNgrams = o.int("word-ngrams", 1)
    options.lr = o.double("lr", 0.1, in: 1e-6...10)
    options.thread = o.int("threads", 1)
    options.verbose = 0
    let data = try Data(contentsOf: URL(fileURLWithPath: input))
    let lines = data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    let machine = machineLine()
    let (seconds, _) = try FastTextBenchmark.training(options)
    let examples = Double(lines * options.epoch)
    let bytes = data.count * options.epoch
    if o.flag("json") {
        printJSON(
            .object([
                "benchmark": .string("fasttext-train"), "input": .string(input), "lines": .int(lines), "bytes": .int(data.count),
                "epoch": .int(options.epoch), "dim": .int(options.dim), "word_ngrams": .int(options.wordNgrams),
                "threads": .int(options.thread), "seconds": .double(seconds), "examples_per_s": .double(examples / seconds),
                "mb_per_s": .double(Double(bytes) / 1e6 / seconds), "machine": .string(machine),
            ]))
        return
    }
    print("fastText supervised training: \(input) (\(lines) examples, \(formatBytes(data.count))), epoch \(options.epoch), dim \(options.dim), wordNgrams \(options.wordNgrams), \(options.thread) thread(s)")
    print(machine)
    print("\(formatFixed(seconds, digits: 2)) s: \(rate(examples, seconds)) docs/s and \(megabytesPerSecond(bytes, seconds)) MB/s over all epochs")
}

/// Writes the documents of `pattern` one per line (newlines and tabs as spaces), with
/// `__label__FILESTEM ` in front when `labelled`; returns the file's path.
func linesFile(from pattern: String, dir: String, labelled: Bool) throws -> String {
    let docs = try loadDocuments(pattern)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + (labelled ? "/train.txt" : "/lines.txt")
    var out: [UInt8] = []
    for (d, file) in docs {
        if labelled { out += Array("__label__\(file) ".utf8) }
        for b in d.text.utf8 { out.append(b == 0x0A || b == 0x0D || b == 0x09 ? 0x20 : b) }
        out.append(0x0A)
    }
    try writeAtomically(path: path, bytes: out)
    return path
}

// MARK: Heuristic filters

let filtersCommand = BenchCommand(
    name: "filters",
    summary: """
        The Gopher repetition, Gopher quality, C4 and FineWeb quality filters with default settings, on one
          thread: each alone on every document, and the four chained in datatrove's FineWeb order. Thread CPU time,
          the best of --repeat runs: docs/s and MB/s of text.
        """,
    options: [
        OptionSpec(name: "input", value: "GLOB", help: "JSONL(.zst) documents (default \(sampleInput))"),
        OptionSpec(name: "repeat", value: "N", help: "runs per filter; the fastest counts (default 3)"),
        OptionSpec(name: "json", value: nil, help: "print the results as JSON"),
    ])

func runFilters(_ args: [String]) throws {
    let o = filtersCommand.parse(args)
    let input = o.string("input", sampleInput)
    let docs = try loadDocuments(input).map(\.document)
    let machine = machineLine()
    let r = try benchmarkHeuristicFilters(documents: docs, repetitions: o.int("repeat", 3))
    let chainCPU = r.chain.reduce(0) { $0 + $1.cpuSeconds }
    let eachCPU = r.each.reduce(0) { $0 + $1.cpuSeconds }
    if o.flag("json") {
        func rows(_ list: [HeuristicFilterBenchmark.Filter]) -> JSONValue {
            .array(
                list.map { f in
                    .object([
                        "filter": .string(f.name), "received": .int(f.received), "kept": .int(f.kept), "bytes": .int(f.bytes),
                        "cpu_seconds": .double(f.cpuSeconds), "documents_per_s": .double(Double(f.received) / max(1e-9, f.cpuSeconds)),
                        "mb_per_s": .double(f.megabytesPerSecond),
                    ])
                })
        }
        printJSON(
            .object([
                "benchmark": .string("filters"), "input": .string(input), "documents": .int(r.documents), "bytes": .int(r.bytes),
                "each": rows(r.each), "chain": rows(r.chain),
                "chain_documents_per_s": .double(Double(r.documents) / max(1e-9, chainCPU)),
                "chain_mb_per_s": .double(r.chainMegabytesPerSecond), "machine": .string(machine),
            ]))
        return
    }
    print("input: \(input)")
    print(machine)
    print(r.description)
    print("docs/s (one thread): \(rate(Double(r.documents), chainCPU)) through the chain, \(rate(Double(r.documents), eachCPU)) through all four on every document")
}

// MARK: HTML extraction

let webCommand = BenchCommand(
    name: "web",
    summary: """
        HTML main-content extraction (HTMLExtractor, as the warc input uses it) on one thread over a folder of
          pages, decoded to UTF-8 first (not timed): pages/s and MB/s of HTML, wall and thread CPU time, the
          extracted share. Passes over the pages repeat until --seconds have gone by.
        """,
    options: [
        OptionSpec(name: "pages", value: "DIR", help: "folder of *.html / *.htm pages, searched recursively (default Tests/Fixtures/web/pages)"),
        OptionSpec(name: "seconds", value: "S", help: "measure for at least this long (default 3)"),
        OptionSpec(name: "markdown", value: nil, help: "extract Markdown instead of plain text"),
        OptionSpec(name: "json", value: nil, help: "print the results as JSON"),
    ])

func runWeb(_ args: [String]) throws {
    let o = webCommand.parse(args)
    let dir = o.string("pages", "Tests/Fixtures/web/pages")
    let minimum = o.double("seconds", 3, in: 0.01...3600)
    var pages: [[UInt8]] = []
    let decoder = CharsetDecoder()
    let listing = FileManager.default.enumerator(atPath: dir)
    var names: [String] = []
    while let name = listing?.nextObject() as? String {
        if name.hasSuffix(".html") || name.hasSuffix(".htm") { names.append(name) }
    }
    for name in names.sorted() {
        let raw = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
        let decoded = raw.withUnsafeBytes { decoder.decode($0, declared: nil, isHTML: true) }
        pages.append(decoded?.utf8 ?? raw)
    }
    guard !pages.isEmpty else { throw BenchError(description: "no .html pages under \(dir)") }
    var configuration = HTMLExtractor.Configuration()
    configuration.markdown = o.flag("markdown")
    let extractor = HTMLExtractor(configuration: configuration)
    let machine = machineLine()
    let bytesPerPass = pages.reduce(0) { $0 + $1.count }
    var passes = 0
    var extracted = 0
    var textBytes = 0
    let w0 = wallSeconds()
    let c0 = threadCPUSeconds()
    repeat {
        for p in pages {
            let outcome = p.withUnsafeBytes { extractor.extract($0) }
            if passes == 0, case .extracted(let text, _) = outcome {
                extracted += 1
                textBytes += text.utf8.count
            }
        }
        passes += 1
    } while wallSeconds() - w0 < minimum
    let wall = wallSeconds() - w0
    let cpu = threadCPUSeconds() - c0
    let count = pages.count * passes
    let bytes = bytesPerPass * passes
    if o.flag("json") {
        printJSON(
            .object([
                "benchmark": .string("web"), "pages_folder": .string(dir), "pages": .int(pages.count), "passes": .int(passes),
                "html_bytes_per_pass": .int(bytesPerPass), "extracted": .int(extracted), "text_bytes_per_pass": .int(textBytes),
                "seconds": .double(wall), "cpu_seconds": .double(cpu), "pages_per_s": .double(Double(count) / wall),
                "mb_per_s": .double(Double(bytes) / 1e6 / wall), "pages_per_cpu_s": .double(Double(count) / cpu),
                "mb_per_cpu_s": .double(Double(bytes) / 1e6 / cpu), "machine": .string(machine),
            ]))
        return
    }
    print("HTML extraction (\(configuration.markdown ? "Markdown" : "plain text"), one thread): \(pages.count) pages, \(formatBytes(bytesPerPass)) of HTML in \(dir); \(extracted) with main content (\(formatBytes(textBytes)) of text)")
    print(machine)
    print("\(passes) passes in \(formatFixed(wall, digits: 2)) s (\(formatFixed(cpu, digits: 2)) s thread CPU): \(rate(Double(count), wall)) docs/s, \(megabytesPerSecond(bytes, wall)) MB/s wall; \(rate(Double(count), cpu)) docs/s, \(megabytesPerSecond(bytes, cpu)) MB/s per CPU second")
}
