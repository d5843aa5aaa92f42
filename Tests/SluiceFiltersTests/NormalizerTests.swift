import SluiceCore
import SluiceFilters
import Testing

@Suite struct UnicodeNormalizeTests {
    @Test("NFC composes, NFKC also folds compatibility forms, ASCII is left alone")
    func forms() throws {
        let nfc = try stage(UnicodeNormalize.self)
        #expect(nfc.normalized("e\u{301}cole") == "\u{E9}cole")
        #expect(nfc.normalized("plain ascii text") == nil)
        #expect(nfc.normalized("\u{E9}cole d\u{E9}j\u{E0} compos\u{E9}e") == nil)
        #expect(nfc.normalized("ﬁle") == nil)
        let nfkc = try stage(UnicodeNormalize.self, #""form": "nfkc""#)
        #expect(nfkc.normalized("ﬁle ①２３ Ｈｅｌｌｏ") == "file 123 Hello")
        let nfd = try stage(UnicodeNormalize.self, #""form": "nfd""#)
        #expect(nfd.normalized("\u{E9}")?.unicodeScalars.map(\.value) == [0x65, 0x301])
        #expect(configurationError(UnicodeNormalize.self, #"{"form": "nfx"}"#) != nil)
    }

    @Test("the stage counts changed documents and keeps unchanged strings")
    func stageCounts() throws {
        let s = try stage(UnicodeNormalize.self)
        let result = try run(s, docs("cafe\u{301}", "café", "ascii"))
        #expect(result.keptTexts == ["café", "café", "ascii"])
        #expect(result.stats.counters["documents_changed"] == 1)
    }
}

@Suite struct FixMojibakeTests {
    let fixer = try! FixMojibake(configuration: .init())

    @Test("UTF-8 read as windows-1252 or Latin-1 is repaired")
    func repairs() {
        #expect(fixer.repaired("cafÃ© au lait") == "café au lait")
        #expect(fixer.repaired("itâ€™s â€œquotedâ€\u{9D}") == "it’s “quoted”")
        #expect(fixer.repaired("Ð¿Ñ€Ð¸Ð²ÐµÑ‚") == "привет")
        #expect(fixer.repaired("ä¸­æ–‡") == "中文")
        #expect(fixer.repaired("Ã\u{89}cole") == "École")  // Latin-1 C1 control for 0x89
        #expect(fixer.repaired("price: 5 â‚¬") == "price: 5 €")
        // mangled twice
        #expect(fixer.repaired("cafÃƒÂ©") == "café")
    }

    @Test("real text that only looks similar is left alone")
    func leavesRealText() {
        #expect(fixer.repaired("CAFÉ” and NAÏVE’s") == nil)
        #expect(fixer.repaired("Ãrvore, SÃO PAULO, Ã la carte") == nil)
        #expect(fixer.repaired("plain ASCII") == nil)
        #expect(fixer.repaired("déjà vu — naïve café") == nil)
        #expect(fixer.repaired("日本語のテキスト") == nil)
    }
}

@Suite struct RemoveControlCharactersTests {
    @Test("controls, escape sequences and backspace overstrikes go; tabs and line breaks stay")
    func cleaning() throws {
        let s = try stage(RemoveControlCharacters.self)
        #expect(s.cleaned("a\u{0}b\u{7}c\u{7F}d\u{85}e") == "abcde")
        #expect(s.cleaned("\u{1B}[33m黄色\u{1B}[0m text") == "黄色 text")
        #expect(s.cleaned("\u{1B}]0;title\u{7}after") == "after")
        #expect(s.cleaned("_\u{8}B_\u{8}o_\u{8}l_\u{8}d") == "Bold")
        #expect(s.cleaned("tab\there\nline\r\nbreak") == nil)
        #expect(s.cleaned("zero\u{200B}width\u{FEFF}") == nil)
        let format = try stage(RemoveControlCharacters.self, #""format_characters": true"#)
        #expect(format.cleaned("zero\u{200B}width\u{FEFF} soft\u{AD}hyphen") == "zerowidth softhyphen")
        #expect(format.cleaned("👩\u{200D}💻") == nil)
    }

    @Test("the stage counts what it removed")
    func counters() throws {
        let s = try stage(RemoveControlCharacters.self)
        let result = try run(s, docs("a\u{1}b", "clean"))
        #expect(result.keptTexts == ["ab", "clean"])
        #expect(result.stats.counters["control_characters_removed"] == 1)
        expectEveryOptionIsRead(RemoveControlCharacters.self, required: "")
    }
}

@Suite struct RemoveSymbolLinesTests {
    @Test("lines of only symbols go, runs of them become one replacement, as datatrove does")
    func removal() throws {
        let s = try stage(RemoveSymbolLines.self)
        #expect(s.cleaned("Title\n=====\nText here.\n* * *\n-----\nMore text.") == "Title\nText here.\nMore text.")
        #expect(s.cleaned("Text.\n   \nMore.") == nil)
        #expect(s.cleaned("Price: $5.\nOK") == nil)
        let paragraph = try stage(RemoveSymbolLines.self, #""replacement": "\n""#)
        #expect(paragraph.cleaned("One.\n-----\n=====\nTwo.") == "One.\n\n\nTwo.")
        let custom = try stage(RemoveSymbolLines.self, #""symbols": "~""#)
        #expect(custom.cleaned("A\n~~~\n---\nB") == "A\n---\nB")
        #expect(configurationError(RemoveSymbolLines.self, #"{"symbols": ""}"#) != nil)
    }
}
