/// What a word is made of, as bits, computed while splitting.
public struct WordProperties: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The word has a character outside datatrove's `PUNCTUATION_SET` (Gopher's "non-symbol" word).
    public static let nonSymbol = WordProperties(rawValue: 1)
    /// The word has a character for which Python's `str.isalpha()` is true.
    public static let alphabetic = WordProperties(rawValue: 2)
    /// Every character of the word is in a Unicode punctuation category (spaCy's `is_punct`).
    public static let punctuation = WordProperties(rawValue: 4)
    /// The word is one character of spaCy's sentencizer punctuation (`.`, `!`, `?`, `。`, ...).
    public static let sentenceEnd = WordProperties(rawValue: 8)
}

/// Receives the words of a text, in order, from ``WordSplitter``.
protocol WordSink {
    /// A word: UTF-8 byte range `start..<end` in the text, its length in Unicode scalars and
    /// its properties.
    mutating func word(start: Int, end: Int, characters: Int, properties: WordProperties)
    /// A run of whitespace that spaCy keeps as a token of its own, as the byte range
    /// `start..<end` (a run at the start of the text, or any run but one ASCII space between two
    /// words, less the first space). Word lists drop these; spaCy's sentencizer sees them.
    mutating func whitespaceToken(start: Int, end: Int)
}

extension WordSink {
    mutating func whitespaceToken(start: Int, end: Int) {}
}

/// Counts words; for callers that only need the number.
struct WordCounter: WordSink {
    var count = 0
    mutating func word(start: Int, end: Int, characters: Int, properties: WordProperties) { count &+= 1 }
}

/// Buffers reused from document to document while splitting (make one per batch; not for
/// sharing between threads).
public final class WordScratch {
    /// Decoded scalars of the current chunk, their flags and byte offsets (count + 1).
    @exclusivity(unchecked) var scalars: UnsafeMutablePointer<UInt32>
    @exclusivity(unchecked) var flags: UnsafeMutablePointer<UInt32>
    @exclusivity(unchecked) var offsets: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) var capacity: Int
    /// Token ranges in scalar indices of the current chunk: lo, hi pairs.
    @exclusivity(unchecked) var tokens = Int32Buffer()
    @exclusivity(unchecked) var prefixes = Int32Buffer()
    @exclusivity(unchecked) var suffixes = Int32Buffer()
    @exclusivity(unchecked) var spare = Int32Buffer()
    /// For tokenising neighbouring chunks (spaCy's matcher across single spaces; rare).
    lazy var neighbor = WordScratch()

    public init() {
        capacity = 256
        scalars = .allocate(capacity: capacity + 1)
        flags = .allocate(capacity: capacity + 1)
        offsets = .allocate(capacity: capacity + 1)
    }

    deinit {
        scalars.deallocate()
        flags.deallocate()
        offsets.deallocate()
        tokens.free()
        prefixes.free()
        suffixes.free()
        spare.free()
    }

    /// Makes room for `n` scalars.
    @inline(__always)
    func reserve(_ n: Int) {
        guard n > capacity else { return }
        var c = capacity
        while c < n { c *= 2 }
        scalars.deallocate()
        flags.deallocate()
        offsets.deallocate()
        capacity = c
        scalars = .allocate(capacity: c + 1)
        flags = .allocate(capacity: c + 1)
        offsets = .allocate(capacity: c + 1)
    }
}

/// A growable buffer of Int32 without copy-on-write checks, for the splitter's hot loops.
struct Int32Buffer {
    private(set) var base: UnsafeMutablePointer<Int32>
    private(set) var capacity: Int
    var count = 0

    init() {
        capacity = 64
        base = .allocate(capacity: capacity)
    }

    @inline(__always)
    mutating func append(_ x: Int32) {
        if count == capacity { grow() }
        base[count] = x
        count &+= 1
    }

    @inline(__always)
    mutating func append(_ a: Int, _ b: Int) {
        if count + 2 > capacity { grow() }
        base[count] = Int32(truncatingIfNeeded: a)
        base[count + 1] = Int32(truncatingIfNeeded: b)
        count &+= 2
    }

    mutating func grow() {
        let c = capacity * 2
        let b = UnsafeMutablePointer<Int32>.allocate(capacity: c)
        b.update(from: base, count: count)
        base.deallocate()
        base = b
        capacity = c
    }

    @inline(__always) subscript(i: Int) -> Int { Int(base[i]) }
    @inline(__always) mutating func removeAll() { count = 0 }
    /// Frees the storage; the owner (`WordScratch.deinit`) calls it once.
    func free() { base.deallocate() }
}

/// Splits text into words the way datatrove 0.10 does for English: spaCy 3's rule-based English
/// tokenizer (`spacy.blank("en")`), with empty and whitespace tokens dropped.
///
/// The rules reproduced, on UTF-8 bytes:
///
/// 1. The text is cut at whitespace (Python's `str.isspace`) into chunks.
/// 2. A chunk that is one of spaCy's English exceptions is split as the exception says
///    (`don't` → `do` `n't`, `cannot` → `can` `not`, `U.S.`, `e.g.`, emoticons, ...).
/// 3. Otherwise prefixes (opening punctuation, quotes, currency symbols, `..`) and suffixes
///    (closing punctuation, quotes, `'s`, units and currency after a digit, `.` after a
///    lower-case letter, digit, punctuation or two capitals) are split off repeatedly,
///    stopping when the rest is an exception.
/// 4. What remains is one word if it is an exception or looks like a URL (spaCy's URL pattern),
///    otherwise it is cut at infixes: `...`, `…`, symbols, `-` `+` `*` `^` between digits,
///    `.` between a lower-case and an upper-case letter, `,` between letters, hyphens and
///    dashes after a letter or digit and before a letter, and `:` `<` `>` `=` `/` between
///    letters.
/// 5. Adjacent pieces that together spell an exception containing punctuation are merged
///    back (spaCy's special-case matcher; `:` `)` → `:)`).
///
/// The character classes and the exception table are generated from spaCy 3.8 and Python 3.11
/// by `scripts/generate_word_tables.py`; agreement with datatrove is measured by
/// `scripts/compare_filters_datatrove.py`.
///
/// With ``Mode-swift.enum/noSpaceCharacters`` (used for Chinese, Japanese, Thai, Lao, Khmer,
/// Burmese and Tibetan) the characters of those scripts become words: each Han ideograph is a
/// word, a run of katakana (with `ー`) is one word and a run of hiragana is one word, CJK and
/// full-width punctuation (`。`, `、`, `！`) is a word of its own, and in the Southeast Asian scripts
/// each letter is a word together with the combining vowel and tone marks that follow it. Other
/// characters keep the rules above. This stands in for the dictionary segmenters datatrove uses
/// there (jieba, SudachiPy, pythainlp), which Sluice does not ship; Chinese word counts come out
/// higher and word lengths shorter than jieba's (about 1 character against 1.5–2).
///
/// Speed: about 120 MB/s of English web text per core (release build). Letters-only chunks,
/// and letters with one opening or closing mark, take a fast path that gives the same words as
/// the full rules.
public struct WordSplitter: Sendable {
    public enum Mode: Sendable, Hashable {
        /// spaCy's English rules (used for every language written with spaces).
        case english
        /// spaCy's English rules, then every character of a script without spaces is a word.
        case noSpaceCharacters
    }

    public let mode: Mode
    let t: RawTables

    public init(mode: Mode = .english) {
        self.mode = mode
        t = RawTables.shared
    }

    /// The words of `text`, as strings (for tests and tools; filters use the byte-level API).
    public func words(_ text: String) -> [String] {
        var sink = StringCollector()
        let scratch = WordScratch()
        text.withUTF8Bytes { bytes in
            sink.base = bytes
            split(bytes, scratch: scratch, into: &sink)
        }
        return sink.words
    }

    /// The number of words in UTF-8 `bytes`.
    public func countWords(_ bytes: UnsafeBufferPointer<UInt8>, scratch: WordScratch) -> Int {
        var counter = WordCounter()
        split(bytes, scratch: scratch, into: &counter)
        return counter.count
    }

    /// Splits UTF-8 `text` and hands every word to `sink`, in order.
    func split<S: WordSink>(_ text: UnsafeBufferPointer<UInt8>, scratch: WordScratch, into sink: inout S) {
        let n = text.count
        guard n > 0, let base = text.baseAddress else { return }
        let cls = t.byteClasses
        var i = 0
        var atStart = true
        while i < n {
            // A run of whitespace.
            let wsStart = i
            var wsScalars = 0
            while i < n {
                let c = cls[Int(base[i])]
                if c == 3 || c == 4 {
                    i &+= 1
                    wsScalars &+= 1
                } else if c == 5, let ws = nonASCIISpace(base, i, n) {
                    i &+= ws
                    wsScalars &+= 1
                } else {
                    break
                }
            }
            if wsScalars > 0 && (atStart || base[wsStart] != 0x20 || wsScalars > 1) {
                sink.whitespaceToken(start: atStart || base[wsStart] != 0x20 ? wsStart : wsStart + 1, end: i)
            }
            atStart = false
            guard i < n else { break }
            // A chunk of non-whitespace: classify its bytes on the way.
            let start = i
            var kinds: UInt8 = 0  // bit 0 letters, 1 digits, 2 other ASCII, 3 non-ASCII
            var others = 0
            while i < n {
                let c = cls[Int(base[i])]
                if c <= 2 {
                    kinds |= 1 &<< c
                    others &+= Int(c >> 1)
                    i &+= 1
                } else if c == 3 || c == 4 {
                    break
                } else if c == 5, nonASCIISpace(base, i, n) != nil {
                    break
                } else {
                    kinds |= 8
                    i &+= 1
                }
            }
            chunk(base, start, i, n, kinds: kinds, others: others, scratch: scratch, sink: &sink)
        }
    }

    /// The length of the Unicode space (Python `isspace`) at `i`, or nil.
    @inline(__always)
    private func nonASCIISpace(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int? {
        let b0 = p[i]
        if b0 == 0xC2 {
            guard i + 1 < n else { return nil }
            let b1 = p[i + 1]
            return b1 == 0x85 || b1 == 0xA0 ? 2 : nil
        }
        guard i + 2 < n else { return nil }
        let b1 = p[i + 1], b2 = p[i + 2]
        switch b0 {
        case 0xE1: return b1 == 0x9A && b2 == 0x80 ? 3 : nil
        case 0xE2:
            if b1 == 0x80 { return (b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF ? 3 : nil }
            return b1 == 0x81 && b2 == 0x9F ? 3 : nil
        case 0xE3: return b1 == 0x80 && b2 == 0x80 ? 3 : nil
        default: return nil
        }
    }

    /// Tokenises one whitespace-free chunk `base[start..<end]`.
    @inline(__always)
    private func chunk<S: WordSink>(
        _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ textEnd: Int, kinds: UInt8, others: Int,
        scratch: WordScratch, sink: inout S
    ) {
        let length = end - start
        let last = base[end - 1]
        let lastIsDigit = last >= 0x30 && last <= 0x39
        if kinds == 1 || kinds == 2 || (kinds == 3 && lastIsDigit) {
            // ASCII letters and digits only, and no unit suffix possible ("5km"): one word unless
            // it is an exception ("dont", "10am").
            if let e = t.findSpecial(base + start, length) {
                emitSpecial(e, base, start, sink: &sink)
                return
            }
            sink.word(start: start, end: end, characters: length, properties: kinds & 1 != 0 ? [.nonSymbol, .alphabetic] : [.nonSymbol])
            return
        }
        if length == 1 {
            // one character is always one token
            emitPlain(base, start, end, sink: &sink)
            return
        }
        if kinds == 5 && others <= 2 {
            // Letters with one opening mark before them and/or one closing mark after them:
            // "word," "(word" "(word)." is not this, "word." when the dot splits.
            let first = base[start]
            let leading = t.byteClasses[Int(first)] == 2 ? 1 : 0
            let trailing = t.byteClasses[Int(last)] == 2 ? 1 : 0
            if leading + trailing == others && length > others
                && (leading == 0 || t.simpleLeading[Int(first)] != 0)
                && (trailing == 0 || t.simpleTrailing[Int(last)] != 0)
                && fastAffixes(base, start, end, leading: leading == 1, trailing: trailing == 1, sink: &sink)
            {
                return
            }
        }
        general(base, start, end, textEnd, scratch: scratch, sink: &sink)
    }

    /// `[P] letters [Q]`: emits the words and returns true, or returns false when the full rules
    /// are needed (the chunk is an exception, or a final '.' that does not split).
    @inline(__always)
    private func fastAffixes<S: WordSink>(
        _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, leading: Bool, trailing: Bool, sink: inout S
    ) -> Bool {
        let length = end - start
        if t.findSpecial(base + start, length) != nil { return false }
        let lo = leading ? start + 1 : start
        let hi = trailing ? end - 1 : end
        if leading, let e = t.findSpecial(base + lo, end - lo) {
            // spaCy stops as soon as what follows the prefix is an exception ("(etc.")
            emitPlain(base, start, lo, sink: &sink)
            emitSpecial(e, base, lo, sink: &sink)
            return true
        }
        if trailing && base[end - 1] == 0x2E {
            // '.' splits after a lower-case letter or two capitals (with no prefix in between)
            let b1 = base[end - 2]
            let lower = b1 >= 0x61 && b1 <= 0x7A
            let twoUpper = hi - lo >= 2 && b1 <= 0x5A && base[end - 3] >= 0x41 && base[end - 3] <= 0x5A
            guard lower || twoUpper else { return false }
        }
        if leading && trailing, let e = t.findSpecial(base + start, hi - start) {
            // ... or when what precedes the suffix is one
            emitSpecial(e, base, start, sink: &sink)
            emitPlain(base, hi, end, sink: &sink)
            return true
        }
        if leading {
            // spaCy strips the prefix, then stops if the rest is an exception: same words.
            emitPlain(base, start, lo, sink: &sink)
        }
        if let e = t.findSpecial(base + lo, hi - lo) {
            emitSpecial(e, base, lo, sink: &sink)
        } else {
            sink.word(start: lo, end: hi, characters: hi - lo, properties: [.nonSymbol, .alphabetic])
        }
        if trailing { emitPlain(base, hi, end, sink: &sink) }
        return true
    }

    private func emitSpecial<S: WordSink>(_ e: Int, _ base: UnsafePointer<UInt8>, _ start: Int, sink: inout S) {
        var p = start
        for piece in SpecialCases.shared.pieces[e] {
            emitPiece(base, p, p + piece, sink: &sink)
            p += piece
        }
    }

    /// Emits `base[from..<to]` as one word, or as several for scripts without spaces in
    /// ``Mode-swift.enum/noSpaceCharacters``.
    @inline(__always)
    private func emitPiece<S: WordSink>(_ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int, sink: inout S) {
        if mode == .noSpaceCharacters {
            var i = from
            while i < to {
                if base[i] >= 0xE0 {
                    let (s, _) = decodeScalar(base, i)
                    if t.flags(s) & WordFlag.noSpaceScript.rawValue != 0 {
                        splitNoSpace(base, from, to, sink: &sink)
                        return
                    }
                }
                i &+= 1
            }
        }
        emitPlain(base, from, to, sink: &sink)
    }

    /// Splits a word holding characters of scripts without spaces: each such character (with the
    /// combining marks after it) is a word; runs of other characters stay together.
    private func splitNoSpace<S: WordSink>(_ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int, sink: inout S) {
        var i = from
        var runStart = -1
        while i < to {
            let (s, len) = decodeScalar(base, i)
            let f = t.flags(s)
            if (0x3000...0x303F).contains(s) || (0xFF01...0xFF65).contains(s) {
                // CJK and full-width punctuation: a word of its own
                if runStart >= 0 {
                    emitPlain(base, runStart, i, sink: &sink)
                    runStart = -1
                }
                emitPlain(base, i, i &+ len, sink: &sink)
                i &+= len
            } else if f & WordFlag.noSpaceScript.rawValue != 0 && f & WordFlag.combiningMark.rawValue == 0 {
                if runStart >= 0 {
                    emitPlain(base, runStart, i, sink: &sink)
                    runStart = -1
                }
                var j = i &+ len
                let kana = Self.kanaKind(s)
                while j < to {
                    let (c, cl) = decodeScalar(base, j)
                    // marks stay with their letter; a run of katakana or of hiragana is one word
                    guard t.flags(c) & WordFlag.combiningMark.rawValue != 0 || (kana != 0 && Self.kanaKind(c) == kana) else { break }
                    j &+= cl
                }
                emitPlain(base, i, j, sink: &sink)
                i = j
            } else {
                if runStart < 0 { runStart = i }
                i &+= len
            }
        }
        if runStart >= 0 { emitPlain(base, runStart, to, sink: &sink) }
    }

    /// 1 for hiragana, 2 for katakana (with the prolonged sound mark and half-width forms), else 0.
    @inline(__always)
    static func kanaKind(_ s: UInt32) -> Int {
        switch s {
        case 0x3041...0x309F: return 1
        case 0x30A0...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9F: return 2
        default: return 0
        }
    }

    /// Emits `base[from..<to]` as one word, with its properties.
    @inline(__always)
    private func emitPlain<S: WordSink>(_ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int, sink: inout S) {
        var i = from
        var chars = 0
        var any: UInt32 = 0
        var all: UInt32 = ~0
        var single: UInt32 = 0
        while i < to {
            let b = base[i]
            let f: UInt32
            if b < 0x80 {
                f = t.bmp[Int(b)]
                i &+= 1
            } else {
                let (s, len) = decodeScalar(base, i)
                f = t.flags(s)
                i &+= len
            }
            any |= f
            all &= f
            single = f
            chars &+= 1
        }
        var props: WordProperties = []
        // some character is outside the punctuation set
        if chars > 0 && all & WordFlag.gopherPunct.rawValue == 0 { props.insert(.nonSymbol) }
        if any & WordFlag.alpha.rawValue != 0 { props.insert(.alphabetic) }
        if chars > 0 && all & WordFlag.punctCategory.rawValue != 0 { props.insert(.punctuation) }
        if chars == 1 && single & WordFlag.sentencePunct.rawValue != 0 { props.insert(.sentenceEnd) }
        sink.word(start: from, end: to, characters: chars, properties: props)
    }

    /// The full rule set on a chunk with punctuation or non-ASCII characters.
    private func general<S: WordSink>(
        _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ textEnd: Int, scratch: WordScratch, sink: inout S
    ) {
        scratch.reserve(end - start)
        let sp = scratch.scalars, fp = scratch.flags, op = scratch.offsets
        var count = 0
        var i = start
        while i < end {
            let b = base[i]
            if b < 0x80 {
                sp[count] = UInt32(b)
                fp[count] = t.bmp[Int(b)]
                op[count] = Int32(truncatingIfNeeded: i)
                count &+= 1
                i &+= 1
                continue
            }
            let (s, len) = decodeScalar(base, i)
            sp[count] = s
            fp[count] = t.flags(s)
            op[count] = Int32(truncatingIfNeeded: i)
            count &+= 1
            i &+= len
        }
        op[count] = Int32(truncatingIfNeeded: end)
        let chunk = Chunk(s: sp, f: fp, off: op, bytes: base, t: t)
        scratch.tokens.removeAll()
        chunk.tokenize(0, count, withSpecials: true, scratch: scratch)
        if scratch.tokens.count >= 2 {
            let candidates = chunk.affixedCandidates(scratch: scratch)
            // Most matches give back the tokens they match ("it's" is "it" + "'s" either way);
            // only when one would change something does the order of matches matter.
            if candidates.contains(where: { !t.specials.mergeKeepsTokens[$0.e] }) {
                let accepted = acceptedMatches(candidates, chunk, base, start, end, textEnd, scratch: scratch)
                chunk.applyMerges(accepted, scratch: scratch)
            }
        }
        let tokens = scratch.tokens
        var k = 0
        while k < tokens.count {
            emitPiece(base, Int(op[tokens[k]]), Int(op[tokens[k + 1]]), sink: &sink)
            k &+= 2
        }
    }
}

extension WordSplitter {
    /// spaCy's special-case matcher works on the whole document's tokens, and a single space
    /// between two chunks is not a token: a pattern can match across it. Such a match never
    /// merges anything (its text holds the space, which no exception has), but spaCy still marks
    /// its tokens as looked at, and that can block a match inside the chunk. So a match in this
    /// chunk is taken when no match looked at before it (longer, or as long and further left),
    /// here or in the chunks joined to this one by single spaces, covers its first or last token.
    func acceptedMatches(
        _ inChunk: [(a: Int, b: Int, e: Int)], _ chunk: Chunk, _ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
        _ textEnd: Int, scratch: WordScratch
    ) -> [(a: Int, b: Int, e: Int)] {
        // The tokens as byte ranges: chunks before, this chunk, chunks after.
        var own: [(Int, Int)] = []
        var k = 0
        while k < scratch.tokens.count {
            own.append((Int(chunk.off[scratch.tokens[k]]), Int(chunk.off[scratch.tokens[k + 1]])))
            k += 2
        }
        let neighbor = scratch.neighbor
        var before: [(Int, Int)] = []
        var p = start
        var budget = t.maxKeyBytes
        while budget > 0, p >= 2, base[p - 1] == 0x20, !endsWithSpace(base, p - 1) {
            // back to the chunk's start: a scalar boundary just after whitespace, or 0
            var q = p - 1
            while q > 0 && !(base[q] & 0xC0 != 0x80 && endsWithSpace(base, q)) { q -= 1 }
            let chunkStart = q
            before = affixTokens(base, chunkStart, p - 1, scratch: neighbor) + before
            budget -= p - 1 - chunkStart
            p = chunkStart
        }
        var after: [(Int, Int)] = []
        p = end
        budget = t.maxKeyBytes
        while budget > 0, p + 1 < textEnd, base[p] == 0x20, !startsWithSpace(base, p + 1, textEnd) {
            var q = p + 1
            while q < textEnd && !startsWithSpace(base, q, textEnd) { q += utf8Length(lead: base[q]) }
            q = min(q, textEnd)
            after += affixTokens(base, p + 1, q, scratch: neighbor)
            budget -= q - p - 1
            p = q
        }
        let sequence = before + own + after
        let offset = before.count
        let all = candidates(in: sequence, base)
        return inChunk.filter { m in
            let a = m.a + offset, b = m.b + offset
            return !all.contains { x in
                (x.b - x.a > b - a || (x.b - x.a == b - a && x.a < a))
                    && ((x.a <= a && a < x.b) || (x.a <= b - 1 && b - 1 < x.b))
            }
        }
    }

    /// Whether the scalar that ends just before byte `i` is whitespace.
    private func endsWithSpace(_ base: UnsafePointer<UInt8>, _ i: Int) -> Bool {
        guard i > 0 else { return false }
        var k = i - 1
        while k > 0 && base[k] & 0xC0 == 0x80 { k -= 1 }
        return isPythonSpace(decodeScalar(base, k).0)
    }

    /// Whether the scalar at byte `i` is whitespace.
    private func startsWithSpace(_ base: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Bool {
        i < n && isPythonSpace(decodeScalar(base, i).0)
    }

    /// The tokens of chunk `base[a..<b]` by the affix rules and exceptions, before the matcher.
    private func affixTokens(_ base: UnsafePointer<UInt8>, _ a: Int, _ b: Int, scratch: WordScratch) -> [(Int, Int)] {
        guard b > a else { return [] }
        scratch.reserve(b - a)
        var count = 0
        var i = a
        while i < b {
            let (s, len) = decodeScalar(base, i)
            scratch.scalars[count] = s
            scratch.flags[count] = t.flags(s)
            scratch.offsets[count] = Int32(truncatingIfNeeded: i)
            count += 1
            i += len
        }
        scratch.offsets[count] = Int32(truncatingIfNeeded: b)
        let chunk = Chunk(s: scratch.scalars, f: scratch.flags, off: scratch.offsets, bytes: base, t: t)
        scratch.tokens.removeAll()
        chunk.tokenize(0, count, withSpecials: true, scratch: scratch)
        var out: [(Int, Int)] = []
        var k = 0
        while k < scratch.tokens.count {
            out.append((Int(scratch.offsets[scratch.tokens[k]]), Int(scratch.offsets[scratch.tokens[k + 1]])))
            k += 2
        }
        return out
    }

    /// Every run of tokens (byte ranges, possibly separated by spaces) that spaCy's matcher
    /// matches: its tokens spell an exception with affixes, split as its pattern.
    private func candidates(in tokens: [(Int, Int)], _ base: UnsafePointer<UInt8>) -> [(a: Int, b: Int)] {
        var out: [(a: Int, b: Int)] = []
        var bytes: [UInt8] = []
        for a in 0..<tokens.count {
            bytes.removeAll(keepingCapacity: true)
            for b in (a + 1)...tokens.count {
                let (x, y) = tokens[b - 1]
                bytes.append(contentsOf: UnsafeBufferPointer(start: base + x, count: y - x))
                if bytes.count > t.maxKeyBytes { break }
                guard let e = bytes.withUnsafeBufferPointer({ t.specials.find($0.baseAddress!, $0.count) }),
                    let pattern = t.specials.affixedPatterns[e], pattern.count == b - a
                else { continue }
                if (a..<b).enumerated().allSatisfy({ pattern[$0.offset] == tokens[$0.element].1 - tokens[$0.element].0 }) {
                    out.append((a, b))
                }
            }
        }
        return out
    }
}

/// Collects words as strings.
struct StringCollector: WordSink {
    var base: UnsafeBufferPointer<UInt8> = UnsafeBufferPointer(start: nil, count: 0)
    var words: [String] = []
    mutating func word(start: Int, end: Int, characters: Int, properties: WordProperties) {
        words.append(String(decoding: UnsafeBufferPointer(rebasing: base[start..<end]), as: UTF8.self))
    }
}

// MARK: - Shared tables as raw pointers

/// The character flags and exception table as raw pointers, for the hot loops (immutable after
/// they are built, and never freed).
struct RawTables: @unchecked Sendable {
    static let shared = RawTables()

    let bmp: UnsafePointer<UInt32>
    let byteClasses: UnsafePointer<UInt8>
    /// Last bytes for which "letters + that byte" can split the byte off as a suffix in the
    /// fast path (1) or not (0).
    let simpleTrailing: UnsafePointer<UInt8>
    /// First bytes for which "that byte + letters" splits the byte off as a prefix in the fast
    /// path (1).
    let simpleLeading: UnsafePointer<UInt8>
    /// For BMP scalars: 1 when some unit or currency (a suffix after a digit) ends with it.
    let unitLast: UnsafePointer<UInt8>
    /// For bytes: 1 when an exception with affixes starts with it.
    let affixedFirst: UnsafePointer<UInt8>
    /// `SpecialCases.mayBeAffixed`'s filter, and the longest exception in bytes.
    let affixedFilter: UnsafePointer<UInt64>
    let maxKeyBytes: Int
    let specials: SpecialCases

    private init() {
        bmp = UnsafePointer(CharacterClasses.shared.bmp)
        // Byte classes: 0 ASCII letter, 1 ASCII digit, 2 other ASCII non-space, 3 ' ', 4 other
        // ASCII space, 5 a lead byte that may start a Unicode space, 6 other non-ASCII.
        let classes = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for i in 0..<256 {
            let b = UInt8(i)
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): classes[i] = 0
            case UInt8(ascii: "0")...UInt8(ascii: "9"): classes[i] = 1
            case 0x20: classes[i] = 3
            case 0x09...0x0D, 0x1C...0x1F: classes[i] = 4
            case 0xC2, 0xE1, 0xE2, 0xE3: classes[i] = 5
            case 0x80...0xFF: classes[i] = 6
            default: classes[i] = 2
            }
        }
        byteClasses = UnsafePointer(classes)
        specials = SpecialCases.shared
        let trailing = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        trailing.initialize(repeating: 0, count: 256)
        for b in Array(",;:!?)]}\"'>_#*&`.".utf8) where !specials.unsafeTrailing.contains(b) {
            let f = CharacterClasses.shared.bmp[Int(b)]
            // '.' is decided by the letter before it; the others must be plain suffixes that are
            // neither prefixes nor infixes after a letter.
            if b == 0x2E || (f & WordFlag.suffixChar.rawValue != 0) { trailing[Int(b)] = 1 }
        }
        simpleTrailing = UnsafePointer(trailing)
        let leading = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        leading.initialize(repeating: 0, count: 256)
        for b in 0..<128 where classes[b] == 2 && !specials.unsafeLeading.contains(UInt8(b)) {
            // one-character prefixes, but not '+' (which depends on the next character)
            if CharacterClasses.shared.bmp[b] & WordFlag.prefixChar.rawValue != 0 { leading[b] = 1 }
        }
        simpleLeading = UnsafePointer(leading)
        (unitLast, affixedFirst) = Self.unitAndAffixTables(specials)
        affixedFilter = specials.affixedFilterPointer()
        maxKeyBytes = specials.maxKeyBytes
    }

    static func unitAndAffixTables(_ specials: SpecialCases) -> (UnsafePointer<UInt8>, UnsafePointer<UInt8>) {
        let units = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x10000)
        units.initialize(repeating: 0, count: 0x10000)
        for u in specials.unitsAndCurrencies { if let l = u.last, l < 0x10000 { units[Int(l)] = 1 } }
        let first = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for b in 0..<256 { first[b] = specials.affixedFirstBytes[b] ? 1 : 0 }
        return (UnsafePointer(units), UnsafePointer(first))
    }

    @inline(__always)
    func flags(_ s: UInt32) -> UInt32 {
        s < 0x10000 ? bmp[Int(s)] : CharacterClasses.shared.flags(s)
    }

    @inline(__always)
    func findSpecial(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        specials.find(p, n)
    }
}

// MARK: - One chunk: spaCy's affix, exception, URL and infix rules over decoded scalars

@inline(__always) private func isASCIIDigit(_ s: UInt32) -> Bool { s >= 0x30 && s <= 0x39 }

struct Chunk {
    let s: UnsafeMutablePointer<UInt32>
    let f: UnsafeMutablePointer<UInt32>
    let off: UnsafeMutablePointer<Int32>
    let bytes: UnsafePointer<UInt8>
    let t: RawTables

    @inline(__always) func has(_ i: Int, _ flag: WordFlag) -> Bool { f[i] & flag.rawValue != 0 }

    /// The exception whose text is scalars `lo..<hi`, if any.
    @inline(__always)
    func special(_ lo: Int, _ hi: Int) -> Int? {
        let b = Int(off[lo])
        return t.findSpecial(bytes + b, Int(off[hi]) - b)
    }

    /// spaCy `Tokenizer._tokenize` for scalars `lo..<hi`; appends token ranges to `scratch.tokens`.
    func tokenize(_ lo0: Int, _ hi0: Int, withSpecials: Bool, scratch: WordScratch) {
        var lo = lo0, hi = hi0
        if withSpecials, let e = special(lo, hi) {
            appendSpecial(e, lo, into: &scratch.tokens)
            return
        }
        scratch.prefixes.removeAll()
        scratch.suffixes.removeAll()
        var lastSize = 0
        while hi > lo && hi - lo != lastSize {
            if withSpecials && special(lo, hi) != nil { break }
            lastSize = hi - lo
            let pre = findPrefix(lo, hi)
            if pre != 0 && withSpecials && lo + pre < hi && special(lo + pre, hi) != nil {
                scratch.prefixes.append(lo, lo + pre)
                lo += pre
                break
            }
            let suf = findSuffix(lo + pre, hi)
            if suf != 0 && withSpecials && hi - suf > lo && special(lo, hi - suf) != nil {
                scratch.suffixes.append(hi - suf, hi)
                hi -= suf
                break
            }
            if pre != 0 && suf != 0 && pre + suf <= hi - lo {
                scratch.prefixes.append(lo, lo + pre)
                scratch.suffixes.append(hi - suf, hi)
                lo += pre
                hi -= suf
            } else if pre != 0 {
                scratch.prefixes.append(lo, lo + pre)
                lo += pre
            } else if suf != 0 {
                scratch.suffixes.append(hi - suf, hi)
                hi -= suf
            }
        }
        var k = 0
        while k < scratch.prefixes.count {
            scratch.tokens.append(scratch.prefixes[k], scratch.prefixes[k + 1])
            k += 2
        }
        if hi > lo {
            if withSpecials, let e = special(lo, hi) {
                appendSpecial(e, lo, into: &scratch.tokens)
            } else if urlMatch(lo, hi) {
                scratch.tokens.append(lo, hi)
            } else {
                splitInfixes(lo, hi, into: &scratch.tokens)
            }
        }
        k = scratch.suffixes.count - 2
        while k >= 0 {
            scratch.tokens.append(scratch.suffixes[k], scratch.suffixes[k + 1])
            k -= 2
        }
    }

    /// Appends the pieces of exception `e` spelled by scalars starting at `lo`.
    func appendSpecial(_ e: Int, _ lo: Int, into tokens: inout Int32Buffer) {
        var i = lo
        var byte = Int(off[lo])
        for piece in SpecialCases.shared.pieces[e] {
            let startIndex = i
            let target = byte + piece
            while Int(off[i]) < target { i += 1 }
            tokens.append(startIndex, i)
            byte = target
        }
    }

    // MARK: prefixes

    /// The length of the prefix at `lo` (spaCy's first matching prefix alternative), or 0.
    func findPrefix(_ lo: Int, _ hi: Int) -> Int {
        let c = s[lo]
        if has(lo, .prefixChar) { return 1 }
        if c == 0x2B { return lo + 1 < hi && isASCIIDigit(s[lo + 1]) ? 0 : 1 }  // \+(?![0-9])
        if c == 0x2E && lo + 1 < hi && s[lo + 1] == 0x2E {
            var k = lo + 2
            while k < hi && s[k] == 0x2E { k += 1 }
            return k - lo
        }
        if c == 0x55 && hi - lo >= 3 && s[lo + 1] == 0x53 && s[lo + 2] == 0x24 { return 3 }  // US$
        if (c == 0x43 || c == 0x41) && hi - lo >= 2 && s[lo + 1] == 0x24 { return 2 }  // C$ A$
        return 0
    }

    // MARK: suffixes

    /// The length of the longest suffix rule that matches at the end of `lo..<hi` (Python's
    /// `re.search` over `X$|Y$|...` finds the leftmost, that is longest, match), or 0. The
    /// lookbehinds see only scalars from `lo` on.
    func findSuffix(_ lo: Int, _ hi: Int) -> Int {
        guard hi > lo else { return 0 }
        let last = hi - 1
        let c = s[last]
        var best = 0
        if has(last, .suffixChar) { best = 1 }
        let n = hi - lo
        if c == 0x2026 && n >= 2 && s[last - 1] == 0x2026 { best = max(best, 2) }
        if c == 0x2E {
            var k = last
            while k > lo && s[k - 1] == 0x2E { k -= 1 }
            if hi - k >= 2 { best = max(best, hi - k) }
            if n >= 3 && s[last - 2] == 0xB0 {
                switch s[last - 1] {
                case 0x46, 0x66, 0x43, 0x63, 0x4B, 0x6B: best = max(best, 1)
                default: break
                }
            }
            if n >= 2 && has(last - 1, .dotSuffixAfter) { best = max(best, 1) }
            if n >= 3 && has(last - 1, .spacyUpper) && has(last - 2, .spacyUpper) { best = max(best, 1) }
        }
        if (c == 0x73 || c == 0x53) && n >= 2 && (s[last - 1] == 0x27 || s[last - 1] == 0x2019) { best = max(best, 2) }
        if c == 0x2B && n >= 2 && isASCIIDigit(s[last - 1]) { best = max(best, 1) }
        if c < 0x10000 && t.unitLast[Int(c)] != 0 {
            // a unit or currency right after a digit: look only at lengths with a digit before
            let byLength = t.specials.unitsByLength
            var length = byLength.count - 1
            while length > best {
                if length < n && isASCIIDigit(s[hi - length - 1]) {
                    for unit in byLength[length] where matches(unit, at: hi - length) {
                        best = length
                        break
                    }
                }
                length -= 1
            }
        }
        return best
    }

    @inline(__always)
    func matches(_ literal: [UInt32], at i: Int) -> Bool {
        for k in 0..<literal.count where s[i + k] != literal[k] { return false }
        return true
    }

    // MARK: infixes

    /// The end of the infix that matches at `p` (alternatives in spaCy's order), or -1.
    @inline(__always)
    func infix(at p: Int, _ lo: Int, _ hi: Int) -> Int {
        let c = s[p]
        if c == 0x2E && p + 1 < hi && s[p + 1] == 0x2E {
            var k = p + 2
            while k < hi && s[k] == 0x2E { k += 1 }
            return k
        }
        if c == 0x2026 || has(p, .icon) { return p + 1 }
        guard p > lo else { return -1 }
        let before = p - 1
        let next = p + 1 < hi ? p + 1 : -1
        switch c {
        case 0x2B, 0x2D, 0x2A, 0x5E:  // (?<=[0-9])[+\-\*^](?=[0-9-])
            if isASCIIDigit(s[before]) && next >= 0 && (isASCIIDigit(s[next]) || s[next] == 0x2D) { return p + 1 }
            if c != 0x2D { return -1 }
        case 0x2E:  // (?<=[al q])\.(?=[au q])
            if f[before] & (WordFlag.spacyLower.rawValue | WordFlag.spacyQuote.rawValue) != 0 && next >= 0
                && f[next] & (WordFlag.spacyUpper.rawValue | WordFlag.spacyQuote.rawValue) != 0
            {
                return p + 1
            }
            return -1
        case 0x2C:  // (?<=[a]),(?=[a])
            if has(before, .spacyAlpha) && next >= 0 && has(next, .spacyAlpha) { return p + 1 }
            return -1
        case 0x2013, 0x2014, 0x7E, 0x3A, 0x3C, 0x3E, 0x3D, 0x2F:
            break
        default:
            return -1
        }
        guard has(before, .spacyAlpha) || isASCIIDigit(s[before]) else { return -1 }
        // (?<=[a0-9])(?:-|–|—|--|---|——|~)(?=[a])
        if c == 0x2D || c == 0x2013 || c == 0x2014 || c == 0x7E {
            for h in hyphenAlternatives where p + h.count < hi && matches(h, at: p) && has(p + h.count, .spacyAlpha) {
                return p + h.count
            }
            return -1
        }
        // (?<=[a0-9])[:<>=/](?=[a])
        if next >= 0 && has(next, .spacyAlpha) { return p + 1 }
        return -1
    }

    /// spaCy's `finditer` over the infix pattern, then `_attach_tokens`' loop.
    func splitInfixes(_ lo: Int, _ hi: Int, into tokens: inout Int32Buffer) {
        var p = lo
        var start = lo
        while p < hi {
            let e = infix(at: p, lo, hi)
            if e < 0 {
                p += 1
                continue
            }
            if p != lo {  // a match at the very start is skipped, as spaCy does
                if p != start { tokens.append(start, p) }
                tokens.append(p, e)
                start = e
            }
            p = max(e, p + 1)
        }
        if start < hi { tokens.append(start, hi) }
    }

    // MARK: URLs

    /// spaCy's `URL_MATCH` (a whole-string match) on scalars `lo..<hi`.
    func urlMatch(_ lo: Int, _ hi: Int) -> Bool {
        // A URL needs a '.' in its host.
        var hasDot = false
        for i in lo..<hi where s[i] == 0x2E {
            hasDot = true
            break
        }
        guard hasDot else { return false }
        // optional scheme: [\w\+\-\.]{2,}://
        var k = lo
        while k < hi && (has(k, .wordChar) || s[k] == 0x2B || s[k] == 0x2D || s[k] == 0x2E) { k += 1 }
        let schemeEnd = k - lo >= 2 && k + 3 <= hi && s[k] == 0x3A && s[k + 1] == 0x2F && s[k + 2] == 0x2F ? k + 3 : -1
        for a in [lo, schemeEnd] where a >= 0 {
            if hostPortPath(a, hi) { return true }
            // optional user info: \S+(?::\S*)?@  (any non-empty text, then '@')
            var j = a + 1
            while j < hi {
                if s[j] == 0x40 && hostPortPath(j + 1, hi) { return true }
                j += 1
            }
        }
        return false
    }

    private func isHostChar(_ i: Int) -> Bool {
        let c = s[i]
        return (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || isASCIIDigit(c) || (c >= 0xA1 && c <= 0xFFFF)
    }

    /// `(:\d{2,5})?([/?#]\S*)?$` at `q`.
    private func portPathEnd(_ q: Int, _ hi: Int) -> Bool {
        if q == hi { return true }
        let c = s[q]
        if c == 0x2F || c == 0x3F || c == 0x23 { return true }
        guard c == 0x3A else { return false }
        var d = q + 1
        while d < hi && has(d, .decimal) { d += 1 }
        let digits = d - q - 1
        guard digits >= 2 && digits <= 5 else { return false }
        return d == hi || s[d] == 0x2F || s[d] == 0x3F || s[d] == 0x23
    }

    private func hostPortPath(_ h: Int, _ hi: Int) -> Bool {
        guard h < hi else { return false }
        if ipv4(h, hi) { return true }
        // host & domain: ((label)\.)+ tld; the host ends at the first character that is neither
        // a label character nor '.', '_' or '-'.
        var e = h
        while e < hi && (isHostChar(e) || s[e] == 0x2E || s[e] == 0x5F || s[e] == 0x2D) { e += 1 }
        guard portPathEnd(e, hi) else { return false }
        // the TLD: after the last dot, 2...63 ALPHA_LOWER
        var lastDot = e - 1
        while lastDot >= h && s[lastDot] != 0x2E { lastDot -= 1 }
        guard lastDot > h else { return false }  // no dot, or an empty first label
        let tldLength = e - lastDot - 1
        guard tldLength >= 2 && tldLength <= 63 else { return false }
        for i in (lastDot + 1)..<e where !has(i, .spacyLower) { return false }
        // labels: 1...64 characters, first and last a label character, '_' and '-' inside
        var labelStart = h
        var i = h
        while i <= lastDot {
            if s[i] == 0x2E {
                let length = i - labelStart
                guard length >= 1 && length <= 64 else { return false }
                guard isHostChar(labelStart) && isHostChar(i - 1) else { return false }
                labelStart = i + 1
            }
            i += 1
        }
        return true
    }

    // MARK: IPv4 with spaCy's private-range exclusions

    private func digitRun(_ p: Int, _ hi: Int) -> Int {
        var d = p
        while d < hi && has(d, .decimal) { d += 1 }
        return d - p
    }

    /// `(?:\.\d{1,3}){count}` at `p` (not anchored at the end).
    private func dotGroups(_ p0: Int, _ hi: Int, _ count: Int) -> Bool {
        var p = p0
        for g in 0..<count {
            guard p < hi && s[p] == 0x2E else { return false }
            let run = digitRun(p + 1, hi)
            guard run >= 1 else { return false }
            if g == count - 1 { return true }
            guard run <= 3 else { return false }
            p = p + 1 + run
        }
        return true
    }

    private func literal(_ p: Int, _ hi: Int, _ text: [UInt32]) -> Bool {
        p + text.count <= hi && matches(text, at: p)
    }

    private func ipv4(_ h: Int, _ hi: Int) -> Bool {
        guard isASCIIDigit(s[h]) else { return false }
        // the negative lookaheads for private and local networks
        if literal(h, hi, [0x31, 0x30]) && dotGroups(h + 2, hi, 3) { return false }  // 10
        if literal(h, hi, [0x31, 0x32, 0x37]) && dotGroups(h + 3, hi, 3) { return false }  // 127
        if (literal(h, hi, ipv4LinkLocal) || literal(h, hi, ipv4Private192)) && dotGroups(h + 7, hi, 2) { return false }
        if literal(h, hi, [0x31, 0x37, 0x32, 0x2E]) && h + 6 <= hi {  // 172.(1[6-9]|2\d|3[0-1])
            let a = s[h + 4], b = s[h + 5]
            let second = (a == 0x31 && b >= 0x36 && b <= 0x39) || (a == 0x32 && has(h + 5, .decimal)) || (a == 0x33 && (b == 0x30 || b == 0x31))
            if second && dotGroups(h + 6, hi, 2) { return false }
        }
        for l1 in octetLengths(h, hi, kind: 0) {
            var p1 = h + l1
            guard p1 < hi && s[p1] == 0x2E else { continue }
            p1 += 1
            for l2 in octetLengths(p1, hi, kind: 1) {
                var p2 = p1 + l2
                guard p2 < hi && s[p2] == 0x2E else { continue }
                p2 += 1
                for l3 in octetLengths(p2, hi, kind: 1) {
                    var p3 = p2 + l3
                    guard p3 < hi && s[p3] == 0x2E else { continue }
                    p3 += 1
                    for l4 in octetLengths(p3, hi, kind: 2) where portPathEnd(p3 + l4, hi) { return true }
                }
            }
        }
        return false
    }

    /// The lengths an octet alternative can match at `p`: kind 0 the first octet
    /// `[1-9]\d?|1\d\d|2[01]\d|22[0-3]`, 1 the middle ones `1?\d{1,2}|2[0-4]\d|25[0-5]`, 2 the
    /// last `[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]`.
    private func octetLengths(_ p: Int, _ hi: Int, kind: Int) -> [Int] {
        var out: [Int] = []
        func d(_ i: Int) -> Bool { i < hi && has(i, .decimal) }
        func ch(_ i: Int) -> UInt32 { i < hi ? s[i] : 0 }
        let c0 = ch(p), c1 = ch(p + 1), c2 = ch(p + 2)
        switch kind {
        case 0, 2:
            if c0 >= 0x31 && c0 <= 0x39 {
                if d(p + 1) { out.append(2) }
                out.append(1)
            }
            if c0 == 0x31 && d(p + 1) && d(p + 2) { out.append(3) }
            if kind == 0 {
                if c0 == 0x32 && (c1 == 0x30 || c1 == 0x31) && d(p + 2) { out.append(3) }
                if c0 == 0x32 && c1 == 0x32 && c2 >= 0x30 && c2 <= 0x33 { out.append(3) }
            } else {
                if c0 == 0x32 && c1 >= 0x30 && c1 <= 0x34 && d(p + 2) { out.append(3) }
                if c0 == 0x32 && c1 == 0x35 && c2 >= 0x30 && c2 <= 0x34 { out.append(3) }
            }
        default:
            if c0 == 0x31 && d(p + 1) {
                if d(p + 2) { out.append(3) }
                out.append(2)
            }
            if d(p) {
                if d(p + 1) { out.append(2) }
                out.append(1)
            }
            if c0 == 0x32 && c1 >= 0x30 && c1 <= 0x34 && d(p + 2) { out.append(3) }
            if c0 == 0x32 && c1 == 0x35 && c2 >= 0x30 && c2 <= 0x35 { out.append(3) }
        }
        return out
    }

    // MARK: special-case matcher

    /// spaCy's second pass (the special-case matcher), first half: the runs of adjacent tokens in
    /// this chunk that spell an exception containing affixes, split exactly as the affix rules
    /// would split that exception.
    func affixedCandidates(scratch: WordScratch) -> [(a: Int, b: Int, e: Int)] {
        let tk = scratch.tokens
        let k = tk.count / 2
        var matches: [(a: Int, b: Int, e: Int)] = []
        let maxBytes = t.maxKeyBytes
        for a in 0..<k {
            let first = Int(off[tk[2 * a]])
            guard t.affixedFirst[Int(bytes[first])] != 0 else { continue }
            for b in (a + 1)...k {
                let hi = tk[2 * (b - 1) + 1]
                let length = Int(off[hi]) - first
                if length > maxBytes { break }
                let f = SpecialCases.filterBit(bytes + first, length)
                guard t.affixedFilter[f >> 6] & (1 << UInt64(f & 63)) != 0 else { continue }
                guard let e = special(tk[2 * a], hi), let pattern = t.specials.affixedPatterns[e], pattern.count == b - a else { continue }
                var same = true
                for x in 0..<(b - a) where Int(off[tk[2 * (a + x) + 1]]) - Int(off[tk[2 * (a + x)]]) != pattern[x] {
                    same = false
                    break
                }
                if same { matches.append((a, b, e)) }
            }
        }
        return matches
    }

    /// Second half: replaces the accepted (non-overlapping) runs by the exceptions' pieces.
    func applyMerges(_ accepted: [(a: Int, b: Int, e: Int)], scratch: WordScratch) {
        guard !accepted.isEmpty else { return }
        let chosen = accepted.sorted { $0.a < $1.a }
        let tk = scratch.tokens
        let k = tk.count / 2
        var out = scratch.spare
        out.removeAll()
        var next = 0
        for m in chosen {
            while next < m.a {
                out.append(tk[2 * next], tk[2 * next + 1])
                next += 1
            }
            appendSpecial(m.e, tk[2 * m.a], into: &out)
            next = m.b
        }
        while next < k {
            out.append(tk[2 * next], tk[2 * next + 1])
            next += 1
        }
        scratch.spare = scratch.tokens
        scratch.tokens = out
    }
}

private let hyphenAlternatives: [[UInt32]] = [[0x2D], [0x2013], [0x2014], [0x2D, 0x2D], [0x2D, 0x2D, 0x2D], [0x2014, 0x2014], [0x7E]]
private let ipv4LinkLocal: [UInt32] = Array("169.254".unicodeScalars.map(\.value))
private let ipv4Private192: [UInt32] = Array("192.168".unicodeScalars.map(\.value))

// MARK: - The exception table

/// spaCy's English tokenizer exceptions, looked up by the UTF-8 bytes of a chunk.
final class SpecialCases: @unchecked Sendable {
    static let shared = SpecialCases()

    /// Byte lengths of each exception's pieces.
    let pieces: [[Int]]
    let maxKeyBytes: Int
    /// Units and currencies (suffixes after a digit) as scalars.
    let unitsAndCurrencies: [[UInt32]]
    /// The same by length in scalars (index 0 unused).
    let unitsByLength: [[[UInt32]]]
    /// For exceptions containing prefix, suffix or infix characters: the byte lengths of the
    /// tokens the affix rules alone would produce (spaCy's special-case matcher patterns).
    @exclusivity(unchecked) private(set) var affixedPatterns: [[Int]?] = []
    /// Whether an exception's pieces are exactly its matcher pattern's tokens (merging changes
    /// nothing).
    @exclusivity(unchecked) private(set) var mergeKeepsTokens: [Bool] = []
    /// The 64K-bit filter of `find`, for the exceptions with affixes only.
    @exclusivity(unchecked) private var affixedFilter = [UInt64](repeating: 0, count: 1024)
    /// First bytes of those exceptions.
    private(set) var affixedFirstBytes = [Bool](repeating: false, count: 256)
    /// Bytes that end a matcher pattern right after letters: "letters + byte" must take the
    /// full path.
    private(set) var unsafeTrailing: Set<UInt8> = []
    /// Bytes that start a matcher pattern right before letters: "byte + letters" must take the
    /// full path.
    private(set) var unsafeLeading: Set<UInt8> = []

    // Keys: bytes in one pool, start offsets (count + 1), an open-addressing slot table and a
    // 64K-bit filter on (length, first, middle, last byte) that rejects most non-keys at once.
    private let pool: UnsafeMutablePointer<UInt8>
    private let keyStarts: UnsafeMutablePointer<Int32>
    private let slots: UnsafeMutablePointer<Int32>
    private let mask: Int
    private let filter: UnsafeMutablePointer<UInt64>

    private init() {
        var keys: [[UInt8]] = []
        var pieces: [[Int]] = []
        for entry in spacyExceptions {
            let parts = entry.split(separator: "\u{1}", omittingEmptySubsequences: false)
            keys.append(Array(parts.joined().utf8))
            pieces.append(parts.map { $0.utf8.count })
        }
        self.pieces = pieces
        maxKeyBytes = keys.map(\.count).max() ?? 0
        let total = keys.reduce(0) { $0 + $1.count }
        pool = .allocate(capacity: max(total, 1))
        keyStarts = .allocate(capacity: keys.count + 1)
        var o = 0
        for (i, k) in keys.enumerated() {
            keyStarts[i] = Int32(o)
            for b in k {
                pool[o] = b
                o += 1
            }
        }
        keyStarts[keys.count] = Int32(o)
        var size = 1
        while size < keys.count * 4 { size <<= 1 }
        let m = size - 1
        let table = UnsafeMutablePointer<Int32>.allocate(capacity: size)
        table.initialize(repeating: -1, count: size)
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: 1024)
        bits.initialize(repeating: 0, count: 1024)
        for (i, key) in keys.enumerated() {
            key.withUnsafeBufferPointer { kp in
                let p = kp.baseAddress!
                var h = Int(truncatingIfNeeded: Self.hash(p, key.count)) & m
                while table[h] >= 0 { h = (h + 1) & m }
                table[h] = Int32(i)
                let f = Self.filterBit(p, key.count)
                bits[f >> 6] |= 1 << UInt64(f & 63)
            }
        }
        mask = m
        slots = table
        filter = bits
        let all = (spacyCurrencies + spacyUnits).map { Array($0.unicodeScalars.map(\.value)) }
        unitsAndCurrencies = all.sorted { $0.count > $1.count }
        var byLength = [[[UInt32]]](repeating: [], count: (all.map(\.count).max() ?? 0) + 1)
        for u in all where !byLength[u.count].contains(u) { byLength[u.count].append(u) }
        unitsByLength = byLength
        computeAffixedPatterns(keys)
    }

    @inline(__always)
    static func filterBit(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        let x = UInt32(n) &* 0x9E37_79B1 ^ UInt32(p[0]) &* 0x85EB_CA6B ^ UInt32(p[n >> 1]) &* 0xC2B2_AE35 ^ UInt32(p[n - 1]) &* 0x27D4_EB2F
        return Int((x ^ (x >> 15)) & 0xFFFF)
    }

    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3 }
        return h ^ (h >> 29)
    }

    /// The index of the exception spelled by `p[0..<n]`, if any.
    @inline(__always)
    func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        guard n > 0 && n <= maxKeyBytes else { return nil }
        let f = Self.filterBit(p, n)
        guard filter[f >> 6] & (1 << UInt64(f & 63)) != 0 else { return nil }
        var h = Int(truncatingIfNeeded: Self.hash(p, n)) & mask
        while true {
            let e = Int(slots[h])
            if e < 0 { return nil }
            let a = Int(keyStarts[e])
            if Int(keyStarts[e + 1]) - a == n && memEqual(pool + a, p, n) { return e }
            h = (h + 1) & mask
        }
    }

    /// A copy of the affixed filter that is never freed (for `RawTables`).
    func affixedFilterPointer() -> UnsafePointer<UInt64> {
        let q = UnsafeMutablePointer<UInt64>.allocate(capacity: 1024)
        affixedFilter.withUnsafeBufferPointer { q.initialize(from: $0.baseAddress!, count: 1024) }
        return UnsafePointer(q)
    }

    /// False when `p[0..<n]` is certainly not an exception with affixes.
    @inline(__always)
    func mayBeAffixed(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard n > 0 && n <= maxKeyBytes else { return false }
        let f = Self.filterBit(p, n)
        return affixedFilter.withUnsafeBufferPointer { $0[f >> 6] & (1 << UInt64(f & 63)) != 0 }
    }

    private func computeAffixedPatterns(_ keys: [[UInt8]]) {
        affixedPatterns = [[Int]?](repeating: nil, count: keys.count)
        mergeKeepsTokens = [Bool](repeating: true, count: keys.count)
        let scratch = WordScratch()
        let tables = RawTables(specials: self)
        for (e, key) in keys.enumerated() {
            let scalars = Array(String(decoding: key, as: UTF8.self).unicodeScalars.map(\.value))
            let n = scalars.count
            scratch.reserve(n)
            var o = 0
            for (i, sc) in scalars.enumerated() {
                scratch.scalars[i] = sc
                scratch.flags[i] = CharacterClasses.shared.flags(sc)
                scratch.offsets[i] = Int32(o)
                o += UTF8.width(Unicode.Scalar(sc)!)
            }
            scratch.offsets[n] = Int32(o)
            key.withUnsafeBufferPointer { kp in
                let chunk = Chunk(s: scratch.scalars, f: scratch.flags, off: scratch.offsets, bytes: kp.baseAddress!, t: tables)
                var anyInfix = false
                for p in 0..<n where chunk.infix(at: p, 0, n) >= 0 {
                    anyInfix = true
                    break
                }
                guard chunk.findPrefix(0, n) != 0 || chunk.findSuffix(0, n) != 0 || anyInfix else { return }
                scratch.tokens.removeAll()
                chunk.tokenize(0, n, withSpecials: false, scratch: scratch)
                var pattern: [Int] = []
                var k = 0
                while k < scratch.tokens.count {
                    pattern.append(Int(scratch.offsets[scratch.tokens[k + 1]]) - Int(scratch.offsets[scratch.tokens[k]]))
                    k += 2
                }
                affixedPatterns[e] = pattern
                mergeKeepsTokens[e] = pattern == pieces[e]
                affixedFirstBytes[Int(key[0])] = true
                let f = Self.filterBit(kp.baseAddress!, key.count)
                affixedFilter[f >> 6] |= 1 << UInt64(f & 63)
                // "letters + one byte" patterns would be missed by the splitter's fast path
                func letters<C: Collection<UInt8>>(_ c: C) -> Bool { c.allSatisfy { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A } }
                if pattern.count >= 2, pattern.last == 1, letters(key.dropLast()) || (key.count >= 3 && letters(key.dropFirst().dropLast())) {
                    unsafeTrailing.insert(key[key.count - 1])
                }
                if pattern.count >= 2, pattern.first == 1, letters(key.dropFirst()) || (key.count >= 3 && letters(key.dropFirst().dropLast())) {
                    unsafeLeading.insert(key[0])
                }
            }
        }
    }
}

extension RawTables {
    /// Tables for building the exception matcher itself (before `shared` exists).
    fileprivate init(specials: SpecialCases) {
        bmp = UnsafePointer(CharacterClasses.shared.bmp)
        let classes = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        classes.initialize(repeating: 2, count: 256)
        byteClasses = UnsafePointer(classes)
        let trailing = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        trailing.initialize(repeating: 0, count: 256)
        simpleTrailing = UnsafePointer(trailing)
        simpleLeading = UnsafePointer(trailing)
        self.specials = specials
        (unitLast, affixedFirst) = Self.unitAndAffixTables(specials)
        let noFilter = UnsafeMutablePointer<UInt64>.allocate(capacity: 1024)
        noFilter.initialize(repeating: 0, count: 1024)
        affixedFilter = UnsafePointer(noFilter)
        maxKeyBytes = specials.maxKeyBytes
    }
}

@inline(__always)
func memEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
