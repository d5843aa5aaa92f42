import Foundation
import SluiceCore

/// What ``benchmarkHeuristicFilters(documents:batchSize:repetitions:)`` measured, on one thread.
public struct HeuristicFilterBenchmark: Sendable, CustomStringConvertible {
    public struct Filter: Sendable {
        public var name: String
        /// Documents in, documents kept.
        public var received: Int
        public var kept: Int
        /// UTF-8 bytes of text the filter received.
        public var bytes: Int
        /// Best thread CPU time over the repetitions, and the wall time of that run.
        public var cpuSeconds: Double
        public var wallSeconds: Double
        public var megabytesPerSecond: Double { cpuSeconds > 0 ? Double(bytes) / cpuSeconds / 1e6 : 0 }
    }

    public var documents: Int
    public var bytes: Int
    /// Each filter alone on every document.
    public var each: [Filter]
    /// The four as one chain, in datatrove's FineWeb order (Gopher repetition, Gopher quality,
    /// C4 with `filter_no_terminal_punct: false`, FineWeb), each seeing what the previous kept.
    public var chain: [Filter]

    /// MB of input text per CPU second for the chain (its input bytes over its total time).
    public var chainMegabytesPerSecond: Double {
        let t = chain.reduce(0) { $0 + $1.cpuSeconds }
        return t > 0 ? Double(bytes) / t / 1e6 : 0
    }

    /// MB per CPU second when every filter runs on every document.
    public var eachMegabytesPerSecond: Double {
        let t = each.reduce(0) { $0 + $1.cpuSeconds }
        return t > 0 ? Double(bytes) / t / 1e6 : 0
    }

    public var description: String {
        var lines = ["heuristic filters: \(documents) documents, \(String(format: "%.1f", Double(bytes) / 1e6)) MB of text, one thread"]
        for (title, list) in [("each on all documents", each), ("chain (FineWeb order)", chain)] {
            lines.append("  \(title):")
            for f in list {
                let name = f.name.padding(toLength: 18, withPad: " ", startingAt: 0)
                lines.append("    " + name + String(format: " %7d -> %7d docs  %8.3f s cpu  %7.1f MB/s", f.received, f.kept, f.cpuSeconds, f.megabytesPerSecond))
            }
        }
        lines.append(String(format: "  together: %.1f MB/s (chain), %.1f MB/s (each on all)", chainMegabytesPerSecond, eachMegabytesPerSecond))
        return lines.joined(separator: "\n")
    }
}

/// Times the Gopher repetition, Gopher quality, C4 and FineWeb filters with their default
/// settings (C4 as FineWeb ran it) on `documents`, single-threaded, in batches of `batchSize`:
/// each filter alone on every document, and the four chained in datatrove's FineWeb order. The
/// best of `repetitions` runs counts (thread CPU time, so other load on the machine matters less).
/// Documents without `metadata.language` are treated as English, as the filters' default
/// `default_language` says.
public func benchmarkHeuristicFilters(documents: [Document], batchSize: Int = 1000, repetitions: Int = 3) throws -> HeuristicFilterBenchmark {
    let stages: [(String, any Stage)] = [
        ("gopher_repetition", try GopherRepetition(configuration: .init())),
        ("gopher_quality", try GopherQuality(configuration: .init())),
        ("c4_quality", try C4Quality(configuration: .init(filterNoTerminalPunct: false))),
        ("fineweb_quality", try FineWebQuality(configuration: .init())),
    ]
    let bytes = documents.reduce(0) { $0 + $1.text.utf8.count }

    func run(_ stage: any Stage, _ input: [Document]) throws -> (Double, Double, [Document]) {
        var bestCPU = Double.infinity, bestWall = 0.0
        var output: [Document] = []
        for _ in 0..<max(1, repetitions) {
            var kept: [Document] = []
            kept.reserveCapacity(input.count)
            let c0 = threadCPUSeconds()
            let w0 = DispatchTime.now().uptimeNanoseconds
            var start = 0
            var sequence = 0
            while start < input.count {
                let end = min(input.count, start + max(1, batchSize))
                var batch = DocumentBatch(sequence: sequence, documents: Array(input[start..<end]))
                var stats = StageStats()
                try stage.process(&batch, stats: &stats)
                kept.append(contentsOf: batch.documents)
                start = end
                sequence += 1
            }
            let cpu = threadCPUSeconds() - c0
            let wall = Double(DispatchTime.now().uptimeNanoseconds - w0) / 1e9
            if cpu < bestCPU {
                bestCPU = cpu
                bestWall = wall
            }
            output = kept
        }
        return (bestCPU, bestWall, output)
    }

    var each: [HeuristicFilterBenchmark.Filter] = []
    for (name, stage) in stages {
        let (cpu, wall, kept) = try run(stage, documents)
        each.append(.init(name: name, received: documents.count, kept: kept.count, bytes: bytes, cpuSeconds: cpu, wallSeconds: wall))
    }
    var chain: [HeuristicFilterBenchmark.Filter] = []
    var current = documents
    for (name, stage) in stages {
        let inBytes = current.reduce(0) { $0 + $1.text.utf8.count }
        let (cpu, wall, kept) = try run(stage, current)
        chain.append(.init(name: name, received: current.count, kept: kept.count, bytes: inBytes, cpuSeconds: cpu, wallSeconds: wall))
        current = kept
    }
    return HeuristicFilterBenchmark(documents: documents.count, bytes: bytes, each: each, chain: chain)
}

/// CPU time of the calling thread, in seconds.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
