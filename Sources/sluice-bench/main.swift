// sluice-bench: throughput benchmarks for Sluice, run on a release build.
//
//   swift build -c release
//   .build/release/sluice-bench passthrough --size 1GB --dir /tmp/sluice-bench
//
// `passthrough` generates (once) a JSONL.zst file of ~2 KB English-like documents, then times
//   - the floor: `zstd -dc FILE | zstd -3 -T1 > /dev/null`,
//   - `sluice run` with no stage (read zstd, decode, encode, write zstd level 3) and with one
//     filter (length_filter), on 1 and 2 workers,
// each in its own process, and prints MB/s, documents/s, the ratio to the floor, the 2-worker
// speed-up and each run's peak RSS. `--json` prints the same as one JSON object.
import Foundation
import SluiceCore
import SluiceIO

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

func usage() -> Never {
    let text = """
        usage: sluice-bench passthrough [--size SIZE] [--dir DIR] [--workers 1,2] [--repeat N] [--pin] [--json]

          --size SIZE     uncompressed input size to generate (default 1GB; e.g. 200MB)
          --dir DIR       working folder for the input and outputs (default /tmp/sluice-bench)
          --workers LIST  worker counts to measure (default 1,2)
          --repeat N      runs per configuration; the fastest is reported (default 1)
          --pin           run W workers on W cores only (taskset -c 0-(W-1)), to measure scaling per core
          --json          print the results as JSON
        """
    FileHandle.standardError.write(Data((text + "\n").utf8))
    exit(2)
}

// MARK: Arguments

var args = Array(CommandLine.arguments.dropFirst())
guard args.first == "passthrough" else { usage() }
args.removeFirst()
var size = ByteSize(bytes: 1_000_000_000)
var dir = "/tmp/sluice-bench"
var workerCounts = [1, 2]
var repeats = 1
var asJSON = false
var pin = false
while !args.isEmpty {
    let a = args.removeFirst()
    func value() -> String {
        guard !args.isEmpty else { usage() }
        return args.removeFirst()
    }
    switch a {
    case "--size": guard let s = ByteSize(parsing: value()) else { usage() }; size = s
    case "--dir": dir = value()
    case "--workers": workerCounts = value().split(separator: ",").compactMap { Int($0) }
    case "--repeat": repeats = max(1, Int(value()) ?? 1)
    case "--json": asJSON = true
    case "--pin": pin = true
    default: usage()
    }
}

// MARK: Input generation

/// Writes `bytes` of deterministic JSONL (about 2 KB documents) compressed with zstd level 3.
func generateInput(path: String, bytes target: Int) throws -> (documents: Int, bytes: Int) {
    let vocabulary: [String] = {
        // A Zipf-like vocabulary: common function words plus many generated content words, so
        // the text compresses roughly like real prose (zstd -3 ratio near 0.3).
        let common = "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their".split(separator: " ").map(String.init)
        var words = common
        var rng = SplitMix(seed: 7)
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        for _ in 0..<20_000 {
            let n = 3 + Int(rng.next() % 8)
            words.append(String((0..<n).map { _ in letters[Int(rng.next() % 26)] }))
        }
        return words
    }()
    let writer = try AtomicFileWriter(path: path)
    let compressor = try ZstdCompressor(level: 3, workers: 1)
    var rng = SplitMix(seed: 1)
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

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: Timing child processes

struct Measurement {
    var seconds: Double
    var peakRSS: Int
    var status: Int32
}

/// Runs a program, waits with wait4 and returns wall time and the child's peak RSS.
func measure(_ argv: [String], quietOutput: Bool = true) throws -> Measurement {
    var pid: pid_t = 0
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if quietOutput {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    }
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }
    let start = DispatchTime.now().uptimeNanoseconds
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
    guard rc == 0 else { throw BenchError(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let end = DispatchTime.now().uptimeNanoseconds
    return Measurement(seconds: Double(end - start) / 1e9, peakRSS: usage.ru_maxrss * 1024, status: status)
}

func fastest(_ n: Int, _ body: () throws -> Measurement) throws -> Measurement {
    var best: Measurement?
    for _ in 0..<n {
        let m = try body()
        if m.status != 0 { throw BenchError(description: "a measured command failed with status \(m.status)") }
        if best == nil || m.seconds < best!.seconds { best = m }
    }
    return best!
}

// MARK: Main

let exeDir = ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]) as NSString
let sluice = exeDir.deletingLastPathComponent + "/sluice"
guard FileManager.default.isExecutableFile(atPath: sluice) else {
    FileHandle.standardError.write(Data("sluice-bench: \(sluice) not found; build it with `swift build -c release`\n".utf8))
    exit(1)
}
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
    let g = try generateInput(path: input, bytes: size.bytes)
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
    print(String(decoding: encodeJSON(report), as: UTF8.self))
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

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
