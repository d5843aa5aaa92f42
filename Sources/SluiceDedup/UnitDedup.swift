import Glibc
import SluiceCore
import SluiceIO

/// Options shared by `paragraph_dedup` and `line_dedup`.
public struct UnitDedupConfiguration: Decodable, Sendable {
    public enum Mode: String, Sendable, Decodable { case exact, bloom }
    public var mode: Mode?
    public var normalize: ContentNormalization?
    public var minChars: Int?
    public var expectedItems: Int?
    public var falsePositiveRate: Double?
    public var memory: ByteSize?

    enum CodingKeys: String, CodingKey {
        case mode, normalize, memory
        case minChars = "min_chars"
        case expectedItems = "expected_items"
        case falsePositiveRate = "false_positive_rate"
    }

    public init(
        mode: Mode? = nil, normalize: ContentNormalization? = nil, minChars: Int? = nil, expectedItems: Int? = nil,
        falsePositiveRate: Double? = nil, memory: ByteSize? = nil
    ) {
        self.mode = mode
        self.normalize = normalize
        self.minChars = minChars
        self.expectedItems = expectedItems
        self.falsePositiveRate = falsePositiveRate
        self.memory = memory
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decodeIfPresent(Mode.self, forKey: .mode)
        normalize = try c.decodeIfPresent(ContentNormalization.self, forKey: .normalize)
        minChars = try c.decodeIfPresent(Int.self, forKey: .minChars)
        expectedItems = try c.decodeIfPresent(Int.self, forKey: .expectedItems)
        falsePositiveRate = try c.decodeIfPresent(Double.self, forKey: .falsePositiveRate)
        memory = try c.decodeIfPresent(ByteSize.self, forKey: .memory)
    }

    static func options(unit: String) -> [StageOption] {
        [
            StageOption("mode", "exact | bloom", default: "exact", help: "exact: a global multi-step dedup over all tasks (keep-first, no false positives); bloom: one streaming pass per task with a Bloom filter."),
            StageOption("normalize", "none | whitespace | simplified", default: "simplified", help: "How a \(unit) is normalised before its hash (simplified: lowercase, digits to 0, punctuation and accents removed, as CCNet)."),
            StageOption("min_chars", "int", default: "10", help: "\(unit == "line" ? "Lines" : "Paragraphs") shorter than this (in characters, after normalising) are never removed."),
            StageOption("expected_items", "int", default: "10000000", help: "bloom: the number of distinct \(unit)s the filter is sized for."),
            StageOption("false_positive_rate", "number", default: "0.001", help: "bloom: the filter's false-positive rate at expected_items."),
            StageOption("memory", "size", default: "256MB", help: "exact: hashes held in memory per task before a sorted run is written."),
        ]
    }
}

/// Removes lines or paragraphs seen earlier in the corpus (CCNet-style), in one of two modes.
struct UnitDedupCore: Sendable {
    let units: TextUnits
    let mode: UnitDedupConfiguration.Mode
    let normalization: ContentNormalization
    let minCharacters: Int
    let memoryBytes: Int
    let bloomBits: Int
    let bloomHashes: Int
    let expectedItems: Int
    let falsePositiveRate: Double
    let reason: DropReason
    let stage: String
    private let bloom = Locked<[Int: BloomTask]>([:])

    init(_ c: UnitDedupConfiguration, kind: TextUnits.Kind, stage: String) throws {
        units = TextUnits(kind: kind)
        mode = c.mode ?? .exact
        normalization = c.normalize ?? .simplified
        minCharacters = c.minChars ?? 10
        guard minCharacters >= 0 else { throw StageConfigurationError("min_chars must not be negative, got \(minCharacters)") }
        memoryBytes = c.memory?.bytes ?? 256_000_000
        guard memoryBytes >= 1_000_000 else { throw StageConfigurationError("memory must be at least 1MB, got \(memoryBytes) bytes") }
        expectedItems = c.expectedItems ?? 10_000_000
        falsePositiveRate = c.falsePositiveRate ?? 0.001
        guard expectedItems >= 1 else { throw StageConfigurationError("expected_items must be at least 1, got \(expectedItems)") }
        guard falsePositiveRate > 0 && falsePositiveRate < 1 else {
            throw StageConfigurationError("false_positive_rate must be between 0 and 1 (exclusive), got \(falsePositiveRate)")
        }
        if mode == .exact && (c.expectedItems != nil || c.falsePositiveRate != nil) {
            throw StageConfigurationError("expected_items and false_positive_rate size the Bloom filter; set mode: bloom, or remove them")
        }
        (bloomBits, bloomHashes) = BloomFilter.size(expectedItems: expectedItems, falsePositiveRate: falsePositiveRate)
        reason = DropReason(stringLiteral: "duplicate_\(kind.rawValue)s")
        self.stage = stage
    }

    func phases(stageID: String) throws -> [StagePhase]? {
        guard mode == .exact else { return nil }
        let work = try checkWorkName(stageID)
        let spec = HashSpec(
            target: .units(units, minCharacters: minCharacters), normalization: normalization,
            ranking: try KeeperRanking(policy: .first, field: nil, stage: stage), memoryBytes: memoryBytes)
        return [
            StagePhase(name: "hashes", type: stage + "_hashes", stage: ExactDedupHashes(spec: spec, work: work)),
            StagePhase(
                name: "decide", type: stage + "_decide",
                stage: ExactDedupDecide(work: work, memoryBytes: memoryBytes, label: stage)),
            StagePhase(
                name: "remove", type: stage,
                stage: UnitRemoval(
                    removal: RemovalFilter(
                        work: work, stage: stage, signing: "hashes", deciding: "decisions", producer: stage + " (hashes)",
                        decider: stage + " (decide)", reason: reason, metadataPrefix: nil, units: units))),
        ]
    }

    // MARK: Bloom mode

    func beginTask(_ context: TaskContext) throws {
        let task = BloomTask(filter: BloomFilter(bits: bloomBits, hashes: bloomHashes), context: context)
        bloom.withLock { $0[context.task] = task }
    }

    func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        guard let task = bloom.withLock({ $0.count == 1 ? $0.first!.value : nil }) else {
            throw DedupError("\(stage): a batch arrived outside a task; the stage needs a runtime that calls beginTask")
        }
        var hasher = ContentHasher(normalization: normalization)
        var removedUnits = 0
        var bytesRemoved = 0
        batch.retain { doc in
            let remove: Set<Int> = doc.text.withUTF8Bytes { b in
                var remove = Set<Int>()
                for (i, u) in units.split(b).units.enumerated() {
                    let h = hasher.hash(UnsafeBufferPointer(rebasing: b[u.start..<u.end]))
                    guard h.characters >= minCharacters else { continue }
                    if task.filter.insert(h.hi, h.lo) { remove.insert(i) }
                }
                return remove
            }
            guard !remove.isEmpty else { return .keep }
            let before = doc.text.utf8.count
            let (text, n) = units.removing(remove, from: doc.text)
            removedUnits += n
            bytesRemoved += before - text.utf8.count
            if text.isEmpty { return .drop(reason) }
            doc.text = text
            return .keep
        }
        stats.counters["units_removed", default: 0] += removedUnits
        stats.counters["bytes_removed", default: 0] += bytesRemoved
    }

    func finishTask(_ context: TaskContext, stats: inout StageStats) throws {
        guard let task = bloom.withLock({ $0.removeValue(forKey: context.task) }) else { return }
        let f = task.filter
        let set = f.bitsSet
        let fill = Double(set) / Double(f.bits)
        stats.counters["bloom_bits", default: 0] += f.bits
        stats.counters["bloom_bits_set", default: 0] += set
        stats.counters["bloom_items_added", default: 0] += f.added
        let w = DedupWork(context: context, name: context.stageID)
        try Files.makeDirectories(w.root)
        _ = try? removeStaleTemporaries(in: w.root, matching: "bloom-" + DedupWork.taskName(context.task))
        try writeSmallJSONFile(
            w.path("bloom-\(DedupWork.taskName(context.task)).json"),
            .object([
                "method": .string("bloom \(units.kind.rawValue) dedup"), "task": .int(context.task),
                "bits": .int(f.bits), "bytes": .int(f.bits / 8), "hashes": .int(f.hashes),
                "expected_items": .int(expectedItems), "false_positive_rate_at_expected": .double(falsePositiveRate),
                "items_added": .int(f.added), "bits_set": .int(set),
                "fill": .double((fill * 1e6).rounded() / 1e6),
                "estimated_false_positive_rate": .double((pow(fill, Double(f.hashes)) * 1e9).rounded() / 1e9),
                "over_capacity": .bool(f.added > expectedItems),
            ]))
    }
}

final class BloomTask: @unchecked Sendable {
    let filter: BloomFilter
    let context: TaskContext
    init(filter: BloomFilter, context: TaskContext) {
        self.filter = filter
        self.context = context
    }
}

/// The removal phase of paragraph and line dedup.
struct UnitRemoval: RemovalStage {
    struct Configuration: Decodable, Sendable {}
    static let type = "unit_removal"
    static let summary = "Removes the lines or paragraphs decided by the decide step."
    static let options: [StageOption] = []

    let removal: RemovalFilter
    init(configuration: Configuration) throws {
        throw StageConfigurationError("unit_removal is built by paragraph_dedup and line_dedup only")
    }
    init(removal: RemovalFilter) { self.removal = removal }
}

/// Removes paragraphs seen earlier in the corpus (CCNet-style).
///
/// YAML type `paragraph_dedup`. A paragraph is a run of non-blank lines. Each paragraph of at
/// least `min_chars` characters (after normalising) is hashed; every copy but the first in
/// input order is removed, with the blank lines after it. A document left with no paragraph
/// is dropped (`duplicate_paragraphs`).
///
/// - `mode: exact` (default) runs as three steps of one `sluice run` (hashes, a global
///   decision over all tasks, removal): no false positives, bounded memory.
/// - `mode: bloom` is one streaming pass with a Bloom filter per task, sized from
///   `expected_items` and `false_positive_rate` (Dolma-style); the stats and
///   `OUT/_work/ID/bloom-TTTTT.json` report its real fill and estimated false-positive rate.
///
/// ```yaml
/// - type: paragraph_dedup
///   min_chars: 20
/// ```
public struct ParagraphDedup: MultiStepStage, TaskAwareStage {
    public typealias Configuration = UnitDedupConfiguration
    public static let type = "paragraph_dedup"
    public static let summary = "Removes paragraphs seen earlier in the corpus: exact over all tasks (multi-step) or a streaming Bloom filter."
    public static let options: [StageOption] = UnitDedupConfiguration.options(unit: "paragraph")
    public static let dropReasons: [DropReason] = ["duplicate_paragraphs"]
    public static let isStateless = false

    let core: UnitDedupCore
    public init(configuration: Configuration) throws {
        core = try UnitDedupCore(configuration, kind: .paragraph, stage: Self.type)
    }
    public func phases(stageID: String) throws -> [StagePhase]? { try core.phases(stageID: stageID) }
    public func beginTask(_ context: TaskContext) throws { try core.beginTask(context) }
    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        try core.process(&batch, stats: &stats)
    }
    public func finishTask(_ context: TaskContext, stats: inout StageStats) throws {
        try core.finishTask(context, stats: &stats)
    }
}

/// Removes lines seen earlier in the corpus (CCNet-style), like ``ParagraphDedup`` with lines
/// as units.
///
/// YAML type `line_dedup`. Drop reason `duplicate_lines` for a document left with nothing.
///
/// ```yaml
/// - type: line_dedup
///   mode: bloom
///   expected_items: 100000000
///   false_positive_rate: 0.0001
/// ```
public struct LineDedup: MultiStepStage, TaskAwareStage {
    public typealias Configuration = UnitDedupConfiguration
    public static let type = "line_dedup"
    public static let summary = "Removes lines seen earlier in the corpus: exact over all tasks (multi-step) or a streaming Bloom filter."
    public static let options: [StageOption] = UnitDedupConfiguration.options(unit: "line")
    public static let dropReasons: [DropReason] = ["duplicate_lines"]
    public static let isStateless = false

    let core: UnitDedupCore
    public init(configuration: Configuration) throws {
        core = try UnitDedupCore(configuration, kind: .line, stage: Self.type)
    }
    public func phases(stageID: String) throws -> [StagePhase]? { try core.phases(stageID: stageID) }
    public func beginTask(_ context: TaskContext) throws { try core.beginTask(context) }
    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        try core.process(&batch, stats: &stats)
    }
    public func finishTask(_ context: TaskContext, stats: inout StageStats) throws {
        try core.finishTask(context, stats: &stats)
    }
}

// MARK: - Bloom filter

/// A Bloom filter over 128-bit hashes (double hashing: position `i` is `h1 + i·h2 mod m`).
final class BloomFilter: @unchecked Sendable {
    let bits: Int
    let hashes: Int
    private var words: [UInt64]
    private(set) var added = 0

    /// Bits and hash count for `n` items at false-positive rate `p`: m = −n ln p / (ln 2)², k = (m/n) ln 2.
    static func size(expectedItems n: Int, falsePositiveRate p: Double) -> (bits: Int, hashes: Int) {
        let ln2 = 0.693_147_180_559_945_3
        let m = max(64, Int((-Double(n) * log(p) / (ln2 * ln2)).rounded(.up)))
        let bits = (m + 63) / 64 * 64
        let k = max(1, min(32, Int((Double(bits) / Double(n) * ln2).rounded())))
        return (bits, k)
    }

    init(bits: Int, hashes: Int) {
        self.bits = bits
        self.hashes = hashes
        words = [UInt64](repeating: 0, count: bits / 64)
    }

    /// Adds the item; returns whether it was (probably) there already.
    func insert(_ h1: UInt64, _ h2: UInt64) -> Bool {
        let m = UInt64(bits)
        var present = true
        var x = h1
        let step = h2 | 1
        for _ in 0..<hashes {
            let bit = Int(x % m)
            let mask = UInt64(1) << UInt64(bit & 63)
            if words[bit >> 6] & mask == 0 {
                present = false
                words[bit >> 6] |= mask
            }
            x = x &+ step
        }
        if !present { added += 1 }
        return present
    }

    var bitsSet: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}
