import Foundation
import SluiceCore
import Testing

@testable import SluiceQuality

/// `sampling_weight` in-process: the three maps, clamps and missing values.
@Suite("sampling weight")
struct ScoreBucketSamplingWeightTests {
    static func document(_ value: JSONValue?) -> Document {
        var meta = JSONObject()
        if let value { meta["q"] = .object(["bucket": value]) }
        return Document(id: "d", text: "a b c", metadata: meta)
    }

    static func weight(_ stage: SamplingWeight, _ value: JSONValue?) -> (Verdict, Double?) {
        var d = document(value)
        let v = stage.map(&d)
        return (v, d.metadata.value(atPath: "sampling_weight")?.doubleValue)
    }

    @Test("a table maps bucket numbers and names; default covers the rest; values outside it count as missing")
    func table() throws {
        let s = try SamplingWeight(
            configuration: .init(source: "q.bucket", table: .object(["0": .double(0.2), "1": .int(1), "tail": .double(3.5)])))
        #expect(Self.weight(s, .int(0)).1 == 0.2)
        #expect(Self.weight(s, .int(1)).1 == 1)
        #expect(Self.weight(s, .string("tail")).1 == 3.5)
        #expect(Self.weight(s, .int(7)).1 == 1, "not in the table: missing_weight (1)")
        #expect(Self.weight(s, nil).1 == 1)
        let d = try SamplingWeight(
            configuration: .init(source: "q.bucket", table: .object(["0": .double(0.2)]), defaultWeight: 0.7, missing: "drop"))
        #expect(Self.weight(d, .int(9)).1 == 0.7)
        #expect(Self.weight(d, nil).0 == .drop("sampling_weight_missing"))
    }

    @Test("linear and exponential maps clamp the score to from and hit the to weights at its ends")
    func continuousMaps() throws {
        let lin = try SamplingWeight(configuration: .init(source: "q.bucket", map: "linear", from: [0, 5], to: [0.5, 3]))
        #expect(Self.weight(lin, .int(0)).1 == 0.5)
        #expect(Self.weight(lin, .double(2.5)).1 == 1.75)
        #expect(Self.weight(lin, .int(5)).1 == 3)
        #expect(Self.weight(lin, .int(-10)).1 == 0.5)
        #expect(Self.weight(lin, .int(99)).1 == 3)
        #expect(Self.weight(lin, .string("x")).1 == 1, "not a number: missing_weight")
        let exp = try SamplingWeight(configuration: .init(source: "q.bucket", map: "exponential", from: [0, 4], to: [0.25, 4]))
        #expect(Self.weight(exp, .int(0)).1 == 0.25)
        #expect(Self.weight(exp, .int(2)).1 == 1)
        #expect(Self.weight(exp, .int(4)).1 == 4)
        let clamped = try SamplingWeight(
            configuration: .init(source: "q.bucket", map: "exponential", from: [0, 4], to: [0.25, 4], minWeight: 0.5, maxWeight: 2))
        #expect(Self.weight(clamped, .int(0)).1 == 0.5)
        #expect(Self.weight(clamped, .int(4)).1 == 2)
    }

    @Test("counters say how many documents were weighted and how many had no usable value")
    func counters() throws {
        let s = try SamplingWeight(configuration: .init(source: "q.bucket", table: .object(["0": .int(2)]), key: "w.x"))
        var batch = DocumentBatch(sequence: 0, documents: [Self.document(.int(0)), Self.document(.int(3)), Self.document(nil)])
        var stats = StageStats()
        try s.process(&batch, stats: &stats)
        #expect(batch.count == 3)
        #expect(stats.counters == ["weighted": 1, "source_missing": 2, "not_in_table": 1])
        #expect(batch.documents[0].metadata.value(atPath: "w.x") == .int(2))
    }
}
