import SluiceCore
import SluiceFilters
import Testing

@Suite struct GopherRepetitionTests {
    func verdict(_ text: String, _ json: String = "") throws -> String? {
        reason(try stage(GopherRepetition.self, json).verdict(for: text))
    }

    @Test("varied prose passes; an empty text is dropped as empty")
    func basics() throws {
        #expect(try verdict(englishText(words: 300)) == nil)
        #expect(try verdict("") == "empty")
    }

    @Test("repeated paragraphs and lines drop with datatrove's reasons, paragraphs first")
    func paragraphsAndLines() throws {
        let para = "The quick brown fox jumps over the lazy dog near the river bank."
        let paragraphs = (0..<6).map { $0 % 2 == 0 ? para : "Paragraph number \($0) says something new entirely here." }
        #expect(try verdict(paragraphs.joined(separator: "\n\n")) == "dup_para_frac")
        let lines = (0..<10).map { $0 < 5 ? "This exact same line appears again and again." : "Line \($0) differs in its own way from all the others." }
        #expect(try verdict(lines.joined(separator: "\n")) == "dup_line_frac")
        #expect(try verdict(lines.joined(separator: "\n"), #""dup_line_frac": null"#) == "dup_line_char_frac")
    }

    @Test("a leading and a trailing newline make two empty lines, one repeating the other")
    func emptyLines() throws {
        // datatrove splits on \n+ without stripping: ["", "a", ""]; 1 of 3 repeats
        #expect(try verdict("\nHello there my friend\n", #""top_n_grams": null, "dup_n_grams": null"#) == "dup_line_frac")
    }

    @Test("the most frequent n-gram counts its length times its count, earliest first among ties")
    func topNGrams() throws {
        // "hello world" is 100% of a two-word text: datatrove drops it as top_2_gram
        #expect(try verdict("hello world") == "top_2_gram")
        let repeated = englishText(words: 200) + " " + Array(repeating: "machine learning", count: 40).joined(separator: " ")
        #expect(try verdict(repeated, #""dup_line_frac": null, "dup_line_char_frac": null"#) == "top_2_gram")
        #expect(try verdict(repeated, #""top_n_grams": {"2": null, "3": 0.18}, "dup_line_frac": null, "dup_line_char_frac": null"#) == "top_3_gram")
    }

    @Test("repeated n-grams are counted on concatenated characters, skipping n words after a repeat")
    func duplicateNGrams() throws {
        // datatrove 0.10.1 gives duplicated_5_n_grams, and duplicated_10_n_grams with only {10: 0.1}
        let base = "The committee met on Tuesday to discuss the budget for next year and agreed on most points. "
            + "Several members raised questions about travel costs, which had grown faster than expected. "
            + "After a long debate the chair proposed a review by an outside firm. "
        let block = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu"
        let text = base + block + " The review will report in the autumn. " + block + " " + block
        #expect(try verdict(text, #""top_n_grams": null"#) == "duplicated_5_n_grams")
        #expect(try verdict(text, #""top_n_grams": null, "dup_n_grams": {"10": 0.1}"#) == "duplicated_10_n_grams")
        #expect(try verdict(text, #""top_n_grams": null, "dup_n_grams": null"#) == nil)
    }

    @Test("Chinese is counted per character and passes by default when it does not repeat")
    func chinese() throws {
        let s = try stage(GopherRepetition.self)
        let text = "清晨的湖面上飘着一层薄雾，远处的山峦若隐若现。渔夫划着小船慢慢靠岸，船头堆满了刚捕到的鲜鱼。"
            + "岸边的集市渐渐热闹起来，卖菜的老人摆好摊位，孩子们背着书包跑过石桥。茶馆里传出说书人的声音，"
            + "讲的是三国时期的故事。中午时分，阳光穿过树叶洒在青石板路上，街角的面馆飘出阵阵香气。"
            + "下午下了一场小雨，屋檐滴水，行人撑起各色的伞。傍晚雨停，天边出现一道彩虹，村民们纷纷出门观看。"
        let repeated = String(repeating: "这是一个重复的句子。", count: 12)
        let result = try runTagged(s, [(text, "zh"), (repeated, "zh")])
        #expect(result.keptIDs == ["d0"])
        #expect(result.drops.keys.first?.name.hasPrefix("dup_") == true || result.drops.keys.first?.name.hasPrefix("top_") == true)
    }

    @Test("n-gram options reject sizes that are not whole numbers")
    func badConfiguration() {
        #expect(configurationError(GopherRepetition.self, #"{"top_n_grams": {"two": 0.2}}"#)?.contains("n-gram size") == true)
        #expect(configurationError(GopherRepetition.self, #"{"dup_line_frac": -1}"#) != nil)
        expectEveryOptionIsRead(GopherRepetition.self, required: "")
    }
}
