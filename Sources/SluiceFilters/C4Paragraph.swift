import SluiceCore

/// mC4's paragraph rule, as datatrove 0.10's `C4ParagraphFilter`: keep a document only when it
/// has at least `min_paragraphs` lines and its `min_paragraphs` longest lines are each at least
/// `min_paragraph_length` characters long.
///
/// YAML type `c4_paragraph`. Lines are split at `\n` only; lengths are Unicode scalars. The
/// drop reason is `too_few_paragraphs` (datatrove writes `"< 3 paragraphs"`).
///
/// Language: `languages` defaults to `[en]`. mC4 applied the rule to all its languages
/// (`languages: null` does that), but 200 characters of Chinese or Japanese carry far more text
/// than 200 of English: on real pages it keeps about 45% of English ones and 13% of Chinese ones
/// (see ``LanguageScope``).
///
/// ```yaml
/// - type: c4_paragraph
///   min_paragraphs: 3
///   min_paragraph_length: 200
/// ```
public struct C4Paragraph: FilterStage {
    public struct Configuration: Decodable, Sendable {
        public var minParagraphs: Int
        public var minParagraphLength: Int
        public var languages: [String]?
        public var defaultLanguage: String

        enum CodingKeys: String, CodingKey {
            case minParagraphs = "min_paragraphs", minParagraphLength = "min_paragraph_length"
            case languages, defaultLanguage = "default_language"
        }

        public init(minParagraphs: Int = 3, minParagraphLength: Int = 200, languages: [String]? = ["en"], defaultLanguage: String = "en") {
            self.minParagraphs = minParagraphs
            self.minParagraphLength = minParagraphLength
            self.languages = languages
            self.defaultLanguage = defaultLanguage
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            minParagraphs = try c.decodeIfPresent(Int.self, forKey: .minParagraphs) ?? 3
            minParagraphLength = try c.decodeIfPresent(Int.self, forKey: .minParagraphLength) ?? 200
            languages = try c.decodeLanguages(forKey: .languages, default: ["en"])
            defaultLanguage = try c.decodeIfPresent(String.self, forKey: .defaultLanguage) ?? "en"
        }
    }

    public static let type = "c4_paragraph"
    public static let summary = "mC4 paragraph rule: at least 3 lines, the 3 longest at least 200 characters each."
    public static let options: [StageOption] = [
        StageOption("min_paragraphs", "int", default: "3", help: "Lines needed, and how many of the longest must be long enough."),
        StageOption("min_paragraph_length", "int", default: "200", help: "Characters each of the longest min_paragraphs lines needs."),
        LanguageOptionHelp.languages("[en]"),
        LanguageOptionHelp.defaultLanguage,
    ]
    public static let dropReasons: [DropReason] = ["too_few_paragraphs"]

    public let configuration: Configuration
    let scope: LanguageScope

    public init(configuration c: Configuration) throws {
        guard c.minParagraphs >= 1 else { throw StageConfigurationError("min_paragraphs must be at least 1, got \(c.minParagraphs)") }
        guard c.minParagraphLength >= 0 else {
            throw StageConfigurationError("min_paragraph_length must not be negative, got \(c.minParagraphLength)")
        }
        configuration = c
        scope = try LanguageScope(languages: c.languages, defaultLanguage: c.defaultLanguage)
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        var skipped = 0
        batch.retain { doc in
            guard scope.applies(to: scope.language(of: doc)) else {
                skipped += 1
                return .keep
            }
            return doc.text.withUTF8Bytes { verdict(for: $0) }
        }
        if skipped > 0 { stats.counters["skipped_language", default: 0] += skipped }
    }

    public func filter(_ document: Document) -> Verdict {
        document.text.withUTF8Bytes { verdict(for: $0) }
    }

    /// The verdict for UTF-8 text, whatever its language.
    public func verdict(for text: UnsafeBufferPointer<UInt8>) -> Verdict {
        let need = configuration.minParagraphs
        // Count lines of at least min_paragraph_length characters; a line's length is at least
        // a quarter of its bytes, so most lines are settled without counting characters.
        var lines = 0, long = 0
        let n = text.count
        let minimum = configuration.minParagraphLength
        var start = 0
        if let p = text.baseAddress {
            while start <= n {
                var end = start
                while end < n && p[end] != 0x0A { end += 1 }
                lines += 1
                let bytes = end - start
                if bytes >= minimum {
                    if (bytes + 3) / 4 >= minimum || countCharacters(UnsafeBufferPointer(start: p + start, count: bytes)) >= minimum {
                        long += 1
                    }
                }
                start = end + 1
            }
        } else {
            lines = 1
        }
        return lines >= need && long >= need ? .keep : .drop("too_few_paragraphs")
    }
}
