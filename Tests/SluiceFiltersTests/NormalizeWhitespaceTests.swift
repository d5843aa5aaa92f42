import SluiceCore
import SluiceFilters
import Testing

@Suite struct NormalizeWhitespaceTests {
    func normalized(_ text: String, _ json: String = "{}") throws -> String? {
        try run(makeStage(NormalizeWhitespace.self, json), docs(text)).kept.first?.text
    }

    @Test func convertsLineBreaksToNewline() throws {
        #expect(try normalized("a\r\nb\rc\nd") == "a\nb\nc\nd")
        #expect(try normalized("a\u{000C}b\u{000B}c\u{0085}d\u{2028}e") == "a\nb\nc\nd\ne")
        #expect(try normalized("a\u{2029}b") == "a\n\nb")
    }

    @Test func collapsesSpacesAndConvertsUnicodeSpaces() throws {
        #expect(try normalized("a  b\t\tc\u{00A0}d\u{3000}e \u{2003} f") == "a b c d e f")
    }

    @Test func stripsLinesAndLimitsBlankLines() throws {
        let text = "\n\n  Title  \n\n\n\n   First paragraph,\n  second line.  \n \t \n\nNext.\n\n"
        #expect(try normalized(text) == "Title\n\nFirst paragraph,\nsecond line.\n\nNext.")
    }

    @Test func maxBlankLinesZeroJoinsParagraphsWithOneBreak() throws {
        #expect(try normalized("a\n\n\nb\n\nc", #"{"max_blank_lines": 0}"#) == "a\nb\nc")
        #expect(try normalized("a\n\n\n\nb", #"{"max_blank_lines": 2}"#) == "a\n\n\nb")
    }

    @Test func optionsCanBeTurnedOff() throws {
        #expect(try normalized("  a \t b  \nc", #"{"strip_lines": false}"#) == " a b \nc")
        #expect(try normalized("  a   b  ", #"{"collapse_spaces": false}"#) == "a   b")
        #expect(try normalized(" a\t\tb\u{00A0}c ", #"{"unicode_spaces": false}"#) == "a\t\tb\u{00A0}c")
        #expect(try normalized("a \u{00A0} b", #"{"unicode_spaces": false}"#) == "a \u{00A0} b")
        #expect(try normalized("a\u{00A0}\u{00A0}b", #"{"unicode_spaces": true}"#) == "a b")
    }

    @Test func keepsNonSpaceCharactersThatShareLeadBytes() throws {
        let text = "“Quoted” © 2024 — 日本語、テスト\u{200B}!"
        #expect(try normalized(text) == text)
    }

    @Test func dropsDocumentsThatBecomeEmpty() throws {
        let result = try run(makeStage(NormalizeWhitespace.self, "{}"), docs(" \n\t\r\n\u{3000}", "", "ok"))
        #expect(result.keptTexts == ["ok"])
        #expect(result.drops == ["empty_after_normalization": 2])
    }

    @Test func countsChangedDocuments() throws {
        let result = try run(makeStage(NormalizeWhitespace.self, "{}"), docs("clean text\n\nparagraph", "dirty  text", "a\r\nb", "fine"))
        #expect(result.keptTexts == ["clean text\n\nparagraph", "dirty text", "a\nb", "fine"])
        #expect(result.stats.counters["documents_changed"] == 2)
    }

    @Test func unchangedDocumentsKeepTheirText() throws {
        let stage = try makeStage(NormalizeWhitespace.self, "{}")
        var doc = Document(id: "a", text: "already normal\n\nyes")
        #expect(stage.map(&doc) == .keep)
        #expect(doc.text == "already normal\n\nyes")
    }

    @Test func normalizedTextIsStable() throws {
        let samples = ["  a \r\n\r\n\r\n b\u{2029}\u{2029}c\u{00A0} ", "x\t\ty\n \n \nz", "\u{3000}日本\u{3000}\u{3000}語\u{3000}"]
        for json in ["{}", #"{"strip_lines": false}"#, #"{"collapse_spaces": false, "max_blank_lines": 3}"#] {
            for s in samples {
                let once = try #require(try normalized(s, json))
                #expect(try normalized(once, json) == once, "\(s.debugDescription) with \(json)")
            }
        }
    }

    @Test func rejectsNegativeMaxBlankLines() {
        #expect(configurationError(NormalizeWhitespace.self, #"{"max_blank_lines": -1}"#)?.contains("must not be negative") == true)
    }

    @Test func everyOptionIsRead() {
        expectEveryOptionIsRead(NormalizeWhitespace.self, required: "")
        #expect(NormalizeWhitespace.type == "normalize_whitespace")
    }
}

/// A slow, obviously correct normaliser on Unicode scalars, following the documented rules.
private func referenceNormalize(_ text: String, _ c: NormalizeWhitespace.Configuration) -> String {
    let horizontal = Set<UInt32>([0x20, 0x09, 0xA0, 0x1680, 0x202F, 0x205F, 0x3000] + Array(0x2000...0x200A))
    // 1. Line breaks.
    var scalars: [UInt32] = []
    let input = Array(text.unicodeScalars.map(\.value))
    var i = 0
    while i < input.count {
        let v = input[i]
        switch v {
        case 0x0D:
            scalars.append(0x0A)
            if i + 1 < input.count && input[i + 1] == 0x0A { i += 1 }
        case 0x0B, 0x0C, 0x85, 0x2028: scalars.append(0x0A)
        case 0x2029: scalars += [0x0A, 0x0A]
        default: scalars.append(v)
        }
        i += 1
    }
    // 2.–4. Per line.
    var lines: [[UInt32]] = scalars.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
        var l = Array(line)
        if l.allSatisfy({ horizontal.contains($0) }) { return [] }
        if c.unicodeSpaces { l = l.map { horizontal.contains($0) ? 0x20 : $0 } }
        if c.collapseSpaces {
            var out: [UInt32] = []
            for v in l where !(v == 0x20 && out.last == 0x20) { out.append(v) }
            l = out
        }
        if c.stripLines {
            while let f = l.first, horizontal.contains(f) { l.removeFirst() }
            while let b = l.last, horizontal.contains(b) { l.removeLast() }
        }
        return l
    }
    // 5. Blank lines.
    while lines.first?.isEmpty == true { lines.removeFirst() }
    while lines.last?.isEmpty == true { lines.removeLast() }
    var kept: [[UInt32]] = []
    var blanks = 0
    for l in lines {
        if l.isEmpty {
            blanks += 1
            if blanks > c.maxBlankLines { continue }
        } else {
            blanks = 0
        }
        kept.append(l)
    }
    var result = String.UnicodeScalarView()
    for (n, l) in kept.enumerated() {
        if n > 0 { result.append("\n") }
        for v in l { result.append(Unicode.Scalar(v)!) }
    }
    return String(result)
}

@Suite struct NormalizeWhitespaceReferenceTests {
    @Test func matchesTheReferenceOnRandomText() throws {
        let pieces = [
            "a", "b", "é", "日", "😀", " ", "  ", "\t", "\n", "\n\n", "\r", "\r\n", "\u{00A0}", "\u{3000}", "\u{2003}",
            "\u{2028}", "\u{2029}", "\u{0085}", "\u{000B}", "\u{000C}", "“", "©", "\u{200B}", "word", " x ",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        var configurations: [NormalizeWhitespace.Configuration] = []
        for flags in 0..<8 {
            for blank in [0, 1, 2] {
                configurations.append(.init(unicodeSpaces: flags & 1 != 0, collapseSpaces: flags & 2 != 0, stripLines: flags & 4 != 0, maxBlankLines: blank))
            }
        }
        var failures = 0
        for _ in 0..<3000 {
            let text = (0..<next(25)).map { _ in pieces[next(pieces.count)] }.joined()
            let configuration = configurations[next(configurations.count)]
            let stage = try NormalizeWhitespace(configuration: configuration)
            let got = stage.normalize(text)
            let expected = referenceNormalize(text, configuration)
            if got != expected && failures < 5 {
                failures += 1
                Issue.record("\(text.debugDescription) with \(configuration): got \(got.debugDescription), expected \(expected.debugDescription)")
            }
        }
    }
}
