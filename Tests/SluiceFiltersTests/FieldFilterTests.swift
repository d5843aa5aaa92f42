import SluiceCore
import SluiceFilters
import Testing

@Suite struct FieldFilterTests {
    let documents: [Document] = [
        Document(id: "en", text: "a", metadata: ["language": .string("en"), "quality": .object(["fasttext": .double(0.9), "tier": .int(1)])]),
        Document(id: "de", text: "b", metadata: ["language": .string("de"), "quality": .object(["fasttext": .double(0.5), "tier": .int(2)])]),
        Document(id: "fr", text: "c", metadata: ["language": .string("fr"), "quality": .object(["fasttext": .double(0.1)]), "nsfw": .bool(true)]),
        Document(id: "none", text: "d", metadata: ["language": .null, "quality": .string("unscored")]),
    ]

    func keptIDs(_ json: String) throws -> [String] {
        try run(makeStage(FieldFilter.self, json), documents).keptIDs
    }

    func drops(_ json: String) throws -> [DropReason: Int] {
        try run(makeStage(FieldFilter.self, json), documents).drops
    }

    @Test func equalsKeepsMatchesAndDropsMismatches() throws {
        #expect(try keptIDs(#"{"field": "language", "equals": "en"}"#) == ["en"])
        #expect(try drops(#"{"field": "language", "equals": "en"}"#) == ["field_mismatch": 2, "field_missing": 1])
    }

    @Test func metadataPrefixIsOptional() throws {
        #expect(try keptIDs(#"{"field": "metadata.language", "equals": "de"}"#) == ["de"])
    }

    @Test func nestedPathsDescendIntoObjects() throws {
        #expect(try keptIDs(#"{"field": "quality.fasttext", "gte": 0.5}"#) == ["en", "de"])
        // "quality" is a string in the last document, so quality.fasttext is missing there.
        #expect(try drops(#"{"field": "quality.fasttext", "gte": 0.5}"#) == ["field_mismatch": 1, "field_missing": 1])
    }

    @Test func numbersCompareNumerically() throws {
        #expect(try keptIDs(#"{"field": "quality.tier", "equals": 1.0}"#) == ["en"])
        #expect(try keptIDs(#"{"field": "quality.fasttext", "in": [0.50, 0.1]}"#) == ["de", "fr"])
        #expect(try keptIDs(#"{"field": "quality.fasttext", "gt": 0.5}"#) == ["en"])
        #expect(try keptIDs(#"{"field": "quality.fasttext", "lt": 0.5}"#) == ["fr"])
        #expect(try keptIDs(#"{"field": "quality.fasttext", "lte": 0.5}"#) == ["de", "fr"])
    }

    @Test func stringsNeverEqualNumbers() throws {
        #expect(try keptIDs(#"{"field": "quality.tier", "equals": "1"}"#) == [])
        #expect(try keptIDs(#"{"field": "language", "gt": 0}"#) == [])
    }

    @Test func notEqualsAndNotInMatchOtherValues() throws {
        #expect(try keptIDs(#"{"field": "language", "not_equals": "en"}"#) == ["de", "fr"])
        #expect(try keptIDs(#"{"field": "language", "not_in": ["en", "de"]}"#) == ["fr"])
        #expect(try keptIDs(#"{"field": "language", "in": ["en", "de", 3, true]}"#) == ["en", "de"])
    }

    @Test func existsTestsPresenceAndTreatsNullAsAbsent() throws {
        #expect(try keptIDs(#"{"field": "nsfw", "exists": true}"#) == ["fr"])
        #expect(try keptIDs(#"{"field": "language", "exists": false}"#) == ["none"])
        #expect(try keptIDs(#"{"field": "language", "exists": false, "missing": "drop"}"#) == ["none"])
    }

    @Test func booleansCompare() throws {
        #expect(try keptIDs(#"{"field": "nsfw", "equals": true, "action": "drop", "missing": "keep"}"#) == ["en", "de", "none"])
    }

    @Test func dropActionDropsMatches() throws {
        let result = try run(makeStage(FieldFilter.self, #"{"field": "language", "in": ["en", "fr"], "action": "drop"}"#), documents)
        #expect(result.keptIDs == ["de"])
        #expect(result.drops == ["field_match": 2, "field_missing": 1])
    }

    @Test func missingKeepKeepsDocumentsWithoutTheField() throws {
        #expect(try keptIDs(#"{"field": "quality.tier", "gte": 2, "missing": "keep"}"#) == ["de", "fr", "none"])
        #expect(try drops(#"{"field": "quality.tier", "gte": 2}"#) == ["field_mismatch": 1, "field_missing": 2])
    }

    @Test func requiresExactlyOneComparison() {
        #expect(configurationError(FieldFilter.self, #"{"field": "language"}"#)?.contains("needs one comparison") == true)
        #expect(configurationError(FieldFilter.self, #"{"field": "x", "gte": 1, "lt": 2}"#)?.contains("exactly one comparison, got gte, lt") == true)
    }

    @Test func rejectsBadOptions() {
        #expect(configurationError(FieldFilter.self, #"{"equals": "en"}"#)?.contains("needs field") == true)
        #expect(configurationError(FieldFilter.self, #"{"field": "a..b", "equals": 1}"#)?.contains("not a metadata path") == true)
        #expect(configurationError(FieldFilter.self, #"{"field": "a", "equals": [1, 2]}"#)?.contains("use in or not_in") == true)
        #expect(configurationError(FieldFilter.self, #"{"field": "a", "equals": null}"#)?.contains("use exists") == true)
        #expect(configurationError(FieldFilter.self, #"{"field": "a", "in": []}"#)?.contains("at least one value") == true)
        #expect(configurationError(FieldFilter.self, #"{"field": "a", "in": [{"x": 1}]}"#)?.contains("not a mapping") == true)
        #expect(configurationError(FieldFilter.self, #"{"field": "a", "equals": 1, "action": "maybe"}"#)?.contains("use one of keep, drop") == true)
        #expect(configurationError(FieldFilter.self, #"{"field": "a", "equals": 1, "missing": "ignore"}"#)?.contains("use one of drop, keep") == true)
    }

    @Test func everyOptionIsRead() {
        expectEveryOptionIsRead(FieldFilter.self, required: #""field": "a""#, skipping: ["equals", "not_equals", "field"])
        #expect(throws: (any Error).self) { _ = try decodeConfiguration(FieldFilter.self, #"{"field": {"x": 1}}"#) }
        #expect(FieldFilter.type == "field_filter")
    }
}
