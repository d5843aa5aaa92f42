import ArgumentParser
import Foundation
import SluiceCore
import SluiceLLM
import SluicePipeline
import SluiceQuality

/// `sluice annotate`: the LLM-judge step of the quality loop.
struct Annotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a deterministic sample of documents with an LLM judge and write labelled JSONL for `sluice quality train`.",
        discussion: """
            Reads JSONL documents (plain, .gz or .zst; files, globs, folders, or a Sluice output \
            folder), draws the --sample documents with the smallest XXH64(id, --seed) (the same \
            sample on every machine and rerun; samples of different sizes nest), sends the first \
            --max-chars characters of each to an OpenAI-compatible endpoint with a rubric, reads \
            the score from each reply and writes one JSON line per scored document: id, score, \
            text (what was sent; --text full or none), source {file, line}, characters, rubric, \
            the rubric's threshold, model, and with --include-reply the reply. Replies without a readable score (and \
            requests that failed after their retries) go to OUTPUT.unparseable.jsonl with the \
            reply and the reason, and are counted in the summary.

            The built-in rubric, educational_value, asks for an additive 0-to-5 educational \
            score stated as "Educational score: N". Your own rubric is a YAML file with name, \
            version, system, prompt (with {{text}}), min, max, integer, statement (the phrase \
            before the score) and threshold (the cut-off sluice quality train uses by default); \
            see Sources/SluiceQuality/Rubric.swift.

            The endpoint comes from --endpoint FILE (a YAML mapping with the keys of a stage's \
            endpoint block, or a file whose top-level `endpoint:` key holds them) and/or the \
            flags, which win. Replies are cached in --cache-dir, so an interrupted run, or a \
            rerun with a larger sample, only asks for what it does not have. Progress goes to \
            standard error. Exit status 1 when the endpoint cannot be used or nothing was scored.
            """)

    @Argument(help: ArgumentHelp("JSONL inputs: files, globs, folders or a Sluice output folder.", valueName: "input"))
    var inputs: [String]

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The labelled JSONL to write (.jsonl, or .jsonl.zst to compress).", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("How many documents to annotate.", valueName: "n"))
    var sample: Int = 1000

    @Option(help: ArgumentHelp("Seed of the sample (another seed draws an independent sample).", valueName: "n"))
    var seed: Int = 0

    @Option(name: .customLong("max-chars"), help: ArgumentHelp("Characters of each document sent to the judge (FineWeb-Edu used 1000).", valueName: "n"))
    var maxChars: Int = 1000

    @Option(help: ArgumentHelp("Built-in rubric name (educational_value) or a rubric YAML file.", valueName: "name|file"))
    var rubric: String = "educational_value"

    @Option(help: ArgumentHelp("YAML file with the endpoint settings (base_url, model, api_key_env, ...), or with an endpoint: block.", valueName: "file"))
    var endpoint: String?

    @Option(name: .customLong("base-url"), help: ArgumentHelp("The server's URL up to and including /v1.", valueName: "url"))
    var baseURL: String?

    @Option(help: ArgumentHelp("The model name the server serves.", valueName: "name"))
    var model: String?

    @Option(name: .customLong("api-key-env"), help: ArgumentHelp("Name of the environment variable holding the API key.", valueName: "VAR"))
    var apiKeyEnv: String?

    @Option(help: ArgumentHelp("chat or completions.", valueName: "api"))
    var api: String?

    @Option(help: ArgumentHelp("Requests in flight at once (endpoint max_in_flight).", valueName: "n"))
    var concurrency: Int?

    @Option(name: .customLong("requests-per-minute"), help: ArgumentHelp("Start at most this many requests per minute.", valueName: "n"))
    var requestsPerMinute: Double?

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds per request (endpoint timeout_s).", valueName: "s"))
    var timeout: Double?

    @Option(name: .customLong("max-retries"), help: ArgumentHelp("Retries per request (endpoint max_retries).", valueName: "n"))
    var maxRetries: Int?

    @Option(name: .customLong("ready-timeout"), help: ArgumentHelp("Seconds to wait for the server to be ready (endpoint ready_timeout_s).", valueName: "s"))
    var readyTimeout: Double?

    @Option(help: ArgumentHelp("What each record's text is: prefix (what was sent), full (the whole document) or none.", valueName: "prefix|full|none"))
    var text: String = "prefix"

    @Flag(name: .customLong("include-reply"), help: "Write each judge's reply into its record.")
    var includeReply = false

    @Option(name: .customLong("cache-dir"), help: ArgumentHelp("Folder of the response cache.", valueName: "dir"))
    var cacheDir: String = ".sluice-cache/annotate"

    @Flag(name: .customLong("no-cache"), help: "Do not read or write the response cache.")
    var noCache = false

    @Option(help: ArgumentHelp("Where unparseable replies go (default: OUTPUT.unparseable.jsonl).", valueName: "file"))
    var unparseable: String?

    @Flag(help: "Print the summary as JSON on standard output.")
    var json = false

    func validate() throws {
        if sample < 1 { throw ValidationError("--sample must be at least 1") }
        if maxChars < 1 { throw ValidationError("--max-chars must be at least 1") }
        if let c = concurrency, c < 1 { throw ValidationError("--concurrency must be at least 1") }
        if Annotator.TextField(rawValue: text) == nil { throw ValidationError("--text must be prefix, full or none") }
        if endpoint == nil && (baseURL == nil || model == nil) {
            throw ValidationError("give the endpoint: --base-url URL --model NAME, or --endpoint FILE.yaml")
        }
    }

    func run() throws {
        let options: Annotator.Options
        do {
            options = try makeOptions()
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.usage
        }
        let log: (String) -> Void = { FileHandle.standardError.write(Data("sluice annotate: \($0)\n".utf8)) }
        let summary: Annotator.Summary
        do {
            summary = try Annotator.run(options, log: log)
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.failed
        }
        if json {
            print(String(decoding: encodeJSONText(summary.json), as: UTF8.self))
        } else {
            print(summary.render(output: options.output, unparseablePath: options.unparseablePath))
        }
        if summary.sampled > 0 && summary.scored == 0 {
            FileHandle.standardError.write(Data("sluice: error: no reply had a readable score; see \(options.unparseablePath)\n".utf8))
            throw Exit.failed
        }
    }

    func makeOptions() throws -> Annotator.Options {
        var ep: LLMEndpoint
        if let endpoint {
            ep = try loadEndpoint(endpoint)
            if let baseURL { ep.baseURL = baseURL }
            if let model { ep.model = model }
        } else {
            ep = LLMEndpoint(baseURL: baseURL!, model: model!)
        }
        if let apiKeyEnv { ep.apiKeyEnv = apiKeyEnv }
        if let api {
            guard let a = LLMEndpoint.API(rawValue: api) else { throw ValidationError("--api must be chat or completions") }
            ep.api = a
        }
        if let concurrency { ep.maxInFlight = concurrency }
        if let requestsPerMinute { ep.requestsPerMinute = requestsPerMinute }
        if let timeout { ep.timeoutSeconds = timeout }
        if let maxRetries { ep.maxRetries = maxRetries }
        if let readyTimeout { ep.readyTimeoutSeconds = readyTimeout }
        try ep.validate()
        return Annotator.Options(
            inputs: inputs, output: output, rubric: try loadRubric(rubric), endpoint: ep, sampleSize: sample,
            seed: UInt64(bitPattern: Int64(seed)), maxChars: maxChars, text: Annotator.TextField(rawValue: text)!, includeReply: includeReply,
            cacheDirectory: noCache ? nil : cacheDir, unparseableOutput: unparseable)
    }
}

/// Reads an endpoint block from YAML: the whole mapping, or its `endpoint:` key.
func loadEndpoint(_ path: String) throws -> LLMEndpoint {
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the endpoint file \(path)") }
    guard let node = try YAMLNode.parse(String(decoding: data, as: UTF8.self), source: path), case .mapping(let m) = node else {
        throw ValidationError("\(path) must be a YAML mapping with base_url and model (or an endpoint: block)")
    }
    if let inner = m.entry(for: "endpoint")?.value {
        return try YAMLNodeDecoder(context: "'endpoint' of \(path)", options: LLMEndpoint.options).decode(LLMEndpoint.self, from: inner)
    }
    return try YAMLNodeDecoder(context: "the endpoint file \(path)", options: LLMEndpoint.options).decode(LLMEndpoint.self, from: node)
}

/// A built-in rubric by name, or a rubric YAML file.
func loadRubric(_ nameOrPath: String) throws -> Rubric {
    if let r = Rubric.builtIn.first(where: { $0.name == nameOrPath }) { return r }
    guard let data = FileManager.default.contents(atPath: nameOrPath) else {
        throw ValidationError(
            "--rubric \(nameOrPath) is neither a built-in rubric (\(Rubric.builtIn.map(\.name).joined(separator: ", "))) nor a readable YAML file")
    }
    guard let node = try YAMLNode.parse(String(decoding: data, as: UTF8.self), source: nameOrPath) else {
        throw ValidationError("the rubric file \(nameOrPath) is empty")
    }
    return try YAMLNodeDecoder(context: "the rubric \(nameOrPath)").decode(Rubric.self, from: node)
}

/// Pretty JSON text of a value (for summaries).
func encodeJSONText(_ v: JSONValue) -> [UInt8] {
    Array(renderJSON(v).utf8)
}
