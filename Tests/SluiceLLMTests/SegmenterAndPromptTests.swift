import Foundation
import SluiceCore
import SluiceLLM
import SluiceSynth
import Testing

@Suite("Segmenter")
struct SegmenterTests {
    /// Paragraphs of `words` words each.
    func paragraphs(_ n: Int, words: Int) -> [String] {
        (0..<n).map { p in (0..<words).map { "w\(p)x\($0)" }.joined(separator: " ") + "." }
    }

    @Test("paragraphs are packed greedily under the budget and never split when they fit")
    func packing() {
        let paras = paragraphs(10, words: 20)  // about 130 bytes each
        let text = paras.joined(separator: "\n\n")
        let seg = Segmenter(maxTokens: 100, bytesPerToken: 4)  // 400 bytes
        let segments = seg.segments(of: text)
        #expect(segments.count == 4)
        for s in segments {
            #expect(s.byteRange.count <= 400)
            // Whole paragraphs only.
            for piece in s.text.components(separatedBy: "\n\n") { #expect(paras.contains(piece)) }
        }
        #expect(segments.map { $0.text }.joined(separator: "\n\n") == text)
    }

    @Test("spans are code point offsets that select the segment's text")
    func spans() {
        let text = "Première ligne avec accents é è.\n\n日本語の段落です。\n\nThird 😀 paragraph."
        let segments = Segmenter(maxTokens: 8, bytesPerToken: 4).segments(of: text)
        let scalars = Array(text.unicodeScalars)
        for s in segments {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[s.scalarRange])
            #expect(String(view) == s.text)
        }
        #expect(segments.count >= 3)
    }

    @Test("a paragraph over the budget is cut at line ends, then sentences, then spaces, then characters")
    func longParagraphs() {
        let sentences = (0..<30).map { "Sentence number \($0) says something." }.joined(separator: " ")
        let segs = Segmenter(maxTokens: 50, bytesPerToken: 4).segments(of: sentences)
        #expect(segs.count > 1)
        for s in segs {
            #expect(s.byteRange.count <= 200)
            #expect(s.text.hasSuffix("."))
            #expect(s.text.hasPrefix("Sentence"))
        }
        let cjk = String(repeating: "水", count: 1000)  // no spaces, no sentence ends
        let c = Segmenter(maxTokens: 100, bytesPerToken: 3).segments(of: cjk)
        #expect(c.map(\.text).joined() == cjk)
        for s in c { #expect(s.byteRange.count <= 300 && s.byteRange.count % 3 == 0) }
    }

    @Test("blank and whitespace-only text gives no segment")
    func empty() {
        #expect(Segmenter(maxTokens: 100).segments(of: "").isEmpty)
        #expect(Segmenter(maxTokens: 100).segments(of: " \n\n \t\n").isEmpty)
    }
}

@Suite("Prompt templates")
struct PromptTemplateTests {
    @Test("every built-in prompt sends {{text}}, asks for its own prefix and has a distinct name")
    func library() {
        let names = PromptLibrary.builtIn.map(\.name)
        #expect(Set(names).count == names.count)
        for p in PromptLibrary.builtIn {
            let t = try! CompiledTemplate(p.template, context: p.name)
            #expect(t.variables.contains("text"), "\(p.name)")
            #expect(p.prefix.map { p.template.contains("\"\($0)\"") } == true, "\(p.name) must ask for its prefix")
        }
        for name in ["wikipedia_rephrase", "qa_pairs", "distill", "knowledge_extract", "knowledge_list", "wrap_easy", "wrap_hard", "wrap_qa"] {
            #expect(PromptLibrary.prompt(named: name) != nil)
        }
    }

    @Test("templates render variables and report unclosed or malformed placeholders")
    func rendering() throws {
        let t = try CompiledTemplate("T={{title}} L={{ language }} Q={{quality.bucket}} X={{nope}} {{text}}", context: "t")
        var missing: [String] = []
        let out = t.render({ ["title": "A", "language": "English", "quality.bucket": "high", "text": "body"][$0] }, missing: { missing.append($0) })
        #expect(out == "T=A L=English Q=high X= body")
        #expect(missing == ["nope"])
        #expect(throws: StageConfigurationError.self) { try CompiledTemplate("a {{text", context: "t") }
        #expect(throws: StageConfigurationError.self) { try CompiledTemplate("a {{te xt}}", context: "t") }
    }

    @Test("a prompt's hash follows its wording, not its name or version")
    func hashing() {
        let a = PromptTemplate(name: "a", version: 1, template: "Say {{text}}", prefix: "P:")
        var b = a
        b.name = "b"
        b.version = 7
        #expect(a.hash == b.hash)
        b.template = "Say: {{text}}"
        #expect(a.hash != b.hash)
    }
}
