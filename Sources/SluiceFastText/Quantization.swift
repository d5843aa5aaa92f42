#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The settings of `fasttext quantize`.
public struct FastTextQuantizeOptions: Sendable {
    /// The training file, needed with `retrain`.
    public var input: String? = nil
    /// Quantize row norms separately (`-qnorm`).
    public var qnorm = false
    /// Quantize the output matrix too (`-qout`); it needs at least 256 labels.
    public var qout = false
    /// Keep only this many input rows, those with the largest norms (`-cutoff`); 0 keeps all.
    public var cutoff = 0
    /// Fine-tune the kept rows on `input` after the cutoff (`-retrain`).
    public var retrain = false
    /// Values per sub-vector of the input matrix (`-dsub`).
    public var dsub = 2
    /// Retraining settings (quantize's own defaults, as in fastText: not those of supervised).
    public var epoch = 5
    public var lr = 0.05
    public var thread = 12
    public var verbose = 2

    public init() {}
}

/// Trains product quantizers (k-means with 256 centroids per sub-vector, 25 iterations,
/// at most 65,536 training points), as fastText's `ProductQuantizer` does.
enum QuantizerTraining {
    static let ksub = 256
    static let iterations = 25
    static let maxPoints = 256 * 256
    static let eps: Float = 1e-7

    /// Nearest of the 256 centroids to `x` (`d` values), with the centroids given
    /// coordinate-major (`soa[j * 256 + k]`); ties go to the lowest code, as in fastText.
    @inline(__always)
    static func nearest(_ x: UnsafePointer<Float>, _ soa: UnsafePointer<Float>, _ d: Int) -> Int {
        #if DEBUG
        var best = 0
        var bestDist = Float.infinity
        var k = 0
        while k < ksub {
            var dist: Float = 0
            var j = 0
            while j < d {
                let t = x[j] - soa[j * ksub + k]
                dist += t * t
                j += 1
            }
            if dist < bestDist {
                bestDist = dist
                best = k
            }
            k += 1
        }
        return best
        #else
        var bestD = SIMD8<Float>(repeating: .infinity)
        var bestI = SIMD8<Int32>(repeating: 0)
        let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        let raw = UnsafeRawPointer(soa)
        var b = 0
        while b < ksub {
            var dist = SIMD8<Float>(repeating: 0)
            for j in 0..<d {
                let t = SIMD8<Float>(repeating: x[j]) - raw.loadUnaligned(fromByteOffset: (j * ksub + b) * 4, as: SIMD8<Float>.self)
                dist = dist + t * t
            }
            let better = dist .< bestD
            bestD.replace(with: dist, where: better)
            bestI.replace(with: lanes &+ Int32(b), where: better)
            b += 8
        }
        var best = Int(bestI[0])
        var bd = bestD[0]
        for l in 1..<8 where bestD[l] < bd || (bestD[l] == bd && Int(bestI[l]) < best) {
            bd = bestD[l]
            best = Int(bestI[l])
        }
        return best
        #endif
    }

    /// Centroids (`256 × d`, row-major) copied coordinate-major for ``nearest(_:_:_:)``.
    static func transpose(_ c: UnsafePointer<Float>, _ d: Int, into soa: inout [Float]) {
        if soa.count < d * ksub { soa = [Float](repeating: 0, count: d * ksub) }
        for k in 0..<ksub {
            for j in 0..<d { soa[j * ksub + k] = c[k * d + j] }
        }
    }

    /// k-means of `n` points of dimension `d` into `c` (256 × d).
    static func kmeans(_ x: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ n: Int, _ d: Int, _ rng: inout FastRandom) {
        var perm = Array(0..<n)
        shuffle(&perm, &rng)
        for i in 0..<ksub {
            (c + i * d).update(from: x + perm[i] * d, count: d)
        }
        var codes = [UInt8](repeating: 0, count: n)
        var nelts = [Int](repeating: 0, count: ksub)
        var soa: [Float] = []
        for _ in 0..<iterations {
            transpose(c, d, into: &soa)
            soa.withUnsafeBufferPointer { t in
                for i in 0..<n { codes[i] = UInt8(nearest(x + i * d, t.baseAddress!, d)) }
            }
            // M step.
            c.update(repeating: 0, count: ksub * d)
            for k in 0..<ksub { nelts[k] = 0 }
            for i in 0..<n {
                let k = Int(codes[i])
                let ck = c + k * d
                let xi = x + i * d
                for j in 0..<d { ck[j] += xi[j] }
                nelts[k] += 1
            }
            for k in 0..<ksub where nelts[k] != 0 {
                let z = Float(nelts[k])
                for j in 0..<d { c[k * d + j] /= z }
            }
            for k in 0..<ksub where nelts[k] == 0 {
                var m = 0
                while rng.unit() * Double(n - ksub) >= Double(nelts[m] - 1) {
                    m = (m + 1) % ksub
                }
                (c + k * d).update(from: c + m * d, count: d)
                for j in 0..<d {
                    let sign: Float = j % 2 == 1 ? 1 : -1
                    c[k * d + j] += sign * eps
                    c[m * d + j] -= sign * eps
                }
                nelts[k] = nelts[m] / 2
                nelts[m] -= nelts[k]
            }
        }
    }

    static func shuffle(_ a: inout [Int], _ rng: inout FastRandom) {
        var i = a.count - 1
        while i > 0 {
            let j = rng.below(i + 1)
            a.swapAt(i, j)
            i -= 1
        }
    }

    /// Trains a quantizer for `n` rows of `dim` values at `x` and codes every row.
    static func quantize(
        _ x: UnsafePointer<Float>, rows n: Int, dim: Int, dsub: Int, threads: Int
    ) throws -> (ProductQuantizer, Buffer<UInt8>) {
        guard n >= ksub else {
            throw FastTextError("Matrix too small for quantization, must have at least \(ksub) rows (it has \(n))")
        }
        let nsubq = dim % dsub == 0 ? dim / dsub : dim / dsub + 1
        let lastdsub = dim % dsub == 0 ? dsub : dim % dsub
        let centroids = Buffer<Float>(count: dim * ksub, repeating: 0)
        let pq = ProductQuantizer(dim: dim, nsubq: nsubq, dsub: dsub, lastdsub: lastdsub, centroids: centroids)
        let np = min(n, maxPoints)
        let shared = SharedPointer(centroids.base)
        let src = SharedPointer(UnsafeMutablePointer(mutating: x))
        let workers = max(1, min(threads, nsubq))
        // Each sub-quantizer has its own generator, so the result does not depend on threads.
        try runThreads(workers, monitor: { false }) { w in
            var m = w
            while m < nsubq {
                let d = m == nsubq - 1 ? lastdsub : dsub
                var rng = FastRandom(seed: 1234 &+ UInt64(m) &* 0x1000_0001)
                var perm = Array(0..<n)
                if np != n { shuffle(&perm, &rng) }
                var slice = [Float](repeating: 0, count: np * d)
                for j in 0..<np {
                    for k in 0..<d { slice[j * d + k] = src.p[perm[j] * dim + m * dsub + k] }
                }
                let offset = pq.centroidOffset(m, 0)
                slice.withUnsafeBufferPointer { s in
                    kmeans(s.baseAddress!, shared.p + offset, np, d, &rng)
                }
                m += workers
            }
        }
        let codes = Buffer<UInt8>(count: n * nsubq, repeating: 0)
        let codeOut = SharedPointer(codes.base)
        var soaAll = [Float](repeating: 0, count: nsubq * dsub * ksub)
        for m in 0..<nsubq {
            let d = m == nsubq - 1 ? lastdsub : dsub
            var soa: [Float] = []
            transpose(centroids.base + pq.centroidOffset(m, 0), d, into: &soa)
            for i in 0..<(d * ksub) { soaAll[m * dsub * ksub + i] = soa[i] }
        }
        let soaBuffer = Buffer(soaAll)
        let coders = max(1, min(threads, (n + 4095) / 4096))
        try runThreads(coders, monitor: { false }) { w in
            var i = w
            while i < n {
                for m in 0..<nsubq {
                    let d = m == nsubq - 1 ? lastdsub : dsub
                    codeOut.p[i * nsubq + m] = UInt8(nearest(src.p + i * dim + m * dsub, soaBuffer.base + m * dsub * ksub, d))
                }
                i += coders
            }
        }
        return (pq, codes)
    }

    /// A quantized copy of a dense matrix (`QuantMatrix(DenseMatrix, dsub, qnorm)`).
    static func quantizedMatrix(_ m: DenseMatrix, dsub: Int, qnorm: Bool, threads: Int) throws -> QuantizedMatrix {
        let rows = m.rows, dim = m.cols
        var data = Array(UnsafeBufferPointer(start: m.storage.base, count: rows * dim))
        var normCodes = Buffer<UInt8>(count: 0, repeating: 0)
        var npq: ProductQuantizer? = nil
        if qnorm {
            var norms = [Float](repeating: 0, count: rows)
            for i in 0..<rows {
                var s = 0.0
                for j in 0..<dim {
                    let v = data[i * dim + j]
                    s += Double(v * v)
                }
                norms[i] = Float(s.squareRoot())
                if norms[i] != 0 {
                    for j in 0..<dim { data[i * dim + j] /= norms[i] }
                }
            }
            let (q, codes) = try norms.withUnsafeBufferPointer { try quantize($0.baseAddress!, rows: rows, dim: 1, dsub: 1, threads: threads) }
            npq = q
            normCodes = codes
        }
        let (pq, codes) = try data.withUnsafeBufferPointer { try quantize($0.baseAddress!, rows: rows, dim: dim, dsub: dsub, threads: threads) }
        return QuantizedMatrix(rows: rows, cols: dim, qnorm: qnorm, codes: codes, pq: pq, normCodes: normCodes, npq: npq)
    }
}

extension FastTextModel {
    /// A quantized copy of this supervised model, as `fasttext quantize` makes it: optionally
    /// keep only the `cutoff` input rows with the largest norms (and retrain them), then
    /// product-quantize the input matrix (and the output matrix with `qout`).
    public func quantized(_ options: FastTextQuantizeOptions) throws -> FastTextModel {
        guard args.model == .supervised else {
            throw FastTextError("For now we only support quantization of supervised models")
        }
        guard case .dense(var inputMatrix) = input, case .dense(let outputMatrix) = output else {
            throw FastTextError("the model is already quantized; quantize its .bin model instead")
        }
        guard options.dsub >= 1 else { throw FastTextArgumentError("-dsub must be at least 1, got \(options.dsub)") }
        if options.qout && outputMatrix.rows < QuantizerTraining.ksub {
            throw FastTextError(
                "Matrix too small for quantization, must have at least \(QuantizerTraining.ksub) rows: -qout quantizes the output matrix, which has one row per label (\(outputMatrix.rows)); leave -qout out")
        }
        var dict = dictionary
        var outputStorage = outputMatrix.storage
        if options.cutoff > 0 && options.cutoff < inputMatrix.rows {
            let norms = inputMatrix.rowNorms64()
            let eos = Int(dictionary.eosID)
            var idx = Array(0..<inputMatrix.rows)
            idx.sort { a, b in
                if a == eos { return b != eos }
                if b == eos { return false }
                if norms[a] != norms[b] { return norms[a] > norms[b] }
                return a < b
            }
            idx.removeSubrange(options.cutoff...)
            let nwords = dictionary.nwords
            let words = idx.filter { $0 < nwords }.sorted()
            let ngrams = idx.filter { $0 >= nwords }
            var entries: [FastTextDictionary.Entry] = words.map { dictionary.entry($0) }
            for l in 0..<dictionary.nlabels { entries.append(dictionary.entry(nwords + l)) }
            let pairs = ngrams.enumerated().map { (bucket: Int32($0.element - nwords), index: Int32($0.offset)) }
            dict = try FastTextDictionary(
                entries: entries, ntokens: dictionary.ntokens, prunePairs: pairs, labelPrefix: dictionary.labelPrefix)
            let order = words + ngrams
            let dim = Int(args.dim)
            let pruned = Buffer<Float>(count: order.count * dim, repeating: 0)
            for (i, r) in order.enumerated() {
                (pruned.base + i * dim).update(from: inputMatrix.row(r), count: dim)
            }
            inputMatrix = DenseMatrix(rows: order.count, cols: dim, storage: pruned)
            if options.retrain {
                guard let inputPath = options.input else {
                    throw FastTextArgumentError("-retrain needs -input: the training file to fine-tune on")
                }
                let file = try MappedFile(path: inputPath)
                let outCopy = Buffer<Float>(Array(UnsafeBufferPointer(start: outputStorage.base, count: outputStorage.count)))
                try Self.runTraining(
                    dictionary: dict, args: args, file: file, input: pruned, inputRows: order.count, output: outCopy,
                    lr: options.lr, epoch: options.epoch, threads: max(1, options.thread), seed: 0, verbose: options.verbose)
                outputStorage = outCopy
            }
        }
        let threads = max(1, options.thread)
        let qInput = try QuantizerTraining.quantizedMatrix(inputMatrix, dsub: options.dsub, qnorm: options.qnorm, threads: threads)
        let outDense = DenseMatrix(rows: outputMatrix.rows, cols: outputMatrix.cols, storage: outputStorage)
        let newOutput: FastTextMatrix = options.qout
            ? .quantized(try QuantizerTraining.quantizedMatrix(outDense, dsub: 2, qnorm: options.qnorm, threads: threads))
            : .dense(outDense)
        return try FastTextModel(args: args, dictionary: dict, input: .quantized(qInput), output: newOutput)
    }
}

extension DenseMatrix {
    /// Row norms computed in double, as fastText's `l2NormRow`.
    func rowNorms64() -> [Double] {
        (0..<rows).map { i in
            let r = row(i)
            var s = 0.0
            for j in 0..<cols { s += Double(r[j] * r[j]) }
            return s.squareRoot()
        }
    }
}
