import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceLM

@Suite("ARPA scoring")
struct ScoringTests {
    /// Every line of 40 real and synthetic documents, scored against an independent dict-based
    /// back-off computation in Python (scripts/lm_reference.py), with and without CCNet
    /// normalisation; document sums, lengths and perplexities too.
    @Test("line and document scores equal the independent reference on real text")
    func documentsMatchReference() throws {
        let model = LMFixtures.prose4
        #expect(model.order == 4)
        let docs = try LMFixtures.jsonLines("docs.jsonl")
        let expected = try LMFixtures.jsonLines("docs.expected.jsonl")
        #expect(docs.count == 40 && expected.count == docs.count)
        var scratch = LMScratch()
        var worstLine = 0.0
        var lines = 0
        for (doc, exp) in zip(docs, expected) {
            let id = doc["id"] as! String
            let text = doc["text"] as! String
            for norm in PerplexityNormalization.allCases {
                let e = exp[norm.rawValue] as! [String: Any]
                let lineScores = e["line_log10"] as! [Double]
                let textLines = Array(text.utf8).split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
                #expect(textLines.count == lineScores.count, "\(id)")
                for (line, want) in zip(textLines, lineScores) {
                    var bytes = line
                    if norm == .ccnet { bytes = CCNetNormalizer.normalize(bytes) }
                    let got = bytes.withUnsafeBufferPointer { model.sentenceLog10Probability($0, scratch: &scratch) }
                    worstLine = max(worstLine, abs(got - want))
                    #expect(abs(got - want) < 1e-4, "\(id) [\(norm)] line \(String(decoding: line, as: UTF8.self).debugDescription): \(got) vs \(want)")
                    lines += 1
                }
                var s = text
                let score = s.withUTF8 { model.documentScore($0, normalization: norm, scratch: &scratch) }
                let pp = s.withUTF8 { model.documentPerplexity($0, normalization: norm, scratch: &scratch) }
                #expect(score.length == e["length"] as! Int, "\(id) [\(norm)] length")
                #expect(score.lines == e["lines"] as! Int, "\(id) [\(norm)] lines")
                #expect(abs(score.log10Probability - (e["log10"] as! Double)) < 1e-3, "\(id) [\(norm)]")
                let wantPP = e["perplexity"] as! Double
                #expect(abs(pp - wantPP) / wantPP < 1e-5, "\(id) [\(norm)] perplexity \(pp) vs \(wantPP)")
            }
        }
        #expect(lines > 1000)
        print("scored \(lines) lines; largest |Δlog10| vs the reference: \(worstLine)")
    }

    @Test("a pruned SRILM-style model: missing suffixes filled in, zero back-off contexts kept, no <unk>")
    func prunedModel() throws {
        let model = try LMFixtures.model("pruned.arpa")
        #expect(model.warnings.count == 1 && model.warnings[0].contains("no <unk>"))
        let rows = String(decoding: try LMFixtures.bytes("pruned.expected.tsv"), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(rows.count == 11)
        for row in rows {
            let parts = row.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            let want = Double(parts[0])!
            let sentence = parts.count > 1 ? String(parts[1]) : ""
            let got = model.sentenceLog10Probability(sentence)
            #expect(abs(got - want) < 1e-5, "\(sentence): \(got) vs \(want)")
        }
        // KenLM's full_scores for "x b c": the filled-in "b c" plus the back-off of "x b".
        let words = model.wordScores("x b c")
        #expect(words.map(\.ngramLength) == [1, 2, 2, 1])
        #expect(words.map(\.log10Probability) == [-2.0, -0.7, -1.35, -1.2].map { Float($0) })
        let unknown = model.wordScores("zzz a")
        #expect(unknown[0].isOOV && unknown[0].log10Probability == -100.5)
    }

    /// The exact single-precision sums of KenLM 0.3.0's Python module on the fixture model,
    /// recorded with scripts/compare_kenlm.py (kenlm.Model.score).
    @Test("sentence scores are KenLM's to the last bit")
    func kenlmBits() throws {
        let model = try LMFixtures.model("pruned.arpa")
        #expect(Float(model.sentenceLog10Probability("a b c")) == Float(-2.049999952316284))
        #expect(Float(model.sentenceLog10Probability("x b c")) == Float(-5.25))
        #expect(Float(model.sentenceLog10Probability("c d a")) == Float(-4.900000095367432))
        #expect(Float(model.sentenceLog10Probability("zzz a b c zzz")) == Float(-203.0))
        #expect(Float(model.sentenceLog10Probability("")) == Float(-1.7000000476837158))
    }

    @Test("bos and eos switch the sentence markers as in KenLM's score(bos, eos)")
    func markers() throws {
        let model = try LMFixtures.model("pruned.arpa")
        let both = model.sentenceLog10Probability("a b")
        let noEOS = model.sentenceLog10Probability("a b", eos: false)
        let noBOS = model.sentenceLog10Probability("a b", bos: false)
        #expect(abs(both - (-0.4 - 0.25 - 1.2 - 0.2)) < 1e-6)  // <s> a | <s> a b | b </s> backs off
        #expect(abs(noEOS - (-0.4 - 0.25)) < 1e-6)
        #expect(abs(noBOS - (-0.8 - 0.3 - 1.2 - 0.2)) < 1e-6)
    }

    @Test("empty text has no perplexity; a text of newlines scores its empty lines")
    func emptyText() throws {
        let model = try LMFixtures.model("pruned.arpa")
        var scratch = LMScratch()
        let empty = [UInt8]().withUnsafeBufferPointer { model.documentPerplexity($0, normalization: .none, scratch: &scratch) }
        #expect(empty.isNaN)
        let newline = Array("\n".utf8).withUnsafeBufferPointer { model.documentScore($0, normalization: .ccnet, scratch: &scratch) }
        #expect(newline.lines == 2 && newline.length == 2)
        #expect(abs(newline.log10Probability - 2 * -1.7) < 1e-6)
        #expect(abs(newline.perplexity - pow(10, 1.7)) / pow(10, 1.7) < 1e-6)
    }

    @Test("words are split on ASCII whitespace for scoring, counted on Unicode whitespace for the length")
    func wordSplitting() throws {
        let model = try LMFixtures.model("pruned.arpa")
        // "a\u{A0}b" is one (unknown) word for KenLM, two words for Python's str.split().
        let s = model.documentScore("a\u{A0}b c", normalization: .none)
        #expect(s.oovs == 1)
        #expect(s.length == 4)
        #expect(abs(s.log10Probability - model.sentenceLog10Probability("zzz c")) < 1e-9)
        // Vertical tab and form feed split words when scoring, as bytes.split() does.
        #expect(model.sentenceLog10Probability("a\u{0B}b\u{0C}c") == model.sentenceLog10Probability("a b c"))
    }

    @Test("scratch buffers are reused: a long line after short ones scores the same as alone")
    func scratchReuse() throws {
        let model = LMFixtures.prose4
        var scratch = LMScratch()
        let long = String(repeating: "and the LORD God said unto the woman ", count: 400)
        var first = 0.0
        for text in ["God", "", long, "In the beginning", long] {
            var t = text
            let v = t.withUTF8 { model.sentenceLog10Probability($0, scratch: &scratch) }
            if text == long {
                if first == 0 { first = v } else { #expect(v == first) }
            }
        }
        #expect(first == model.sentenceLog10Probability(long))
    }
}
