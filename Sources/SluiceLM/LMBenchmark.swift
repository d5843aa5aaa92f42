import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Measurements for `sluice-bench` and `sluice lm bench`: document perplexity throughput on
/// one core, and training time.
public enum LMBenchmark {
    public struct Result: Sendable, CustomStringConvertible {
        public var documents: Int
        public var bytes: Int
        /// The fastest scoring pass, in seconds.
        public var seconds: Double
        /// Training time (when the benchmark trained its model), else 0.
        public var trainingSeconds: Double
        /// N-grams per order of the model scored with.
        public var counts: [Int]
        /// Σ of the documents' log10 probabilities (to check two runs did the same work).
        public var checksum: Double
        /// Threads that scored (the documents split between them, one shared model).
        public var workers = 1
        public var documentsPerSecond: Double { Double(documents) / seconds }
        public var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }

        public var description: String {
            var s = "\(documents) documents, \(bytes) bytes, order-\(counts.count) model (\(counts.map(String.init).joined(separator: "/")) n-grams): "
            s += "\(Int(documentsPerSecond.rounded())) documents/s, \((megabytesPerSecond * 10).rounded() / 10) MB/s "
            s += workers == 1 ? "on one core" : "with \(workers) threads"
            if trainingSeconds > 0 { s += "; trained in \((trainingSeconds * 100).rounded() / 100) s" }
            return s
        }
    }

    /// Scores every document with `model`, `repetitions` times, and returns the fastest pass.
    /// With `workers` 1 on the calling thread; otherwise the documents are split into that many
    /// contiguous slices scored on as many threads sharing the one model. Each thread reuses
    /// one ``LMScratch``, as a pipeline worker does.
    public static func run(
        model: NGramModel, documents: [[UInt8]], normalization: PerplexityNormalization = .ccnet, repetitions: Int = 3,
        workers: Int = 1
    ) -> Result {
        let workers = max(1, min(workers, max(1, documents.count)))
        var best = Double.infinity
        var checksum = 0.0
        let bytes = documents.reduce(0) { $0 + $1.count }
        for _ in 0..<max(1, repetitions) {
            let start = now()
            if workers == 1 {
                checksum = score(model, documents[...], normalization)
            } else {
                let sums = SumsBox(count: workers)
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let lo = documents.count * w / workers, hi = documents.count * (w + 1) / workers
                    sums.set(w, score(model, documents[lo..<hi], normalization))
                }
                checksum = sums.total
            }
            best = min(best, now() - start)
        }
        var r = Result(documents: documents.count, bytes: bytes, seconds: best, trainingSeconds: 0, counts: model.counts, checksum: checksum)
        r.workers = workers
        return r
    }

    static func score(_ model: NGramModel, _ documents: ArraySlice<[UInt8]>, _ normalization: PerplexityNormalization) -> Double {
        var scratch = LMScratch()
        var sum = 0.0
        for d in documents {
            d.withUnsafeBufferPointer { sum += model.documentScore($0, normalization: normalization, scratch: &scratch).log10Probability }
        }
        return sum
    }

    /// Per-thread results, each slot written by one thread.
    final class SumsBox: @unchecked Sendable {
        private var sums: UnsafeMutablePointer<Double>
        private let count: Int
        init(count: Int) {
            self.count = count
            sums = .allocate(capacity: count)
            sums.initialize(repeating: 0, count: count)
        }
        deinit { sums.deallocate() }
        func set(_ i: Int, _ v: Double) { sums[i] = v }
        var total: Double { (0..<count).reduce(0) { $0 + sums[$1] } }
    }

    /// Trains an order-`order` model on `reference` (texts whose lines are sentences), then
    /// scores `documents` with it (see ``run(model:documents:normalization:repetitions:)``).
    /// For the standard measurement: the reference is SampleData/prose's texts, the documents
    /// are ``documents(from:bytesPerDocument:)`` of SampleData/manpages and prose, order 5, ccnet.
    public static func run(
        reference: [[UInt8]], documents: [[UInt8]], order: Int = 5, normalization: PerplexityNormalization = .ccnet,
        repetitions: Int = 3, workers: Int = 1
    ) throws -> Result {
        let start = now()
        let trainer = try KneserNeyTrainer(
            options: KneserNeyOptions(order: order, normalization: normalization, discountFallback: KneserNeyOptions.lmplzFallback))
        for r in reference { r.withUnsafeBufferPointer { trainer.addDocument($0) } }
        let model = try NGramModel(arpa: ARPAWriter.bytes(try trainer.estimate()), name: "benchmark")
        let trained = now() - start
        var result = run(model: model, documents: documents, normalization: normalization, repetitions: repetitions, workers: workers)
        result.trainingSeconds = trained
        return result
    }

    /// Cuts texts into documents of about `bytesPerDocument` bytes, at line ends where possible.
    public static func documents(from texts: [[UInt8]], bytesPerDocument: Int = 2000) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var current: [UInt8] = []
        for t in texts {
            var start = 0
            while start < t.count {
                var end = start
                while end < t.count && t[end] != 10 { end += 1 }
                if !current.isEmpty { current.append(10) }
                current.append(contentsOf: t[start..<end])
                if current.count >= bytesPerDocument {
                    out.append(current)
                    current.removeAll(keepingCapacity: true)
                }
                start = end + 1
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
