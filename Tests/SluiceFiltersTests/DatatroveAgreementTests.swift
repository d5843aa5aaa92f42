import SluiceCore
import SluiceFilters
import Testing

/// Replays datatrove 0.10.1's decisions on real English pages (Tests/Fixtures/filters/, see its
/// PROVENANCE.md) and spaCy's English words: no Python needed.
@Suite struct DatatroveAgreementTests {
    static let cases: [DatatroveCase] = (try? DatatroveCase.load()) ?? []

    @Test("the fixtures are there and cover every filter")
    func fixturesLoad() {
        #expect(Self.cases.count == 175)
        for name in ["gopher_quality", "gopher_repetition", "c4_quality", "c4_quality_fineweb", "c4_paragraph", "fineweb_quality"] {
            #expect(Self.cases.allSatisfy { $0.outcomes[name] != nil }, "missing \(name)")
        }
    }

    /// Compares one filter's verdicts with datatrove's; returns the disagreements.
    func disagreements(_ name: String, _ verdict: (String) -> (Bool, String?, String?)) -> [String] {
        var out: [String] = []
        for c in Self.cases {
            let expected = c.outcomes[name]!
            let (keep, why, text) = verdict(c.text)
            if keep != expected.keep || (!keep && why != expected.reason) {
                out.append("\(c.id): datatrove \(expected.keep ? "keep" : expected.reason ?? "?"), sluice \(keep ? "keep" : why ?? "?")")
            } else if keep, let t = expected.text, t != text {
                out.append("\(c.id): kept with other text")
            }
        }
        return out
    }

    @Test("gopher_quality decides every fixture page as datatrove does, with the same reason")
    func gopherQuality() throws {
        let s = try GopherQuality(configuration: .init())
        let d = disagreements("gopher_quality") { text in
            let v = s.verdict(for: text)
            return (v == .keep, reason(v), nil)
        }
        #expect(d.isEmpty, "\(d)")
    }

    @Test("gopher_repetition decides every fixture page as datatrove does, with the same reason")
    func gopherRepetition() throws {
        let s = try GopherRepetition(configuration: .init())
        let d = disagreements("gopher_repetition") { text in
            let v = s.verdict(for: text)
            return (v == .keep, reason(v), nil)
        }
        #expect(d.isEmpty, "\(d)")
    }

    @Test("c4_quality keeps, drops and rewrites every fixture page as datatrove does", arguments: [true, false])
    func c4Quality(terminalPunctuation: Bool) throws {
        let s = try C4Quality(configuration: .init(filterNoTerminalPunct: terminalPunctuation))
        let d = disagreements(terminalPunctuation ? "c4_quality" : "c4_quality_fineweb") { text in
            switch s.apply(to: text) {
            case .keep(let t): return (true, nil, t)
            case .drop(let r): return (false, r.name, nil)
            }
        }
        #expect(d.isEmpty, "\(d)")
    }

    @Test("c4_paragraph decides every fixture page as datatrove does")
    func c4Paragraph() throws {
        let s = try C4Paragraph(configuration: .init())
        let d = disagreements("c4_paragraph") { text in
            let v = text.withUTF8Bytes { s.verdict(for: $0) }
            return (v == .keep, reason(v), nil)
        }
        #expect(d.isEmpty, "\(d)")
    }

    @Test("fineweb_quality decides every fixture page as datatrove does, with the same reason")
    func fineWebQuality() throws {
        let s = try FineWebQuality(configuration: .init())
        let d = disagreements("fineweb_quality") { text in
            let v = s.verdict(for: text)
            return (v == .keep, reason(v), nil)
        }
        #expect(d.isEmpty, "\(d)")
    }

    @Test("English words match spaCy's tokenizer on hard cases and real chunks")
    func spacyWords() throws {
        let rows = try filterFixture("spacy_words.jsonl")
        #expect(rows.count > 1000)
        let splitter = WordSplitter()
        var mismatches: [String] = []
        for row in rows {
            let text = row["text"] as! String
            let expected = row["words"] as! [String]
            let got = splitter.words(text)
            if got != expected { mismatches.append("\(text.debugDescription): spaCy \(expected), sluice \(got)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
    }
}
