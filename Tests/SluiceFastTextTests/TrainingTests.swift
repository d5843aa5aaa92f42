import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceFastText

@Suite("fastText training and quantization")
struct TrainingTests {
    static let losses: [(FastTextLoss, String)] = [(.softmax, "softmax.bin"), (.hs, "hs.bin"), (.ns, "ns.bin"), (.ova, "ova.bin")]

    /// The fixture flags of each official model, so the comparison is like for like.
    static func configure(_ loss: FastTextLoss) -> (inout FastTextTrainingOptions) -> Void {
        { o in
            switch loss {
            case .softmax: o.wordNgrams = 2
            case .hs:
                o.wordNgrams = 1
                o.minn = 2
                o.maxn = 4
            case .ns:
                o.wordNgrams = 2
                o.neg = 3
            case .ova:
                o.wordNgrams = 2
                o.minn = 3
                o.maxn = 5
            }
        }
    }

    @Test("each loss trains a classifier about as accurate as official fastText's with the same flags", arguments: [0, 1, 2, 3])
    func accuracy(index: Int) throws {
        let (loss, name) = Self.losses[index]
        let model = try trainFixtureModel(loss: loss, configure: Self.configure(loss))
        #expect(model.args.loss == loss)
        let result = try model.test(path: fixture("lang.test"))
        let official = try #require(Expected.shared.models[name])
        #expect(result.examples == official.testN)
        // 400 test lines: one line is 0.25 points. The script checks 1 point on 13,000 lines.
        #expect(abs(result.precision - official.testPrecision) <= 0.05, "\(loss): P@1 \(result.precision) vs official \(official.testPrecision)")
        #expect(result.precision > 0.5)
    }

    @Test("a trained model saved and loaded again predicts identically and keeps its settings")
    func saveAndLoad() throws {
        let dir = TemporaryDirectory()
        let model = try trainFixtureModel(loss: .hs) { $0.epoch = 2; $0.minn = 2; $0.maxn = 3 }
        try model.write(to: dir.file("m.bin"))
        let loaded = try FastTextModel(contentsOf: dir.file("m.bin"))
        #expect(loaded.args == model.args)
        #expect(loaded.dictionary.entries == model.dictionary.entries)
        for line in Expected.shared.probe.prefix(40) {
            #expect(loaded.predict(line, k: -1).map(\.probability) == model.predict(line, k: -1).map(\.probability))
        }
        // Writing the loaded model gives the same bytes again.
        try loaded.write(to: dir.file("again.bin"))
        #expect(try readFile(dir.file("again.bin")) == readFile(dir.file("m.bin")))
    }

    @Test("the dictionary counts tokens as fastText does: </s> per line, labels after words, sorted by count")
    func dictionary() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("t.txt"), "__label__a x y x\n__label__b y x z\n__label__a x\n")
        var o = FastTextTrainingOptions(input: dir.file("t.txt"))
        o.dim = 4
        o.epoch = 1
        o.thread = 1
        o.verbose = 0
        let m = try FastTextModel.train(o)
        let d = m.dictionary
        #expect(d.entries.map(\.text) == ["x", "</s>", "y", "z", "__label__a", "__label__b"])
        #expect(d.entries.map(\.count) == [4, 3, 2, 1, 2, 1])
        #expect(d.ntokens == 13)
        #expect(m.args.bucket == 0, "no n-grams: the command line's rule sets bucket to 0")
        #expect(m.input.rows == 4)
        // -minCount drops rare words; -minCountLabel rare labels.
        o.minCount = 2
        o.minCountLabel = 2
        let pruned = try FastTextModel.train(o)
        #expect(pruned.dictionary.entries.map(\.text) == ["x", "</s>", "y", "__label__a"])
    }

    @Test("a custom -label prefix marks the labels")
    func customLabel() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("t.txt"), "#pos good great fine\n#neg bad awful poor\n#pos good nice\n#neg bad terrible\n")
        var o = FastTextTrainingOptions(input: dir.file("t.txt"))
        o.label = "#"
        o.dim = 4
        o.epoch = 50
        o.lr = 0.5
        o.thread = 1
        o.verbose = 0
        let m = try FastTextModel.train(o)
        #expect(Set(m.labels) == ["#pos", "#neg"])
        #expect(m.predict("good", k: 1).first?.label == "#pos")
        #expect(m.predict("bad awful", k: 1).first?.label == "#neg")
    }

    @Test("training with several Hogwild threads works and stays accurate")
    func threads() throws {
        let model = try trainFixtureModel(loss: .softmax, threads: 4) { $0.epoch = 4 }
        #expect(try model.test(path: fixture("lang.test")).precision > 0.5)
    }

    @Test("training errors explain what to do")
    func errors() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("nolabels.txt"), "just words here\nand more\n")
        var o = FastTextTrainingOptions(input: dir.file("nolabels.txt"))
        o.verbose = 0
        o.thread = 1
        #expect(throws: FastTextError.self) { _ = try FastTextModel.train(o) }
        do {
            _ = try FastTextModel.train(o)
        } catch let e as FastTextError {
            #expect(e.message.contains("no labels"))
        }
        o.input = dir.file("missing.txt")
        #expect(throws: FastTextError.self) { _ = try FastTextModel.train(o) }
        o.input = dir.file("nolabels.txt")
        o.minn = 5
        o.maxn = 3
        #expect(throws: (any Error).self) { _ = try FastTextModel.train(o) }
    }

    @Test("the .vec file lists every word with its vector as fastText writes it")
    func vectors() throws {
        let dir = TemporaryDirectory()
        let model = try trainFixtureModel(loss: .softmax) { $0.epoch = 1 }
        try model.writeVectors(to: dir.file("m.vec"))
        let l = lines(dir.file("m.vec"))
        #expect(l.first == "\(model.dictionary.nwords) 8")
        #expect(l.count == model.dictionary.nwords + 1)
        let first = l[1].split(separator: " ", omittingEmptySubsequences: false)
        #expect(first.first == "</s>")
        #expect(first.count == 8 + 2, "the word, 8 values each followed by a space")
        let values = first[1...8].map { Float(String($0))! }
        for (a, b) in zip(values, model.input.rowValues(0)) { #expect(abs(a - b) <= abs(b) * 1e-4 + 1e-9) }
    }

    @Test("pretrained vectors start the word rows")
    func pretrained() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("t.txt"), "__label__a alpha beta\n__label__b gamma delta\n")
        try writeFile(dir.file("p.vec"), "2 4\nalpha 1 2 3 4\nomega 5 6 7 8\n")
        var o = FastTextTrainingOptions(input: dir.file("t.txt"))
        o.dim = 4
        o.epoch = 1
        o.lr = 1e-9
        o.thread = 1
        o.verbose = 0
        o.pretrainedVectors = dir.file("p.vec")
        let m = try FastTextModel.train(o)
        let alpha = Int(m.dictionary.id(of: "alpha"))
        #expect(alpha >= 0)
        #expect(m.dictionary.id(of: "omega") >= 0, "words of the vectors file join the dictionary, as in fastText")
        for (a, b) in zip(m.input.rowValues(alpha), [Float(1), 2, 3, 4]) { #expect(abs(a - b) < 1e-3) }
        o.dim = 5
        #expect(throws: FastTextError.self) { _ = try FastTextModel.train(o) }
    }

    @Test("quantizing with cutoff, qnorm and retraining keeps most predictions and round-trips")
    func quantize() throws {
        let dir = TemporaryDirectory()
        let model = try trainFixtureModel(loss: .softmax) { $0.epoch = 5; $0.minn = 2; $0.maxn = 3 }
        var q = FastTextQuantizeOptions()
        q.qnorm = true
        q.cutoff = 1000
        q.retrain = true
        q.input = fixture("lang.train")
        q.epoch = 1
        q.thread = 2
        q.verbose = 0
        let small = try model.quantized(q)
        #expect(small.isQuantized)
        #expect(small.dictionary.isPruned)
        #expect(small.input.rows == 1000)
        #expect(small.dictionary.id(of: "</s>") >= 0, "</s> is always kept")
        try small.write(to: dir.file("m.ftz"))
        let loaded = try FastTextModel(contentsOf: dir.file("m.ftz"))
        var agree = 0
        let probe = Expected.shared.probe
        for line in probe {
            let a = loaded.predict(line, k: 1), b = model.predict(line, k: 1)
            if a.first?.label == b.first?.label { agree += 1 }
            #expect(loaded.predict(line, k: -1).map(\.probability) == small.predict(line, k: -1).map(\.probability))
        }
        #expect(Double(agree) / Double(probe.count) > 0.7, "\(agree)/\(probe.count) top labels kept")
        let full = try model.test(path: fixture("lang.test")).precision
        let quantized = try loaded.test(path: fixture("lang.test")).precision
        #expect(quantized > full - 0.1, "quantized P@1 \(quantized) vs \(full)")
    }

    @Test("quantizing without a cutoff keeps every row and the dictionary unpruned")
    func quantizeWithoutCutoff() throws {
        let dir = TemporaryDirectory()
        // 300 distinct words: enough rows (at least 256) and quick to quantize.
        var text = ""
        for i in 0..<300 { text += "__label__\(i % 3) w\(i) w\((i * 7) % 300)\n" }
        try writeFile(dir.file("t.txt"), text)
        var o = FastTextTrainingOptions(input: dir.file("t.txt"))
        o.dim = 4
        o.epoch = 2
        o.thread = 1
        o.verbose = 0
        let model = try FastTextModel.train(o)
        var plain = FastTextQuantizeOptions()
        plain.thread = 2
        plain.verbose = 0
        plain.dsub = 3  // 4 columns: one sub-vector of 3 and a last one of 1
        let q = try model.quantized(plain)
        #expect(!q.dictionary.isPruned)
        #expect(q.input.rows == model.input.rows)
        guard case .quantized(let m) = q.input else {
            Issue.record("not quantized")
            return
        }
        #expect(m.pq.nsubq == 2 && m.pq.dsub == 3 && m.pq.lastdsub == 1)
        try q.write(to: dir.file("q.ftz"))
        let back = try FastTextModel(contentsOf: dir.file("q.ftz"))
        #expect(back.predict("w1 w7", k: -1).map(\.probability) == q.predict("w1 w7", k: -1).map(\.probability))
    }

    @Test("quantizing refuses too small matrices and already quantized models")
    func quantizeErrors() throws {
        let model = try trainFixtureModel(loss: .ova) { $0.epoch = 1 }
        var q = FastTextQuantizeOptions()
        q.qout = true  // 13 labels: fewer than 256 rows
        q.verbose = 0
        #expect(throws: FastTextError.self) { _ = try model.quantized(q) }
        let ftz = try FastTextModel(contentsOf: fixture("quantized.ftz"))
        #expect(throws: FastTextError.self) { _ = try ftz.quantized(FastTextQuantizeOptions()) }
    }
}
