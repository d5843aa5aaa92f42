import CSluiceShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One predicted label: its index in ``FastTextModel/labels`` and its probability as official
/// fastText reports it (`exp(log(p + 1e-5))` in single precision, so a certain label shows
/// `1.00001`).
public struct FastTextPrediction: Sendable, Equatable {
    public var label: Int32
    public var probability: Float

    public init(label: Int32, probability: Float) {
        self.label = label
        self.probability = probability
    }
}

/// Per-thread working memory for predictions. Keep one per worker and pass it to every call:
/// after the first few calls nothing is allocated.
public struct FastTextScratch: Sendable {
    var line = LineBuffers()
    var hidden: [Float] = []
    var output: [Float] = []
    var outputReady = false
    var heap: [ScoredLabel] = []
    var stack: [ScoredLabel] = []
    /// A buffer for prepared text (see ``FastTextTextPreparation``).
    var text: [UInt8] = []
    /// The predictions of the last call, best first.
    public internal(set) var predictions: [FastTextPrediction] = []

    public init() {}

    /// The input rows of the last encoded text (for tests and tools).
    public var inputRows: [Int32] { line.rows }
    /// The hidden vector of the last encoded text.
    public var hiddenVector: [Float] { hidden }

    mutating func fit(_ model: FastTextModel) {
        let dim = Int(model.args.dim)
        if hidden.count != dim { hidden = [Float](repeating: 0, count: dim) }
        if output.count < model.paddedLabels { output = [Float](repeating: 0, count: model.paddedLabels) }
    }
}

extension FastTextModel {
    // MARK: Public prediction API

    /// Predicts the `k` most likely labels of one text, as fastText's Python `predict(text,
    /// k, threshold)` does after datatrove's newline replacement: newlines count as spaces and
    /// the end-of-sentence token `</s>` is appended.
    ///
    /// - Parameters:
    ///   - k: how many labels; −1 (or any negative) for all.
    ///   - threshold: drop labels whose probability is below this.
    /// - Returns: the number of predictions, which are in `scratch.predictions` (best first).
    ///   Zero when the text has no known features.
    @discardableResult
    public func predict(
        _ text: UnsafeBufferPointer<UInt8>, k: Int = 1, threshold: Float = 0, scratch: inout FastTextScratch
    ) -> Int {
        guard encode(text, scratch: &scratch) else {
            scratch.predictions.removeAll(keepingCapacity: true)
            return 0
        }
        return topLabels(k: k, threshold: threshold, scratch: &scratch)
    }

    /// ``predict(_:k:threshold:scratch:)`` for a `String`.
    @discardableResult
    public func predict(_ text: String, k: Int = 1, threshold: Float = 0, scratch: inout FastTextScratch) -> Int {
        var t = text
        return t.withUTF8 { predict($0, k: k, threshold: threshold, scratch: &scratch) }
    }

    /// Predicts one text and returns `(label, probability)` pairs, best first. Allocates; use
    /// ``predict(_:k:threshold:scratch:)`` in loops.
    public func predict(_ text: String, k: Int = 1, threshold: Float = 0) -> [(label: String, probability: Float)] {
        var scratch = FastTextScratch()
        let n = predict(text, k: k, threshold: threshold, scratch: &scratch)
        return scratch.predictions.prefix(n).map { (labels[Int($0.label)], $0.probability) }
    }

    /// Predicts a batch of texts with one scratch: `body` receives each text's index and its
    /// predictions (best first), valid only during the call. Allocates nothing once the scratch
    /// is warm.
    public func predictBatch<C: Collection>(
        _ texts: C, k: Int = 1, threshold: Float = 0, scratch: inout FastTextScratch,
        _ body: (Int, ArraySlice<FastTextPrediction>) throws -> Void
    ) rethrows where C.Element == String {
        var i = 0
        for var t in texts {
            let n = t.withUTF8 { predict($0, k: k, threshold: threshold, scratch: &scratch) }
            try body(i, scratch.predictions[0..<n])
            i += 1
        }
    }

    /// Encodes one text into the hidden vector (newlines as spaces, `</s>` appended), for
    /// ``topLabels(k:threshold:scratch:)`` and ``probability(ofLabel:scratch:)``.
    /// Returns false when the text yields no input rows (nothing to predict).
    public func encode(_ text: UnsafeBufferPointer<UInt8>, scratch: inout FastTextScratch) -> Bool {
        scratch.fit(self)
        let base = text.baseAddress ?? UnsafePointer(emptyTextByte.base)
        _ = dictionary.readLine(base, count: text.count, from: 0, newlineEndsLine: false, eosAtEnd: true, features, &scratch.line)
        return computeHidden(&scratch)
    }

    /// Computes the hidden vector from the rows in `scratch.line`.
    func computeHidden(_ scratch: inout FastTextScratch) -> Bool {
        scratch.fit(self)
        scratch.outputReady = false
        let count = scratch.line.rows.count
        if count == 0 { return false }
        let dim = Int(args.dim)
        scratch.line.rows.withUnsafeBufferPointer { rows in
            scratch.hidden.withUnsafeMutableBufferPointer { hb in
                let h = hb.baseAddress!
                h.update(repeating: 0, count: dim)
                switch input {
                case .dense(let m):
                    // The rows are scattered over a matrix much larger than the caches: each
                    // is a few cache misses. Asking for rows a few steps ahead overlaps those
                    // misses instead of waiting for them one row at a time.
                    let n = rows.count
                    let ahead = min(n, rowPrefetchDistance)
                    for i in 0..<ahead { prefetchFloats(m.row(Int(rows[i])), dim) }
                    for i in 0..<n {
                        if i + ahead < n { prefetchFloats(m.row(Int(rows[i + ahead])), dim) }
                        addVector(h, m.row(Int(rows[i])), dim)
                    }
                case .quantized(let q):
                    addQuantizedRows(q, rows, h)
                }
                let scale = Float(1.0 / Double(count))
                for j in 0..<dim { h[j] *= scale }
            }
        }
        return true
    }

    /// The `k` best labels for the encoded text (−1 for all), with fastText's rules: labels
    /// below `threshold` are skipped and ties keep official fastText's order.
    @discardableResult
    public func topLabels(k: Int, threshold: Float = 0, scratch: inout FastTextScratch) -> Int {
        let nl = dictionary.nlabels
        let kk = k < 0 ? nl : min(k, max(nl, 1))
        scratch.predictions.removeAll(keepingCapacity: true)
        if kk == 0 || nl == 0 { return 0 }
        // Room for every label once, so that later calls never grow the array, even after a
        // caller kept a copy of an earlier result (which makes the next append copy).
        if scratch.predictions.capacity < nl { scratch.predictions.reserveCapacity(nl) }
        if scratch.heap.count < kk + 1 {
            scratch.heap = [ScoredLabel](repeating: ScoredLabel(score: 0, label: 0), count: kk + 1)
        }
        var n = 0
        if args.loss == .hs, let tree {
            n = hsSearch(k: kk, threshold: threshold, tree: tree, scratch: &scratch)
        } else {
            computeOutput(&scratch)
            var heap = scratch.heap
            scratch.heap = []
            n = scratch.output.withUnsafeBufferPointer { out in
                heap.withUnsafeMutableBufferPointer { hb in
                    findKBest(k: kk, threshold: threshold, out.baseAddress!, nl, hb.baseAddress!)
                }
            }
            scratch.heap = heap
        }
        scratch.heap.withUnsafeMutableBufferPointer { StdHeap.sort($0.baseAddress!, count: n) }
        for i in 0..<n {
            let e = scratch.heap[i]
            scratch.predictions.append(FastTextPrediction(label: e.label, probability: expf(e.score)))
        }
        return n
    }

    /// The probability of one label for the encoded text, as fastText reports it with `k = -1`.
    public func probability(ofLabel label: Int, scratch: inout FastTextScratch) -> Float {
        precondition(label >= 0 && label < dictionary.nlabels, "label index out of range")
        if args.loss == .hs, let tree {
            let path = tree.paths[label]
            let code = tree.codes[label]
            var score: Float = 0
            scratch.hidden.withUnsafeBufferPointer { h in
                var i = path.count - 1
                while i >= 0 {
                    let f = exactSigmoid(output.dot(Int(path[i]), h.baseAddress!))
                    score += code[i] ? stdLog(f) : stdLog(Float(1.0 - Double(f)))
                    i -= 1
                }
            }
            return expf(score)
        }
        computeOutput(&scratch)
        return expf(stdLog(scratch.output[label]))
    }

    // MARK: Losses

    @inline(__always)
    func exactSigmoid(_ x: Float) -> Float { Float(1.0 / Double(1 + expf(-x))) }

    /// Fills `scratch.output` with every label's probability (softmax, ns and ova).
    func computeOutput(_ scratch: inout FastTextScratch) {
        if scratch.outputReady { return }
        let nl = dictionary.nlabels
        let dim = Int(args.dim)
        scratch.hidden.withUnsafeBufferPointer { hb in
            scratch.output.withUnsafeMutableBufferPointer { ob in
                let h = hb.baseAddress!
                let o = ob.baseAddress!
                if let t = outputT {
                    multiplyTransposed(t.base, paddedLabels, h, dim, o)
                } else {
                    for i in 0..<nl { o[i] = output.dot(i, h) }
                }
                switch args.loss {
                case .softmax:
                    var mx = o[0]
                    for i in 0..<nl { mx = max(o[i], mx) }
                    var z: Float = 0
                    for i in 0..<nl {
                        o[i] = Float(exp(Double(o[i] - mx)))
                        z += o[i]
                    }
                    for i in 0..<nl { o[i] /= z }
                case .ns, .ova, .hs:
                    let table = sigmoid.base
                    for i in 0..<nl { o[i] = tableSigmoid(o[i], table) }
                }
            }
        }
        scratch.outputReady = true
    }

    /// fastText's `findKBest` into a heap at `heap`; returns the heap size.
    @inline(__always)
    func findKBest(k: Int, threshold: Float, _ o: UnsafePointer<Float>, _ nl: Int, _ heap: UnsafeMutablePointer<ScoredLabel>) -> Int {
        var n = 0
        for i in 0..<nl {
            let p = o[i]
            if p < threshold { continue }
            let s = stdLog(p)
            if n == k && s < heap[0].score { continue }
            heap[n] = ScoredLabel(score: s, label: Int32(i))
            n += 1
            StdHeap.push(heap, count: n)
            if n > k {
                StdHeap.pop(heap, count: n)
                n -= 1
            }
        }
        return n
    }

    /// Hierarchical softmax: fastText's depth-first search over the Huffman tree, pruned by the
    /// threshold and by the heap, with the same visiting order.
    func hsSearch(k: Int, threshold: Float, tree: HuffmanTree, scratch: inout FastTextScratch) -> Int {
        let osz = tree.osz
        let logThreshold = stdLog(threshold)
        var stack = scratch.stack
        var heapArray = scratch.heap
        scratch.stack = []
        scratch.heap = []
        defer {
            scratch.stack = stack
            scratch.heap = heapArray
        }
        stack.removeAll(keepingCapacity: true)
        stack.append(ScoredLabel(score: 0, label: Int32(tree.root)))
        var n = 0
        scratch.hidden.withUnsafeBufferPointer { hb in
            heapArray.withUnsafeMutableBufferPointer { heapBuf in
                let heap = heapBuf.baseAddress!
                let h = hb.baseAddress!
                while let top = stack.popLast() {
                    let score = top.score
                    let node = Int(top.label)
                    if score < logThreshold { continue }
                    if n == k && score < heap[0].score { continue }
                    if node < osz {
                        heap[n] = ScoredLabel(score: score, label: Int32(node))
                        n += 1
                        StdHeap.push(heap, count: n)
                        if n > k {
                            StdHeap.pop(heap, count: n)
                            n -= 1
                        }
                        continue
                    }
                    let f = exactSigmoid(output.dot(node - osz, h))
                    // Recursion visits the left child first: push the right one below it.
                    stack.append(ScoredLabel(score: score + stdLog(f), label: tree.right[node]))
                    stack.append(ScoredLabel(score: score + stdLog(Float(1.0 - Double(f))), label: tree.left[node]))
                }
            }
        }
        return n
    }
}

/// `h += norm(r) * row(r)` for every row, in fastText's order (`QuantMatrix::addRowToVector`).
@inline(__always)
func addQuantizedRows(_ q: QuantizedMatrix, _ rows: UnsafeBufferPointer<Int32>, _ h: UnsafeMutablePointer<Float>) {
    let codes = q.codes.base
    let cent = q.pq.centroids.base
    let nsubq = q.pq.nsubq, dsub = q.pq.dsub
    let normCodes = q.normCodes.base
    let normCentroids = q.npq?.centroids.base
    #if DEBUG
    let simd = false
    #else
    let simd = true
    #endif
    if simd && dsub == 2 && q.pq.lastdsub == 2 {
        let hr = UnsafeMutableRawPointer(h)
        let cr = UnsafeRawPointer(cent)
        var i = 0
        while i < rows.count {
            let r = Int(rows[i])
            let alpha: Float = normCentroids.map { $0[Int(normCodes[r])] } ?? 1
            let a = SIMD2<Float>(repeating: alpha)
            let code = codes + r * nsubq
            var m = 0
            while m < nsubq {
                let c = cr.loadUnaligned(fromByteOffset: ((m &* 256) &+ Int(code[m])) &* 8, as: SIMD2<Float>.self)
                let x = hr.loadUnaligned(fromByteOffset: m &* 8, as: SIMD2<Float>.self)
                hr.storeBytes(of: x + a * c, toByteOffset: m &* 8, as: SIMD2<Float>.self)
                m &+= 1
            }
            i &+= 1
        }
        return
    }
    let last = q.pq.lastdsub
    var i = 0
    while i < rows.count {
        let r = Int(rows[i])
        let alpha: Float = normCentroids.map { $0[Int(normCodes[r])] } ?? 1
        let code = codes + r * nsubq
        var m = 0
        while m < nsubq {
            let isLast = m == nsubq - 1
            let c = cent + (isLast ? m * 256 * dsub + Int(code[m]) * last : (m * 256 + Int(code[m])) * dsub)
            let x = h + m * dsub
            let d = isLast ? last : dsub
            var n = 0
            while n < d {
                x[n] += alpha * c[n]
                n += 1
            }
            m += 1
        }
        i += 1
    }
}

/// A valid address for empty texts.
let emptyTextByte = Buffer<UInt8>(count: 1, repeating: 0)

/// `x += y` over `n` floats.
@inline(__always)
/// How many rows ahead ``FastTextModel/computeHidden(_:)`` prefetches (sluice-bench quality:
/// on a 100-dimension model 8 and 16 measure the same, 4 is ~15% slower).
let rowPrefetchDistance = 8

/// Hints every cache line of `count` floats from `p` into the cache.
@inline(__always)
func prefetchFloats(_ p: UnsafePointer<Float>, _ count: Int) {
    let start = UInt(bitPattern: p) & ~63
    let end = UInt(bitPattern: p + count)
    var line = start
    while line < end {
        sluice_prefetch(UnsafeRawPointer(bitPattern: line))
        line += 64
    }
}

func addVector(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
    #if DEBUG
    // SIMD types are very slow without optimization; plain loops give the same sums.
    var k = 0
    while k < n {
        x[k] += y[k]
        k += 1
    }
    #else
    var j = 0
    let xr = UnsafeMutableRawPointer(x)
    let yr = UnsafeRawPointer(y)
    while j + 8 <= n {
        let a = xr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        let b = yr.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
        xr.storeBytes(of: a + b, toByteOffset: j * 4, as: SIMD8<Float>.self)
        j += 8
    }
    while j < n {
        x[j] += y[j]
        j += 1
    }
    #endif
}

/// `o[i] = Σ_j t[j][i] * h[j]` for a transposed `dim × padded` matrix, summing over `j` in
/// order for each `i`, which gives exactly fastText's row-by-row dot products.
@inline(__always)
func multiplyTransposed(_ t: UnsafePointer<Float>, _ padded: Int, _ h: UnsafePointer<Float>, _ dim: Int, _ o: UnsafeMutablePointer<Float>) {
    #if DEBUG
    var i = 0
    while i < padded {
        var s: Float = 0
        var j = 0
        while j < dim {
            s += t[j * padded + i] * h[j]
            j += 1
        }
        o[i] = s
        i += 1
    }
    #else
    let or = UnsafeMutableRawPointer(o)
    var b = 0
    while b < padded {
        var acc = SIMD8<Float>(repeating: 0)
        let tr = UnsafeRawPointer(t + b)
        for j in 0..<dim {
            let w = tr.loadUnaligned(fromByteOffset: j * padded * 4, as: SIMD8<Float>.self)
            acc = acc + w * SIMD8<Float>(repeating: h[j])
        }
        or.storeBytes(of: acc, toByteOffset: b * 4, as: SIMD8<Float>.self)
        b += 8
    }
    #endif
}
