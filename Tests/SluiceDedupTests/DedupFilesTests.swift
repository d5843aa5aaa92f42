import Dispatch
import SluiceCore
import SluiceTestSupport
import Testing

@testable import SluiceDedup

@Suite("Dedup intermediate files, sorting and union-find")
struct DedupFilesTests {
    func writeRecords(_ path: String, _ values: [UInt64]) throws {
        let w = try RecordFileWriter(path: path, kind: "TEST", recordSize: 8)
        for v in values { try w.append { $0.u64(v) } }
        try w.commit()
    }

    @Test("record files read back whole and from any record, across blocks")
    func roundTrip() throws {
        let dir = TemporaryDirectory()
        let values = (0..<20_000).map { UInt64($0) * 3 }
        try writeRecords(dir.path + "/a.rec", values)
        let r = try RecordFileReader(path: dir.path + "/a.rec", kind: "TEST", recordSize: 8)
        #expect(r.count == 20_000)
        let all = try r.readAll()
        #expect(all.count == 160_000)
        #expect(loadLE64(all, 8 * 12_345) == 37_035)
        let at = try r.lowerBound { loadLE64($0, 0) >= 30_001 }
        #expect(at == 10_001)
        var c = RecordCursor(r, from: 9_000, to: 9_003)
        var seen: [UInt64] = []
        while try c.fill() {
            seen.append(c.u64(at: 0))
            c.advance()
        }
        #expect(seen == [27_000, 27_003, 27_006])
        #expect(try r.lowerBound { _ in false } == 20_000)
    }

    @Test("an empty record file is valid")
    func empty() throws {
        let dir = TemporaryDirectory()
        try writeRecords(dir.path + "/e.rec", [])
        let r = try RecordFileReader(path: dir.path + "/e.rec", kind: "TEST", recordSize: 8)
        #expect(r.count == 0)
        #expect(try r.readAll().isEmpty)
    }

    @Test("a flipped byte, a truncation or the wrong kind is an error naming the file")
    func damage() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/d.rec"
        try writeRecords(path, (0..<10_000).map { UInt64($0) })
        var bytes = try readFile(path)
        bytes[40_000] ^= 1
        try writeFile(path, bytes)
        let r = try RecordFileReader(path: path, kind: "TEST", recordSize: 8)
        #expect { _ = try r.readAll() } throws: { "\($0)".contains(path) && "\($0)".contains("checksum mismatch in block") }
        try writeFile(path, Array(bytes.prefix(bytes.count - 100)))
        #expect { _ = try RecordFileReader(path: path, kind: "TEST", recordSize: 8) } throws: { "\($0)".contains(path) }
        try writeRecords(path, [1, 2])
        #expect { _ = try RecordFileReader(path: path, kind: "PAIR", recordSize: 8) } throws: { "\($0)".contains("other records") }
        #expect { _ = try RecordFileReader(path: dir.path + "/none", kind: "TEST", recordSize: 8) } throws: { "\($0)".contains("missing") }
    }

    @Test("an unfinished record file never appears under its final name")
    func atomic() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/u.rec"
        do {
            let w = try RecordFileWriter(path: path, kind: "TEST", recordSize: 8)
            try w.append { $0.u64(1) }
            w.abort()
        }
        #expect(!Files.exists(path))
        #expect(Files.list(dir.path).isEmpty)
    }

    @Test("radix sort orders keys and keeps equal keys in their original order")
    func radix() {
        var rng = SplitMix64(seed: 4)
        for n in [0, 1, 100, 5000, 70_000] {
            var keys = (0..<n).map { _ in rng.next() % 1000 &* 0x1234_5678_9ABC }
            var values = (0..<n).map { UInt32($0) }
            let expected = zip(keys, values).sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            radixSort(keys: &keys, values: &values)
            #expect(keys == expected.map(\.0))
            #expect(values == expected.map(\.1))
        }
    }

    @Test("concurrent union-find gives each set its smallest member as root, whatever the order")
    func unionFind() throws {
        var rng = SplitMix64(seed: 8)
        let n = 50_000
        let edges = (0..<30_000).map { _ in (UInt32(rng.next() % UInt64(n)), UInt32(rng.next() % UInt64(n))) }
        // Reference: a plain sequential union-find.
        var parent = Array(0..<n)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { x = parent[x] }
            return x
        }
        for (a, b) in edges {
            let ra = find(Int(a)), rb = find(Int(b))
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        let expected = (0..<n).map { UInt32(find($0)) }
        let uf = ConcurrentUnionFind(count: n)
        DispatchQueue.concurrentPerform(iterations: 4) { part in
            for (i, e) in edges.enumerated() where i % 4 == part { uf.union(e.0, e.1) }
        }
        #expect(try uf.roots(workers: 3) == expected)
        // Flattened in place (on several threads, 50,000 elements in chunks), every element
        // points straight at its root.
        try uf.flatten(workers: 3)
        #expect((0..<n).map { uf.root($0) } == expected)
    }

    @Test("decision files merge in (document, unit) order")
    func decisions() throws {
        let dir = TemporaryDirectory()
        let work = DedupWork(root: dir.path, name: "w")
        let spill = DecisionSpiller(work: work, phase: "d", producerTask: 0, budgetRecords: 1024)
        for i in stride(from: 5000, to: 0, by: -1) {
            try spill.add(task: i % 2, Decision(index: UInt32(i), unit: UInt32(i % 3), size: 2, remove: true, cluster: 0))
        }
        try spill.spill()
        let files = spill.files.filter { $0.path.contains("-for-00001-") }.map { work.path($0.path) }
        #expect(files.count == 5)
        var stream = try DecisionStream(files: files)
        var last: UInt64 = 0
        var n = 0
        while let d = try stream.next() {
            #expect(d.sortKey > last)
            last = d.sortKey
            n += 1
        }
        #expect(n == 2500)
    }
}
