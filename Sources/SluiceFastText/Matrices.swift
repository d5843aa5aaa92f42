/// A row-major matrix of `Float`, as stored in fastText files (`int64 m, int64 n, float32[m*n]`).
public struct DenseMatrix: Sendable {
    public let rows: Int
    public let cols: Int
    let storage: Buffer<Float>

    /// A zero matrix.
    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        storage = Buffer(count: rows * cols, repeating: 0)
    }

    /// A matrix over `values` (row-major, `rows*cols` of them).
    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "DenseMatrix needs rows*cols values")
        self.rows = rows
        self.cols = cols
        storage = Buffer(values)
    }

    init(rows: Int, cols: Int, storage: Buffer<Float>) {
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    @inline(__always)
    func row(_ i: Int) -> UnsafeMutablePointer<Float> { storage.base + i * cols }

    /// Element `(i, j)`.
    public subscript(i: Int, j: Int) -> Float { storage.base[i * cols + j] }

    /// Row `i` as an array.
    public func rowValues(_ i: Int) -> [Float] { Array(UnsafeBufferPointer(start: row(i), count: cols)) }

    /// The L2 norm of every row.
    public func rowNorms() -> [Float] {
        var out = [Float](repeating: 0, count: rows)
        for i in 0..<rows {
            let r = row(i)
            var s: Float = 0
            for j in 0..<cols { s += r[j] * r[j] }
            out[i] = s.squareRoot()
        }
        return out
    }

    init(reading r: inout BinaryFileReader, what: String) throws {
        let m = try r.int64("\(what) rows")
        let n = try r.int64("\(what) columns")
        guard m >= 0, n >= 0, m.multipliedReportingOverflow(by: n).overflow == false,
            m * n * 4 <= r.fileSize
        else {
            throw FastTextError(
                "model file \(r.path): \(what) claims \(m)×\(n) values, more than the file holds; the file is damaged or truncated")
        }
        rows = Int(m)
        cols = Int(n)
        let count = rows * cols
        storage = try Buffer<Float>.filled(count: count) { p in
            try r.read(into: UnsafeMutableRawPointer(p), count: count * 4, what: what)
        }
    }

    func write(to w: inout BinaryFileWriter) throws {
        try w.int64(Int64(rows))
        try w.int64(Int64(cols))
        try w.raw(UnsafeRawBufferPointer(start: storage.base, count: rows * cols * 4))
    }
}

/// fastText's product quantizer: `nsubq` sub-vectors of `dsub` values (the last has `lastdsub`),
/// each replaced by one of 256 centroids.
public struct ProductQuantizer: Sendable {
    public static let ksub = 256
    public let dim: Int
    public let nsubq: Int
    public let dsub: Int
    public let lastdsub: Int
    /// `dim * 256` values.
    let centroids: Buffer<Float>

    init(dim: Int, nsubq: Int, dsub: Int, lastdsub: Int, centroids: Buffer<Float>) {
        self.dim = dim
        self.nsubq = nsubq
        self.dsub = dsub
        self.lastdsub = lastdsub
        self.centroids = centroids
    }

    /// Offset of centroid `code` of sub-quantizer `m` in `centroids`.
    @inline(__always)
    func centroidOffset(_ m: Int, _ code: Int) -> Int {
        m == nsubq - 1 ? m * Self.ksub * dsub + code * lastdsub : (m * Self.ksub + code) * dsub
    }

    init(reading r: inout BinaryFileReader, what: String) throws {
        let dim = Int(try r.int32("\(what) dim"))
        let nsubq = Int(try r.int32("\(what) nsubq"))
        let dsub = Int(try r.int32("\(what) dsub"))
        let lastdsub = Int(try r.int32("\(what) lastdsub"))
        guard dim > 0, nsubq > 0, dsub > 0, lastdsub > 0, lastdsub <= dsub, (nsubq - 1) * dsub + lastdsub == dim else {
            throw FastTextError(
                "model file \(r.path): \(what) has dim \(dim), nsubq \(nsubq), dsub \(dsub), lastdsub \(lastdsub), which do not fit together; the file is damaged")
        }
        guard Int64(dim) * 256 * 4 <= r.fileSize else {
            throw FastTextError("model file \(r.path): \(what) claims \(dim * 256) centroid values, more than the file holds")
        }
        let count = dim * Self.ksub
        let c = try Buffer<Float>.filled(count: count) { p in
            try r.read(into: UnsafeMutableRawPointer(p), count: count * 4, what: "\(what) centroids")
        }
        self.init(dim: dim, nsubq: nsubq, dsub: dsub, lastdsub: lastdsub, centroids: c)
    }

    func write(to w: inout BinaryFileWriter) throws {
        try w.int32(Int32(dim))
        try w.int32(Int32(nsubq))
        try w.int32(Int32(dsub))
        try w.int32(Int32(lastdsub))
        try w.raw(UnsafeRawBufferPointer(start: centroids.base, count: centroids.count * 4))
    }
}

/// A product-quantized matrix (`.ftz`), optionally with separately quantized row norms.
public struct QuantizedMatrix: Sendable {
    public let rows: Int
    public let cols: Int
    public let qnorm: Bool
    let codes: Buffer<UInt8>
    let pq: ProductQuantizer
    let normCodes: Buffer<UInt8>
    let npq: ProductQuantizer?

    init(rows: Int, cols: Int, qnorm: Bool, codes: Buffer<UInt8>, pq: ProductQuantizer, normCodes: Buffer<UInt8>, npq: ProductQuantizer?) {
        self.rows = rows
        self.cols = cols
        self.qnorm = qnorm
        self.codes = codes
        self.pq = pq
        self.normCodes = normCodes
        self.npq = npq
    }

    /// The norm factor of row `i` (1 without qnorm).
    @inline(__always)
    func norm(_ i: Int) -> Float {
        guard qnorm, let npq else { return 1 }
        return npq.centroids.base[npq.centroidOffset(0, Int(normCodes.base[i]))]
    }

    /// `x += alpha * row(i)`, in fastText's order.
    @inline(__always)
    func addRow(_ i: Int, to x: UnsafeMutablePointer<Float>, alpha: Float) {
        let nsubq = pq.nsubq, dsub = pq.dsub
        let code = codes.base + nsubq * i
        let cbase = pq.centroids.base
        for m in 0..<(nsubq - 1) {
            let c = cbase + (m * ProductQuantizer.ksub + Int(code[m])) * dsub
            let xo = x + m * dsub
            for n in 0..<dsub { xo[n] += alpha * c[n] }
        }
        let m = nsubq - 1
        let c = cbase + m * ProductQuantizer.ksub * dsub + Int(code[m]) * pq.lastdsub
        let xo = x + m * dsub
        for n in 0..<pq.lastdsub { xo[n] += alpha * c[n] }
    }

    /// `row(i) · x`, in fastText's order.
    @inline(__always)
    func dot(_ i: Int, _ x: UnsafePointer<Float>) -> Float {
        let nsubq = pq.nsubq, dsub = pq.dsub
        let code = codes.base + nsubq * i
        let cbase = pq.centroids.base
        var res: Float = 0
        for m in 0..<nsubq {
            let c = cbase + pq.centroidOffset(m, Int(code[m]))
            let d = m == nsubq - 1 ? pq.lastdsub : dsub
            let xo = x + m * dsub
            for n in 0..<d { res += xo[n] * c[n] }
        }
        return res * norm(i)
    }

    /// Row `i` reconstructed (with its norm).
    public func rowValues(_ i: Int) -> [Float] {
        var out = [Float](repeating: 0, count: cols)
        out.withUnsafeMutableBufferPointer { addRow(i, to: $0.baseAddress!, alpha: norm(i)) }
        return out
    }

    init(reading r: inout BinaryFileReader, what: String) throws {
        let qnorm = try r.bool("\(what) qnorm")
        let m = try r.int64("\(what) rows")
        let n = try r.int64("\(what) columns")
        let codesize = try r.int32("\(what) codesize")
        guard m >= 0, n > 0, codesize >= 0, Int64(codesize) <= r.fileSize else {
            throw FastTextError("model file \(r.path): \(what) has \(m)×\(n) values and \(codesize) codes; the file is damaged")
        }
        let codes = try Buffer<UInt8>.filled(count: Int(codesize)) { p in
            try r.read(into: UnsafeMutableRawPointer(p), count: Int(codesize), what: "\(what) codes")
        }
        let pq = try ProductQuantizer(reading: &r, what: "\(what) quantizer")
        guard pq.dim == Int(n), Int64(pq.nsubq) * m == Int64(codesize) else {
            throw FastTextError(
                "model file \(r.path): \(what) has \(m)×\(n) values but its quantizer covers \(pq.dim) columns in \(pq.nsubq) codes per row (\(codesize) codes); the file is damaged")
        }
        var normCodes = Buffer<UInt8>(count: 0, repeating: 0)
        var npq: ProductQuantizer? = nil
        if qnorm {
            normCodes = try Buffer<UInt8>.filled(count: Int(m)) { p in
                try r.read(into: UnsafeMutableRawPointer(p), count: Int(m), what: "\(what) norm codes")
            }
            let q = try ProductQuantizer(reading: &r, what: "\(what) norm quantizer")
            guard q.dim == 1 else {
                throw FastTextError("model file \(r.path): \(what) norm quantizer has dimension \(q.dim), expected 1; the file is damaged")
            }
            npq = q
        }
        self.init(rows: Int(m), cols: Int(n), qnorm: qnorm, codes: codes, pq: pq, normCodes: normCodes, npq: npq)
    }

    func write(to w: inout BinaryFileWriter) throws {
        try w.bool(qnorm)
        try w.int64(Int64(rows))
        try w.int64(Int64(cols))
        try w.int32(Int32(codes.count))
        try w.raw(UnsafeRawBufferPointer(start: codes.base, count: codes.count))
        try pq.write(to: &w)
        if qnorm, let npq {
            try w.raw(UnsafeRawBufferPointer(start: normCodes.base, count: normCodes.count))
            try npq.write(to: &w)
        }
    }
}

/// An input or output matrix of a model: dense (`.bin`) or product-quantized (`.ftz`).
public enum FastTextMatrix: Sendable {
    case dense(DenseMatrix)
    case quantized(QuantizedMatrix)

    public var rows: Int {
        switch self {
        case .dense(let d): d.rows
        case .quantized(let q): q.rows
        }
    }

    public var cols: Int {
        switch self {
        case .dense(let d): d.cols
        case .quantized(let q): q.cols
        }
    }

    public var isQuantized: Bool {
        if case .quantized = self { return true }
        return false
    }

    /// Row `i` as values (reconstructed when quantized).
    public func rowValues(_ i: Int) -> [Float] {
        switch self {
        case .dense(let d): d.rowValues(i)
        case .quantized(let q): q.rowValues(i)
        }
    }

    /// `row(i) · x` in fastText's summation order.
    @inline(__always)
    func dot(_ i: Int, _ x: UnsafePointer<Float>) -> Float {
        switch self {
        case .dense(let d):
            let r = d.row(i)
            var s: Float = 0
            for j in 0..<d.cols { s += r[j] * x[j] }
            return s
        case .quantized(let q):
            return q.dot(i, x)
        }
    }
}
