import Foundation
import SluiceCore
import Testing

@testable import SluiceIO

// MARK: Helpers

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

private func parseLine(_ line: [UInt8], mapping: DocumentFieldMapping = DocumentFieldMapping()) -> LineParseResult {
    var parser = DocumentLineParser(mapping: mapping)
    return parser.parse(line)
}

private func parseLine(_ line: String, mapping: DocumentFieldMapping = DocumentFieldMapping()) -> LineParseResult {
    parseLine(bytes(line), mapping: mapping)
}

private func document(_ line: String, mapping: DocumentFieldMapping = DocumentFieldMapping()) -> Document? {
    parseLine(line, mapping: mapping).document
}

private func reason(_ result: LineParseResult) -> DropReason? {
    if case .invalid(let r, _) = result { return r }
    return nil
}

private func sameDocument(_ a: Document, _ b: Document) -> Bool {
    a.id == b.id && a.text == b.text && a.source == b.source && a.added == b.added && a.created == b.created
        && a.metadata == b.metadata && a.extraFields == b.extraFields
}

/// The text Foundation's JSONSerialization decodes for the JSON string literal `literal`.
private func foundationDecode(_ literal: String) throws -> String {
    let data = Data("[\(literal)]".utf8)
    let array = try JSONSerialization.jsonObject(with: data) as! [Any]
    return array[0] as! String
}

private func textOfLine(withLiteral literal: String) -> String? {
    document("{\"text\":\(literal)}")?.text
}

/// A small deterministic PRNG (SplitMix64) so the fuzz tests are reproducible.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: Escapes

@Test func escapesDecodeExactlyLikeFoundation() throws {
    let literals = [
        #""plain ascii""#,
        #""quote \" backslash \\ slash \/ and raw / too""#,
        #""\b\f\n\r\t""#,
        #""\u0041\u00e9\u00E9\u4e2d\uFFFF\u007f""#,
        #""\ud83d\ude00 grinning, \uD834\uDD1E clef""#,
        #""\u0000 nul and \u001f unit separator""#,
        #""héllo wörld 中文 🎉 raw""#,
        #""""#,
        #""\\u0041 is not an escape""#,
        #""mixed \n\u00e9é\"\t🎉\ud83c\udf89""#,
    ]
    for literal in literals {
        let expected = try foundationDecode(literal)
        let text = try #require(textOfLine(withLiteral: literal), "\(literal)")
        #expect(text == expected, "\(literal)")
        #expect(Array(text.utf8) == Array(expected.utf8), "\(literal)")
    }
}

@Test func loneAndMismatchedSurrogateEscapesBecomeOneReplacementEach() {
    let cases: [(String, String, Int)] = [
        (#""\ud800""#, "\u{FFFD}", 1),
        (#""\udc00""#, "\u{FFFD}", 1),
        (#""a\ud800b""#, "a\u{FFFD}b", 1),
        (#""\ud800\u0041""#, "\u{FFFD}A", 1),
        (#""\ud800\ud800\udc00""#, "\u{FFFD}\u{10000}", 1),
        (#""\udc00\ud800""#, "\u{FFFD}\u{FFFD}", 2),
        (#""\udbff\udfff""#, "\u{10FFFF}", 0),
        (#""\ud800\n""#, "\u{FFFD}\n", 1),
    ]
    for (literal, expected, count) in cases {
        var parser = DocumentLineParser()
        let doc = parser.parse(bytes("{\"text\":\(literal)}")).document
        #expect(doc?.text == expected, "\(literal)")
        #expect(parser.invalidUTF8Replacements == count, "\(literal)")
    }
}

@Test func invalidEscapesAreInvalidJSON() {
    for literal in [#""\x""#, #""\u12""#, #""\u12G4""#, #""\'""#, #""abc\"#, #""\U0041""#] {
        #expect(reason(parseLine("{\"text\":\(literal)}")) == .invalidJSON, "\(literal)")
    }
}

@Test func escaperWritesShortFormsLowercaseHexAndRawEverythingElse() {
    var all = ""
    for v in 0..<0x80 { all.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
    all += "é中🎉/"
    var out: [UInt8] = []
    appendJSONString(all, to: &out)
    let expected =
        #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
        + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#
        + ##" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"##
        + "\u{7F}é中🎉/\""
    #expect(String(decoding: out, as: UTF8.self) == expected)
}

@Test func escapedStringsReadBackThroughFoundation() throws {
    var rng = SplitMix64(seed: 7)
    for _ in 0..<200 {
        let s = randomText(&rng, maxLength: 40, forFoundation: true)
        var out: [UInt8] = []
        appendJSONString(s, to: &out)
        #expect(try foundationDecode(String(decoding: out, as: UTF8.self)) == s)
        #expect(try parseJSONValue(out) == .string(s))
    }
}

// MARK: UTF-8

@Test func invalidUTF8IsReplacedPerMaximalSubpartLikeSwift() {
    let cases: [[UInt8]] = [
        [0xFF],
        [0x80],
        [0xC0, 0xAF],  // overlong '/'
        [0xE0, 0x80, 0xAF],  // overlong
        [0xED, 0xA0, 0x80],  // UTF-8-encoded surrogate
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0xF5, 0x80],
        [0xE2, 0x82],  // truncated €
        [0xF0, 0x9F, 0x98],  // truncated 😀
        [0x61, 0xF0, 0x9F, 0x98, 0x62, 0xE2, 0x82, 0xAC],
        [0xC3],
        [0xE2, 0x82, 0xC3, 0xA9],
    ]
    for invalid in cases {
        let line = bytes("{\"text\":\"x") + invalid + bytes("y\"}")
        var parser = DocumentLineParser()
        let doc = parser.parse(line).document
        let expected = String(decoding: [0x78] + invalid + [0x79], as: UTF8.self)
        let expectedCount = expected.unicodeScalars.filter { $0 == "\u{FFFD}" }.count
        #expect(doc?.text == expected, "\(invalid)")
        #expect(parser.invalidUTF8Replacements == expectedCount, "\(invalid)")
        #expect(expectedCount > 0)
    }
}

@Test func randomByteStringsDecodeLikeSwiftAndCountTheirReplacements() {
    var rng = SplitMix64(seed: 42)
    let pieces: [[UInt8]] = [
        [0x61], [0x20], [0xC3, 0xA9], [0xE4, 0xB8, 0xAD], [0xF0, 0x9F, 0x8E, 0x89], [0x80], [0xBF], [0xC0], [0xC2],
        [0xE0], [0xE0, 0xA0], [0xED], [0xED, 0x9F], [0xED, 0xA0], [0xEF, 0xBF, 0xBD], [0xF0], [0xF0, 0x90],
        [0xF4, 0x8F], [0xF4, 0x90], [0xF8], [0xFF], [0x5C, 0x6E], [0x5C, 0x22],
    ]
    var parser = DocumentLineParser()
    var total = 0
    for _ in 0..<2000 {
        var raw: [UInt8] = []
        for _ in 0..<Int.random(in: 0...12, using: &rng) { raw += pieces.randomElement(using: &rng)! }
        // What the escapes decode to, then Swift's own repair of the result.
        var unescaped: [UInt8] = []
        var i = 0
        while i < raw.count {
            if raw[i] == 0x5C {
                unescaped.append(raw[i + 1] == 0x6E ? 0x0A : raw[i + 1])
                i += 2
            } else {
                unescaped.append(raw[i])
                i += 1
            }
        }
        let expected = String(decoding: unescaped, as: UTF8.self)
        let before = parser.invalidUTF8Replacements
        let doc = parser.parse(bytes("{\"text\":\"") + raw + bytes("\"}")).document
        #expect(doc?.text == expected, "\(raw)")
        let inserted = expected.unicodeScalars.filter { $0 == "\u{FFFD}" }.count
        let present = countReplacementCharacters(in: raw)
        #expect(parser.invalidUTF8Replacements - before == inserted - present, "\(raw)")
        total += inserted - present
    }
    #expect(parser.invalidUTF8Replacements == total)
    #expect(total > 100)
}

private func countReplacementCharacters(in raw: [UInt8]) -> Int {
    var n = 0
    var i = 0
    while i + 2 < raw.count {
        if raw[i] == 0xEF && raw[i + 1] == 0xBF && raw[i + 2] == 0xBD {
            n += 1
            i += 3
        } else {
            i += 1
        }
    }
    return n
}

@Test func invalidUTF8InsideAnExtraFieldIsReencodedWithReplacements() throws {
    var parser = DocumentLineParser()
    let line = bytes(#"{"text":"ok","url":"a"#) + [0xFF] + bytes(#"b","n":[1, "\u00e9"]}"#)
    let doc = try #require(parser.parse(line).document)
    #expect(parser.invalidUTF8Replacements == 1)
    #expect(doc.extraFields == [
        RawField(key: "url", rawValue: bytes("\"a\u{FFFD}b\"")),
        RawField(key: "n", rawValue: bytes(#"[1, "\u00e9"]"#)),
    ])
}

@Test func replacementCountsAccumulateOverLines() {
    var parser = DocumentLineParser()
    _ = parser.parse(bytes("{\"text\":\"") + [0xFF] + bytes("\"}"))
    _ = parser.parse(bytes("{\"text\":\"fine\"}"))
    _ = parser.parse(bytes("{\"text\":\"") + [0xFF, 0xFE] + bytes("\",\"metadata\":{\"k\":\"") + [0x80] + bytes("\"}}"))
    #expect(parser.invalidUTF8Replacements == 4)
}

// MARK: Fields and mapping

@Test func knownFieldsAreReadAndUnknownFieldsKeptRawInOrder() throws {
    let line = #"{"url": "http://x.org/a\/b" ,"id":"doc-1","text":"hello","n":  [1, 2.50, -0e+3, {"a" : null}],"source":"cc","added":"2024-01-01","created":"2023-05-06T00:00:00Z","metadata":{"lang":"en","score":0.5,"tags":["a","b"]},"flag":true}"#
    let doc = try #require(document(line))
    #expect(doc.id == "doc-1")
    #expect(doc.text == "hello")
    #expect(doc.source == "cc")
    #expect(doc.added == "2024-01-01")
    #expect(doc.created == "2023-05-06T00:00:00Z")
    #expect(doc.metadata == ["lang": .string("en"), "score": .number(JSONNumber(uncheckedLiteral: "0.5")), "tags": .array([.string("a"), .string("b")])])
    #expect(doc.extraFields == [
        RawField(key: "url", rawValue: bytes(#""http://x.org/a\/b""#)),
        RawField(key: "n", rawValue: bytes(#"[1, 2.50, -0e+3, {"a" : null}]"#)),
        RawField(key: "flag", rawValue: bytes("true")),
    ])
}

@Test func unknownFieldsSurviveReencodingByteForByte() throws {
    let extras = [
        #""url":"http://x.org/a\/b?q=\u00e9""#,
        #""weird":  [ 1 , 2.50E-007 , -0.0, {"k" : "\ud800"} ] "#,
        #""nested":{"deep":{"deeper":[[[]]]}}"#,
        #""s":"tab\there""#,
    ]
    let line = "{\"text\":\"t\"," + extras.joined(separator: ",") + "}"
    let doc = try #require(document(line))
    let encoded = String(decoding: encodeJSONLine(doc), as: UTF8.self)
    #expect(
        encoded
            == #"{"id":"","text":"t","source":"","metadata":{},"url":"http://x.org/a\/b?q=\u00e9","weird":[ 1 , 2.50E-007 , -0.0, {"k" : "\ud800"} ],"nested":{"deep":{"deeper":[[[]]]}},"s":"tab\there"}"#
            + "\n")
    let again = try #require(parseLine(Array(encoded.utf8)).document)
    #expect(again.extraFields == doc.extraFields)
}

@Test func canonicalLinesReencodeIdentically() throws {
    let lines = [
        #"{"id":"a","text":"hello\nworld","source":"cc","metadata":{}}"#,
        #"{"id":"b-2","text":"é \"q\" \\ / \u0000\u001f\t","source":"wiki","added":"2024-01-01T00:00:00Z","created":"2020","metadata":{"lang":"en","quality":{"fasttext":0.93,"tags":[1,-2.5e10,true,false,null]}},"url":"https://e.org","extra":{"a" : 1}}"#,
        #"{"id":"","text":"","source":"","metadata":{"":""}}"#,
        #"{"id":"x","text":"🎉","source":"s","created":"c","metadata":{},"added":5}"#,
    ]
    for line in lines {
        let doc = try #require(document(line), "\(line)")
        #expect(String(decoding: encodeJSONLine(doc), as: UTF8.self) == line + "\n")
    }
}

@Test func textKeyAndIdKeyMappingRenameFields() throws {
    let mapping = DocumentFieldMapping(textKey: "content", idKey: "doc_id", defaultSource: "books")
    let line = #"{"doc_id":"d7","id":"other","content":"the body","text":"old text","meta":1}"#
    let doc = try #require(document(line, mapping: mapping))
    #expect(doc.id == "d7")
    #expect(doc.text == "the body")
    #expect(doc.source == "books")
    #expect(doc.extraFields == [
        RawField(key: "id", rawValue: bytes(#""other""#)),
        RawField(key: "text", rawValue: bytes(#""old text""#)),
        RawField(key: "meta", rawValue: bytes("1")),
    ])
    // The encoder never writes a key twice: extra fields named like canonical keys are left out.
    #expect(
        String(decoding: encodeJSONLine(doc), as: UTF8.self)
            == #"{"id":"d7","text":"the body","source":"books","metadata":{},"meta":1}"# + "\n")
    #expect(reason(parseLine(#"{"text":"only text"}"#, mapping: mapping)) == .missingText)
}

@Test func escapedKeysMatchKnownFields() throws {
    let doc = try #require(document(#"{"te\u0078t":"body","\u0069d":"k","sour\u0063e":"s"}"#))
    #expect(doc.text == "body")
    #expect(doc.id == "k")
    #expect(doc.source == "s")
    #expect(doc.extraFields.isEmpty)
}

@Test func numericIdsKeepTheirLiteralText() throws {
    #expect(document(#"{"id":12345678901234567890123,"text":"t"}"#)?.id == "12345678901234567890123")
    #expect(document(#"{"id":-1.50e+2,"text":"t"}"#)?.id == "-1.50e+2")
    #expect(document(#"{"id":0,"text":"t"}"#)?.id == "0")
    #expect(document(#"{"id":null,"text":"t"}"#)?.id == "")
    #expect(reason(parseLine(#"{"id":01,"text":"t"}"#)) == .invalidJSON)
}

@Test func missingIdAndSourceGetDefaults() throws {
    let doc = try #require(document(#"{"text":"t"}"#, mapping: DocumentFieldMapping(defaultSource: "fallback")))
    #expect(doc.id == "")
    #expect(doc.source == "fallback")
    #expect(doc.added == nil && doc.created == nil)
    #expect(doc.metadata.isEmpty && doc.extraFields.isEmpty)
    let nulls = try #require(document(#"{"text":"t","source":null,"added":null,"created":null,"metadata":null}"#, mapping: DocumentFieldMapping(defaultSource: "d")))
    #expect(nulls.source == "d" && nulls.added == nil && nulls.created == nil && nulls.metadata.isEmpty)
    #expect(nulls.extraFields.isEmpty)
}

@Test func nonStringAddedAndCreatedAreKeptAsExtraFields() throws {
    let doc = try #require(document(#"{"text":"t","added":1700000000,"created":{"y":2020}}"#))
    #expect(doc.added == nil && doc.created == nil)
    #expect(doc.extraFields == [
        RawField(key: "added", rawValue: bytes("1700000000")),
        RawField(key: "created", rawValue: bytes(#"{"y":2020}"#)),
    ])
    #expect(
        String(decoding: encodeJSONLine(doc), as: UTF8.self)
            == #"{"id":"","text":"t","source":"","metadata":{},"added":1700000000,"created":{"y":2020}}"# + "\n")
}

@Test func repeatedKnownKeysKeepTheLastValue() throws {
    let doc = try #require(document(#"{"text":"first","text":"second","id":"a","id":"b"}"#))
    #expect(doc.text == "second" && doc.id == "b")
    #expect(reason(parseLine(#"{"text":"first","text":7}"#)) == .invalidText)
    #expect(document(#"{"text":7,"text":"fixed"}"#)?.text == "fixed")
}

// MARK: Invalid lines

@Test func invalidLinesAreDroppedWithTheirReason() {
    let cases: [(String, DropReason)] = [
        ("", .emptyLine),
        ("   \t\r", .emptyLine),
        ("\n", .emptyLine),
        ("[1,2]", .invalidJSON),
        ("\"text\"", .invalidJSON),
        ("42", .invalidJSON),
        ("null", .invalidJSON),
        ("{", .invalidJSON),
        (#"{"text":"t""#, .invalidJSON),
        (#"{"text":"t",}"#, .invalidJSON),
        (#"{"text" "t"}"#, .invalidJSON),
        (#"{text:"t"}"#, .invalidJSON),
        (#"{'text':'t'}"#, .invalidJSON),
        (#"{"text":"t"} x"#, .invalidJSON),
        (#"{"text":"t"}{"text":"u"}"#, .invalidJSON),
        (#"{"text":"unterminated}"#, .invalidJSON),
        ("{\"text\":\"tab\there\"}", .invalidJSON),
        ("{\"text\":\"new\nline\"}", .invalidJSON),
        (#"{"text":"t","n":NaN}"#, .invalidJSON),
        (#"{"text":"t","n":1.}"#, .invalidJSON),
        (#"{"text":"t","n":.5}"#, .invalidJSON),
        (#"{"text":"t","n":+1}"#, .invalidJSON),
        (#"{"text":"t","n":1e}"#, .invalidJSON),
        (#"{"text":"t","n":-}"#, .invalidJSON),
        (#"{"text":"t","n":tru}"#, .invalidJSON),
        (#"{"text":"t","n":[1,]}"#, .invalidJSON),
        (#"{"text":"t","metadata":[1]}"#, .invalidJSON),
        (#"{"text":"t","metadata":"x"}"#, .invalidJSON),
        (#"{"text":"t","source":5}"#, .invalidJSON),
        (#"{"text":"t","id":true}"#, .invalidJSON),
        (#"{"text":"t","id":{"a":1}}"#, .invalidJSON),
        (#"{"text":5}"#, .invalidText),
        (#"{"text":null}"#, .invalidText),
        (#"{"text":["a"]}"#, .invalidText),
        (#"{"text":{"a":"b"}}"#, .invalidText),
        (#"{}"#, .missingText),
        (#"{"id":"a","body":"t"}"#, .missingText),
        // Syntax errors win over a text problem found earlier on the line.
        (#"{"text":5,"x":}"#, .invalidJSON),
    ]
    for (line, expected) in cases {
        #expect(reason(parseLine(line)) == expected, "\(line.debugDescription)")
    }
}

@Test func invalidLineMessagesNameTheByteColumn() {
    guard case .invalid(_, let message) = parseLine(#"{"text":"t" "id":"a"}"#) else {
        Issue.record("expected an invalid line")
        return
    }
    #expect(message == "expected ',' or '}' in an object, found '\"' at column 13")
    guard case .invalid(.invalidText, let textMessage) = parseLine(#"{"id":"a","text":42}"#) else {
        Issue.record("expected invalid_text")
        return
    }
    #expect(textMessage == "field 'text' must be a string, found a number at column 18")
}

@Test func surroundingWhitespaceAndTrailingNewlineAreAccepted() {
    #expect(document(" \t{\"text\":\"t\"} \t\r")?.text == "t")
    #expect(document("{\"text\":\"t\"}\n")?.text == "t")
    #expect(document("{ \"text\" : \"t\" , \"id\" : 3 }")?.id == "3")
}

@Test func escapedNULSurvivesButARawNULByteIsInvalid() throws {
    let doc = try #require(document(#"{"id":"z","text":"a\u0000b","source":"s","metadata":{"k":"\u0000"}}"#))
    #expect(Array(doc.text.utf8) == [0x61, 0x00, 0x62])
    #expect(doc.metadata["k"] == .string("\u{0}"))
    let encoded = encodeJSONLine(doc)
    #expect(String(decoding: encoded, as: UTF8.self) == #"{"id":"z","text":"a\u0000b","source":"s","metadata":{"k":"\u0000"}}"# + "\n")
    #expect(try #require(parseLine(encoded).document).text == doc.text)

    #expect(reason(parseLine(bytes(#"{"text":"a"#) + [0x00] + bytes(#"b"}"#))) == .invalidJSON)
    #expect(reason(parseLine(bytes(#"{"text":"t","x":"a"#) + [0x00] + bytes(#""}"#))) == .invalidJSON)
    #expect(reason(parseLine(bytes(#"{"text":"t"}"#) + [0x00])) == .invalidJSON)
}

// MARK: Nesting

private func nested(_ depth: Int) -> String {
    String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
}

@Test func nestingIsLimitedTo512LevelsIncludingTheLineObject() {
    // The line's object is level 1, so a field value may nest 511 more levels.
    #expect(document("{\"text\":\"t\",\"x\":\(nested(511))}") != nil)
    #expect(reason(parseLine("{\"text\":\"t\",\"x\":\(nested(512))}")) == .invalidJSON)
    let deepObject = String(repeating: "{\"a\":", count: 511) + "1" + String(repeating: "}", count: 511)
    #expect(document("{\"text\":\"t\",\"metadata\":\(deepObject)}") != nil)
    let tooDeepObject = String(repeating: "{\"a\":", count: 512) + "1" + String(repeating: "}", count: 512)
    #expect(reason(parseLine("{\"text\":\"t\",\"metadata\":\(tooDeepObject)}")) == .invalidJSON)
    #expect(reason(parseLine("{\"text\":\"t\",\"x\":\(nested(100_000))}")) == .invalidJSON)
    #expect(reason(parseLine("{\"text\":\"t\",\"metadata\":{\"a\":\(nested(100_000))}}")) == .invalidJSON)

    #expect(throws: JSONSyntaxError.self) { try parseJSONValue(bytes(nested(513))) }
    #expect((try? parseJSONValue(bytes(nested(512)))) != nil)
}

// MARK: parseJSONValue

@Test func parseJSONValueReadsAnyValueStrictly() throws {
    #expect(try parseJSONValue(bytes(" null ")) == .null)
    #expect(try parseJSONValue(bytes("true")) == .bool(true))
    #expect(try parseJSONValue(bytes("-0.5e-3")) == .number(JSONNumber(uncheckedLiteral: "-0.5e-3")))
    #expect(try parseJSONValue(bytes(#""\u00e9""#)) == .string("é"))
    #expect(
        try parseJSONValue(bytes(#"{"b":[1,{"c":null}],"a":"x","b":2}"#))
            == .object(
                JSONObject(entries: [
                    .init(key: "b", value: .array([.int(1), .object(["c": .null])])),
                    .init(key: "a", value: .string("x")),
                    .init(key: "b", value: .int(2)),
                ])))
    for valid in ["0", "-0", "1.5", "1e5", "1E+5", "1e-05", "123456789012345678901234567890", "[]", "{}", "\"\""] {
        #expect((try? parseJSONValue(bytes(valid))) != nil, "\(valid)")
    }
    for invalid in ["", " ", "01", "-01", "1.", ".1", "1e", "1e+", "+1", "- 1", "0x10", "Infinity", "[1] [2]", "nul", "{\"a\"}", "[", "\"\\u00\""] {
        #expect(throws: JSONSyntaxError.self, "\(invalid)") { try parseJSONValue(bytes(invalid)) }
    }
    #expect(throws: JSONSyntaxError("unexpected bytes after the JSON value", offset: 5)) {
        try parseJSONValue(bytes("true x"))
    }
}

@Test func encodedValuesMatchFoundationsReading() throws {
    let value: JSONValue = .object([
        "s": .string("a\"b\\c/\u{1}\u{7F}é🎉"), "n": .double(0.1), "i": .int(-42), "b": .bool(false), "z": .null,
        "a": .array([.object([:]), .array([])]),
    ])
    let encoded = encodeJSON(value)
    #expect(String(decoding: encoded, as: UTF8.self) == #"{"s":"a\"b\\c/\u0001"# + "\u{7F}é🎉" + #"","n":0.1,"i":-42,"b":false,"z":null,"a":[{},[]]}"#)
    let object = try JSONSerialization.jsonObject(with: Data(encoded)) as! [String: Any]
    #expect(object["s"] as? String == "a\"b\\c/\u{1}\u{7F}é🎉")
    #expect(try parseJSONValue(encoded) == value)
}

// MARK: Fuzz-ish round trip

/// Random text over an alphabet heavy in characters that need escaping. `forFoundation` leaves
/// out U+FEFF, which swift-corelibs-foundation's JSONSerialization drops from strings.
private func randomText(_ rng: inout SplitMix64, maxLength: Int, forFoundation: Bool = false) -> String {
    var alphabet: [Unicode.Scalar] = [
        "a", "b", "z", "A", " ", "0", "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{8}", "\u{C}",
        "\u{1F}", "\u{7F}", "é", "ß", "中", "文", "€", "\u{FFFD}", "\u{FEFF}", "\u{2028}", "🎉", "😀", "\u{10FFFF}",
    ]
    if forFoundation { alphabet.removeAll { $0 == "\u{FEFF}" } }
    var s = String.UnicodeScalarView()
    for _ in 0..<Int.random(in: 0...maxLength, using: &rng) { s.append(alphabet.randomElement(using: &rng)!) }
    return String(s)
}

private func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
    switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
    case 0: return .null
    case 1: return .bool(Bool.random(using: &rng))
    case 2: return .int(Int.random(in: -1_000_000...1_000_000, using: &rng))
    case 3: return .double(Double.random(in: -1e6...1e6, using: &rng))
    case 4: return .string(randomText(&rng, maxLength: 12))
    case 5:
        return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
    default: return .object(randomObject(&rng, depth: depth + 1))
    }
}

private func randomObject(_ rng: inout SplitMix64, depth: Int) -> JSONObject {
    var o = JSONObject()
    for _ in 0..<Int.random(in: 0...4, using: &rng) {
        o.append(key: randomText(&rng, maxLength: 6), value: randomValue(&rng, depth: depth))
    }
    return o
}

private func randomDocument(_ rng: inout SplitMix64, forFoundation f: Bool = false) -> Document {
    let reserved: Set<String> = ["id", "text", "source", "added", "created", "metadata"]
    var extras: [RawField] = []
    for i in 0..<Int.random(in: 0...3, using: &rng) {
        var key = randomText(&rng, maxLength: 5)
        if reserved.contains(key) { key += "\(i)" }
        extras.append(RawField(key: key, rawValue: encodeJSON(randomValue(&rng, depth: 1))))
    }
    return Document(
        id: randomText(&rng, maxLength: 10, forFoundation: f),
        text: randomText(&rng, maxLength: 300, forFoundation: f),
        source: randomText(&rng, maxLength: 8, forFoundation: f),
        added: Bool.random(using: &rng) ? randomText(&rng, maxLength: 20, forFoundation: f) : nil,
        created: Bool.random(using: &rng) ? randomText(&rng, maxLength: 20, forFoundation: f) : nil,
        metadata: randomObject(&rng, depth: 1),
        extraFields: extras)
}

@Test func randomDocumentsSurviveEncodeParseEncode() throws {
    var rng = SplitMix64(seed: 0x51_1CE)
    var parser = DocumentLineParser()
    var batch: [UInt8] = []
    for i in 0..<3000 {
        let doc = randomDocument(&rng)
        batch.removeAll(keepingCapacity: true)
        appendJSONLine(doc, to: &batch)
        #expect(batch.last == 0x0A)
        #expect(batch.dropLast().contains(0x0A) == false)
        guard case .document(let back) = parser.parse(batch) else {
            Issue.record("document \(i) did not parse: \(String(decoding: batch, as: UTF8.self))")
            continue
        }
        #expect(sameDocument(back, doc), "document \(i)")
        #expect(encodeJSONLine(back) == batch, "document \(i)")
    }
    #expect(parser.invalidUTF8Replacements == 0)
}

@Test func encodedLinesAreReadableByFoundation() throws {
    var rng = SplitMix64(seed: 99)
    for _ in 0..<300 {
        let doc = randomDocument(&rng, forFoundation: true)
        let line = encodeJSONLine(doc)
        let object = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
        #expect(object["text"] as? String == doc.text)
        #expect(object["id"] as? String == doc.id)
        #expect(object["source"] as? String == doc.source)
        #expect(object["added"] as? String == doc.added)
        #expect(object["metadata"] is [String: Any])
    }
}

@Test func truncatedAndMutatedLinesNeverCrash() {
    var rng = SplitMix64(seed: 5)
    var parser = DocumentLineParser()
    var outcomes = 0
    for _ in 0..<500 {
        let line = encodeJSONLine(randomDocument(&rng))
        var mutated = Array(line.prefix(Int.random(in: 0...line.count, using: &rng)))
        for _ in 0..<Int.random(in: 0...3, using: &rng) where !mutated.isEmpty {
            mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
        switch parser.parse(mutated) {
        case .document, .invalid: outcomes += 1
        }
    }
    #expect(outcomes == 500)
}

@Test func copiesOfAParserDoNotShareScratchSpace() throws {
    var a = DocumentLineParser()
    _ = a.parse(bytes(#"{"text":"warm \n up"}"#))
    var b = a
    let first = try #require(a.parse(bytes(#"{"text":"from a\n"}"#)).document)
    let second = try #require(b.parse(bytes(#"{"text":"from b\t"}"#)).document)
    #expect(first.text == "from a\n")
    #expect(second.text == "from b\t")
}
