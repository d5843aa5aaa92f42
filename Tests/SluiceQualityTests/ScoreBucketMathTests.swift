import SluiceCore
import SluiceIO
import SluiceTestSupport
import Testing

@testable import SluiceQuality

/// The boundary definition against numpy's weighted percentiles (the committed fixture), and
/// the bounded-memory selection against the in-memory definition.
@Suite("score bucket boundaries")
struct ScoreBucketMathTests {
    struct Case {
        var name: String
        var percentiles: [Double]
        var scores: [Double]
        var weights: [UInt64]
        var boundaries: [Double]
        var buckets: [Int]
    }

    static func loadCases() throws -> [Case] {
        let bytes = try readFile(packageRoot() + "/Tests/Fixtures/buckets/cases.json")
        guard case .object(let root) = try parseJSONValue(bytes), let list = root["cases"]?.arrayValue else {
            throw ScoreBucketError("cases.json: no cases")
        }
        func doubles(_ v: JSONValue?) -> [Double] { v?.arrayValue?.map { $0.doubleValue ?? .nan } ?? [] }
        return list.compactMap { item in
            guard let o = item.objectValue else { return nil }
            return Case(
                name: o["name"]?.stringValue ?? "?", percentiles: doubles(o["percentiles"]), scores: doubles(o["scores"]),
                weights: o["weights"]?.arrayValue?.map { UInt64($0.doubleValue ?? -1) } ?? [],
                boundaries: doubles(o["boundaries"]),
                buckets: o["buckets"]?.arrayValue?.map { Int($0.doubleValue ?? -1) } ?? [])
        }
    }

    /// The selection over in-memory records, read in passes as the boundaries step reads files.
    static func select(_ c: Case, collectLimit: Int) throws -> (boundaries: [Double], passes: Int) {
        let total = c.weights.reduce(0, +)
        let s = ScoreBucketSelection(percentiles: c.percentiles, total: total, collectLimit: collectLimit)
        let keys = c.scores.map(ScoreBucketMath.key)
        let r = try s.run { visit in
            for (k, w) in zip(keys, c.weights) { visit(k, w) }
        }
        return (r.keys.map(ScoreBucketMath.score), r.passes)
    }

    @Test("the in-memory definition gives numpy's inverted_cdf boundaries bit for bit on every fixture case")
    func definitionEqualsNumpy() throws {
        let cases = try Self.loadCases()
        #expect(cases.count == 11)
        for c in cases {
            let got = ScoreBucketMath.boundaries(scores: c.scores, weights: c.weights, percentiles: c.percentiles)
            #expect(got.map { $0.map(\.bitPattern) } == c.boundaries.map(\.bitPattern), "\(c.name): \(got ?? []) vs numpy \(c.boundaries)")
        }
    }

    @Test("the bounded-memory selection gives numpy's boundaries whatever its memory limit")
    func selectionEqualsNumpy() throws {
        for c in try Self.loadCases() {
            // 1: every target goes down to all 64 bits; 64: collected after one or two levels;
            // a million: collected after the first pass.
            for limit in [1, 64, 1_000_000] {
                let (got, passes) = try Self.select(c, collectLimit: limit)
                #expect(got.map(\.bitPattern) == c.boundaries.map(\.bitPattern), "\(c.name), limit \(limit): \(got) vs numpy \(c.boundaries)")
                #expect(passes >= 1 && passes <= 5, "\(c.name), limit \(limit): \(passes) passes")
            }
        }
    }

    @Test("a score's bucket is the number of boundaries at or below it, as np.digitize")
    func bucketsEqualDigitize() throws {
        for c in try Self.loadCases() where !c.boundaries.isEmpty {
            let got = c.scores.map { ScoreBucketMath.bucket(of: $0, boundaries: c.boundaries) }
            #expect(got == c.buckets, "\(c.name)")
        }
        #expect(ScoreBucketMath.bucket(of: 339.9, boundaries: [340, 520]) == 0)
        #expect(ScoreBucketMath.bucket(of: 340, boundaries: [340, 520]) == 1)
        #expect(ScoreBucketMath.bucket(of: 520, boundaries: [340, 520]) == 2)
    }

    @Test("keys order like the scores, and -0.0 is 0.0")
    func keysOrderLikeScores() {
        let values: [Double] = [-.infinity, -1e300, -2, -1, -1e-300, 0, 1e-300, 0.5, 1, 2, 1e300, .infinity]
        let keys = values.map(ScoreBucketMath.key)
        #expect(keys == keys.sorted())
        #expect(Set(keys).count == keys.count)
        #expect(ScoreBucketMath.key(-0.0) == ScoreBucketMath.key(0.0))
        for v in values { #expect(ScoreBucketMath.score(ScoreBucketMath.key(v)) == v) }
    }

    @Test("equal-weight buckets use percentiles 100*i/n; the required weight is the first that reaches p/100")
    func percentilesAndRequiredWeight() {
        #expect(ScoreBucketMath.percentiles(buckets: 20) == stride(from: 5.0, through: 95.0, by: 5.0).map { $0 })
        #expect(ScoreBucketMath.percentiles(buckets: 3) == [100.0 / 3, 200.0 / 3])
        #expect(ScoreBucketMath.requiredWeight(percentile: 30, total: 10) == 3)
        #expect(ScoreBucketMath.requiredWeight(percentile: 0, total: 10) == 1)
        #expect(ScoreBucketMath.requiredWeight(percentile: 100, total: 10) == 10)
        // 100/3 / 100 rounds above 1/3, so one third of the weight is not enough.
        #expect(ScoreBucketMath.requiredWeight(percentile: 100.0 / 3, total: 3) == 2)
    }

    @Test("boundary counters are named by their percentile, zero-padded so they sort")
    func boundaryCounterNames() {
        #expect(boundaryCounterName(5) == "boundary_p05_x1e6")
        #expect(boundaryCounterName(95) == "boundary_p95_x1e6")
        #expect(boundaryCounterName(100.0 / 3) == "boundary_p33.333_x1e6")
        #expect(boundaryCounterName(2.5) == "boundary_p02.5_x1e6")
        #expect(boundaryCounterName(12.05) == "boundary_p12.05_x1e6")
    }
}
