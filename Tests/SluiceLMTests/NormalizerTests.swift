import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceLM

@Suite("CCNet normalisation")
struct NormalizerTests {
    func norm(_ s: String) -> String {
        String(decoding: CCNetNormalizer.normalize(Array(s.utf8)), as: UTF8.self)
    }

    /// Lines of real documents (man pages in 11 languages, fortunes with ANSI escapes, prose)
    /// and synthetic ones, normalised by scripts/lm_reference.py with Python's unicodedata.
    @Test("every fixture line normalises as CCNet's Python rules do")
    func fixtureLines() throws {
        let cases = try LMFixtures.jsonLines("normalize.jsonl")
        #expect(cases.count > 120)
        for c in cases {
            let input = c["in"] as! String
            let want = c["out"] as! String
            #expect(norm(input) == want, "\(input.debugDescription)")
        }
    }

    @Test("the rules one by one", arguments: [
        ("  Hello World  ", "hello world"),  // strip, lowercase
        ("Déjà vu, ÉLAN", "deja vu, elan"),  // accents
        ("Year 2024: ٣ and ９", "year 0000: 0 and 0"),  // every decimal digit
        ("“quoted” — «this» …", "\"quoted\"  -  \"this\" ..."),  // punctuation table
        ("a\tb\u{1}c\u{7F}d\u{85}e", "abcde"),  // control characters removed
        ("İstanbul", "istanbul"),  // İ lowercases to i + U+0307, which is a mark
        ("ΟΔΟΣ ΣΟΦΙΑ", "οδος σοφια"),  // final sigma
        ("Σ", "σ"),
        ("한", "\u{1112}\u{1161}\u{11AB}"),  // Hangul decomposes to jamo
        ("\u{3000}\u{A0}x\u{2003}", "x"),  // Unicode whitespace stripped at the ends
        ("", ""),
        ("   ", ""),
    ])
    func rules(_ input: String, _ expected: String) {
        #expect(norm(input) == expected)
    }

    @Test("the whitespace the code knows is Python's str.isspace list from the table")
    func whitespace() {
        var listed = Set(CCNetNormalizationTable.nonASCIIWhitespace)
        for v in UInt32(0x80)...0x3100 where LMText.isPythonSpace(v) {
            #expect(listed.remove(v) != nil, "U+\(String(v, radix: 16)) is not in the generated list")
        }
        #expect(listed.isEmpty)
        for b in 0..<128 {
            let python = [9, 10, 11, 12, 13, 28, 29, 30, 31, 32].contains(b)
            #expect(LMText.isPythonSpace(UInt32(b)) == python)
        }
    }

    @Test("invalid UTF-8 bytes pass through unchanged")
    func invalidBytes() {
        let out = CCNetNormalizer.normalize([0x41, 0xFF, 0xC3, 0x42])
        #expect(out == [0x61, 0xFF, 0xC3, 0x62])
    }
}
