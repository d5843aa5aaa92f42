import SluiceCore
import SluiceFilters
import Testing

@Suite struct NormalizeWhitespaceTests {
    func normalized(_ text: String, _ json: String = "{}") throws -> String? {
        try run(makeStage(NormalizeWhitespace.self, json), docs(text)).kept.first?.text
    }

    @Test func convertsLineBreaksToNewline() throws {
        #expect(try normalized("a\r\nb\rc\nd") == "a\nb\nc\nd")
        #expect(try normalized("a\u{000C}b\u{000B}c\u{0085}d\u{2028}e") == "a\nb\nc\nd\ne")
        #expect(try normalized("a\u{2029}b") == "a\n\nb")
    }

    @Test func collapsesSpacesAndConvertsUnicodeSpaces() throws {
        #expect(try normalized("a  b\t\tc\u{00A0}d\u{3000}e \u{2003} f") == "a b c d e f")
    }

    @Test func stripsLinesAndLimitsBlankLines() throws {
        let text = "\n\n  Title  \n\n\n\n   First paragraph,\n  second line.  \n \t \n\nNext.\n\n"
        #expect(try normalized(text) == "Title\n\nFirst paragraph,\nsecond line.\n\nNext.")
    }

    @Test func maxBlankLinesZeroJoinsParagraphsWithOneBreak() throws {
        #expect(try normalized("a\n\n\nb\n\nc", #"{"max_blank_lines": 0}"#) == "a\nb\nc")
        #expect(try normalized("a\n\n\n\nb", #"{"max_blank_lines": 2}"#) == "a\n\n\nb")
    }

    @Test func optionsCanBeTurnedOff() throws {
        #expect(try normalized("  a \t b  \nc", #"{"strip_lines": false}"#) == " a b \nc")
        #expect(try normalized("  a   b  ", #"{"collapse_spaces": false}"#) == "a   b")
        #expect(try normalized(" a\t\tb\u{00A0}c ", #"{"unicode_spaces": false}"#) == "a\t\tb\u{00A0}c")
        #expect(try normalized("a \u{00A0} b", #"{"unicode_spaces": false}"#) == "a \u{00A0} b")
        #expect(try normalized("a\u{00A0}\u{00A0}b", #"{"unicode_spaces": true}"#) == "a b")
    }

    @Test func keepsNonSpaceCharactersThatShareLeadBytes() throws {
        let text = "“Quoted” © 2024 — 日本語、テスト\u{200B}!"
        #expect(try normalized(text) == text)
    }

    @Test func dropsDocumentsThatBecomeEmpty() throws {
        let result = try run(makeStage(NormalizeWhitespace.self, "{}"), docs(" \n\t\r\n\u{3000}", "", "ok"))
        #expect(result.keptTexts == ["ok"])
        #expect(result.drops == ["empty_after_normalization": 2])
    }

    @Test func countsChangedDocuments() throws {
        let result = try run(makeStage(NormalizeWhitespace.self, "{}"), docs("clean text\n\nparagraph", "dirty  text", "a\r\nb", "fine"))
        #expect(result.keptTexts == ["clean text\n\nparagraph", "dirty text", "a\nb", "fine"])
        #expect(result.stats.counters["documents_changed"] == 2)
    }

    @Test func unchangedDocumentsKeepTheirText() throws {
        let stage = try makeStage(NormalizeWhitespace.self, "{}")
        var doc = Document(id: "a", text: "already normal\n\nyes")
        #expect(stage.map(&doc) == .keep)
        #expect(doc.text == "already normal\n\nyes")
    }

    @Test func normalizedTextIsStable() throws {
        let samples = ["  a \r\n\r\n\r\n b\u{2029}\u{2029}c\u{00A0} ", "x\t\ty\n \n \nz", "\u{3000}日本\u{3000}\u{3000}語\u{3000}"]
        for json in ["{}", #"{"strip_lines": false}"#, #"{"collapse_spaces": false, "max_blank_lines": 3}"#] {
            for s in samples {
                let once = try #require(try normalized(s, json))
                #expect(try normalized(once, json) == once, "\(s.debugDescription) with \(json)")
            }
        }
    }

    @Test func rejectsNegativeMaxBlankLines() {
        #expect(configurationError(NormalizeWhitespace.self, #"{"max_blank_lines": -1}"#)?.contains("must not be negative") == true)
    }

    @Test func everyOptionIsRead() {
        expectEveryOptionIsRead(NormalizeWhitespace.self, required: "")
        #expect(NormalizeWhitespace.type == "normalize_whitespace")
    }
}
