import Foundation
import SluiceCore
import SluiceIO
import SluiceTestSupport
import SluiceWeb
import Testing

private func doc(_ url: String?) -> Document {
    var d = Document(id: url ?? "none", text: "x")
    if let url { d.metadata["url"] = .string(url) }
    return d
}

@Suite("URL filter")
struct URLFilterTests {
    @Test("domains block themselves and their subdomains, not look-alikes")
    func domains() throws {
        var c = URLFilter.Configuration()
        c.domainBlocklist = ["bad.example", "www.spam.test"]
        let f = try URLFilter(configuration: c)
        #expect(f.verdict(forURL: "https://bad.example/page") == .drop("blocked_domain"))
        #expect(f.verdict(forURL: "http://a.b.BAD.example:8080/x?y#z") == .drop("blocked_domain"))
        #expect(f.verdict(forURL: "https://spam.test/") == .drop("blocked_domain"))
        #expect(f.verdict(forURL: "https://notbad.example/") == .keep)
        #expect(f.verdict(forURL: "https://bad.example.org/") == .keep)
    }

    @Test("URLs are compared without scheme, www., fragment and trailing slash")
    func urls() throws {
        var c = URLFilter.Configuration()
        c.urlBlocklist = ["example.com/a/b"]
        let f = try URLFilter(configuration: c)
        #expect(f.verdict(forURL: "https://www.example.com/a/b/#top") == .drop("blocked_url"))
        #expect(f.verdict(forURL: "http://example.com/a/b") == .drop("blocked_url"))
        #expect(f.verdict(forURL: "http://example.com/a/b/c") == .keep)
    }

    @Test("banned words match whole tokens, subwords match inside the host, soft words count to a threshold")
    func words() throws {
        var c = URLFilter.Configuration()
        c.bannedWords = ["porn"]
        c.bannedSubwords = ["camgirl", "xxx"]
        c.softBannedWords = ["hot", "babes", "brunette"]
        let f = try URLFilter(configuration: c)
        #expect(f.verdict(forURL: "https://example.com/porn/page") == .drop("banned_word"))
        #expect(f.verdict(forURL: "https://example.com/pornography-history") == .keep)
        #expect(f.verdict(forURL: "https://free-camgirl-videos.example.com/x") == .drop("banned_subword"))
        #expect(f.verdict(forURL: "https://xxx-tube.example.org/") == .drop("banned_subword"))
        #expect(f.verdict(forURL: "https://example.com/camgirl") == .keep)  // subwords: host only
        #expect(f.verdict(forURL: "https://hot-babes-brunette.example.net/") == .drop("soft_banned_words"))
        #expect(f.verdict(forURL: "https://example.com/hot-weather") == .keep)
    }

    @Test("lists load from plain and gzip files with comments; allowed domains win")
    func files() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("domains"), "# UT1-style list\nbad.example\n\n  Evil.Test  \n")
        try writeFile(dir.file("words.gz"), try GzipCompressor.compress(Array("casino\nporn\n".utf8)))
        var c = URLFilter.Configuration()
        c.domainBlocklistFiles = [dir.file("domains")]
        c.bannedWordsFiles = [dir.file("words.gz")]
        c.allowedDomains = ["good.bad.example"]
        let f = try URLFilter(configuration: c)
        #expect(f.verdict(forURL: "https://x.evil.test/") == .drop("blocked_domain"))
        #expect(f.verdict(forURL: "https://good.bad.example/") == .keep)
        #expect(f.verdict(forURL: "https://a.org/online-casino") == .drop("banned_word"))
        var missing = URLFilter.Configuration()
        missing.domainBlocklistFiles = [dir.file("nope")]
        #expect(throws: StageConfigurationError.self) { try URLFilter(configuration: missing) }
        #expect(throws: StageConfigurationError.self) { try URLFilter(configuration: URLFilter.Configuration()) }
    }

    @Test("the stage reads metadata.url and handles documents without one")
    func stage() throws {
        var c = URLFilter.Configuration()
        c.domainBlocklist = ["bad.example"]
        let keep = try URLFilter(configuration: c)
        let r = try runStage(keep, [doc("https://bad.example/"), doc("https://ok.example/"), doc(nil)])
        #expect(r.kept.map(\.id) == ["https://ok.example/", "none"])
        #expect(r.drops == ["blocked_domain": 1])
        c.missingURL = "drop"
        let drop = try URLFilter(configuration: c)
        #expect(try runStage(drop, [doc(nil)]).drops == ["no_url": 1])
    }
}
