import Foundation
import SluiceCore
import SluiceIO
import SluiceLLM

/// What an LLM judge is asked, and how its score is read back: a system message, a prompt
/// template, the score range and the phrase the judge states the score with.
///
/// A user rubric is a YAML file (see ``init(from:)``):
///
/// ```yaml
/// name: code_quality            # a name for the records and the cache
/// version: 1                    # bump it when the wording changes: the cache keys on it
/// system: You review source code for a training corpus.
/// prompt: |
///   Rate the code below from 1 to 10 for how well it would teach good programming.
///   """
///   {{text}}
///   """
///   Give a short reason, then end with a line "Code score: N".
/// min: 1                        # the score range (inclusive)
/// max: 10
/// integer: true                 # whole numbers only (a 3.5 counts as unparseable)
/// statement: Code score         # the phrase before the number
/// threshold: 6                  # cut-off `sluice quality train` uses unless given --threshold
/// sampling: {temperature: 0, max_tokens: 400}
/// ```
///
/// Template variables: `{{text}}` (the document's first characters), `{{id}}`, `{{chars}}`
/// (how many characters were sent), `{{max_chars}}`, `{{min}}`, `{{max}}`.
public struct Rubric: Decodable, Sendable, Equatable {
    public var name: String
    public var version: Int
    public var system: String?
    public var prompt: String
    public var minimum: Double
    public var maximum: Double
    public var integer: Bool
    public var statement: String
    public var threshold: Double?
    public var sampling: SamplingParameters

    enum CodingKeys: String, CodingKey {
        case name, version, system, prompt, min, max, integer, statement, threshold, sampling
    }

    public init(
        name: String, version: Int = 1, system: String?, prompt: String, minimum: Double, maximum: Double, integer: Bool = true,
        statement: String, threshold: Double? = nil, sampling: SamplingParameters = SamplingParameters(temperature: 0, maxTokens: 400)
    ) {
        self.name = name
        self.version = version
        self.system = system
        self.prompt = prompt
        self.minimum = minimum
        self.maximum = maximum
        self.integer = integer
        self.statement = statement
        self.threshold = threshold
        self.sampling = sampling
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decodeIfPresent(String.self, forKey: .name)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        system = try c.decodeIfPresent(String.self, forKey: .system)
        let prompt = try c.decodeIfPresent(String.self, forKey: .prompt)
        let minimum = try c.decodeIfPresent(Double.self, forKey: .min)
        let maximum = try c.decodeIfPresent(Double.self, forKey: .max)
        integer = try c.decodeIfPresent(Bool.self, forKey: .integer) ?? true
        let statement = try c.decodeIfPresent(String.self, forKey: .statement)
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold)
        sampling = try c.decodeIfPresent(SamplingParameters.self, forKey: .sampling) ?? SamplingParameters(temperature: 0, maxTokens: 400)
        guard let name, !name.isEmpty else { throw StageConfigurationError("a rubric needs name: a short name for it (it goes into every record)") }
        guard let prompt else {
            throw StageConfigurationError("rubric '\(name)' needs prompt: the user message, with {{text}} where the document goes")
        }
        guard let minimum, let maximum else {
            throw StageConfigurationError("rubric '\(name)' needs min and max: the score range, such as min: 0 and max: 5")
        }
        guard let statement, !statement.isEmpty else {
            throw StageConfigurationError(
                "rubric '\(name)' needs statement: the phrase the judge writes before the score (such as 'Quality score'); ask for it in the prompt too")
        }
        self.name = name
        self.prompt = prompt
        self.minimum = minimum
        self.maximum = maximum
        self.statement = statement
        try validate()
    }

    /// Checks the rubric; the message says what to fix.
    public func validate() throws {
        guard minimum.isFinite, maximum.isFinite, minimum < maximum else {
            throw StageConfigurationError("rubric '\(name)': min (\(minimum)) must be below max (\(maximum))")
        }
        if let t = threshold, !(t >= minimum && t <= maximum) {
            throw StageConfigurationError("rubric '\(name)': threshold \(t) is outside the score range \(minimum) to \(maximum)")
        }
        guard prompt.contains("{{text}}") else {
            throw StageConfigurationError("rubric '\(name)': prompt has no {{text}}, so the judge would never see the document")
        }
        try PromptText.check(prompt, context: "rubric '\(name)' prompt")
        if let s = system { try PromptText.check(s, context: "rubric '\(name)' system") }
        try sampling.validate()
    }

    /// The parser for this rubric's replies.
    public var parser: ScoreParser {
        ScoreParser(statement: statement, minimum: minimum, maximum: maximum, integer: integer)
    }

    /// The request for one document's opening `text` (already cut to at most `maxChars`).
    public func request(id: String, text: String, maxChars: Int) -> LLMRequest {
        let values: [String: String] = [
            "text": text, "id": id, "chars": String(text.unicodeScalars.count), "max_chars": String(maxChars),
            "min": Self.format(minimum), "max": Self.format(maximum),
        ]
        return LLMRequest(
            system: system.map { PromptText.render($0, values) }, prompt: PromptText.render(prompt, values), sampling: sampling)
    }

    /// A fingerprint of everything that changes what is sent (for the cache and the records).
    public var fingerprint: String {
        var o = JSONObject()
        o["name"] = .string(name)
        o["version"] = .int(version)
        o["system"] = system.map { .string($0) } ?? .null
        o["prompt"] = .string(prompt)
        o["sampling"] = .object(sampling.json)
        return hex64(XXH64.hash(encodeJSON(.object(o))))
    }

    static func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }

    /// The built-in rubric: educational value on an additive 0-to-5 scale, in Sluice's own
    /// words. Threshold 3 is the usual cut-off between "usable for learning" and not.
    public static let educationalValue = Rubric(
        name: "educational_value", version: 1,
        system: "You are a careful reviewer who decides how much a text could help people learn. You judge substance, not polish, and you follow the scoring rules exactly.",
        prompt: """
            Below is the beginning of a document (up to {{max_chars}} characters) collected from the web. \
            Rate how useful it would be for teaching and learning, on an additive scale from 0 to 5. \
            Start at 0. Add one point for each statement below that is true, checking them in order; \
            a statement only earns its point if every statement before it earned one too.

            1. The text carries at least some genuine information on a subject a person might study, \
            even if it is surrounded by adverts, menus, links or other clutter.
            2. A substantial part of the text explains or describes something worth knowing, although \
            it may be disorganised, incomplete, or mixed with unrelated material.
            3. Taken as a whole, the text could be used in a lesson: it presents ideas, facts or \
            methods coherently enough for a learner to follow, even if it only scratches the surface.
            4. The text is focused, clearly written and instructive from start to finish, in the way \
            of a good textbook section or a careful tutorial, with little that is off topic.
            5. The text is an outstanding resource for learning: accurate and well organised, with \
            explanations or worked examples that build understanding step by step.

            Pages that mostly sell, entertain, list links, repeat boilerplate or are unsuitable for \
            learners earn few points however well they are written.

            Document:
            \"\"\"
            {{text}}
            \"\"\"

            Explain your judgement in at most 100 words. Then write the total on a final line of its \
            own, exactly as "Educational score: N", where N is a whole number from 0 to 5.
            """,
        minimum: 0, maximum: 5, integer: true, statement: "Educational score", threshold: 3,
        sampling: SamplingParameters(temperature: 0, maxTokens: 400))

    /// Built-in rubrics by name.
    public static let builtIn: [Rubric] = [educationalValue]
}

/// `{{name}}` templates of rubrics (a small subset of the synthesis prompts' syntax).
enum PromptText {
    /// Checks that every placeholder is a known one.
    static func check(_ template: String, context: String) throws {
        let known: Set<String> = ["text", "id", "chars", "max_chars", "min", "max"]
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            guard let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) else {
                throw StageConfigurationError("\(context): '{{' without a closing '}}'")
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard known.contains(name) else {
                throw StageConfigurationError(
                    "\(context): {{\(name)}} is not a variable; use {{text}}, {{id}}, {{chars}}, {{max_chars}}, {{min}} or {{max}}")
            }
            rest = rest[close.upperBound...]
        }
    }

    /// Replaces each `{{name}}` with its value (in one pass, so a document containing `{{id}}`
    /// is left as it is).
    static func render(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        out.reserveCapacity(template.utf8.count + (values["text"]?.utf8.count ?? 0))
        var rest = template[...]
        while let open = rest.range(of: "{{"), let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) {
            out += rest[..<open.lowerBound]
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            out += values[name] ?? ""
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }
}
