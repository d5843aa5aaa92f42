import Foundation
import SluiceCore
import SluiceIO
import SluiceStats
import SluiceTestSupport
import Testing

@Suite("shard statistics and the shard scanner")
struct ScannerTests {
    /// Statistics as the writer computes them, from documents.
    func writerStatistics(_ docs: [Document]) -> ShardStatistics {
        var profiles = DocumentProfiles()
        for d in docs { profiles.append(d, lineBytes: encodeJSONLine(d).count) }
        var s = ShardStatistics()
        for i in 0..<profiles.count { s.add(profiles, at: i) }
        return s
    }

    func trickyDocuments(count: Int, seed: UInt64) -> [Document] {
        let pieces = [
            "word", " ", "  ", "\n", "\n\n", "\t", "\r\n", "\u{00A0}", "\u{3000}", "\u{2003}", "\u{2028}", "\u{0085}",
            "\u{000B}", "\u{000C}", "\u{001B}[33m", "\u{0000}", "\u{0008}", "é", "e\u{0301}", "中文", "日本語", "🙂", "👍🏽", "\"",
            "\\", "/", "\u{7F}", "\u{FEFF}", "\u{200B}", "Ωmega", "x",
        ]
        var rng = SplitMix64(seed: seed)
        var docs: [Document] = []
        for i in 0..<count {
            var text = ""
            let n = Int(rng.next() % 40)
            for _ in 0..<n { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
            if i % 7 == 0 { text += "\n" }
            if i % 11 == 0 { text = "" }
            var meta: JSONObject = [
                "language": .string(["en", "de", "zh"][i % 3]),
                "url": .string(["https://WWW.Example.com:8080/a?b", "http://user@docs.python.org/3/", "//cdn.x.org", "not a url"][i % 4]),
                "content_type": .string(["text/html; charset=UTF-8", "Text/Plain"][i % 2]),
                "quality": .object(["fasttext": .double(Double(rng.next() % 1000) / 1000), "perplexity": .int(Int(rng.next() % 5000))]),
                "flag": .bool(i % 2 == 0),
            ]
            if i % 5 == 0 { meta["score"] = .double(-Double(i)) }
            docs.append(Document(id: "d\(i)", text: text, source: i % 3 == 0 ? "src \"a\"" : "b", metadata: meta))
        }
        return docs
    }

    @Test("recomputing from the shard bytes gives exactly what the writer recorded, escapes and odd whitespace included")
    func scannerMatchesWriter() throws {
        let dir = TemporaryDirectory()
        let docs = trickyDocuments(count: 3000, seed: 4)
        let path = dir.file("shard.jsonl.zst")
        try writeFile(path, try ZstdCompressor.compress(jsonl(docs)))
        let scanned = try ShardScanner.scan(path: path)
        var expected = writerStatistics(docs)
        expected.compressedBytes = scanned.statistics.compressedBytes
        #expect(scanned.problems.isEmpty, "\(scanned.problems)")
        #expect(scanned.statistics == expected)
        #expect(scanned.statistics.characters == docs.reduce(0) { $0 + $1.text.unicodeScalars.count })
        #expect(scanned.statistics.metadataFields == ["quality.fasttext", "quality.perplexity", "score"])
        let domains = scanned.statistics.category(.domain).top().map(\.value)
        #expect(Set(domains) == ["example.com", "docs.python.org", "cdn.x.org"])
        let types = scanned.statistics.category(.contentType).top().map(\.value)
        #expect(Set(types) == ["text/html", "text/plain"])
        // The same through a plain file and through many small shards merged.
        try writeFile(dir.file("plain.jsonl"), jsonl(docs))
        #expect(try ShardScanner.scan(path: dir.file("plain.jsonl")).statistics.words == expected.words)
        var parts: [String] = []
        for p in 0..<5 {
            let part = dir.file("part\(p).jsonl.zst")
            try writeFile(part, try ZstdCompressor.compress(jsonl(Array(docs[(p * 600)..<((p + 1) * 600)]))))
            parts.append(part)
        }
        var merged = ShardStatistics()
        for o in try ShardScanner.scan(paths: parts, workers: 2) { merged.merge(o.statistics) }
        #expect(merged.documents == 3000 && merged.characters == expected.characters && merged.words == expected.words)
        #expect(merged.characterHistogram == expected.characterHistogram)
    }

    @Test("text counts from the scanner agree with countText on random text")
    func scannerCountsRandomText() throws {
        var rng = SplitMix64(seed: 77)
        var docs: [Document] = []
        for i in 0..<2000 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int(rng.next() % 300) {
                let r = rng.next() % 100
                let v: UInt32 = r < 60 ? UInt32(0x20 + rng.next() % 95) : r < 70 ? UInt32(rng.next() % 0x20)
                    : r < 85 ? UInt32(0xA0 + rng.next() % 0x3000) : r < 95 ? [0x00A0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0x85][Int(rng.next() % 10)]
                    : UInt32(0x10000 + rng.next() % 0x1000)
                if let u = Unicode.Scalar(v) { scalars.append(u) }
            }
            docs.append(Document(id: "\(i)", text: String(scalars), source: "s"))
        }
        let dir = TemporaryDirectory()
        try writeFile(dir.file("r.jsonl"), jsonl(docs))
        let scanned = try ShardScanner.scan(path: dir.file("r.jsonl")).statistics
        var expected = writerStatistics(docs)
        expected.compressedBytes = scanned.compressedBytes
        #expect(scanned == expected)
    }

    @Test("sidecar JSON reads back to the same statistics")
    func sidecarRoundTrip() throws {
        let stats = writerStatistics(trickyDocuments(count: 500, seed: 8))
        var withFiles = stats
        withFiles.inputFiles = ["in/a.jsonl.zst", "in/b.jsonl.zst"]
        let back = try ShardStatistics(json: withFiles.json(shard: "00000_0000.jsonl.zst"), file: "x")
        #expect(back == withFiles)
    }

    @Test("display buckets cover every value once, for scores, lengths and constants")
    func displayBucketsCoverAll() {
        var rng = SplitMix64(seed: 1)
        for make in [{ (r: inout SplitMix64) in Double(r.next() % 1000) / 1000 },
                     { (r: inout SplitMix64) in Double(r.next() % 100_000 + 1) },
                     { (_: inout SplitMix64) in 200.0 },
                     { (r: inout SplitMix64) in Double(r.next() % 50) }] as [(inout SplitMix64) -> Double] {
            var h = LogHistogram()
            for _ in 0..<3000 { h.add(make(&rng)) }
            let (buckets, _) = displayBuckets(h, maxBuckets: 24)
            #expect(!buckets.isEmpty && buckets.count <= 26)
            #expect(Int(buckets.reduce(0) { $0 + $1.count }) == 3000)
            #expect(buckets.first!.low <= h.min && buckets.last!.high >= h.max)
            let text = renderTextHistogram(h, title: "t")
            #expect(text.contains("3,000 values"))
        }
    }

    @Test("domains and media types are normalised")
    func normalisers() {
        #expect(domain(ofURL: "https://WWW.Example.COM:443/x") == "example.com")
        #expect(domain(ofURL: "http://a:b@host.org/") == "host.org")
        #expect(domain(ofURL: "https://[::1]:8080/") == "[::1]")
        #expect(domain(ofURL: "ftp://files.example.net.") == "files.example.net")
        #expect(domain(ofURL: "") == nil)
        #expect(mediaType(of: "Text/HTML; charset=utf-8") == "text/html")
        #expect(mediaType(of: " ; x") == nil)
    }
}
