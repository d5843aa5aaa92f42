import SluiceCore

/// C4's line rules (Raffel et al. 2020), exactly as datatrove 0.10's `C4QualityFilter`: it
/// removes bad lines, drops some documents outright, and keeps the remaining lines as the new
/// text.
///
/// YAML type `c4_quality`. The text is split into lines (Python's `splitlines()`), each line
/// stripped of whitespace, and then, line by line:
///
/// 1. a line with a whitespace-separated word longer than `max_word_length` (1000 characters)
///    is removed;
/// 2. with `remove_citations`, `[1]`, `[]`, `[edit]` and `[citation needed]` are cut out;
/// 3. with `filter_no_terminal_punct`, a line that does not end in `.` `?` `!` `"` `'`, or ends
///    in `...`, is removed;
/// 4. a line with fewer than `min_words_per_line` (3) whitespace-separated words is removed;
/// 5. with `filter_lorem_ipsum`, "lorem ipsum" anywhere (any case) drops the document:
///    `lorem_ipsum`;
/// 6. with `filter_javascript`, a line containing "javascript" (any case) is removed;
/// 7. with `filter_curly_bracket`, a `{` drops the document: `curly_bracket`;
/// 8. with `filter_policy`, a line containing "terms of use", "privacy policy", "cookie
///    policy", "uses cookies", "use of cookies" or "use cookies" (any case) is removed;
/// 9. the sentences of each kept line are counted with spaCy's sentencizer rule (a sentence
///    ends at `.`, `!`, `?` and the other sentence punctuation once a token that is not
///    punctuation follows).
///
/// A document with fewer than `min_num_sentences` (5) sentences in its kept lines is dropped:
/// `too_few_sentences`. Otherwise its text becomes the kept lines joined by `\n` and stripped.
/// Lines 1, 4 and 9 use the line as it was before citations were cut. `-1` turns off
/// `min_num_sentences`, `min_words_per_line` and `max_word_length`, as in datatrove.
///
/// With `split_paragraph: false` the units are the text's sentences (spaCy's sentencizer over
/// the whole text) instead of lines, each counts as one sentence, and kept ones are joined by a
/// space. FineWeb ran this filter with `filter_no_terminal_punct: false`.
///
/// Counters: `lines_removed` (lines removed by rules 1, 3, 4, 6 and 8) and `documents_changed`.
/// Language: `languages` defaults to `[en]` (terminal punctuation, word counts and phrases are
/// English); see ``LanguageScope``.
///
/// ```yaml
/// - type: c4_quality
///   filter_no_terminal_punct: false   # as FineWeb
/// ```
public struct C4Quality: Stage {
    public struct Configuration: Decodable, Sendable {
        public var splitParagraph: Bool
        public var removeCitations: Bool
        public var filterNoTerminalPunct: Bool
        public var minNumSentences: Int
        public var minWordsPerLine: Int
        public var maxWordLength: Int
        public var filterLoremIpsum: Bool
        public var filterJavascript: Bool
        public var filterCurlyBracket: Bool
        public var filterPolicy: Bool
        public var languages: [String]?
        public var defaultLanguage: String

        enum CodingKeys: String, CodingKey {
            case splitParagraph = "split_paragraph", removeCitations = "remove_citations"
            case filterNoTerminalPunct = "filter_no_terminal_punct", minNumSentences = "min_num_sentences"
            case minWordsPerLine = "min_words_per_line", maxWordLength = "max_word_length"
            case filterLoremIpsum = "filter_lorem_ipsum", filterJavascript = "filter_javascript"
            case filterCurlyBracket = "filter_curly_bracket", filterPolicy = "filter_policy"
            case languages, defaultLanguage = "default_language"
        }

        public init(
            splitParagraph: Bool = true, removeCitations: Bool = true, filterNoTerminalPunct: Bool = true,
            minNumSentences: Int = 5, minWordsPerLine: Int = 3, maxWordLength: Int = 1000, filterLoremIpsum: Bool = true,
            filterJavascript: Bool = true, filterCurlyBracket: Bool = true, filterPolicy: Bool = true,
            languages: [String]? = ["en"], defaultLanguage: String = "en"
        ) {
            self.splitParagraph = splitParagraph
            self.removeCitations = removeCitations
            self.filterNoTerminalPunct = filterNoTerminalPunct
            self.minNumSentences = minNumSentences
            self.minWordsPerLine = minWordsPerLine
            self.maxWordLength = maxWordLength
            self.filterLoremIpsum = filterLoremIpsum
            self.filterJavascript = filterJavascript
            self.filterCurlyBracket = filterCurlyBracket
            self.filterPolicy = filterPolicy
            self.languages = languages
            self.defaultLanguage = defaultLanguage
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            splitParagraph = try c.decodeIfPresent(Bool.self, forKey: .splitParagraph) ?? true
            removeCitations = try c.decodeIfPresent(Bool.self, forKey: .removeCitations) ?? true
            filterNoTerminalPunct = try c.decodeIfPresent(Bool.self, forKey: .filterNoTerminalPunct) ?? true
            minNumSentences = try c.decodeIfPresent(Int.self, forKey: .minNumSentences) ?? 5
            minWordsPerLine = try c.decodeIfPresent(Int.self, forKey: .minWordsPerLine) ?? 3
            maxWordLength = try c.decodeIfPresent(Int.self, forKey: .maxWordLength) ?? 1000
            filterLoremIpsum = try c.decodeIfPresent(Bool.self, forKey: .filterLoremIpsum) ?? true
            filterJavascript = try c.decodeIfPresent(Bool.self, forKey: .filterJavascript) ?? true
            filterCurlyBracket = try c.decodeIfPresent(Bool.self, forKey: .filterCurlyBracket) ?? true
            filterPolicy = try c.decodeIfPresent(Bool.self, forKey: .filterPolicy) ?? true
            languages = try c.decodeLanguages(forKey: .languages, default: ["en"])
            defaultLanguage = try c.decodeIfPresent(String.self, forKey: .defaultLanguage) ?? "en"
        }
    }

    public static let type = "c4_quality"
    public static let summary = "C4 line rules (terminal punctuation, short lines, javascript, policy, lorem ipsum, braces, sentences), as datatrove."
    public static let options: [StageOption] = [
        StageOption("split_paragraph", "bool", default: "true", help: "Work on lines (true, as C4) or on spaCy-style sentences joined by spaces (false)."),
        StageOption("remove_citations", "bool", default: "true", help: "Cut [1], [edit] and [citation needed] out of lines."),
        StageOption("filter_no_terminal_punct", "bool", default: "true", help: "Remove lines not ending in . ? ! \" ' (or ending in ...); FineWeb used false."),
        StageOption("min_num_sentences", "int", default: "5", help: "Drop documents with fewer sentences in kept lines (too_few_sentences); -1 turns it off."),
        StageOption("min_words_per_line", "int", default: "3", help: "Remove lines with fewer whitespace-separated words; -1 turns it off."),
        StageOption("max_word_length", "int", default: "1000", help: "Remove lines with a longer word (characters); -1 turns it off."),
        StageOption("filter_lorem_ipsum", "bool", default: "true", help: "Drop documents containing 'lorem ipsum' (lorem_ipsum)."),
        StageOption("filter_javascript", "bool", default: "true", help: "Remove lines containing 'javascript'."),
        StageOption("filter_curly_bracket", "bool", default: "true", help: "Drop documents containing '{' in a kept line (curly_bracket)."),
        StageOption("filter_policy", "bool", default: "true", help: "Remove lines with 'terms of use', 'privacy policy', 'cookie policy', 'uses cookies', 'use of cookies', 'use cookies'."),
        LanguageOptionHelp.languages("[en]"),
        LanguageOptionHelp.defaultLanguage,
    ]
    public static let dropReasons: [DropReason] = ["lorem_ipsum", "curly_bracket", "too_few_sentences"]

    public let configuration: Configuration
    let scope: LanguageScope

    public init(configuration c: Configuration) throws {
        for (v, name) in [(c.minNumSentences, "min_num_sentences"), (c.minWordsPerLine, "min_words_per_line"), (c.maxWordLength, "max_word_length")] where v < -1 {
            throw StageConfigurationError("\(name) must be -1 (off) or at least 0, got \(v)")
        }
        configuration = c
        scope = try LanguageScope(languages: c.languages, defaultLanguage: c.defaultLanguage)
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        let scratch = FilterScratch()
        var c4 = C4Scratch()
        var skipped = 0
        var changed = 0
        var removedLines = 0
        batch.retain { doc in
            let language = scope.language(of: doc)
            guard scope.applies(to: language) else {
                skipped += 1
                return .keep
            }
            let splitter = scratch.splitter(for: language)
            let result = doc.text.withUTF8Bytes { apply($0, splitter: splitter, words: scratch.words, scratch: &c4) }
            removedLines += c4.removedLines
            switch result {
            case .drop(let reason): return .drop(reason)
            case .keep(let unchanged):
                if !unchanged {
                    doc.text = String(decoding: c4.output, as: UTF8.self)
                    changed += 1
                }
                return .keep
            }
        }
        if skipped > 0 { stats.counters["skipped_language", default: 0] += skipped }
        if changed > 0 { stats.counters["documents_changed", default: 0] += changed }
        if removedLines > 0 { stats.counters["lines_removed", default: 0] += removedLines }
    }

    /// What the filter makes of one text, whatever its language.
    public enum TextOutcome: Sendable, Equatable {
        /// Kept, with the text of the kept lines.
        case keep(String)
        case drop(DropReason)
    }

    /// What the filter makes of one text, whatever its language: the new text, or the drop.
    public func apply(to text: String, splitter: WordSplitter = WordSplitter()) -> TextOutcome {
        let words = WordScratch()
        var scratch = C4Scratch()
        let r = text.withUTF8Bytes { apply($0, splitter: splitter, words: words, scratch: &scratch) }
        switch r {
        case .drop(let reason): return .drop(reason)
        case .keep(let unchanged): return .keep(unchanged ? text : String(decoding: scratch.output, as: UTF8.self))
        }
    }

    enum Outcome {
        case keep(unchanged: Bool)
        case drop(DropReason)
    }

    func apply(_ text: UnsafeBufferPointer<UInt8>, splitter: WordSplitter, words: WordScratch, scratch: inout C4Scratch) -> Outcome {
        let c = configuration
        scratch.output.removeAll(keepingCapacity: true)
        scratch.removedLines = 0
        guard let p = text.baseAddress, text.count > 0 else {
            return c.minNumSentences > 0 ? .drop("too_few_sentences") : .keep(unchanged: true)
        }
        let n = text.count
        // The units: lines, or sentences.
        scratch.units.removeAll(keepingCapacity: true)
        if c.splitParagraph {
            pythonSplitLines(p, n, into: &scratch.units)
        } else {
            var spans = SentenceSpans()
            splitter.split(text, scratch: words, into: &spans)
            spans.finish()
            var start = 0
            if spans.ends.isEmpty {
                scratch.units.append(0); scratch.units.append(n)
            } else {
                for (k, e) in spans.ends.enumerated() {
                    let end = k == spans.ends.count - 1 ? n : e
                    scratch.units.append(start); scratch.units.append(end)
                    start = end
                }
            }
        }
        var sentences = 0
        // Kept lines: (start, end) in the text, or (-1 - offset, length) in `scratch.line` for
        // lines with citations cut out.
        scratch.kept.removeAll(keepingCapacity: true)
        scratch.line.removeAll(keepingCapacity: true)
        var untouched = true  // every unit kept as it was
        let units = scratch.units
        var u = 0
        while u < units.count {
            let ua = units[u], ub = units[u + 1]
            u += 2
            var a = ua, b = ub
            // strip
            while a < b {
                let (s, len) = decodeScalar(p, a)
                guard isPythonSpace(s) else { break }
                a += len
            }
            while b > a {
                var k = b - 1
                while k > a && p[k] & 0xC0 == 0x80 { k -= 1 }
                guard isPythonSpace(decodeScalar(p, k).0) else { break }
                b = k
            }
            if a != ua || b != ub { untouched = false }
            // words of the stripped line (before citations are cut)
            let (wordCount, longest) = pythonWordStats(p, a, b)
            if c.maxWordLength != -1 && longest > c.maxWordLength {
                scratch.removedLines += 1
                untouched = false
                continue
            }
            // the line, with citations cut
            var line = UnsafeBufferPointer(start: p + a, count: b - a)
            var cut = -1
            if c.removeCitations && line.contains(0x5B) {
                cut = scratch.line.count
                removeCitations(p, a, b, into: &scratch.line)
                if scratch.line.count - cut == b - a {
                    scratch.line.removeSubrange(cut...)  // nothing was cut
                    cut = -1
                }
            }
            let verdict: LineVerdict
            if cut >= 0 {
                verdict = scratch.line.withUnsafeBufferPointer { all in
                    line = UnsafeBufferPointer(rebasing: all[cut...])
                    return lineVerdict(line, wordCount: wordCount)
                }
            } else {
                verdict = lineVerdict(line, wordCount: wordCount)
            }
            switch verdict {
            case .dropDocument(let reason): return .drop(reason)
            case .remove:
                scratch.removedLines += 1
                untouched = false
                continue
            case .keep:
                break
            }
            if c.minNumSentences != -1 && sentences < c.minNumSentences {
                if c.splitParagraph {
                    var counter = SentenceCounter()
                    if cut >= 0 {
                        scratch.line.withUnsafeBufferPointer { splitter.split(UnsafeBufferPointer(rebasing: $0[cut...]), scratch: words, into: &counter) }
                    } else {
                        splitter.split(line, scratch: words, into: &counter)
                    }
                    sentences += counter.sentences
                } else {
                    sentences += 1
                }
            }
            if cut >= 0 {
                untouched = false
                scratch.kept.append(-1 - cut)
                scratch.kept.append(scratch.line.count - cut)
            } else {
                scratch.kept.append(a)
                scratch.kept.append(b)
            }
        }
        if sentences < c.minNumSentences { return .drop("too_few_sentences") }
        if untouched && c.splitParagraph {
            // Every line kept as it was: the output is the input when the lines were separated
            // by single '\n' and the text neither starts nor ends with whitespace.
            var same = true
            var k = 0
            while same && k + 2 < units.count {
                same = units[k + 2] - units[k + 1] == 1 && p[units[k + 1]] == 0x0A
                k += 2
            }
            if same && (units.isEmpty || units[units.count - 1] == n) && !hasOuterWhitespace(p, n) {
                return .keep(unchanged: true)
            }
        }
        // "\n".join(kept_lines).strip()
        scratch.output.removeAll(keepingCapacity: true)
        var k = 0
        let separator: UInt8 = c.splitParagraph ? 0x0A : 0x20
        while k < scratch.kept.count {
            if k > 0 { scratch.output.append(separator) }
            let x = scratch.kept[k], y = scratch.kept[k + 1]
            if x >= 0 {
                scratch.output.append(contentsOf: UnsafeBufferPointer(start: p + x, count: y - x))
            } else {
                scratch.output.append(contentsOf: scratch.line[(-1 - x)..<(-1 - x + y)])
            }
            k += 2
        }
        var lo = 0, hi = scratch.output.count
        scratch.output.withUnsafeBufferPointer { o in
            guard let q = o.baseAddress else { return }
            while lo < hi {
                let (s, len) = decodeScalar(q, lo)
                guard isPythonSpace(s) else { break }
                lo += len
            }
            while hi > lo {
                var k = hi - 1
                while k > lo && q[k] & 0xC0 == 0x80 { k -= 1 }
                guard isPythonSpace(decodeScalar(q, k).0) else { break }
                hi = k
            }
        }
        if lo > 0 || hi < scratch.output.count {
            scratch.output = Array(scratch.output[lo..<hi])
        }
        let unchanged = scratch.output.count == n && scratch.output.withUnsafeBufferPointer { memEqual($0.baseAddress!, p, n) }
        return .keep(unchanged: unchanged)
    }

    enum LineVerdict {
        case keep, remove
        case dropDocument(DropReason)
    }

    private func lineVerdict(_ line: UnsafeBufferPointer<UInt8>, wordCount: Int) -> LineVerdict {
        let c = configuration
        let n = line.count
        if c.filterNoTerminalPunct {
            guard n > 0 else { return .remove }
            let last = line[n - 1]
            let endsWell = last == 0x2E || last == 0x3F || last == 0x21 || last == 0x22 || last == 0x27
            let ellipsis = n >= 3 && line[n - 1] == 0x2E && line[n - 2] == 0x2E && line[n - 3] == 0x2E
            if !endsWell || ellipsis { return .remove }
        }
        if wordCount < c.minWordsPerLine { return .remove }
        guard n > 0, let p = line.baseAddress else { return .keep }
        // Phrases are found in line.lower(): only ASCII letters (and the Kelvin sign, which
        // lowers to 'k') can spell them.
        var javascript = false, policy = false
        var i = 0
        while i < n {
            switch p[i] | 0x20 {
            case 0x6C:  // l
                if c.filterLoremIpsum && C4Phrases.matches(p, i, n, C4Phrases.loremIpsum) { return .dropDocument("lorem_ipsum") }
            case 0x6A:  // j
                if c.filterJavascript && !javascript { javascript = C4Phrases.matches(p, i, n, C4Phrases.javascript) }
            case 0x74:  // t
                if c.filterPolicy && !policy { policy = C4Phrases.matches(p, i, n, C4Phrases.policy[0]) }
            case 0x70:  // p
                if c.filterPolicy && !policy { policy = C4Phrases.matches(p, i, n, C4Phrases.policy[1]) }
            case 0x63:  // c
                if c.filterPolicy && !policy { policy = C4Phrases.matches(p, i, n, C4Phrases.policy[2]) }
            case 0x75:  // u
                if c.filterPolicy && !policy {
                    policy = C4Phrases.matches(p, i, n, C4Phrases.policy[3]) || C4Phrases.matches(p, i, n, C4Phrases.policy[4])
                        || C4Phrases.matches(p, i, n, C4Phrases.policy[5])
                }
            default:
                break
            }
            i += 1
        }
        if javascript { return .remove }
        if c.filterCurlyBracket && line.contains(0x7B) { return .dropDocument("curly_bracket") }
        if policy { return .remove }
        return .keep
    }
}

enum C4Phrases {
    static let loremIpsum = Array("lorem ipsum".utf8)
    static let javascript = Array("javascript".utf8)
    static let policy = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"].map { Array($0.utf8) }

    /// Whether the lower-cased text at `p[i...]` starts with `phrase` (lower-case ASCII letters
    /// and spaces): ASCII letters in either case match, and so does the Kelvin sign U+212A for
    /// 'k', as Python's `str.lower()` makes it one.
    @inline(__always)
    static func matches(_ p: UnsafePointer<UInt8>, _ i0: Int, _ n: Int, _ phrase: [UInt8]) -> Bool {
        var i = i0
        for ph in phrase {
            guard i < n else { return false }
            let b = p[i]
            if ph == 0x20 {
                guard b == 0x20 else { return false }
                i += 1
            } else if b | 0x20 == ph && b >= 0x41 {
                i += 1
            } else if ph == 0x6B && b == 0xE2 && i + 2 < n && p[i + 1] == 0x84 && p[i + 2] == 0xAA {
                i += 3
            } else {
                return false
            }
        }
        return true
    }
}

/// Whether the text starts or ends with Python whitespace.
func hasOuterWhitespace(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    guard n > 0 else { return false }
    if isPythonSpace(decodeScalar(p, 0).0) { return true }
    var k = n - 1
    while k > 0 && p[k] & 0xC0 == 0x80 { k -= 1 }
    return isPythonSpace(decodeScalar(p, k).0)
}

/// Per-batch buffers for C4.
struct C4Scratch {
    var units: [Int] = []
    var kept: [Int] = []
    var line: [UInt8] = []
    var output: [UInt8] = []
    var removedLines = 0
}

/// Python's `str.splitlines()` boundaries: appends (start, end) byte pairs of each line.
func pythonSplitLines(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [Int]) {
    var start = 0
    var i = 0
    while i < n {
        let b = p[i]
        var breakLength = 0
        switch b {
        case 0x0A, 0x0B, 0x0C, 0x1C, 0x1D, 0x1E: breakLength = 1
        case 0x0D: breakLength = i + 1 < n && p[i + 1] == 0x0A ? 2 : 1
        case 0xC2: if i + 1 < n && p[i + 1] == 0x85 { breakLength = 2 }
        case 0xE2: if i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9) { breakLength = 3 }
        default: break
        }
        if breakLength > 0 {
            out.append(start); out.append(i)
            i += breakLength
            start = i
        } else {
            i += 1
        }
    }
    if start < n { out.append(start); out.append(n) }
}

/// Python `str.split()` on `p[a..<b]`: the number of words and the longest word's length in
/// scalars.
func pythonWordStats(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int) -> (Int, Int) {
    var words = 0, longest = 0, current = 0
    var inWord = false
    var i = a
    while i < b {
        let byte = p[i]
        var space = false
        var len = 1
        if byte < 0x80 {
            space = (byte >= 9 && byte <= 13) || (byte >= 28 && byte <= 32)
        } else {
            let (s, l) = decodeScalar(p, i)
            len = l
            space = isPythonSpace(s)
        }
        if space {
            if inWord {
                longest = max(longest, current)
                inWord = false
            }
        } else {
            if !inWord {
                words += 1
                inWord = true
                current = 0
            }
            current += 1
        }
        i += len
    }
    if inWord { longest = max(longest, current) }
    return (words, longest)
}

/// Cuts `\[\d*]`, `[edit]` and `[citation needed]` out of `p[a..<b]` (Python `re.sub`, left to
/// right, alternatives in that order), appending the rest to `out`.
func removeCitations(_ p: UnsafePointer<UInt8>, _ a: Int, _ b: Int, into out: inout [UInt8]) {
    var i = a
    var copied = a
    let edit = Array("[edit]".utf8), needed = Array("[citation needed]".utf8)
    while i < b {
        guard p[i] == 0x5B else {
            i += 1
            continue
        }
        var end = -1
        var j = i + 1
        while j < b {
            let (s, len) = decodeScalar(p, j)
            guard CharacterClasses.shared.has(s, .decimal) else { break }
            j += len
        }
        if j < b && p[j] == 0x5D {
            end = j + 1
        } else if b - i >= edit.count && memEqual(p + i, edit, edit.count) {
            end = i + edit.count
        } else if b - i >= needed.count && memEqual(p + i, needed, needed.count) {
            end = i + needed.count
        }
        if end > 0 {
            out.append(contentsOf: UnsafeBufferPointer(start: p + copied, count: i - copied))
            i = end
            copied = end
        } else {
            i += 1
        }
    }
    out.append(contentsOf: UnsafeBufferPointer(start: p + copied, count: b - copied))
}

/// spaCy's sentencizer over tokens, counting sentences (at least 1, as datatrove's
/// `split_into_sentences` returns one piece for a text without tokens).
struct SentenceCounter: WordSink {
    var tokens = 0
    var breaks = 0
    var seenPeriod = false
    var sentences: Int { 1 + breaks }

    @inline(__always)
    mutating func word(start: Int, end: Int, characters: Int, properties: WordProperties) {
        token(properties)
    }

    mutating func whitespaceToken(start: Int, end: Int) { token([]) }

    @inline(__always)
    mutating func token(_ properties: WordProperties) {
        tokens += 1
        let inPunctChars = properties.contains(.sentenceEnd)
        if seenPeriod && !properties.contains(.punctuation) && !inPunctChars {
            breaks += 1
            seenPeriod = false
        } else if inPunctChars {
            seenPeriod = true
        }
    }
}

/// spaCy's sentencizer over tokens, recording where each sentence ends (the end of its last
/// token), for `split_paragraph: false`.
struct SentenceSpans: WordSink {
    var ends: [Int] = []
    var lastEnd = -1
    var seenPeriod = false
    var any = false

    mutating func word(start: Int, end: Int, characters: Int, properties: WordProperties) {
        token(end, properties)
    }

    mutating func whitespaceToken(start: Int, end: Int) { token(end, []) }

    private mutating func token(_ end: Int, _ properties: WordProperties) {
        let inPunctChars = properties.contains(.sentenceEnd)
        if any && seenPeriod && !properties.contains(.punctuation) && !inPunctChars {
            ends.append(lastEnd)
            seenPeriod = false
        } else if inPunctChars {
            seenPeriod = true
        }
        any = true
        lastEnd = end
    }

    mutating func finish() {
        if any { ends.append(lastEnd) }
    }
}
