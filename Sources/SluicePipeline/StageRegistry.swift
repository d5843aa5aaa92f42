import SluiceCore

/// What a stage is being built for: its id and type in the pipeline, and the file it is in.
public struct StageBuildContext: Sendable {
    /// The stage's `id` (its type when the file gives none).
    public var id: String
    /// The stage's `type`.
    public var type: String
    /// The pipeline file's path.
    public var pipelinePath: String

    public init(id: String, type: String, pipelinePath: String) {
        self.id = id
        self.type = type
        self.pipelinePath = pipelinePath
    }

    /// `stage 'length_filter'`, or `stage 'language_id' (id 'english')` when the id differs.
    public var stageDescription: String {
        id == type ? "stage '\(type)'" : "stage '\(type)' (id '\(id)')"
    }
}

/// The stages a pipeline file may name, by `type`.
///
/// Each entry knows its stage's documentation (summary, options, drop reasons) for
/// `sluice list-stages`, and builds the stage from its YAML mapping: the mapping (without
/// `type` and `id`) is decoded into the stage's `Configuration` by ``YAMLNodeDecoder``, so
/// unknown keys, wrong types and missing keys are errors with file, line and column, and then
/// `init(configuration:)` runs.
///
/// ``standard`` holds every stage Sluice ships; its list lives in `StageRegistry+Standard.swift`.
public struct StageRegistry: Sendable {
    /// One registered stage type.
    public struct Entry: Sendable {
        public let type: String
        public let summary: String
        public let options: [StageOption]
        public let dropReasons: [DropReason]
        public let isStateless: Bool
        /// The Swift type of the stage.
        public let stageType: any Stage.Type
        private let builder: @Sendable (YAMLNode, StageBuildContext) throws -> any Stage

        init<S: Stage>(_ stage: S.Type) {
            type = S.type
            summary = S.summary
            options = S.options
            dropReasons = S.dropReasons
            isStateless = S.isStateless
            stageType = S.self
            builder = { node, context in
                let configuration = try Entry.decoder(for: S.self, context: context).decode(S.Configuration.self, from: node)
                do {
                    return try S(configuration: configuration)
                } catch let error as PipelineError {
                    throw error
                } catch let error as StageConfigurationError {
                    throw PipelineError("\(context.stageDescription): \(error.message)", at: node.location)
                } catch {
                    throw PipelineError("\(context.stageDescription): \(error)", at: node.location)
                }
            }
        }

        /// The decoder for a stage's mapping: `type` and `id` excluded, its options documented.
        static func decoder<S: Stage>(for stage: S.Type, context: StageBuildContext) -> YAMLNodeDecoder {
            YAMLNodeDecoder(context: context.stageDescription, excludedKeys: ["type", "id"], options: S.options)
        }

        /// Builds the stage from its YAML mapping (the whole list item, `type` and `id`
        /// included).
        ///
        /// - Throws: ``PipelineError`` with the location of the problem; a
        ///   `StageConfigurationError` from `init(configuration:)` gets the stage's location.
        public func build(_ node: YAMLNode, context: StageBuildContext) throws -> any Stage {
            try builder(node, context)
        }

        /// One line for `sluice list-stages`: the type, the summary, and the options.
        public var listing: String {
            var line = type + " — " + summary
            if !options.isEmpty {
                line += " Options: " + options.map { o in
                    o.name + (o.defaultValue.map { " (\($0))" } ?? " (required)")
                }.joined(separator: ", ") + "."
            }
            return line
        }
    }

    private var byType: [String: Entry] = [:]

    /// An empty registry.
    public init() {}

    /// Every stage Sluice ships.
    public static let standard: StageRegistry = {
        var r = StageRegistry()
        r.registerStandardStages()
        return r
    }()

    /// Adds a stage type. Registering two stages with the same `type` is a programming error.
    public mutating func register<S: Stage>(_ type: S.Type) {
        precondition(byType[S.type] == nil, "stage type '\(S.type)' is registered twice")
        precondition(!S.type.isEmpty, "a stage type must not be empty")
        byType[S.type] = Entry(S.self)
    }

    /// The entry for a YAML `type`, or nil.
    public func entry(for type: String) -> Entry? { byType[type] }

    /// Every entry, sorted by type.
    public var entries: [Entry] { byType.values.sorted { $0.type < $1.type } }

    /// Every registered type, sorted.
    public var types: [String] { byType.keys.sorted() }

    /// The error for a `type` that is not registered: the registered types and the closest one.
    func unknownTypeError(_ type: String, at location: YAMLLocation) -> PipelineError {
        let known = types
        var message = "unknown stage type '\(type)'"
        if known.isEmpty {
            message += "; no stage types are registered"
        } else {
            message += "; registered types: " + known.joined(separator: ", ") + didYouMean(type, known)
        }
        message += " (`sluice list-stages` describes them)"
        return PipelineError(message, at: location)
    }
}
