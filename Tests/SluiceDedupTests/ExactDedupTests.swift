import SluiceCore
import SluiceTestSupport
import Testing

@testable import SluiceDedup

@Suite("Exact, paragraph and line dedup")
struct ExactDedupTests {
    func doc(_ id: String, _ text: String, _ metadata: JSONObject = [:]) -> Document {
        Document(id: id, text: text, metadata: metadata)
    }

    @Test("exact copies across tasks are removed, whitespace differences included; the first stays")
    func exactAcrossTasks() throws {
        let docs = [
            doc("a", "The river carries sediment."), doc("b", "Something else entirely."),
            doc("c", "  The river   carries\nsediment. "), doc("d", "The river carries sediment!"),
            doc("e", "Something else entirely."),
        ]
        let phases = try ExactDedup(configuration: .init(clusterMetadata: true)).phases(stageID: "x")!
        let r = try DedupDriver().runPhases(phases, stageID: "x", tasks: splitIntoTasks(docs, tasks: 3), workTasks: 2)
        #expect(r.allKept.map(\.id) == ["a", "b", "d"])
        #expect(Set(r.dropped.flatMap { $0 }.map(\.0.id)) == ["c", "e"])
        let a = r.allKept.first { $0.id == "a" }!
        #expect(a.metadata["exact_cluster_size"] == .int(2))
        #expect(r.allKept.first { $0.id == "d" }!.metadata["exact_cluster_size"] == .int(1))
        #expect(r.allKept.first { $0.id == "d" }!.metadata["exact_cluster_id"] == .int(-1))
    }

    @Test("dedup by a metadata field keeps the copy with the latest date")
    func byURLKeepLatest() throws {
        let docs = [
            doc("1", "old text", ["url": .string("https://x/a"), "date": .string("2021-05-01T00:00:00Z")]),
            doc("2", "new text", ["url": .string("https://x/a"), "date": .string("2024-01-02")]),
            doc("3", "other", ["url": .string("https://x/b"), "date": .string("2020-01-01")]),
            doc("4", "no url"),
            doc("5", "no url"),
        ]
        var c = ExactDedup.Configuration()
        c.hashes.field = "metadata.url"
        c.hashes.keep = .highest
        c.hashes.priorityField = "date"
        let phases = try ExactDedup(configuration: c).phases(stageID: "x")!
        let r = try DedupDriver().runPhases(phases, stageID: "x", tasks: [docs])
        #expect(r.allKept.map(\.id) == ["2", "3", "4", "5"])
        #expect(r.stats.dropped["exact_duplicate"] == 1)
    }

    @Test("simplified normalisation matches case, digits and punctuation differences")
    func simplified() throws {
        let docs = [doc("a", "Call 555-1234, now!"), doc("b", "call 999 0000 NOW"), doc("c", "call me later")]
        var c = ExactDedup.Configuration()
        c.hashes.normalize = .simplified
        let r = try DedupDriver().runPhases(try ExactDedup(configuration: c).phases(stageID: "x")!, stageID: "x", tasks: [docs])
        #expect(r.allKept.map(\.id) == ["a", "c"])
    }

    @Test("paragraph dedup removes paragraphs seen earlier and keeps the document's shape")
    func paragraphs() throws {
        let boiler = "Subscribe to our newsletter for weekly updates."
        let docs = [
            doc("a", "First article about rivers and their deltas.\n\n\(boiler)\n"),
            doc("b", "\(boiler)\n\nSecond article, about locks on canals.\nIt has two lines.\n"),
            doc("c", "Third one.\n\n\(boiler)"),
            doc("d", boiler),
        ]
        let stage = try ParagraphDedup(configuration: .init())
        let r = try DedupDriver().runPhases(try stage.phases(stageID: "p")!, stageID: "p", tasks: splitIntoTasks(docs, tasks: 2))
        let byID = Dictionary(uniqueKeysWithValues: r.allKept.map { ($0.id, $0.text) })
        #expect(byID["a"] == "First article about rivers and their deltas.\n\n\(boiler)\n")
        #expect(byID["b"] == "Second article, about locks on canals.\nIt has two lines.\n")
        #expect(byID["c"] == "Third one.")
        #expect(byID["d"] == nil)
        #expect(r.dropped.flatMap { $0 }.map(\.1) == ["duplicate_paragraphs"])
        #expect(r.stats.counters["units_removed"] == 3)
    }

    @Test("line dedup skips lines shorter than min_chars")
    func lines() throws {
        let docs = [
            doc("a", "ok\nA long line that repeats across documents.\nunique line number one here"),
            doc("b", "ok\nA long line that repeats across documents.\nunique line number two here"),
        ]
        let stage = try LineDedup(configuration: .init(minChars: 5))
        let r = try DedupDriver().runPhases(try stage.phases(stageID: "l")!, stageID: "l", tasks: [docs])
        #expect(r.allKept.map(\.text) == [docs[0].text, "ok\nunique line number two here"])
    }

    @Test("bloom mode removes repeated lines in one pass and reports the filter's real fill")
    func bloom() throws {
        var docs: [Document] = []
        for i in 0..<200 { docs.append(doc("d\(i)", "header line shared by all\nbody number \(i) is unique here xyz\(i)")) }
        let stage = try LineDedup(configuration: .init(mode: .bloom, normalize: ContentNormalization.none, expectedItems: 1000, falsePositiveRate: 0.01))
        #expect(try stage.phases(stageID: "b") == nil)
        let driver = DedupDriver()
        let r = try driver.runDocuments(stage, stageID: "b", tasks: [docs])
        #expect(r.allKept.count == 200)
        #expect(r.allKept[0].text == docs[0].text)
        #expect(r.allKept[1].text == "body number 1 is unique here xyz1")
        #expect(r.stats.counters["units_removed"] == 199)
        #expect(r.stats.counters["bloom_items_added"] == 201)
        let bits = r.stats.counters["bloom_bits"]!
        let set = r.stats.counters["bloom_bits_set"]!
        // 1000 items at 1%: about 9,600 bits and 7 hashes; 201 items fill about 14%.
        #expect(bits >= 9000 && bits <= 10000)
        #expect(Double(set) / Double(bits) > 0.10 && Double(set) / Double(bits) < 0.18)
        let report = try JSONFile(driver.workDirectory + "/b/bloom-00000.json")
        #expect(try report.int("items_added") == 201)
        #expect(try report.value("over_capacity") == .bool(false))
    }

    @Test("Bloom filter sizing follows m = -n ln p / (ln 2)^2")
    func bloomSizing() {
        let (bits, k) = BloomFilter.size(expectedItems: 1_000_000, falsePositiveRate: 0.01)
        #expect(abs(Double(bits) - 9_585_059) < 100)
        #expect(k == 7)
    }

    @Test("text units split and rejoin")
    func units() {
        let p = TextUnits(kind: .paragraph)
        let text = "\n\nOne\nstill one\n\n\nTwo\n  \nThree"
        #expect(p.ranges(text).count == 3)
        #expect(p.removing([1], from: text).0 == "\n\nOne\nstill one\n\n\nThree")
        #expect(p.removing([2], from: text).0 == "\n\nOne\nstill one\n\n\nTwo")
        #expect(p.removing([0, 1, 2], from: text).0 == "")
        let l = TextUnits(kind: .line)
        #expect(l.removing([0], from: "a\nb\n").0 == "b\n")
        #expect(l.removing([1], from: "a\nb\n").0 == "a\n")
        #expect(l.removing([1], from: "a\nb").0 == "a")
    }

    @Test("ISO-8601 dates become comparable numbers")
    func dates() {
        #expect(parseISO8601("1970-01-02") == 86400)
        #expect(parseISO8601("2024-01-02T03:04:05Z")! < parseISO8601("2024-01-02T03:04:06Z")!)
        #expect(parseISO8601("2024-01-02T03:04:05+01:00") == parseISO8601("2024-01-02T02:04:05Z"))
        #expect(parseISO8601("yesterday") == nil)
        #expect(priorityNumber(.string("0.5")) == 0.5)
    }
}
