import SluiceCore
import SluiceFilters
import SluiceIO
import SluiceTestSupport
import Testing

/// The Chinese and Japanese documents of SampleData under every heuristic filter's default
/// configuration: the English-tuned filters leave them alone, tagged or not, and the
/// language-neutral repetition rules keep most of them.
@Suite struct CJKDefaultsTests {
    static func sampleDocuments(_ file: String, languages: Set<String>) throws -> [Document] {
        let compressed = try readFile(packageRoot() + "/SampleData/" + file)
        let bytes = try ZstdDecompressor.decompress(compressed)
        var parser = DocumentLineParser()
        var out: [Document] = []
        for line in bytes.split(separator: 0x0A) {
            guard let doc = Array(line).withUnsafeBufferPointer({ parser.parse($0) }).document else { continue }
            if case .string(let l)? = doc.metadata["language"], languages.contains(l) { out.append(doc) }
        }
        return out
    }

    static let documents: [Document] = {
        ((try? sampleDocuments("manpages.jsonl.zst", languages: ["zh", "ja"])) ?? [])
            + ((try? sampleDocuments("fortunes.jsonl.zst", languages: ["zh", "ja"])) ?? [])
    }()

    /// The same documents without language metadata.
    static var untagged: [Document] {
        documents.map { var d = $0; d.metadata = JSONObject(); return d }
    }

    @Test("SampleData has Chinese and Japanese documents to test with")
    func haveDocuments() {
        #expect(Self.documents.count >= 400)
        #expect(Self.documents.contains { $0.metadata["language"] == .string("ja") })
    }

    @Test("English-tuned filters pass every tagged or untagged Chinese and Japanese manual page untouched",
          arguments: ["gopher_quality", "c4_quality", "c4_paragraph", "fineweb_quality"])
    func englishFiltersLeaveThemAlone(name: String) throws {
        let stage: any Stage = switch name {
        case "gopher_quality": try GopherQuality(configuration: .init())
        case "c4_quality": try C4Quality(configuration: .init())
        case "c4_paragraph": try C4Paragraph(configuration: .init())
        default: try FineWebQuality(configuration: .init())
        }
        let tagged = try run(stage, Self.documents)
        #expect(tagged.kept.count == Self.documents.count)
        #expect(tagged.stats.counters["skipped_language"] == Self.documents.count)
        #expect(tagged.keptTexts == Self.documents.map(\.text))
        // Without tags, the script decides.
        let untagged = try run(stage, Self.untagged)
        #expect(untagged.kept.count == Self.documents.count)
    }

    @Test("gopher_repetition applies to Chinese and Japanese and keeps most of them")
    func repetition() throws {
        let stage = try GopherRepetition(configuration: .init())
        let result = try run(stage, Self.documents)
        #expect(result.stats.counters["skipped_language"] == nil)
        let kept = Double(result.kept.count) / Double(Self.documents.count)
        #expect(kept > 0.6, "kept \(result.kept.count) of \(Self.documents.count)")
        // a page that is one line over and over is still dropped
        var spam = Self.documents[0]
        spam.text = String(repeating: "点击这里免费下载最新版本软件。\n", count: 30)
        #expect(try run(stage, [spam]).kept.isEmpty)
    }
}
