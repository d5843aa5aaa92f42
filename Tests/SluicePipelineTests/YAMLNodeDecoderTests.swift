import SluiceCore
import SluicePipeline
import Testing

/// Decodes `T` from `yaml` (read as `t.yaml`) with a plain decoder.
private func decodeYAML<T: Decodable>(
    _ type: T.Type, _ yaml: String, decoder: YAMLNodeDecoder = YAMLNodeDecoder(context: "the value")
) throws -> T {
    let node = try #require(try YAMLNode.parse(yaml, source: "t.yaml"))
    return try decoder.decode(T.self, from: node)
}

/// The message decoding fails with, or nil.
private func decodeError<T: Decodable>(_ type: T.Type, _ yaml: String, decoder: YAMLNodeDecoder = YAMLNodeDecoder(context: "the value"))
    -> String?
{
    do {
        _ = try decodeYAML(T.self, yaml, decoder: decoder)
        return nil
    } catch {
        return "\(error)"
    }
}

private struct Scalars: Decodable {
    var flag: Bool
    var count: Int
    var small: UInt8?
    var ratio: Double
    var name: String
    var nothing: String?
}

@Test func scalarsResolveByTheYAML12CoreSchema() throws {
    let s = try decodeYAML(Scalars.self, "flag: true\ncount: 1_000\nsmall: 0x10\nratio: .5\nname: 2024\nnothing: ~")
    #expect(s.flag)
    #expect(s.count == 1000)
    #expect(s.small == 16)
    #expect(s.ratio == 0.5)
    #expect(s.name == "2024")
    #expect(s.nothing == nil)
    // An integral float is an integer; an integer is a number.
    let t = try decodeYAML(Scalars.self, "flag: false\ncount: 1e6\nratio: 3\nname: x")
    #expect(t.count == 1_000_000)
    #expect(t.ratio == 3)
}

@Test func yesAndNoAreTextAndTheErrorSaysSo() {
    #expect(
        decodeError(Scalars.self, "flag: yes\ncount: 1\nratio: 1\nname: x")
            == "t.yaml:1:7: 'flag' must be true or false, got string \"yes\" (write true or false; yes/no/on/off are text in YAML 1.2)"
    )
}

@Test func integersOutOfRangeAndFractionsAreRejected() {
    #expect(
        decodeError(Scalars.self, "flag: true\ncount: 1\nsmall: 300\nratio: 1\nname: x")
            == "t.yaml:3:8: 'small' must be an integer from 0 to 255, got integer 300")
    #expect(
        decodeError(Scalars.self, "flag: true\ncount: 2.5\nratio: 1\nname: x")
            == "t.yaml:2:8: 'count' must be an integer, got number 2.5")
    #expect(
        decodeError(Scalars.self, "flag: true\ncount: 1\nratio: fast\nname: x")
            == "t.yaml:3:8: 'ratio' must be a number, got string \"fast\"")
    #expect(
        decodeError(Scalars.self, "flag: true\ncount: 1\nratio: 1\nname: ~")
            == "t.yaml:4:7: 'name' must be a string, got null")
    #expect(
        decodeError(Scalars.self, "flag: true\ncount: {a: 1}\nratio: 1\nname: x")
            == "t.yaml:2:8: 'count' must be an integer, got a mapping")
}

private struct CamelCase: Decodable {
    var maxShardBytes: Int
    var baseURL: String?
}

@Test func swiftStyleCodingKeysAreReadInSnakeCase() throws {
    let c = try decodeYAML(CamelCase.self, "max_shard_bytes: 3\nbase_url: http://h/v1")
    #expect(c.maxShardBytes == 3)
    #expect(c.baseURL == "http://h/v1")
    let camel = decodeError(CamelCase.self, "maxShardBytes: 3")
    #expect(camel?.hasPrefix("t.yaml:1:1: unknown key 'maxShardBytes' in the value; allowed: ") == true)
    #expect(camel?.hasSuffix("; did you mean 'max_shard_bytes'?") == true)
    #expect(yamlKeyName("minWords") == "min_words")
    #expect(yamlKeyName("baseURL") == "base_url")
    #expect(yamlKeyName("urlPath") == "url_path")
    #expect(yamlKeyName("already_snake") == "already_snake")
}

private struct Collections: Decodable {
    var weights: [String: Double]
    var lists: [[Int]]
    var maybe: [String]?
}

@Test func dictionariesListsAndOptionalsDecode() throws {
    let c = try decodeYAML(Collections.self, "weights: {a: 1, b: 0.5}\nlists: [[1, 2], []]\nmaybe: null")
    #expect(c.weights == ["a": 1, "b": 0.5])
    #expect(c.lists == [[1, 2], []])
    #expect(c.maybe == nil)
    #expect(
        decodeError(Collections.self, "weights: {a: x}\nlists: []")
            == "t.yaml:1:14: 'weights.a' must be a number, got string \"x\"")
    #expect(
        decodeError(Collections.self, "weights: {}\nlists: [[1, two]]")
            == "t.yaml:2:13: 'lists[0][1]' must be an integer, got string \"two\"")
    #expect(
        decodeError(Collections.self, "weights: {}\nlists: 3")
            == "t.yaml:2:8: 'lists' must be a list, got integer 3")
}

private struct Outer: Decodable {
    struct Inner: Decodable {
        var a: Int
        var b: Int?
    }
    var inner: Inner
    var items: [Inner]
}

@Test func unknownKeysInNestedMappingsAndListItemsAreFound() {
    #expect(
        decodeError(Outer.self, "inner: {a: 1, c: 2}\nitems: []")
            == "t.yaml:1:15: unknown key 'c' in 'inner' of the value; allowed: a, b")
    #expect(
        decodeError(Outer.self, "inner: {a: 1}\nitems:\n  - a: 1\n  - a: 2\n    bb: 3")
            == "t.yaml:5:5: unknown key 'bb' in 'items[1]' of the value; allowed: a, b")
    #expect(
        decodeError(Outer.self, "inner: {b: 1}\nitems: []")
            == "t.yaml:1:8: missing required key 'a' in 'inner' of the value; add `a: …`")
}

@Test func theFirstUnknownKeyInFileOrderIsReported() {
    #expect(
        decodeError(Outer.self, "zz: 1\ninner: {a: 1, yy: 2}\nitems: []")?.hasPrefix("t.yaml:1:1: unknown key 'zz' in the value")
            == true)
}

private struct Located: Decodable {
    var size: ByteSize
    var checked: Checked
    struct Checked: Decodable {
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            let v = try c.decode(Int.self)
            if v < 0 { throw StageConfigurationError("must not be negative, got \(v)") }
        }
    }
}

@Test func errorsFromATypesOwnInitializerGetThatValuesLocation() {
    #expect(
        decodeError(Located.self, "size: 1MB\nchecked: -4")
            == "t.yaml:2:10: 'checked' must not be negative, got -4")
    #expect(
        decodeError(Located.self, "size: lots\nchecked: 1")
            == "t.yaml:1:7: 'size': 'lots' is not a size; write bytes or a number with a unit such as 256MB, 1GiB or 64k")
}

private struct AllKeysReader: Decodable {
    var keys: [String]
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
    init(from decoder: any Decoder) throws {
        keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
    }
}

@Test func readingAllKeysCountsEveryKeyAsUsed() throws {
    #expect(try decodeYAML(AllKeysReader.self, "b: 1\na: 2\nsomeKey: 3").keys == ["b", "a", "someKey"])
}

@Test func excludedKeysAreHiddenAndListedAsAllowed() throws {
    let d = YAMLNodeDecoder(context: "stage 't'", excludedKeys: ["type", "id"], options: [StageOption("a", "int", help: "A.")])
    #expect(try decodeYAML(Outer.Inner.self, "type: t\nid: x\na: 1", decoder: d).a == 1)
    #expect(
        decodeError(Outer.Inner.self, "type: t\na: 1\nc: 1", decoder: d)
            == "t.yaml:3:1: unknown key 'c' in stage 't'; allowed: a, b, id, type")
    #expect(
        decodeError(Outer.Inner.self, "type: t", decoder: d)
            == "t.yaml:1:1: missing required key 'a' in stage 't' (int: A.); add `a: …`")
}

@Test func jsonValuesAndRawNodesDecodeFromAnyYAML() throws {
    struct Holder: Decodable {
        var value: JSONValue
        var raw: YAMLNode
    }
    let h = try decodeYAML(Holder.self, "value: {b: [1, x, 'true'], a: -0.0}\nraw: {anything: [goes, here]}")
    #expect(
        h.value
            == .object(["b": .array([.int(1), .string("x"), .string("true")]), "a": .number(JSONNumber(uncheckedLiteral: "-0.0"))]))
    #expect(h.raw["anything"]?.sequence?.items.count == 2)
    #expect(
        decodeError(Holder.self, "value: .inf\nraw: 1")
            == "t.yaml:1:8: 'value': JSON has no value for .inf; write a finite number or a string")
}

@Test func explicitTagsAndQuotesKeepScalarsAsText() throws {
    struct Texts: Decodable {
        var a: JSONValue
        var b: JSONValue
        var c: JSONValue
        var d: Int
    }
    let t = try decodeYAML(Texts.self, "a: !!str 10\nb: \"null\"\nc: |\n  12\nd: !!int \"7\"")
    #expect(t.a == .string("10"))
    #expect(t.b == .string("null"))
    #expect(t.c == .string("12\n"))
    #expect(t.d == 7)
}
