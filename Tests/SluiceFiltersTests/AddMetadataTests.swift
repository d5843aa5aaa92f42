import SluiceCore
import SluiceFilters
import Testing

@Suite struct AddMetadataTests {
    @Test func setsNestedPathsCreatingObjects() throws {
        let stage = try makeStage(
            AddMetadata.self, #"{"fields": {"dataset": "cc", "provenance.pipeline": "sluice", "provenance.version": 2}}"#)
        let result = try run(stage, [Document(id: "a", text: "x", metadata: ["language": .string("en")])])
        let m = try #require(result.kept.first?.metadata)
        #expect(m["language"] == JSONValue.string("en"))
        #expect(m["dataset"] == JSONValue.string("cc"))
        #expect(m.value(atPath: "provenance.pipeline") == JSONValue.string("sluice"))
        #expect(m.value(atPath: "provenance.version") == JSONValue.int(2))
        #expect(result.drops.isEmpty)
    }

    @Test func nestedPathsKeepSiblings() throws {
        let stage = try makeStage(AddMetadata.self, #"{"fields": {"metadata.quality.source": "v2"}}"#)
        let doc = Document(id: "a", text: "x", metadata: ["quality": .object(["fasttext": .double(0.7)])])
        let m = try #require(try run(stage, [doc]).kept.first?.metadata)
        #expect(m.value(atPath: "quality.fasttext") == JSONValue.double(0.7))
        #expect(m.value(atPath: "quality.source") == JSONValue.string("v2"))
    }

    @Test func overwritesByDefault() throws {
        let stage = try makeStage(AddMetadata.self, #"{"fields": {"language": "xx", "quality.score": 1}}"#)
        let doc = Document(id: "a", text: "x", metadata: ["language": .string("en"), "quality": .double(0.3)])
        let m = try #require(try run(stage, [doc]).kept.first?.metadata)
        #expect(m["language"] == JSONValue.string("xx"))
        #expect(m.value(atPath: "quality.score") == JSONValue.int(1))
    }

    @Test func overwriteFalseLeavesExistingValues() throws {
        let stage = try makeStage(
            AddMetadata.self,
            #"{"fields": {"language": "xx", "quality.score": 1, "tags.new": true, "empty": "filled"}, "overwrite": false}"#)
        let doc = Document(
            id: "a", text: "x",
            metadata: ["language": .string("en"), "quality": .double(0.3), "tags": .object(["old": .bool(false)]), "empty": .null])
        let m = try #require(try run(stage, [doc]).kept.first?.metadata)
        #expect(m["language"] == JSONValue.string("en"))
        #expect(m["quality"] == JSONValue.double(0.3))
        #expect(m.value(atPath: "tags.old") == JSONValue.bool(false))
        #expect(m.value(atPath: "tags.new") == JSONValue.bool(true))
        #expect(m["empty"] == JSONValue.string("filled"))
    }

    @Test func acceptsAnyJSONValue() throws {
        let stage = try makeStage(
            AddMetadata.self, #"{"fields": {"list": [1, "two", null, {"three": 3.5}], "obj": {"a": {"b": false}}, "nothing": null}}"#)
        let m = try #require(try run(stage, docs("x")).kept.first?.metadata)
        #expect(m["list"] == JSONValue.array([.int(1), .string("two"), .null, .object(["three": .double(3.5)])]))
        #expect(m.value(atPath: "obj.a.b") == JSONValue.bool(false))
        #expect(m["nothing"] == JSONValue.null)
    }

    @Test func largeIntegersKeepTheirLiteral() throws {
        let stage = try makeStage(AddMetadata.self, #"{"fields": {"big": 9007199254740993}}"#)
        let m = try #require(try run(stage, docs("x")).kept.first?.metadata)
        #expect(m["big"] == JSONValue.number(JSONNumber(uncheckedLiteral: "9007199254740993")))
    }

    @Test func rejectsBadFields() {
        #expect(configurationError(AddMetadata.self, "{}")?.contains("needs fields") == true)
        #expect(configurationError(AddMetadata.self, #"{"fields": [1]}"#)?.contains("must be a mapping") == true)
        #expect(configurationError(AddMetadata.self, #"{"fields": {}}"#)?.contains("at least one") == true)
        #expect(configurationError(AddMetadata.self, #"{"fields": {"a.": 1}}"#)?.contains("not a metadata path") == true)
    }

    @Test func everyOptionIsRead() {
        expectEveryOptionIsRead(AddMetadata.self, required: #""fields": {"a": 1}"#, skipping: ["fields"])
        #expect(AddMetadata.type == "add_metadata")
        #expect(AddMetadata.dropReasons.isEmpty)
    }
}
