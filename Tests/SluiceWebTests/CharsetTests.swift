import Foundation
import SluiceCore
import SluiceTestSupport
@testable import SluiceWeb
import Testing

@Suite("Charsets")
struct CharsetTests {
    @Test("WHATWG labels map to their encodings", arguments: [
        ("gb2312", "gbk"), ("GBK", "gbk"), ("x-gbk", "gbk"), ("gb18030", "gb18030"), ("ISO-8859-1", "windows-1252"),
        ("latin1", "windows-1252"), ("us-ascii", "windows-1252"), ("Shift_JIS", "shift_jis"), ("sjis", "shift_jis"),
        ("windows-31j", "shift_jis"), ("EUC-KR", "euc-kr"), ("ks_c_5601-1987", "euc-kr"), ("cp1251", "windows-1251"),
        ("koi8-r", "koi8-r"), (" utf8 ", "utf-8"), ("UTF-8", "utf-8"), ("big5-hkscs", "big5"), ("euc-jp", "euc-jp"),
        ("iso-8859-9", "windows-1254"), ("tis-620", "windows-874"), ("unicode", "utf-16le"),
    ])
    func labels(label: String, name: String) {
        #expect(WebEncoding.forLabel(label)?.name == name)
    }

    @Test("unknown labels are nil and ISO-2022-KR is the replacement encoding")
    func unknownAndReplacement() {
        #expect(WebEncoding.forLabel("klingon") == nil)
        #expect(WebEncoding.forLabel("iso-2022-kr") == .replacement)
        let d = CharsetDecoder()
        let bytes = Array("<html>hi</html>".utf8)
        #expect(bytes.withUnsafeBytes { d.decode($0, declared: "iso-2022-kr", isHTML: true) } == nil)
    }

    @Test("Content-Type charset parameters and meta declarations are found")
    func declarations() {
        #expect(charsetParameter(ofContentType: "text/html; charset=UTF-8".utf8) == "UTF-8")
        #expect(charsetParameter(ofContentType: #"text/html;charset="gb2312""#.utf8) == "gb2312")
        #expect(charsetParameter(ofContentType: "text/html".utf8) == nil)
        func meta(_ s: String) -> String? { Array(s.utf8).withUnsafeBytes { declaredMetaCharset($0) } }
        #expect(meta(#"<html><head><meta charset="shift_jis"><title>x</title>"#) == "shift_jis")
        #expect(meta(#"<HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=windows-1251">"#) == "windows-1251")
        #expect(meta(#"<!-- <meta charset="koi8-r"> --><meta charset=utf-8>"#) == "utf-8")
        #expect(meta("<html><body>no declaration</body></html>") == nil)
    }

    @Test("undeclared legacy pages are detected", arguments: try! undeclaredPages())
    func sniffing(page: UndeclaredPage) throws {
        let bytes = try readFile(fixture(page.file))
        let d = CharsetDecoder()
        let decoded = try #require(bytes.withUnsafeBytes { d.decode($0, declared: nil, isHTML: true) })
        #expect(decoded.encoding.name == page.charset, "\(page.file)")
        #expect(decoded.source == .sniffed)
        guard case .extracted(_, let title) = HTMLExtractor().extract(String(decoding: decoded.utf8, as: UTF8.self)) else {
            Issue.record("no text from \(page.file)")
            return
        }
        #expect(normalized(title ?? "") == normalized(page.title), "\(page.file)")
    }

    @Test("declarations are checked against the bytes")
    func wrongDeclarations() throws {
        let d = CharsetDecoder()
        // UTF-8 bytes declared windows-1251: valid non-ASCII UTF-8 wins.
        let utf8 = Array("<p>Привет, мир — 世界</p>".utf8)
        let a = try #require(utf8.withUnsafeBytes { d.decode($0, declared: "windows-1251", isHTML: true) })
        #expect(a.encoding == .utf8)
        #expect(String(decoding: a.utf8, as: UTF8.self) == "<p>Привет, мир — 世界</p>")
        // windows-1252 bytes declared UTF-8: detected.
        let latin: [UInt8] = Array("<p>Caf".utf8) + [0xE9] + Array(" cr".utf8) + [0xE8, 0x6D, 0x65] + Array(" br".utf8) + [0xFB, 0x6C, 0xE9, 0x65]
            + Array(" na".utf8) + [0xEF, 0x76, 0x65, 0x20, 0x93, 0x71, 0x75, 0x6F, 0x74, 0x65, 0x94] + Array("</p>".utf8)
        let b = try #require(latin.withUnsafeBytes { d.decode($0, declared: "utf-8", isHTML: true) })
        #expect(b.encoding == .windows1252)
        #expect(String(decoding: b.utf8, as: UTF8.self) == "<p>Café crème brûlée naïve “quote”</p>")
        // A byte-order mark beats the header.
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("<p>日本語</p>".utf8)
        let c = try #require(bom.withUnsafeBytes { d.decode($0, declared: "iso-8859-1", isHTML: true) })
        #expect(c.source == .bom)
        #expect(String(decoding: c.utf8, as: UTF8.self) == "<p>日本語</p>")
        // UTF-16 with a BOM.
        var u16: [UInt8] = [0xFF, 0xFE]
        for u in "<p>Ünïcödé</p>".utf16 { u16 += [UInt8(u & 0xFF), UInt8(u >> 8)] }
        let e = try #require(u16.withUnsafeBytes { d.decode($0, declared: nil, isHTML: true) })
        #expect(e.encoding == .utf16LE)
        #expect(String(decoding: e.utf8, as: UTF8.self) == "<p>Ünïcödé</p>")
    }

    @Test("the gb2312 label with GBK-only characters is decoded in full")
    func gb2312IsGBK() throws {
        // 镕 堃 喆 in GBK (not in GB 2312).
        let bytes: [UInt8] = Array("<p>".utf8) + [0xE9, 0x46, 0x20, 0x88, 0xD2, 0x20, 0x86, 0xB4] + Array("</p>".utf8)
        let d = CharsetDecoder()
        let r = try #require(bytes.withUnsafeBytes { d.decode($0, declared: "gb2312", isHTML: true) })
        #expect(String(decoding: r.utf8, as: UTF8.self) == "<p>镕 堃 喆</p>")
        #expect(r.replacements == 0)
    }
}

struct UndeclaredPage: Sendable, CustomTestStringConvertible {
    var file: String
    var charset: String
    var title: String
    var testDescription: String { file }
}

func undeclaredPages() throws -> [UndeclaredPage] {
    let m = try fixtureManifest()
    return m["undeclared_pages"]!.arrayValue!.map {
        UndeclaredPage(file: $0["file"]!.string, charset: $0["charset"]!.string, title: $0["title"]!.string)
    }
}
