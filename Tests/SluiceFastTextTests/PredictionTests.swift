import Foundation
import SluiceCore
import SluiceTestSupport
import Testing

@testable import SluiceFastText

@Suite("fastText prediction")
struct PredictionTests {
    @Test(
        "predicts every label exactly as official fastText for each loss and a quantized model",
        arguments: ["softmax.bin", "hs.bin", "ns.bin", "ova.bin", "quantized.ftz"])
    func matchesOfficial(name: String) throws {
        let model = try FastTextModel(contentsOf: fixture(name))
        let expected = try #require(Expected.shared.models[name])
        let probe = Expected.shared.probe
        #expect(probe.count == expected.predictions.count)
        #expect(probe.count >= 100)
        for (line, (labels, probs)) in zip(probe, expected.predictions) {
            expectSamePredictions(model.predict(line, k: -1), labels, probs, "\(name): \(line)")
        }
    }

    @Test("top-k and threshold keep fastText's order and cut-offs")
    func topKAndThreshold() throws {
        let model = try FastTextModel(contentsOf: fixture("hs.bin"))
        let expected = try #require(Expected.shared.models["hs.bin"])
        for (line, (labels, probs)) in zip(Expected.shared.probe, expected.predictions).prefix(40) {
            let top3 = model.predict(line, k: 3)
            expectSamePredictions(top3, Array(labels.prefix(3)), Array(probs.prefix(3)), line)
            let above = model.predict(line, k: -1, threshold: 0.2)
            #expect(above.allSatisfy { $0.probability >= 0.2 })
            #expect(above.map(\.label) == Array(labels.prefix(above.count)))
        }
        let softmax = try FastTextModel(contentsOf: fixture("softmax.bin"))
        #expect(softmax.predict("anything at all", k: 1, threshold: 2).isEmpty)
    }

    @Test("the probability of one label equals what the full prediction reports", arguments: ["softmax.bin", "hs.bin", "ova.bin", "quantized.ftz"])
    func singleLabelProbability(name: String) throws {
        let model = try FastTextModel(contentsOf: fixture(name))
        var scratch = FastTextScratch()
        for line in Expected.shared.probe.prefix(30) {
            let all = model.predict(line, k: -1)
            var text = line
            let ok = text.withUTF8 { model.encode($0, scratch: &scratch) }
            #expect(ok)
            for (label, probability) in all {
                let i = try #require(model.labelIndex(label))
                #expect(model.probability(ofLabel: i, scratch: &scratch) == probability)
            }
        }
    }

    @Test("newlines inside a text count as spaces, as datatrove's replacement does")
    func newlinesAsSpaces() throws {
        let model = try FastTextModel(contentsOf: fixture("softmax.bin"))
        let a = model.predict("Das ist ein Test\nund noch eine Zeile", k: -1)
        let b = model.predict("Das ist ein Test und noch eine Zeile", k: -1)
        #expect(a.map(\.label) == b.map(\.label))
        #expect(a.map(\.probability) == b.map(\.probability))
    }

    @Test("a literal </s> ends the text, as in fastText's getLine")
    func literalEOS() throws {
        let model = try FastTextModel(contentsOf: fixture("softmax.bin"))
        let a = model.predict("hello world </s> und noch mehr deutscher Text hier", k: -1)
        let b = model.predict("hello world", k: -1)
        #expect(a.map(\.label) == b.map(\.label))
        #expect(a.map(\.probability) == b.map(\.probability))
    }

    @Test("empty and whitespace-only texts are predicted on </s> alone")
    func emptyText() throws {
        let model = try FastTextModel(contentsOf: fixture("softmax.bin"))
        let empty = model.predict("", k: 2)
        #expect(empty.count == 2)
        #expect(model.predict(" \t \r ", k: 2).map(\.probability) == empty.map(\.probability))
        var scratch = FastTextScratch()
        _ = model.predict("", scratch: &scratch)
        #expect(scratch.inputRows == [model.dictionary.eosID])
    }

    @Test("the batch API gives the single-text results and stops allocating once warm")
    func batchAndScratchReuse() throws {
        let model = try FastTextModel(contentsOf: fixture("ova.bin"))
        let texts = Array(Expected.shared.probe.prefix(50))
        var scratch = FastTextScratch()
        var got: [[FastTextPrediction]] = []
        model.predictBatch(texts, k: 2, scratch: &scratch) { _, p in got.append(Array(p)) }
        for (t, g) in zip(texts, got) {
            #expect(model.predict(t, k: 2).map(\.probability) == g.map(\.probability))
        }
        // After a warm-up pass the buffers keep their storage. The pass above kept copies of
        // the results (`got`), so the predictions buffer was still shared and had to be
        // replaced, at whatever capacity malloc's chunk gave; the warm-up pass that keeps
        // nothing ends that, and from then on nothing is reallocated.
        func storage(_ s: FastTextScratch) -> [Int] {
            [s.line.rows.capacity, s.line.hashes.capacity, s.hidden.capacity, s.output.capacity, s.heap.capacity, s.predictions.capacity]
        }
        model.predictBatch(texts, k: 2, scratch: &scratch) { _, _ in }
        let warm = storage(scratch)
        model.predictBatch(texts, k: 2, scratch: &scratch) { _, _ in }
        #expect(storage(scratch) == warm)
    }

    @Test("one model serves many threads at once with identical results")
    func concurrentUse() async throws {
        let model = try FastTextModel(contentsOf: fixture("hs.bin"))
        let probe = Expected.shared.probe
        let reference = probe.map { model.predict($0, k: 3).map(\.probability) }
        let results = await withTaskGroup(of: [[Float]].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var scratch = FastTextScratch()
                    return probe.map { t in
                        let n = model.predict(t, k: 3, scratch: &scratch)
                        return scratch.predictions.prefix(n).map(\.probability)
                    }
                }
            }
            var all: [[[Float]]] = []
            for await r in group { all.append(r) }
            return all
        }
        for r in results { #expect(r == reference) }
    }

    @Test("lid.176.ftz predicts real multilingual lines as official fastText does", .enabled(if: lid176Path != nil, Comment(rawValue: lid176Missing)))
    func lid176() throws {
        let model = try FastTextModel(contentsOf: try #require(lid176Path))
        #expect(model.labels.count == 176)
        #expect(model.args.loss == .hs)
        #expect(model.isQuantized)
        let probe = Expected.shared.lidProbe
        #expect(probe.count >= 200)
        #expect(probe.count == Expected.shared.lid.count)
        for (line, (labels, probs)) in zip(probe, Expected.shared.lid) {
            expectSamePredictions(model.predict(line, k: 3), labels, probs, line)
        }
        let fr = model.predict("Bonjour tout le monde, comment allez-vous aujourd'hui ?", k: 1)
        #expect(fr.first?.label == "__label__fr")
    }

    @Test("the model cache loads a file once and shares it")
    func cache() throws {
        let cache = FileModelCache<FastTextModel>(what: "model file") { try FastTextModel(contentsOf: $0) }
        let a = try cache.model(at: fixture("ns.bin"))
        let b = try cache.model(at: fixture("ns.bin"))
        #expect(a === b)
        #expect(cache.count == 1)
        let error = #expect(throws: FileModelCacheError.self) { _ = try cache.model(at: "/nonexistent.bin") }
        #expect(error?.description.hasPrefix("cannot open model file /nonexistent.bin") == true)
    }
}
