import SluiceCore

/// FineWeb's line-based quality rules, exactly as datatrove 0.10's `FineWebQualityFilter`.
///
/// YAML type `fineweb_quality`. The text is split at `\n`; lines that are empty once whitespace
/// is stripped are left out. Checks, in order:
///
/// | option | default | drops when | reason |
/// |---|---|---|---|
/// | — | | no non-empty line | `empty` |
/// | `line_punct_thr` | 0.12 | lines ending in terminal punctuation / lines < min (not when 0 and `line_punct_exclude_zero`) | `line_punct_ratio` |
/// | `short_line_thr`, `short_line_length` | 0.67, 30 | lines of ≤ 30 characters / lines > max | `short_line_ratio` |
/// | `char_duplicates_ratio` | 0.01 | characters in repeated lines / characters other than `\n` > max | `char_dup_ratio` |
/// | `new_line_ratio` | 0.3 | `\n` count / words > max | `list_ratio` |
///
/// A line "ends in terminal punctuation" when its last character (spaces count: `"done. "` does
/// not) is one of datatrove's `TERMINAL_PUNCTUATION` (`.`, `!`, `?`, `。`, `！`, `؟`, `।`, … 160
/// characters), or ends with one of the `stop_chars` strings when those are given. Line lengths
/// are in Unicode scalars and include spaces. A line is repeated from its second occurrence on
/// (datatrove's `find_duplicates`). Words come from ``WordSplitter``. Comparisons are strict, as
/// in datatrove, and every check always applies (there is no "off" value).
///
/// Language: `languages` defaults to `[en]`; see ``LanguageScope``.
///
/// ```yaml
/// - type: fineweb_quality
///   line_punct_thr: 0.12
///   short_line_thr: 0.67
/// ```
public struct FineWebQuality: Stage {
    public struct Configuration: Decodable, Sendable {
        public var linePunctThr: Double
        public var linePunctExcludeZero: Bool
        public var stopChars: [String]?
        public var shortLineThr: Double
        public var shortLineLength: Int
        public var charDuplicatesRatio: Double
        public var newLineRatio: Double
        public var languages: [String]?
        public var defaultLanguage: String

        enum CodingKeys: String, CodingKey {
            case linePunctThr = "line_punct_thr", linePunctExcludeZero = "line_punct_exclude_zero", stopChars = "stop_chars"
            case shortLineThr = "short_line_thr", shortLineLength = "short_line_length"
            case charDuplicatesRatio = "char_duplicates_ratio", newLineRatio = "new_line_ratio"
            case languages, defaultLanguage = "default_language"
        }

        public init(
            linePunctThr: Double = 0.12, linePunctExcludeZero: Bool = false, stopChars: [String]? = nil,
            shortLineThr: Double = 0.67, shortLineLength: Int = 30, charDuplicatesRatio: Double = 0.01, newLineRatio: Double = 0.3,
            languages: [String]? = ["en"], defaultLanguage: String = "en"
        ) {
            self.linePunctThr = linePunctThr
            self.linePunctExcludeZero = linePunctExcludeZero
            self.stopChars = stopChars
            self.shortLineThr = shortLineThr
            self.shortLineLength = shortLineLength
            self.charDuplicatesRatio = charDuplicatesRatio
            self.newLineRatio = newLineRatio
            self.languages = languages
            self.defaultLanguage = defaultLanguage
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            linePunctThr = try c.decodeIfPresent(Double.self, forKey: .linePunctThr) ?? 0.12
            linePunctExcludeZero = try c.decodeIfPresent(Bool.self, forKey: .linePunctExcludeZero) ?? false
            stopChars = try c.decodeIfPresent([String].self, forKey: .stopChars)
            shortLineThr = try c.decodeIfPresent(Double.self, forKey: .shortLineThr) ?? 0.67
            shortLineLength = try c.decodeIfPresent(Int.self, forKey: .shortLineLength) ?? 30
            charDuplicatesRatio = try c.decodeIfPresent(Double.self, forKey: .charDuplicatesRatio) ?? 0.01
            newLineRatio = try c.decodeIfPresent(Double.self, forKey: .newLineRatio) ?? 0.3
            languages = try c.decodeLanguages(forKey: .languages, default: ["en"])
            defaultLanguage = try c.decodeIfPresent(String.self, forKey: .defaultLanguage) ?? "en"
        }
    }

    public static let type = "fineweb_quality"
    public static let summary = "FineWeb line rules (terminal punctuation, short lines, repeated lines, newlines per word), as datatrove."
    public static let options: [StageOption] = [
        StageOption("line_punct_thr", "number", default: "0.12", help: "Drop when the share of lines ending in terminal punctuation is below this (line_punct_ratio)."),
        StageOption("line_punct_exclude_zero", "bool", default: "false", help: "Keep documents where no line ends in terminal punctuation (skip line_punct_ratio when the share is 0)."),
        StageOption("stop_chars", "[string] | null", default: "null", help: "Line endings that count as terminal punctuation; null: datatrove's TERMINAL_PUNCTUATION (160 characters)."),
        StageOption("short_line_thr", "number", default: "0.67", help: "Drop when the share of short lines is above this (short_line_ratio)."),
        StageOption("short_line_length", "int", default: "30", help: "A line of at most this many characters is short."),
        StageOption("char_duplicates_ratio", "number", default: "0.01", help: "Drop when characters in repeated lines / characters (without newlines) is above this (char_dup_ratio)."),
        StageOption("new_line_ratio", "number", default: "0.3", help: "Drop when newlines per word is above this (list_ratio)."),
        LanguageOptionHelp.languages("[en]"),
        LanguageOptionHelp.defaultLanguage,
    ]
    public static let dropReasons: [DropReason] = ["empty", "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio"]

    public let configuration: Configuration
    let scope: LanguageScope
    let stopStrings: [[UInt8]]?

    public init(configuration c: Configuration) throws {
        try validate(c.linePunctThr, "line_punct_thr")
        try validate(c.shortLineThr, "short_line_thr")
        try validate(c.charDuplicatesRatio, "char_duplicates_ratio")
        try validate(c.newLineRatio, "new_line_ratio")
        guard c.shortLineLength >= 0 else { throw StageConfigurationError("short_line_length must not be negative, got \(c.shortLineLength)") }
        if let s = c.stopChars {
            guard !s.isEmpty, !s.contains(where: \.isEmpty) else {
                throw StageConfigurationError("stop_chars needs non-empty strings, such as ['.', '!', '?']; use null for datatrove's list")
            }
        }
        configuration = c
        scope = try LanguageScope(languages: c.languages, defaultLanguage: c.defaultLanguage)
        stopStrings = c.stopChars.map { $0.map { Array($0.utf8) } }
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        let scratch = FilterScratch()
        let lines = LineScratch()
        var skipped = 0
        batch.retain { doc in
            let language = scope.language(of: doc)
            guard scope.applies(to: language) else {
                skipped += 1
                return .keep
            }
            let splitter = scratch.splitter(for: language)
            return doc.text.withUTF8Bytes { verdict(for: $0, splitter: splitter, words: scratch.words, lines: lines) }
        }
        if skipped > 0 { stats.counters["skipped_language", default: 0] += skipped }
    }

    /// The verdict for one text, whatever its language, with the given word rule.
    public func verdict(for text: String, splitter: WordSplitter = WordSplitter()) -> Verdict {
        let words = WordScratch()
        let lines = LineScratch()
        return text.withUTF8Bytes { verdict(for: $0, splitter: splitter, words: words, lines: lines) }
    }

    func verdict(for text: UnsafeBufferPointer<UInt8>, splitter: WordSplitter, words: WordScratch, lines: LineScratch) -> Verdict {
        let c = configuration
        guard let p = text.baseAddress, text.count > 0 else { return .drop("empty") }
        let n = text.count
        lines.repetition.bounds.removeAll(keepingCapacity: true)
        var count = 0, punct = 0, short = 0, newlines = 0
        var start = 0
        while start <= n {
            var end = start
            while end < n && p[end] != 0x0A { end += 1 }
            if end < n { newlines += 1 }
            if let info = Self.lineInfo(p, start, end, stopStrings) {
                count += 1
                if info.endsWithStop { punct += 1 }
                if info.characters <= c.shortLineLength { short += 1 }
                lines.repetition.bounds.append(start)
                lines.repetition.bounds.append(end)
            }
            start = end + 1
        }
        guard count > 0 else { return .drop("empty") }
        let punctRatio = Double(punct) / Double(count)
        if punctRatio < c.linePunctThr && !(punctRatio == 0 && c.linePunctExcludeZero) { return .drop("line_punct_ratio") }
        if Double(short) / Double(count) > c.shortLineThr { return .drop("short_line_ratio") }
        let bounds = lines.repetition.bounds
        let repeatedChars = lines.repetition.duplicates(p, bounds).2
        if Double(repeatedChars) / Double(countCharacters(text) - newlines) > c.charDuplicatesRatio { return .drop("char_dup_ratio") }
        // Every whitespace-separated chunk holds at least one word, so a ratio that passes with
        // the chunk count passes with the word count: split only when it does not.
        let chunks = pythonChunkCount(text)
        if chunks > 0 && !(Double(newlines) / Double(chunks) > c.newLineRatio) { return .keep }
        let wordCount = splitter.countWords(text, scratch: words)
        if wordCount > 0 && Double(newlines) / Double(wordCount) > c.newLineRatio { return .drop("list_ratio") }
        return .keep
    }

    /// For a line `p[start..<end]` that is not blank: its length in scalars and whether it ends
    /// with terminal punctuation (or one of `stops`); nil for a blank line.
    @inline(__always)
    static func lineInfo(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ stops: [[UInt8]]?) -> (characters: Int, endsWithStop: Bool)? {
        var blank = true
        var i = start
        while i < end {
            let b = p[i]
            if b < 0x80 {
                if !((b >= 9 && b <= 13) || (b >= 28 && b <= 32)) {
                    blank = false
                    break
                }
                i += 1
            } else {
                let (s, len) = decodeScalar(p, i)
                if !isPythonSpace(s) {
                    blank = false
                    break
                }
                i += len
            }
        }
        if blank { return nil }
        let characters = countCharacters(UnsafeBufferPointer(start: p + start, count: end - start))
        var k = end - 1
        while k > start && p[k] & 0xC0 == 0x80 { k -= 1 }
        let ends: Bool
        if let stops {
            ends = stops.contains { s in s.count <= end - start && memEqual(p + end - s.count, s, s.count) }
        } else {
            ends = CharacterClasses.shared.has(decodeScalar(p, k).0, .terminalPunct)
        }
        return (characters, ends)
    }
}

/// Per-batch buffers for line-based rules.
final class LineScratch {
    let repetition = RepetitionScratch()
}

/// The number of maximal runs of non-whitespace (Python's `str.isspace`) in UTF-8 `text`.
func pythonChunkCount(_ text: UnsafeBufferPointer<UInt8>) -> Int {
    guard let p = text.baseAddress else { return 0 }
    let n = text.count
    var chunks = 0
    var inChunk = false
    var i = 0
    while i < n {
        let b = p[i]
        var space: Bool
        if b < 0x80 {
            space = b == 0x20 || (b >= 9 && b <= 13) || (b >= 28 && b <= 31)
            i += 1
        } else if b == 0xC2 || b == 0xE1 || b == 0xE2 || b == 0xE3 {
            let (s, len) = decodeScalar(p, i)
            space = isPythonSpace(s)
            i += len
        } else {
            space = false
            i += 1
        }
        if !space && !inChunk { chunks += 1 }
        inChunk = !space
    }
    return chunks
}
