/// An n-gram model in memory as ARPA lists it: the vocabulary, and for each order the
/// n-grams (word ids), their log10 probabilities and (below the highest order) log10
/// back-offs. ``KneserNeyTrainer`` produces one; ``ARPAWriter`` writes it.
public struct ARPAModelData: Sendable {
    /// Words by id, as UTF-8 bytes.
    public struct Vocabulary: Sendable {
        public var bytes: [UInt8]
        /// Word `i` is `bytes[offsets[i]..<offsets[i+1]]`.
        public var offsets: [Int]
        public var count: Int { offsets.count - 1 }
        public func word(_ id: Int) -> String {
            String(decoding: bytes[offsets[id]..<offsets[id + 1]], as: UTF8.self)
        }
    }

    /// The n-grams of one order.
    public struct Level: Sendable {
        /// Word ids, `order` per n-gram.
        public var words: [UInt32]
        public var log10Probability: [Float]
        /// Empty for the highest order.
        public var log10Backoff: [Float]
        public var count: Int { log10Probability.count }
    }

    public var order: Int
    public var vocabulary: Vocabulary
    /// `levels[n-1]` holds the n-grams of order n.
    public var levels: [Level] = []
    /// The discounts D1, D2, D3+ used for each order (from training).
    public var discounts: [[Float]] = []
    /// Orders that used the fallback discounts.
    public var fallbackDiscountOrders: [Int] = []
    /// Training tokens (words, without sentence markers).
    public var tokens = 0

    public init(order: Int, vocabulary: Vocabulary) {
        self.order = order
        self.vocabulary = vocabulary
    }

    /// The number of n-grams of each order.
    public var counts: [Int] { levels.map(\.count) }
}

/// Writes ARPA text: `\data\` with the counts, one `\N-grams:` section per order with
/// `log10prob<TAB>w1 … wn[<TAB>log10backoff]` lines (a back-off on every line below the
/// highest order, as lmplz writes), and `\end\`. Numbers are written as lmplz writes them: the
/// shortest decimal that reads back as the same 32-bit float, in plain notation from 1e-6 up
/// and `1.5e-7` style below (double-conversion's ECMAScript rules), `0` for zero.
public enum ARPAWriter {
    /// The whole ARPA text.
    public static func bytes(_ model: ARPAModelData) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(model.counts.reduce(0, +) * (12 + 8 * model.order) + 256)
        func put(_ s: String) { out.append(contentsOf: s.utf8) }
        put("\\data\\\n")
        for (i, c) in model.counts.enumerated() { put("ngram \(i + 1)=\(c)\n") }
        let v = model.vocabulary
        for (index, level) in model.levels.enumerated() {
            let n = index + 1
            put("\n\\\(n)-grams:\n")
            for i in 0..<level.count {
                appendNumber(level.log10Probability[i], to: &out)
                out.append(9)
                for k in 0..<n {
                    if k > 0 { out.append(32) }
                    let id = Int(level.words[i * n + k])
                    out.append(contentsOf: v.bytes[v.offsets[id]..<v.offsets[id + 1]])
                }
                if n < model.order {
                    out.append(9)
                    appendNumber(level.log10Backoff[i], to: &out)
                }
                out.append(10)
            }
        }
        put("\n\\end\\\n")
        return out
    }

    /// The shortest decimal that reads back as `x`, formatted as lmplz formats it; `0` for zero.
    public static func number(_ x: Float) -> String {
        var out: [UInt8] = []
        appendNumber(x, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``number(_:)`` of `x` to `out`.
    public static func appendNumber(_ x: Float, to out: inout [UInt8]) {
        if x == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        if !x.isFinite {
            out.append(contentsOf: (x.isNaN ? "NaN" : (x < 0 ? "-inf" : "inf")).utf8)
            return
        }
        // Swift's description holds the shortest round-trip digits; lay them out again.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 24 ASCII digits
        withUnsafeMutableBytes(of: &digits) { d in
            var count = 0
            var point = 0  // digits before the decimal point in the description
            var sawPoint = false
            var exp10 = 0
            var expSign = 1
            var inExponent = false
            var negative = false
            var s = x.description
            s.withUTF8 { b in
                for c in b {
                    if inExponent {
                        if c == UInt8(ascii: "-") { expSign = -1 } else if c != UInt8(ascii: "+") { exp10 = exp10 * 10 + Int(c &- 48) }
                    } else if c == UInt8(ascii: "-") {
                        negative = true
                    } else if c == UInt8(ascii: ".") {
                        sawPoint = true
                    } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                        inExponent = true
                    } else if count < 24 {
                        d[count] = c
                        count += 1
                        if !sawPoint { point += 1 }
                    }
                }
            }
            point += expSign * exp10
            var first = 0
            while count - first > 1 && d[first] == UInt8(ascii: "0") {
                first += 1
                point -= 1
            }
            while count - first > 1 && d[count - 1] == UInt8(ascii: "0") { count -= 1 }
            let n = count - first
            if negative { out.append(UInt8(ascii: "-")) }
            let exponent = point - 1
            if exponent >= -6 && exponent < 21 {
                if point <= 0 {
                    out.append(UInt8(ascii: "0"))
                    out.append(UInt8(ascii: "."))
                    for _ in 0..<(-point) { out.append(UInt8(ascii: "0")) }
                    for i in first..<count { out.append(d[i]) }
                } else if point >= n {
                    for i in first..<count { out.append(d[i]) }
                    for _ in 0..<(point - n) { out.append(UInt8(ascii: "0")) }
                } else {
                    for i in first..<(first + point) { out.append(d[i]) }
                    out.append(UInt8(ascii: "."))
                    for i in (first + point)..<count { out.append(d[i]) }
                }
            } else {
                out.append(d[first])
                if n > 1 {
                    out.append(UInt8(ascii: "."))
                    for i in (first + 1)..<count { out.append(d[i]) }
                }
                out.append(UInt8(ascii: "e"))
                out.append(contentsOf: String(exponent).utf8)
            }
        }
    }
}
