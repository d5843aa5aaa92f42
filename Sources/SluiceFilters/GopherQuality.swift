import SluiceCore

/// Gopher's quality rules (Rae et al. 2021, MassiveText), exactly as datatrove 0.10's
/// `GopherQualityFilter` applies them.
///
/// YAML type `gopher_quality`. Words come from ``WordSplitter`` (spaCy's English rules; one word
/// per character for Chinese, Japanese and Thai script, see ``LanguageScope``); "non-symbol
/// words" are those with a character outside datatrove's punctuation set. The checks, in order,
/// each with the reason it drops for:
///
/// | option | default | drops when | reason |
/// |---|---|---|---|
/// | `min_doc_words` | 50 | non-symbol words < min | `gopher_short_doc` |
/// | `max_doc_words` | 100000 | non-symbol words > max | `gopher_long_doc` |
/// | `min_avg_word_length` | 3 | mean length of non-symbol words < min | `gopher_below_avg_threshold` |
/// | `max_avg_word_length` | 10 | mean length > max | `gopher_above_avg_threshold` |
/// | `max_symbol_word_ratio` | 0.1 | `#` count / words > max | `gopher_too_many_hashes` |
/// | (same) | | (`...` count + `…` count) / words > max | `gopher_too_many_ellipsis` |
/// | `max_bullet_lines_ratio` | 0.9 | lines starting (after spaces) with `•` or `-` / lines > max | `gopher_too_many_bullets` |
/// | `max_ellipsis_lines_ratio` | 0.3 | lines ending (before spaces) with `...` or `…` / lines > max | `gopher_too_many_end_ellipsis` |
/// | `max_non_alpha_words_ratio` | 0.8 | words with a letter / words < this (datatrove's name; it is a minimum) | `gopher_below_alpha_threshold` |
/// | `min_stop_words` | 2 | distinct `stop_words` present < min | `gopher_enough_stop_words` |
///
/// Word lengths are in Unicode scalars; `words` counts every word, symbols included; lines are
/// Python's `splitlines()` lines (`\n`, `\r`, `\r\n`, VT, FF, FS, GS, RS, U+0085, U+2028,
/// U+2029). `stop_words` defaults to Gopher's `the be to of and that have with` and matches
/// words exactly (case-sensitive), as datatrove does. As in datatrove, a check whose threshold
/// is `null` or `0` is skipped. A document with no words at all can only get past
/// `min_doc_words` when that check is off; the ratio checks then count as passed (datatrove
/// would fail with a division by zero).
///
/// Language: by default only English documents are filtered (`languages: [en]`); the stop words
/// and word-length bounds are English ones. See ``LanguageScope`` for `languages` and
/// `default_language`.
///
/// ```yaml
/// - type: gopher_quality
///   min_doc_words: 50
///   min_stop_words: 2
///   languages: [en]
/// ```
public struct GopherQuality: Stage {
    public struct Configuration: Decodable, Sendable {
        public var minDocWords: Int?
        public var maxDocWords: Int?
        public var minAvgWordLength: Double?
        public var maxAvgWordLength: Double?
        public var maxSymbolWordRatio: Double?
        public var maxBulletLinesRatio: Double?
        public var maxEllipsisLinesRatio: Double?
        public var maxNonAlphaWordsRatio: Double?
        public var minStopWords: Int?
        public var stopWords: [String]
        public var languages: [String]?
        public var defaultLanguage: String

        public static let gopherStopWords = ["the", "be", "to", "of", "and", "that", "have", "with"]

        enum CodingKeys: String, CodingKey {
            case minDocWords = "min_doc_words", maxDocWords = "max_doc_words"
            case minAvgWordLength = "min_avg_word_length", maxAvgWordLength = "max_avg_word_length"
            case maxSymbolWordRatio = "max_symbol_word_ratio", maxBulletLinesRatio = "max_bullet_lines_ratio"
            case maxEllipsisLinesRatio = "max_ellipsis_lines_ratio", maxNonAlphaWordsRatio = "max_non_alpha_words_ratio"
            case minStopWords = "min_stop_words", stopWords = "stop_words"
            case languages, defaultLanguage = "default_language"
        }

        public init(
            minDocWords: Int? = 50, maxDocWords: Int? = 100_000, minAvgWordLength: Double? = 3, maxAvgWordLength: Double? = 10,
            maxSymbolWordRatio: Double? = 0.1, maxBulletLinesRatio: Double? = 0.9, maxEllipsisLinesRatio: Double? = 0.3,
            maxNonAlphaWordsRatio: Double? = 0.8, minStopWords: Int? = 2, stopWords: [String] = gopherStopWords,
            languages: [String]? = ["en"], defaultLanguage: String = "en"
        ) {
            self.minDocWords = minDocWords
            self.maxDocWords = maxDocWords
            self.minAvgWordLength = minAvgWordLength
            self.maxAvgWordLength = maxAvgWordLength
            self.maxSymbolWordRatio = maxSymbolWordRatio
            self.maxBulletLinesRatio = maxBulletLinesRatio
            self.maxEllipsisLinesRatio = maxEllipsisLinesRatio
            self.maxNonAlphaWordsRatio = maxNonAlphaWordsRatio
            self.minStopWords = minStopWords
            self.stopWords = stopWords
            self.languages = languages
            self.defaultLanguage = defaultLanguage
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            minDocWords = try c.decodeThreshold(Int.self, forKey: .minDocWords, default: 50)
            maxDocWords = try c.decodeThreshold(Int.self, forKey: .maxDocWords, default: 100_000)
            minAvgWordLength = try c.decodeThreshold(Double.self, forKey: .minAvgWordLength, default: 3)
            maxAvgWordLength = try c.decodeThreshold(Double.self, forKey: .maxAvgWordLength, default: 10)
            maxSymbolWordRatio = try c.decodeThreshold(Double.self, forKey: .maxSymbolWordRatio, default: 0.1)
            maxBulletLinesRatio = try c.decodeThreshold(Double.self, forKey: .maxBulletLinesRatio, default: 0.9)
            maxEllipsisLinesRatio = try c.decodeThreshold(Double.self, forKey: .maxEllipsisLinesRatio, default: 0.3)
            maxNonAlphaWordsRatio = try c.decodeThreshold(Double.self, forKey: .maxNonAlphaWordsRatio, default: 0.8)
            minStopWords = try c.decodeThreshold(Int.self, forKey: .minStopWords, default: 2)
            stopWords = try c.decodeIfPresent([String].self, forKey: .stopWords) ?? Self.gopherStopWords
            languages = try c.decodeLanguages(forKey: .languages, default: ["en"])
            defaultLanguage = try c.decodeIfPresent(String.self, forKey: .defaultLanguage) ?? "en"
        }
    }

    public static let type = "gopher_quality"
    public static let summary = "Gopher quality rules (word counts and lengths, symbols, bullets, ellipses, letters, stop words), as datatrove."
    public static let options: [StageOption] = [
        StageOption("min_doc_words", "int | null", default: "50", help: "Drop documents with fewer non-symbol words (gopher_short_doc); null or 0 turns the check off."),
        StageOption("max_doc_words", "int | null", default: "100000", help: "Drop documents with more non-symbol words (gopher_long_doc)."),
        StageOption("min_avg_word_length", "number | null", default: "3", help: "Drop when the mean length of non-symbol words is below this (gopher_below_avg_threshold)."),
        StageOption("max_avg_word_length", "number | null", default: "10", help: "Drop when the mean length of non-symbol words is above this (gopher_above_avg_threshold)."),
        StageOption("max_symbol_word_ratio", "number | null", default: "0.1", help: "Drop when '#' per word (gopher_too_many_hashes) or '...'/'…' per word (gopher_too_many_ellipsis) is above this."),
        StageOption("max_bullet_lines_ratio", "number | null", default: "0.9", help: "Drop when the share of lines starting with '•' or '-' is above this (gopher_too_many_bullets)."),
        StageOption("max_ellipsis_lines_ratio", "number | null", default: "0.3", help: "Drop when the share of lines ending with '...' or '…' is above this (gopher_too_many_end_ellipsis)."),
        StageOption("max_non_alpha_words_ratio", "number | null", default: "0.8", help: "Drop when the share of words with a letter is below this (gopher_below_alpha_threshold; datatrove's name)."),
        StageOption("min_stop_words", "int | null", default: "2", help: "Drop when fewer distinct stop words occur (gopher_enough_stop_words)."),
        StageOption("stop_words", "[string]", default: "[the, be, to, of, and, that, have, with]", help: "The stop words, matched exactly (case-sensitive)."),
        LanguageOptionHelp.languages("[en]"),
        LanguageOptionHelp.defaultLanguage,
    ]
    public static let dropReasons: [DropReason] = [
        "gopher_short_doc", "gopher_long_doc", "gopher_below_avg_threshold", "gopher_above_avg_threshold",
        "gopher_too_many_hashes", "gopher_too_many_ellipsis", "gopher_too_many_bullets", "gopher_too_many_end_ellipsis",
        "gopher_below_alpha_threshold", "gopher_enough_stop_words",
    ]

    public let configuration: Configuration
    let scope: LanguageScope
    let stopWords: StopWordSet

    public init(configuration c: Configuration) throws {
        for (v, name) in [(c.minDocWords, "min_doc_words"), (c.maxDocWords, "max_doc_words"), (c.minStopWords, "min_stop_words")] {
            if let v, v < 0 { throw StageConfigurationError("\(name) must not be negative, got \(v)") }
        }
        try validate(c.minAvgWordLength, "min_avg_word_length")
        try validate(c.maxAvgWordLength, "max_avg_word_length")
        try validate(c.maxSymbolWordRatio, "max_symbol_word_ratio")
        try validate(c.maxBulletLinesRatio, "max_bullet_lines_ratio")
        try validate(c.maxEllipsisLinesRatio, "max_ellipsis_lines_ratio")
        try validate(c.maxNonAlphaWordsRatio, "max_non_alpha_words_ratio", maximum: 1)
        if let lo = c.minDocWords, let hi = c.maxDocWords, lo > 0, hi > 0, lo > hi {
            throw StageConfigurationError("min_doc_words (\(lo)) is greater than max_doc_words (\(hi)); no document could pass")
        }
        if let m = c.minStopWords, m > Set(c.stopWords).count {
            throw StageConfigurationError("min_stop_words (\(m)) is more than the \(Set(c.stopWords).count) distinct stop_words; no document could pass")
        }
        configuration = c
        scope = try LanguageScope(languages: c.languages, defaultLanguage: c.defaultLanguage)
        stopWords = StopWordSet(c.stopWords)
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        let scratch = FilterScratch()
        var skipped = 0
        batch.retain { doc in
            let language = scope.language(of: doc)
            guard scope.applies(to: language) else {
                skipped += 1
                return .keep
            }
            let splitter = scratch.splitter(for: language)
            return doc.text.withUTF8Bytes { verdict(for: $0, splitter: splitter, scratch: scratch.words) }
        }
        if skipped > 0 { stats.counters["skipped_language", default: 0] += skipped }
    }

    /// The verdict for one text, filtered whatever its language, with the English word rule
    /// unless `splitter` says otherwise.
    public func verdict(for text: String, splitter: WordSplitter = WordSplitter()) -> Verdict {
        let scratch = WordScratch()
        return text.withUTF8Bytes { verdict(for: $0, splitter: splitter, scratch: scratch) }
    }

    func verdict(for text: UnsafeBufferPointer<UInt8>, splitter: WordSplitter, scratch: WordScratch) -> Verdict {
        let c = configuration
        var sink = GopherWordStats(stopWords: stopWords, base: text.baseAddress)
        splitter.split(text, scratch: scratch, into: &sink)
        let words = sink.words
        if let m = c.minDocWords, m != 0, sink.nonSymbol < m { return .drop("gopher_short_doc") }
        if let m = c.maxDocWords, m != 0, sink.nonSymbol > m { return .drop("gopher_long_doc") }
        // np.mean over an empty list is nan, and every comparison with nan is false.
        let average = sink.nonSymbol > 0 ? Double(sink.nonSymbolCharacters) / Double(sink.nonSymbol) : .nan
        if let m = c.minAvgWordLength, m != 0, average < m { return .drop("gopher_below_avg_threshold") }
        if let m = c.maxAvgWordLength, m != 0, average > m { return .drop("gopher_above_avg_threshold") }
        let lines = GopherLineStats(text)
        if let m = c.maxSymbolWordRatio, m != 0, words > 0 {
            if Double(lines.hashes) / Double(words) > m { return .drop("gopher_too_many_hashes") }
            if Double(lines.ellipses) / Double(words) > m { return .drop("gopher_too_many_ellipsis") }
        }
        if lines.lines > 0 {
            if let m = c.maxBulletLinesRatio, m != 0, Double(lines.bulletLines) / Double(lines.lines) > m {
                return .drop("gopher_too_many_bullets")
            }
            if let m = c.maxEllipsisLinesRatio, m != 0, Double(lines.ellipsisLines) / Double(lines.lines) > m {
                return .drop("gopher_too_many_end_ellipsis")
            }
        }
        if let m = c.maxNonAlphaWordsRatio, m != 0, words > 0, Double(sink.alphabeticWords) / Double(words) < m {
            return .drop("gopher_below_alpha_threshold")
        }
        if let m = c.minStopWords, m != 0, sink.distinctStopWords < m { return .drop("gopher_enough_stop_words") }
        return .keep
    }
}

/// Word statistics for the Gopher quality rules, gathered while splitting.
struct GopherWordStats: WordSink {
    let stopWords: StopWordSet
    let base: UnsafePointer<UInt8>?
    var words = 0
    var nonSymbol = 0
    var nonSymbolCharacters = 0
    var alphabeticWords = 0
    var seenStopWords: UInt64 = 0
    var seenMore: Set<Int> = []

    init(stopWords: StopWordSet, base: UnsafePointer<UInt8>?) {
        self.stopWords = stopWords
        self.base = base
    }

    var distinctStopWords: Int { seenStopWords.nonzeroBitCount + seenMore.count }

    @inline(__always)
    mutating func word(start: Int, end: Int, characters: Int, properties: WordProperties) {
        words &+= 1
        if properties.contains(.nonSymbol) {
            nonSymbol &+= 1
            nonSymbolCharacters &+= characters
        }
        if properties.contains(.alphabetic) { alphabeticWords &+= 1 }
        let length = end - start
        if length <= stopWords.maxLength && length >= stopWords.minLength, let base,
            let k = stopWords.index(of: base + start, length)
        {
            if k < 64 { seenStopWords |= 1 << UInt64(k) } else { seenMore.insert(k) }
        }
    }
}

/// A small set of words looked up by their UTF-8 bytes without allocating.
struct StopWordSet: Sendable {
    let words: [[UInt8]]
    let minLength: Int
    let maxLength: Int

    init(_ list: [String]) {
        var seen = Set<[UInt8]>()
        var words: [[UInt8]] = []
        for w in list where !w.isEmpty {
            let bytes = Array(w.utf8)
            if seen.insert(bytes).inserted { words.append(bytes) }
        }
        self.words = words
        minLength = words.map(\.count).min() ?? 1
        maxLength = words.map(\.count).max() ?? 0
    }

    @inline(__always)
    func index(of p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        for (k, w) in words.enumerated() where w.count == n && w[0] == p[0] {
            if w.withUnsafeBufferPointer({ memEqual($0.baseAddress!, p, n) }) { return k }
        }
        return nil
    }
}

/// Counts for the Gopher character and line rules, in one pass over the bytes: `#`, `...`
/// (non-overlapping, as Python's `str.count`), `…`, and Python `splitlines()` lines that start
/// with a bullet or end with an ellipsis once whitespace is stripped.
struct GopherLineStats {
    var hashes = 0
    var ellipses = 0
    var lines = 0
    var bulletLines = 0
    var ellipsisLines = 0

    // 0 nothing special, 1 '#', 2 '.', 3 line break byte (\n \r VT FF FS GS RS), 4 0xC2, 5 0xE2
    static let classes: [UInt8] = (0..<256).map { i -> UInt8 in
        switch i {
        case 0x23: 1
        case 0x2E: 2
        case 0x0A, 0x0D, 0x0B, 0x0C, 0x1C, 0x1D, 0x1E: 3
        case 0xC2: 4
        case 0xE2: 5
        default: 0
        }
    }

    init(_ text: UnsafeBufferPointer<UInt8>) {
        let n = text.count
        guard n > 0, let p = text.baseAddress else { return }
        Self.classes.withUnsafeBufferPointer { table in
            let cls = table.baseAddress!
            var lineStart = 0
            var i = 0
            while i < n {
                let c = cls[Int(p[i])]
                if c == 0 {
                    i &+= 1
                    continue
                }
                switch c {
                case 1:
                    hashes &+= 1
                    i &+= 1
                case 2:
                    if i + 2 < n && p[i + 1] == 0x2E && p[i + 2] == 0x2E {
                        ellipses &+= 1
                        i &+= 3
                    } else {
                        i &+= 1
                    }
                case 3:
                    line(p, lineStart, i)
                    i &+= p[i] == 0x0D && i + 1 < n && p[i + 1] == 0x0A ? 2 : 1
                    lineStart = i
                case 4:
                    if i + 1 < n && p[i + 1] == 0x85 {
                        line(p, lineStart, i)
                        i &+= 2
                        lineStart = i
                    } else {
                        i &+= 1
                    }
                default:  // 0xE2
                    if i + 2 < n && p[i + 1] == 0x80 {
                        let b2 = p[i + 2]
                        if b2 == 0xA6 {
                            ellipses &+= 1
                        } else if b2 == 0xA8 || b2 == 0xA9 {
                            line(p, lineStart, i)
                            i &+= 3
                            lineStart = i
                            continue
                        }
                    }
                    i &+= 1
                }
            }
            if lineStart < n { line(p, lineStart, n) }
        }
    }

    private mutating func line(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) {
        lines &+= 1
        // lstrip, then starts with "•" (E2 80 A2) or "-"
        var i = start
        while i < end {
            let (s, len) = decodeScalar(p, i)
            guard isPythonSpace(s) else { break }
            i &+= len
        }
        if i < end && (p[i] == 0x2D || (i + 2 < end && p[i] == 0xE2 && p[i + 1] == 0x80 && p[i + 2] == 0xA2)) {
            bulletLines &+= 1
        }
        // rstrip, then ends with "..." or "…" (E2 80 A6)
        var j = end
        while j > i {
            var k = j - 1
            while k > i && p[k] & 0xC0 == 0x80 { k -= 1 }
            let (s, _) = decodeScalar(p, k)
            guard isPythonSpace(s) else { break }
            j = k
        }
        if j - i >= 3 && ((p[j - 1] == 0x2E && p[j - 2] == 0x2E && p[j - 3] == 0x2E) || (p[j - 3] == 0xE2 && p[j - 2] == 0x80 && p[j - 1] == 0xA6)) {
            ellipsisLines &+= 1
        }
    }
}
