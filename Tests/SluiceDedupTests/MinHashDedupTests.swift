import Foundation
import SluiceCore
import SluiceTestSupport
import Testing

@testable import SluiceDedup

@Suite("MinHash-LSH dedup in four steps")
struct MinHashDedupTests {
    func phases(_ c: MinhashDedup.Configuration = .init(), id: String = "minhash_dedup") throws -> [StagePhase] {
        try MinhashDedup(configuration: c).phases(stageID: id)!
    }

    func metadataCluster(_ d: Document) -> Int? {
        guard case .number(let n)? = d.metadata["minhash_cluster_id"] else { return nil }
        return n.intValue
    }

    @Test("planted near-duplicates: recall >= 0.9 at Jaccard >= 0.85 and precision >= 0.98 against exact Jaccard")
    func plantedQuality() throws {
        // Each base gets one variant, so clusters are pairs and every removal names its pair.
        let levels = [0.98, 0.95, 0.9, 0.85, 0.5, 0.3, 0.0]
        var docs: [Document] = []
        var pairs: [(a: Int, b: Int)] = []
        for (li, level) in levels.enumerated() {
            let c = PlantedCorpus(bases: 120, words: 200, similarities: [level], seed: UInt64(100 + li))
            for p in c.pairs { pairs.append((docs.count + p.a, docs.count + p.b)) }
            for var d in c.documents {
                d.id = "L\(li)-" + d.id
                docs.append(d)
            }
        }
        let driver = DedupDriver()
        let result = try driver.runPhases(
            try phases(.init(clusterMetadata: true)), stageID: "minhash_dedup", tasks: splitIntoTasks(docs, tasks: 3), workTasks: 2)
        var clusterOf: [String: Int] = [:]
        for d in result.allKept { clusterOf[d.id] = metadataCluster(d) }
        for task in result.dropped { for (d, _) in task { clusterOf[d.id] = metadataCluster(d) } }
        var high = 0
        var highFound = 0
        var found = 0
        var foundTrue = 0
        for p in pairs {
            let j = PlantedCorpus.jaccard(docs[p.a].text, docs[p.b].text)
            let ca = clusterOf[docs[p.a].id] ?? -1
            let cb = clusterOf[docs[p.b].id] ?? -1
            let same = ca >= 0 && ca == cb
            if j >= 0.85 {
                high += 1
                if same { highFound += 1 }
            }
            if same {
                found += 1
                if j >= 0.7 { foundTrue += 1 }
            }
        }
        let recall = Double(highFound) / Double(high)
        let precision = Double(foundTrue) / Double(max(1, found))
        #expect(high >= 400)
        #expect(recall >= 0.9, "recall \(recall) (\(highFound)/\(high))")
        #expect(precision >= 0.98, "precision \(precision) (\(foundTrue)/\(found))")
        // Every removed document was removed for a planted pair, never for an unrelated one.
        let removed = result.dropped.flatMap { $0 }.count
        #expect(removed == found)
    }

    @Test("exact and near copies across tasks: the first in input order stays, the others go")
    func keepsFirstAcrossTasks() throws {
        let base = PlantedCorpus(bases: 30, words: 120, similarities: [], seed: 7).documents
        var docs = base
        // Copies of documents 3 and 10 at the end (another task), one with a small edit.
        var copy3 = base[3]
        copy3.id = "copy-3"
        var copy10 = base[10]
        copy10.id = "copy-10"
        copy10.text = copy10.text.replacingFirstWord(with: "Zzz")
        docs += [copy3, copy10]
        let driver = DedupDriver()
        let r = try driver.runPhases(try phases(id: "m"), stageID: "m", tasks: splitIntoTasks(docs, tasks: 4))
        let dropped = r.dropped.flatMap { $0 }
        #expect(Set(dropped.map(\.0.id)) == ["copy-3", "copy-10"])
        #expect(dropped.allSatisfy { $0.1 == "minhash_duplicate" })
        #expect(r.allKept.count == 30)
        #expect(r.stats.dropped["minhash_duplicate"] == 2)
        let report = try JSONFile(driver.workDirectory + "/m/report.json")
        #expect(try report.int("documents_removed") == 2)
        #expect(try report.int("clusters") == 2)
    }

    @Test("keep: highest keeps the copy with the highest priority field")
    func keepHighest() throws {
        let base = PlantedCorpus(bases: 5, words: 80, similarities: [], seed: 3).documents
        var docs: [Document] = []
        for (i, q) in [0.2, 0.9, 0.5].enumerated() {
            var d = base[0]
            d.id = "copy-\(i)"
            d.metadata["quality"] = .double(q)
            docs.append(d)
        }
        docs += base.dropFirst()
        var c = MinhashDedup.Configuration()
        c.signatures.keep = .highest
        c.signatures.priorityField = "quality"
        let r = try DedupDriver().runPhases(try phases(c, id: "m"), stageID: "m", tasks: [docs])
        #expect(Set(r.dropped.flatMap { $0 }.map(\.0.id)) == ["copy-0", "copy-2"])
        #expect(r.allKept.contains { $0.id == "copy-1" })
    }

    @Test("the result does not depend on the number of workers, work tasks or batch order")
    func deterministic() throws {
        let corpus = PlantedCorpus(bases: 40, words: 100, similarities: [0.9, 0.8], seed: 11).documents
        var outcomes: [[String]] = []
        for (workers, workTasks) in [(1, 1), (2, 3), (3, 2)] {
            let r = try DedupDriver().runPhases(
                try phases(.init(clusterMetadata: true), id: "m"), stageID: "m", tasks: splitIntoTasks(corpus, tasks: 2),
                workTasks: workTasks, workers: workers)
            outcomes.append(r.allKept.map { "\($0.id):\($0.metadata["minhash_cluster_id"]!)" })
        }
        #expect(outcomes[0] == outcomes[1])
        #expect(outcomes[0] == outcomes[2])
    }

    @Test("documents with fewer words than the n-gram size are never duplicates")
    func shortDocuments() throws {
        let docs = (0..<5).map { Document(id: "s\($0)", text: "too short") }
        let driver = DedupDriver()
        let r = try driver.runPhases(try phases(id: "m"), stageID: "m", tasks: [docs])
        #expect(r.allKept.count == 5)
    }

    @Test("a buckets step without signatures fails loudly, naming the folder and the step to run")
    func noSignatures() throws {
        let driver = DedupDriver()
        #expect {
            try driver.runWork(MinhashBuckets(work: "minhash"))
        } throws: { e in
            "\(e)".contains("no signatures") && "\(e)".contains("minhash_signatures")
        }
    }

    @Test("a dedup whose signing step saw no documents fails loudly")
    func noDocuments() throws {
        let driver = DedupDriver()
        let p = try phases(id: "m")
        _ = try driver.runDocuments(p[0].stage as! MinhashSignatures, stageID: "m", tasks: [[], []])
        #expect {
            try driver.runWork(p[1].stage as! MinhashBuckets)
        } throws: { e in
            "\(e)".contains("saw no documents")
        }
    }

    @Test("the removal step refuses another task count than the signing step")
    func taskCountMismatch() throws {
        let docs = PlantedCorpus(bases: 6, words: 50, similarities: [0.9], seed: 5).documents
        let driver = DedupDriver()
        let p = try phases(id: "m")
        _ = try driver.runDocuments(p[0].stage as! MinhashSignatures, stageID: "m", tasks: splitIntoTasks(docs, tasks: 2))
        try driver.runWork(p[1].stage as! MinhashBuckets)
        try driver.runWork(p[2].stage as! MinhashClusters)
        #expect {
            _ = try driver.runDocuments(p[3].stage as! MinhashFilter, stageID: "m", tasks: splitIntoTasks(docs, tasks: 3))
        } throws: { e in
            "\(e)".contains("runs 3 tasks but the minhash_signatures step ran 2")
        }
    }

    @Test("the removal step refuses input that differs from what was signed")
    func inputChanged() throws {
        let docs = PlantedCorpus(bases: 6, words: 50, similarities: [0.9], seed: 5).documents
        let driver = DedupDriver()
        let p = try phases(id: "m")
        _ = try driver.runDocuments(p[0].stage as! MinhashSignatures, stageID: "m", tasks: [docs])
        try driver.runWork(p[1].stage as! MinhashBuckets)
        try driver.runWork(p[2].stage as! MinhashClusters)
        #expect {
            _ = try driver.runDocuments(p[3].stage as! MinhashFilter, stageID: "m", tasks: [Array(docs.dropLast())])
        } throws: { e in
            "\(e)".contains("read 11 documents but the minhash_signatures step read 12")
        }
    }

    @Test("a damaged signature file is named in the error")
    func corruptSignatures() throws {
        let docs = PlantedCorpus(bases: 20, words: 60, similarities: [0.9], seed: 9).documents
        let driver = DedupDriver()
        let p = try phases(id: "m")
        _ = try driver.runDocuments(p[0].stage as! MinhashSignatures, stageID: "m", tasks: [docs])
        let file = driver.workDirectory + "/m/signatures/band_003/00000-0000.sig"
        var bytes = try readFile(file)
        bytes[40] ^= 0xFF
        try writeFile(file, bytes)
        #expect {
            try driver.runWork(p[1].stage as! MinhashBuckets)
        } throws: { e in
            "\(e)".contains(file) && "\(e)".contains("checksum")
        }
    }

    @Test("the report holds the parameters, the S-curve threshold and the cluster-size histogram")
    func report() throws {
        let corpus = PlantedCorpus(bases: 10, words: 100, similarities: [0.95, 0.95, 0.95], seed: 2).documents
        let driver = DedupDriver()
        let r = try driver.runPhases(try phases(id: "m"), stageID: "m", tasks: [corpus])
        let report = try JSONFile(driver.workDirectory + "/m/report.json")
        let params = try report.value("parameters").objectValue!
        #expect(params["bands"] == .int(14))
        #expect(params["rows"] == .int(8))
        #expect(params["ngram"] == .int(5))
        guard case .number(let t) = try report.value("threshold") else { Issue.record("no threshold"); return }
        #expect(abs(t.doubleValue - 0.7187) < 0.001)
        #expect(try report.value("cluster_size_histogram").objectValue?["4"] == .int(10))
        #expect(r.allKept.count == 10)
    }

    @Test("hash: sha1 removes the same planted copies and the report and work files name the hash")
    func sha1Hash() throws {
        let corpus = PlantedCorpus(bases: 10, words: 100, similarities: [0.95, 0.95, 0.95], seed: 2).documents
        var outcomes: [[String]] = []
        for hash in ShingleHash.allCases {
            let driver = DedupDriver()
            var c = MinhashDedup.Configuration()
            c.signatures.hash = hash
            let r = try driver.runPhases(try phases(c, id: "m"), stageID: "m", tasks: splitIntoTasks(corpus, tasks: 2))
            outcomes.append(r.allKept.map(\.id))
            let report = try JSONFile(driver.workDirectory + "/m/report.json")
            #expect(report.object["parameters"]?.objectValue?["hash"] == .string(hash.recordName))
            let record = try JSONFile(driver.workDirectory + "/m/signatures/00000.json")
            #expect(try record.string("hash") == hash.recordName)
        }
        #expect(outcomes[0].count == 10)
        #expect(outcomes[0] == outcomes[1])
        let xx = try MinhashDedup(configuration: .init()).settings.jobID
        let sha = try MinhashDedup(configuration: .init(signatures: .init(hash: .sha1))).settings.jobID
        #expect(xx != sha, "work files of one hash are never taken for the other's")
    }

    @Test("S-curve: the candidate probability of the default parameters")
    func sCurve() {
        let p = MinHashParameters()
        #expect(abs(p.candidateProbability(similarity: 0.8) - 0.924) < 0.001)
        #expect(abs(p.threshold - pow(1.0 / 14, 1.0 / 8)) < 1e-12)
    }

    @Test("cluster sizes fall into bins that double")
    func bins() {
        #expect(clusterSizeBin(2) == "cluster_size_2")
        #expect(clusterSizeBin(3) == "cluster_size_3-4")
        #expect(clusterSizeBin(4) == "cluster_size_3-4")
        #expect(clusterSizeBin(5) == "cluster_size_5-8")
        #expect(clusterSizeBin(100) == "cluster_size_65-128")
    }

    @Test("removal stages see each task's batches in order and name their drop reason and options")
    func removalStagesAreStateful() throws {
        let stages: [any Stage] = [
            try MinhashFilter(configuration: .init()), try ExactDedupFilter(configuration: .init()),
            try MinhashDedup(configuration: .init()).phases(stageID: "m")!.last!.stage,
            try ExactDedup(configuration: .init()).phases(stageID: "e")!.last!.stage,
            try LineDedup(configuration: .init()).phases(stageID: "l")!.last!.stage,
        ]
        for s in stages { #expect(!type(of: s).isStateless, "\(type(of: s))") }
        #expect(MinhashFilter.dropReasons == ["minhash_duplicate"])
        #expect(ExactDedupFilter.dropReasons == ["exact_duplicate"])
        #expect(MinhashFilter.options.map(\.name) == ["work", "cluster_metadata"])
        #expect(ExactDedupFilter.options.first?.defaultValue == "exact_dedup")
    }

    @Test("options are checked when the stage is built")
    func badOptions() {
        #expect(throws: StageConfigurationError.self) {
            _ = try MinhashDedup(configuration: .init(signatures: .init(keep: .highest)))
        }
        #expect(throws: StageConfigurationError.self) {
            _ = try MinhashDedup(configuration: .init(signatures: .init(bands: 0)))
        }
        #expect(throws: StageConfigurationError.self) {
            _ = try MinhashSignatures(configuration: .init(work: "../x"))
        }
    }
}

extension String {
    func replacingFirstWord(with word: String) -> String {
        guard let space = firstIndex(of: " ") else { return word }
        return word + self[space...]
    }
}

@Suite("MinHash scale benchmark")
struct DedupBenchmarkTests {
    @Test("the benchmark runs the four steps over generated documents and reports time and memory")
    func smallRun() throws {
        let dir = TemporaryDirectory()
        let r = try DedupBenchmark.runMinHash(documents: 3000, words: 40, workers: 2, changeEvery: 40, work: dir.path + "/w")
        #expect(r.steps.map(\.name) == DedupBenchmark.stepNames)
        #expect(r.steps[0].counters["signed"] == 3000)
        // One document in ten is a near copy (Jaccard about 0.76: caught with probability 0.8).
        #expect(r.removed > 150 && r.removed < 320, "removed \(r.removed)")
        #expect(r.steps.allSatisfy { ($0.peakResidentBytes ?? 1) > 0 })
        // Steps can run one at a time, each from the files of the one before.
        let again = try DedupBenchmark.runMinHash(
            documents: 3000, words: 40, workers: 2, changeEvery: 40, work: dir.path + "/w", only: ["clusters", "remove"])
        #expect(again.removed == r.removed)
    }
}
