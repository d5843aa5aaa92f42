#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SluiceCore
import SluiceFastText
import SluiceIO

/// Measurements for `sluice-bench`: scoring throughput of the `quality_score` stage.
public enum QualityBenchmark {
    /// The result of ``fastTextScoring(modelPath:corpusPath:documents:bytesPerDocument:repetitions:)``.
    public struct Throughput: Sendable {
        public var documents: Int
        public var bytes: Int
        /// The fastest repetition, in seconds.
        public var seconds: Double
        public var documentsPerSecond: Double { Double(documents) / seconds }
        public var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }
    }

    /// Scores `documents` documents of about `bytesPerDocument` bytes with a `quality_score`
    /// stage holding one fastText scorer (`model` at `modelPath`, its first label, DCLM text
    /// preparation), on the calling thread, in batches of 1,000, exactly as a worker does
    /// (metadata written, verdicts counted). Model loading and document building are not
    /// timed; the fastest of `repetitions` passes is returned.
    ///
    /// Documents are cut from the texts of `corpusPath` (JSONL, plain or compressed: real prose
    /// joined and sliced at spaces into pieces of about `bytesPerDocument` bytes, lines kept),
    /// or, when it is nil, made of English-like words.
    ///
    /// Floor (issue 8): 20,000 documents/s on one core for 2 KB documents.
    public static func fastTextScoring(
        modelPath: String, corpusPath: String? = nil, documents: Int = 20_000, bytesPerDocument: Int = 2048, repetitions: Int = 3
    ) throws -> Throughput {
        let label = try FastTextModelCache.shared.model(at: modelPath).shortLabel(0)
        let stage = try QualityScore(configuration: .init(scorers: [.fastText(name: "bench", model: modelPath, label: label)]))
        let texts = try corpusPath.map { try slices(of: $0, count: documents, bytes: bytesPerDocument) } ?? synthetic(count: documents, bytes: bytesPerDocument)
        var batches: [DocumentBatch] = []
        var bytes = 0
        var start = 0
        while start < texts.count {
            let end = min(texts.count, start + 1000)
            var docs: [Document] = []
            docs.reserveCapacity(end - start)
            for i in start..<end {
                bytes += texts[i].utf8.count
                docs.append(Document(id: "bench-\(i)", text: texts[i], source: "bench", added: "2026-01-01T00:00:00Z"))
            }
            batches.append(DocumentBatch(sequence: batches.count, documents: docs))
            start = end
        }
        var best = Double.infinity
        var kept = 0
        for _ in 0..<max(1, repetitions) {
            var work = batches
            let t0 = now()
            for b in work.indices {
                var stats = StageStats()
                try stage.process(&work[b], stats: &stats)
            }
            best = min(best, now() - t0)
            kept = work.reduce(0) { $0 + $1.count }
        }
        if kept != texts.count { throw StageConfigurationError("benchmark lost documents: \(kept) of \(texts.count)") }
        return Throughput(documents: texts.count, bytes: bytes, seconds: best)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Consecutive slices of about `bytes` bytes of the corpus's texts (cut after a space).
    static func slices(of path: String, count: Int, bytes: Int) throws -> [String] {
        var pool: [UInt8] = []
        let reader = LineBatchReader(source: try ByteSource(path: path), maxLines: 1024, maxBytes: 8 << 20, maxLineBytes: 256 << 20)
        var parser = DocumentLineParser()
        outer: while let batch = try reader.next() {
            for i in 0..<batch.count {
                guard let d = batch.withLine(i, { parser.parse(UnsafeRawBufferPointer($0)).document }) else { continue }
                pool.append(contentsOf: d.text.utf8)
                pool.append(10)
                if pool.count >= count * bytes { break outer }
            }
        }
        guard pool.count > bytes else { throw StageConfigurationError("\(path) has too little text for the benchmark") }
        var out: [String] = []
        out.reserveCapacity(count)
        var at = 0
        while out.count < count {
            if at + bytes >= pool.count { at = 0 }
            var end = at + bytes
            while end < pool.count && pool[end] != 32 && pool[end] != 10 { end += 1 }
            // Do not cut inside a UTF-8 sequence.
            while end < pool.count && pool[end] & 0xC0 == 0x80 { end += 1 }
            out.append(String(decoding: pool[at..<end], as: UTF8.self))
            at = end
        }
        return out
    }

    static func synthetic(count: Int, bytes: Int) -> [String] {
        let words = [
            "the", "river", "carries", "sediment", "toward", "a", "wide", "delta", "where", "farmers", "plant", "rice", "and", "engineers",
            "build", "locks", "that", "raise", "boats", "over", "ancient", "walls", "of", "stone", "while", "children", "watch", "from",
            "bridges", "counting", "barges", "loaded", "with", "grain", "timber", "coal", "in", "early", "morning", "light",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var out: [String] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            var t = ""
            t.reserveCapacity(bytes + 16)
            while t.utf8.count < bytes {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                t += words[Int((state >> 33) % UInt64(words.count))]
                t += (state >> 20) % 11 == 0 ? ".\n" : " "
            }
            out.append(t)
        }
        return out
    }
}

