import SluiceCore

/// A plain-text table with a rule under the header; columns in `rightAligned` are padded on
/// the left. Widths count Unicode scalars.
public func renderTextTable(_ rows: [[String]], rightAligned: Set<Int>) -> String {
    guard let header = rows.first else { return "" }
    var widths = Array(repeating: 0, count: header.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.unicodeScalars.count) } }
    var out = ""
    for (n, r) in rows.enumerated() {
        var line = ""
        for (i, c) in r.enumerated() where i < widths.count {
            let padding = String(repeating: " ", count: widths[i] - c.unicodeScalars.count)
            if i > 0 { line += "  " }
            line += rightAligned.contains(i) ? padding + c : c + padding
        }
        while line.hasSuffix(" ") { line.removeLast() }
        out += line + "\n"
        if n == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
    }
    return out
}

/// An integer with thousands separators: `1,234,567`.
public func formatCount(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return n < 0 ? "-" + out : out
}

/// A share as a percentage with one decimal (`12.5%`), or `-` when `whole` is 0.
public func formatPercent(_ part: Double, of whole: Double, digits: Int = 1) -> String {
    guard whole > 0 else { return "-" }
    return formatFixed(100 * part / whole, digits: digits) + "%"
}

/// A value for tables: integers plainly, others with about four significant digits.
public func formatValue(_ v: Double) -> String {
    guard v.isFinite else { return v.isNaN ? "-" : (v > 0 ? "inf" : "-inf") }
    if v == v.rounded() && abs(v) < 1e15 { return formatCount(Int(v)) }
    let a = abs(v)
    if a >= 1e6 || a < 1e-4 { return shortScientific(v) }
    let digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : a >= 1 ? 3 : 4
    return formatFixed(v, digits: digits)
}

private func shortScientific(_ v: Double) -> String {
    var e = 0
    var m = abs(v)
    while m >= 10 { m /= 10; e += 1 }
    while m < 1 && m > 0 { m *= 10; e -= 1 }
    return (v < 0 ? "-" : "") + formatFixed(m, digits: 2) + "e" + String(e)
}

/// A quantile or mean of a histogram: whole numbers when the data are whole numbers (lengths,
/// counts) and the value is 10 or more, else ``formatValue(_:)``.
public func formatStatistic(_ v: Double, of h: LogHistogram) -> String {
    let integral = h.min == h.min.rounded() && h.max == h.max.rounded() && h.sum == h.sum.rounded()
    if integral && abs(v) >= 10 { return formatCount(Int(v.rounded())) }
    if integral && abs(v) < 10 { return formatFixed(v, digits: 1) }
    return formatValue(v)
}

/// A count shortened for chart labels: `812`, `12.4k`, `3.1M`.
public func formatShortCount(_ v: Double) -> String {
    let a = abs(v)
    if a < 1000 { return a == a.rounded() ? String(Int(v)) : formatFixed(v, digits: 1) }
    if a < 1e6 { return formatFixed(v / 1e3, digits: a < 1e4 ? 1 : 0) + "k" }
    if a < 1e9 { return formatFixed(v / 1e6, digits: a < 1e7 ? 1 : 0) + "M" }
    return formatFixed(v / 1e9, digits: a < 1e10 ? 1 : 0) + "G"
}

/// A bucket of a histogram as charts show it.
public struct DisplayBucket: Sendable, Equatable {
    public var low: Double
    public var high: Double
    public var count: Double
}

/// How a histogram is laid out for display.
public enum DisplayScale: Sendable { case linear, logarithmic }

/// Regroups a ``LogHistogram``'s fine bins into at most about `maxBuckets` display buckets
/// with round edges: linear steps of 1, 2 or 5 × 10^k for scores and narrow ranges, and
/// 1–2–5 steps per decade for lengths that span orders of magnitude. Each fine bin's count
/// goes to the bucket holding its midpoint (clamped to the data's range).
public func displayBuckets(_ h: LogHistogram, maxBuckets: Int = 20) -> (buckets: [DisplayBucket], scale: DisplayScale) {
    guard h.total > 0, h.min.isFinite, h.max.isFinite else { return ([], .linear) }
    let lo = h.min
    let hi = h.max
    var edges: [Double]
    var scale = DisplayScale.linear
    if lo > 0 && hi / lo >= 30 {
        scale = .logarithmic
        edges = logEdges(from: lo, to: hi, maxBuckets: maxBuckets)
    } else if lo == 0 && hi >= 30 {
        // Counts that include zero and span orders of magnitude: a zero bucket, then log steps.
        scale = .logarithmic
        let positive = h.bins.first(where: { $0.key > 0 }).map { LogHistogram.lowerBound(ofKey: $0.key) } ?? 1
        edges = [0] + logEdges(from: max(positive, 1), to: hi, maxBuckets: maxBuckets - 1)
    } else {
        edges = linearEdges(from: lo, to: hi, maxBuckets: maxBuckets)
    }
    var buckets = zip(edges, edges.dropFirst()).map { DisplayBucket(low: $0, high: $1, count: 0) }
    guard !buckets.isEmpty else { return ([DisplayBucket(low: lo, high: hi, count: Double(h.total))], scale) }
    for (key, count) in h.bins {
        let r = LogHistogram.range(ofKey: key)
        let a = max(r.low, lo)
        let b = min(r.high, hi)
        let mid = b >= a ? (a + b) / 2 : a
        // The last bucket whose low edge is not above the midpoint.
        var l = 0
        var u = buckets.count - 1
        while l < u {
            let m = (l + u + 1) / 2
            if buckets[m].low <= mid { l = m } else { u = m - 1 }
        }
        let idx = l
        buckets[idx].count += Double(count)
    }
    return (buckets, scale)
}

private func niceStep(_ raw: Double) -> Double {
    guard raw > 0 && raw.isFinite else { return 1 }
    var p = 1.0
    while p * 10 <= raw { p *= 10 }
    while p > raw { p /= 10 }
    for m in [1.0, 2, 2.5, 5, 10] where p * m >= raw { return p * m }
    return p * 10
}

private func linearEdges(from lo: Double, to hi: Double, maxBuckets: Int) -> [Double] {
    if hi <= lo {
        let w = lo == 0 ? 1 : abs(lo) * 0.05
        return [lo - w / 2, lo + w / 2]
    }
    // Scores in [0, 1] get the whole unit range when they fill much of it.
    var a = lo
    var b = hi
    if lo >= 0 && hi <= 1 && hi - lo > 0.3 {
        a = 0
        b = 1
    }
    let step = niceStep((b - a) / Double(max(1, maxBuckets)))
    let start = (a / step).rounded(.down)
    var edges: [Double] = []
    var k = start
    while true {
        let e = k * step
        edges.append(e)
        if e >= b - step * 1e-9 && edges.count >= 2 { break }
        k += 1
    }
    // The top edge closes the last bucket; a value equal to it belongs to that bucket.
    if edges.count >= 2 && edges[edges.count - 2] >= b - step * 1e-9 { edges.removeLast() }
    if edges.count < 2 { edges.append(edges[0] + step) }
    return edges
}

/// Edges evenly spaced on a log scale with round values: 3 per decade (1, 2, 5), 5 (R5: 1,
/// 1.6, 2.5, 4, 6.3) or 10 (R10), the finest that keeps within `maxBuckets`.
private func logEdges(from lo: Double, to hi: Double, maxBuckets: Int) -> [Double] {
    let series: [[Double]] = [
        [1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8], [1, 1.6, 2.5, 4, 6.3], [1, 2, 5], [1],
    ]
    var p = 1.0
    while p > lo { p /= 10 }
    while p * 10 <= lo { p *= 10 }
    for mantissas in series {
        var all: [Double] = []
        var decade = p
        while all.last.map({ $0 <= hi }) ?? true {
            for m in mantissas { all.append(decade * m) }
            decade *= 10
        }
        let first = all.lastIndex(where: { $0 <= lo }) ?? 0
        let last = all.firstIndex(where: { $0 > hi }) ?? (all.count - 1)
        let edges = Array(all[first...last])
        if edges.count - 1 <= maxBuckets || mantissas.count == 1 { return edges }
    }
    return [lo, hi]
}

/// A tick label: short counts for whole numbers, else the fewest decimals that show the value.
public func formatTick(_ v: Double) -> String {
    if v == v.rounded() { return formatShortCount(v) }
    if abs(v) >= 1000 { return formatShortCount(v) }
    for d in 1...6 {
        let s = formatFixed(v, digits: d)
        if let back = Double(s), abs(back - v) <= abs(v) * 1e-9 + 1e-12 { return s }
    }
    return formatValue(v)
}

/// A horizontal text histogram: one row per display bucket with its range, a bar of block
/// characters and the count.
public func renderTextHistogram(_ h: LogHistogram, title: String, width: Int = 40, maxBuckets: Int = 16) -> String {
    var out = title + "\n"
    guard h.total > 0 else { return out + "  (no values)\n" }
    let q = [0.1, 0.5, 0.9].map { h.quantile($0) ?? 0 }
    out += "  \(formatCount(h.total)) values, min \(formatValue(h.min)), p10 \(formatStatistic(q[0], of: h)), median \(formatStatistic(q[1], of: h)), "
    out += "p90 \(formatStatistic(q[2], of: h)), max \(formatValue(h.max)), mean \(formatStatistic(h.mean, of: h))\n"
    let (buckets, _) = displayBuckets(h, maxBuckets: maxBuckets)
    let labels = buckets.map { formatValue($0.low) }
    let highs = buckets.map { formatValue($0.high) }
    let lw = labels.map(\.count).max() ?? 0
    let hw = highs.map(\.count).max() ?? 0
    let peak = buckets.map(\.count).max() ?? 1
    let counts = buckets.map { formatCount(Int($0.count.rounded())) }
    let cw = counts.map(\.count).max() ?? 0
    let eighths = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
    for (i, b) in buckets.enumerated() {
        let cells = peak > 0 ? b.count / peak * Double(width) : 0
        let full = Int(cells)
        let part = Int(((cells - Double(full)) * 8).rounded(.down))
        var bar = String(repeating: "█", count: full) + eighths[min(7, part)]
        if b.count > 0 && bar.isEmpty { bar = "▏" }
        let label = String(repeating: " ", count: lw - labels[i].count) + labels[i] + " – "
            + highs[i] + String(repeating: " ", count: hw - highs[i].count)
        let pad = String(repeating: " ", count: max(0, width + 1 - bar.unicodeScalars.count))
        out += "  " + label + " │" + bar + pad + String(repeating: " ", count: cw - counts[i].count) + counts[i] + "\n"
    }
    return out
}
