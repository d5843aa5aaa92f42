import Foundation
import SluiceCore
import SluiceFastText
import SluiceIO
import SluiceQuality
import SluiceTestSupport
import Testing

@Suite("sluice quality train: labels, split, model, metrics")
struct QualityTrainerTests {
    /// Annotations whose score is 4 for river prose and 1 for noise, with a little of both mixed.
    func annotations(_ dir: TemporaryDirectory, count: Int = 400, name: String = "ann.jsonl") throws -> String {
        var rng = SplitMix64(seed: 3)
        let good = ["the", "river", "carries", "water", "toward", "a", "wide", "delta", "where", "farmers", "plant", "rice"]
        let bad = ["$$$", "click", "here", "!!!", "buy", "now", "<<>>", "free", "###", "win", "lol", "xxx"]
        var out: [UInt8] = []
        for i in 0..<count {
            let isGood = rng.next() % 2 == 0
            let words = isGood ? good : bad
            var text = ""
            for k in 0..<15 { text += (k == 7 ? "\n" : " ") + words[Int(rng.next() % UInt64(words.count))] }
            var o = JSONObject()
            o["id"] = .string("doc-\(i)")
            o["score"] = .int(isGood ? 4 : 1)
            o["text"] = .string(text)
            appendJSON(.object(o), to: &out)
            out.append(10)
        }
        let path = dir.file(name)
        try writeFile(path, out)
        return path
    }

    func options(_ dir: TemporaryDirectory, _ ann: String, threshold: Double? = 3, multiclass: Bool = false) -> QualityTrainer.Options {
        var o = QualityTrainer.Options(annotations: [ann], output: dir.file("model.bin"), threshold: threshold, multiclass: multiclass)
        o.dim = 8
        o.bucket = 10_000
        o.splitsDirectory = dir.file("splits")
        return o
    }

    @Test("binary labels at the threshold, a held-out split by id hash, and perfect metrics on separable data")
    func binary() throws {
        let dir = TemporaryDirectory()
        let ann = try annotations(dir)
        let r = try QualityTrainer.run(options(dir, ann))
        #expect(r.trainExamples + r.testExamples == 400)
        #expect(r.testExamples > 50 && r.testExamples < 120)
        let train = try String(contentsOfFile: dir.file("splits/train.txt"), encoding: .utf8)
        let test = try String(contentsOfFile: dir.file("splits/test.txt"), encoding: .utf8)
        #expect(train.split(separator: "\n").count == r.trainExamples)
        #expect(test.split(separator: "\n").allSatisfy { $0.hasPrefix("__label__hq ") || $0.hasPrefix("__label__lq ") })
        #expect(r.binary?.label == "hq")
        #expect(r.binary?.f1 == 1 && r.accuracy == 1)
        #expect(r.labelCounts["hq"]! + r.labelCounts["lq"]! == 400)
        let model = try FastTextModel(contentsOf: dir.file("model.bin"))
        #expect(Set(model.labels) == ["__label__hq", "__label__lq"])
        // The held-out documents are exactly those with XXH64(id, seed') below the fraction.
        let heldIDs = (0..<400).filter { Double(XXH64.hash("doc-\($0)", seed: 0x5155_414C_4954_5953)) * 0x1p-64 < 0.2 }
        #expect(heldIDs.count == r.testExamples)
    }

    @Test("the same annotations give the same model bytes, in any order")
    func deterministic() throws {
        let dir = TemporaryDirectory()
        let ann = try annotations(dir)
        _ = try QualityTrainer.run(options(dir, ann))
        let first = try readFile(dir.file("model.bin"))
        _ = try QualityTrainer.run(options(dir, ann))
        #expect(try readFile(dir.file("model.bin")) == first)
        // Reversed records: the same split (by id), so the same examples held out.
        let lines = try String(contentsOfFile: ann, encoding: .utf8).split(separator: "\n").reversed().joined(separator: "\n") + "\n"
        try writeFile(dir.file("rev.jsonl"), lines)
        let a = try QualityTrainer.run(options(dir, ann))
        let b = try QualityTrainer.run(options(dir, dir.file("rev.jsonl")))
        #expect(a.testExamples == b.testExamples && a.trainExamples == b.trainExamples)
    }

    @Test("multi-class: one label per score, per-label metrics, and binary metrics at a threshold")
    func multiclass() throws {
        let dir = TemporaryDirectory()
        let ann = try annotations(dir)
        let r = try QualityTrainer.run(options(dir, ann, threshold: 3, multiclass: true))
        #expect(r.mode == "multiclass")
        #expect(r.perLabel.map(\.label) == ["1", "4"])
        #expect(r.macroF1 == 1)
        #expect(r.binary?.f1 == 1)
        let model = try FastTextModel(contentsOf: dir.file("model.bin"))
        #expect(Set(model.labels) == ["__label__1", "__label__4"])
        let json = renderJSONForTest(r.json)
        #expect(json.contains("\"per_label\""))
    }

    @Test("without --threshold the rubric's threshold recorded in the annotations is used; differing ones are an error")
    func rubricThreshold() throws {
        let dir = TemporaryDirectory()
        let ann = try annotations(dir)
        let withThreshold = try String(contentsOfFile: ann, encoding: .utf8).replacingOccurrences(of: "\"score\":", with: "\"threshold\":3,\"score\":")
        try writeFile(dir.file("t.jsonl"), withThreshold)
        let r = try QualityTrainer.run(options(dir, dir.file("t.jsonl"), threshold: nil))
        #expect(r.threshold == 3 && r.mode == "binary" && r.binary?.f1 == 1)
        try writeFile(dir.file("t2.jsonl"), "{\"id\":\"z\",\"score\":2,\"threshold\":2,\"text\":\"river\"}\n")
        var mixed = options(dir, dir.file("t.jsonl"), threshold: nil)
        mixed.annotations.append(dir.file("t2.jsonl"))
        #expect { try QualityTrainer.run(mixed) } throws: { "\($0)".contains("different thresholds (2, 3)") }
    }

    @Test("records without text or score are skipped and counted; a single class is an error that says what to do")
    func problems() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("bad.jsonl"), "{\"id\":\"a\",\"score\":3}\n{\"id\":\"b\",\"text\":\"x\"}\nnot json\n")
        let ann = try annotations(dir, count: 100)
        var o = options(dir, ann)
        o.annotations.append(dir.file("bad.jsonl"))
        let r = try QualityTrainer.run(o)
        #expect(r.skipped == ["no_text": 1, "no_score": 1, "invalid_json": 1])
        var one = options(dir, ann)
        one.threshold = 0
        #expect { try QualityTrainer.run(one) } throws: { "\($0)".contains("at least two classes") }
        var neither = options(dir, ann, threshold: nil)
        neither.multiclass = false
        #expect { try QualityTrainer.run(neither) } throws: { "\($0)".contains("--threshold") }
    }
}

func renderJSONForTest(_ v: JSONValue) -> String { String(decoding: encodeJSON(v), as: UTF8.self) }
