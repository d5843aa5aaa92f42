import Foundation
import SluiceCore
import SluiceIO
import SluiceQuality
import SluiceTestSupport
import Testing

@Suite("Deterministic annotation sample")
struct DocumentSampleTests {
    func corpus(_ dir: TemporaryDirectory) throws -> [String] {
        var files: [String] = []
        for f in 0..<3 {
            let docs = syntheticDocuments(count: 200, bytesPerDocument: 300, seed: UInt64(f + 1), idPrefix: "f\(f)")
            let path = dir.file("in/part-\(f).jsonl\(f == 1 ? ".zst" : "")")
            try writeFile(path, f == 1 ? try ZstdCompressor.compress(jsonl(docs)) : jsonl(docs))
            files.append(path)
        }
        return files
    }

    @Test("the sample is the documents with the smallest XXH64(id, seed), whatever the file order")
    func smallestKeys() throws {
        let dir = TemporaryDirectory()
        let files = try corpus(dir)
        let a = try DocumentSample.draw(files: files, size: 50, seed: 9, maxChars: 100)
        let b = try DocumentSample.draw(files: files.reversed(), size: 50, seed: 9, maxChars: 100)
        #expect(a.documents.map(\.id) == b.documents.map(\.id))
        #expect(a.read == 600)
        var all: [(UInt64, String)] = []
        for f in 0..<3 { for i in 0..<200 { all.append((XXH64.hash("f\(f)-\(i)", seed: 9), "f\(f)-\(i)")) } }
        all.sort { $0.0 < $1.0 }
        #expect(a.documents.map(\.id) == all.prefix(50).map(\.1))
        #expect(a.documents.map(\.rank) == all.prefix(50).map(\.0))
    }

    @Test("samples nest, a new seed draws another sample, and a size beyond the corpus takes everything")
    func nestingAndSeeds() throws {
        let dir = TemporaryDirectory()
        let files = try corpus(dir)
        let small = try DocumentSample.draw(files: files, size: 10, seed: 1, maxChars: 50).documents.map(\.id)
        let large = try DocumentSample.draw(files: files, size: 100, seed: 1, maxChars: 50).documents.map(\.id)
        #expect(Array(large.prefix(10)) == small)
        let other = try DocumentSample.draw(files: files, size: 100, seed: 2, maxChars: 50).documents.map(\.id)
        #expect(Set(other) != Set(large))
        let everything = try DocumentSample.draw(files: files, size: 10_000, seed: 1, maxChars: 50)
        #expect(everything.documents.count == 600)
        #expect(Set(everything.documents.map(\.id)).count == 600)
    }

    @Test("the prefix is the first N Unicode scalars; pointers name the file and line")
    func prefixAndPointer() throws {
        let dir = TemporaryDirectory()
        let text = "héllo wörld 🌊 and more text after it"
        try writeFile(dir.file("a.jsonl"), jsonl([Document(id: "x", text: text, source: "t")]))
        let s = try DocumentSample.draw(files: [dir.file("a.jsonl")], size: 1, seed: 0, maxChars: 13, keepFullText: true)
        let d = try #require(s.documents.first)
        #expect(d.prefix == "héllo wörld 🌊")
        #expect(d.characters == text.unicodeScalars.count)
        #expect(d.fullText == text)
        #expect(d.file == dir.file("a.jsonl") && d.line == 1)
        #expect(DocumentSample.prefix("abc", maxChars: 10) == ("abc", 3))
    }

    @Test("blank documents and repeated ids are skipped and counted; invalid lines are counted")
    func skips() throws {
        let dir = TemporaryDirectory()
        var bytes = jsonl([
            Document(id: "a", text: "some text", source: "t"), Document(id: "b", text: "  \n ", source: "t"),
            Document(id: "a", text: "again", source: "t"), Document(id: "c", text: "more", source: "t"),
        ])
        bytes += Array("not json\n".utf8)
        try writeFile(dir.file("a.jsonl"), bytes)
        let s = try DocumentSample.draw(files: [dir.file("a.jsonl")], size: 10, seed: 0, maxChars: 100)
        #expect(Set(s.documents.map(\.id)) == ["a", "c"])
        #expect(s.documents.first { $0.id == "a" }?.prefix == "some text")
        #expect(s.emptyDocuments == 1)
        #expect(s.duplicateIDs == 1)
        #expect(s.invalidLines == 1)
    }

    @Test("a Sluice output folder contributes its shards only; a plain folder its JSONL files")
    func inputs() throws {
        let dir = TemporaryDirectory()
        try writeFile(dir.file("out/_manifest.json"), "{}")
        try writeFile(dir.file("out/00000_0000.jsonl.zst"), try ZstdCompressor.compress(jsonl([Document(id: "a", text: "x", source: "t")])))
        try writeFile(dir.file("out/00000_0000.stats.json"), "{}")
        try writeFile(dir.file("out/_rejected/len/00000_0000.jsonl.zst"), try ZstdCompressor.compress(jsonl([Document(id: "r", text: "x", source: "t")])))
        #expect(try DocumentSample.resolveInputs([dir.path + "/out"]) == [dir.path + "/out/00000_0000.jsonl.zst"])
        try writeFile(dir.file("plain/a.jsonl"), "")
        try writeFile(dir.file("plain/sub/b.jsonl.gz"), "")
        try writeFile(dir.file("plain/notes.txt"), "")
        #expect(try DocumentSample.resolveInputs([dir.path + "/plain"]) == [dir.path + "/plain/a.jsonl", dir.path + "/plain/sub/b.jsonl.gz"])
        #expect(throws: (any Error).self) { try DocumentSample.resolveInputs([dir.path + "/nothing-*.jsonl"]) }
    }
}
