import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceFastText

@Suite("fastText model files")
struct ModelFileTests {
    @Test("reads the header, arguments and dictionary of models trained by official fastText")
    func readsOfficialModels() throws {
        let softmax = try FastTextModel(contentsOf: fixture("softmax.bin"))
        #expect(softmax.version == 12)
        #expect(softmax.args.model == .supervised)
        #expect(softmax.args.loss == .softmax)
        #expect(softmax.args.dim == 8)
        #expect(softmax.args.wordNgrams == 2)
        #expect(softmax.args.bucket == 2000)
        #expect(softmax.dictionary.nlabels == 13, "11 manpage languages and 10 fortune languages: 13 in all")
        #expect(softmax.labels.allSatisfy { $0.hasPrefix("__label__") })
        #expect(softmax.labels.contains("__label__en"))
        let en = try #require(softmax.labelIndex("en"))
        #expect(softmax.shortLabel(en) == "en")
        #expect(softmax.labelIndex("__label__en") == en)
        #expect(softmax.dictionary.word(0) == "</s>")
        #expect(softmax.dictionary.eosID == 0)
        #expect(softmax.input.rows == softmax.dictionary.nwords + 2000)
        #expect(!softmax.isQuantized)
        // Labels come after words and are sorted by count, descending.
        let counts = softmax.dictionary.labelCounts
        #expect(counts == counts.sorted(by: >))
        for (name, loss) in [("hs.bin", FastTextLoss.hs), ("ns.bin", .ns), ("ova.bin", .ova)] {
            #expect(try FastTextModel(contentsOf: fixture(name)).args.loss == loss)
        }
        let hs = try FastTextModel(contentsOf: fixture("hs.bin"))
        #expect(hs.args.minn == 2 && hs.args.maxn == 4)
    }

    @Test("reads a quantized model with a pruned dictionary and quantized norms")
    func readsQuantized() throws {
        let m = try FastTextModel(contentsOf: fixture("quantized.ftz"))
        #expect(m.isQuantized)
        #expect(m.dictionary.isPruned)
        #expect(m.dictionary.pruneIndexSize > 0)
        guard case .quantized(let q) = m.input else {
            Issue.record("input is not quantized")
            return
        }
        #expect(q.qnorm)
        #expect(q.pq.dsub == 2 && q.pq.nsubq == 4)
        #expect(q.rows == m.dictionary.nwords + Int(m.dictionary.pruneIndexSize))
        #expect(m.input.rows <= 1500)
    }

    @Test("writing a loaded model reproduces the file byte for byte", arguments: ["softmax.bin", "hs.bin", "ns.bin", "ova.bin", "quantized.ftz"])
    func roundTrip(name: String) throws {
        let dir = TemporaryDirectory()
        let model = try FastTextModel(contentsOf: fixture(name))
        let out = dir.file(name)
        try model.write(to: out)
        #expect(try readFile(out) == readFile(fixture(name)))
        #expect(!FileManager.default.fileExists(atPath: out + ".tmp-\(getpid())"))
    }

    @Test("a wrong magic number is a clear error")
    func wrongMagic() throws {
        let dir = TemporaryDirectory()
        var bytes = try readFile(fixture("softmax.bin"))
        bytes[0] = 0
        try writeFile(dir.file("bad.bin"), bytes)
        let message = try #require(loadError(dir.file("bad.bin")))
        #expect(message.contains("not a fastText model"))
        #expect(message.contains("magic"))
        try writeFile(dir.file("text.bin"), "this is a text file, not a model\n")
        #expect(loadError(dir.file("text.bin"))?.contains("not a fastText model") == true)
    }

    @Test("a newer file version is refused with the version named")
    func newerVersion() throws {
        let dir = TemporaryDirectory()
        var bytes = try readFile(fixture("softmax.bin"))
        bytes[4] = 13
        try writeFile(dir.file("new.bin"), bytes)
        let message = try #require(loadError(dir.file("new.bin")))
        #expect(message.contains("version 13"))
        #expect(message.contains("newer"))
    }

    @Test("a truncated file is reported as truncated wherever it is cut")
    func truncated() throws {
        let dir = TemporaryDirectory()
        for name in ["softmax.bin", "quantized.ftz"] {
            let bytes = try readFile(fixture(name))
            for cut in [0, 3, 7, 20, 63, 64, 90, 100, 2000, bytes.count / 2, bytes.count - 1] {
                let path = dir.file("cut\(cut)-\(name)")
                try writeFile(path, Array(bytes[0..<cut]))
                let message = try #require(loadError(path), "a model cut at \(cut) bytes loaded")
                #expect(message.contains("truncated") || message.contains("too short"), "cut at \(cut): \(message)")
            }
        }
    }

    @Test("missing files and folders give messages that name the path")
    func missing() {
        #expect(loadError("/nonexistent/model.bin")?.contains("/nonexistent/model.bin") == true)
        #expect(loadError(fixtures)?.contains("directory") == true)
    }

    @Test("old version 11 supervised models ignore character n-grams, as fastText does")
    func version11() throws {
        let dir = TemporaryDirectory()
        var bytes = try readFile(fixture("hs.bin"))
        bytes[4] = 11
        try writeFile(dir.file("v11.bin"), bytes)
        let m = try FastTextModel(contentsOf: dir.file("v11.bin"))
        #expect(m.version == 11)
        #expect(m.args.maxn == 0)
    }

    @Test("a pruned dictionary without quantization is refused, as in fastText (issue 332)")
    func prunedNotQuantized() throws {
        let q = try FastTextModel(contentsOf: fixture("quantized.ftz"))
        let dense = DenseMatrix(rows: q.input.rows, cols: q.input.cols)
        #expect(throws: FastTextError.self) {
            _ = try FastTextModel(args: q.args, dictionary: q.dictionary, input: .dense(dense), output: q.output)
        }
    }

    @Test("fastText's hash sign-extends bytes above 0x7F")
    func hash() {
        #expect(fastTextHash(Array("</s>".utf8)) == FastTextDictionary.eosHash)
        // FNV-1a of "a": (2166136261 ^ 97) * 16777619
        #expect(fastTextHash([97]) == (UInt32(2_166_136_261) ^ 97) &* 16_777_619)
        // 0xC3 is sign-extended to 0xFFFFFFC3 before the xor.
        #expect(fastTextHash([0xC3]) == (UInt32(2_166_136_261) ^ 0xFFFF_FFC3) &* 16_777_619)
    }

    @Test("the dictionary finds every entry and nothing else")
    func dictionaryLookup() throws {
        let m = try FastTextModel(contentsOf: fixture("softmax.bin"))
        let d = m.dictionary
        for id in 0..<d.size {
            #expect(d.id(of: d.entryBytes(id)) == Int32(id))
        }
        #expect(d.id(of: "definitely-not-a-word-in-this-model") == -1)
        #expect(d.id(of: "") == -1)
    }
}
