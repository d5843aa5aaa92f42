import ArgumentParser
import Foundation
import SluiceCore
import SluiceIO
import SluiceLM

/// `sluice lm …`: n-gram language models (KenLM's ARPA format) for perplexity scoring.
struct LMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Train n-gram language models (modified Kneser-Ney, ARPA) and score perplexity as CCNet does.",
        discussion: """
            Models are ARPA text, the format KenLM's lmplz writes and reads; .gz and .zst files \
            are read and written compressed. Scoring follows KenLM's back-off exactly; document \
            perplexity is CCNet's: every line of a document is a sentence (<s> … </s>) and \
            pp = 10^(-Σ log10 P(line) / Σ (words(line) + 1)).
            Words: split on whitespace, no SentencePiece (CCNet runs SentencePiece before KenLM; \
            Sluice does not). With --normalize ccnet, lines are first lowercased, stripped of \
            accents, digits set to 0 and Unicode punctuation mapped to ASCII, as CCNet's \
            text_normalizer does; train and score with the same setting.
            """,
        subcommands: [Train.self, Score.self, Bench.self])

    /// How input files are read.
    enum InputFormat: String, ExpressibleByArgument, CaseIterable {
        case auto, text, jsonl
    }

    /// The input files: `-` is standard input, anything else goes through InputListing.
    static func listInputs(_ patterns: [String]) throws -> [String] {
        var files: [String] = []
        var rest: [String] = []
        for p in patterns { if p == "-" { files.append("/dev/stdin") } else { rest.append(p) } }
        if !rest.isEmpty { files += try InputListing.list(patterns: rest) }
        return files
    }

    static func isJSONL(_ path: String, _ format: InputFormat) -> Bool {
        switch format {
        case .text: return false
        case .jsonl: return true
        case .auto:
            var name = path.lowercased()
            for ext in [".gz", ".gzip", ".zst", ".zstd"] where name.hasSuffix(ext) { name.removeLast(ext.count) }
            return name.hasSuffix(".jsonl") || name.hasSuffix(".json") || name.hasSuffix(".ndjson")
        }
    }

    /// Calls `body` with every line of a (possibly compressed) file.
    static func forEachLine(_ path: String, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        let reader = try LineBatchReader(path: path, maxLineBytes: 1 << 30)
        while let batch = try reader.next() {
            for i in 0..<batch.count {
                try batch.withLine(i) { try body($0, batch.lineNumbers[i]) }
            }
            if let damage = batch.damage { throw ValidationError("\(path): \(damage)") }
        }
        if let damage = reader.damage { throw ValidationError("\(path): \(damage)") }
    }

    /// Calls `body` with the id and text of every JSONL document; counts lines that are not documents.
    static func forEachDocument(
        _ path: String, textKey: String, _ body: (String, UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws -> Int {
        var parser = DocumentLineParser(mapping: DocumentFieldMapping(textKey: textKey))
        var invalid = 0
        var firstProblem: String?
        try forEachLine(path) { line, number in
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { return }
            switch parser.parse(line) {
            case .document(let doc):
                var text = doc.text
                let id = doc.id.isEmpty ? "\(path):\(number)" : doc.id
                try text.withUTF8 { try body(id, $0) }
            case .invalid(let reason, let message):
                invalid += 1
                if firstProblem == nil { firstProblem = "\(path):\(number): \(reason): \(message)" }
            }
        }
        if let firstProblem {
            FileHandle.standardError.write(Data("sluice lm: skipped \(invalid) line(s) that are not documents; first: \(firstProblem)\n".utf8))
        }
        return invalid
    }

    static func loadModel(_ path: String) throws -> NGramModel {
        let source = try ByteSource(path: path)
        defer { source.close() }
        let model = try NGramModel(name: path) { try source.read(into: $0) }
        for w in model.warnings { FileHandle.standardError.write(Data("sluice lm: warning: \(w)\n".utf8)) }
        return model
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

extension PerplexityNormalization: ExpressibleByArgument {}

extension LMCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a modified Kneser-Ney n-gram model from a reference corpus and write it as ARPA.",
            discussion: """
                Estimates the model as KenLM's lmplz does (interpolated modified Kneser-Ney, three \
                discounts per order from counts of counts, continuation counts for lower orders, \
                unigrams interpolated with the uniform distribution), in memory. Each line of a text \
                file is a sentence; in JSONL every line of a document's text is one (empty lines \
                included, as perplexity scoring reads them). The tokens <s>, </s> and <unk> in the text \
                are skipped. A summary goes to standard error.
                Example: sluice lm train SampleData/prose.jsonl.zst --order 5 --normalize ccnet -o prose.arpa
                """)

        @Argument(help: ArgumentHelp("Corpus files, directories or globs (- for standard input): plain text (one sentence a line) or JSONL documents; .gz and .zst are read.", valueName: "input"))
        var inputs: [String]

        @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the ARPA model; a .gz or .zst name writes it compressed.", valueName: "model.arpa"))
        var output: String

        @Option(help: ArgumentHelp("The n-gram order, 1 to 6 (CCNet uses 5).", valueName: "n"))
        var order: Int = 3

        @Option(help: ArgumentHelp("Normalise lines before counting: none, or ccnet (CCNet's text_normalizer). Score with the same.", valueName: "none|ccnet"))
        var normalize: PerplexityNormalization = .none

        @Option(help: ArgumentHelp("How to read inputs: auto (JSONL for .jsonl/.json/.ndjson names, else text), text or jsonl.", valueName: "format"))
        var format: InputFormat = .auto

        @Option(help: ArgumentHelp("The JSONL field holding the text.", valueName: "key"))
        var textKey: String = "text"

        @Flag(help: "When an order's discounts cannot be estimated (tiny or artificial corpora), use fixed discounts D1 D2 D3+ = 0.5 1 1.5 instead of failing (lmplz --discount_fallback).")
        var discountFallback = false

        @Option(
            parsing: .upToNextOption,
            help: ArgumentHelp("Fixed discounts D1 D2 D3+ for --discount-fallback (implies it), with 0 <= Dk <= k.", valueName: "d"))
        var fallbackDiscounts: [Float] = []

        func validate() throws {
            if !(1...6).contains(order) { throw ValidationError("--order must be 1 to 6") }
            if !fallbackDiscounts.isEmpty && fallbackDiscounts.count != 3 {
                throw ValidationError("--fallback-discounts takes three values D1 D2 D3+, e.g. 0.5 1 1.5")
            }
        }

        func run() throws {
            let start = ContinuousClock.now
            let files = try LMCommand.listInputs(inputs)
            let fallback = !fallbackDiscounts.isEmpty ? fallbackDiscounts : (discountFallback ? KneserNeyOptions.lmplzFallback : nil)
            let trainer: KneserNeyTrainer
            do {
                trainer = try KneserNeyTrainer(options: KneserNeyOptions(order: order, normalization: normalize, discountFallback: fallback))
            } catch let e as LMTrainingError {
                throw ValidationError(e.message)
            }
            var documents = 0
            for file in files {
                if LMCommand.isJSONL(file, format) {
                    _ = try LMCommand.forEachDocument(file, textKey: textKey) { _, text in
                        trainer.addDocument(text)
                        documents += 1
                    }
                } else {
                    try LMCommand.forEachLine(file) { line, _ in trainer.addLine(line) }
                }
            }
            let model: ARPAModelData
            do {
                model = try trainer.estimate()
            } catch let e as LMTrainingError {
                throw ValidationError(e.message)
            }
            var bytes = ARPAWriter.bytes(model)
            switch CompressionFormat.fromExtension(of: output) {
            case .zstd: bytes = try ZstdCompressor.compress(bytes, level: 9)
            case .gzip: bytes = try GzipCompressor.compress(bytes)
            default: break
            }
            try writeAtomically(path: output, bytes: bytes)
            var summary = "sluice lm train: \(files.count) file(s)"
            if documents > 0 { summary += ", \(documents) documents" }
            summary += ", \(trainer.sentences) sentences, \(trainer.tokens) words, vocabulary \(model.vocabulary.count)\n"
            for n in 1...order {
                let d = model.discounts[n - 1].map { String(format: "%.4f", $0) }.joined(separator: " ")
                let fb = model.fallbackDiscountOrders.contains(n) ? " (fallback)" : ""
                summary += "  \(n)-grams: \(model.counts[n - 1]), discounts D1 D2 D3+ = \(d)\(fb)\n"
            }
            if trainer.skippedSymbols > 0 {
                summary += "  skipped \(trainer.skippedSymbols) <s>, </s> or <unk> token(s) found in the text\n"
            }
            summary += "  wrote \(output) (\(bytes.count) bytes) in \(String(format: "%.2f", LMCommand.seconds(since: start))) s\n"
            FileHandle.standardError.write(Data(summary.utf8))
        }
    }

    struct Score: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the perplexity of every document (JSONL) or line (text) under an ARPA model.",
            discussion: """
                Output, one row per document: ID<TAB>PERPLEXITY (text files: FILE:LINE as the id, \
                each line a document). --json prints {"id", "perplexity", "log10_prob", "length", \
                "lines", "oovs"} instead. --lines prints every scored line of every document: \
                ID<TAB>LOG10PROB<TAB>WORDS<TAB>OOVS<TAB>LINE (the line after normalisation), with \
                LOG10PROB exactly as KenLM's Python Model.score(line) gives it. Empty documents get \
                no perplexity ("nan"). A summary goes to standard error.
                Example: sluice lm score prose.arpa SampleData/manpages.jsonl.zst --normalize ccnet
                """)

        @Argument(help: ArgumentHelp("The ARPA model (.arpa, .arpa.gz or .arpa.zst).", valueName: "model"))
        var model: String

        @Argument(help: ArgumentHelp("Files, directories or globs to score (- for standard input): JSONL documents or text lines; .gz and .zst are read.", valueName: "input"))
        var inputs: [String]

        @Option(help: ArgumentHelp("Normalise lines before scoring: none, or ccnet (CCNet's text_normalizer). Use what the model was trained with.", valueName: "none|ccnet"))
        var normalize: PerplexityNormalization = .none

        @Option(help: ArgumentHelp("How to read inputs: auto (JSONL for .jsonl/.json/.ndjson names, else text), text or jsonl.", valueName: "format"))
        var format: InputFormat = .auto

        @Option(help: ArgumentHelp("The JSONL field holding the text.", valueName: "key"))
        var textKey: String = "text"

        @Flag(help: "Print one JSON object per document instead of ID<TAB>PERPLEXITY.")
        var json = false

        @Flag(help: "Print every line's log10 probability, word count and OOVs instead of document perplexities.")
        var lines = false

        func run() throws {
            let start = ContinuousClock.now
            let files = try LMCommand.listInputs(inputs)
            let model: NGramModel
            do {
                model = try LMCommand.loadModel(self.model)
            } catch let e as ARPAFormatError {
                throw ValidationError(e.description)
            }
            let loaded = LMCommand.seconds(since: start)
            var out: [UInt8] = []
            out.reserveCapacity(1 << 16)
            var scratch = LMScratch()
            var total = DocumentScore()
            var documents = 0
            var bytes = 0
            let scoreStart = ContinuousClock.now
            func flush(force: Bool = false) {
                if force || out.count >= 1 << 16 {
                    FileHandle.standardOutput.write(Data(out))
                    out.removeAll(keepingCapacity: true)
                }
            }
            func emit(_ id: String, _ text: UnsafeBufferPointer<UInt8>) {
                documents += 1
                bytes += text.count
                if lines {
                    emitLines(id, text, model: model, scratch: &scratch, total: &total)
                } else {
                    let s = model.documentScore(text, normalization: normalize, scratch: &scratch)
                    total.log10Probability += s.log10Probability
                    total.length += s.length
                    total.lines += s.lines
                    total.oovs += s.oovs
                    let pp = text.count == 0 ? Double.nan : s.perplexity
                    if json {
                        var line = "{\"id\":"
                        line += jsonString(id)
                        line += ",\"perplexity\":\(pp.isFinite ? String(pp) : "null"),\"log10_prob\":\(s.log10Probability),"
                        line += "\"length\":\(s.length),\"lines\":\(s.lines),\"oovs\":\(s.oovs)}\n"
                        out.append(contentsOf: line.utf8)
                    } else {
                        out.append(contentsOf: "\(id)\t\(pp.isFinite ? String(pp) : "nan")\n".utf8)
                    }
                }
                flush()
            }
            for file in files {
                if LMCommand.isJSONL(file, format) {
                    _ = try LMCommand.forEachDocument(file, textKey: textKey) { id, text in emit(id, text) }
                } else {
                    try LMCommand.forEachLine(file) { line, number in emit("\(file):\(number)", line) }
                }
            }
            flush(force: true)
            let elapsed = LMCommand.seconds(since: scoreStart)
            var summary = "sluice lm score: \(documents) documents, \(total.lines) lines, order-\(model.order) model loaded in "
            summary += String(format: "%.2f s; corpus perplexity %.2f, OOV rate %.2f%%; %.0f documents/s, %.1f MB/s\n",
                loaded, total.perplexity, total.length > total.lines ? 100 * Double(total.oovs) / Double(total.length - total.lines) : 0,
                Double(documents) / max(elapsed, 1e-9), Double(bytes) / 1e6 / max(elapsed, 1e-9))
            FileHandle.standardError.write(Data(summary.utf8))
        }

        private func emitLines(_ id: String, _ text: UnsafeBufferPointer<UInt8>, model: NGramModel, scratch: inout LMScratch, total: inout DocumentScore) {
            var rows = ""
            let all = Array(text)
            var start = 0
            while true {
                var end = start
                while end < all.count && all[end] != 10 { end += 1 }
                var line = Array(all[start..<end])
                if normalize == .ccnet { line = CCNetNormalizer.normalize(line) }
                let s = line.withUnsafeBufferPointer { model.lineScore($0, scratch: &scratch) }
                total.log10Probability += s.log10Probability
                total.length += s.length
                total.lines += 1
                total.oovs += s.oovs
                rows += "\(id)\t\(Float(s.log10Probability))\t\(s.length - 1)\t\(s.oovs)\t\(String(decoding: line, as: UTF8.self))\n"
                if end >= all.count { break }
                start = end + 1
            }
            FileHandle.standardOutput.write(Data(rows.utf8))
        }
    }
}

extension LMCommand {
    /// Throughput of document perplexity on one core (``LMBenchmark``).
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure document perplexity throughput on one core (documents of about 2 KB).",
            discussion: """
                Trains an order-N model on the reference files (or loads --model), cuts the documents' \
                texts into documents of about --bytes bytes, scores them --repetitions times on one \
                thread and prints the fastest pass. Build with -c release for meaningful numbers.
                Example: sluice lm bench --reference SampleData/prose.jsonl.zst --documents SampleData/manpages.jsonl.zst
                """,
            shouldDisplay: false)

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Reference corpus to train on (JSONL or text).", valueName: "file"))
        var reference: [String] = []

        @Option(help: ArgumentHelp("Score with this ARPA model instead of training one.", valueName: "model"))
        var model: String?

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Texts to cut into documents and score (JSONL or text).", valueName: "file"))
        var documents: [String]

        @Option(help: ArgumentHelp("The order of the model trained.", valueName: "n"))
        var order: Int = 5

        @Option(help: ArgumentHelp("none or ccnet, for training and scoring.", valueName: "none|ccnet"))
        var normalize: PerplexityNormalization = .ccnet

        @Option(help: ArgumentHelp("Bytes per document.", valueName: "n"))
        var bytes: Int = 2000

        @Option(help: ArgumentHelp("Scoring passes; the fastest is reported.", valueName: "n"))
        var repetitions: Int = 3

        @Option(help: ArgumentHelp("Threads scoring at once, sharing one model.", valueName: "n"))
        var workers: Int = 1

        func validate() throws {
            if model == nil && reference.isEmpty { throw ValidationError("give --reference files to train on, or --model") }
        }

        static func texts(_ patterns: [String]) throws -> [[UInt8]] {
            var texts: [[UInt8]] = []
            for file in try LMCommand.listInputs(patterns) {
                if LMCommand.isJSONL(file, .auto) {
                    _ = try LMCommand.forEachDocument(file, textKey: "text") { _, t in texts.append(Array(t)) }
                } else {
                    var all: [UInt8] = []
                    try LMCommand.forEachLine(file) { line, _ in
                        all.append(contentsOf: line)
                        all.append(10)
                    }
                    texts.append(all)
                }
            }
            return texts
        }

        func run() throws {
            let docs = LMBenchmark.documents(from: try Self.texts(documents), bytesPerDocument: bytes)
            let result: LMBenchmark.Result
            if let model {
                result = LMBenchmark.run(
                    model: try LMCommand.loadModel(model), documents: docs, normalization: normalize, repetitions: repetitions, workers: workers)
            } else {
                result = try LMBenchmark.run(
                    reference: try Self.texts(reference), documents: docs, order: order, normalization: normalize, repetitions: repetitions,
                    workers: workers)
            }
            print(result)
        }
    }
}

/// A JSON string literal.
private func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
