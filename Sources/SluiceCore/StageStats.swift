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

/// A histogram over fixed log-scale bins, so histograms from any shards merge by adding.
///
/// Bin 0 holds values below 1; bin `i > 0` holds values in `[2^((i-1)/4), 2^(i/4))`: four
/// bins per doubling, 256 bins up to about 2^63.
public struct LogHistogram: Sendable, Equatable {
    public static let binsPerDoubling = 4
    public static let binCount = 256
    public private(set) var counts: [Int]
    public private(set) var total: Int = 0
    public private(set) var sum: Double = 0
    public private(set) var min: Double = .infinity
    public private(set) var max: Double = -.infinity

    public init() { counts = Array(repeating: 0, count: Self.binCount) }

    public static func bin(for value: Double) -> Int {
        guard value >= 1 else { return 0 }
        let b = quarterLog2Floor(value) + 1
        return Swift.min(b, binCount - 1)
    }

    /// The lower bound of bin `i`.
    public static func lowerBound(ofBin i: Int) -> Double {
        i == 0 ? 0 : pow2(Double(i - 1) / Double(binsPerDoubling))
    }

    public mutating func add(_ value: Double, count: Int = 1) {
        counts[Self.bin(for: value)] += count
        total += count
        sum += value * Double(count)
        if value < min { min = value }
        if value > max { max = value }
    }

    public mutating func merge(_ other: LogHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        total += other.total
        sum += other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// Rebuilds a histogram from its stored parts (for reading stats files).
    public init(counts: [Int], total: Int, sum: Double, min: Double, max: Double) {
        var c = counts
        if c.count < Self.binCount { c += Array(repeating: 0, count: Self.binCount - c.count) }
        self.counts = Array(c.prefix(Self.binCount))
        self.total = total
        self.sum = sum
        self.min = min
        self.max = max
    }
}

/// floor(4 · log2(x)) for x ≥ 1, computed from the exponent and a few comparisons so it is
/// exact at bin edges and needs no libm.
private func quarterLog2Floor(_ x: Double) -> Int {
        let e = Int(x.exponent)
        let m = x.significand  // in [1, 2)
        // Quarter-octave edges: 2^(1/4), 2^(1/2), 2^(3/4).
        let q: Int
        if m < 1.189_207_115_002_721 { q = 0 } else if m < 1.414_213_562_373_095 { q = 1 } else if m < 1.681_792_830_507_429 { q = 2 } else { q = 3 }
        return e * 4 + q
}

@inline(__always) private func pow2(_ x: Double) -> Double {
    // 2^x for the bin bounds: integer part through the exponent, fraction by table.
    let whole = x.rounded(.down)
    let frac = x - whole
    let table: [Double] = [1, 1.189_207_115_002_721, 1.414_213_562_373_095, 1.681_792_830_507_429]
    let idx = Int((frac * 4).rounded())
    return Double(sign: .plus, exponent: Int(whole), significand: table[min(idx, 3)])
}
