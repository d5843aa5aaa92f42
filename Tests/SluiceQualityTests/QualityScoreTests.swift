import Foundation
import SluiceCore
import SluiceFastText
import SluiceLM
import SluicePipeline
import SluiceQuality
import SluiceTestSupport
import Synchronization
import Testing

func runStage<S: Stage>(_ stage: S, _ docs: [Document]) throws -> (DocumentBatch, [DropReason: Int]) {
    var batch = DocumentBatch(sequence: 0, documents: docs, keepsRejected: true)
    var stats = StageStats()
    try stage.process(&batch, stats: &stats)
    return (batch, batch.takeDropCounts())
}

func doc(_ id: String, _ text: String, metadata: JSONObject = JSONObject()) -> Document {
    Document(id: id, text: text, source: "test", metadata: metadata)
}

let goodText = "the river carries water toward a wide delta where farmers plant rice\nand engineers build locks"
let badText = "$$$ click here !!! buy now <<>> free ### win lol"

@Suite("quality_score stage")
struct QualityScoreTests {
    typealias C = QualityScore.Configuration
    typealias S = QualityScore.ScorerConfiguration

    @Test("a fasttext scorer writes P(label) to metadata.quality.NAME, exactly as official fastText's probability with DCLM preparation")
    func fastTextScorer() throws {
        let dir = TemporaryDirectory()
        let path = try trainTinyClassifier(in: dir)
        let stage = try QualityScore(configuration: C(scorers: [.fastText(name: "tiny", model: path, label: "hq")]))
        let (batch, drops) = try runStage(stage, [doc("a", goodText), doc("b", badText)])
        #expect(drops.isEmpty)
        let model = try FastTextModel(contentsOf: path)
        for d in batch.documents {
            var scratch = FastTextScratch()
            // DCLM's preparation: lines joined with spaces.
            let joined = d.text.replacingOccurrences(of: "\n", with: " ")
            #expect(model.predict(joined, k: -1, scratch: &scratch) == 2)
            let p = scratch.predictions.first { model.shortLabel(Int($0.label)) == "hq" }!.probability
            #expect(d.metadata.value(atPath: "quality.tiny") == .number(JSONNumber(uncheckedLiteral: p.description)))
        }
        let good = batch.documents[0].metadata.value(atPath: "quality.tiny")!.doubleValue!
        let bad = batch.documents[1].metadata.value(atPath: "quality.tiny")!.doubleValue!
        #expect(good > 0.9 && bad < 0.1)
    }

    @Test("scores join an existing quality object and a nested key path works")
    func keysAndExistingObject() throws {
        let dir = TemporaryDirectory()
        let path = try trainTinyClassifier(in: dir)
        let stage = try QualityScore(configuration: C(scorers: [.fastText(name: "t", model: path, label: "lq")]))
        let (batch, _) = try runStage(stage, [doc("a", goodText, metadata: ["quality": .object(["bucket": .int(3)]), "keep": .bool(true)])])
        let q = try #require(batch.documents[0].metadata["quality"]?.objectValue)
        #expect(q.keys == ["bucket", "t"])
        #expect(batch.documents[0].metadata["keep"] == .bool(true))
        let nested = try QualityScore(configuration: C(scorers: [.fastText(name: "t", model: path, label: "hq")], key: "metadata.scores.q"))
        let (b2, _) = try runStage(nested, [doc("a", goodText)])
        #expect(b2.documents[0].metadata.value(atPath: "scores.q.t")?.doubleValue != nil)
    }

    @Test("output: expected writes the expected value of numeric labels")
    func expectedValue() throws {
        let dir = TemporaryDirectory()
        let path = try trainTinyClassifier(in: dir, labels: ("5", "1"))
        let stage = try QualityScore(configuration: C(scorers: [S(name: "edu", type: "fasttext", model: path, output: "expected")]))
        let (batch, _) = try runStage(stage, [doc("a", goodText), doc("b", badText)])
        let model = try FastTextModel(contentsOf: path)
        var scratch = FastTextScratch()
        _ = model.predict(goodText.replacingOccurrences(of: "\n", with: " "), k: -1, scratch: &scratch)
        var sum = 0.0, total = 0.0
        for p in scratch.predictions {
            sum += Double(p.probability) * Double(model.shortLabel(Int(p.label)))!
            total += Double(p.probability)
        }
        let got = try #require(batch.documents[0].metadata.value(atPath: "quality.edu")?.doubleValue)
        #expect(abs(got - sum / total) < 1e-6)
        #expect(got > 4.5)
        #expect(batch.documents[1].metadata.value(atPath: "quality.edu")!.doubleValue! < 1.5)
    }

    @Test("a perplexity scorer writes the model's CCNet document perplexity")
    func perplexityScorer() throws {
        let dir = TemporaryDirectory()
        let arpa = try writeTinyARPA(in: dir)
        let texts = ["the river flows", "the sea\nthe river flows", "unknown words here"]
        for norm in ["none", "ccnet"] {
            let stage = try QualityScore(configuration: C(scorers: [.perplexity(name: "ppl", model: arpa, normalization: norm)]))
            let (batch, _) = try runStage(stage, texts.enumerated().map { doc("d\($0.offset)", $0.element) })
            let model = try NGramModel(contentsOf: arpa)
            var scratch = LMScratch()
            for (i, t) in texts.enumerated() {
                var copy = t
                let want = copy.withUTF8 { model.documentPerplexity($0, normalization: PerplexityNormalization(rawValue: norm)!, scratch: &scratch) }
                #expect(batch.documents[i].metadata.value(atPath: "quality.ppl") == .double(want))
            }
        }
    }

    @Test("an ensemble takes the max or mean of normalised scores; perplexity is inverted over its range")
    func ensemble() throws {
        let dir = TemporaryDirectory()
        let ft = try trainTinyClassifier(in: dir)
        let arpa = try writeTinyARPA(in: dir)
        let model = try NGramModel(contentsOf: arpa)
        var lm = LMScratch()
        var t = "the river flows"
        let ppl = t.withUTF8 { model.documentPerplexity($0, normalization: .none, scratch: &lm) }
        // A range around the document's perplexity so that its normalised score is 0.25.
        let lo = ppl - 0.75, hi = ppl + 0.25
        let scorers: [S] = [
            .fastText(name: "good", model: ft, label: "hq"),
            .fastText(name: "bad", model: ft, label: "lq"),
            S(name: "scaled", type: "fasttext", model: ft, label: "hq", range: [0.5, 1.0]),
            .perplexity(name: "ppl", model: arpa, range: [lo, hi]),
            .ensemble(name: "max", scorers: ["bad", "ppl"], method: "max"),
            .ensemble(name: "mean", scorers: ["good", "bad", "ppl"], method: "mean"),
            .ensemble(name: "scaled_max", scorers: ["scaled"]),
        ]
        let stage = try QualityScore(configuration: C(scorers: scorers))
        let (batch, _) = try runStage(stage, [doc("a", t)])
        let q = try #require(batch.documents[0].metadata["quality"]?.objectValue)
        let good = q["good"]!.doubleValue!, bad = q["bad"]!.doubleValue!
        #expect(q.keys == ["good", "bad", "scaled", "ppl", "max", "mean", "scaled_max"])
        #expect(abs(q["max"]!.doubleValue! - max(bad, 0.25)) < 1e-9)
        #expect(abs(q["mean"]!.doubleValue! - (good + bad + 0.25) / 3) < 1e-6)
        #expect(abs(q["scaled_max"]!.doubleValue! - min(1, max(0, (good - 0.5) / 0.5))) < 1e-6)
    }

    @Test("keep: min and max drop with counted reasons; a missing score is no_score")
    func keepRule() throws {
        let dir = TemporaryDirectory()
        let ft = try trainTinyClassifier(in: dir)
        let minStage = try QualityScore(configuration: C(scorers: [.fastText(name: "q", model: ft, label: "hq")], keep: .init(score: "q", min: 0.5)))
        let (batch, drops) = try runStage(minStage, [doc("g", goodText), doc("b", badText), doc("g2", goodText + " river")])
        #expect(batch.documents.map(\.id) == ["g", "g2"])
        #expect(drops == ["below_min_score": 1])
        #expect(batch.rejected.count == 1 && batch.rejected[0].reason == "below_min_score")
        let maxStage = try QualityScore(configuration: C(scorers: [.fastText(name: "q", model: ft, label: "hq")], keep: .init(score: "q", max: 0.5)))
        let (b2, d2) = try runStage(maxStage, [doc("g", goodText), doc("b", badText)])
        #expect(b2.documents.map(\.id) == ["b"])
        #expect(d2 == ["above_max_score": 1])
        // The dropped document's score is still written, for the rejected output.
        #expect(b2.rejected[0].document.metadata.value(atPath: "quality.q") != nil)
    }

    @Test("a document without any known feature gets no score: no key, and no_score under a keep rule")
    func noScore() throws {
        let dir = TemporaryDirectory()
        // One example and no final newline: the model has no end-of-line token, so a text of
        // unknown words has no input row and fastText cannot predict.
        try writeFile(dir.file("one.txt"), "__label__hq river water delta")
        var o = FastTextTrainingOptions(input: dir.file("one.txt"))
        o.dim = 4
        o.thread = 1
        o.verbose = 0
        try FastTextModel.train(o).write(to: dir.file("one.bin"))
        let scorers: [S] = [.fastText(name: "q", model: dir.file("one.bin"), label: "hq"), .ensemble(name: "e", scorers: ["q"])]
        let plain = try QualityScore(configuration: C(scorers: scorers))
        let (b1, d1) = try runStage(plain, [doc("x", "zzz yyy"), doc("r", "river")])
        #expect(d1.isEmpty)
        #expect(b1.documents[0].metadata["quality"] == nil)
        #expect(b1.documents[1].metadata.value(atPath: "quality.q") != nil)
        #expect(b1.documents[1].metadata.value(atPath: "quality.e") != nil)
        let keeping = try QualityScore(configuration: C(scorers: scorers, keep: .init(score: "e", min: 0)))
        let (b2, d2) = try runStage(keeping, [doc("x", "zzz yyy"), doc("r", "river")])
        #expect(b2.documents.map(\.id) == ["r"])
        #expect(d2 == ["no_score": 1])
    }

    @Test("configuration errors name the problem and the fix")
    func validation() throws {
        let dir = TemporaryDirectory()
        let ft = try trainTinyClassifier(in: dir)
        let arpa = try writeTinyARPA(in: dir)
        func message(_ c: C) -> String {
            do {
                _ = try QualityScore(configuration: c)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message(C(scorers: [])).contains("scorers is empty"))
        #expect(message(C(scorers: [S(name: "x", type: "bert")])).contains("type 'bert' is not allowed"))
        #expect(message(C(scorers: [S(name: "x", type: "fasttext")])).contains("needs model"))
        #expect(message(C(scorers: [S(name: "x", type: "fasttext", model: ft)])).contains("needs label"))
        #expect(message(C(scorers: [.fastText(name: "x", model: ft, label: "nope")])).contains("'nope' is not a label"))
        #expect(message(C(scorers: [.fastText(name: "x", model: dir.path + "/missing.bin", label: "hq")])).contains("missing.bin"))
        #expect(message(C(scorers: [.fastText(name: "x", model: ft, label: "hq", textPreparation: "raw")])).contains("text_preparation"))
        #expect(message(C(scorers: [S(name: "x", type: "fasttext", model: ft, output: "expected")])).contains("labels that are numbers"))
        #expect(message(C(scorers: [S(name: "x", type: "fasttext", model: ft, label: "hq", normalization: "ccnet")])).contains("normalization is not an option"))
        #expect(message(C(scorers: [.perplexity(name: "p", model: arpa, normalization: "nfkc")])).contains("normalization 'nfkc'"))
        #expect(message(C(scorers: [S(name: "p", type: "perplexity")])).contains("ARPA"))
        #expect(message(C(scorers: [.perplexity(name: "p", model: arpa), .ensemble(name: "e", scorers: ["p"])])).contains("needs range"))
        #expect(message(C(scorers: [.ensemble(name: "e", scorers: ["later"]), .fastText(name: "later", model: ft, label: "hq")])).contains("not an earlier scorer"))
        #expect(message(C(scorers: [S(name: "e", type: "ensemble")])).contains("needs scorers"))
        #expect(message(C(scorers: [.fastText(name: "a", model: ft, label: "hq"), .ensemble(name: "e", scorers: ["a"], method: "median")])).contains("method 'median'"))
        #expect(message(C(scorers: [.fastText(name: "a", model: ft, label: "hq"), .fastText(name: "a", model: ft, label: "lq")])).contains("listed twice"))
        #expect(message(C(scorers: [.fastText(name: "a.b", model: ft, label: "hq")])).contains("without dots"))
        #expect(message(C(scorers: [S(name: "a", type: "fasttext", model: ft, label: "hq", range: [1, 0])])).contains("lo < hi"))
        #expect(message(C(scorers: [.fastText(name: "a", model: ft, label: "hq")], keep: .init(score: "b", min: 1))).contains("'b' is not a scorer"))
        #expect(message(C(scorers: [.fastText(name: "a", model: ft, label: "hq")], keep: .init(score: "a"))).contains("needs min, max"))
        #expect(message(C(scorers: [.fastText(name: "a", model: ft, label: "hq")], keep: .init(score: "a", min: 0.9, max: 0.1))).contains("above keep.max"))
        #expect(message(C(scorers: [.fastText(name: "a", model: ft, label: "hq")], key: "a..b")).contains("not a metadata path"))
    }

    @Test("YAML: unknown keys are errors with their location, and a valid stage builds through the registry")
    func yaml() throws {
        let dir = TemporaryDirectory()
        let ft = try trainTinyClassifier(in: dir)
        try writeFile(dir.file("in.jsonl"), jsonl([doc("a", goodText), doc("b", badText)]))
        func pipeline(_ stage: String) throws -> String {
            let p = dir.file("p.yaml")
            try writeFile(p, """
                name: q
                input:
                  type: jsonl
                  paths: ["\(dir.path)/in.jsonl"]
                stages:
                \(stage)
                output:
                  path: \(dir.path)/out
                """)
            return p
        }
        let bad = try pipeline("""
              - type: quality_score
                scorers:
                  - {name: q, type: fasttext, model: \(ft), lable: hq}
            """)
        let r = try runCommand(sluiceExecutable(), ["validate", bad])
        #expect(r.status == 2)
        #expect(r.stderr.contains("lable") && r.stderr.contains("p.yaml:"))
        let good = try pipeline("""
              - type: quality_score
                scorers:
                  - {name: q, type: fasttext, model: \(ft), label: hq}
                keep: {score: q, min: 0.5}
            """)
        let run = try runCommand(sluiceExecutable(), ["run", good, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let inspect = try runCommand(sluiceExecutable(), ["inspect", dir.path + "/out", "--json"])
        let lines = inspect.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("\"quality\":{\"q\":") == true)
        let stats = try runCommand(sluiceExecutable(), ["stats", dir.path + "/out", "--json"])
        #expect(stats.stdout.contains("below_min_score"))
    }

    @Test("one model file is loaded once and shared by every stage and worker")
    func modelShared() throws {
        let dir = TemporaryDirectory()
        let ft = try trainTinyClassifier(in: dir)
        let a = try QualityScore(configuration: C(scorers: [.fastText(name: "a", model: ft, label: "hq")]))
        let b = try QualityScore(configuration: C(scorers: [.fastText(name: "b", model: ft, label: "lq")]))
        _ = (a, b)
        #expect(try FastTextModelCache.shared.model(at: ft) === FastTextModelCache.shared.model(at: ft))
        let arpa = try writeTinyARPA(in: dir)
        #expect(try NGramModelCache.shared.model(at: arpa) === NGramModelCache.shared.model(at: arpa))
    }

    @Test("scoring many documents on several threads gives the same scores as one at a time")
    func concurrentWorkers() throws {
        let dir = TemporaryDirectory()
        let ft = try trainTinyClassifier(in: dir)
        let stage = try QualityScore(configuration: C(scorers: [.fastText(name: "a", model: ft, label: "hq"), .fastText(name: "b", model: ft, label: "lq"), .ensemble(name: "e", scorers: ["a", "b"], method: "mean")]))
        let docs = syntheticDocuments(count: 400, bytesPerDocument: 500)
        let (serial, _) = try runStage(stage, docs)
        let results = Mutex<[Int: [Document]]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let part = Array(docs[(i * 50)..<((i + 1) * 50)])
            let (b, _) = try! runStage(stage, part)
            results.withLock { $0[i] = b.documents }
        }
        let parallel = (0..<8).flatMap { i in results.withLock { $0[i]! } }
        #expect(parallel.map { jsonl([$0]) } == serial.documents.map { jsonl([$0]) })
    }
}

