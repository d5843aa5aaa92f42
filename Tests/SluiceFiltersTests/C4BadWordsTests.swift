import SluiceCore
import SluiceFilters
import SluiceTestSupport
import Testing

@Suite struct C4BadWordsTests {
    /// Word lists in a temporary folder (invented words, so the tests need no real list).
    func lists() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory("badwords")
        try writeFile(dir.file("en"), "zorblat\nfrobnitz gadget\n\nsm\n")
        try writeFile(dir.file("zh.txt"), "坏词\n性\n")
        try writeFile(dir.file("de"), "quatschwort\n")
        return dir
    }

    @Test("words match between non-word characters in spaced languages, any case")
    func wordBoundaries() throws {
        let dir = try lists()
        let s = try stage(C4BadWords.self, #""word_list_dir": "\#(dir.path)""#)
        #expect(s.containsBadWord("This ZORBLAT is bad.", language: "en") == true)
        #expect(s.containsBadWord("zorblat", language: "en") == true)
        #expect(s.containsBadWord("(zorblat)", language: "en") == true)
        #expect(s.containsBadWord("zorblatish and unzorblat", language: "en") == false)
        #expect(s.containsBadWord("a Frobnitz Gadget here", language: "en") == true)
        #expect(s.containsBadWord("frobnitz_gadget", language: "en") == false)
        #expect(s.containsBadWord("sm all", language: "en") == false, "datatrove's allowlist applies to every list")
        #expect(s.containsBadWord("Das QUATSCHWORT.", language: "de_Latn") == true)
        #expect(s.containsBadWord("anything", language: "fr") == nil)
    }

    @Test("Chinese, Japanese and Thai match anywhere, minus the allowlist")
    func noSpaceLanguages() throws {
        let dir = try lists()
        let s = try stage(C4BadWords.self, #""word_list_dir": "\#(dir.path)""#)
        #expect(s.containsBadWord("这是一个坏词的例子", language: "zh") == true)
        #expect(s.containsBadWord("性能很好", language: "zh") == false)
        let custom = try stage(C4BadWords.self, #""word_lists": {"zh": "\#(dir.path)/zh.txt"}, "allow": []"#)
        #expect(custom.containsBadWord("性能很好", language: "zh") == true)
    }

    @Test("the stage drops with datatrove's reason, counts per language, and handles missing lists")
    func stageBehaviour() throws {
        let dir = try lists()
        let s = try stage(C4BadWords.self, #""word_list_dir": "\#(dir.path)", "fail_on_missing_language": false"#)
        let result = try runTagged(s, [("clean text", "en"), ("a zorblat", "en"), ("a zorblat", nil), ("坏词", "zh"), ("zorblat", "fr")])
        #expect(result.keptIDs == ["d0", "d4"])
        #expect(result.drops == ["document_removed_with_badwords": 3])
        #expect(result.stats.counters["documents_with_badwords_en"] == 2)
        #expect(result.stats.counters["missing_word_list"] == 1)
        let strict = try stage(C4BadWords.self, #""word_list_dir": "\#(dir.path)""#)
        #expect(throws: StageConfigurationError.self) { try runTagged(strict, [("zorblat", "fr")]) }
    }

    @Test("keep_fraction keeps the same documents on every run")
    func keepFraction() throws {
        let dir = try lists()
        let s = try stage(C4BadWords.self, #""word_list_dir": "\#(dir.path)", "keep_fraction": 0.5, "seed": 7"#)
        let texts = (0..<200).map { ("zorblat \($0)", Optional("en")) }
        let first = try runTagged(s, texts), second = try runTagged(s, texts)
        #expect(first.keptIDs == second.keptIDs)
        #expect(first.kept.count > 60 && first.kept.count < 140)
        #expect(first.stats.counters["kept_with_badwords"] == first.kept.count)
    }

    @Test("configuration errors name the problem")
    func badConfiguration() throws {
        #expect(configurationError(C4BadWords.self, "{}")?.contains("needs word lists") == true)
        #expect(configurationError(C4BadWords.self, #"{"word_lists": {"en": "/nonexistent/en"}}"#)?.contains("does not exist") == true)
        #expect(configurationError(C4BadWords.self, #"{"word_list_dir": "/nonexistent"}"#)?.contains("not a readable folder") == true)
        let dir = try lists()
        #expect(configurationError(C4BadWords.self, #"{"word_list_dir": "\#(dir.path)", "keep_fraction": 2}"#) != nil)
        expectEveryOptionIsRead(C4BadWords.self, required: #""word_list_dir": "\#(dir.path)""#, skipping: ["word_list_dir"])
    }
}
