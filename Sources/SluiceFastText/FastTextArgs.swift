/// The loss a fastText model was trained with; the raw values are those of the file format.
public enum FastTextLoss: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// Hierarchical softmax over a Huffman tree of the labels.
    case hs = 1
    /// Negative sampling.
    case ns = 2
    /// Full softmax.
    case softmax = 3
    /// One independent binary classifier per label ("one-vs-all").
    case ova = 4

    /// The name used by the fastText command line (`-loss`).
    public var description: String {
        switch self {
        case .hs: "hs"
        case .ns: "ns"
        case .softmax: "softmax"
        case .ova: "one-vs-all"
        }
    }

    /// Parses a `-loss` value: `hs`, `ns`, `softmax`, `one-vs-all` or `ova`.
    public init?(name: String) {
        switch name {
        case "hs": self = .hs
        case "ns": self = .ns
        case "softmax": self = .softmax
        case "ova", "one-vs-all": self = .ova
        default: return nil
        }
    }
}

/// The kind of fastText model; the raw values are those of the file format.
public enum FastTextModelKind: Int32, Sendable, CustomStringConvertible {
    case cbow = 1
    case skipgram = 2
    case supervised = 3

    public var description: String {
        switch self {
        case .cbow: "cbow"
        case .skipgram: "sg"
        case .supervised: "sup"
        }
    }
}

/// The hyper-parameters stored in a model file (56 bytes after the header), in file order.
///
/// The learning rate, label prefix, `minCountLabel`, thread count and seed are not stored.
public struct FastTextArgs: Sendable, Equatable {
    public var dim: Int32 = 100
    public var ws: Int32 = 5
    public var epoch: Int32 = 5
    public var minCount: Int32 = 5
    public var neg: Int32 = 5
    public var wordNgrams: Int32 = 1
    public var loss: FastTextLoss = .ns
    public var model: FastTextModelKind = .skipgram
    public var bucket: Int32 = 2_000_000
    public var minn: Int32 = 3
    public var maxn: Int32 = 6
    public var lrUpdateRate: Int32 = 100
    /// The sampling threshold `-t` (unused by supervised models).
    public var t: Double = 1e-4

    /// The library defaults (those of an unsupervised skipgram model).
    public init() {}

    /// The defaults of `fasttext supervised`: softmax, minCount 1, no character n-grams.
    public static var supervisedDefaults: FastTextArgs {
        var a = FastTextArgs()
        a.model = .supervised
        a.loss = .softmax
        a.minCount = 1
        a.minn = 0
        a.maxn = 0
        return a
    }

    static let byteCount = 12 * 4 + 8

    init(reading r: inout BinaryFileReader) throws {
        dim = try r.int32("args.dim")
        ws = try r.int32("args.ws")
        epoch = try r.int32("args.epoch")
        minCount = try r.int32("args.minCount")
        neg = try r.int32("args.neg")
        wordNgrams = try r.int32("args.wordNgrams")
        let lossRaw = try r.int32("args.loss")
        let modelRaw = try r.int32("args.model")
        bucket = try r.int32("args.bucket")
        minn = try r.int32("args.minn")
        maxn = try r.int32("args.maxn")
        lrUpdateRate = try r.int32("args.lrUpdateRate")
        t = try r.float64("args.t")
        guard let l = FastTextLoss(rawValue: lossRaw) else {
            throw FastTextError("model file \(r.path) names loss \(lossRaw); known losses are 1 (hs), 2 (ns), 3 (softmax), 4 (ova). Is it a fastText model?")
        }
        guard let m = FastTextModelKind(rawValue: modelRaw) else {
            throw FastTextError("model file \(r.path) names model kind \(modelRaw); known kinds are 1 (cbow), 2 (skipgram), 3 (supervised). Is it a fastText model?")
        }
        loss = l
        model = m
        guard dim > 0, dim <= 1 << 16 else {
            throw FastTextError("model file \(r.path) has dimension \(dim); expected 1...65536. Is it a fastText model?")
        }
        guard bucket >= 0, minn >= 0, maxn >= 0, wordNgrams >= 0 else {
            throw FastTextError("model file \(r.path) has negative bucket, minn, maxn or wordNgrams; the file is damaged")
        }
    }

    func write(to w: inout BinaryFileWriter) throws {
        for v in [dim, ws, epoch, minCount, neg, wordNgrams, loss.rawValue, model.rawValue, bucket, minn, maxn, lrUpdateRate] {
            try w.int32(v)
        }
        try w.float64(t)
    }
}
