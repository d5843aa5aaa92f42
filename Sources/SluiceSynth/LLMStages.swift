import SluiceCore
import SluiceLLM

/// A stage that sends documents to an LLM: `llm_rewrite` and `llm_synthesize`.
public protocol LLMPromptingStage: Stage {
    /// The shared machinery (routing, rendering, requests), for dry runs and tests.
    var generation: LLMGeneration { get }
}

/// Rewrites documents through an OpenAI-compatible LLM endpoint (for example low-quality web
/// text into clear encyclopedic prose).
///
/// YAML type `llm_rewrite`. Each document is split into segments on paragraph boundaries under
/// `max_segment_tokens`, every segment is sent with the chosen prompt (a batch's segments all
/// go in flight at once, up to `endpoint.max_in_flight`), replies are checked (the prompt's
/// prefix present and stripped, not cut off by `finish_reason: length`, within the length
/// bounds) and joined back in order. By default the text is replaced (`mode: replace`);
/// `mode: append` adds the generated text after the original, `mode: emit` adds new documents.
/// A document whose segments do not all succeed is dropped with the reason (`llm_truncated`,
/// `llm_missing_prefix`, `llm_request_failed`, …), or kept unchanged with `on_failure: keep`.
///
/// Every generated document carries `metadata.synth` (see `metadata_key`): `source_id`,
/// `prompt` (name, version, hash), `model`, `endpoint` (host only), `sampling`, `mode`,
/// `route`, `segments` (code point `span`, `finish_reason`, token usage) and `usage`.
/// Finished replies are kept in a response cache (`cache_dir`), so a killed or rerun job never
/// requests a finished segment again. Counters: `llm_requests`, `llm_retries`,
/// `llm_failures_<kind>`, `llm_segments_failed_<reason>`, `llm_tokens_in`, `llm_tokens_out`,
/// `llm_cache_hits`, `llm_latency_ms_le_<ms>`.
///
/// ```yaml
/// - type: llm_rewrite
///   endpoint: {base_url: "http://127.0.0.1:8080/v1", model: qwen2.5-1.5b-instruct, max_in_flight: 8}
///   route_by: quality.bucket
///   routes: {low: wikipedia_rephrase, medium: wrap_easy}
/// ```
public struct LLMRewrite: LLMPromptingStage {
    public typealias Configuration = LLMStageConfiguration
    public static let type = "llm_rewrite"
    public static let summary = "Rewrites documents (or segments of them) through an OpenAI-compatible LLM endpoint."
    public static let options = LLMStageConfiguration.options(defaultPrompt: "wikipedia_rephrase", defaultMode: .replace)
    public static let dropReasons = LLMGeneration.dropReasons
    public static let isStateless = true

    public let generation: LLMGeneration

    public init(configuration: Configuration) throws {
        generation = try LLMGeneration(configuration, stageType: Self.type, defaultPrompt: "wikipedia_rephrase", defaultMode: .replace)
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        try generation.process(&batch, stats: &stats)
    }
}

/// Synthesizes new training documents from existing ones through an OpenAI-compatible LLM
/// endpoint (question-answer pairs, condensed texts, knowledge passages and lists, …).
///
/// YAML type `llm_synthesize`. It works as `llm_rewrite` (segments, prompts, routing, cache,
/// provenance, counters) but by default emits one new document per source document and prompt
/// (`mode: emit`), with id `<source id>/<prompt name>` and the source's metadata plus the
/// provenance block; the source stays unless `keep_original: false`. With routing, a route may
/// list several prompts.
///
/// ```yaml
/// - type: llm_synthesize
///   endpoint: {base_url: "http://127.0.0.1:8000/v1", model: my-model, max_in_flight: 64}
///   route_by: quality.bucket
///   routes: {high: [qa_pairs, knowledge_list], low: wikipedia_rephrase}
/// ```
public struct LLMSynthesize: LLMPromptingStage {
    public typealias Configuration = LLMStageConfiguration
    public static let type = "llm_synthesize"
    public static let summary = "Creates new documents (QA pairs, distillations, knowledge lists, …) from documents through an OpenAI-compatible LLM endpoint."
    public static let options = LLMStageConfiguration.options(defaultPrompt: "qa_pairs", defaultMode: .emit)
    public static let dropReasons = LLMGeneration.dropReasons
    public static let isStateless = true

    public let generation: LLMGeneration

    public init(configuration: Configuration) throws {
        generation = try LLMGeneration(configuration, stageType: Self.type, defaultPrompt: "qa_pairs", defaultMode: .emit)
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        try generation.process(&batch, stats: &stats)
    }
}
