import Foundation
import SluiceCore
import SluiceLLM
import SluiceTestSupport
import Testing

@Suite("LLM response cache")
struct ResponseCacheTests {
    func logFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".log") }.sorted().map { dir + "/" + $0 }
    }

    @Test("stored replies are found again after reopening, and keys differ for any differing part")
    func roundTrip() throws {
        let dir = TemporaryDirectory()
        do {
            let cache = try ResponseCache(directory: dir.path + "/c")
            for i in 0..<100 { try cache.store(Array("value \(i)".utf8), for: CacheKey(parts: ["doc\(i)", "0"])) }
            #expect(cache.value(for: CacheKey(parts: ["doc7", "0"])) == Array("value 7".utf8))
        }
        let again = try ResponseCache(directory: dir.path + "/c")
        #expect(again.count == 100)
        #expect(again.value(for: CacheKey(parts: ["doc42", "0"])) == Array("value 42".utf8))
        #expect(again.value(for: CacheKey(parts: ["doc4", "20"])) == nil)
        #expect(CacheKey(parts: ["ab", "c"]) != CacheKey(parts: ["a", "bc"]))
        #expect(again.damagedFiles == 0)
    }

    @Test("a record cut off by a kill, or damaged, is ignored and the rest survives")
    func tornTail() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/c"
        do {
            let cache = try ResponseCache(directory: path)
            for i in 0..<10 { try cache.store(Array(String(repeating: "x", count: 50 + i).utf8), for: CacheKey(parts: ["\(i)"])) }
        }
        let file = logFiles(path)[0]
        var bytes = try readFile(file)
        let full = bytes.count
        bytes.removeLast(30)  // the last record loses its end, as after kill -9 mid-write
        try writeFile(file, bytes)
        var reopened = try ResponseCache(directory: path)
        #expect(reopened.count == 9)
        #expect(reopened.damagedFiles == 1)
        #expect(reopened.value(for: CacheKey(parts: ["8"])) != nil)
        #expect(reopened.value(for: CacheKey(parts: ["9"])) == nil)
        // A new writer uses its own file, so the damaged tail is never built upon.
        try reopened.store(Array("again".utf8), for: CacheKey(parts: ["9"]))
        #expect(logFiles(path).count == 2)
        reopened = try ResponseCache(directory: path)
        #expect(reopened.count == 10)

        // Flip one byte inside the third record's payload: its checksum fails, so it and the
        // records after it in that file are ignored.
        bytes = try readFile(file)
        #expect(bytes.count == full - 30)
        let third = (24 + 50 + 8) + (24 + 51 + 8) + 24 + 5  // records 0 and 1, the header of 2, into its payload
        bytes[third] ^= 0xFF
        try writeFile(file, bytes)
        reopened = try ResponseCache(directory: path)
        #expect(reopened.value(for: CacheKey(parts: ["1"])) != nil)
        #expect(reopened.value(for: CacheKey(parts: ["2"])) == nil)
        #expect(reopened.value(for: CacheKey(parts: ["9"])) == Array("again".utf8))
    }

    @Test("two writers on one folder (two tasks) each keep their entries")
    func concurrentWriters() throws {
        let dir = TemporaryDirectory()
        let a = try ResponseCache(directory: dir.path)
        let b = try ResponseCache(directory: dir.path)
        DispatchQueue.concurrentPerform(iterations: 400) { i in
            try! (i % 2 == 0 ? a : b).store(Array("v\(i)".utf8), for: CacheKey(parts: ["k\(i)"]))
        }
        let c = try ResponseCache(directory: dir.path)
        #expect(c.count == 400)
        #expect(c.value(for: CacheKey(parts: ["k399"])) == Array("v399".utf8))
        #expect(c.allEntries().count == 400)
    }

    @Test("a reply round-trips through its cache bytes")
    func replyBytes() {
        let r = LLMReply(text: "héllo \"q\"\n", finishReason: "stop", promptTokens: 3, completionTokens: 9, model: "m")
        #expect(LLMReply(cacheBytes: r.cacheBytes(context: ["doc_id": .string("d1")])) == r)
        #expect(LLMReply(cacheBytes: Array("{}".utf8)) == nil)
    }
}
