import SluiceCore
import SluiceFilters
import Testing

@Suite struct LengthFilterTests {
    func filter(_ json: String) throws -> LengthFilter { try makeStage(LengthFilter.self, json) }

    @Test func wordBoundsAreInclusive() throws {
        let stage = try filter(#"{"min_words": 3, "max_words": 4}"#)
        let result = try run(stage, docs("one two", "one two three", "one two three four", "one two three four five"))
        #expect(result.keptIDs == ["d1", "d2"])
        #expect(result.drops == ["too_few_words": 1, "too_many_words": 1])
    }

    @Test func characterBoundsCountScalarsNotBytes() throws {
        let stage = try filter(#"{"min_chars": 4, "max_chars": 4}"#)
        // "日本語!" is 4 characters in 10 bytes; "abc" 3; "abcde" 5.
        let result = try run(stage, docs("日本語!", "abc", "abcde", "😀😀😀😀"))
        #expect(result.keptIDs == ["d0", "d3"])
        #expect(result.drops == ["too_few_chars": 1, "too_many_chars": 1])
    }

    @Test func characterBoundsDecidedFromByteLengthStillExact() throws {
        // 4 bytes could be 1 to 4 characters; 400 bytes of 4-byte emoji are 100 characters.
        let stage = try filter(#"{"min_chars": 100, "max_chars": 100}"#)
        let emoji = String(repeating: "😀", count: 100)
        let result = try run(stage, docs(emoji, String(repeating: "a", count: 100), String(repeating: "a", count: 99), String(repeating: "é", count: 101)))
        #expect(result.keptIDs == ["d0", "d1"])
        #expect(result.drops == ["too_few_chars": 1, "too_many_chars": 1])
    }

    @Test func lineBoundsCountTheLastLineWithoutNewline() throws {
        let stage = try filter(#"{"min_lines": 2, "max_lines": 3}"#)
        let result = try run(stage, docs("one", "one\ntwo", "one\ntwo\n", "a\nb\nc", "a\nb\nc\nd", ""))
        #expect(result.keptIDs == ["d1", "d2", "d3"])
        #expect(result.drops == ["too_few_lines": 2, "too_many_lines": 1])
    }

    @Test func firstFailingBoundGivesTheReason() throws {
        let stage = try filter(#"{"min_chars": 10, "min_words": 5, "min_lines": 3}"#)
        let result = try run(stage, docs("short", "abcdefghij k", "a b c d e\nf g", "a b c d e\nf\ng"))
        #expect(result.keptIDs == ["d3"])
        #expect(result.drops == ["too_few_chars": 1, "too_few_words": 1, "too_few_lines": 1])
    }

    @Test func everyReasonCanOccur() throws {
        let stage = try filter(#"{"min_chars": 2, "max_chars": 30, "min_words": 2, "max_words": 5, "min_lines": 2, "max_lines": 3}"#)
        let result = try run(
            stage,
            docs("a", String(repeating: "x", count: 31), "ab\n", "a b c d e f\ng", "a b\nc", "a\nb\nc\nd", "a b\nc d\ne"))
        #expect(result.keptIDs == ["d4", "d6"])
        #expect(result.drops == ["too_few_chars": 1, "too_many_chars": 1, "too_few_words": 1, "too_many_words": 1, "too_many_lines": 1])
        #expect(Set(result.drops.keys).isSubset(of: Set(LengthFilter.dropReasons)))
    }

    @Test func cjkWordsAreWhitespaceDelimited() throws {
        let stage = try filter(#"{"min_words": 2}"#)
        let result = try run(stage, docs("我们今天去公园散步。", "日本\u{3000}語"))
        #expect(result.keptIDs == ["d1"])
    }

    @Test func rejectsInvalidBounds() {
        #expect(configurationError(LengthFilter.self, #"{"min_words": 10, "max_words": 5}"#)?.contains("min_words (10) is greater than max_words (5)") == true)
        #expect(configurationError(LengthFilter.self, #"{"min_chars": -1}"#)?.contains("must not be negative") == true)
        #expect(configurationError(LengthFilter.self, "{}")?.contains("at least one bound") == true)
        #expect(configurationError(LengthFilter.self, #"{"min_lines": 2, "max_lines": 2}"#) == nil)
    }

    @Test func everyOptionIsRead() {
        expectEveryOptionIsRead(LengthFilter.self, required: "")
        #expect(LengthFilter.type == "length_filter")
        #expect(LengthFilter.options.allSatisfy { !$0.help.isEmpty })
    }
}
