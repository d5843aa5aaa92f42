import SluiceCore

/// Gopher's repetition rules (Rae et al. 2021, table A1), exactly as datatrove 0.10's
/// `GopherRepetitionFilter` applies them.
///
/// YAML type `gopher_repetition`. Checks, in order (the first that fails gives the reason):
///
/// | option | default | drops when | reason |
/// |---|---|---|---|
/// | — | | the text is empty | `empty` |
/// | `dup_para_frac` | 0.3 | repeated paragraphs / paragraphs > max | `dup_para_frac` |
/// | `dup_para_char_frac` | 0.2 | characters in repeated paragraphs / characters > max | `dup_para_char_frac` |
/// | `dup_line_frac` | 0.3 | repeated lines / lines > max | `dup_line_frac` |
/// | `dup_line_char_frac` | 0.2 | characters in repeated lines / characters > max | `dup_line_char_frac` |
/// | `top_n_grams` | `{2: 0.2, 3: 0.18, 4: 0.16}` | most frequent n-gram's length × count / characters > max | `top_2_gram`, `top_3_gram`, `top_4_gram` |
/// | `dup_n_grams` | `{5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}` | characters in repeated n-grams / characters > max | `duplicated_5_n_grams` … `duplicated_10_n_grams` |
///
/// Exact definitions, following datatrove: paragraphs are the whitespace-stripped text split at
/// runs of two or more `\n`; lines are the text split at runs of `\n` (so a leading or trailing
/// `\n` makes an empty line); an element is "repeated" from its second occurrence on, and its
/// characters count each time. Characters are Unicode scalars; fractions divide by the length of
/// the whole text. An n-gram's length is its words' lengths plus the `n - 1` spaces between
/// them; among equally frequent n-grams the one that occurs first counts. Repeated n-grams are
/// counted by datatrove's scan: an n-gram whose concatenated characters were seen before adds
/// its characters (without spaces) and the scan jumps `n` words ahead. Words come from
/// ``WordSplitter``; n-grams are compared by hash and then byte for byte, so the counts are exact.
///
/// Options `top_n_grams` and `dup_n_grams` map n to the maximum fraction (`n` from 1 to 100);
/// any threshold `null` or `0` turns its check off, as in datatrove.
///
/// Language: the rules count characters and repeats, not language features, so by default they
/// apply to every language (`languages: null`). For Chinese, Japanese and Thai the words are
/// characters, with runs of katakana and runs of hiragana as one word (see ``WordSplitter``); on
/// real pages the default thresholds then keep about as large a share of Chinese (95%) and
/// Japanese (92%) pages as of English ones (89%). See ``LanguageScope``.
///
/// ```yaml
/// - type: gopher_repetition
///   dup_line_frac: 0.3
///   top_n_grams: {2: 0.2, 3: 0.18, 4: 0.16}
/// ```
public struct GopherRepetition: Stage {
    public struct Configuration: Decodable, Sendable {
        public var dupLineFrac: Double?
        public var dupParaFrac: Double?
        public var dupLineCharFrac: Double?
        public var dupParaCharFrac: Double?
        public var topNGrams: [Int: Double]
        public var dupNGrams: [Int: Double]
        public var languages: [String]?
        public var defaultLanguage: String

        public static let defaultTopNGrams: [Int: Double] = [2: 0.2, 3: 0.18, 4: 0.16]
        public static let defaultDupNGrams: [Int: Double] = [5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10]

        enum CodingKeys: String, CodingKey {
            case dupLineFrac = "dup_line_frac", dupParaFrac = "dup_para_frac"
            case dupLineCharFrac = "dup_line_char_frac", dupParaCharFrac = "dup_para_char_frac"
            case topNGrams = "top_n_grams", dupNGrams = "dup_n_grams"
            case languages, defaultLanguage = "default_language"
        }

        public init(
            dupLineFrac: Double? = 0.3, dupParaFrac: Double? = 0.3, dupLineCharFrac: Double? = 0.2, dupParaCharFrac: Double? = 0.2,
            topNGrams: [Int: Double] = defaultTopNGrams, dupNGrams: [Int: Double] = defaultDupNGrams,
            languages: [String]? = nil, defaultLanguage: String = "en"
        ) {
            self.dupLineFrac = dupLineFrac
            self.dupParaFrac = dupParaFrac
            self.dupLineCharFrac = dupLineCharFrac
            self.dupParaCharFrac = dupParaCharFrac
            self.topNGrams = topNGrams
            self.dupNGrams = dupNGrams
            self.languages = languages
            self.defaultLanguage = defaultLanguage
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            dupLineFrac = try c.decodeThreshold(Double.self, forKey: .dupLineFrac, default: 0.3)
            dupParaFrac = try c.decodeThreshold(Double.self, forKey: .dupParaFrac, default: 0.3)
            dupLineCharFrac = try c.decodeThreshold(Double.self, forKey: .dupLineCharFrac, default: 0.2)
            dupParaCharFrac = try c.decodeThreshold(Double.self, forKey: .dupParaCharFrac, default: 0.2)
            topNGrams = try Self.decodeGrams(c, .topNGrams, default: Self.defaultTopNGrams)
            dupNGrams = try Self.decodeGrams(c, .dupNGrams, default: Self.defaultDupNGrams)
            languages = try c.decodeLanguages(forKey: .languages, default: nil)
            defaultLanguage = try c.decodeIfPresent(String.self, forKey: .defaultLanguage) ?? "en"
        }

        /// `{n: fraction}`; `null` (the whole option) turns every check of the kind off, and a
        /// null fraction turns that n off.
        private static func decodeGrams(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, default d: [Int: Double]) throws -> [Int: Double] {
            guard c.contains(key) else { return d }
            if try c.decodeNil(forKey: key) { return [:] }
            let raw = try c.decode([String: Double?].self, forKey: key)
            var out: [Int: Double] = [:]
            for (k, v) in raw {
                guard let n = Int(k), n >= 1, n <= 100 else {
                    throw StageConfigurationError("\(key.stringValue): '\(k)' is not an n-gram size; use whole numbers from 1 to 100 as keys, such as {2: 0.2}")
                }
                if let v { out[n] = v }
            }
            return out
        }
    }

    public static let type = "gopher_repetition"
    public static let summary = "Gopher repetition rules (repeated lines, paragraphs and n-grams), as datatrove."
    public static let options: [StageOption] = [
        StageOption("dup_para_frac", "number | null", default: "0.3", help: "Drop when repeated paragraphs / paragraphs is above this (dup_para_frac); null or 0 turns it off."),
        StageOption("dup_para_char_frac", "number | null", default: "0.2", help: "Drop when characters in repeated paragraphs / characters is above this (dup_para_char_frac)."),
        StageOption("dup_line_frac", "number | null", default: "0.3", help: "Drop when repeated lines / lines is above this (dup_line_frac)."),
        StageOption("dup_line_char_frac", "number | null", default: "0.2", help: "Drop when characters in repeated lines / characters is above this (dup_line_char_frac)."),
        StageOption("top_n_grams", "{int: number}", default: "{2: 0.2, 3: 0.18, 4: 0.16}", help: "For each n: drop when the most frequent n-gram's characters × count / characters is above the value (top_N_gram)."),
        StageOption("dup_n_grams", "{int: number}", default: "{5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.1}", help: "For each n: drop when characters in repeated n-grams / characters is above the value (duplicated_N_n_grams)."),
        LanguageOptionHelp.languages("null"),
        LanguageOptionHelp.defaultLanguage,
    ]
    public static let dropReasons: [DropReason] =
        ["empty", "dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac"]
        + (2...4).map { DropReason("top_\($0)_gram") } + (5...10).map { DropReason("duplicated_\($0)_n_grams") }

    public let configuration: Configuration
    let scope: LanguageScope
    /// (n, fraction, reason), sorted by n as datatrove's defaults are.
    let topChecks: [(Int, Double, DropReason)]
    let dupChecks: [(Int, Double, DropReason)]

    public init(configuration c: Configuration) throws {
        try validate(c.dupLineFrac, "dup_line_frac")
        try validate(c.dupParaFrac, "dup_para_frac")
        try validate(c.dupLineCharFrac, "dup_line_char_frac")
        try validate(c.dupParaCharFrac, "dup_para_char_frac")
        for (n, v) in c.topNGrams { try validate(v, "top_n_grams[\(n)]") }
        for (n, v) in c.dupNGrams { try validate(v, "dup_n_grams[\(n)]") }
        configuration = c
        scope = try LanguageScope(languages: c.languages, defaultLanguage: c.defaultLanguage)
        topChecks = c.topNGrams.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value, DropReason("top_\($0.key)_gram")) }
        dupChecks = c.dupNGrams.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value, DropReason("duplicated_\($0.key)_n_grams")) }
    }

    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        let scratch = FilterScratch()
        let repetition = RepetitionScratch()
        var skipped = 0
        batch.retain { doc in
            let language = scope.language(of: doc)
            guard scope.applies(to: language) else {
                skipped += 1
                return .keep
            }
            let splitter = scratch.splitter(for: language)
            return doc.text.withUTF8Bytes {
                verdict(for: $0, splitter: splitter, words: scratch.words, scratch: repetition)
            }
        }
        if skipped > 0 { stats.counters["skipped_language", default: 0] += skipped }
    }

    /// The verdict for one text, whatever its language, with the given word rule.
    public func verdict(for text: String, splitter: WordSplitter = WordSplitter()) -> Verdict {
        let words = WordScratch()
        let scratch = RepetitionScratch()
        return text.withUTF8Bytes { verdict(for: $0, splitter: splitter, words: words, scratch: scratch) }
    }

    func verdict(
        for text: UnsafeBufferPointer<UInt8>, splitter: WordSplitter, words: WordScratch, scratch: RepetitionScratch
    ) -> Verdict {
        guard text.count > 0, let base = text.baseAddress else { return .drop("empty") }
        let c = configuration
        let length = Double(countCharacters(text))

        if c.dupParaFrac.map({ $0 != 0 }) ?? false || c.dupParaCharFrac.map({ $0 != 0 }) ?? false {
            let (elements, duplicates, duplicateChars) = scratch.duplicateParagraphs(base, text.count)
            if let m = c.dupParaFrac, m != 0, Double(duplicates) / Double(elements) > m { return .drop("dup_para_frac") }
            if let m = c.dupParaCharFrac, m != 0, Double(duplicateChars) / length > m { return .drop("dup_para_char_frac") }
        }
        if c.dupLineFrac.map({ $0 != 0 }) ?? false || c.dupLineCharFrac.map({ $0 != 0 }) ?? false {
            let (elements, duplicates, duplicateChars) = scratch.duplicateLines(base, text.count)
            if let m = c.dupLineFrac, m != 0, Double(duplicates) / Double(elements) > m { return .drop("dup_line_frac") }
            if let m = c.dupLineCharFrac, m != 0, Double(duplicateChars) / length > m { return .drop("dup_line_char_frac") }
        }
        guard !topChecks.isEmpty || !dupChecks.isEmpty else { return .keep }
        scratch.collectWords(text, splitter: splitter, words: words)
        if !topChecks.isEmpty { scratch.countWords() }
        for (n, fraction, reason) in topChecks where scratch.wordCount >= n {
            // No n-gram occurs more often than its rarest word, which bounds its characters ×
            // count: when the bound passes, the exact count is not needed.
            if !(Double(scratch.topNGramUpperBound(n)) / length > fraction) { continue }
            if Double(scratch.topNGramCharacters(n)) / length > fraction { return .drop(reason) }
        }
        if !dupChecks.isEmpty { scratch.findConcatenationCandidates() }
        for (n, fraction, reason) in dupChecks {
            if Double(scratch.duplicateNGramCharacters(n)) / length > fraction { return .drop(reason) }
        }
        return .keep
    }
}

/// Buffers and hash tables for the repetition rules, reused across the documents of a batch
/// (make one per batch; not for sharing between threads).
final class RepetitionScratch {
    // Words: byte ranges, lengths in scalars, and prefix hashes of their concatenated bytes.
    @exclusivity(unchecked) var wordCapacity = 0
    @exclusivity(unchecked) var starts: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var ends: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var chars: UnsafeMutablePointer<Int32>
    /// wordHash[i]: hash of word i's bytes.
    @exclusivity(unchecked) var wordHash: UnsafeMutablePointer<UInt64>
    /// prefixBytes[i]: bytes in words 0..<i (count + 1).
    @exclusivity(unchecked) var prefixBytes: UnsafeMutablePointer<Int>
    @exclusivity(unchecked) var wordCount = 0
    @exclusivity(unchecked) var text: UnsafePointer<UInt8>? = nil
    /// Element boundaries (start, end pairs) for lines and paragraphs.
    @exclusivity(unchecked) var bounds: [Int] = []
    /// candidates[0..<candidateCount]: the word indices, ascending, where the
    /// `candidatesN`-gram occurs more than once in the text (every window is a candidate while
    /// `candidatesN` is 0). An n-gram can only repeat where its first m-gram (m ≤ n) repeats,
    /// so each top-n-gram pass counts only the windows the previous pass left.
    @exclusivity(unchecked) var candidates: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var candidateCount = 0
    @exclusivity(unchecked) var candidatesN = 0
    /// The table slot each window's n-gram landed in during the last counting pass.
    @exclusivity(unchecked) var slotOf: UnsafeMutablePointer<Int32>
    /// occurrences[i]: how often word i occurs in the text (set by `countWords`).
    @exclusivity(unchecked) var occurrences: UnsafeMutablePointer<Int32>
    /// The words' bytes, concatenated (prefixBytes[i] is word i's offset here).
    @exclusivity(unchecked) var concat: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) var concatCapacity = 0
    /// concatCandidates[w] != 0 when the 16 concatenated bytes from word w on occur at another
    /// word start too: a window of at least 16 bytes can only have the same concatenation as
    /// another window when this holds.
    @exclusivity(unchecked) var concatCandidates: UnsafeMutablePointer<UInt8>

    /// One slot of the open-addressing table: the hash's upper 48 bits with the table's
    /// current 16-bit stamp below them (a slot with another stamp is empty), the first
    /// position (element or word index) and a count.
    struct Slot {
        var tag: UInt64
        var first: Int32
        var count: Int32
    }

    @exclusivity(unchecked) var tableSize = 0
    @exclusivity(unchecked) var table: UnsafeMutablePointer<Slot>
    @exclusivity(unchecked) var stamp: UInt64 = 0
    @exclusivity(unchecked) var mask = 0
    @exclusivity(unchecked) var shift: UInt64 = 0


    init() {
        wordCapacity = 1024
        starts = .allocate(capacity: wordCapacity)
        ends = .allocate(capacity: wordCapacity)
        chars = .allocate(capacity: wordCapacity)
        wordHash = .allocate(capacity: wordCapacity)
        prefixBytes = .allocate(capacity: wordCapacity + 1)
        candidates = .allocate(capacity: wordCapacity)
        slotOf = .allocate(capacity: wordCapacity)
        occurrences = .allocate(capacity: wordCapacity)
        concatCandidates = .allocate(capacity: wordCapacity)
        concatCapacity = 16 * 1024
        concat = .allocate(capacity: concatCapacity + 8)
        concat.initialize(repeating: 0, count: concatCapacity + 8)
        tableSize = 2048
        table = .allocate(capacity: tableSize)
        table.initialize(repeating: Slot(tag: 0, first: 0, count: 0), count: tableSize)
    }

    deinit {
        starts.deallocate()
        ends.deallocate()
        chars.deallocate()
        wordHash.deallocate()
        prefixBytes.deallocate()
        table.deallocate()
        candidates.deallocate()
        slotOf.deallocate()
        occurrences.deallocate()
        concatCandidates.deallocate()
        concat.deallocate()
    }

    func growWords() {
        let c = wordCapacity * 2
        func grown<T>(_ p: UnsafeMutablePointer<T>, _ old: Int, _ new: Int) -> UnsafeMutablePointer<T> {
            let q = UnsafeMutablePointer<T>.allocate(capacity: new)
            q.moveInitialize(from: p, count: old)
            p.deallocate()
            return q
        }
        starts = grown(starts, wordCount, c)
        ends = grown(ends, wordCount, c)
        chars = grown(chars, wordCount, c)
        wordHash = grown(wordHash, wordCount, c)
        prefixBytes = grown(prefixBytes, wordCount + 1, c + 1)
        candidates.deallocate()
        slotOf.deallocate()
        occurrences.deallocate()
        concatCandidates.deallocate()
        candidates = .allocate(capacity: c)
        slotOf = .allocate(capacity: c)
        occurrences = .allocate(capacity: c)
        concatCandidates = .allocate(capacity: c)
        wordCapacity = c
    }

    func growConcat(_ needed: Int) {
        var c = concatCapacity
        while c < needed { c *= 2 }
        let q = UnsafeMutablePointer<UInt8>.allocate(capacity: c + 8)
        q.initialize(repeating: 0, count: c + 8)
        q.update(from: concat, count: prefixBytes[wordCount])
        concat.deallocate()
        concat = q
        concatCapacity = c
    }

    func prepareTable(for elements: Int) {
        var size = 64
        while size < elements * 2 { size <<= 1 }
        if tableSize < size {
            table.deallocate()
            tableSize = size
            table = .allocate(capacity: size)
            table.initialize(repeating: Slot(tag: 0, first: 0, count: 0), count: size)
            stamp = 0
        }
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
        stamp += 1
        if stamp > 0xFFFF {
            table.update(repeating: Slot(tag: 0, first: 0, count: 0), count: tableSize)
            stamp = 1
        }
    }

    /// The tag a hash has in the table now.
    @inline(__always)
    func tag(_ h: UInt64) -> UInt64 { (h & ~0xFFFF) | stamp }

    @inline(__always)
    func slot(_ h: UInt64) -> Int { Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    // MARK: lines and paragraphs

    /// (elements, repeated elements, characters in repeated elements) for datatrove's
    /// `find_duplicates` over `re.split(r"\n{2,}", text.strip())`.
    func duplicateParagraphs(_ p: UnsafePointer<UInt8>, _ n: Int) -> (Int, Int, Int) {
        // Python's str.strip(): whitespace scalars at both ends.
        var lo = 0, hi = n
        while lo < hi {
            let (s, len) = decodeScalar(p, lo)
            guard isPythonSpace(s) else { break }
            lo += len
        }
        while hi > lo {
            var k = hi - 1
            while k > lo && p[k] & 0xC0 == 0x80 { k -= 1 }
            guard isPythonSpace(decodeScalar(p, k).0) else { break }
            hi = k
        }
        // Split at runs of 2+ '\n'.
        bounds.removeAll(keepingCapacity: true)
        var start = lo
        var i = lo
        while i < hi {
            if p[i] == 0x0A && i + 1 < hi && p[i + 1] == 0x0A {
                bounds.append(start)
                bounds.append(i)
                var j = i
                while j < hi && p[j] == 0x0A { j += 1 }
                start = j
                i = j
            } else {
                i += 1
            }
        }
        bounds.append(start)
        bounds.append(hi)
        return duplicates(p, bounds)
    }

    /// The same over `re.split("\n+", text)`.
    func duplicateLines(_ p: UnsafePointer<UInt8>, _ n: Int) -> (Int, Int, Int) {
        bounds.removeAll(keepingCapacity: true)
        var start = 0
        var i = 0
        while i < n {
            if p[i] == 0x0A {
                bounds.append(start)
                bounds.append(i)
                var j = i
                while j < n && p[j] == 0x0A { j += 1 }
                start = j
                i = j
            } else {
                i += 1
            }
        }
        bounds.append(start)
        bounds.append(n)
        return duplicates(p, bounds)
    }

    /// datatrove's `find_duplicates` over byte ranges: (elements, repeats, repeated characters).
    func duplicates(_ p: UnsafePointer<UInt8>, _ bounds: [Int]) -> (Int, Int, Int) {
        let count = bounds.count / 2
        prepareTable(for: count)
        var repeats = 0, repeatedChars = 0
        for e in 0..<count {
            let a = bounds[2 * e], b = bounds[2 * e + 1]
            let h = XXH64.hash(UnsafeRawBufferPointer(start: p + a, count: b - a), seed: 7)
            var k = slot(h)
            let tg = tag(h)
            while true {
                let t = table[k].tag
                if t & 0xFFFF != stamp {
                    table[k] = Slot(tag: tg, first: Int32(truncatingIfNeeded: e), count: 1)
                    break
                }
                if t == tg {
                    let f = Int(table[k].first)
                    let fa = bounds[2 * f], fb = bounds[2 * f + 1]
                    if fb - fa == b - a && memEqual(p + fa, p + a, b - a) {
                        repeats += 1
                        repeatedChars += countCharacters(UnsafeBufferPointer(start: p + a, count: b - a))
                        break
                    }
                }
                k = (k + 1) & mask
            }
        }
        return (count, repeats, repeatedChars)
    }

    // MARK: words and n-grams

    func collectWords(_ text: UnsafeBufferPointer<UInt8>, splitter: WordSplitter, words: WordScratch) {
        wordCount = 0
        candidatesN = 0
        prefixBytes[0] = 0
        self.text = text.baseAddress
        var sink = RepetitionWordSink(scratch: self, base: text.baseAddress)
        splitter.split(text, scratch: words, into: &sink)
    }

    /// A hash of the word sequence `i..<i+n` (equal words give equal hashes).
    @inline(__always)
    func wordsHash(_ i: Int, _ n: Int) -> UInt64 {
        var h: UInt64 = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
        for k in 0..<n { h = (h ^ wordHash[i + k]) &* 0xBF58_476D_1CE4_E5B9 ^ (h >> 31) }
        return h ^ (h >> 29)
    }

    /// A hash of the concatenated bytes of words `i..<j` (equal bytes give equal hashes,
    /// however they are split into words).
    @inline(__always)
    func concatenationHash(_ i: Int, _ j: Int) -> UInt64 {
        let a = prefixBytes[i]
        return bytesHash(concat + a, prefixBytes[j] - a)
    }

    /// Whether words `i..<i+n` and `j..<j+n` are the same words (for `" ".join` keys).
    @inline(__always)
    func sameWords(_ i: Int, _ j: Int, _ n: Int) -> Bool {
        let a = prefixBytes[i], b = prefixBytes[j]
        for k in 1...n where prefixBytes[i + k] - a != prefixBytes[j + k] - b { return false }
        return memEqual(concat + a, concat + b, prefixBytes[i + n] - a)
    }

    /// Whether the concatenated bytes of words `i..<i+n` and `j..<j+n` are equal (for `"".join`).
    @inline(__always)
    func sameConcatenation(_ i: Int, _ j: Int, _ n: Int) -> Bool {
        let a = prefixBytes[i], b = prefixBytes[j]
        let length = prefixBytes[i + n] - a
        return length == prefixBytes[j + n] - b && memEqual(concat + a, concat + b, length)
    }

    /// Fills `concatCandidates`: counts the 16-byte runs of the concatenation that start at
    /// word starts (shorter runs at the end of the text count with their length).
    func findConcatenationCandidates() {
        let total = prefixBytes[wordCount]
        prepareTable(for: wordCount)
        for w in 0..<wordCount {
            let a = prefixBytes[w]
            let length = min(16, total - a)
            var h: UInt64 = UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15
            if length == 16 {
                let p = UnsafeRawPointer(concat + a)
                let x = p.loadUnaligned(as: UInt64.self), y = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                h ^= (x &* 0xC2B2_AE3D_27D4_EB4F) ^ ((y ^ (y >> 29)) &* 0x1656_67B1_9E37_79F9)
                h ^= h >> 31
                h = h &* 0x94D0_49BB_1331_11EB
                h ^= h >> 29
            } else {
                for k in 0..<length { h = (h ^ UInt64(concat[a + k])) &* 0x0000_0100_0000_01B3 }
                h ^= h >> 29
            }
            var k = slot(h)
            let tg = tag(h)
            while true {
                let t = table[k].tag
                if t & 0xFFFF != stamp {
                    table[k] = Slot(tag: tg, first: Int32(truncatingIfNeeded: w), count: 1)
                    break
                }
                if t == tg {
                    let f = Int(table[k].first)
                    let fl = min(16, total - prefixBytes[f])
                    if fl == length && memEqual(concat + prefixBytes[f], concat + a, length) {
                        table[k].count &+= 1
                        break
                    }
                }
                k = (k + 1) & mask
            }
            slotOf[w] = Int32(truncatingIfNeeded: k)
        }
        for w in 0..<wordCount { concatCandidates[w] = table[Int(slotOf[w])].count > 1 ? 1 : 0 }
    }

    /// Counts how often each word occurs (`occurrences`).
    func countWords() {
        prepareTable(for: wordCount)
        for w in 0..<wordCount {
            let h = wordHash[w]
            var k = slot(h)
            let tg = tag(h)
            while true {
                let t = table[k].tag
                if t & 0xFFFF != stamp {
                    table[k] = Slot(tag: tg, first: Int32(truncatingIfNeeded: w), count: 1)
                    break
                }
                if t == tg && sameWords(Int(table[k].first), w, 1) {
                    table[k].count &+= 1
                    break
                }
                k = (k + 1) & mask
            }
            slotOf[w] = Int32(truncatingIfNeeded: k)
        }
        for w in 0..<wordCount { occurrences[w] = table[Int(slotOf[w])].count }
    }

    /// An upper bound on `topNGramCharacters(n)`: over all windows, the window's length (words
    /// and spaces) times the count of its rarest word.
    func topNGramUpperBound(_ n: Int) -> Int {
        let windows = wordCount - n + 1
        guard windows > 0 else { return 0 }
        var best = 0
        for w in 0..<windows {
            var rarest = occurrences[w]
            for k in 1..<n { rarest = min(rarest, occurrences[w + k]) }
            let length = prefixBytes[w + n] - prefixBytes[w] + n - 1  // bytes ≥ characters
            best = max(best, length * Int(rarest))
        }
        return best
    }

    /// datatrove's `find_top_duplicate(get_n_grams(words, n))`: the most frequent n-gram's
    /// length (words joined by spaces) times its count; ties go to the earliest n-gram. Only
    /// candidate windows are counted (the others hold n-grams that occur once), and the
    /// candidates are narrowed to the windows whose n-gram occurs more than once.
    func topNGramCharacters(_ n: Int) -> Int {
        let windows = wordCount - n + 1
        guard windows > 0 else { return 0 }
        let all = candidatesN == 0 || candidatesN > n
        // the windows to count: every window, or the candidates (their indices, ascending)
        var count = windows
        if !all {
            count = 0
            while count < candidateCount && Int(candidates[count]) < windows { count += 1 }
        }
        prepareTable(for: count)
        var bestFirst = 0, bestCount: Int32 = 1
        for x in 0..<count {
            let w = all ? x : Int(candidates[x])
            let h = wordsHash(w, n)
            var k = slot(h)
            let tg = tag(h)
            while true {
                let t = table[k].tag
                if t & 0xFFFF != stamp {
                    table[k] = Slot(tag: tg, first: Int32(truncatingIfNeeded: w), count: 1)
                    break
                }
                if t == tg && sameWords(Int(table[k].first), w, n) {
                    let c = table[k].count &+ 1
                    table[k].count = c
                    if c >= bestCount {
                        let first = Int(table[k].first)
                        if c > bestCount || first < bestFirst {
                            bestCount = c
                            bestFirst = first
                        }
                    }
                    break
                }
                k = (k + 1) & mask
            }
            slotOf[x] = Int32(truncatingIfNeeded: k)
        }
        // narrow the candidates to windows whose n-gram repeats
        var kept = 0
        for x in 0..<count where table[Int(slotOf[x])].count > 1 {
            candidates[kept] = Int32(truncatingIfNeeded: all ? x : Int(candidates[x]))
            kept += 1
        }
        candidateCount = kept
        candidatesN = n
        var length = n - 1
        for k in bestFirst..<(bestFirst + n) { length += Int(chars[k]) }
        return length * Int(bestCount)
    }

    /// datatrove's `find_all_duplicate(words, n)`: characters of n-grams (concatenated without
    /// spaces) seen before, jumping n words after each repeat. A window of 16 bytes or more
    /// whose first 16 bytes occur at no other word start holds an n-gram that occurs once in
    /// the text: datatrove would remember it, but nothing can ever match it, so it is stepped
    /// over (see `findConcatenationCandidates`).
    func duplicateNGramCharacters(_ n: Int) -> Int {
        let windows = wordCount - n + 1
        guard windows > 0 else { return 0 }
        prepareTable(for: windows)
        var repeated = 0
        var w = 0
        while w < windows {
            if concatCandidates[w] == 0 && prefixBytes[w + n] - prefixBytes[w] >= 16 {
                w += 1
                continue
            }
            let h = concatenationHash(w, w + n)
            var k = slot(h)
            let tg = tag(h)
            var seen = false
            while true {
                let t = table[k].tag
                if t & 0xFFFF != stamp {
                    table[k] = Slot(tag: tg, first: Int32(truncatingIfNeeded: w), count: 1)
                    break
                }
                if t == tg && sameConcatenation(Int(table[k].first), w, n) {
                    seen = true
                    break
                }
                k = (k + 1) & mask
            }
            if seen {
                for x in w..<(w + n) { repeated += Int(chars[x]) }
                w += n
            } else {
                w += 1
            }
        }
        return repeated
    }
}

/// Records words with their prefix hashes.
struct RepetitionWordSink: WordSink {
    let scratch: RepetitionScratch
    let base: UnsafePointer<UInt8>?

    @inline(__always)
    mutating func word(start: Int, end: Int, characters: Int, properties: WordProperties) {
        let r = scratch
        var n = r.wordCount
        if n == r.wordCapacity {
            r.growWords()
        }
        r.starts[n] = Int32(truncatingIfNeeded: start)
        r.ends[n] = Int32(truncatingIfNeeded: end)
        r.chars[n] = Int32(truncatingIfNeeded: characters)
        let at = r.prefixBytes[n]
        let length = end - start
        if at + length > r.concatCapacity { r.growConcat(at + length) }
        let c = r.concat + at
        if let base { c.update(from: base + start, count: length) }
        r.wordHash[n] = bytesHash(c, length)
        r.prefixBytes[n + 1] = at + length
        n += 1
        r.wordCount = n
    }
}

/// A fast hash of `n` bytes at `p` (8 at a time). It may read up to 7 bytes past the end, so
/// `p` must point into a buffer with that much slack (the word buffer has 8 bytes).
@inline(__always)
func bytesHash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    var h: UInt64 = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
    let raw = UnsafeRawPointer(p)
    var i = 0
    while i + 8 <= n {
        h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 29
        i += 8
    }
    if i < n {
        let rest = n - i
        let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & (~UInt64(0) >> UInt64(64 - 8 * rest))
        h = (h ^ x) &* 0x94D0_49BB_1331_11EB
    }
    return h ^ (h >> 31)
}
