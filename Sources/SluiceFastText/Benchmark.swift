/// Measurements for `sluice-bench`: language ID throughput on one core and training time.
public enum FastTextBenchmark {
    /// The result of ``languageID(modelPath:textPath:repetitions:)``.
    public struct Throughput: Sendable {
        public var lines: Int
        public var bytes: Int
        /// The fastest repetition, in seconds.
        public var seconds: Double
        public var linesPerSecond: Double { Double(lines) / seconds }
        public var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }
    }

    /// Predicts the top label of every line of `textPath` with the model at `modelPath` on the
    /// calling thread, as `sluice fasttext predict` does (the model is loaded first and not
    /// timed), and returns the fastest of `repetitions` passes. Compare with the same lines
    /// through official fastText: `fasttext predict MODEL FILE > /dev/null`.
    public static func languageID(modelPath: String, textPath: String, repetitions: Int = 3) throws -> Throughput {
        let model = try FastTextModel(contentsOf: modelPath)
        let file = try MappedFile(path: textPath)
        var scratch = FastTextScratch()
        var best = Double.infinity
        var lines = 0
        var checksum: Float = 0
        for _ in 0..<max(1, repetitions) {
            lines = 0
            let start = monotonicSeconds()
            var pos = 0
            while pos < file.count {
                pos = model.readFileLine(file.base, count: file.count, from: pos, scratch: &scratch)
                if model.computeHidden(&scratch), model.topLabels(k: 1, scratch: &scratch) == 1 {
                    checksum += scratch.predictions[0].probability
                }
                lines += 1
            }
            best = min(best, monotonicSeconds() - start)
        }
        if checksum.isNaN { throw FastTextError("benchmark produced NaN probabilities") }
        return Throughput(lines: lines, bytes: file.count, seconds: best)
    }

    /// Trains with `options` and returns the wall-clock seconds (dictionary, initialization
    /// and training; not writing files). Compare with `fasttext supervised` and the same flags.
    public static func training(_ options: FastTextTrainingOptions) throws -> (seconds: Double, model: FastTextModel) {
        let start = monotonicSeconds()
        let model = try FastTextModel.train(options)
        return (monotonicSeconds() - start, model)
    }
}
