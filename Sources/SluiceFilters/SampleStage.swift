import SluiceCore

/// Keeps a deterministic random fraction of documents, chosen by a hash of their ids.
///
/// YAML type `sample`. A document is kept when `XXH64(id, seed) / 2^64 < fraction`, so the
/// decision depends only on the id, `fraction` and `seed`: the same documents are kept
/// whatever the batching, task count or worker count, in every rerun. Documents with equal
/// ids always get the same decision (all kept or all dropped). Samples nest: with one seed,
/// the documents kept at `fraction: 0.1` are a subset of those kept at `fraction: 0.2`.
/// Change `seed` to draw an independent sample. Dropped documents get `not_sampled`.
///
/// Options:
/// - `fraction` (required): the share of documents to keep, from 0 to 1.
/// - `seed` (default 0): the hash seed; negative seeds are used as their 64-bit pattern.
///
/// ```yaml
/// - type: sample
///   fraction: 0.05
///   seed: 17
/// ```
public struct SampleStage: FilterStage {
    public struct Configuration: Decodable, Sendable {
        public var fraction: Double
        public var seed: Int

        enum CodingKeys: String, CodingKey {
            case fraction, seed
        }

        public init(fraction: Double, seed: Int = 0) {
            self.fraction = fraction
            self.seed = seed
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let fraction = try c.decodeIfPresent(Double.self, forKey: .fraction)
            seed = try c.decodeIfPresent(Int.self, forKey: .seed) ?? 0
            guard let fraction else {
                throw StageConfigurationError("sample needs fraction: the share of documents to keep, from 0 to 1")
            }
            self.fraction = fraction
        }
    }

    public static let type = "sample"
    public static let summary = "Keeps a deterministic fraction of documents, chosen by a seeded hash of their ids."
    public static let options: [StageOption] = [
        StageOption("fraction", "number", help: "Share of documents to keep, from 0 to 1; decided per document id."),
        StageOption("seed", "int", default: "0", help: "Hash seed; change it to draw a different, independent sample."),
    ]
    public static let dropReasons: [DropReason] = ["not_sampled"]

    public let fraction: Double
    public let seed: UInt64

    public init(configuration: Configuration) throws {
        guard configuration.fraction >= 0, configuration.fraction <= 1 else {
            throw StageConfigurationError("fraction must be between 0 and 1, got \(configuration.fraction)")
        }
        fraction = configuration.fraction
        seed = UInt64(bitPattern: Int64(configuration.seed))
    }

    /// Whether the document with this id is in the sample.
    public func isSampled(id: String) -> Bool {
        if fraction >= 1 { return true }
        // Double(h) rounds, but monotonically, so larger fractions still keep supersets.
        return Double(XXH64.hash(id, seed: seed)) * 0x1p-64 < fraction
    }

    public func filter(_ document: Document) -> Verdict {
        isSampled(id: document.id) ? .keep : .drop("not_sampled")
    }
}
