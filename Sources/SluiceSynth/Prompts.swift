import Foundation
import SluiceCore
import SluiceLLM

/// A prompt: a system message, a user-message template with `{{variables}}`, the prefix the
/// reply must start with, and sampling settings of its own.
///
/// In YAML (a stage's `prompts` list):
///
/// ```yaml
/// prompts:
///   - name: plain_summary
///     version: 2
///     system: You summarise web pages faithfully.
///     template: |
///       Summarise this {{language}} page titled "{{title}}":
///       {{text}}
///       Begin with "Summary:".
///     prefix: "Summary:"
///     sampling: {max_tokens: 400}
///     max_segment_tokens: 800
/// ```
///
/// Variables: `{{text}}` (the segment), `{{title}}`, `{{language}}` (a language name such as
/// "English", from the document's language code), `{{id}}`, `{{source}}`,
/// `{{segment_index}}`, `{{segment_count}}`, the stage's `variables`, and any metadata by
/// dotted path (`{{quality.bucket}}` or `{{metadata.quality.bucket}}`). A value that is not a
/// string is written as JSON; a missing one as nothing (and counted).
public struct PromptTemplate: Decodable, Sendable, Equatable {
    public var name: String
    public var version: Int
    public var system: String?
    public var template: String
    public var prefix: String?
    public var sampling: SamplingParameters?
    public var maxSegmentTokens: Int?

    enum CodingKeys: String, CodingKey {
        case name, version, system, template, prefix, sampling
        case maxSegmentTokens = "max_segment_tokens"
    }

    public init(
        name: String, version: Int = 1, system: String? = nil, template: String, prefix: String? = nil,
        sampling: SamplingParameters? = nil, maxSegmentTokens: Int? = nil
    ) {
        self.name = name
        self.version = version
        self.system = system
        self.template = template
        self.prefix = prefix
        self.sampling = sampling
        self.maxSegmentTokens = maxSegmentTokens
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        system = try c.decodeIfPresent(String.self, forKey: .system)
        template = try c.decode(String.self, forKey: .template)
        prefix = try c.decodeIfPresent(String.self, forKey: .prefix)
        sampling = try c.decodeIfPresent(SamplingParameters.self, forKey: .sampling)
        maxSegmentTokens = try c.decodeIfPresent(Int.self, forKey: .maxSegmentTokens)
    }

    /// A hash of the wording (system, template, prefix): changes whenever the prompt's text does.
    public var hash: String {
        var bytes: [UInt8] = []
        for part in [system ?? "", template, prefix ?? ""] {
            bytes.append(contentsOf: part.utf8)
            bytes.append(0)
        }
        return hex64(XXH64.hash(bytes))
    }
}

/// A template split into literal text and variable names, once.
public struct CompiledTemplate: Sendable {
    public enum Part: Sendable, Equatable {
        case literal(String)
        case variable(String)
    }

    public let parts: [Part]

    /// Parses `{{ name }}` placeholders; names are letters, digits, `_` and `.`.
    ///
    /// - Throws: `StageConfigurationError` for an unclosed or empty placeholder.
    public init(_ template: String, context: String) throws {
        var parts: [Part] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.literal(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw StageConfigurationError("\(context): '{{' without a closing '}}'")
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw StageConfigurationError(
                    "\(context): '{{\(rest[open.upperBound..<close.lowerBound])}}' is not a variable; write {{text}}, {{title}}, {{language}} or a metadata path like {{quality.bucket}}")
            }
            parts.append(.variable(name))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        self.parts = parts
    }

    /// The variable names used.
    public var variables: [String] {
        parts.compactMap { if case .variable(let n) = $0 { n } else { nil } }
    }

    /// The text with each variable replaced by `value(name)`; `missing` hears about names with no value.
    public func render(_ value: (String) -> String?, missing: (String) -> Void = { _ in }) -> String {
        var out = ""
        for p in parts {
            switch p {
            case .literal(let s): out += s
            case .variable(let n):
                if let v = value(n) { out += v } else { missing(n) }
            }
        }
        return out
    }
}

/// Language names for the common ISO 639-1 codes, for `{{language}}`.
let languageNames: [String: String] = [
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "ru": "Russian", "pl": "Polish", "uk": "Ukrainian", "cs": "Czech", "sv": "Swedish",
    "da": "Danish", "no": "Norwegian", "nb": "Norwegian", "fi": "Finnish", "el": "Greek", "tr": "Turkish",
    "hu": "Hungarian", "ro": "Romanian", "bg": "Bulgarian", "ca": "Catalan", "zh": "Chinese", "ja": "Japanese",
    "ko": "Korean", "ar": "Arabic", "he": "Hebrew", "fa": "Persian", "hi": "Hindi", "bn": "Bengali",
    "ur": "Urdu", "id": "Indonesian", "ms": "Malay", "vi": "Vietnamese", "th": "Thai", "sw": "Swahili",
]

/// The prompts Sluice ships, written for Sluice. Each asks for a reply that starts with a
/// fixed line, so a reply that wandered off (no prefix) can be told apart and rejected.
///
/// - `wikipedia_rephrase`: rewrite noisy web text as clear, encyclopedic prose (for low-quality text).
/// - `qa_pairs`: varied question-answer pairs grounded in the text (for high-quality text).
/// - `distill`: a shorter text that keeps the substance.
/// - `knowledge_extract`: the learnable knowledge restated as textbook-like passages.
/// - `knowledge_list`: the facts, figures and concepts as a list.
/// - `wrap_easy`, `wrap_hard`, `wrap_qa`: the text for a young reader, for a specialist, and
///   as a question-and-answer conversation.
public enum PromptLibrary {
    static let faithfulSystem = """
        You are a meticulous writing assistant. You rework text without changing what it says: \
        every fact, name, number and claim you write comes from the text you are given, and you \
        never make things up. You follow the requested format exactly.
        """

    public static let builtIn: [PromptTemplate] = [
        PromptTemplate(
            name: "wikipedia_rephrase", version: 1, system: faithfulSystem,
            template: """
                The passage below comes from a web page. It may be badly written, badly formatted, \
                or mixed with menus, adverts and other page clutter.

                Passage:
                {{text}}

                Rewrite the informative content of the passage as clear, well-structured {{language}} \
                prose in the neutral, factual register of an encyclopedia article. Keep every fact, \
                name, figure and claim the passage makes and add none of your own. Leave out page \
                clutter. Use plain paragraphs without headings.
                Start your reply with the line "Rewritten passage:" followed by the rewritten text.
                """,
            prefix: "Rewritten passage:", sampling: SamplingParameters(maxTokens: 600), maxSegmentTokens: 500),
        PromptTemplate(
            name: "qa_pairs", version: 1, system: faithfulSystem,
            template: """
                Passage:
                {{text}}

                Write up to eight question-and-answer pairs, in {{language}}, that test the knowledge \
                in the passage above. Mix the kinds of questions: yes-or-no questions, open questions, \
                multiple-choice questions (give the options inside the question), questions that \
                compare two things, questions that need a short calculation or chain of reasoning, and \
                questions about the meaning of a particular statement. The passage must support every \
                answer. Each question must be understandable without the passage, so name the subject \
                instead of saying "the passage" or "the text". Format each pair as two lines:
                Question: ...
                Answer: ...
                Start your reply with the line "Questions and answers:".
                """,
            prefix: "Questions and answers:", sampling: SamplingParameters(maxTokens: 700), maxSegmentTokens: 1000),
        PromptTemplate(
            name: "distill", version: 1, system: faithfulSystem,
            template: """
                Passage:
                {{text}}

                Condense the passage above into a shorter {{language}} text that keeps its substance: \
                the key facts, definitions, technical terms, examples and steps of reasoning. The result \
                should be a compact but complete account that a reader could learn from, not a vague \
                overview. Include nothing the passage does not say. Use plain prose without headings or lists.
                Start your reply with the line "Condensed text:".
                """,
            prefix: "Condensed text:", sampling: SamplingParameters(maxTokens: 1200), maxSegmentTokens: 1600),
        PromptTemplate(
            name: "knowledge_extract", version: 1, system: faithfulSystem,
            template: """
                Passage:
                {{text}}

                Find the knowledge in the passage above that is worth learning: facts, explanations, \
                methods and findings from any field such as science, history, medicine, law, \
                technology or economics. Restate that knowledge in {{language}} as one or more clear, \
                self-contained passages, explained the way a good textbook would. Skip material of no \
                lasting value, such as advertising, personal chatter or site navigation. Do not alter \
                or embellish any detail; only restate what the passage contains. Do not use titles or headings.
                Start your reply with the line "Extracted knowledge:".
                """,
            prefix: "Extracted knowledge:", sampling: SamplingParameters(maxTokens: 1000), maxSegmentTokens: 1200),
        PromptTemplate(
            name: "knowledge_list", version: 1, system: faithfulSystem,
            template: """
                Passage:
                {{text}}

                Turn the passage above into a compact, well-ordered list, in {{language}}, of the \
                information it contains: concrete details, central concepts and definitions, names, \
                dates, quantities and statistics. Make each item a short statement that stands on its \
                own. Keep only what the passage states. Do not add headings.
                Start your reply with the line "Key facts:".
                """,
            prefix: "Key facts:", sampling: SamplingParameters(maxTokens: 700), maxSegmentTokens: 1000),
        PromptTemplate(
            name: "wrap_easy", version: 1, system: faithfulSystem,
            template: """
                Passage:
                {{text}}

                Retell the passage above in {{language}} so that a small child could follow it: short \
                sentences, everyday words, and a simple explanation for every difficult idea. Keep the \
                meaning and the main facts.
                Start your reply with the line "Simple version:".
                """,
            prefix: "Simple version:", sampling: SamplingParameters(maxTokens: 600), maxSegmentTokens: 400),
        PromptTemplate(
            name: "wrap_hard", version: 1, system: faithfulSystem,
            template: """
                Passage:
                {{text}}

                Rewrite the passage above in {{language}} in a dense, formal and highly technical style, \
                as an expert would write for other experts: exact terminology, tightly packed \
                sentences, no simplification. Keep every fact and claim of the original and add none.
                Start your reply with the line "Technical version:".
                """,
            prefix: "Technical version:", sampling: SamplingParameters(maxTokens: 600), maxSegmentTokens: 400),
        PromptTemplate(
            name: "wrap_qa", version: 1, system: faithfulSystem,
            template: """
                Passage:
                {{text}}

                Present the information in the passage above as a {{language}} conversation in which a \
                curious person asks questions and a well-informed person answers them. The \
                conversation should cover all the important information in the passage. Write each \
                turn as:
                Question: ...
                Answer: ...
                Start your reply with the line "Conversation:".
                """,
            prefix: "Conversation:", sampling: SamplingParameters(maxTokens: 700), maxSegmentTokens: 400),
    ]

    /// The built-in prompt with this name.
    public static func prompt(named name: String) -> PromptTemplate? {
        builtIn.first { $0.name == name }
    }
}
