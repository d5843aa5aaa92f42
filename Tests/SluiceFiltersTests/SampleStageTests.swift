import SluiceCore
import SluiceFilters
import Testing

@Suite struct SampleStageTests {
    let ids = (0..<10_000).map { "doc-\($0)" }

    func keptIDs(_ stage: SampleStage, _ ids: [String], batchSize: Int = 1000) throws -> [String] {
        var kept: [String] = []
        var start = 0
        while start < ids.count {
            let slice = ids[start..<min(start + batchSize, ids.count)]
            kept += try run(stage, slice.map { Document(id: $0, text: "x") }).keptIDs
            start += batchSize
        }
        return kept
    }

    @Test(arguments: [0.1, 0.25, 0.5, 0.9])
    func keepsAboutTheFraction(fraction: Double) throws {
        let stage = try makeStage(SampleStage.self, #"{"fraction": \#(fraction)}"#)
        let kept = try keptIDs(stage, ids).count
        #expect(abs(Double(kept) / Double(ids.count) - fraction) <= 0.02)
    }

    @Test func decisionsDoNotDependOnBatching() throws {
        let stage = try makeStage(SampleStage.self, #"{"fraction": 0.3, "seed": 7}"#)
        let a = try keptIDs(stage, ids, batchSize: 1000)
        let b = try keptIDs(stage, ids, batchSize: 37)
        let c = try keptIDs(stage, ids.reversed(), batchSize: 10_000)
        #expect(a == b)
        #expect(Set(a) == Set(c))
        #expect(a == ids.filter { stage.isSampled(id: $0) })
    }

    @Test func equalIDsGetTheSameDecision() throws {
        let stage = try makeStage(SampleStage.self, #"{"fraction": 0.5}"#)
        let documents = (0..<200).flatMap { i in [Document(id: "id\(i)", text: "a"), Document(id: "id\(i)", text: "b")] }
        let kept = try run(stage, documents).kept
        let counts = Dictionary(grouping: kept, by: \.id).mapValues(\.count)
        #expect(counts.values.allSatisfy { $0 == 2 })
    }

    @Test func seedsDrawDifferentSamples() throws {
        let a = try keptIDs(makeStage(SampleStage.self, #"{"fraction": 0.5, "seed": 1}"#), ids)
        let b = try keptIDs(makeStage(SampleStage.self, #"{"fraction": 0.5, "seed": 2}"#), ids)
        let overlap = Set(a).intersection(b).count
        // Independent halves overlap in about a quarter of the ids.
        #expect(abs(Double(overlap) / Double(ids.count) - 0.25) < 0.03)
    }

    @Test func smallerFractionsKeepSubsets() throws {
        let small = Set(try keptIDs(makeStage(SampleStage.self, #"{"fraction": 0.1, "seed": 3}"#), ids))
        let large = Set(try keptIDs(makeStage(SampleStage.self, #"{"fraction": 0.2, "seed": 3}"#), ids))
        #expect(small.isSubset(of: large))
    }

    @Test func zeroAndOneKeepNothingAndEverything() throws {
        #expect(try keptIDs(makeStage(SampleStage.self, #"{"fraction": 0}"#), ids).isEmpty)
        #expect(try keptIDs(makeStage(SampleStage.self, #"{"fraction": 1}"#), ids).count == ids.count)
        let result = try run(makeStage(SampleStage.self, #"{"fraction": 0}"#), docs("a", "b"))
        #expect(result.drops == ["not_sampled": 2])
    }

    @Test func decisionIsTheDocumentedHash() throws {
        let stage = try makeStage(SampleStage.self, #"{"fraction": 0.5, "seed": 42}"#)
        for id in ids.prefix(200) {
            let expected = Double(XXH64.hash(id, seed: 42)) / 18_446_744_073_709_551_616.0 < 0.5
            #expect(stage.isSampled(id: id) == expected)
        }
    }

    @Test func rejectsFractionsOutsideZeroToOne() {
        #expect(configurationError(SampleStage.self, #"{"fraction": 1.5}"#)?.contains("between 0 and 1") == true)
        #expect(configurationError(SampleStage.self, #"{"fraction": -0.1}"#)?.contains("between 0 and 1") == true)
        #expect(configurationError(SampleStage.self, #"{"seed": 1}"#)?.contains("needs fraction") == true)
    }

    @Test func everyOptionIsRead() {
        expectEveryOptionIsRead(SampleStage.self, required: #""fraction": 0.5"#, skipping: ["fraction"])
        #expect(throws: (any Error).self) { _ = try decodeConfiguration(SampleStage.self, #"{"fraction": "half"}"#) }
        #expect(SampleStage.type == "sample")
    }
}
