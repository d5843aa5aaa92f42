import Foundation
import SluiceCore
import SluiceTestSupport
import SluiceWeb
import Testing

private func extract(_ html: String, markdown: Bool = false) -> String? {
    var c = HTMLExtractor.Configuration()
    c.markdown = markdown
    if case .extracted(let text, _) = HTMLExtractor(configuration: c).extract(html) { return text }
    return nil
}

private let paragraph = "Main content paragraph with enough words to be real text, written for the test of extraction."

@Suite("HTML extraction")
struct HTMLExtractTests {
    @Test("structure is kept: headings, paragraphs, list items, table rows, pre verbatim, br lines")
    func structure() throws {
        let html = """
        <html><head><title> The  Title </title><style>p{color:red}</style><script>var x = "<p>NOT TEXT</p>";</script></head>
        <body><article><h1>Heading One</h1><p>First   paragraph
        spans lines.</p><p>Second<br>line two</p><ul><li>item one</li><li>item <b>two</b></li></ul>
        <table><tr><th>Name</th><th>Value</th></tr><tr><td>a</td><td>1</td></tr></table>
        <pre>  code   keeps
            its spaces</pre><p>\(paragraph)</p></article></body></html>
        """
        let text = try #require(extract(html))
        #expect(text == """
        Heading One

        First paragraph spans lines.

        Second
        line two

        item one
        item two

        Name | Value
        a | 1

          code   keeps
            its spaces

        \(paragraph)
        """)
        #expect(!text.contains("NOT TEXT"))
        #expect(!text.contains("color"))
    }

    @Test("Markdown output marks headings, items, rows, quotes and code")
    func markdown() throws {
        let html = "<body><main><h2>Sub</h2><ul><li>a</li><li>b</li></ul><blockquote>quoted</blockquote><pre>x = 1</pre><table><tr><td>c1</td><td>c2</td></tr></table><p>\(paragraph)</p></main></body>"
        let text = try #require(extract(html, markdown: true))
        #expect(text == "## Sub\n\n- a\n- b\n\n> quoted\n\n```\nx = 1\n```\n\n| c1 | c2 |\n\n\(paragraph)")
    }

    @Test("boilerplate is removed: navigation, header, footer, sidebar, cookie banner, share links, comments, hidden text")
    func boilerplate() throws {
        let nav = (1...12).map { "<li><a href=\"/p\($0)\">Section \($0)</a></li>" }.joined()
        let html = """
        <html><head><title>Post</title></head><body>
        <div id="cookie-banner">We use cookies to improve your experience. Accept all | Reject</div>
        <header><div class="logo">Example Corp</div><nav><ul>\(nav)</ul></nav></header>
        <div class="wrapper"><div class="content">
          <h1>A real article title</h1>
          <p>\(paragraph) One.</p><p>\(paragraph) Two.</p><p>\(paragraph) Three.</p>
          <div class="share-buttons"><a href="/t">Tweet</a> <a href="/f">Share on Facebook</a></div>
          <p style="display:none">Hidden spam text that must not appear.</p>
          <div id="comments"><h3>3 comments</h3><p>Great post, thanks! I learned a lot from this article today.</p></div>
        </div>
        <aside class="sidebar"><h3>Related posts</h3><ul>\(nav)</ul><p>About the author: writes things.</p></aside></div>
        <footer>Copyright © 2024 Example Corp. All rights reserved. Privacy Policy | Terms of Use</footer>
        </body></html>
        """
        let text = try #require(extract(html))
        #expect(text.hasPrefix("A real article title"))
        for s in ["One.", "Two.", "Three."] { #expect(text.contains(s)) }
        for junk in ["cookies", "Section 3", "Tweet", "Hidden spam", "Great post", "Related posts", "About the author", "Copyright", "Example Corp"] {
            #expect(!text.contains(junk), "\(junk) leaked into the main text")
        }
    }

    @Test("an index page inside an explicit main element keeps its lists of links, not the page's navigation")
    func indexPageKeepsItsLinks() throws {
        let sidebar = (1...15).map { "<li><a href=\"/s\($0)\">Sidebar topic \($0)</a></li>" }.joined()
        let entries = (1...40).map { "<li><a href=\"/lib/m\($0).html\">module\($0) \u{2014} Utilities for task \($0)</a></li>" }.joined()
        let html = """
        <html><head><title>Library index</title></head><body>
        <div class="sphinxsidebar" role="navigation"><h3>Navigation</h3><ul>\(sidebar)</ul></div>
        <div class="document"><div class="body" role="main">
          <h1>The Standard Library</h1>
          <p>The modules described in this chapter provide tools for many everyday tasks.</p>
          <div class="toctree-wrapper"><ul>\(entries)</ul></div>
          <p><a href="/next.html">Next</a></p>
        </div></div>
        <footer>Copyright 2024. Last updated on Jan 1.</footer>
        </body></html>
        """
        let text = try #require(extract(html))
        #expect(text.hasPrefix("The Standard Library"))
        for s in ["module1 ", "module17 ", "module40 ", "everyday tasks"] { #expect(text.contains(s), "\(s) is missing") }
        for junk in ["Sidebar topic", "Navigation", "Copyright", "Next"] {
            #expect(!text.contains(junk), "\(junk) leaked into the main text")
        }
    }

    @Test("a real Debian page: the chapter text is kept and its navigation dropped")
    func realPage() throws {
        let html = String(decoding: try readFile(fixture("pages/upload.en.html")), as: UTF8.self)
        let outcome = HTMLExtractor().extract(html)
        guard case .extracted(let text, let title) = outcome else {
            Issue.record("no text: \(outcome)")
            return
        }
        #expect(title?.contains("Upload") == true)
        #expect(text.contains("Uploading to the Debian archive"))
        #expect(text.contains("dupload") || text.contains("dput"))
        #expect(!text.contains("Table of Contents"))
    }

    @Test("a 50 MB page is extracted without stalling, or refused as too large by the guard")
    func hugePage() throws {
        var html = "<html><body><div>"
        let p = "<p>" + String(repeating: "word ", count: 200) + "</p>\n"
        html.reserveCapacity(52 << 20)
        while html.utf8.count < 50 << 20 { html += p }
        html += "<p>THE END</p></div></body></html>"
        let started = threadCPUTime()
        var c = HTMLExtractor.Configuration()
        c.maxBytes = 64 << 20
        c.timeBudgetNanoseconds = 60_000_000_000
        let outcome = HTMLExtractor(configuration: c).extract(html)
        guard case .extracted(let text, _) = outcome else {
            Issue.record("50 MB page: \(outcome)")
            return
        }
        #expect(text.hasSuffix("THE END"))
        #expect(text.utf8.count > 49 << 20)
        #expect(threadCPUTime() - started < .seconds(60))
        // The default guard refuses it before parsing.
        #expect(HTMLExtractor().extract(html) == .tooLarge)
        // A one-node 50 MB text (libxml2 cuts it at 10 MB without XML_PARSE_HUGE).
        let single = "<html><body><p>" + String(repeating: "x", count: 50 << 20) + " END</p></body></html>"
        guard case .extracted(let t2, _) = HTMLExtractor(configuration: c).extract(single) else {
            Issue.record("single text node")
            return
        }
        #expect(t2.hasSuffix(" END"))
    }

    @Test("100,000-deep nesting is dropped as too deep at once, and parsed without recursion when allowed")
    func deepNesting() throws {
        let depth = 100_000
        let html = "<html><body>" + String(repeating: "<div>", count: depth) + "<p>deep text</p>"
            + String(repeating: "</div>", count: depth) + "<p>\(paragraph)</p></body></html>"
        let started = threadCPUTime()
        #expect(HTMLExtractor().extract(html) == .tooDeep)
        #expect(threadCPUTime() - started < .seconds(5))
        var c = HTMLExtractor.Configuration()
        c.maxDepth = 1_000_000
        c.timeBudgetNanoseconds = 30_000_000_000
        let outcome = HTMLExtractor(configuration: c).extract(html)
        switch outcome {
        case .extracted(let text, _): #expect(text.contains("deep text") || text.contains(paragraph))
        case .timedOut: break
        default: Issue.record("deep nesting: \(outcome)")
        }
        // Unclosed nesting (300,000 <div><span>) too.
        let unclosed = "<body>" + String(repeating: "<div><span>", count: 300_000) + "end"
        #expect(HTMLExtractor().extract(unclosed) == .tooDeep)
    }

    @Test("the time budget stops a slow page")
    func timeBudget() throws {
        // Thousands of nested unclosed elements with stray end tags make libxml2 work hard.
        let html = "<body>" + String(repeating: "<div>", count: 1900) + String(repeating: "</span>", count: 400_000) + "</body>"
        var c = HTMLExtractor.Configuration()
        c.timeBudgetNanoseconds = 1_000_000  // 1 ms
        let started = threadCPUTime()
        let outcome = HTMLExtractor(configuration: c).extract(html)
        #expect(outcome == .timedOut || outcome == .noContent(title: nil))
        #expect(threadCPUTime() - started < .seconds(10))
    }

    @Test("malformed HTML: unclosed tags, stray end tags, entities, unquoted attributes, NUL bytes")
    func malformed() throws {
        let html = "<body><main><p>one<p>two &amp; &copy; &#x4e2d; &bogus;</span></div><p class=x>three\u{0}four<div>\(paragraph)</main>"
        let text = try #require(extract(html))
        #expect(text.contains("one\n\ntwo & © 中 &bogus;\n\nthree"))
        #expect(text.contains(paragraph))
    }

    @Test("the stage replaces text, sets the title, passes non-HTML through and drops pages without content")
    func stage() throws {
        let stage = try HTMLExtract(configuration: .init())
        var page = Document(id: "a", text: "<html><head><title>T</title></head><body><p>\(paragraph)</p></body></html>")
        page.metadata["content_type"] = .string("text/html")
        var wet = Document(id: "b", text: "plain WET text")
        wet.metadata["content_type"] = .string("text/plain")
        let empty = Document(id: "c", text: "<html><head><title>Empty</title></head><body><script>x()</script></body></html>")
        let deep = Document(id: "d", text: String(repeating: "<div>", count: 5000))
        let big = Document(id: "e", text: "<p>" + String(repeating: "y", count: 100) + "</p>")
        let r = try runStage(stage, [page, wet, empty, deep])
        #expect(r.kept.map(\.id) == ["a", "b"])
        #expect(r.kept[0].text == paragraph)
        #expect(r.kept[0].metadata["title"] == .string("T"))
        #expect(r.kept[1].text == "plain WET text")
        #expect(r.drops == ["no_content": 1, "too_deep": 1])
        #expect(r.stats.counters["not_html_passed"] == 1)
        let small = try HTMLExtract(configuration: .init(maxBytes: ByteSize(bytes: 50)))
        #expect(try runStage(small, [big]).drops == ["too_large": 1])
        #expect(throws: (any Error).self) { try HTMLExtract(configuration: .init(format: "pdf")) }
    }

    @Test("extraction is deterministic and thread-safe: 4 threads give the same text")
    func threads() throws {
        let read = try readAll(fixture("multilang.warc.gz"))
        let texts = read.documents.map(\.text)
        let one = texts.map { extract($0) }
        let results = ResultBox(count: 4)
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            let ex = HTMLExtractor()
            var out: [String?] = []
            for _ in 0..<3 {
                out = texts.map { if case .extracted(let s, _) = ex.extract($0) { return s } else { return nil } }
            }
            results.set(t, out)
        }
        for t in 0..<4 { #expect(results.get(t) == one) }
        #expect(one.allSatisfy { $0 != nil })
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[String?]]
    init(count: Int) { values = Array(repeating: [], count: count) }
    func set(_ i: Int, _ v: [String?]) { lock.lock(); values[i] = v; lock.unlock() }
    func get(_ i: Int) -> [String?] { lock.lock(); defer { lock.unlock() }; return values[i] }
}
