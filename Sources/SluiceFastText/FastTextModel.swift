#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fastText model (`.bin` or quantized `.ftz`), loaded once and shared read-only by every
/// worker of a process.
///
/// The model is immutable, so one instance can serve any number of threads at once; each
/// thread brings its own ``FastTextScratch`` for the per-call buffers. Predictions follow
/// official fastText 0.9.2 step for step (tokens, hashes, n-grams, row averaging in the same
/// order, the same losses and tables, the same heap), so labels and probabilities agree with
/// the official library.
///
/// ```swift
/// let model = try FastTextModel(contentsOf: "models/lid.176.ftz")
/// var scratch = FastTextScratch()
/// let n = model.predict("Bonjour tout le monde", k: 3, scratch: &scratch)
/// for p in scratch.predictions.prefix(n) { print(model.labels[Int(p.label)], p.probability) }
/// ```
public final class FastTextModel: Sendable {
    /// `FASTTEXT_FILEFORMAT_MAGIC_INT32`: the first four bytes of every model file.
    public static let magic: Int32 = 793_712_314
    /// The newest file version this code reads and the one it writes.
    public static let currentVersion: Int32 = 12

    /// The file version the model was read from (12 for models built here).
    public let version: Int32
    public let args: FastTextArgs
    public let dictionary: FastTextDictionary
    public let input: FastTextMatrix
    public let output: FastTextMatrix
    /// The labels in label order, such as `__label__en`.
    public let labels: [String]
    /// Where the model was read from, if it was read from a file.
    public let path: String?

    let features: FeatureParameters
    let tree: HuffmanTree?
    /// The dense output matrix transposed to `dim × paddedLabels`, for softmax, ns and ova.
    let outputT: Buffer<Float>?
    let paddedLabels: Int
    let sigmoid: Buffer<Float>

    /// Builds a model from its parts, checking that they fit together.
    public init(
        args: FastTextArgs, dictionary: FastTextDictionary, input: FastTextMatrix, output: FastTextMatrix,
        version: Int32 = FastTextModel.currentVersion, path: String? = nil
    ) throws {
        let name = path.map { "model file \($0)" } ?? "model"
        let dim = Int(args.dim)
        guard input.cols == dim, output.cols == dim else {
            throw FastTextError("\(name): matrices have \(input.cols) and \(output.cols) columns but the dimension is \(dim); the file is damaged")
        }
        if !input.isQuantized && dictionary.isPruned {
            throw FastTextError(
                "\(name) is not quantized but has a pruned dictionary; fastText rejects such files too (fastText issue #332): download the updated model")
        }
        let nwords = dictionary.nwords
        if dictionary.pruneIndexSize > 0 {
            let maxIndex = dictionary.prunePairs.reduce(Int32(-1)) { max($0, $1.1) }
            guard dictionary.prunePairs.allSatisfy({ $0.1 >= 0 }), nwords + Int(maxIndex) < input.rows else {
                throw FastTextError("\(name): the prune index points past the \(input.rows) input rows; the file is damaged")
            }
        } else if !dictionary.isPruned {
            let needsBuckets = args.maxn > 0 || args.wordNgrams > 1
            let need = nwords + (needsBuckets ? Int(args.bucket) : 0)
            guard input.rows >= need else {
                throw FastTextError("\(name): the input matrix has \(input.rows) rows but \(nwords) words and \(args.bucket) buckets need \(need); the file is damaged")
            }
        }
        guard input.rows >= nwords else {
            throw FastTextError("\(name): the input matrix has \(input.rows) rows for \(nwords) words; the file is damaged")
        }
        let nlabels = dictionary.nlabels
        if args.model == .supervised {
            guard output.rows == nlabels else {
                throw FastTextError("\(name): the output matrix has \(output.rows) rows for \(nlabels) labels; the file is damaged")
            }
        } else {
            guard output.rows == nwords else {
                throw FastTextError("\(name): the output matrix has \(output.rows) rows for \(nwords) words; the file is damaged")
            }
        }
        self.version = version
        self.args = args
        self.dictionary = dictionary
        self.input = input
        self.output = output
        self.path = path
        labels = (0..<nlabels).map { dictionary.label($0) }
        features = FeatureParameters(args)
        sigmoid = Buffer(LossTables.sigmoid)
        if args.model == .supervised && args.loss == .hs && nlabels > 0 {
            tree = HuffmanTree(counts: dictionary.labelCounts)
        } else {
            tree = nil
        }
        let padded = (max(nlabels, 1) + 7) / 8 * 8
        paddedLabels = padded
        if case .dense(let d) = output, args.model == .supervised, args.loss != .hs {
            let t = Buffer<Float>(count: dim * padded, repeating: 0)
            for i in 0..<d.rows {
                let r = d.row(i)
                for j in 0..<dim { t.base[j * padded + i] = r[j] }
            }
            outputT = t
        } else {
            outputT = nil
        }
    }

    /// Reads a `.bin` or `.ftz` model file.
    ///
    /// - Throws: ``FastTextError`` for a missing file, a wrong magic number, a newer version,
    ///   a truncated or damaged file.
    public convenience init(contentsOf path: String) throws {
        var r = try BinaryFileReader(path: path)
        guard r.fileSize >= 8 else {
            throw FastTextError("\(path) is \(r.fileSize) bytes, too short to be a fastText model (.bin or .ftz)")
        }
        let magic = try r.int32("magic number")
        guard magic == Self.magic else {
            throw FastTextError(
                "\(path) is not a fastText model: its first four bytes are not fastText's magic number \(Self.magic) (BA 16 4F 2F). Pass a .bin or .ftz file written by fastText")
        }
        let version = try r.int32("version")
        guard version <= Self.currentVersion else {
            throw FastTextError(
                "\(path) is a fastText model of file version \(version), newer than version \(Self.currentVersion) that this reader (like fastText 0.9.2) supports")
        }
        var args = try FastTextArgs(reading: &r)
        if version == 11 && args.model == .supervised {
            args.maxn = 0  // old supervised models had no character n-grams
        }
        let dict = try FastTextDictionary(reading: &r)
        let quantInput = try r.bool("quant_input flag")
        let input: FastTextMatrix = quantInput
            ? .quantized(try QuantizedMatrix(reading: &r, what: "input matrix"))
            : .dense(try DenseMatrix(reading: &r, what: "input matrix"))
        let qout = try r.bool("qout flag")
        let output: FastTextMatrix = quantInput && qout
            ? .quantized(try QuantizedMatrix(reading: &r, what: "output matrix"))
            : .dense(try DenseMatrix(reading: &r, what: "output matrix"))
        try self.init(args: args, dictionary: dict, input: input, output: output, version: version, path: path)
    }

    /// Whether the input matrix is product-quantized (a `.ftz` model).
    public var isQuantized: Bool { input.isQuantized }

    /// Writes the model in fastText's format (version 12), loadable by official fastText.
    /// The file appears under its name only when complete.
    public func write(to path: String) throws {
        var w = try BinaryFileWriter(path: path)
        try w.int32(Self.magic)
        try w.int32(Self.currentVersion)
        try args.write(to: &w)
        try dictionary.write(to: &w)
        try w.bool(input.isQuantized)
        switch input {
        case .dense(let d): try d.write(to: &w)
        case .quantized(let q): try q.write(to: &w)
        }
        try w.bool(output.isQuantized)
        switch output {
        case .dense(let d): try d.write(to: &w)
        case .quantized(let q): try q.write(to: &w)
        }
        try w.commit()
    }

    /// A label without the `__label__` prefix (`en` for `__label__en`).
    public func shortLabel(_ index: Int) -> String {
        let l = labels[index]
        let prefix = "__label__"
        return l.hasPrefix(prefix) ? String(l.dropFirst(prefix.count)) : l
    }

    /// The label index of a label given with or without its `__label__` prefix, or nil.
    public func labelIndex(_ name: String) -> Int? {
        if let i = labels.firstIndex(of: name) { return i }
        return labels.firstIndex(of: "__label__" + name)
    }
}
