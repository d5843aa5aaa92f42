import SluiceCore

/// The definition of score-bucket boundaries, shared by the in-memory computation (tests, small
/// corpora) and the bounded-memory one over the work files of `score_buckets`.
///
/// **Boundaries.** Given scores `x_i` with non-negative integer weights `w_i` (word counts for
/// token weighting, 1 for document weighting), total `T = Σ w_i > 0`, and a percentile `p` in
/// `[0, 100]`, let `q = p / 100` (one IEEE division, as numpy's `np.true_divide(p, 100)`) and
/// `W(v) = Σ { w_i : x_i ≤ v }`. The boundary is
///
///     b(p) = min { v ∈ {x_i} : Double(W(v)) / Double(T) ≥ q  and  W(v) > 0 }
///
/// with the division done in `Double` (correctly rounded). This is exactly numpy ≥ 2's
/// `np.percentile(x, p, weights=w, method="inverted_cdf")`: numpy sorts, takes the float64
/// cumulative sum of the weights divided by its last element (exact for integer weights
/// below 2^53), replaces zero entries by -1 (so a leading zero-weight value is never chosen
/// for `p = 0`), and takes the first position whose value is ≥ q. With equal scores the value
/// at that position is the same whichever of them it is, so the definition needs no order
/// among ties. `-0.0` is read as `0.0`; NaN and infinite scores count as missing.
///
/// **Buckets.** With boundaries `b_1 ≤ … ≤ b_k` (from increasing percentiles), a score `x`
/// falls in bucket `#{ j : b_j ≤ x }`, an integer in `0 … k`: numpy's
/// `np.digitize(x, boundaries)` (`right=False`), as Nemotron-CC buckets its classifier scores.
/// So with CCNet's 30th and 60th percentiles, bucket 0 is `x < p30` (CCNet's head, for
/// perplexity), 1 is `p30 ≤ x < p60` (middle) and 2 is `x ≥ p60` (tail).
public enum ScoreBucketMath {
    /// The largest total weight for which the float64 cumulative sums are exact.
    public static let maximumTotalWeight: UInt64 = 1 << 53

    /// A 64-bit key that orders like the score (`-0.0` and `0.0` get the same key).
    @inlinable @inline(__always)
    public static func key(_ score: Double) -> UInt64 {
        let bits = (score + 0.0).bitPattern
        return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }

    /// The score of a key made by ``key(_:)``.
    @inlinable @inline(__always)
    public static func score(_ key: UInt64) -> Double {
        Double(bitPattern: key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key)
    }

    /// The smallest cumulative weight `W ≥ 1` with `Double(W) / Double(total) ≥ percentile / 100`:
    /// the boundary of `percentile` is the smallest score whose cumulative weight reaches it.
    public static func requiredWeight(percentile: Double, total: UInt64) -> UInt64 {
        precondition(total > 0 && total <= maximumTotalWeight)
        let q = percentile / 100
        let t = Double(total)
        var lo: UInt64 = 1
        var hi: UInt64 = total
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if Double(mid) / t >= q { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// The percentiles of `buckets` equal-weight buckets: `100 · i / buckets` for
    /// `i = 1 … buckets - 1` (5, 10, …, 95 for 20 buckets, as Nemotron-CC).
    public static func percentiles(buckets: Int) -> [Double] {
        (1..<max(1, buckets)).map { 100 * Double($0) / Double(buckets) }
    }

    /// The boundaries of `percentiles` over scores and weights held in memory (the reference
    /// the bounded computation is tested against). Nil when the total weight is 0.
    public static func boundaries(scores: [Double], weights: [UInt64], percentiles: [Double]) -> [Double]? {
        precondition(scores.count == weights.count)
        var pairs: [(key: UInt64, weight: UInt64)] = []
        pairs.reserveCapacity(scores.count)
        for (s, w) in zip(scores, weights) where s.isFinite { pairs.append((key(s), w)) }
        let total = pairs.reduce(0) { $0 + $1.weight }
        guard total > 0, total <= maximumTotalWeight else { return nil }
        pairs.sort { $0.key < $1.key }
        return percentiles.map { p in
            let need = requiredWeight(percentile: p, total: total)
            return score(firstKey(sorted: pairs, below: 0, need: need)!)
        }
    }

    /// The first distinct key of sorted pairs whose cumulative weight (plus `below`) reaches
    /// `need`, counting every pair of an equal key.
    static func firstKey<C: Collection>(sorted pairs: C, below: UInt64, need: UInt64) -> UInt64?
    where C.Element == (key: UInt64, weight: UInt64) {
        var cumulative = below
        var iterator = pairs.makeIterator()
        guard var current = iterator.next() else { return nil }
        cumulative &+= current.weight
        while let next = iterator.next() {
            if next.key != current.key {
                if cumulative >= need { return current.key }
            }
            cumulative &+= next.weight
            current = next
        }
        return cumulative >= need ? current.key : nil
    }

    /// The bucket of `score`: how many boundaries are ≤ it (binary search).
    @inlinable
    public static func bucket(of score: Double, boundaries: [Double]) -> Int {
        var lo = 0
        var hi = boundaries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if boundaries[mid] <= score { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// Exact weighted percentiles over a stream of `(key, weight)` records read in passes, in
/// bounded memory: a radix selection on the 64-bit keys, 16 bits per pass, that collects a
/// target's remaining records into memory as soon as they fit.
///
/// Each pass reads every record once. The first pass builds one histogram (count and weight
/// per value of the top 16 key bits); for each percentile the bin where its cumulative weight
/// is reached becomes the next prefix. A later pass either histograms the next 16 bits under
/// that prefix or, when the bin holds at most `collectLimit` records, collects them, sorts
/// them and finds the exact key. Keys equal in all 64 bits end the search after four
/// histogram passes. Typical corpora need two or three passes.
///
/// Memory: 1 MiB per distinct prefix being histogrammed (at most one per percentile) plus
/// `collectLimit` records of 16 bytes per prefix being collected.
struct ScoreBucketSelection {
    /// A pass over every record: calls the visitor with `(key, weight)` for each.
    typealias Pass = ((UInt64, UInt64) -> Void) throws -> Void

    let percentiles: [Double]
    let total: UInt64
    let collectLimit: Int

    private struct Target {
        var need: UInt64
        var below: UInt64 = 0
        /// High key bits fixed so far (0, 16, 32, 48).
        var bits = 0
        /// The key with those bits; lower bits zero.
        var prefix: UInt64 = 0
        var collect = false
        var answer: UInt64?
    }

    private struct GroupID: Hashable, Comparable {
        var bits: Int
        var prefix: UInt64
        static func < (a: GroupID, b: GroupID) -> Bool { a.bits != b.bits ? a.bits < b.bits : a.prefix < b.prefix }
    }

    /// The keys of the boundaries, and the number of passes made.
    func run(_ pass: Pass) throws -> (keys: [UInt64], passes: Int) {
        var targets = percentiles.map { Target(need: ScoreBucketMath.requiredWeight(percentile: $0, total: total)) }
        var passes = 0
        while targets.contains(where: { $0.answer == nil }) {
            passes += 1
            // The groups of this pass, by how many bits they fix, each sorted by prefix.
            var histogramGroups: [GroupID] = []
            var collectGroups: [GroupID] = []
            for t in targets where t.answer == nil {
                let g = GroupID(bits: t.bits, prefix: t.prefix)
                if t.collect {
                    if !collectGroups.contains(g) { collectGroups.append(g) }
                } else if !histogramGroups.contains(g) {
                    histogramGroups.append(g)
                }
            }
            histogramGroups.sort()
            collectGroups.sort()
            var counts = [[UInt64]](repeating: [], count: histogramGroups.count)
            var weights = [[UInt64]](repeating: [], count: histogramGroups.count)
            for i in histogramGroups.indices {
                counts[i] = [UInt64](repeating: 0, count: 1 << 16)
                weights[i] = [UInt64](repeating: 0, count: 1 << 16)
            }
            var collected = [[(key: UInt64, weight: UInt64)]](repeating: [], count: collectGroups.count)
            let hLevels = Self.levels(histogramGroups)
            let cLevels = Self.levels(collectGroups)
            try pass { key, weight in
                for level in hLevels {
                    if let g = Self.find(level, key, in: histogramGroups) {
                        let bin = Int(truncatingIfNeeded: (key << UInt64(level.bits)) >> 48)
                        counts[g][bin] &+= 1
                        weights[g][bin] &+= weight
                    }
                }
                for level in cLevels {
                    if let g = Self.find(level, key, in: collectGroups) {
                        collected[g].append((key, weight))
                    }
                }
            }
            for i in collected.indices { collected[i].sort { $0.key < $1.key } }
            for ti in targets.indices where targets[ti].answer == nil {
                var t = targets[ti]
                let g = GroupID(bits: t.bits, prefix: t.prefix)
                if t.collect {
                    let list = collected[collectGroups.firstIndex(of: g)!]
                    guard let k = ScoreBucketMath.firstKey(sorted: list, below: t.below, need: t.need) else {
                        throw ScoreBucketError("score_buckets: the score files changed between passes (a collected range no longer reaches its percentile); rerun the job")
                    }
                    t.answer = k
                } else {
                    let h = histogramGroups.firstIndex(of: g)!
                    var cumulative = t.below
                    var found: Int?
                    for bin in 0..<(1 << 16) where counts[h][bin] > 0 {
                        if cumulative &+ weights[h][bin] >= t.need {
                            found = bin
                            break
                        }
                        cumulative &+= weights[h][bin]
                    }
                    guard let bin = found else {
                        throw ScoreBucketError("score_buckets: the score files changed between passes (a percentile's range holds too little weight); rerun the job")
                    }
                    t.below = cumulative
                    t.prefix |= UInt64(bin) << UInt64(48 - t.bits)
                    t.bits += 16
                    if t.bits == 64 {
                        t.answer = t.prefix
                    } else if counts[h][bin] <= UInt64(collectLimit) {
                        t.collect = true
                    }
                }
                targets[ti] = t
            }
        }
        return (targets.map { $0.answer! }, passes)
    }

    /// The distinct bit counts of sorted groups, with the range of groups for each.
    private struct Level {
        var bits: Int
        var range: Range<Int>
    }

    private static func levels(_ groups: [GroupID]) -> [Level] {
        var out: [Level] = []
        var start = 0
        for i in groups.indices where i == groups.count - 1 || groups[i + 1].bits != groups[i].bits {
            out.append(Level(bits: groups[i].bits, range: start..<(i + 1)))
            start = i + 1
        }
        return out
    }

    /// The group of `level` whose prefix `key` has, by binary search.
    @inline(__always)
    private static func find(_ level: Level, _ key: UInt64, in groups: [GroupID]) -> Int? {
        let masked = level.bits == 0 ? 0 : key & ~(UInt64.max >> UInt64(level.bits))
        var lo = level.range.lowerBound
        var hi = level.range.upperBound
        while lo < hi {
            let mid = (lo + hi) / 2
            if groups[mid].prefix < masked { lo = mid + 1 } else { hi = mid }
        }
        return lo < level.range.upperBound && groups[lo].prefix == masked ? lo : nil
    }
}

/// Trouble with a `score_buckets` job (its files, its input); the message says what to do.
public struct ScoreBucketError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
