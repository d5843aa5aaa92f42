// `sluice-bench dedup`: minhash_dedup's four steps over generated documents, each step in a
// process of its own, so that its time and peak resident memory are its own.
import Foundation
import SluiceCore
import SluiceDedup
import SluiceIO

private let dedupOptions: [OptionSpec] = [
    OptionSpec(name: "documents", value: "N", help: "generated documents (default 1000000; the issue's scale check is 10000000)"),
    OptionSpec(name: "words", value: "N", help: "words per document (default 60)"),
    OptionSpec(name: "duplicates", value: "F", help: "fraction of documents that are near copies of an earlier one with one word in 20 changed (Jaccard about 0.6 at 60 words, so about 1 in 6 is caught; default 0.1)"),
    OptionSpec(name: "tasks", value: "N", help: "tasks of each step, run one after another in the step's process (default 1)"),
    OptionSpec(name: "workers", value: "N", help: "threads per task (default 2)"),
    OptionSpec(name: "hash", value: "xxhash|sha1", help: "shingle hash, as minhash_dedup's hash option (default xxhash)"),
    OptionSpec(name: "dir", value: "DIR", help: "scratch folder for the work files; emptied first (default /tmp/sluice-bench/dedup)"),
    OptionSpec(name: "json", value: nil, help: "print the results as JSON"),
]

let dedupCommand = BenchCommand(
    name: "dedup",
    summary: """
        MinHash-LSH dedup at scale (minhash_dedup, datatrove's parameters): signatures, buckets, clusters and
          removal over generated documents, each step in its own process: seconds, documents/s, MB/s of text,
          peak RSS per step, and how many documents were removed.
        """,
    options: dedupOptions)

/// The child process of one step; its options are `dedup`'s plus `--step`.
let dedupStepCommand = BenchCommand(
    name: "dedup-step",
    summary: "Internal: runs one step of `sluice-bench dedup` in this process and prints its result as JSON.",
    options: dedupOptions + [OptionSpec(name: "step", value: "NAME", help: "signatures, buckets, clusters or remove")],
    listed: false)

private struct DedupArguments {
    var documents: Int
    var words: Int
    var duplicates: Double
    var tasks: Int
    var workers: Int
    var hash: ShingleHash
    var dir: String

    init(_ o: ParsedOptions) {
        documents = o.int("documents", 1_000_000)
        words = o.int("words", 60, min: 5)
        duplicates = o.double("duplicates", 0.1, in: 0...0.5)
        tasks = o.int("tasks", 1)
        workers = o.int("workers", 2)
        hash = ShingleHash(rawValue: o.choice("hash", ShingleHash.allCases.map(\.rawValue), "xxhash"))!
        dir = o.string("dir", "/tmp/sluice-bench/dedup")
    }

    var childArguments: [String] {
        [
            "--documents", String(documents), "--words", String(words), "--duplicates", String(duplicates), "--tasks",
            String(tasks), "--workers", String(workers), "--hash", hash.rawValue, "--dir", dir,
        ]
    }

    func run(only: Set<String>) throws -> DedupBenchmark.Result {
        try DedupBenchmark.runMinHash(
            documents: documents, words: words, tasks: tasks, workers: workers, duplicateFraction: duplicates,
            hash: hash, work: dir + "/work", only: only)
    }
}

func runDedupStep(_ args: [String]) throws {
    let o = dedupStepCommand.parse(args)
    let step = o.string("step", "")
    guard DedupBenchmark.stepNames.contains(step) else {
        dedupStepCommand.fail("--step must be one of \(DedupBenchmark.stepNames.joined(separator: ", "))")
    }
    let result = try DedupArguments(o).run(only: [step])
    guard let s = result.steps.first else { throw BenchError(description: "step \(step) did not run") }
    var counters = JSONObject()
    for k in s.counters.keys.sorted() { counters[k] = .int(s.counters[k]!) }
    printJSON(
        .object([
            "step": .string(s.name), "seconds": .double(s.seconds), "removed": .int(result.removed),
            "counters": .object(counters),
        ]))
}

func runDedup(_ args: [String]) throws {
    let o = dedupCommand.parse(args)
    let a = DedupArguments(o)
    let machine = machineLine()
    try FileManager.default.createDirectory(atPath: a.dir, withIntermediateDirectories: true)
    struct StepRow {
        var name: String
        var m: Measurement
        var seconds: Double
        var counters: [String: Int]
        var removed: Int
    }
    var rows: [StepRow] = []
    for step in DedupBenchmark.stepNames {
        FileHandle.standardError.write(Data("sluice-bench dedup: \(step)…\n".utf8))
        let resultPath = a.dir + "/\(step).result.json"
        let m = try measure([selfExecutable(), "dedup-step", "--step", step] + a.childArguments, captureOutput: resultPath)
        guard m.status == 0 else { throw BenchError(description: "step \(step) failed (status \(m.status))") }
        let value = try parseJSONValue(Array(try Data(contentsOf: URL(fileURLWithPath: resultPath))))
        guard case .object(let r) = value, case .number(let seconds)? = r["seconds"], case .object(let c)? = r["counters"] else {
            throw BenchError(description: "step \(step) wrote an unreadable result to \(resultPath)")
        }
        var counters: [String: Int] = [:]
        for e in c { if case .number(let n) = e.value, let i = n.intValue { counters[e.key] = i } }
        let removed = r["removed"].flatMap { v -> Int? in if case .number(let n) = v { return n.intValue } else { return nil } } ?? 0
        rows.append(StepRow(name: step, m: m, seconds: seconds.doubleValue, counters: counters, removed: removed))
    }
    let removed = rows.last?.removed ?? 0
    let textBytes = rows.first?.counters["text_bytes"] ?? 0
    let total = rows.reduce(0) { $0 + $1.m.seconds }
    let totalCPU = rows.reduce(0) { $0 + $1.m.cpuSeconds }
    let peak = rows.map(\.m.peakRSS).max() ?? 0
    if o.flag("json") {
        printJSON(
            .object([
                "benchmark": .string("minhash_dedup"), "documents": .int(a.documents), "words": .int(a.words),
                "duplicate_fraction": .double(a.duplicates), "tasks": .int(a.tasks), "workers": .int(a.workers),
                "hash": .string(a.hash.rawValue), "text_bytes": .int(textBytes), "machine": .string(machine),
                "steps": .array(
                    rows.map { r in
                        .object([
                            "step": .string(r.name), "seconds": .double(r.m.seconds), "cpu_seconds": .double(r.m.cpuSeconds),
                            "step_seconds": .double(r.seconds), "peak_rss_bytes": .int(r.m.peakRSS),
                            "documents_per_s": .double(Double(a.documents) / r.m.seconds),
                            "mb_per_s": r.counters["text_bytes"].map { .double(Double($0) / 1e6 / r.m.seconds) } ?? .null,
                            "counters": .object(JSONObject(entries: r.counters.keys.sorted().map { .init(key: $0, value: .int(r.counters[$0]!)) })),
                        ])
                    }),
                "seconds": .double(total), "cpu_seconds": .double(totalCPU), "documents_per_s": .double(Double(a.documents) / total),
                "mb_per_s": .double(Double(textBytes) / 1e6 / total), "peak_rss_bytes": .int(peak), "removed": .int(removed),
            ]))
        return
    }
    print("MinHash dedup (minhash_dedup, 5-grams, 14 x 8, \(a.hash.rawValue)): \(a.documents) generated documents of \(a.words) words (\(formatBytes(textBytes)) of text), \(formatFixed(a.duplicates * 100, digits: 0))% near copies; \(a.tasks) task(s) x \(a.workers) workers; each step in its own process")
    print(machine)
    print("")
    print("step          seconds  cpu s    docs/s     MB/s   peak RSS  what it did")
    for r in rows {
        let did: String
        switch r.name {
        case "signatures": did = "\(r.counters["signed"] ?? 0) signed, \(r.counters["sorted_runs"] ?? 0) sorted runs"
        case "buckets": did = "\(r.counters["signatures_read"] ?? 0) band signatures merged, \(r.counters["candidate_pairs"] ?? 0) pairs"
        case "clusters": did = "\(r.counters["pairs_read"] ?? 0) pairs joined, \(r.counters["clusters"] ?? 0) clusters"
        default: did = "\(r.removed) removed"
        }
        let mbs = r.counters["text_bytes"].map { megabytesPerSecond($0, r.m.seconds) } ?? "-"
        print(
            [
                r.name.rightPad(12), formatFixed(r.m.seconds, digits: 2).leftPad(8), formatFixed(r.m.cpuSeconds, digits: 1).leftPad(6),
                rate(Double(a.documents), r.m.seconds).leftPad(9), mbs.leftPad(8), formatBytes(r.m.peakRSS).leftPad(10), " " + did,
            ].joined(separator: " "))
    }
    print(
        [
            "end to end".rightPad(12), formatFixed(total, digits: 2).leftPad(8), formatFixed(totalCPU, digits: 1).leftPad(6),
            rate(Double(a.documents), total).leftPad(9), megabytesPerSecond(textBytes, total).leftPad(8), formatBytes(peak).leftPad(10),
            " \(removed) of \(a.documents) removed (\(formatFixed(100 * Double(removed) / Double(max(1, a.documents)), digits: 2))%)",
        ].joined(separator: " "))
    print("\nseconds and peak RSS are each step's whole process (generating the documents included in signatures and remove)")
}
