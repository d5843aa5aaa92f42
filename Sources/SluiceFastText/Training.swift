#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The settings of `fasttext supervised`, with its defaults.
public struct FastTextTrainingOptions: Sendable {
    /// The training file: one example a line, labels as `__label__x` tokens.
    public var input: String
    public var lr: Double = 0.1
    public var lrUpdateRate: Int = 100
    public var dim: Int = 100
    public var ws: Int = 5
    public var epoch: Int = 5
    public var minCount: Int = 1
    public var minCountLabel: Int = 0
    public var neg: Int = 5
    public var wordNgrams: Int = 1
    public var loss: FastTextLoss = .softmax
    /// Hash buckets for word and character n-grams; forced to 0 when neither is used, as the
    /// official command line does.
    public var bucket: Int = 2_000_000
    public var minn: Int = 0
    public var maxn: Int = 0
    public var thread: Int = 12
    public var t: Double = 1e-4
    public var label: String = "__label__"
    /// 0: silent; 1: a summary; 2: live progress on standard error.
    public var verbose: Int = 2
    /// A `.vec` file whose vectors start the word rows.
    public var pretrainedVectors: String? = nil
    public var seed: Int = 0

    public init(input: String) { self.input = input }

    var effectiveBucket: Int { wordNgrams <= 1 && maxn == 0 ? 0 : bucket }

    func validate() throws {
        func positive(_ v: Int, _ name: String) throws {
            if v <= 0 { throw FastTextArgumentError("-\(name) must be at least 1, got \(v)") }
        }
        try positive(dim, "dim")
        try positive(epoch, "epoch")
        try positive(thread, "thread")
        try positive(lrUpdateRate, "lrUpdateRate")
        if lr <= 0 || !lr.isFinite { throw FastTextArgumentError("-lr must be a positive number, got \(lr)") }
        if wordNgrams < 1 { throw FastTextArgumentError("-wordNgrams must be at least 1, got \(wordNgrams)") }
        if minn < 0 || maxn < 0 { throw FastTextArgumentError("-minn and -maxn must not be negative") }
        if maxn > 0 && minn > maxn { throw FastTextArgumentError("-minn (\(minn)) is greater than -maxn (\(maxn)): no character n-gram would be used") }
        if bucket < 0 || bucket > Int(Int32.max) { throw FastTextArgumentError("-bucket must be between 0 and \(Int32.max), got \(bucket)") }
        if effectiveBucket == 0 && (wordNgrams > 1 || maxn > 0) {
            throw FastTextArgumentError("-bucket 0 leaves no rows for word or character n-grams; give -bucket a positive value")
        }
        if neg < 1 && loss == .ns { throw FastTextArgumentError("-neg must be at least 1 with -loss ns") }
        if label.isEmpty { throw FastTextArgumentError("-label must not be empty") }
        if dim > 1 << 16 { throw FastTextArgumentError("-dim \(dim) is too large (at most 65536)") }
    }

    var args: FastTextArgs {
        var a = FastTextArgs()
        a.dim = Int32(dim)
        a.ws = Int32(ws)
        a.epoch = Int32(epoch)
        a.minCount = Int32(minCount)
        a.neg = Int32(neg)
        a.wordNgrams = Int32(wordNgrams)
        a.loss = loss
        a.model = .supervised
        a.bucket = Int32(effectiveBucket)
        a.minn = Int32(minn)
        a.maxn = Int32(maxn)
        a.lrUpdateRate = Int32(lrUpdateRate)
        a.t = t
        return a
    }
}

// MARK: - Dictionary from a training file

/// Counts the tokens of a training file into a dictionary, as fastText's `readFromFile` and
/// `threshold` do (ties in count keep the order of first appearance).
struct VocabularyCounter {
    private var hashes: [UInt32] = []
    private var starts: [Int] = []  // file offset, −1 for `</s>`
    private var lengths: [Int32] = []
    var counts: [Int64] = []
    private var types: [UInt8] = []
    private var table: [Int32] = []
    private var mask = 0
    private(set) var ntokens: Int64 = 0
    let labelPrefix: [UInt8]
    let base: UnsafePointer<UInt8>

    static let maxVocabSize = 30_000_000

    init(base: UnsafePointer<UInt8>, labelPrefix: [UInt8]) {
        self.base = base
        self.labelPrefix = labelPrefix
        table = [Int32](repeating: -1, count: 1 << 16)
        mask = (1 << 16) - 1
    }

    var size: Int { counts.count }

    private func bytesEqual(_ i: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard Int(lengths[i]) == n else { return false }
        let s = starts[i]
        let q = s < 0 ? nil : base + s
        if let q { return memcmp(q, p, n) == 0 }
        return FastTextDictionary.eos.withUnsafeBufferPointer { memcmp($0.baseAddress!, p, n) == 0 }
    }

    private mutating func rebuildTable(_ capacity: Int) {
        var cap = 1 << 16
        while cap < capacity * 2 { cap <<= 1 }
        table = [Int32](repeating: -1, count: cap)
        mask = cap - 1
        for i in 0..<counts.count {
            var slot = FastTextDictionary.slot(hashes[i], mask)
            while table[slot] >= 0 { slot = (slot + 1) & mask }
            table[slot] = Int32(i)
        }
    }

    /// Adds one token; `start` is its offset in the file or −1 for `</s>`.
    @inline(__always)
    mutating func add(_ p: UnsafePointer<UInt8>, _ n: Int, start: Int) {
        ntokens += 1
        let h = fastTextHash(p, n)
        var slot = FastTextDictionary.slot(h, mask)
        while true {
            let j = Int(table[slot])
            if j < 0 { break }
            if hashes[j] == h && bytesEqual(j, p, n) {
                counts[j] += 1
                return
            }
            slot = (slot + 1) & mask
        }
        let isLabel = n >= labelPrefix.count && labelPrefix.withUnsafeBufferPointer { memcmp(p, $0.baseAddress!, $0.count) == 0 }
        table[slot] = Int32(counts.count)
        hashes.append(h)
        starts.append(start)
        lengths.append(Int32(n))
        counts.append(1)
        types.append(isLabel ? 1 : 0)
        if counts.count * 2 > table.count { rebuildTable(counts.count) }
    }

    /// Drops words below `minCount` and labels below `minCountLabel`.
    mutating func prune(minCount: Int64, minCountLabel: Int64) {
        var keep: [Int] = []
        for i in 0..<counts.count {
            let limit = types[i] == 0 ? minCount : minCountLabel
            if counts[i] >= limit { keep.append(i) }
        }
        hashes = keep.map { hashes[$0] }
        starts = keep.map { starts[$0] }
        lengths = keep.map { lengths[$0] }
        counts = keep.map { counts[$0] }
        types = keep.map { types[$0] }
        rebuildTable(counts.count)
    }

    /// Reads every token of the file (`\n` gives `</s>`).
    mutating func count(_ length: Int) {
        var i = 0
        var minThreshold: Int64 = 1
        let eos = FastTextDictionary.eos
        while i < length {
            let b = base[i]
            if isFastTextSeparator(b) {
                if b == 10 { eos.withUnsafeBufferPointer { add($0.baseAddress!, 4, start: -1) } }
                i += 1
                continue
            }
            let s = i
            i += 1
            while i < length && !isFastTextSeparator(base[i]) { i += 1 }
            add(base + s, i - s, start: s)
            if size > Self.maxVocabSize * 3 / 4 {
                minThreshold += 1
                prune(minCount: minThreshold, minCountLabel: minThreshold)
            }
        }
    }

    /// Adds tokens from another source (pretrained vectors).
    mutating func addExternal(_ word: [UInt8]) {
        // Copied into a stable side buffer: these tokens are not in the mapped file.
        externalWords.append(word)
        word.withUnsafeBufferPointer { add($0.baseAddress!, $0.count, start: -2 - (externalWords.count - 1)) }
    }

    private var externalWords: [[UInt8]] = []

    func entryBytes(_ i: Int) -> [UInt8] {
        let s = starts[i]
        if s >= 0 { return Array(UnsafeBufferPointer(start: base + s, count: Int(lengths[i]))) }
        if s == -1 { return FastTextDictionary.eos }
        return externalWords[-2 - s]
    }

    /// The entries kept by `minCount`/`minCountLabel`, words first, each kind by count
    /// descending (stable).
    func entries(minCount: Int64, minCountLabel: Int64) -> [FastTextDictionary.Entry] {
        var idx = Array(0..<counts.count).filter { counts[$0] >= (types[$0] == 0 ? minCount : minCountLabel) }
        idx.sort { a, b in
            if types[a] != types[b] { return types[a] < types[b] }
            if counts[a] != counts[b] { return counts[a] > counts[b] }
            return a < b
        }
        return idx.map { i in
            FastTextDictionary.Entry(bytes: entryBytes(i), count: counts[i], type: types[i] == 0 ? .word : .label)
        }
    }
}

// MARK: - Shared training state

final class TrainingProgress: Sendable {
    let tokenCount = Atomic<Int>(0)
    let lossBits = Atomic<UInt64>(Double(-1).bitPattern)
    let failed = Atomic<Bool>(false)
    let finishedThreads = Atomic<Int>(0)

    var loss: Double { Double(bitPattern: lossBits.load(ordering: .relaxed)) }
}

/// What every training thread needs (read-only except the weights, which are Hogwild).
struct TrainingJob: @unchecked Sendable {
    let dictionary: FastTextDictionary
    let features: FeatureParameters
    let file: MappedFile
    let input: SharedPointer<Float>
    let inputRows: Int
    let output: SharedPointer<Float>
    let nlabels: Int
    let dim: Int
    let loss: FastTextLoss
    let neg: Int
    let lr: Double
    let epoch: Int
    let threads: Int
    let lrUpdateRate: Int
    let seed: Int
    let verbose: Int
    let tree: HuffmanTree?
    let negatives: Buffer<Int32>?
    let sigmoid: Buffer<Float>
    let logTable: Buffer<Float>
    let progress: TrainingProgress

    var totalTokens: Int { epoch * Int(dictionary.ntokens) }
}

/// SIMD dot product (training needs speed, not fastText's exact summation order).
@inline(__always)
func fastDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    #if DEBUG
    var d: Float = 0
    var k = 0
    while k < n {
        d += a[k] * b[k]
        k += 1
    }
    return d
    #else
    let ar = UnsafeRawPointer(a), br = UnsafeRawPointer(b)
    var acc0 = SIMD8<Float>(repeating: 0)
    var acc1 = SIMD8<Float>(repeating: 0)
    var j = 0
    while j + 16 <= n {
        acc0 = acc0 + ar.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) * br.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        acc1 = acc1 + ar.loadUnaligned(fromByteOffset: j * 4 + 32, as: SIMD8<Float>.self) * br.loadUnaligned(fromByteOffset: j * 4 + 32, as: SIMD8<Float>.self)
        j += 16
    }
    if j + 8 <= n {
        acc0 = acc0 + ar.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) * br.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        j += 8
    }
    var s = (acc0 + acc1).sum()
    while j < n {
        s += a[j] * b[j]
        j += 1
    }
    return s
    #endif
}

/// `y += alpha * x` over `n` floats.
@inline(__always)
func axpy(_ y: UnsafeMutablePointer<Float>, _ alpha: Float, _ x: UnsafePointer<Float>, _ n: Int) {
    #if DEBUG
    var k = 0
    while k < n {
        y[k] += alpha * x[k]
        k += 1
    }
    #else
    let yr = UnsafeMutableRawPointer(y), xr = UnsafeRawPointer(x)
    let a = SIMD8<Float>(repeating: alpha)
    var j = 0
    while j + 8 <= n {
        let v = yr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) + a * xr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        yr.storeBytes(of: v, toByteOffset: j * 4, as: SIMD8<Float>.self)
        j += 8
    }
    while j < n {
        y[j] += alpha * x[j]
        j += 1
    }
    #endif
}

/// One training thread's vectors and random state (fastText's `Model::State`).
struct ThreadState {
    let hidden: UnsafeMutablePointer<Float>
    let grad: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
    var rng: FastRandom
    var lossSum: Double = 0
    var examples: Int = 0

    init(dim: Int, outputs: Int, seed: UInt64) {
        hidden = .allocate(capacity: dim)
        grad = .allocate(capacity: dim)
        output = .allocate(capacity: max(outputs, 1))
        hidden.initialize(repeating: 0, count: dim)
        grad.initialize(repeating: 0, count: dim)
        output.initialize(repeating: 0, count: max(outputs, 1))
        rng = FastRandom(seed: seed)
    }

    func free() {
        hidden.deallocate()
        grad.deallocate()
        output.deallocate()
    }

    var averageLoss: Double { examples == 0 ? 0 : lossSum / Double(examples) }
}

extension TrainingJob {
    @inline(__always)
    func binaryLogistic(_ target: Int, _ positive: Bool, _ lr: Float, _ s: inout ThreadState) -> Float {
        let row = output.p + target * dim
        let score = tableSigmoid(fastDot(row, s.hidden, dim), sigmoid.base)
        let alpha = lr * ((positive ? 1 : 0) - score)
        axpy(s.grad, alpha, row, dim)
        axpy(row, alpha, s.hidden, dim)
        return positive ? -tableLog(score, logTable.base) : -tableLog(1 - score, logTable.base)
    }

    /// One example: fastText's `Model::update` with the configured loss.
    @inline(__always)
    func update(_ rows: UnsafeBufferPointer<Int32>, _ labels: UnsafeBufferPointer<Int32>, target: Int, lr: Float, _ s: inout ThreadState) {
        let n = rows.count
        let h = s.hidden
        h.update(repeating: 0, count: dim)
        for r in rows { addVector(h, input.p + Int(r) * dim, dim) }
        let inv = Float(1.0 / Double(n))
        for j in 0..<dim { h[j] *= inv }
        s.grad.update(repeating: 0, count: dim)
        var lossValue: Float = 0
        switch loss {
        case .softmax:
            let o = s.output
            var mx = -Float.infinity
            for i in 0..<nlabels {
                o[i] = fastDot(output.p + i * dim, h, dim)
                mx = max(mx, o[i])
            }
            var z: Float = 0
            for i in 0..<nlabels {
                o[i] = expf(o[i] - mx)
                z += o[i]
            }
            let invZ = 1 / z
            for i in 0..<nlabels {
                o[i] *= invZ
                let alpha = lr * ((i == target ? 1 : 0) - o[i])
                let row = output.p + i * dim
                axpy(s.grad, alpha, row, dim)
                axpy(row, alpha, h, dim)
            }
            lossValue = -tableLog(o[target], logTable.base)
        case .ns:
            lossValue = binaryLogistic(target, true, lr, &s)
            if let negatives, nlabels > 1 {
                for _ in 0..<neg {
                    var negative = target
                    while negative == target {
                        negative = Int(negatives.base[s.rng.below(negatives.count)])
                    }
                    lossValue += binaryLogistic(negative, false, lr, &s)
                }
            }
        case .hs:
            if let tree {
                let path = tree.paths[target]
                let code = tree.codes[target]
                for i in 0..<path.count {
                    lossValue += binaryLogistic(Int(path[i]), code[i], lr, &s)
                }
            }
        case .ova:
            for i in 0..<nlabels {
                lossValue += binaryLogistic(i, labels.contains(Int32(i)), lr, &s)
            }
        }
        s.lossSum += Double(lossValue)
        s.examples += 1
        for j in 0..<dim { s.grad[j] *= inv }
        for r in rows { addVector(input.p + Int(r) * dim, s.grad, dim) }
    }

    /// fastText's `trainThread`: start at `threadId/threads` of the file, read lines (wrapping
    /// around), update, until the shared token count reaches `epoch × ntokens`.
    func trainThread(_ threadId: Int) {
        let total = totalTokens
        var state = ThreadState(dim: dim, outputs: nlabels, seed: UInt64(threadId + seed))
        defer { state.free() }
        var buffers = LineBuffers()
        let count = file.count
        var pos = count == 0 ? 0 : Int(Int64(threadId) * Int64(count) / Int64(threads))
        var local = 0
        let lrBase = lr
        while progress.tokenCount.load(ordering: .relaxed) < total && !progress.failed.load(ordering: .relaxed) {
            let p = Float(progress.tokenCount.load(ordering: .relaxed)) / Float(total)
            let lrNow = Float(lrBase * (1.0 - Double(p)))
            if pos >= count { pos = 0 }
            let (end, ntok) = dictionary.readLine(
                file.base, count: count, from: pos, newlineEndsLine: true, eosAtEnd: false, features, &buffers)
            pos = end
            local += ntok
            if !buffers.labels.isEmpty && !buffers.rows.isEmpty {
                let target = loss == .ova ? -1 : Int(buffers.labels[state.rng.below(buffers.labels.count)])
                buffers.rows.withUnsafeBufferPointer { rows in
                    buffers.labels.withUnsafeBufferPointer { labels in
                        update(rows, labels, target: target, lr: lrNow, &state)
                    }
                }
                if !state.hidden[0].isFinite {
                    progress.failed.store(true, ordering: .relaxed)
                    break
                }
            }
            if local > lrUpdateRate {
                progress.tokenCount.add(local, ordering: .relaxed)
                local = 0
                if threadId == 0 && verbose > 1 {
                    progress.lossBits.store(state.averageLoss.bitPattern, ordering: .relaxed)
                }
            }
        }
        if threadId == 0 { progress.lossBits.store(state.averageLoss.bitPattern, ordering: .relaxed) }
        progress.finishedThreads.add(1, ordering: .relaxed)
    }
}

// MARK: - Progress display

/// fastText's progress line: `Progress: 100.0% words/sec/thread: … lr: … avg.loss: … ETA: …`.
func progressLine(progress: Double, tokens: Int, seconds: Double, threads: Int, lr: Double, loss: Double) -> String {
    var eta = 2_592_000
    var wst = 0.0
    if progress > 0 && seconds >= 0 {
        eta = Int(seconds * (1 - progress) / progress)
        wst = Double(tokens) / seconds / Double(threads)
    }
    let h = eta / 3600, m = (eta % 3600) / 60, s = (eta % 3600) % 60
    return "Progress: " + formatC(progress * 100, "%5.1f") + "% words/sec/thread: "
        + formatC(Double(Int(wst)), "%7.0f") + " lr: " + formatC(lr, "%9.6f") + " avg.loss: "
        + formatC(loss, "%9.6f") + " ETA: " + formatC(Double(h), "%3.0f") + "h" + formatC(Double(m), "%2.0f") + "m"
        + formatC(Double(s), "%2.0f") + "s"
}

// MARK: - Training entry points

extension FastTextModel {
    /// Trains a supervised classifier as `fasttext supervised` does: Hogwild threads over the
    /// file, linearly decaying learning rate, the chosen loss.
    ///
    /// - Throws: ``FastTextError`` for an unreadable or label-less file, or a divergence
    ///   (NaN) that asks for a lower `-lr`.
    public static func train(_ options: FastTextTrainingOptions) throws -> FastTextModel {
        try options.validate()
        let file = try MappedFile(path: options.input)
        let labelPrefix = Array(options.label.utf8)
        var counter = VocabularyCounter(base: file.base, labelPrefix: labelPrefix)
        counter.count(file.count)
        var pretrained: (words: [[UInt8]], vectors: [Float], dim: Int)? = nil
        if let pv = options.pretrainedVectors {
            let loaded = try readVectors(path: pv)
            guard loaded.dim == options.dim else {
                throw FastTextError("Dimension of pretrained vectors (\(loaded.dim)) does not match dimension (\(options.dim))!")
            }
            for w in loaded.words { counter.addExternal(w) }
            pretrained = loaded
        }
        var minCount = Int64(options.minCount), minCountLabel = Int64(options.minCountLabel)
        if pretrained != nil {
            // fastText re-thresholds with (1, 0) after adding the pretrained words.
            minCount = 1
            minCountLabel = 0
        }
        let entries = counter.entries(minCount: minCount, minCountLabel: minCountLabel)
        let dictionary = try FastTextDictionary(entries: entries, ntokens: counter.ntokens, labelPrefix: labelPrefix)
        if options.verbose > 0 {
            printError("Read \(dictionary.ntokens / 1_000_000)M words\nNumber of words:  \(dictionary.nwords)\nNumber of labels: \(dictionary.nlabels)")
        }
        if dictionary.size == 0 { throw FastTextError("Empty vocabulary. Try a smaller -minCount value.") }
        if dictionary.nlabels == 0 {
            throw FastTextError(
                "\(options.input) has no labels: each training line needs at least one token starting with '\(options.label)' (such as \(options.label)spam)")
        }
        let args = options.args
        let dim = options.dim
        let rows = dictionary.nwords + Int(args.bucket)
        let input = Buffer<Float>(count: rows * dim, repeating: 0)
        initializeUniform(input.base, count: rows * dim, bound: 1 / Float(dim), seed: options.seed, threads: options.thread)
        if let pretrained {
            for (i, w) in pretrained.words.enumerated() {
                let id = Int(dictionary.id(of: w))
                if id < 0 || id >= dictionary.nwords { continue }
                for j in 0..<dim { input.base[id * dim + j] = pretrained.vectors[i * dim + j] }
            }
        }
        let output = Buffer<Float>(count: dictionary.nlabels * dim, repeating: 0)
        try runTraining(
            dictionary: dictionary, args: args, file: file, input: input, inputRows: rows, output: output,
            lr: options.lr, epoch: options.epoch, threads: options.thread, seed: options.seed, verbose: options.verbose)
        return try FastTextModel(
            args: args, dictionary: dictionary,
            input: .dense(DenseMatrix(rows: rows, cols: dim, storage: input)),
            output: .dense(DenseMatrix(rows: dictionary.nlabels, cols: dim, storage: output)))
    }

    /// The shared loop of training and quantization's retraining.
    static func runTraining(
        dictionary: FastTextDictionary, args: FastTextArgs, file: MappedFile, input: Buffer<Float>, inputRows: Int,
        output: Buffer<Float>, lr: Double, epoch: Int, threads: Int, seed: Int, verbose: Int
    ) throws {
        let nlabels = dictionary.nlabels
        var negatives: Buffer<Int32>? = nil
        if args.loss == .ns {
            let counts = dictionary.labelCounts
            var z: Float = 0
            for c in counts { z += Float(Double(c).squareRoot()) }
            var table: [Int32] = []
            for (i, c) in counts.enumerated() {
                let share = Float(Double(c).squareRoot()) * 10_000_000 / z
                var j = 0
                while Float(j) < share {
                    table.append(Int32(i))
                    j += 1
                }
            }
            negatives = Buffer(table)
        }
        let job = TrainingJob(
            dictionary: dictionary, features: FeatureParameters(args), file: file, input: SharedPointer(input.base),
            inputRows: inputRows, output: SharedPointer(output.base), nlabels: nlabels, dim: Int(args.dim), loss: args.loss,
            neg: Int(args.neg), lr: lr, epoch: epoch, threads: threads, lrUpdateRate: Int(args.lrUpdateRate), seed: seed,
            verbose: verbose, tree: args.loss == .hs ? HuffmanTree(counts: dictionary.labelCounts) : nil,
            negatives: negatives, sigmoid: Buffer(LossTables.sigmoid), logTable: Buffer(LossTables.logTable),
            progress: TrainingProgress())
        let start = monotonicSeconds()
        let total = job.totalTokens
        var printed = false
        try runThreads(threads, monitor: {
            let done = job.progress.finishedThreads.load(ordering: .relaxed) == threads
            if !done && verbose > 1 && job.progress.loss >= 0 {
                let tokens = job.progress.tokenCount.load(ordering: .relaxed)
                let p = min(1, Double(Float(tokens) / Float(total)))
                var err = FDOutput(fd: 2)
                err.text("\r" + progressLine(progress: p, tokens: tokens, seconds: monotonicSeconds() - start, threads: threads, lr: lr * (1 - p), loss: job.progress.loss))
                printed = true
            }
            return !done
        }) { id in job.trainThread(id) }
        if job.progress.failed.load(ordering: .relaxed) {
            throw FastTextError("training diverged (the weights became NaN or infinite); try a smaller -lr")
        }
        if verbose > 0 {
            let tokens = job.progress.tokenCount.load(ordering: .relaxed)
            var err = FDOutput(fd: 2)
            err.text((printed || verbose > 1 ? "\r" : "") + progressLine(progress: 1, tokens: tokens, seconds: monotonicSeconds() - start, threads: threads, lr: 0, loss: job.progress.loss) + "\n")
        }
    }

    /// Initializes the input matrix as fastText 0.9.2 does (`DenseMatrix::uniform`): the
    /// values are cut into ten blocks of `count / 10`, and block `b` is filled uniformly in
    /// [−bound, bound] only for `b < threads`; the rest stays zero. (So with 2 threads 80% of
    /// the rows, mostly n-gram buckets, start at zero, which measurably helps accuracy: rows
    /// never trained add no noise.) Each block has its own generator, seeded `b + seed`.
    static func initializeUniform(_ p: UnsafeMutablePointer<Float>, count: Int, bound: Float, seed: Int, threads: Int) {
        let blocks = max(1, min(threads, 10))
        let blockSize = count / 10
        let shared = SharedPointer(p)
        try? runThreads(blocks, monitor: { false }) { b in
            var rng = FastRandom(seed: UInt64(bitPattern: Int64(b + seed)))
            let lo = b * blockSize, hi = min(count, lo + blockSize)
            if lo >= hi { return }
            for i in lo..<hi {
                shared.p[i] = Float(rng.unit() * 2 - 1) * bound
            }
        }
    }

    /// Reads a `.vec` file: a header `n dim`, then one word and `dim` numbers a line.
    static func readVectors(path: String) throws -> (words: [[UInt8]], vectors: [Float], dim: Int) {
        let file = try MappedFile(path: path)
        var words: [[UInt8]] = []
        var vectors: [Float] = []
        var i = 0
        func nextToken() -> [UInt8]? {
            while i < file.count && isFastTextSeparator(file.base[i]) { i += 1 }
            if i >= file.count { return nil }
            let s = i
            while i < file.count && !isFastTextSeparator(file.base[i]) { i += 1 }
            return Array(UnsafeBufferPointer(start: file.base + s, count: i - s))
        }
        guard let nTok = nextToken(), let dTok = nextToken(),
            let n = Int(String(decoding: nTok, as: UTF8.self)), let dim = Int(String(decoding: dTok, as: UTF8.self)), n >= 0, dim > 0
        else {
            throw FastTextError("\(path) does not start with a '<count> <dim>' header; is it a .vec file?")
        }
        guard n.multipliedReportingOverflow(by: dim).overflow == false, n * dim <= file.count else {
            throw FastTextError("\(path) claims \(n) vectors of \(dim) values, more than the file holds")
        }
        vectors.reserveCapacity(n * dim)
        for row in 0..<n {
            guard let w = nextToken() else { throw FastTextError("\(path) ends after \(row) of \(n) vectors") }
            words.append(w)
            for _ in 0..<dim {
                guard let t = nextToken(), let v = Float(String(decoding: t, as: UTF8.self)) else {
                    throw FastTextError("\(path): vector \(row + 1) ('\(String(decoding: w, as: UTF8.self))') has a missing or bad number")
                }
                vectors.append(v)
            }
        }
        return (words, vectors, dim)
    }

    /// Writes the word vectors as fastText's `.vec` text (what `supervised` writes beside the
    /// `.bin`): `nwords dim`, then each word and its vector (`%.5g`, each followed by a space).
    public func writeVectors(to path: String) throws {
        var out = try FDOutput(creating: path)
        let dim = Int(args.dim)
        out.text("\(dictionary.nwords) \(dim)\n")
        var vec = [Float](repeating: 0, count: dim)
        var buffers = LineBuffers()
        for w in 0..<dictionary.nwords {
            let bytes = dictionary.entryBytes(w)
            buffers.reset()
            buffers.rows.append(Int32(w))
            if features.maxn > 0 && bytes != FastTextDictionary.eos {
                var wb: [UInt8] = [60]
                wb.append(contentsOf: bytes)
                wb.append(62)
                wb.withUnsafeBufferPointer { dictionary.addCharNgrams($0.baseAddress!, $0.count, features, into: &buffers.rows) }
            }
            vec.withUnsafeMutableBufferPointer { v in
                let h = v.baseAddress!
                h.update(repeating: 0, count: dim)
                for r in buffers.rows {
                    switch input {
                    case .dense(let m): addVector(h, m.row(Int(r)), dim)
                    case .quantized(let q): q.addRow(Int(r), to: h, alpha: q.norm(Int(r)))
                    }
                }
                let scale = Float(1.0 / Double(buffers.rows.count))
                for j in 0..<dim { h[j] *= scale }
            }
            out.bytes(bytes)
            out.byte(32)
            for v in vec {
                out.general(Double(v), precision: 5)
                out.byte(32)
            }
            out.byte(10)
        }
        out.flush()
        if out.failed { throw FastTextError("cannot write \(path)") }
    }
}
