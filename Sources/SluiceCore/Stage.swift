/// Why a stage dropped a document, such as `too_short` or `invalid_json`.
///
/// Each stage declares its reasons in ``Stage/dropReasons`` beside its code, so
/// `sluice list-stages` can list them and the stats can name them.
public struct DropReason: Hashable, Sendable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { name = value }
    public var description: String { name }
    public static func < (a: DropReason, b: DropReason) -> Bool { a.name < b.name }
}

/// What a filter or mapper decided about one document.
public enum Verdict: Sendable, Equatable {
    case keep
    case drop(DropReason)
}

/// One configuration option of a stage, for `sluice list-stages` and error messages.
public struct StageOption: Sendable {
    /// The YAML key.
    public let name: String
    /// The value's type as a user would write it: `int`, `number`, `string`, `[string]`, …
    public let valueType: String
    /// The default, as YAML text; `nil` when the option is required.
    public let defaultValue: String?
    /// What the option does.
    public let help: String

    public init(_ name: String, _ valueType: String, default defaultValue: String? = nil, help: String) {
        self.name = name
        self.valueType = valueType
        self.defaultValue = defaultValue
        self.help = help
    }
}

/// A pipeline stage: it receives batches of documents and may change, drop or add documents.
///
/// A stage is configured from its YAML mapping through ``Configuration`` and built once per
/// run. Stages are `Sendable`: a stateless stage (the default) may process several batches at
/// once on different workers; a stage with ``isStateless`` `false` sees every batch of a task
/// in input order, one at a time.
///
/// Most stages adopt ``FilterStage`` or ``MapperStage`` and write one method; the shared loop
/// in ``DocumentBatch/retain(_:)`` does the counting.
public protocol Stage: Sendable {
    /// The options read from the stage's YAML mapping (its keys other than `type` and `id`).
    associatedtype Configuration: Decodable & Sendable

    /// The YAML `type` that selects this stage.
    static var type: String { get }
    /// One line for `sluice list-stages`.
    static var summary: String { get }
    /// Every option with its help text.
    static var options: [StageOption] { get }
    /// Every reason this stage may give for dropping a document.
    static var dropReasons: [DropReason] { get }
    /// Whether batches may be processed concurrently and independently.
    static var isStateless: Bool { get }

    init(configuration: Configuration) throws

    /// Processes one batch in place. Drops go through ``DocumentBatch/retain(_:)`` or
    /// ``DocumentBatch/drop(_:reason:)``; stage-specific counts go into `stats.counters`.
    /// Throwing stops the run: it is for trouble with the job, not with a document.
    func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws
}

extension Stage {
    public static var isStateless: Bool { true }
    public static var dropReasons: [DropReason] { [] }
}

/// A stage that keeps or drops each document without changing it.
public protocol FilterStage: Stage {
    func filter(_ document: Document) -> Verdict
}

extension FilterStage {
    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        batch.retain { filter($0) }
    }
}

/// A stage that may change each document, and may drop it.
public protocol MapperStage: Stage {
    func map(_ document: inout Document) -> Verdict
}

extension MapperStage {
    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        batch.retain { map(&$0) }
    }
}

/// A configuration problem found while building a stage; the pipeline loader adds the file,
/// line and column.
public struct StageConfigurationError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
