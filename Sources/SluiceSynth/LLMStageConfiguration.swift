import SluiceCore
import SluiceLLM

/// What a stage does with a generated text.
public enum GenerationMode: String, Decodable, Sendable {
    /// The document's text becomes the generated text.
    case replace
    /// The generated text is added after the document's text.
    case append
    /// Each prompt's output becomes a new document beside (or instead of) the source.
    case emit
}

/// What happens to a document whose generation failed (a request failed after its retries,
/// or a reply was rejected) in `replace` and `append` modes.
public enum FailurePolicy: String, Decodable, Sendable {
    /// Drop it, with the failure as the drop reason.
    case drop
    /// Keep it unchanged, with the failure in its provenance metadata.
    case keep
}

/// One prompt name or a list of them (a route's target).
public struct PromptNames: Decodable, Sendable, Equatable {
    public var names: [String]

    public init(_ names: [String]) { self.names = names }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let one = try? c.decode(String.self) {
            names = [one]
        } else {
            names = try c.decode([String].self)
        }
    }
}

/// The options of `llm_rewrite` and `llm_synthesize` (the same keys; their defaults differ).
public struct LLMStageConfiguration: Decodable, Sendable {
    public var endpoint: LLMEndpoint
    public var prompt: String?
    public var prompts: [PromptTemplate]?
    public var routeBy: String?
    public var routes: [String: PromptNames]?
    public var defaultRoute: PromptNames?
    public var mode: GenerationMode?
    public var keepOriginal: Bool?
    public var appendSeparator: String?
    public var sampling: SamplingParameters?
    public var maxSegmentTokens: Int?
    public var bytesPerToken: Double?
    public var minInputTokens: Int?
    public var minOutputTokens: Int?
    public var maxOutputTokens: Int?
    public var requirePrefix: Bool?
    public var onFailure: FailurePolicy?
    public var skipBadRequests: Bool?
    public var cache: Bool?
    public var cacheDir: String?
    public var dryRun: Bool?
    public var metadataKey: String?
    public var titleField: String?
    public var languageField: String?
    public var defaultLanguage: String?
    public var variables: [String: String]?

    enum CodingKeys: String, CodingKey {
        case endpoint, prompt, prompts, routeBy = "route_by", routes, defaultRoute = "default_route", mode
        case keepOriginal = "keep_original", appendSeparator = "append_separator", sampling
        case maxSegmentTokens = "max_segment_tokens", bytesPerToken = "bytes_per_token"
        case minInputTokens = "min_input_tokens", minOutputTokens = "min_output_tokens"
        case maxOutputTokens = "max_output_tokens", requirePrefix = "require_prefix", onFailure = "on_failure"
        case skipBadRequests = "skip_bad_requests", cache, cacheDir = "cache_dir", dryRun = "dry_run"
        case metadataKey = "metadata_key", titleField = "title_field", languageField = "language_field"
        case defaultLanguage = "default_language", variables
    }

    public init(endpoint: LLMEndpoint) { self.endpoint = endpoint }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        endpoint = try c.decode(LLMEndpoint.self, forKey: .endpoint)
        prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        prompts = try c.decodeIfPresent([PromptTemplate].self, forKey: .prompts)
        routeBy = try c.decodeIfPresent(String.self, forKey: .routeBy)
        routes = try c.decodeIfPresent([String: PromptNames].self, forKey: .routes)
        defaultRoute = try c.decodeIfPresent(PromptNames.self, forKey: .defaultRoute)
        mode = try c.decodeIfPresent(GenerationMode.self, forKey: .mode)
        keepOriginal = try c.decodeIfPresent(Bool.self, forKey: .keepOriginal)
        appendSeparator = try c.decodeIfPresent(String.self, forKey: .appendSeparator)
        sampling = try c.decodeIfPresent(SamplingParameters.self, forKey: .sampling)
        maxSegmentTokens = try c.decodeIfPresent(Int.self, forKey: .maxSegmentTokens)
        bytesPerToken = try c.decodeIfPresent(Double.self, forKey: .bytesPerToken)
        minInputTokens = try c.decodeIfPresent(Int.self, forKey: .minInputTokens)
        minOutputTokens = try c.decodeIfPresent(Int.self, forKey: .minOutputTokens)
        maxOutputTokens = try c.decodeIfPresent(Int.self, forKey: .maxOutputTokens)
        requirePrefix = try c.decodeIfPresent(Bool.self, forKey: .requirePrefix)
        onFailure = try c.decodeIfPresent(FailurePolicy.self, forKey: .onFailure)
        skipBadRequests = try c.decodeIfPresent(Bool.self, forKey: .skipBadRequests)
        cache = try c.decodeIfPresent(Bool.self, forKey: .cache)
        cacheDir = try c.decodeIfPresent(String.self, forKey: .cacheDir)
        dryRun = try c.decodeIfPresent(Bool.self, forKey: .dryRun)
        metadataKey = try c.decodeIfPresent(String.self, forKey: .metadataKey)
        titleField = try c.decodeIfPresent(String.self, forKey: .titleField)
        languageField = try c.decodeIfPresent(String.self, forKey: .languageField)
        defaultLanguage = try c.decodeIfPresent(String.self, forKey: .defaultLanguage)
        variables = try c.decodeIfPresent([String: String].self, forKey: .variables)
    }

    /// The options list for `sluice list-stages`, with the stage's own defaults.
    static func options(defaultPrompt: String, defaultMode: GenerationMode) -> [StageOption] {
        [
            StageOption(
                "endpoint", "mapping",
                help: "The server: base_url (up to and including /v1), model, api_key_env, api, timeout_s, max_in_flight, requests_per_minute, tokens_per_minute, max_retries, backoff_initial_s, backoff_max_s, ready_timeout_s, max_consecutive_failures, headers."),
            StageOption(
                "prompt", "string", default: defaultPrompt,
                help: "The prompt for every document when there is no route_by. Built in: "
                    + PromptLibrary.builtIn.map(\.name).joined(separator: ", ") + "; or a name from prompts."),
            StageOption(
                "prompts", "[mapping]", default: "[]",
                help: "Your own prompts: name, version, system, template (with {{text}}, {{title}}, {{language}}, {{metadata.path}}), prefix, sampling, max_segment_tokens. A built-in name is replaced."),
            StageOption("route_by", "string", default: "null", help: "Choose the prompt by this metadata path (e.g. quality.bucket); needs routes."),
            StageOption("routes", "mapping", default: "null", help: "Metadata value → prompt name (or a list of names, for mode emit)."),
            StageOption("default_route", "string or [string]", default: "null", help: "Prompt(s) for documents whose route_by value has no route; null leaves them unchanged."),
            StageOption("mode", "string", default: defaultMode.rawValue, help: "replace the text, append to it, or emit new documents (one per prompt)."),
            StageOption("keep_original", "bool", default: "true", help: "mode emit: keep each source document in the output beside its synthetic ones."),
            StageOption("append_separator", "string", default: "\"\\n\\n\"", help: "mode append: text between the original and the generated text."),
            StageOption("sampling", "mapping", default: "{temperature: 0.5, top_p: 0.9}", help: "temperature, top_p, max_tokens, seed, stop, presence_penalty, frequency_penalty, extra; a prompt's own sampling overrides these."),
            StageOption("max_segment_tokens", "int", default: "null", help: "Split documents into segments of at most this many estimated tokens, on paragraph boundaries (default: the prompt's own, else 1000)."),
            StageOption("bytes_per_token", "number", default: "4", help: "Token estimate: UTF-8 bytes per token (about 4 for English, 3 for CJK)."),
            StageOption("min_input_tokens", "int", default: "10", help: "Documents shorter than this (estimated tokens) are not sent and pass unchanged."),
            StageOption("min_output_tokens", "int", default: "null", help: "Reject a segment's reply shorter than this (estimated tokens)."),
            StageOption("max_output_tokens", "int", default: "null", help: "Reject a segment's reply longer than this (estimated tokens)."),
            StageOption("require_prefix", "bool", default: "true", help: "Reject replies that do not start with the prompt's prefix (it is stripped either way)."),
            StageOption("on_failure", "string", default: "drop", help: "replace/append: drop a document whose generation failed (reason llm_*), or keep it unchanged."),
            StageOption("skip_bad_requests", "bool", default: "false", help: "Count a request the server refuses with 400/413/422 as a failed segment instead of stopping the run."),
            StageOption("cache", "bool", default: "true", help: "Keep finished replies in cache_dir so a rerun never pays for them again."),
            StageOption("cache_dir", "string", default: ".sluice-cache/llm", help: "The response cache folder (append-only logs; safe for concurrent tasks and kill -9)."),
            StageOption("dry_run", "bool", default: "false", help: "Send nothing: store the exact request bodies in metadata.<metadata_key>.dry_run and pass documents unchanged."),
            StageOption("metadata_key", "string", default: "synth", help: "Metadata key of the provenance block."),
            StageOption("title_field", "string", default: "title", help: "Metadata path of {{title}}."),
            StageOption("language_field", "string", default: "language", help: "Metadata path of the language code behind {{language}}."),
            StageOption("default_language", "string", default: "English", help: "{{language}} when the document has no language."),
            StageOption("variables", "mapping", default: "{}", help: "Fixed values for more {{variables}} in templates."),
        ]
    }
}
