/// What one stage did over part of a run. Stats from batches, workers and tasks merge by
/// adding, so any split of the work gives the same totals.
public struct StageStats: Sendable, Equatable {
    /// Documents that reached the stage.
    public var received: Int = 0
    /// Documents the stage passed on.
    public var kept: Int = 0
    /// Dropped documents by reason.
    public var dropped: [String: Int] = [:]
    /// UTF-8 bytes of text received and passed on.
    public var bytesIn: Int = 0
    public var bytesOut: Int = 0
    /// Time spent in the stage, summed over workers.
    public var nanoseconds: UInt64 = 0
    /// Stage-specific counts (for example `invalid_utf8_replaced`).
    public var counters: [String: Int] = [:]

    public init() {}

    public var droppedTotal: Int { dropped.values.reduce(0, +) }
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public mutating func merge(_ other: StageStats) {
        received += other.received
        kept += other.kept
        bytesIn += other.bytesIn
        bytesOut += other.bytesOut
        nanoseconds += other.nanoseconds
        for (k, v) in other.dropped { dropped[k, default: 0] += v }
        for (k, v) in other.counters { counters[k, default: 0] += v }
    }

    public mutating func addDrops(_ counts: [DropReason: Int]) {
        for (k, v) in counts { dropped[k.name, default: 0] += v }
    }
}

/// A histogram over fixed log-linear bins, so histograms from any shards merge by adding
/// counts, and one histogram serves document lengths (1 … 10^9) and scores in [0, 1] alike.
///
/// Bins: every power of two from 2^-32 up to 2^64 is split into 16 equal-width sub-bins
/// (``subBinsPerOctave``), so a bin is at most 1/16 of its lower bound wide: 6.25% relative
/// resolution everywhere (for scores in [0.5, 1) bins are 1/32 wide, in [0.25, 0.5) 1/64).
/// A bin is named by a signed key in `-1536 … 1536`, ordered like the values:
///
/// - key 0 holds zero and every value with magnitude below 2^-32;
/// - key `k > 0` holds positive values in `[2^e · (1 + s/16), 2^e · (1 + (s+1)/16))` where
///   `k - 1 = (e + 32) · 16 + s`, with `e` in `-32 … 63` and `s` in `0 … 15`; values of 2^64 and
///   more (and +infinity) go to the top key 1536;
/// - key `-k` holds the negative values whose magnitude falls in bin `k`.
///
/// The key comes exactly from the double's exponent and the top four bits of its significand,
/// with no logarithm and no rounding. NaN is not counted. Storage is a dense window of counts
/// between the lowest and highest key seen, so a histogram of lengths takes a few hundred
/// counters and one of scores about a hundred. ``quantile(_:)`` interpolates inside a bin and
/// is exact at 0 and 1 (``min`` and ``max``); elsewhere its relative error is under 1/16.
public struct LogHistogram: Sendable, Equatable {
    /// Sub-bins per power of two.
    public static let subBinsPerOctave = 16
    /// The smallest power of two with its own bins; smaller magnitudes count as zero.
    public static let minExponent = -32
    /// The largest power of two with its own bins; larger values go to the top bin.
    public static let maxExponent = 63
    /// The largest key: `(maxExponent - minExponent + 1) · subBinsPerOctave`.
    public static let maxKey = (maxExponent - minExponent + 1) * subBinsPerOctave

    /// The key of the first stored count.
    public private(set) var firstKey: Int = 0
    /// Counts for keys `firstKey ..< firstKey + counts.count`; empty when nothing was added.
    public private(set) var counts: [Int] = []
    /// Values added.
    public private(set) var total: Int = 0
    /// Their sum.
    public private(set) var sum: Double = 0
    /// The smallest and largest value added (`+inf` and `-inf` when empty).
    public private(set) var min: Double = .infinity
    public private(set) var max: Double = -.infinity

    public init() {}

    /// Rebuilds a histogram from its stored parts (for reading stats files). Keys outside the
    /// valid range are clamped into it.
    public init(firstKey: Int, counts: [Int], total: Int, sum: Double, min: Double, max: Double) {
        self.init()
        for (i, c) in counts.enumerated() where c > 0 { addCount(c, toKey: Swift.min(Swift.max(firstKey + i, -Self.maxKey), Self.maxKey)) }
        self.total = total
        self.sum = sum
        self.min = min
        self.max = max
    }

    public var isEmpty: Bool { total == 0 }
    public var mean: Double { total > 0 ? sum / Double(total) : 0 }

    /// The key of the bin that holds `value` (nil for NaN).
    @inlinable
    public static func key(for value: Double) -> Int? {
        if value.isNaN { return nil }
        let m = value.magnitude
        let k: Int
        if m < 0x1p-32 {
            return 0
        } else if m >= 0x1p64 {
            k = maxKey
        } else {
            let e = Int(m.exponent)
            let s = Int(truncatingIfNeeded: (m.significandBitPattern >> 48) & 0xF)
            k = (e - minExponent) * subBinsPerOctave + s + 1
        }
        return value < 0 ? -k : k
    }

    /// The lower edge of bin `key` (for negative keys, the edge nearer zero).
    public static func lowerBound(ofKey key: Int) -> Double {
        if key == 0 { return 0 }
        let k = abs(key) - 1
        let e = k / subBinsPerOctave + minExponent
        let s = k % subBinsPerOctave
        let v = Double(sign: .plus, exponent: e, significand: 1 + Double(s) / Double(subBinsPerOctave))
        return key < 0 ? -v : v
    }

    /// The value range that bin `key` covers: `[low, high)` for positive keys, `(low, high]`
    /// for negative ones; the top bins are open-ended (`high` or `low` infinite).
    public static func range(ofKey key: Int) -> (low: Double, high: Double) {
        if key == 0 { return (-0x1p-32, 0x1p-32) }
        if key > 0 { return (lowerBound(ofKey: key), key == maxKey ? .infinity : lowerBound(ofKey: key + 1)) }
        return (key == -maxKey ? -.infinity : lowerBound(ofKey: key - 1), lowerBound(ofKey: key))
    }

    public mutating func add(_ value: Double, count: Int = 1) {
        guard count > 0, let key = Self.key(for: value) else { return }
        addCount(count, toKey: key)
        total += count
        sum += value * Double(count)
        if value < min { min = value }
        if value > max { max = value }
    }

    @inline(__always)
    private mutating func addCount(_ count: Int, toKey key: Int) {
        if counts.isEmpty {
            firstKey = key
            counts = [count]
            return
        }
        let i = key - firstKey
        if i >= 0 && i < counts.count {
            counts[i] += count
        } else if i < 0 {
            counts.insert(contentsOf: repeatElement(0, count: -i), at: 0)
            firstKey = key
            counts[0] = count
        } else {
            counts.append(contentsOf: repeatElement(0, count: i - counts.count + 1))
            counts[i] = count
        }
    }

    public mutating func merge(_ other: LogHistogram) {
        guard other.total > 0 || !other.counts.isEmpty else { return }
        if counts.isEmpty {
            firstKey = other.firstKey
            counts = other.counts
        } else {
            let lo = Swift.min(firstKey, other.firstKey)
            let hi = Swift.max(firstKey + counts.count, other.firstKey + other.counts.count)
            if lo != firstKey || hi != firstKey + counts.count {
                var grown = Array(repeating: 0, count: hi - lo)
                for (i, c) in counts.enumerated() { grown[firstKey - lo + i] = c }
                counts = grown
                firstKey = lo
            }
            let offset = other.firstKey - firstKey
            for (i, c) in other.counts.enumerated() { counts[offset + i] += c }
        }
        total += other.total
        sum += other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The counts by bin key, lowest key first, leaving out empty bins.
    public var bins: [(key: Int, count: Int)] {
        counts.enumerated().compactMap { $0.element > 0 ? (firstKey + $0.offset, $0.element) : nil }
    }

    /// The approximate `q`-quantile (`q` in [0, 1]): the bin that holds it, then linear
    /// interpolation inside the bin, clamped to ``min`` and ``max``. Nil when empty.
    public func quantile(_ q: Double) -> Double? {
        guard total > 0 else { return nil }
        if q <= 0 { return min }
        if q >= 1 { return max }
        let target = q * Double(total)
        var seen = 0.0
        for (i, c) in counts.enumerated() where c > 0 {
            let next = seen + Double(c)
            if next >= target {
                var (low, high) = Self.range(ofKey: firstKey + i)
                low = Swift.max(low, min)
                high = Swift.min(high, max)
                if high < low { high = low }
                let f = (target - seen) / Double(c)
                return low + (high - low) * f
            }
            seen = next
        }
        return max
    }

    /// How many values fall at or above `threshold` (whole bins; the bin holding the threshold
    /// is split in proportion to its width).
    public func estimatedCount(atLeast threshold: Double) -> Double {
        var n = 0.0
        for (i, c) in counts.enumerated() where c > 0 {
            var (low, high) = Self.range(ofKey: firstKey + i)
            low = Swift.max(low, min)
            high = Swift.min(high, max)
            if low >= threshold {
                n += Double(c)
            } else if high > threshold, high > low {
                n += Double(c) * (high - threshold) / (high - low)
            }
        }
        return n
    }
}
