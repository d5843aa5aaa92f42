import Foundation
import SluiceCore
import SluiceIO
import SluiceTestSupport
import Testing

@testable import SluiceLM

/// `sluice lm train` and `sluice lm score`, run as real processes.
@Suite("sluice lm command line")
struct LMCommandLineTests {
    func sluice(_ args: [String]) throws -> CommandResult {
        try runCommand(sluiceExecutable(), ["lm"] + args)
    }

    @Test("train a model from JSONL documents, then score documents with it")
    func trainThenScore() throws {
        let dir = TemporaryDirectory()
        // A reference corpus: the fixture's Genesis text as three JSONL documents, zstd-compressed.
        let lines = TrainingTests.corpus.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let third = lines.count / 3
        let docs = (0..<3).map { i in
            Document(id: "ref-\(i)", text: lines[(i * third)..<(i == 2 ? lines.count : (i + 1) * third)].joined(separator: "\n"))
        }
        try writeFile(dir.file("ref.jsonl.zst"), try ZstdCompressor.compress(jsonl(docs)))
        let train = try sluice(["train", dir.file("ref.jsonl.zst"), "--order", "3", "--normalize", "ccnet", "-o", dir.file("m.arpa.zst")])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("3 documents"))
        #expect(train.stderr.contains("3-grams:"))

        // The same corpus through the library gives the same model.
        let trainer = try KneserNeyTrainer(options: KneserNeyOptions(order: 3, normalization: .ccnet))
        for d in docs {
            var t = d.text
            t.withUTF8 { trainer.addDocument($0) }
        }
        let expected = ARPAWriter.bytes(try trainer.estimate())
        #expect(try LMFixtures.decompressedBytes(dir.file("m.arpa.zst")) == expected)

        // Score: some Genesis text, some man page, an empty document.
        let probe = [
            Document(id: "genesis", text: "And God said, Let there be light: and there was light.\nAnd God saw the light."),
            Document(id: "manpage", text: "The ldd utility prints the shared objects required by each program."),
            Document(id: "empty", text: ""),
        ]
        try writeFile(dir.file("probe.jsonl"), jsonl(probe))
        let score = try sluice(["score", dir.file("m.arpa.zst"), dir.file("probe.jsonl"), "--normalize", "ccnet"])
        #expect(score.status == 0, "\(score.stderr)")
        let rows = score.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.map { $0[0] } == ["genesis", "manpage", "empty"])
        let model = try NGramModel(arpa: expected)
        for (row, doc) in zip(rows, probe) where !doc.text.isEmpty {
            var t = doc.text
            var scratch = LMScratch()
            let want = t.withUTF8 { model.documentPerplexity($0, normalization: .ccnet, scratch: &scratch) }
            #expect(Double(row[1]) == want)
        }
        #expect(rows[2][1] == "nan")
        #expect(Double(rows[0][1])! < Double(rows[1][1])!, "Genesis text should be likelier than a man page under a Genesis model")
        #expect(score.stderr.contains("3 documents"))

        let json = try sluice(["score", dir.file("m.arpa.zst"), dir.file("probe.jsonl"), "--normalize", "ccnet", "--json"])
        let objects = try json.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(objects.count == 3)
        #expect(objects[0]["id"] as? String == "genesis")
        #expect(objects[0]["lines"] as? Int == 2)
        #expect(objects[0]["perplexity"] as? Double == Double(rows[0][1]))
        #expect(objects[2]["perplexity"] is NSNull)
    }

    @Test("score --lines prints KenLM's per-line log10 probability, word count and OOVs")
    func lines() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("in.txt"), "a b c\nx b c\n\nzzz a\n")
        let r = try sluice(["score", LMFixtures.path("pruned.arpa"), dir.file("in.txt"), "--lines"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("no <unk>"))
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 4)
        #expect(rows[0] == [dir.file("in.txt") + ":1", "-2.05", "3", "0", "a b c"])
        #expect(rows[1][1] == "-5.25")
        #expect(rows[2][1] == "-1.7" && rows[2][2] == "0")
        #expect(rows[3][1] == "-102.8" && rows[3][3] == "1")
    }

    @Test("train a plain-text corpus from standard input; order and fallback options")
    func textAndOptions() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("tiny.txt"), "the cat sat\nthe dog sat\n")
        let fails = try sluice(["train", dir.file("tiny.txt"), "-o", dir.file("tiny.arpa")])
        #expect(fails.status == 2)
        #expect(fails.stderr.contains("--discount-fallback"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("tiny.arpa")))
        let ok = try runCommand(
            "/bin/sh", ["-c", "\"$0\" lm train - --order 2 --discount-fallback -o \"$1\" < \"$2\"", sluiceExecutable(), dir.file("tiny.arpa"), dir.file("tiny.txt")])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stderr.contains("(fallback)"))
        let m = try NGramModel(contentsOf: dir.file("tiny.arpa"))
        #expect(m.order == 2 && m.contains("cat"))
        let badOrder = try sluice(["train", dir.file("tiny.txt"), "--order", "9", "-o", dir.file("x.arpa")])
        #expect(badOrder.status == 2 && badOrder.stderr.contains("--order must be 1 to 6"))
        let help = try sluice(["train", "--help"])
        for option in ["--order", "--output", "--normalize", "--format", "--text-key", "--discount-fallback", "--fallback-discounts"] {
            #expect(help.stdout.contains(option))
        }
    }

    @Test("a broken model is a usage error naming the file and line")
    func brokenModel() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("bad.arpa"), "\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n")
        try writeFile(dir.file("in.txt"), "hello\n")
        let r = try sluice(["score", dir.file("bad.arpa"), dir.file("in.txt")])
        #expect(r.status == 2)
        #expect(r.stderr.contains(dir.file("bad.arpa") + ":6:"))
        #expect(r.stderr.contains("ends after 2 of the 3 1-grams"))
        let missing = try sluice(["score", dir.file("bad.arpa"), dir.file("nothing.txt")])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nothing.txt"))
    }
}
