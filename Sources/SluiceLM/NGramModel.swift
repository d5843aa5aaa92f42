#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How text is normalised before it is split into words and scored.
public enum PerplexityNormalization: String, Sendable, CaseIterable {
    /// Score the text as it is.
    case none
    /// CCNet's `text_normalizer.normalize` on every line (see ``CCNetNormalizer``): strip,
    /// lowercase, strip accents, digits to 0, Unicode punctuation to ASCII, control characters
    /// removed.
    case ccnet
}

/// Per-worker buffers for scoring: create one per worker and pass it to every call, so that
/// scoring allocates nothing once the buffers have grown to the longest line seen.
public struct LMScratch: Sendable {
    var ids: [UInt32] = []
    var normalized: [UInt8] = []
    var backoffs: [Float] = []

    public init() {}
}

/// The score of one document: the sums CCNet's perplexity is made of.
public struct DocumentScore: Sendable, Hashable {
    /// Σ over lines of the line's log10 probability (with `<s>` and `</s>`).
    public var log10Probability: Double
    /// Σ over lines of (words + 1), the words counted as Python's `str.split()` does.
    public var length: Int
    /// Lines scored (the text split on `\n`; an empty line scores `<s> </s>`).
    public var lines: Int
    /// Words that are not in the model (scored as `<unk>`), counted on the scoring split.
    public var oovs: Int

    public init(log10Probability: Double = 0, length: Int = 0, lines: Int = 0, oovs: Int = 0) {
        self.log10Probability = log10Probability
        self.length = length
        self.lines = lines
        self.oovs = oovs
    }

    /// `10^(-log10Probability / length)`; NaN when nothing was scored.
    public var perplexity: Double {
        length == 0 ? .nan : pow(10.0, -log10Probability / Double(length))
    }
}

/// The score of one word in a sentence, as KenLM's `Model.full_scores` reports it.
public struct WordScore: Sendable, Hashable {
    /// log10 P(word | context), back-off weights included.
    public var log10Probability: Float
    /// The length of the n-gram that matched (1 for a unigram).
    public var ngramLength: Int
    /// Whether the word is not in the model's vocabulary.
    public var isOOV: Bool
}

/// The model's memory, built once and then only read. Raw pointers for speed; nothing
/// mutates them after ``NGramModel`` finishes loading, so sharing across threads is safe.
///
/// The vocabulary is a probing table keyed by the words' 64-bit hashes whose entries hold the
/// unigram weights; a word's id is its slot, so one probe gives both.
final class LMStorage: @unchecked Sendable {
    let order: Int
    let vocabulary: ProbingTable
    /// Unigram weights by word id (= vocabulary slot).
    let unigrams: UnsafeMutablePointer<LMEntry>
    let vocabularySize: Int
    /// Tables for orders 2...order at index 0...order-2.
    let tables: UnsafeMutablePointer<ProbingTable>
    let bos: UInt32
    let eos: UInt32
    let unk: UInt32

    init(order: Int, vocabulary: ProbingTable, tables: [ProbingTable], bos: UInt32, eos: UInt32, unk: UInt32) {
        self.order = order
        self.vocabulary = vocabulary
        self.vocabularySize = vocabulary.count
        self.unigrams = vocabulary.base
        self.tables = .allocate(capacity: max(1, tables.count))
        self.tables.initialize(from: tables, count: tables.count)
        self.bos = bos
        self.eos = eos
        self.unk = unk
    }

    deinit {
        vocabulary.deallocate()
        for i in 0..<(order - 1) { tables[i].deallocate() }
        tables.deallocate()
    }

    /// Memory held by the tables, in bytes.
    var memoryBytes: Int {
        var total = vocabulary.memoryBytes
        for i in 0..<(order - 1) { total += tables[i].memoryBytes }
        return total
    }

    @inline(__always)
    func wordID(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt32 {
        let s = vocabulary.find(LMHash.bytes(p, count))
        return s < 0 ? unk : UInt32(truncatingIfNeeded: s)
    }

    /// KenLM's `FullScore` over a sentence of word ids, in single precision exactly as KenLM
    /// adds: each word's probability plus the back-offs of the longer contexts it did not
    /// match, in increasing context length; the sentence total accumulated in a `Float`.
    /// `bo` must have room for `2 * order` floats. With `bos`, `ids[0]` is `<s>` and is not
    /// scored (it sets the context). `perWord`, when given, receives every word's score.
    @inline(__always)
    func score(
        _ ids: UnsafePointer<UInt32>, _ count: Int, bos useBOS: Bool, bo: UnsafeMutablePointer<Float>,
        perWord: UnsafeMutablePointer<WordScore>? = nil
    ) -> Float {
        var inBo = bo
        var outBo = bo + order
        var inLen = 0
        var first = 0
        if useBOS {
            inBo[0] = unigrams[Int(bos)].backoff
            inLen = inBo[0].lmHasExtension ? 1 : 0
            first = 1
        }
        let maxMiddle = order - 2
        var total: Float = 0
        var i = first
        while i < count {
            let w = ids[i]
            let u = unigrams[Int(w)]
            var prob = u.prob.lmProbability
            var independent = !u.prob.lmExtendsLeft
            outBo[0] = u.backoff
            var outLen = u.backoff.lmHasExtension ? 1 : 0
            var ngramLength = 1
            if inLen > 0 && !independent {
                var key = LMHash.start(w)
                var j = 0
                while true {
                    key = LMHash.extend(key, ids[i - 1 - j])
                    let table = tables[j]
                    let s = table.find(key)
                    if s < 0 { break }
                    let e = table.base[s]
                    prob = e.prob.lmProbability
                    ngramLength = j + 2
                    if j == maxMiddle { break }  // the highest order: no back-off, no longer n-gram
                    outBo[j + 1] = e.backoff
                    if e.backoff.lmHasExtension { outLen = j + 2 }
                    independent = !e.prob.lmExtendsLeft
                    j += 1
                    if j >= inLen || independent { break }
                }
            }
            var s = prob
            var k = ngramLength - 1
            while k < inLen {
                s += inBo[k]
                k += 1
            }
            total += s
            if let perWord { perWord[i - first] = WordScore(log10Probability: s, ngramLength: ngramLength, isOOV: w == unk) }
            swap(&inBo, &outBo)
            inLen = outLen
            i += 1
        }
        return total
    }
}

/// An n-gram back-off language model read from an ARPA file (KenLM's text format), scored
/// exactly as KenLM's probing model scores it. Load once per process and share it between
/// workers; each worker brings its own ``LMScratch``.
///
/// Scoring follows KenLM's `FullScore`: for each word the longest n-gram ending in it that the
/// model has gives the probability, plus the back-off weights of every longer context suffix
/// the model has (back-off only for context n-grams that exist). Unknown words are `<unk>`
/// (an ARPA file without `<unk>` gets one with log10 probability -100, as KenLM does, and a
/// warning). Loading applies KenLM's repairs and checks: an n-gram whose right-hand suffix is
/// missing (pruned SRILM models) gets the suffix filled in with the backed-off probability,
/// and every n-gram's context must itself be an n-gram. Sums are single precision, in
/// KenLM's order, so sentence scores equal KenLM's to the last bit or nearly.
///
/// Memory: about 16 bytes × 1.5 per n-gram (the n-gram words are not kept, only 64-bit hashes
/// of them, as in KenLM's probing structure).
public final class NGramModel: Sendable {
    let storage: LMStorage
    /// The highest n-gram order.
    public var order: Int { storage.order }
    /// The number of n-grams of each order in the file's `\data\` header.
    public let counts: [Int]
    /// Problems that did not stop loading (a missing `<unk>`).
    public let warnings: [String]
    /// The file the model was read from.
    public let name: String

    /// Reads an ARPA file (plain text).
    ///
    /// - Throws: ``ARPAFormatError`` naming the file and line: the file cannot be read, is
    ///   compressed or binary, lacks `\data\`, a section holds more or fewer n-grams than the
    ///   header says, the file ends early, a number or a word is malformed, an n-gram uses a
    ///   word missing from the unigrams, a probability is positive, the highest order has a
    ///   back-off, an n-gram's context is missing, or `<s>` or `</s>` is missing.
    public convenience init(contentsOf path: String) throws {
        let file = try PlainFileReader(path: path)
        try self.init(name: path, read: file.read)
    }

    /// Reads ARPA text held in memory.
    public convenience init(arpa bytes: [UInt8], name: String = "<memory>") throws {
        var offset = 0
        try self.init(name: name) { into in
            let n = min(into.count, bytes.count - offset)
            if n > 0 {
                bytes.withUnsafeBytes { src in
                    into.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
                }
            }
            offset += n
            return n
        }
    }

    /// Reads ARPA text from a stream: `read` fills the buffer it is given and returns the
    /// number of bytes, 0 at the end (the shape of `ByteSource.read(into:)` in SluiceIO, so a
    /// caller can pass a gzip or zstd stream).
    public init(name: String, read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        let loaded = try ARPALoader.load(name: name, read: read)
        storage = loaded.storage
        counts = loaded.counts
        warnings = loaded.warnings
        self.name = name
    }

    /// The number of words in the vocabulary, `<unk>`, `<s>` and `</s>` included.
    public var vocabularySize: Int { storage.vocabularySize }

    /// The memory the model's tables take, in bytes.
    public var memoryBytes: Int { storage.memoryBytes }

    /// Whether the model knows `word` (as a whole word, bytes compared by hash).
    public func contains(_ word: String) -> Bool {
        var w = word
        return w.withUTF8 { b in
            guard let base = b.baseAddress, b.count > 0 else { return false }
            return storage.wordID(base, b.count) != storage.unk
        }
    }

    // MARK: Sentences

    /// The log10 probability of one line as KenLM's Python `Model.score(line, bos, eos)`
    /// computes it: words split on ASCII whitespace, `<s>` as context when `bos`, `</s>`
    /// scored at the end when `eos`. No normalisation.
    public func sentenceLog10Probability(
        _ line: UnsafeBufferPointer<UInt8>, bos: Bool = true, eos: Bool = true, scratch: inout LMScratch
    ) -> Double {
        guard let base = line.baseAddress, line.count > 0 else {
            return Double(scoreEmpty(bos: bos, eos: eos, scratch: &scratch))
        }
        let r = scoreLine(base, 0, line.count, bos: bos, eos: eos, countPython: false, scratch: &scratch)
        return Double(r.log10)
    }

    /// ``sentenceLog10Probability(_:bos:eos:scratch:)`` for a `String` (convenience, not for hot loops).
    public func sentenceLog10Probability(_ line: String, bos: Bool = true, eos: Bool = true) -> Double {
        var scratch = LMScratch()
        var s = line
        return s.withUTF8 { sentenceLog10Probability($0, bos: bos, eos: eos, scratch: &scratch) }
    }

    /// Every word's score (and `</s>`'s when `eos`), as KenLM's `Model.full_scores`.
    public func wordScores(_ line: String, bos: Bool = true, eos: Bool = true) -> [WordScore] {
        var scratch = LMScratch()
        var s = line
        return s.withUTF8 { b -> [WordScore] in
            let words = b.count
            prepare(&scratch, lineBytes: words)
            return scratch.ids.withUnsafeMutableBufferPointer { ids in
                scratch.backoffs.withUnsafeMutableBufferPointer { bo in
                    let n = b.baseAddress.map { tokenize($0, 0, words, bos: bos, eos: eos, ids: ids.baseAddress!).count }
                        ?? tokenizeEmpty(bos: bos, eos: eos, ids: ids.baseAddress!)
                    let scored = bos ? n - 1 : n
                    return [WordScore](unsafeUninitializedCapacity: max(scored, 0)) { out, initialized in
                        _ = storage.score(ids.baseAddress!, n, bos: bos, bo: bo.baseAddress!, perWord: out.baseAddress!)
                        initialized = max(scored, 0)
                    }
                }
            }
        }
    }

    /// One line scored as a sentence, with CCNet's word count: `log10Probability` as
    /// ``sentenceLog10Probability(_:bos:eos:scratch:)``, `length` = Python words + 1, `lines` = 1.
    /// The line is taken as it is (no normalisation; a `\n` inside is whitespace).
    public func lineScore(_ line: UnsafeBufferPointer<UInt8>, scratch: inout LMScratch) -> DocumentScore {
        guard let base = line.baseAddress, line.count > 0 else {
            return DocumentScore(log10Probability: Double(scoreEmpty(bos: true, eos: true, scratch: &scratch)), length: 1, lines: 1)
        }
        let r = scoreLine(base, 0, line.count, bos: true, eos: true, countPython: true, scratch: &scratch)
        return DocumentScore(log10Probability: Double(r.log10), length: r.pythonWords + 1, lines: 1, oovs: r.oovs)
    }

    // MARK: Documents

    /// Perplexity of a document as CCNet defines it: the text is split on `\n` (every line,
    /// empty ones included, as Python's `text.split("\n")`), each line is normalised (with
    /// `.ccnet`) and scored as a sentence (`<s> … </s>`), and
    /// `pp = 10^(-(Σ log10 P(line)) / Σ (words(line) + 1))`, words counted as `str.split()`.
    /// CCNet rounds the result to one decimal; this does not.
    ///
    /// Empty text (0 bytes) returns `Double.nan`: CCNet gives such a document no perplexity.
    /// Text that is only newlines is scored (each empty line as `<s> </s>`).
    public func documentPerplexity(
        _ text: UnsafeBufferPointer<UInt8>, normalization: PerplexityNormalization, scratch: inout LMScratch
    ) -> Double {
        if text.count == 0 { return .nan }
        return documentScore(text, normalization: normalization, scratch: &scratch).perplexity
    }

    /// The sums behind ``documentPerplexity(_:normalization:scratch:)``.
    public func documentScore(
        _ text: UnsafeBufferPointer<UInt8>, normalization: PerplexityNormalization, scratch: inout LMScratch
    ) -> DocumentScore {
        var result = DocumentScore()
        guard let p = text.baseAddress, text.count > 0 else { return result }
        let end = text.count
        var lineStart = 0
        while true {
            var lineEnd = lineStart
            while lineEnd < end && p[lineEnd] != 10 { lineEnd += 1 }
            let r: (log10: Float, pythonWords: Int, oovs: Int)
            if normalization == .ccnet {
                r = scoreNormalizedLine(p, lineStart, lineEnd, scratch: &scratch)
            } else {
                r = scoreLine(p, lineStart, lineEnd, bos: true, eos: true, countPython: true, scratch: &scratch)
            }
            result.log10Probability += Double(r.log10)
            result.length += r.pythonWords + 1
            result.oovs += r.oovs
            result.lines += 1
            if lineEnd >= end { break }
            lineStart = lineEnd + 1
        }
        return result
    }

    /// ``documentScore(_:normalization:scratch:)`` for a `String` (convenience).
    public func documentScore(_ text: String, normalization: PerplexityNormalization = .none) -> DocumentScore {
        var scratch = LMScratch()
        var s = text
        return s.withUTF8 { documentScore($0, normalization: normalization, scratch: &scratch) }
    }

    // MARK: Internals

    /// Makes the scratch buffers big enough for a line of `lineBytes` bytes.
    @inline(__always)
    func prepare(_ scratch: inout LMScratch, lineBytes: Int) {
        let needIDs = lineBytes / 2 + 4
        if scratch.ids.count < needIDs { scratch.ids = [UInt32](repeating: 0, count: max(needIDs, 1024)) }
        if scratch.backoffs.count < 2 * order { scratch.backoffs = [Float](repeating: 0, count: 2 * order) }
    }

    /// Word ids of `p[start..<end]` split on ASCII whitespace, with `<s>`/`</s>` around them.
    /// Returns the id count, the number of scoring words, and whether Python's split might
    /// count differently (a byte that may be other whitespace was seen).
    @inline(__always)
    func tokenize(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, bos: Bool, eos: Bool, ids: UnsafeMutablePointer<UInt32>
    ) -> (count: Int, words: Int, oovs: Int, maybeOtherSpaces: Bool) {
        var n = 0
        if bos {
            ids[0] = storage.bos
            n = 1
        }
        var oovs = 0
        var other = false
        var i = start
        while i < end {
            while i < end && LMText.isScoringSpace(p[i]) { i += 1 }
            if i == end { break }
            let ws = i
            while i < end {
                let b = p[i]
                if LMText.isScoringSpace(b) { break }
                if LMText.mayBeOtherSpace(b) { other = true }
                i += 1
            }
            let id = storage.wordID(p + ws, i - ws)
            if id == storage.unk { oovs += 1 }
            ids[n] = id
            n += 1
        }
        if eos {
            ids[n] = storage.eos
            n += 1
        }
        return (n, n - (bos ? 1 : 0) - (eos ? 1 : 0), oovs, other)
    }

    func tokenizeEmpty(bos: Bool, eos: Bool, ids: UnsafeMutablePointer<UInt32>) -> Int {
        var n = 0
        if bos {
            ids[n] = storage.bos
            n += 1
        }
        if eos {
            ids[n] = storage.eos
            n += 1
        }
        return n
    }

    func scoreEmpty(bos: Bool, eos: Bool, scratch: inout LMScratch) -> Float {
        prepare(&scratch, lineBytes: 0)
        return scratch.ids.withUnsafeMutableBufferPointer { ids in
            scratch.backoffs.withUnsafeMutableBufferPointer { bo in
                let n = tokenizeEmpty(bos: bos, eos: eos, ids: ids.baseAddress!)
                return storage.score(ids.baseAddress!, n, bos: bos, bo: bo.baseAddress!)
            }
        }
    }

    @inline(__always)
    func scoreLine(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, bos: Bool, eos: Bool, countPython: Bool,
        scratch: inout LMScratch
    ) -> (log10: Float, pythonWords: Int, oovs: Int) {
        prepare(&scratch, lineBytes: end - start)
        return scratch.ids.withUnsafeMutableBufferPointer { ids in
            scratch.backoffs.withUnsafeMutableBufferPointer { bo in
                let t = tokenize(p, start, end, bos: bos, eos: eos, ids: ids.baseAddress!)
                let s = storage.score(ids.baseAddress!, t.count, bos: bos, bo: bo.baseAddress!)
                let words = countPython && t.maybeOtherSpaces ? LMText.pythonWordCount(p, start, end) : t.words
                return (s, words, t.oovs)
            }
        }
    }

    @inline(__always)
    func scoreNormalizedLine(
        _ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, scratch: inout LMScratch
    ) -> (log10: Float, pythonWords: Int, oovs: Int) {
        let need = 3 * (end - start) + 16
        if scratch.normalized.count < need { scratch.normalized = [UInt8](repeating: 0, count: max(need, 4096)) }
        let n = scratch.normalized.withUnsafeMutableBufferPointer { out in
            CCNetNormalizer.normalizeLine(p, start, end, into: out.baseAddress!)
        }
        prepare(&scratch, lineBytes: n)
        return scratch.normalized.withUnsafeBufferPointer { norm in
            scratch.ids.withUnsafeMutableBufferPointer { ids in
                scratch.backoffs.withUnsafeMutableBufferPointer { bo in
                    let q = norm.baseAddress!
                    let t = tokenize(q, 0, n, bos: true, eos: true, ids: ids.baseAddress!)
                    let s = storage.score(ids.baseAddress!, t.count, bos: true, bo: bo.baseAddress!)
                    let words = t.maybeOtherSpaces ? LMText.pythonWordCount(q, 0, n) : t.words
                    return (s, words, t.oovs)
                }
            }
        }
    }
}
