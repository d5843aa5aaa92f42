#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings for ``KneserNeyTrainer``.
public struct KneserNeyOptions: Sendable {
    /// The n-gram order, 1 to 6 (lmplz's default build allows up to 6; CCNet uses 5).
    public var order: Int
    /// Normalisation applied to every line before it is split into words; use the same when
    /// scoring.
    public var normalization: PerplexityNormalization
    /// Discounts D1, D2, D3+ to use for an order whose closed-form discounts cannot be
    /// computed or fall out of range (lmplz's `--discount_fallback`; its default values are
    /// 0.5, 1, 1.5). `nil`: such a corpus is an error.
    public var discountFallback: [Float]?

    public init(order: Int = 3, normalization: PerplexityNormalization = .none, discountFallback: [Float]? = nil) {
        self.order = order
        self.normalization = normalization
        self.discountFallback = discountFallback
    }

    /// lmplz's fallback discounts.
    public static let lmplzFallback: [Float] = [0.5, 1, 1.5]
}

/// A training problem: what is wrong and what to do.
public struct LMTrainingError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Builds an interpolated modified Kneser-Ney n-gram model as KenLM's `lmplz` does, from
/// sentences (lines of text).
///
/// - Words: a line is split on NUL, tab, CR, LF and space, as lmplz splits its corpus. The
///   tokens `<s>`, `</s>` and `<unk>` in the text are skipped (lmplz `--skip_symbols`) and
///   counted in ``skippedSymbols``. Each line is one sentence `<s> w1 … wn </s>`; an empty
///   line is the sentence `<s> </s>`.
/// - Counts: the highest order uses raw counts; a lower-order n-gram uses its number of
///   distinct one-word left extensions (continuation count), except n-grams that start with
///   `<s>`, which keep raw counts (nothing precedes `<s>`). `<s>` and `<unk>` have count 0.
/// - Discounts per order from the counts of counts t1…t4 of those adjusted counts (Chen &
///   Goodman eq. 26): `Y = t1 / (t1 + 2 t2)`, `Dk = k − (k+1) Y t(k+1) / tk` for k = 1, 2, 3.
/// - Probabilities: `p(w | c) = (a(cw) − D(a(cw))) / Σ a(c·) + γ(c) p(w | c')` with
///   `γ(c) = (D1 N1(c) + D2 N2(c) + D3 N3+(c)) / Σ a(c·)` and `c'` the context without its first
///   word; unigrams interpolate with the uniform distribution over the vocabulary without
///   `<s>` (lmplz's default `--interpolate_unigrams`), so `<unk>` gets γ/|V|; `<s>` gets
///   probability 1 (log10 0), as lmplz writes it.
/// - Back-off of a context `c` is `γ(c)`, 0 (log10) for n-grams that are no context.
/// - Arithmetic in single precision in lmplz's order, so the ARPA numbers match lmplz's.
///
/// Not supported: pruning, `--vocab_pad`, `--limit_vocab_file`, and SRILM-style unigram mass
/// to `<unk>` (`--interpolate_unigrams 0`). Counting is in memory: roughly 40 bytes per
/// distinct n-gram of each order.
public final class KneserNeyTrainer {
    public let options: KneserNeyOptions
    /// Sentences (lines) added.
    public private(set) var sentences = 0
    /// Words added (not counting `<s>`/`</s>`).
    public private(set) var tokens = 0
    /// `<s>`, `</s>` and `<unk>` tokens found in the text and skipped.
    public private(set) var skippedSymbols = 0

    let vocabulary = WordVocabulary()
    var levels: [NGramCounts]  // levels[n-1]: order n
    private var sentence: [UInt32] = []
    private var normalized: [UInt8] = []
    private var estimated = false

    public init(options: KneserNeyOptions) throws {
        guard (1...6).contains(options.order) else {
            throw LMTrainingError("order \(options.order) is not supported: use 1 to 6")
        }
        if let f = options.discountFallback {
            guard f.count == 3, f[0] >= 0, f[0] <= 1, f[1] >= 0, f[1] <= 2, f[2] >= 0, f[2] <= 3 else {
                throw LMTrainingError("discount fallback must be three numbers D1 D2 D3+ with 0 <= Dk <= k, e.g. 0.5 1 1.5")
            }
        }
        self.options = options
        levels = (1...options.order).map { NGramCounts(order: $0) }
    }

    /// Adds a document as CCNet scores one: every piece of `text.split("\n")` is a sentence,
    /// empty ones included.
    public func addDocument(_ text: UnsafeBufferPointer<UInt8>) {
        guard let p = text.baseAddress, text.count > 0 else {
            addLine(UnsafeBufferPointer(start: nil, count: 0))
            return
        }
        var start = 0
        while true {
            var end = start
            while end < text.count && p[end] != 10 { end += 1 }
            addLine(UnsafeBufferPointer(start: p + start, count: end - start))
            if end >= text.count { break }
            start = end + 1
        }
    }

    /// Adds the lines of a text file's contents as lmplz reads a corpus: lines end with `\n`;
    /// text after the last `\n` is a line too (lmplz would drop its `</s>`; Sluice does not).
    public func addLines(_ text: UnsafeBufferPointer<UInt8>) {
        guard let p = text.baseAddress, text.count > 0 else { return }
        var start = 0
        while start < text.count {
            var end = start
            while end < text.count && p[end] != 10 { end += 1 }
            addLine(UnsafeBufferPointer(start: p + start, count: end - start))
            start = end + 1
        }
    }

    /// Adds one sentence (`line` should hold no `\n`).
    public func addLine(_ line: UnsafeBufferPointer<UInt8>) {
        precondition(!estimated, "KneserNeyTrainer: text added after estimate()")
        if options.normalization == .ccnet, let base = line.baseAddress, line.count > 0 {
            let need = 3 * line.count + 16
            if normalized.count < need { normalized = [UInt8](repeating: 0, count: need) }
            let n = normalized.withUnsafeMutableBufferPointer { CCNetNormalizer.normalizeLine(base, 0, line.count, into: $0.baseAddress!) }
            normalized.withUnsafeBufferPointer { addWords(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        } else {
            addWords(line)
        }
    }

    private func addWords(_ line: UnsafeBufferPointer<UInt8>) {
        sentence.removeAll(keepingCapacity: true)
        sentence.append(WordVocabulary.bos)
        if let p = line.baseAddress {
            var i = 0
            let n = line.count
            while i < n {
                while i < n && LMText.isTrainingSpace(p[i]) { i += 1 }
                if i == n { break }
                let s = i
                while i < n && !LMText.isTrainingSpace(p[i]) { i += 1 }
                let id = vocabulary.id(p + s, i - s)
                if id <= WordVocabulary.eos {
                    skippedSymbols += 1
                    continue
                }
                sentence.append(id)
                tokens += 1
            }
        }
        sentence.append(WordVocabulary.eos)
        sentences += 1
        let order = options.order
        sentence.withUnsafeBufferPointer { t in
            let base = t.baseAddress!
            for e in 1..<t.count {
                let s = e - order + 1
                if s >= 0 {
                    levels[order - 1].add(base + s)
                } else {
                    levels[e].add(base)  // an n-gram of order e+1 starting with <s>
                }
            }
        }
    }

    /// Estimates the model. Call it once, after all the text is added: it turns the counts
    /// into adjusted counts in place.
    public func estimate() throws -> ARPAModelData {
        let order = options.order
        guard sentences > 0 else { throw LMTrainingError("no text to train on: the input has no lines") }
        guard !estimated else { throw LMTrainingError("estimate() was already called on this trainer") }
        estimated = true
        // Adjusted counts of the lower orders: distinct left extensions.
        let adjusted = levels
        if order > 1 {
            for n in stride(from: order - 1, through: 1, by: -1) {
                let upper = adjusted[n]
                let lower = adjusted[n - 1]
                upper.words.withUnsafeBufferPointer { w in
                    for i in 0..<upper.count {
                        lower.increment(w.baseAddress! + i * (n + 1) + 1)
                    }
                }
            }
        }
        // Every vocabulary word is a unigram; <unk> and <s> with count 0.
        let uni = adjusted[0]
        for id in 0..<UInt32(vocabulary.count) {
            var w = id
            _ = uni.findOrInsert(&w)
        }
        for id in [WordVocabulary.unk, WordVocabulary.bos] {
            var w = id
            uni.counts[uni.findOrInsert(&w)] = 0
        }

        // Discounts.
        var discounts: [[Float]] = []
        var fallbackUsed: [Int] = []
        for n in 1...order {
            var t = [UInt64](repeating: 0, count: 5)
            for c in adjusted[n - 1].counts where c >= 1 && c <= 4 { t[Int(c)] += 1 }
            var d: [Float] = [0, 0, 0, 0]
            var problem: String?
            if let k = (1...3).first(where: { t[$0] == 0 }) {
                problem = "no \(n)-grams have adjusted count \(k)"
            } else {
                let y = Float(Double(t[1]) / (Double(t[1]) + 2.0 * Double(t[2])))
                for k in 1...3 {
                    d[k] = Float(k) - Float(k + 1) * y * Float(t[k + 1]) / Float(t[k])
                    if d[k] < 0 || d[k] > Float(k) { problem = "the \(n)-gram discount for count \(k) is \(d[k]), out of range" }
                }
            }
            if let problem {
                guard let f = options.discountFallback else {
                    throw LMTrainingError(
                        "cannot estimate Kneser-Ney discounts: \(problem) (a small, repetitive or artificial corpus). "
                            + "Train on more (deduplicated) text, lower --order, or pass --discount-fallback to use fixed discounts")
                }
                d = [0, f[0], f[1], f[2]]
                fallbackUsed.append(n)
            }
            discounts.append(d)
        }

        // Context sums: per lower-order entry, the denominator and N1, N2, N3+ of its extensions.
        let vocabSize = uni.count
        var probs: [[Float]] = []
        var gammas: [[Float]] = []  // gammas[n-1][i]: γ of entry i of order n as a context (0 = no context)
        for n in 1...order {
            let level = adjusted[n - 1]
            let d = discounts[n - 1]
            var prob = [Float](repeating: 0, count: level.count)
            if n == 1 {
                var denominator: UInt64 = 0
                var nk: [UInt64] = [0, 0, 0, 0]
                for c in level.counts {
                    denominator += c
                    if c > 0 { nk[Int(min(c, 3))] += 1 }
                }
                let den = Float(denominator)
                var gamma: Float = 0
                for k in 1...3 { gamma += d[k] * Float(nk[k]) }
                gamma /= den
                let uniform = Float(1.0 / Double(Float(vocabSize - 1)))
                for i in 0..<level.count {
                    let w = level.words[i]
                    let c = level.counts[i]
                    if w == WordVocabulary.unk {
                        prob[i] = 0 + gamma * uniform
                    } else if w == WordVocabulary.bos {
                        prob[i] = 1
                    } else {
                        let u = (Float(c) - d[Int(min(c, 3))]) / den
                        prob[i] = u + gamma * uniform
                    }
                }
            } else {
                let lower = adjusted[n - 2]
                var den = [UInt64](repeating: 0, count: lower.count)
                var nk = [UInt64](repeating: 0, count: lower.count * 4)
                var contextIndex = [Int32](repeating: 0, count: level.count)
                level.words.withUnsafeBufferPointer { w in
                    for i in 0..<level.count {
                        let ctx = lower.find(w.baseAddress! + i * n)
                        precondition(ctx >= 0, "the context of an n-gram is missing")
                        contextIndex[i] = Int32(ctx)
                        let c = level.counts[i]
                        den[ctx] += c
                        if c > 0 { nk[ctx * 4 + Int(min(c, 3))] += 1 }
                    }
                }
                var gamma = [Float](repeating: 0, count: lower.count)
                for j in 0..<lower.count where den[j] > 0 {
                    var g: Float = 0
                    for k in 1...3 { g += d[k] * Float(nk[j * 4 + k]) }
                    gamma[j] = g / Float(den[j])
                }
                gammas[n - 2] = gamma
                let lowerProb = probs[n - 2]
                level.words.withUnsafeBufferPointer { w in
                    for i in 0..<level.count {
                        let c = level.counts[i]
                        let ctx = Int(contextIndex[i])
                        let u = (Float(c) - d[Int(min(c, 3))]) / Float(den[ctx])
                        let suffix = lower.find(w.baseAddress! + i * n + 1)
                        precondition(suffix >= 0, "the suffix of an n-gram is missing")
                        prob[i] = u + gamma[ctx] * lowerProb[suffix]
                    }
                }
            }
            probs.append(prob)
            gammas.append([])
        }

        // Log10 and back-offs.
        var model = ARPAModelData(order: order, vocabulary: vocabulary.snapshot())
        for n in 1...order {
            let level = adjusted[n - 1]
            var logProb = [Float](repeating: 0, count: level.count)
            var logBackoff = [Float](repeating: 0, count: n < order ? level.count : 0)
            for i in 0..<level.count {
                logProb[i] = min(0, log10f(probs[n - 1][i]))
                if n < order {
                    let last = level.words[i * n + n - 1]
                    let g = gammas[n - 1][i]
                    if last != WordVocabulary.unk && last != WordVocabulary.eos && g > 0 {
                        logBackoff[i] = log10f(g)
                    }
                }
            }
            model.levels.append(.init(words: level.words, log10Probability: logProb, log10Backoff: logBackoff))
        }
        model.discounts = discounts.map { Array($0[1...3]) }
        model.fallbackDiscountOrders = fallbackUsed
        model.tokens = tokens
        return model
    }
}

/// Word ↔ id for training: ids 0, 1, 2 are `<unk>`, `<s>`, `</s>`; others in order of first
/// appearance. Words are compared byte for byte.
final class WordVocabulary {
    static let unk: UInt32 = 0
    static let bos: UInt32 = 1
    static let eos: UInt32 = 2

    private(set) var bytes: [UInt8] = []
    private(set) var offsets: [Int] = [0]
    private var hashes: [UInt64] = []
    private var slots: [Int32] = Array(repeating: -1, count: 1 << 12)

    init() {
        for w in ["<unk>", "<s>", "</s>"] {
            var s = w
            _ = s.withUTF8 { id($0.baseAddress!, $0.count) }
        }
    }

    var count: Int { offsets.count - 1 }

    /// The id of the word, adding it when new.
    func id(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
        let h = LMHash.bytes(p, n)
        var i = LMHash.slot(h, slots.count)
        while true {
            let s = slots[i]
            if s < 0 { break }
            if hashes[Int(s)] == h {
                let a = offsets[Int(s)], b = offsets[Int(s) + 1]
                if b - a == n && bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress! + a, p, n) == 0 }) {
                    return UInt32(s)
                }
            }
            i += 1
            if i == slots.count { i = 0 }
        }
        let id = Int32(count)
        slots[i] = id
        hashes.append(h)
        bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        offsets.append(bytes.count)
        if count * 2 > slots.count { rehash() }
        return UInt32(id)
    }

    private func rehash() {
        slots = Array(repeating: -1, count: slots.count * 2)
        for (id, h) in hashes.enumerated() {
            var i = LMHash.slot(h, slots.count)
            while slots[i] >= 0 {
                i += 1
                if i == slots.count { i = 0 }
            }
            slots[i] = Int32(id)
        }
    }

    func snapshot() -> ARPAModelData.Vocabulary { .init(bytes: bytes, offsets: offsets) }
}

/// Counts of the n-grams of one order: word ids flat (`order` per entry), in insertion order.
final class NGramCounts {
    let order: Int
    var words: [UInt32] = []
    var counts: [UInt64] = []
    private var hashes: [UInt64] = []
    private var slots: [Int32] = Array(repeating: -1, count: 1 << 10)

    init(order: Int) { self.order = order }

    var count: Int { counts.count }

    @inline(__always)
    private func hash(_ p: UnsafePointer<UInt32>) -> UInt64 {
        var h = LMHash.start(p[0])
        for k in 1..<order { h = LMHash.extend(h, p[k]) }
        return h
    }

    @inline(__always)
    private func equal(_ index: Int, _ p: UnsafePointer<UInt32>) -> Bool {
        words.withUnsafeBufferPointer { w in
            let q = w.baseAddress! + index * order
            for k in 0..<order where q[k] != p[k] { return false }
            return true
        }
    }

    /// The index of the n-gram at `p`, or -1.
    func find(_ p: UnsafePointer<UInt32>) -> Int {
        let h = hash(p)
        var i = LMHash.slot(h, slots.count)
        while true {
            let s = slots[i]
            if s < 0 { return -1 }
            if hashes[Int(s)] == h && equal(Int(s), p) { return Int(s) }
            i += 1
            if i == slots.count { i = 0 }
        }
    }

    /// The index of the n-gram at `p`, inserted with count 0 when new.
    func findOrInsert(_ p: UnsafePointer<UInt32>) -> Int {
        let h = hash(p)
        var i = LMHash.slot(h, slots.count)
        while true {
            let s = slots[i]
            if s < 0 { break }
            if hashes[Int(s)] == h && equal(Int(s), p) { return Int(s) }
            i += 1
            if i == slots.count { i = 0 }
        }
        let index = counts.count
        slots[i] = Int32(index)
        hashes.append(h)
        words.append(contentsOf: UnsafeBufferPointer(start: p, count: order))
        counts.append(0)
        if counts.count * 2 > slots.count { rehash() }
        return index
    }

    func add(_ p: UnsafePointer<UInt32>) { counts[findOrInsert(p)] += 1 }
    func increment(_ p: UnsafePointer<UInt32>) { counts[findOrInsert(p)] += 1 }

    private func rehash() {
        slots = Array(repeating: -1, count: slots.count * 2)
        for (index, h) in hashes.enumerated() {
            var i = LMHash.slot(h, slots.count)
            while slots[i] >= 0 {
                i += 1
                if i == slots.count { i = 0 }
            }
            slots[i] = Int32(index)
        }
    }
}
