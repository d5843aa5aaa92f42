// `sluice-bench passthrough`: the floor of the I/O path, `sluice run` with no stage and with one
// filter, on 1 and 2 workers.
import Foundation
import SluiceCore
import SluiceIO

let passthroughCommand = BenchCommand(
    name: "passthrough",
    summary: """
        Generates (once) a JSONL.zst file of ~2 KB English-like documents, then times the floor
          (zstd -dc FILE | zstd -3 -T1 > /dev/null) and `sluice run` with no stage and with one filter
          (length_filter), each in its own process: MB/s, documents/s, ratio to the floor, speed-up, peak RSS.
        """,
    options: [
        OptionSpec(name: "size", value: "SIZE", help: "uncompressed input size to generate (default 1GB; e.g. 200MB)"),
        OptionSpec(name: "dir", value: "DIR", help: "working folder for the input and outputs (default /tmp/sluice-bench)"),
        OptionSpec(name: "workers", value: "LIST", help: "worker counts to measure (default 1,2)"),
        OptionSpec(name: "repeat", value: "N", help: "runs per configuration; the fastest is reported (default 1)"),
        OptionSpec(name: "pin", value: nil, help: "run W workers on W cores only (taskset -c 0-(W-1)), to measure scaling per core"),
        OptionSpec(name: "json", value: nil, help: "print the results as JSON"),
    ])

func runPassthrough(_ args: [String]) throws {
    let o = passthroughCommand.parse(args)
    var size = ByteSize(bytes: 1_000_000_000)
    if let s = o.optionalString("size") {
        guard let parsed = ByteSize(parsing: s) else { passthroughCommand.fail("--size must be a size such as 200MB, got '\(s)'") }
        size = parsed
    }
    let dir = o.string("dir", "/tmp/sluice-bench")
    let workerCounts = o.optionalString("workers").map { $0.split(separator: ",").compactMap { Int($0) } } ?? [1, 2]
    guard !workerCounts.isEmpty, workerCounts.allSatisfy({ $0 >= 1 }) else { passthroughCommand.fail("--workers must list worker counts such as 1,2") }
    let repeats = o.int("repeat", 1)
    let asJSON = o.flag("json")
    let pin = o.flag("pin")

    let sluice = try sluiceBinary()
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let input = dir + "/input-\(size.bytes).jsonl.zst"
    let metaPath = input + ".meta"
    var documents = 0
    var uncompressed = 0
    if let meta = try? String(contentsOfFile: metaPath, encoding: .utf8), FileManager.default.fileExists(atPath: input) {
        let parts = meta.split(separator: " ")
        documents = Int(parts[0]) ?? 0
        uncompressed = Int(parts[1]) ?? 0
    } else {
        FileHandle.standardError.write(Data("sluice-bench: generating \(size) of JSONL.zst in \(input)…\n".utf8))
        let g = try generatePassthroughInput(path: input, bytes: size.bytes)
        documents = g.documents
        uncompressed = g.bytes
        try "\(documents) \(uncompressed)".write(toFile: metaPath, atomically: true, encoding: .utf8)
    }
    let compressedSize = (try FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
    FileHandle.standardError.write(Data("sluice-bench: input \(documents) documents, \(formatBytes(uncompressed)) JSONL, \(formatBytes(compressedSize)) zstd\n".utf8))

    // Warm the page cache, then the floor.
    _ = try measure(["/bin/sh", "-c", "cat '\(input)' > /dev/null"])
    let floor = try fastest(repeats) { try measure(["/bin/sh", "-c", "zstd -dc '\(input)' | zstd -3 -T1 -q > /dev/null"]) }

    struct Row {
        var name: String
        var workers: Int
        var m: Measurement
    }
    var rows: [Row] = []
    for (name, stages) in [("pass-through", "stages: []"), ("one filter", "stages:\n  - type: length_filter\n    min_words: 10")] {
        for w in workerCounts {
            let out = dir + "/out"
            let pipeline = """
                name: bench
                input:
                  type: jsonl
                  paths: ["\(input)"]
                \(stages)
                output:
                  path: \(out)
                  max_shard_bytes: 256MB
                  compression_level: 3
                run:
                  tasks: 1
                  workers: \(w)

                """
            let pipelinePath = dir + "/bench.yaml"
            try pipeline.write(toFile: pipelinePath, atomically: true, encoding: .utf8)
            let m = try fastest(repeats) {
                try? FileManager.default.removeItem(atPath: out)
                let command = [sluice, "run", pipelinePath, "--quiet"]
                return try measure(pin ? ["/usr/bin/taskset", "-c", "0-\(w - 1)"] + command : command)
            }
            rows.append(Row(name: name, workers: w, m: m))
        }
    }

    let mb = Double(uncompressed) / 1e6
    func rate(_ m: Measurement) -> Double { mb / m.seconds }
    if asJSON {
        var results: [JSONValue] = []
        for r in rows {
            let one = rows.first { $0.name == r.name && $0.workers == 1 }
            results.append(
                .object([
                    "benchmark": .string(r.name), "workers": .int(r.workers), "seconds": .double(r.m.seconds),
                    "mb_per_s": .double(rate(r.m)), "documents_per_s": .double(Double(documents) / r.m.seconds),
                    "ratio_to_floor": .double(rate(r.m) / rate(floor)),
                    "speedup_vs_1_worker": one.map { .double($0.m.seconds / r.m.seconds) } ?? .null,
                    "peak_rss_bytes": .int(r.m.peakRSS),
                ]))
        }
        let report: JSONValue = .object([
            "input": .object([
                "documents": .int(documents), "bytes": .int(uncompressed), "compressed_bytes": .int(compressedSize),
            ]),
            "pinned": .bool(pin),
            "floor": .object(["command": .string("zstd -dc FILE | zstd -3 -T1 > /dev/null"), "seconds": .double(floor.seconds), "mb_per_s": .double(rate(floor))]),
            "results": .array(results),
        ])
        printJSON(report)
    } else {
        if pin { print("pinned: W workers run on cores 0..W-1 (taskset); the floor is not pinned") }
        print("input: \(documents) documents, \(formatBytes(uncompressed)) JSONL (\(formatBytes(compressedSize)) zstd)")
        print("floor: zstd -dc | zstd -3 -T1  \(formatFixed(floor.seconds, digits: 2)) s  \(formatFixed(rate(floor), digits: 1)) MB/s\n")
        print("benchmark      workers   seconds     MB/s    docs/s  vs floor  vs 1 worker  peak RSS")
        for r in rows {
            let one = rows.first { $0.name == r.name && $0.workers == 1 }
            let speedup = one.map { formatFixed($0.m.seconds / r.m.seconds, digits: 2) + "x" } ?? "-"
            let cols = [
                r.name.padding(toLength: 14, withPad: " ", startingAt: 0), String(r.workers).leftPad(7),
                formatFixed(r.m.seconds, digits: 2).leftPad(9), formatFixed(rate(r.m), digits: 1).leftPad(8),
                formatFixed(Double(documents) / r.m.seconds, digits: 0).leftPad(9),
                (formatFixed(100 * rate(r.m) / rate(floor), digits: 0) + "%").leftPad(8), speedup.leftPad(11),
                formatBytes(r.m.peakRSS).leftPad(9),
            ]
            print(cols.joined(separator: " "))
        }
    }
}

/// Writes `bytes` of deterministic JSONL (about 2 KB documents) compressed with zstd level 3.
func generatePassthroughInput(path: String, bytes target: Int) throws -> (documents: Int, bytes: Int) {
    let vocabulary: [String] = {
        // A Zipf-like vocabulary: common function words plus many generated content words, so
        // the text compresses roughly like real prose (zstd -3 ratio near 0.3).
        let common = "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their".split(separator: " ").map(String.init)
        var words = common
        var rng = SplitMix64(seed: 7)
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        for _ in 0..<20_000 {
            let n = 3 + Int(rng.next() % 8)
            words.append(String((0..<n).map { _ in letters[Int(rng.next() % 26)] }))
        }
        return words
    }()
    let writer = try AtomicFileWriter(path: path)
    let compressor = try ZstdCompressor(level: 3, workers: 1)
    var rng = SplitMix64(seed: 1)
    var line: [UInt8] = []
    var chunk: [UInt8] = []
    var compressed: [UInt8] = []
    var written = 0
    var documents = 0
    while written < target {
        var text = ""
        text.reserveCapacity(2100)
        while text.utf8.count < 2000 {
            // Half the draws from the 40 common words, the rest from the long tail.
            let r = rng.next()
            let w = r % 2 == 0 ? vocabulary[Int((r >> 8) % 40)] : vocabulary[40 + Int((r >> 8) % UInt64(vocabulary.count - 40))]
            text += w
            text += (r >> 40) % 17 == 0 ? ".\n" : " "
        }
        let doc = Document(
            id: "bench-\(documents)", text: text, source: "sluice-bench", added: "2026-01-01T00:00:00Z",
            metadata: ["n": .int(documents), "lang": .string("en")])
        line.removeAll(keepingCapacity: true)
        appendJSONLine(doc, to: &line)
        chunk += line
        written += line.count
        documents += 1
        if chunk.count >= 8 << 20 {
            compressed.removeAll(keepingCapacity: true)
            try compressor.compress(chunk, into: &compressed)
            try writer.write(compressed)
            chunk.removeAll(keepingCapacity: true)
        }
    }
    compressed.removeAll(keepingCapacity: true)
    try compressor.compress(chunk, into: &compressed)
    try compressor.endFrame(into: &compressed)
    try writer.write(compressed)
    try writer.commit()
    return (documents, written)
}
