import SluiceCore
import SluiceFilters
import Testing

@Suite struct C4QualityTests {
    func apply(_ text: String, _ json: String = "") throws -> C4Quality.TextOutcome {
        try stage(C4Quality.self, json).apply(to: text)
    }

    let good = [
        "The river runs quietly past the old mill.",
        "Children play in the fields until the evening bells ring.",
        "Nobody remembers who planted the first apple trees here.",
        "Every autumn the harvest fills the barns with sweet fruit.",
        "Visitors often stay longer than they planned to stay.",
    ]

    @Test("good lines are kept as they are; bad lines are removed and the text is rewritten")
    func lineRules() throws {
        #expect(try apply(good.joined(separator: "\n")) == .keep(good.joined(separator: "\n")))
        var lines = good
        lines.insert("Menu", at: 1)  // too few words and no terminal punctuation
        lines.insert("Please enable JavaScript to view this page.", at: 2)
        lines.insert("Read our privacy policy for details.", at: 3)
        lines.insert("This line has no final punctuation mark", at: 4)
        lines.insert("Wait for it...", at: 5)
        lines.insert("   The line of spaces is stripped [1] and the citation [edit] is cut.   ", at: 6)
        let expected = good[0] + "\n" + "The line of spaces is stripped  and the citation  is cut." + "\n" + good[1...].joined(separator: "\n")
        #expect(try apply(lines.joined(separator: "\n")) == .keep(expected))
    }

    @Test("lorem ipsum and curly brackets drop the whole document; too few sentences too")
    func documentRules() throws {
        #expect(try apply((good + ["Lorem Ipsum dolor sit amet, consectetur."]).joined(separator: "\n")) == .drop("lorem_ipsum"))
        #expect(try apply((good + ["Use the function f() { return 1; } here."]).joined(separator: "\n")) == .drop("curly_bracket"))
        #expect(try apply(good.prefix(4).joined(separator: "\n")) == .drop("too_few_sentences"))
        // a curly bracket on a removed line does not count
        #expect(try apply((good + ["{ javascript: true } is removed first."]).joined(separator: "\n")) == .keep(good.joined(separator: "\n")))
    }

    @Test("sentences are counted with spaCy's sentencizer rule, so one line can hold several")
    func sentenceCounting() throws {
        let text = "The first sentence ends here. The second one follows it! Is this the third? Yes, and a fourth. A fifth ends it."
        #expect(try apply(text) == .keep(text))
        // abbreviations are not sentence ends: e.g. and Mr. are single tokens
        #expect(try apply("Compare e.g. the notes of Mr. Smith about the river bank today.\nIt works.") == .drop("too_few_sentences"))
    }

    @Test("FineWeb's setting keeps lines without terminal punctuation")
    func fineWebSetting() throws {
        let lines = good + ["A heading without any final mark"]
        #expect(try apply(lines.joined(separator: "\n"), #""filter_no_terminal_punct": false"#) == .keep(lines.joined(separator: "\n")))
    }

    @Test("the Kelvin sign lowers to k, as Python's str.lower() does")
    func kelvinSign() throws {
        let text = (good + ["This site uses coo\u{212A}ies to work well."]).joined(separator: "\n")
        #expect(try apply(text) == .keep(good.joined(separator: "\n")))
    }

    @Test("every switch and bound is settable; -1 turns numeric rules off")
    func options() throws {
        let short = "One. Two. Three."
        #expect(try apply(short) == .drop("too_few_sentences"))
        #expect(try apply(short, #""min_num_sentences": -1, "min_words_per_line": -1"#) == .keep(short))
        #expect(try apply((good + ["Lorem ipsum is fine here."]).joined(separator: "\n"), #""filter_lorem_ipsum": false"#)
            == .keep((good + ["Lorem ipsum is fine here."]).joined(separator: "\n")))
        let long = good + ["This line has a " + String(repeating: "x", count: 30) + " word."]
        #expect(try apply(long.joined(separator: "\n"), #""max_word_length": 20"#) == .keep(good.joined(separator: "\n")))
        #expect(configurationError(C4Quality.self, #"{"min_num_sentences": -2}"#) != nil)
        expectEveryOptionIsRead(C4Quality.self, required: "")
    }

    @Test("split_paragraph false works on sentences joined by spaces")
    func sentenceMode() throws {
        let text = "First sentence here. Second sentence here.\nThird sentence here. Fourth one. Fifth one."
        #expect(try apply(text, #""split_paragraph": false, "min_words_per_line": 2"#)
            == .keep("First sentence here. Second sentence here. Third sentence here. Fourth one. Fifth one."))
    }

    @Test("the stage rewrites kept documents and counts removed lines")
    func stageCounters() throws {
        let s = try stage(C4Quality.self)
        let result = try run(s, docs((good + ["Menu"]).joined(separator: "\n"), good.joined(separator: "\n"), "Short."))
        #expect(result.keptTexts == [good.joined(separator: "\n"), good.joined(separator: "\n")])
        #expect(result.drops == ["too_few_sentences": 1])
        #expect(result.stats.counters["documents_changed"] == 1)
        #expect(result.stats.counters["lines_removed"] == 2)
    }
}

@Suite struct C4ParagraphTests {
    @Test("three lines of at least 200 characters are needed")
    func rule() throws {
        let s = try stage(C4Paragraph.self)
        let long = String(repeating: "word ", count: 40)  // 200 characters
        let result = try run(s, docs([long, long, long].joined(separator: "\n"), [long, long, "short"].joined(separator: "\n"), long, ""))
        #expect(result.keptIDs == ["d0"])
        #expect(result.drops == ["too_few_paragraphs": 3])
        let two = try stage(C4Paragraph.self, #""min_paragraphs": 2, "min_paragraph_length": 5"#)
        #expect(try run(two, docs("hello\nworld")).keptIDs == ["d0"])
        // characters, not bytes: 199 two-byte letters are 199 characters
        let accented = String(repeating: "é", count: 199)
        #expect(try run(s, docs([accented, accented, accented].joined(separator: "\n"))).keptIDs.isEmpty)
        expectEveryOptionIsRead(C4Paragraph.self, required: "")
    }
}

@Suite struct FineWebQualityTests {
    func verdict(_ text: String, _ json: String = "") throws -> String? {
        reason(try stage(FineWebQuality.self, json).verdict(for: text))
    }

    @Test("each rule drops with datatrove's reason")
    func everyReason() throws {
        #expect(try verdict("") == "empty")
        #expect(try verdict(" \n\t\n") == "empty")
        let noPunct = (0..<10).map { "This line of text does not end in a stop mark number \($0)" }.joined(separator: "\n")
        #expect(try verdict(noPunct) == "line_punct_ratio")
        let short = (0..<10).map { "Short line \($0)." }.joined(separator: "\n")
        #expect(try verdict(short) == "short_line_ratio")
        let repeated = (0..<10).map { $0 < 3 ? "This exact line appears three times in the text." : "Line \($0) is different from every other line here." }
        #expect(try verdict(repeated.joined(separator: "\n")) == "char_dup_ratio")
        let list = (0..<10).map { "Item number \($0) in a list of very many items!" }.joined(separator: "\n\n\n\n")
        #expect(try verdict(list) == "list_ratio")
        #expect(try verdict(englishText(words: 200)) == nil)
    }

    @Test("terminal punctuation covers other scripts; stop_chars replaces the list")
    func stopCharacters() throws {
        let chinese = (0..<5).map { "这是第\($0)行，它的内容比较长一些，用来测试标点符号的判断是否正确。" }.joined(separator: "\n")
        let all = try stage(FineWebQuality.self, #""languages": null"#)
        #expect(all.verdict(for: chinese, splitter: WordSplitter(mode: .noSpaceCharacters)) == .keep)
        #expect(try runTagged(all, [(chinese, "zh")]).keptIDs == ["d0"])
        let text = (0..<10).map { "A line that ends with a tilde mark number \($0) ~" }.joined(separator: "\n")
        #expect(try verdict(text) == "line_punct_ratio")
        #expect(try verdict(text, #""stop_chars": ["~"]"#) == nil)
        #expect(try verdict(text, #""line_punct_exclude_zero": true"#) == nil)
        #expect(configurationError(FineWebQuality.self, #"{"stop_chars": [""]}"#) != nil)
        expectEveryOptionIsRead(FineWebQuality.self, required: "")
    }
}
