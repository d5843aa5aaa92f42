import SluiceCore
import SluiceTestSupport
import Testing

@Suite struct TextStatsTests {
    @Test func countsASCIICharactersWordsAndLines() {
        #expect(countText("Hello, world!\nSecond line here") == TextCounts(characters: 30, words: 5, lines: 2))
    }

    @Test func emptyTextHasNothing() {
        #expect(countText("") == TextCounts(characters: 0, words: 0, lines: 0))
    }

    @Test func trailingNewlineDoesNotAddALine() {
        #expect(countText("one\ntwo\n").lines == 2)
        #expect(countText("one\ntwo").lines == 2)
        #expect(countText("\n").lines == 1)
        #expect(countText("a\n\nb").lines == 3)
    }

    @Test func whitespaceOnlyTextHasNoWords() {
        #expect(countText(" \t \n ") == TextCounts(characters: 5, words: 0, lines: 2))
    }

    @Test func multibyteCharactersCountOncePerScalar() {
        // é precomposed (2 bytes), ü (2), € (3), 😀 (4).
        let c = countText("café über 5€ 😀")
        #expect(c.characters == 14)
        #expect(c.words == 4)
        // e + combining acute accent: two scalars, one grapheme.
        #expect(countText("e\u{301}").characters == 2)
    }

    @Test func chineseWithoutSpacesIsOneWord() {
        let c = countText("我们今天去公园散步。")
        #expect(c.characters == 10)
        #expect(c.words == 1)
        #expect(c.lines == 1)
    }

    @Test func noBreakAndIdeographicSpacesSeparateWords() {
        #expect(countText("a\u{00A0}b").words == 2)
        #expect(countText("日本\u{3000}語").words == 2)
        #expect(countText("x\u{2009}y\u{202F}z\u{205F}w\u{1680}v\u{0085}u\u{2028}t\u{2029}s").words == 8)
        #expect(countText("\u{3000}\u{00A0}").words == 0)
        #expect(countText("a\u{00A0}b").characters == 3)
    }

    @Test func nonSpaceCharactersWithSpaceLeadBytesStayInWords() {
        // “ ” (E2 80 9C/9D), © (C2 A9), 、(E3 80 81) share lead bytes with spaces.
        #expect(countText("“quoted”©、word").words == 1)
        // U+200B ZERO WIDTH SPACE is not whitespace.
        #expect(countText("a\u{200B}b").words == 1)
    }

    @Test func crlfCountsOneLineBreak() {
        let c = countText("one two\r\nthree\r\n")
        #expect(c.lines == 2)
        #expect(c.words == 3)
        #expect(countText("a\rb").lines == 1)
    }

    @Test func fastCountsAgreeWithTheOnePassCount() {
        let samples = [
            "", "a", "\n", "x\n", "hello world\nsecond\n\nfourth", "naïve café 😀\n日本語\u{3000}テキスト",
            String(repeating: "abc déf\n", count: 37) + "tail", "\u{00A0}\u{2003}é\r\n",
        ]
        for s in samples {
            var copy = s
            copy.withUTF8 { bytes in
                let c = countText(bytes)
                #expect(countCharacters(bytes) == c.characters, "\(s.debugDescription)")
                #expect(countLines(bytes) == c.lines, "\(s.debugDescription)")
                #expect(c.characters == s.unicodeScalars.count, "\(s.debugDescription)")
            }
        }
    }

    @Test func wordCountMatchesAScalarReferenceOnMixedText() {
        let s = "  The\tquick\u{00A0}brown 🦊\njumps\u{3000}over „the“ lazy\u{2002}dog.\r\n Ende "
        let reference = s.unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace }).count
        #expect(countText(s).words == reference)
        #expect(reference == 10)
    }

    @Test func truncatedUTF8IsCountedWithoutCrashing() {
        let bytes: [UInt8] = [0x61, 0x20, 0xE2, 0x80]  // "a " + a cut-off 3-byte sequence
        let c = bytes.withUnsafeBufferPointer { countText($0) }
        #expect(c == TextCounts(characters: 3, words: 2, lines: 1))
    }
}

@Suite struct TextStatsReferenceTests {
    @Test func matchesAScalarReferenceOnRandomText() {
        let pieces = [
            "a", "bc", "é", "日本", "😀", " ", "\t", "\n", "\r\n", "\r", "\u{00A0}", "\u{3000}", "\u{2003}", "\u{200A}",
            "\u{2028}", "\u{2029}", "\u{0085}", "\u{000B}", "\u{000C}", "“", "©", "\u{200B}", "\u{1680}", "\u{205F}", "\u{202F}",
        ]
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        for _ in 0..<2000 {
            let text = (0..<next(40)).map { _ in pieces[next(pieces.count)] }.joined()
            let scalars = Array(text.unicodeScalars)
            let words = scalars.split(whereSeparator: { $0.properties.isWhitespace }).count
            let newlines = scalars.filter { $0 == "\n" }.count
            let lines = scalars.isEmpty ? 0 : newlines + (scalars.last == "\n" ? 0 : 1)
            let expected = TextCounts(characters: scalars.count, words: words, lines: lines)
            #expect(countText(text) == expected, "\(text.debugDescription)")
        }
    }

    /// A byte-at-a-time reference for countText's rules, built on UTF8Whitespace.
    static func referenceCounts(_ bytes: [UInt8]) -> TextCounts {
        bytes.withUnsafeBufferPointer { b in
            var characters = 0, words = 0, newlines = 0
            var inWord = false
            var i = 0
            while i < b.count {
                let w = UTF8Whitespace.whitespaceLength(in: b, at: i)
                if w > 0 {
                    characters += 1
                    if b[i] == 0x0A { newlines += 1 }
                    inWord = false
                    i += w
                    continue
                }
                if b[i] & 0xC0 != 0x80 { characters += 1 }
                if !inWord { words += 1 }
                inWord = true
                i += 1
            }
            let lines = b.isEmpty ? 0 : newlines + (b.last == 0x0A ? 0 : 1)
            return TextCounts(characters: characters, words: words, lines: lines)
        }
    }

    @Test("the eight-bytes-at-a-time path agrees with a byte-at-a-time reference on random text")
    func randomTextAgreesWithReference() {
        let pieces: [String] = [
            "a", "Z", "0", ".", " ", "  ", "\t", "\n", "\r\n", "\u{0B}", "\u{0C}", "\u{01}", "\u{7F}", "é", "日本",
            "\u{00A0}", "\u{3000}", "\u{2009}", "“", "😀", "word", "long-word-without-space", "\u{0085}",
        ]
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 40) { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let bytes = Array(text.utf8)
            let got = bytes.withUnsafeBufferPointer { countText($0) }
            #expect(got == Self.referenceCounts(bytes), "\(text.debugDescription)")
        }
    }
}
