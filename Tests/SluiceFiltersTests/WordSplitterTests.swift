import SluiceCore
import SluiceFilters
import Testing

@Suite struct WordSplitterTests {
    let english = WordSplitter()
    let noSpace = WordSplitter(mode: .noSpaceCharacters)

    @Test("English rules: contractions, abbreviations, punctuation, URLs and numbers as spaCy splits them")
    func englishRules() {
        #expect(english.words("I don't know, e.g. U.S. 5km 3.14 http://example.com/foo. www.Example.com me@x.org")
            == ["I", "do", "n't", "know", ",", "e.g.", "U.S.", "5", "km", "3.14", "http://example.com/foo", ".", "www.Example.com", "me@x.org"])
        #expect(english.words("hello.World foo,bar 10-20 a-b a--b ...hi wait…… dots...")
            == ["hello", ".", "World", "foo", ",", "bar", "10", "-", "20", "a", "-", "b", "a", "--", "b", "...", "hi", "wait", "……", "dots", "..."])
        #expect(english.words("(etc.) 'tis (Mr. Smith) \"quoted\"") == ["(", "etc", ".", ")", "'", "tis", "(", "Mr.", "Smith", ")", "\"", "quoted", "\""])
        #expect(english.words("word:) ''''foobar''''") == ["word", ":)", "''", "'", "'", "foobar", "''", "'", "'"])
        #expect(english.words("  \n\t ") == [])
        #expect(english.words("") == [])
    }

    @Test("Chinese and Japanese: each Han character is a word, a kana run is one word, other runs stay whole")
    func noSpaceScripts() {
        #expect(noSpace.words("我们在Linux系统上工作。") == ["我", "们", "在", "Linux", "系", "统", "上", "工", "作", "。"])
        #expect(noSpace.words("日本語のテキストです、OK!") == ["日", "本", "語", "の", "テキスト", "です", "、", "OK", "!"])
        // English rules keep a run of Han characters as one token, as spaCy's English tokenizer does
        #expect(english.words("我们在Linux系统上工作。") == ["我们在Linux系统上工作", "。"])
    }

    @Test("Thai: a letter keeps the vowel and tone marks that follow it")
    func thai() {
        #expect(noSpace.words("สวัสดี") == ["ส", "วั", "ส", "ดี"])
    }

    @Test("word counts on bytes agree with the string API")
    func countWords() {
        let text = "The U.S. economy grew 3.5% in 2023, didn't it?"
        let scratch = WordScratch()
        let n = text.withUTF8Bytes { english.countWords($0, scratch: scratch) }
        #expect(n == english.words(text).count)
        #expect(n == 13)
    }
}

@Suite struct LanguageScopeTests {
    @Test("untagged text mostly in Han or kana is treated as Chinese or Japanese, not English")
    func scriptSniffing() throws {
        let gopher = try stage(GopherQuality.self)
        let japanese = String(repeating: "これは日本語の文章です。", count: 30)
        let chinese = String(repeating: "这是一个中文句子，内容很普通。", count: 30)
        let mixed = "The manual page for ls (列出目录内容) describes options. " + String(repeating: "It lists files and folders in a directory. ", count: 10)
        let result = try runTagged(gopher, [(japanese, nil), (chinese, nil), (mixed, nil)])
        #expect(result.keptIDs == ["d0", "d1"])
        #expect(result.stats.counters["skipped_language"] == 2)
    }
}

@Suite struct HeuristicBenchmarkTests {
    @Test("the benchmark runs the four filters alone and chained, with consistent counts")
    func benchmark() throws {
        let documents = (0..<30).map { Document(id: "d\($0)", text: englishText(words: 80 + $0 * 10, seed: UInt64($0))) }
        let result = try benchmarkHeuristicFilters(documents: documents, batchSize: 7, repetitions: 1)
        #expect(result.each.map(\.name) == ["gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"])
        #expect(result.each.allSatisfy { $0.received == 30 && $0.kept <= 30 })
        for k in 1..<4 { #expect(result.chain[k].received == result.chain[k - 1].kept) }
        #expect(result.bytes == documents.reduce(0) { $0 + $1.text.utf8.count })
        #expect(result.description.contains("together"))
    }
}
