import SluiceCore
import SluiceFilters
import SluiceTestSupport
import Testing

/// Varied English-like text of `words` words: sentences of 8 to 15 words drawn at random (a fixed
/// seed) from a few hundred common words, stop words included, one sentence per line.
func englishText(words: Int, seed: UInt64 = 1) -> String {
    var rng = SplitMix64(seed: seed)
    var out: [String] = []
    var line: [String] = []
    var target = 8 + Int(rng.next() % 8)
    for _ in 0..<words {
        line.append(commonWords[Int(rng.next() % UInt64(commonWords.count))])
        if line.count == target {
            out.append(line.joined(separator: " ").capitalizedFirst + ".")
            line = []
            target = 8 + Int(rng.next() % 8)
        }
    }
    if !line.isEmpty { out.append(line.joined(separator: " ").capitalizedFirst + ".") }
    return out.joined(separator: "\n")
}

let commonWords: [String] = """
    the the the of of and and to to be be that have with a in is it for on as was at by this from or an not are but
    which all were when we there can been one would will more if no out so said what up its about into than them only
    other new some could time these two may then do first any my now such like our over man me even most made after
    also did many before must through back years where much your way well down should because each just those people
    how too little state good very make world still own see men work long get here between both life being under never
    day same another know while last might us great old year off come since against go came right used take three
    river mountain forest garden window kitchen library village harbour morning evening winter summer letter journey
    careful quiet bright ancient gentle narrow distant silver wooden simple heavy patient curious honest steady
    travellers remembered walking building reading writing listening painting gathering crossing
    """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

@Suite struct GopherQualityTests {
    func verdict(_ text: String, _ json: String = "") throws -> String? {
        reason(try stage(GopherQuality.self, json).verdict(for: text))
    }

    @Test("plain English prose passes every rule")
    func prosePasses() throws {
        #expect(try verdict(englishText(words: 120)) == nil)
    }

    @Test("each rule drops with datatrove's reason")
    func everyReason() throws {
        #expect(try verdict("The cat and the dog.") == "gopher_short_doc")
        #expect(try verdict(englishText(words: 120), #""max_doc_words": 100"#) == "gopher_long_doc")
        let shortWords = Array(repeating: "a an of to be the and", count: 12).joined(separator: " ")
        #expect(try verdict(shortWords) == "gopher_below_avg_threshold")
        let longWords = Array(repeating: "internationalization the and extraordinarily", count: 20).joined(separator: " ")
        #expect(try verdict(longWords) == "gopher_above_avg_threshold")
        #expect(try verdict(englishText(words: 100) + String(repeating: " #", count: 20)) == "gopher_too_many_hashes")
        #expect(try verdict(englishText(words: 100) + String(repeating: " wait...", count: 15)) == "gopher_too_many_ellipsis")
        let bullets = (0..<20).map { "- item \($0) of the list and the rest with words" }.joined(separator: "\n")
        #expect(try verdict(bullets) == "gopher_too_many_bullets")
        let ellipses = (0..<20).map { _ in "the river of quiet mountains and bright forests that..." }.joined(separator: "\n")
        #expect(try verdict(ellipses, #""max_symbol_word_ratio": 0.5"#) == "gopher_too_many_end_ellipsis")
        let numbers = englishText(words: 60) + " " + (0..<80).map { "\($0 * 37)" }.joined(separator: " ")
        #expect(try verdict(numbers) == "gopher_below_alpha_threshold")
        let noStopWords = Array(repeating: "river mountain forest travel quiet bright", count: 12).joined(separator: " ")
        #expect(try verdict(noStopWords) == "gopher_enough_stop_words")
    }

    @Test("thresholds are settable, and null or 0 turns a check off as in datatrove")
    func thresholds() throws {
        let text = "The cat and the dog sat with the bird."
        #expect(try verdict(text, #""min_doc_words": 5"#) == nil)
        #expect(try verdict(text, #""min_doc_words": null"#) == nil)
        #expect(try verdict(text, #""min_doc_words": 0"#) == nil)
        let noStopWords = Array(repeating: "river mountain forest travel quiet bright", count: 12).joined(separator: " ")
        #expect(try verdict(noStopWords, #""stop_words": ["river", "forest"]"#) == nil)
        #expect(try verdict(noStopWords, #""min_stop_words": null"#) == nil)
    }

    @Test("stop words match exactly: 'The' is not 'the'")
    func stopWordsAreCaseSensitive() throws {
        let text = Array(repeating: "The river And mountains With forests", count: 10).joined(separator: " ")
        #expect(try verdict(text) == "gopher_enough_stop_words")
    }

    @Test("symbol-only words do not count as words but count in the hash ratio")
    func symbolWords() throws {
        // 50 real words plus punctuation tokens: still 50 non-symbol words.
        let text = englishText(words: 50) + " ... !!! ---"
        #expect(try verdict(text) == nil)
        #expect(try verdict(englishText(words: 49)) == "gopher_short_doc")
    }

    @Test("documents of other languages pass untouched by default and are counted")
    func languageScope() throws {
        let s = try stage(GopherQuality.self)
        let chinese = String(repeating: "我们今天去公园散步，天气很好。", count: 20)
        let result = try runTagged(s, [(chinese, "zh"), ("The cat.", "en"), ("The cat.", nil), (chinese, nil)])
        #expect(result.keptIDs == ["d0", "d3"])
        #expect(result.drops == ["gopher_short_doc": 2])
        #expect(result.stats.counters["skipped_language"] == 2)
    }

    @Test("languages: null filters everything; a list matches language subtags")
    func languageOptions() throws {
        let all = try stage(GopherQuality.self, #""languages": null"#)
        let chinese = String(repeating: "我们今天去公园散步，天气很好。", count: 20)
        #expect(try runTagged(all, [(chinese, "zh")]).keptIDs.isEmpty)
        let english = try stage(GopherQuality.self, #""languages": ["en"]"#)
        #expect(try runTagged(english, [("The cat.", "en_Latn"), ("The cat.", "EN-us"), ("The cat.", "eng"), ("The cat.", "de")]).keptIDs == ["d3"])
        let german = try stage(GopherQuality.self, #""default_language": "de""#)
        #expect(try runTagged(german, [("The cat.", nil)]).keptIDs == ["d0"])
    }

    @Test("bad configurations are refused with a clear message")
    func badConfiguration() {
        #expect(configurationError(GopherQuality.self, #"{"min_doc_words": 200, "max_doc_words": 100}"#)?.contains("greater than") == true)
        #expect(configurationError(GopherQuality.self, #"{"min_stop_words": 9}"#)?.contains("distinct stop_words") == true)
        #expect(configurationError(GopherQuality.self, #"{"max_non_alpha_words_ratio": 1.5}"#) != nil)
        #expect(configurationError(GopherQuality.self, #"{"languages": []}"#)?.contains("empty") == true)
        expectEveryOptionIsRead(GopherQuality.self, required: "")
    }
}
