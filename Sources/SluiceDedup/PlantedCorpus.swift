import SluiceCore

/// A generated corpus with planted near-duplicates at known Jaccard similarities, for quality
/// tests and benchmarks.
///
/// Base documents are random words from a large vocabulary, so unrelated documents share
/// almost no 5-gram. A variant of a base replaces words at spread-out positions: each replaced
/// word changes the `ngram` shingles that cover it, so replacing `k` words of a document with
/// `m` shingles gives a Jaccard similarity of about (m − n·k)/(m + n·k). Every document records
/// its group and the target similarity in `metadata.planted`.
public struct PlantedCorpus: Sendable {
    public struct Pair: Sendable, Hashable {
        public var a: Int
        public var b: Int
        /// The similarity aimed at; measure the exact value with ``jaccard(_:_:ngram:)``.
        public var target: Double
    }

    public private(set) var documents: [Document] = []
    public private(set) var pairs: [Pair] = []

    /// - Parameters:
    ///   - bases: unrelated base documents.
    ///   - words: words per base document.
    ///   - similarities: for each base, one variant is planted at each of these targets.
    ///   - seed: the random seed; the same seed gives the same corpus.
    public init(bases: Int, words: Int = 200, similarities: [Double], ngram: Int = 5, seed: UInt64 = 1) {
        var rng = SplitMix64(seed: seed)
        var next = 0
        for g in 0..<bases {
            let base = (0..<words).map { _ in Self.word(rng.next()) }
            let baseIndex = next
            documents.append(Self.document(base, index: next, group: g, target: 1))
            next += 1
            for target in similarities {
                let m = max(1, words - ngram + 1)
                let k = max(0, Int((Double(m) * (1 - target) / (Double(ngram) * (1 + target))).rounded()))
                var variant = base
                // Spread the replacements evenly, starting at a random offset.
                if k > 0 {
                    let stride = max(1, words / k)
                    var pos = Int(rng.next() % UInt64(stride))
                    for _ in 0..<k where pos < words {
                        variant[pos] = Self.word(rng.next())
                        pos += stride
                    }
                }
                documents.append(Self.document(variant, index: next, group: g, target: target))
                pairs.append(Pair(a: baseIndex, b: next, target: target))
                next += 1
            }
        }
    }

    /// A word from a vocabulary of about 2^20 pronounceable words.
    static func word(_ r: UInt64) -> String {
        var bytes: [UInt8] = []
        appendWord(r, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let consonants = Array("bcdfghjklmnprstvwz".utf8)
    private static let vowels = Array("aeiou".utf8)

    /// Appends the word for `r` as ASCII bytes.
    static func appendWord(_ r: UInt64, to out: inout [UInt8]) {
        var x = r
        let syllables = 2 + Int(x % 3)
        x /= 3
        for _ in 0..<syllables {
            out.append(consonants[Int(x % UInt64(consonants.count))])
            x /= UInt64(consonants.count)
            out.append(vowels[Int(x % 5)])
            x /= 5
        }
    }

    static func document(_ words: [String], index: Int, group: Int, target: Double) -> Document {
        var text = ""
        for (i, w) in words.enumerated() {
            if i > 0 { text += i % 12 == 0 ? ". " : " " }
            text += i % 12 == 0 ? w.prefix(1).uppercased() + w.dropFirst() : w
        }
        text += "."
        return Document(
            id: "planted-\(index)", text: text, source: "planted",
            metadata: ["planted": .object(["group": .int(group), "target": .double(target)])])
    }

    /// The exact Jaccard similarity of two texts' shingle sets, after datatrove's
    /// normalisation (the sets MinHash estimates).
    public static func jaccard(_ a: String, _ b: String, ngram: Int = 5) -> Double {
        let sa = shingles(a, ngram: ngram)
        let sb = shingles(b, ngram: ngram)
        let union = sa.union(sb).count
        return union == 0 ? 0 : Double(sa.intersection(sb).count) / Double(union)
    }

    /// The set of shingle hashes of a text.
    public static func shingles(_ text: String, ngram: Int = 5) -> Set<UInt64> {
        var t = DatatroveText()
        t.simplify(text)
        t.tokenize()
        var out = Set<UInt64>()
        guard t.wordCount >= ngram else { return out }
        t.words.withUnsafeBytes { w in
            for i in 0...(t.wordCount - ngram) {
                out.insert(XXH64.hash(UnsafeRawBufferPointer(rebasing: w[t.wordStarts[i]..<t.wordEnds[i + ngram - 1]])))
            }
        }
        return out
    }
}
