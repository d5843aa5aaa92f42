import Foundation
import SluiceCore
import SluiceStats
import SluiceTestSupport
import Testing

@Suite("log histogram and top-k sketch")
struct HistogramAndSketchTests {
    @Test("bins come exactly from the exponent and top significand bits, with zero, negatives and overflow handled")
    func binKeys() {
        #expect(LogHistogram.key(for: 0) == 0)
        #expect(LogHistogram.key(for: -0.0) == 0)
        #expect(LogHistogram.key(for: 0x1p-33) == 0)
        #expect(LogHistogram.key(for: 0x1p-32) == 1)
        #expect(LogHistogram.key(for: 1) == 513)
        #expect(LogHistogram.key(for: 1.0625) == 514)
        #expect(LogHistogram.key(for: 1.0625.nextDown) == 513)
        #expect(LogHistogram.key(for: 0.5) == 497)
        #expect(LogHistogram.key(for: 0.75) == 505)
        #expect(LogHistogram.key(for: -1) == -513)
        #expect(LogHistogram.key(for: 0x1p64) == LogHistogram.maxKey)
        #expect(LogHistogram.key(for: .infinity) == LogHistogram.maxKey)
        #expect(LogHistogram.key(for: -.infinity) == -LogHistogram.maxKey)
        #expect(LogHistogram.key(for: .nan) == nil)
        var h = LogHistogram()
        h.add(.nan)
        #expect(h.total == 0)
        // Every value lies inside the range of its bin, and bins are at most 1/16 wide.
        var rng = SplitMix64(seed: 3)
        for _ in 0..<20_000 {
            let e = Double(Int(rng.next() % 120) - 40)
            let v = Double(sign: rng.next() % 2 == 0 ? .plus : .minus, exponent: Int(e), significand: 1 + Double(rng.next() % 1_000_000) / 1_000_000)
            guard let k = LogHistogram.key(for: v) else { Issue.record("no key for \(v)"); continue }
            let r = LogHistogram.range(ofKey: k)
            if abs(v) >= 0x1p-32 && abs(k) < LogHistogram.maxKey {
                // Positive bins are [low, high), negative ones (low, high].
                #expect(v > 0 ? (r.low <= v && v < r.high) : (r.low < v && v <= r.high), "\(v) outside bin \(k) \(r)")
                #expect((r.high - r.low) / min(abs(r.low), abs(r.high)) <= 1.0 / 16 + 1e-12)
            }
        }
    }

    @Test("histograms of any split of the data merge into the histogram of the whole")
    func mergeEqualsWhole() {
        var rng = SplitMix64(seed: 9)
        var values: [Double] = []
        for _ in 0..<5000 { values.append(Double(rng.next() % 100_000)) }
        for _ in 0..<500 { values.append(-Double(rng.next() % 1000)) }
        values.append(0)
        var whole = LogHistogram()
        for v in values { whole.add(v) }
        var parts = Array(repeating: LogHistogram(), count: 7)
        for v in values { parts[Int(rng.next() % 7)].add(v) }
        var merged = LogHistogram()
        for p in parts.reversed() { merged.merge(p) }
        #expect(merged.bins.map(\.key) == whole.bins.map(\.key))
        #expect(merged.bins.map(\.count) == whole.bins.map(\.count))
        #expect(merged.total == whole.total && merged.sum == whole.sum && merged.min == whole.min && merged.max == whole.max)
        #expect(merged == whole)
    }

    @Test("approximate quantiles are within 1/16 of exact ones, for lengths and for scores in [0, 1]")
    func quantileError() {
        var rng = SplitMix64(seed: 5)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        let lengths = (0..<20_000).map { _ in (exp(uniform() * 12) + 20).rounded() }
        let scores = (0..<20_000).map { _ in uniform() * uniform() }
        for data in [lengths, scores] {
            var h = LogHistogram()
            for v in data { h.add(v) }
            let sorted = data.sorted()
            for q in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
                let exact = sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
                let approx = h.quantile(q)!
                #expect(abs(approx - exact) <= exact / 16 + 1e-9, "q\(q): \(approx) vs \(exact)")
            }
            #expect(h.quantile(0) == sorted.first && h.quantile(1) == sorted.last)
        }
    }

    @Test("a histogram survives its JSON form")
    func histogramJSON() throws {
        var h = LogHistogram()
        for v in [0.0, 0.25, 0.5, 0.9999, 3, 1e9, -2] { h.add(v) }
        let back = try LogHistogram(json: h.json, file: "test")
        #expect(back == h)
        #expect(try LogHistogram(json: LogHistogram().json, file: "test") == LogHistogram())
    }

    @Test("a sketch is exact while a field has no more distinct values than its capacity")
    func sketchExact() {
        var s = TopKSketch(capacity: 8)
        let values = ["en", "de", "en", "fr", "en", "de", "zh"]
        for v in values { s.add(v, bytes: 10) }
        #expect(s.isExact)
        #expect(s.top().map(\.value) == ["en", "de", "fr", "zh"])
        #expect(s.top().map(\.count) == [3, 2, 1, 1])
        #expect(s.entry(for: "en")?.bytes == 30)
        #expect(s.top().allSatisfy { $0.error == 0 })
    }

    @Test("Space-Saving guarantees hold on a long-tailed stream, also after merging shards")
    func sketchGuarantees() throws {
        var rng = SplitMix64(seed: 11)
        // Zipf-like: value i with weight 1/(i+1), 5,000 distinct values.
        let weights = (0..<5000).map { 1.0 / Double($0 + 1) }
        let total = weights.reduce(0, +)
        var cumulative: [Double] = []
        var acc = 0.0
        for w in weights { acc += w / total; cumulative.append(acc) }
        var stream: [String] = []
        for _ in 0..<60_000 {
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            var lo = 0
            var hi = cumulative.count - 1
            while lo < hi { let m = (lo + hi) / 2; if cumulative[m] < u { lo = m + 1 } else { hi = m } }
            stream.append("v\(lo)")
        }
        var truth: [String: Int] = [:]
        for v in stream { truth[v, default: 0] += 1 }
        var single = TopKSketch(capacity: 64)
        for v in stream { single.add(v) }
        var merged = TopKSketch(capacity: 64)
        var parts: [TopKSketch] = []
        for part in 0..<12 {
            var s = TopKSketch(capacity: 64)
            for (i, v) in stream.enumerated() where i % 12 == part { s.add(v) }
            merged.merge(s)
            parts.append(s)
        }
        let multiway = TopKSketch.merged(parts, capacity: 64)
        for sketch in [single, merged, multiway] {
            let n = stream.count
            #expect(sketch.total == n)
            #expect(!sketch.isExact)
            for e in sketch.top() {
                let t = truth[e.value] ?? 0
                #expect(e.count >= t, "\(e.value): count \(e.count) under true \(t)")
                #expect(e.count - e.error <= t, "\(e.value): guaranteed \(e.count - e.error) over true \(t)")
                #expect(e.error <= n / 64)
            }
            for (v, t) in truth where t > n / 64 {
                #expect(sketch.entry(for: v) != nil, "\(v) with \(t) > N/k is missing")
            }
            let back = try TopKSketch(json: sketch.json, file: "test")
            #expect(back == sketch)
        }
    }
}
