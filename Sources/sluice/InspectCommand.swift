import ArgumentParser
import Foundation
import SluicePipeline
import SluiceStats

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show documents from a shard or an output folder, readably or as stored.",
        discussion: """
            Documents are printed with their fields and metadata first and the text wrapped, control \
            characters shown as symbols. --where takes KEY=VALUE, KEY!=VALUE, KEY>N, KEY>=N, KEY<N, \
            KEY<=N, KEY~TEXT (contains), KEY!~TEXT and KEY? (exists); KEY is source, id, added, \
            created, a metadata path (language, quality.fasttext, metadata.url) or text.characters, \
            text.words, text.lines, text.bytes. Repeat --where to require several. \
            --dropped REASON shows what a rule removed, from _rejected/: a reason \
            (too_few_words), STAGE:REASON, a stage id, or all.

            Examples:
              sluice inspect out/quickstart --where language=de --limit 3
              sluice inspect out/quickstart --where 'quality.fasttext>0.5' --sample 20
              sluice inspect out/quickstart --dropped too_few_words
              sluice inspect out/quickstart/00000_0000.jsonl.zst --json | jq .id
            """)

    @Argument(help: "A shard file (.jsonl, .jsonl.zst, .jsonl.gz) or the output folder of a run.")
    var path: String

    @Option(help: ArgumentHelp("Show at most N documents (default 10, or all with --json).", valueName: "n"))
    var limit: Int?

    @Option(name: .customLong("where"), help: ArgumentHelp("Keep documents where the condition holds (repeatable).", valueName: "condition"))
    var conditions: [String] = []

    @Option(help: ArgumentHelp("Show a deterministic sample of N matching documents.", valueName: "n"))
    var sample: Int?

    @Option(help: ArgumentHelp("Seed of --sample.", valueName: "seed"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Show the document with this id.", valueName: "id"))
    var id: String?

    @Flag(help: "Print the JSON lines exactly as stored, one per line.")
    var json = false

    @Option(help: ArgumentHelp("Show documents dropped for REASON, read from _rejected/.", valueName: "reason"))
    var dropped: String?

    @Option(help: ArgumentHelp("Wrap text at this many columns (default: the terminal's, or 100).", valueName: "n"))
    var width: Int?

    @Option(name: .customLong("max-chars"), help: ArgumentHelp("Characters of text shown per document; 0 shows all.", valueName: "n"))
    var maxChars: Int = 2000

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more") }
        if let sample, sample < 0 { throw ValidationError("--sample must be 0 or more") }
        if maxChars < 0 { throw ValidationError("--max-chars must be 0 or more") }
    }

    func run() throws {
        var options = InspectOptions()
        do {
            options.conditions = try conditions.map { try DocumentCondition(parsing: $0) }
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.usage
        }
        options.limit = limit ?? (json || sample != nil ? nil : 10)
        options.sample = sample
        options.seed = seed
        options.id = id
        options.json = json
        options.droppedReason = dropped
        options.maxCharacters = maxChars
        let columns = Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "") ?? 100
        options.width = width ?? min(max(columns, 40), 160)
        do {
            let files = try inspectionFiles(path: path, dropped: dropped)
            let out = FileHandle.standardOutput
            let result = try inspectDocuments(files: files, options: options) { out.write(Data($0.utf8)) }
            if !json {
                var line = "\(result.shown) document\(result.shown == 1 ? "" : "s") shown"
                if result.stoppedEarly {
                    line += "; more match (--limit N shows more)"
                } else {
                    line += " of \(result.matched) matching, from \(result.linesRead) lines in \(result.filesRead) file\(result.filesRead == 1 ? "" : "s")"
                }
                if result.invalidLines > 0 { line += "; \(result.invalidLines) lines are not documents" }
                print(line)
            }
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.failed
        }
    }
}
