import SluiceCore

/// Drops documents whose text is too short or too long, counted in characters, words or lines.
///
/// YAML type `length_filter`. Every bound is optional and inclusive (`min_words: 3` keeps a
/// document of exactly 3 words); at least one must be set.
///
/// - `min_chars`, `max_chars`: characters are Unicode scalars (see `TextCounts`).
/// - `min_words`, `max_words`: whitespace-delimited words, so Chinese or Japanese text without
///   spaces has very few "words"; filter such text on characters instead.
/// - `min_lines`, `max_lines`: `\n`-separated lines; a final line without a newline counts.
///
/// Bounds are checked in the order above and the first one that fails gives the drop reason:
/// `too_few_chars`, `too_many_chars`, `too_few_words`, `too_many_words`, `too_few_lines`,
/// `too_many_lines`.
///
/// ```yaml
/// - type: length_filter
///   min_words: 50
///   max_words: 100000
///   max_lines: 20000
/// ```
///
/// Counting takes one pass over the UTF-8 bytes. Without word bounds a faster 8-bytes-at-a-time
/// count is used, and character bounds are often decided from the byte length alone (a
/// character is 1 to 4 bytes).
public struct LengthFilter: FilterStage {
    public struct Configuration: Decodable, Sendable {
        public var minChars: Int?
        public var maxChars: Int?
        public var minWords: Int?
        public var maxWords: Int?
        public var minLines: Int?
        public var maxLines: Int?

        enum CodingKeys: String, CodingKey {
            case minChars = "min_chars", maxChars = "max_chars"
            case minWords = "min_words", maxWords = "max_words"
            case minLines = "min_lines", maxLines = "max_lines"
        }

        public init(
            minChars: Int? = nil, maxChars: Int? = nil, minWords: Int? = nil, maxWords: Int? = nil,
            minLines: Int? = nil, maxLines: Int? = nil
        ) {
            self.minChars = minChars
            self.maxChars = maxChars
            self.minWords = minWords
            self.maxWords = maxWords
            self.minLines = minLines
            self.maxLines = maxLines
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            minChars = try c.decodeIfPresent(Int.self, forKey: .minChars)
            maxChars = try c.decodeIfPresent(Int.self, forKey: .maxChars)
            minWords = try c.decodeIfPresent(Int.self, forKey: .minWords)
            maxWords = try c.decodeIfPresent(Int.self, forKey: .maxWords)
            minLines = try c.decodeIfPresent(Int.self, forKey: .minLines)
            maxLines = try c.decodeIfPresent(Int.self, forKey: .maxLines)
        }
    }

    public static let type = "length_filter"
    public static let summary = "Drops documents with too few or too many characters, words or lines."
    public static let options: [StageOption] = [
        StageOption("min_chars", "int", default: "null", help: "Drop documents with fewer characters (Unicode scalars) than this."),
        StageOption("max_chars", "int", default: "null", help: "Drop documents with more characters (Unicode scalars) than this."),
        StageOption("min_words", "int", default: "null", help: "Drop documents with fewer whitespace-delimited words than this."),
        StageOption("max_words", "int", default: "null", help: "Drop documents with more whitespace-delimited words than this."),
        StageOption("min_lines", "int", default: "null", help: "Drop documents with fewer lines than this."),
        StageOption("max_lines", "int", default: "null", help: "Drop documents with more lines than this."),
    ]
    public static let dropReasons: [DropReason] = [
        "too_few_chars", "too_many_chars", "too_few_words", "too_many_words", "too_few_lines", "too_many_lines",
    ]

    // Bounds with absent ones widened to 0 and Int.max, so the checks need no optionals.
    private let minChars: Int, maxChars: Int
    private let minWords: Int, maxWords: Int
    private let minLines: Int, maxLines: Int
    private let checksChars: Bool, checksWords: Bool, checksLines: Bool

    public init(configuration: Configuration) throws {
        let c = configuration
        func check(_ min: Int?, _ max: Int?, _ unit: String) throws -> (Int, Int) {
            if let min, min < 0 { throw StageConfigurationError("min_\(unit) must not be negative, got \(min)") }
            if let max, max < 0 { throw StageConfigurationError("max_\(unit) must not be negative, got \(max)") }
            if let min, let max, min > max {
                throw StageConfigurationError("min_\(unit) (\(min)) is greater than max_\(unit) (\(max)); no document could pass")
            }
            return (min ?? 0, max ?? Int.max)
        }
        (minChars, maxChars) = try check(c.minChars, c.maxChars, "chars")
        (minWords, maxWords) = try check(c.minWords, c.maxWords, "words")
        (minLines, maxLines) = try check(c.minLines, c.maxLines, "lines")
        checksChars = c.minChars != nil || c.maxChars != nil
        checksWords = c.minWords != nil || c.maxWords != nil
        checksLines = c.minLines != nil || c.maxLines != nil
        guard checksChars || checksWords || checksLines else {
            throw StageConfigurationError(
                "length_filter needs at least one bound: min_chars, max_chars, min_words, max_words, min_lines or max_lines")
        }
    }

    public func filter(_ document: Document) -> Verdict {
        document.text.withUTF8Bytes { verdict(for: $0) }
    }

    /// The verdict for UTF-8 text.
    public func verdict(for bytes: UnsafeBufferPointer<UInt8>) -> Verdict {
        if checksWords {
            let counts = countText(bytes)
            return verdict(chars: counts.characters, words: counts.words, lines: counts.lines)
        }
        var chars = 0
        if checksChars {
            // A character is 1 to 4 bytes: the byte length often settles the bounds.
            let most = bytes.count
            let least = (bytes.count + 3) / 4
            if most < minChars { return .drop("too_few_chars") }
            if least > maxChars { return .drop("too_many_chars") }
            if least < minChars || most > maxChars {
                chars = countCharacters(bytes)
            } else {
                chars = minChars
            }
        }
        let lines = checksLines ? countLines(bytes) : minLines
        return verdict(chars: chars, words: minWords, lines: lines)
    }

    @inline(__always)
    private func verdict(chars: Int, words: Int, lines: Int) -> Verdict {
        if chars < minChars { return .drop("too_few_chars") }
        if chars > maxChars { return .drop("too_many_chars") }
        if words < minWords { return .drop("too_few_words") }
        if words > maxWords { return .drop("too_many_words") }
        if lines < minLines { return .drop("too_few_lines") }
        if lines > maxLines { return .drop("too_many_lines") }
        return .keep
    }
}
