import Foundation
import SluiceCore

/// A pipeline file, validated: what to read, the stages (in steps), where to write, and how to
/// run. Build one with ``PipelineLoader``.
///
/// ```yaml
/// name: quickstart
/// input:
///   type: jsonl
///   paths: ["SampleData/*.jsonl.zst"]
/// stages:
///   - type: length_filter
///     min_words: 50
/// output:
///   path: out/quickstart
/// run:
///   tasks: 4
/// ```
///
/// A file lists either `stages` (one step, named after the pipeline) or `steps` (each with a
/// `name`, its `stages`, and optionally its own `run` and `output`, laid over the top-level
/// ones key by key). Paths are kept as written; relative ones are relative to the working
/// directory of the run.
public struct PipelineSpec: Sendable {
    /// The pipeline's `name`.
    public var name: String
    /// The optional `description`.
    public var description: String?
    /// The `input` block.
    public var input: InputSpec
    /// The steps in order: one (named after the pipeline) for a file with `stages`.
    public var steps: [StepSpec]
    /// Whether the file listed `steps` rather than `stages`.
    public var hasExplicitSteps: Bool
    /// The final output: the top-level `output`, or for a file with steps, the last step's.
    public var output: OutputSpec
    /// The top-level `run` settings (defaults where absent).
    public var run: RunSpec
    /// The `slurm` block: defaults for `sluice slurm submit` (empty when absent).
    public var slurm = SlurmSettings()
    /// The pipeline file's path, as given to the loader.
    public var path: String

    /// The top-level keys, for messages and documentation.
    public static let keys: [StageOption] = [
        StageOption("name", "string", help: "The pipeline's name, recorded in the manifest."),
        StageOption("description", "string", default: "null", help: "What the pipeline is for."),
        StageOption("input", "mapping", help: "What to read: type (jsonl, text, warc), paths, and reader options."),
        StageOption("stages", "[stage]", help: "The stages, in order, each picked by type; or use steps."),
        StageOption("steps", "[step]", help: "For multi-step jobs: a list of {name, stages, run, output}; instead of stages."),
        StageOption("output", "mapping", help: "Where and how to write: path, max_shard_bytes, compression_level, rejected."),
        StageOption("run", "mapping", default: "{}", help: "How to run: tasks, workers, batch_size, keep_work."),
        StageOption("slurm", "mapping", default: "{}", help: "For sluice slurm submit: partition, time, cpus_per_task, mem, qos, account, array_limit, extra."),
    ]
}

/// The `input` block: the files and how to read them.
public struct InputSpec: Sendable {
    /// `jsonl`, `text` or `warc`.
    public enum Format: String, Sendable, CaseIterable, Decodable {
        /// JSON lines in Dolma's schema (optionally `.gz` or `.zst` compressed).
        case jsonl
        /// Plain-text files, one document per file.
        case text
        /// WARC or WET files (reader options pass through in ``InputSpec/options``).
        case warc
    }

    public var type: Format
    /// Files, folders or glob patterns, as written.
    public var paths: [String]
    /// The JSON key holding the text (`text`).
    public var textKey: String
    /// The JSON key holding the id (`id`).
    public var idKey: String
    /// The `source` to give documents; nil lets the reader derive one.
    public var source: String?
    /// The longest line a reader accepts (32 MiB); longer records are dropped as `too_large`.
    public var maxLineBytes: ByteSize
    /// For `text` input: the largest file read as one document (32 MiB).
    public var maxDocumentBytes: ByteSize
    /// For `warc` input: the keys other than the common ones, unvalidated, for the WARC reader
    /// to decode with ``YAMLNodeDecoder``. Empty for other types.
    public var options: YAMLMapping
    /// Where the `input` block is.
    public var location: YAMLLocation

    static let commonKeys: [StageOption] = [
        StageOption("type", "jsonl | text | warc", help: "The input format."),
        StageOption("paths", "[string]", help: "Files, folders or glob patterns to read; a single string is a list of one."),
        StageOption("text_key", "string", default: "text", help: "The JSON key holding the text."),
        StageOption("id_key", "string", default: "id", help: "The JSON key holding the id."),
        StageOption("source", "string", default: "null", help: "The source given to documents; by default the reader derives one."),
        StageOption("max_line_bytes", "size", default: "32MiB", help: "Longer lines are dropped as too_large."),
    ]
    static let textKeys: [StageOption] = [
        StageOption("max_document_bytes", "size", default: "32MiB", help: "Larger text files are dropped as too_large."),
    ]
}

/// One stage as written: its id, type and YAML mapping. ``PipelineLoader`` builds it.
public struct StageSpec: Sendable {
    /// The `id`, or the type when the file gives none. Unique within a step.
    public var id: String
    public var type: String
    /// The whole list item, `type` and `id` included.
    public var node: YAMLNode
    public var location: YAMLLocation { node.location }
}

/// One step: its stages, output and run settings.
public struct StepSpec: Sendable {
    /// The step's `name`; the pipeline's name for a file with `stages`.
    public var name: String
    public var stages: [StageSpec]
    /// The step's output: its own `output` keys laid over the top-level ones.
    public var output: OutputSpec
    /// The step's run settings: its own `run` keys laid over the top-level ones.
    public var run: RunSpec
    /// The earlier step whose shards this step reads (`from`); nil: the step before. Several
    /// steps reading one step route its documents to separate outputs.
    public var from: String? = nil
    public var location: YAMLLocation
}

/// The `output` block.
public struct OutputSpec: Sendable {
    /// The output folder (`OUT` in the output layout).
    public var path: String
    /// Shards are rotated once they reach this many uncompressed bytes (256 MB).
    public var maxShardBytes: ByteSize
    /// The zstd level, 1 to 22 (3).
    public var compressionLevel: Int
    /// Whether dropped documents are written under `_rejected/` (false).
    public var rejected: Bool
    public var location: YAMLLocation

    public static let defaultMaxShardBytes = ByteSize(bytes: 256_000_000)

    static let keys: [StageOption] = [
        StageOption("path", "string", help: "The output folder."),
        StageOption("max_shard_bytes", "size", default: "256MB", help: "Rotate shards at this many uncompressed bytes."),
        StageOption("compression_level", "int", default: "3", help: "The zstd level, 1 to 22."),
        StageOption("rejected", "bool", default: "false", help: "Write dropped documents under _rejected/."),
    ]
}

/// The `run` block.
public struct RunSpec: Sendable {
    /// Slices of the input file list (1).
    public var tasks: Int
    /// Threads per task (the number of CPU cores).
    public var workers: Int
    /// Documents per batch (1000).
    public var batchSize: Int
    /// Keep `OUT/_work` (multi-step stages' intermediate files) after the run completes (false).
    public var keepWork: Bool

    public init(tasks: Int = 1, workers: Int = RunSpec.defaultWorkers, batchSize: Int = 1000, keepWork: Bool = false) {
        self.tasks = tasks
        self.workers = workers
        self.batchSize = batchSize
        self.keepWork = keepWork
    }

    /// The number of CPU cores this process may use.
    public static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    static let keys: [StageOption] = [
        StageOption("tasks", "int", default: "1", help: "Split the input files into this many tasks."),
        StageOption("workers", "int", default: "CPU cores", help: "Threads per task."),
        StageOption("batch_size", "int", default: "1000", help: "Documents per batch."),
        StageOption(
            "keep_work", "bool", default: "false",
            help: "Keep OUT/_work, the intermediate files of multi-step stages (dedup signatures, pairs, decisions), after the run completes; by default they are removed once the manifest is written (reports stay)."),
    ]
}

// MARK: - Decoding the blocks

private struct TopLevelFields: Decodable {
    var name: String
    var description: String?
    var input: YAMLNode
    var stages: YAMLNode?
    var steps: YAMLNode?
    var output: YAMLNode?
    var run: YAMLNode?
    var slurm: YAMLNode?

    enum CodingKeys: String, CodingKey {
        case name, description, input, stages, steps, output, run, slurm
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        guard !name.trimmingSpaces().isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "must not be empty")
        }
        description = try c.decodeIfPresent(String.self, forKey: .description)
        input = try c.decode(YAMLNode.self, forKey: .input)
        stages = try c.decodeIfPresent(YAMLNode.self, forKey: .stages)
        steps = try c.decodeIfPresent(YAMLNode.self, forKey: .steps)
        output = try c.decodeIfPresent(YAMLNode.self, forKey: .output)
        run = try c.decodeIfPresent(YAMLNode.self, forKey: .run)
        slurm = try c.decodeIfPresent(YAMLNode.self, forKey: .slurm)
    }
}

/// An `Int` option with a default and a range; out of range is an error at the value.
private func decodeInt<K: CodingKey>(
    _ c: KeyedDecodingContainer<K>, _ key: K, default value: Int, in range: ClosedRange<Int>
) throws -> Int {
    guard let v = try c.decodeIfPresent(Int.self, forKey: key) else { return value }
    guard range.contains(v) else {
        let expected =
            range.upperBound == .max
            ? "must be at least \(range.lowerBound), got \(v)"
            : "must be from \(range.lowerBound) to \(range.upperBound), got \(v)"
        throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: expected)
    }
    return v
}

private struct InputFields: Decodable {
    var type: InputSpec.Format
    var paths: [String]
    var textKey: String
    var idKey: String
    var source: String?
    var maxLineBytes: ByteSize
    var maxDocumentBytes: ByteSize

    enum CodingKeys: String, CodingKey {
        case type, paths, source
        case textKey = "text_key", idKey = "id_key"
        case maxLineBytes = "max_line_bytes", maxDocumentBytes = "max_document_bytes"
    }

    static let defaultMaxBytes = ByteSize(bytes: 32 << 20)

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(InputSpec.Format.self, forKey: .type)
        if let one = try? c.decode(String.self, forKey: .paths) {
            paths = [one]
        } else {
            paths = try c.decode([String].self, forKey: .paths)
        }
        if paths.isEmpty {
            throw DecodingError.dataCorruptedError(
                forKey: .paths, in: c, debugDescription: "needs at least one file, folder or glob pattern")
        }
        textKey = try c.decodeIfPresent(String.self, forKey: .textKey) ?? "text"
        idKey = try c.decodeIfPresent(String.self, forKey: .idKey) ?? "id"
        source = try c.decodeIfPresent(String.self, forKey: .source)
        maxLineBytes = try c.decodeIfPresent(ByteSize.self, forKey: .maxLineBytes) ?? Self.defaultMaxBytes
        maxDocumentBytes = Self.defaultMaxBytes
        switch type {
        case .text:
            maxDocumentBytes = try c.decodeIfPresent(ByteSize.self, forKey: .maxDocumentBytes) ?? Self.defaultMaxBytes
        case .warc:
            _ = c.allKeys  // WARC options pass through unvalidated for now.
        case .jsonl:
            break
        }
        for (bytes, key) in [(maxLineBytes, CodingKeys.maxLineBytes), (maxDocumentBytes, .maxDocumentBytes)] where bytes.bytes < 1 {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be at least 1 byte")
        }
    }
}

private struct OutputFields: Decodable {
    var path: String
    var maxShardBytes: ByteSize
    var compressionLevel: Int
    var rejected: Bool

    enum CodingKeys: String, CodingKey {
        case path, rejected
        case maxShardBytes = "max_shard_bytes", compressionLevel = "compression_level"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        if path.trimmingSpaces().isEmpty {
            throw DecodingError.dataCorruptedError(forKey: .path, in: c, debugDescription: "must not be empty")
        }
        maxShardBytes = try c.decodeIfPresent(ByteSize.self, forKey: .maxShardBytes) ?? OutputSpec.defaultMaxShardBytes
        if maxShardBytes.bytes < 1 {
            throw DecodingError.dataCorruptedError(forKey: .maxShardBytes, in: c, debugDescription: "must be at least 1 byte")
        }
        compressionLevel = try decodeInt(c, .compressionLevel, default: 3, in: 1...22)
        rejected = try c.decodeIfPresent(Bool.self, forKey: .rejected) ?? false
    }
}

private struct RunFields: Decodable {
    var run: RunSpec

    enum CodingKeys: String, CodingKey {
        case tasks, workers
        case batchSize = "batch_size"
        case keepWork = "keep_work"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        run = RunSpec(
            tasks: try decodeInt(c, .tasks, default: 1, in: 1...Int.max),
            workers: try decodeInt(c, .workers, default: RunSpec.defaultWorkers, in: 1...Int.max),
            batchSize: try decodeInt(c, .batchSize, default: 1000, in: 1...Int.max),
            keepWork: try c.decodeIfPresent(Bool.self, forKey: .keepWork) ?? false)
    }
}

private struct StepFields: Decodable {
    var name: String
    var stages: YAMLNode
    var run: YAMLNode?
    var output: YAMLNode?
    var from: String?

    enum CodingKeys: String, CodingKey {
        case name, stages, run, output, from
    }

    static let keys: [StageOption] = [
        StageOption("name", "string", help: "The step's name, unique in the pipeline."),
        StageOption("stages", "[stage]", help: "The step's stages, in order."),
        StageOption("run", "mapping", default: "the pipeline's run", help: "Run settings for this step, over the top-level ones."),
        StageOption("output", "mapping", default: "the pipeline's output", help: "Output settings for this step, over the top-level ones."),
        StageOption(
            "from", "string", default: "the step before",
            help: "Read the shards of this earlier step instead of the step before. Steps that read one step, each with its own filter and output.path, route its documents to separate outputs (e.g. by score bucket)."),
    ]

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        stages = try c.decode(YAMLNode.self, forKey: .stages)
        run = try c.decodeIfPresent(YAMLNode.self, forKey: .run)
        output = try c.decodeIfPresent(YAMLNode.self, forKey: .output)
        from = try c.decodeIfPresent(String.self, forKey: .from)
    }
}

// MARK: - Parsing

extension PipelineSpec {
    /// Validates a pipeline file's tree (after overrides and `${VAR}` expansion). Stage types
    /// are checked against `registry`; stage options are checked when the stages are built.
    ///
    /// - Throws: ``PipelineError``.
    public init(node root: YAMLNode, path: String, registry: StageRegistry) throws {
        guard case .mapping(let rootMapping) = root else {
            throw PipelineError(
                "a pipeline file must be a mapping with name, input, stages and output; got \(root.errorDescription)",
                at: root.location)
        }
        let top = try YAMLNodeDecoder(context: "the pipeline", options: Self.keys).decode(TopLevelFields.self, from: root)
        self.path = path
        name = top.name
        description = top.description

        input = try Self.parseInput(top.input)
        run = try Self.parseRun(top.run.map { [$0] } ?? [], context: "'run'", prefix: "run")
        if let node = top.slurm { slurm = try SlurmSettings(node: node) }

        switch (top.stages, top.steps) {
        case (.some, .some):
            let at = rootMapping.entry(for: "steps")?.keyLocation ?? root.location
            throw PipelineError(
                "a pipeline has either 'stages' or 'steps', not both; put these stages into a step of 'steps' or remove 'steps'",
                at: at)
        case (nil, nil):
            throw PipelineError(
                "the pipeline has no stages; add 'stages' (a list of stages, e.g. `- type: length_filter`) or, for a multi-step job, 'steps'",
                at: root.location)
        case (let stages?, nil):
            guard let outputNode = top.output else {
                throw PipelineError(
                    "missing required key 'output' in the pipeline; add `output: {path: out/\(name)}`", at: root.location)
            }
            let stageSpecs = try Self.parseStages(stages, registry: registry, prefix: "stages")
            let output = try Self.parseOutput([outputNode], context: "'output'", prefix: "output")
            self.output = output
            steps = [StepSpec(name: name, stages: stageSpecs, output: output, run: run, location: stages.location)]
            hasExplicitSteps = false
        case (nil, let stepsNode?):
            steps = try Self.parseSteps(stepsNode, top: top, registry: registry)
            output = steps[steps.count - 1].output
            hasExplicitSteps = true
        }
    }

    private static func parseInput(_ node: YAMLNode) throws -> InputSpec {
        let peekedType = node["type"]?.scalar?.text
        var options = InputSpec.commonKeys
        if peekedType == InputSpec.Format.text.rawValue { options += InputSpec.textKeys }
        let fields = try YAMLNodeDecoder(context: "'input'", pathPrefix: "input", options: options)
            .decode(InputFields.self, from: node)
        var extra = YAMLMapping(entries: [], location: node.location)
        if fields.type == .warc, let m = node.mapping {
            extra = m.removing(Set(InputSpec.commonKeys.map(\.name)))
        }
        return InputSpec(
            type: fields.type, paths: fields.paths, textKey: fields.textKey, idKey: fields.idKey, source: fields.source,
            maxLineBytes: fields.maxLineBytes, maxDocumentBytes: fields.maxDocumentBytes, options: extra,
            location: node.location)
    }

    /// Lays the mappings over each other (later keys win) and decodes the result. A null
    /// layer counts as empty.
    private static func layered(_ layers: [YAMLNode], context: String, prefix: String) throws -> YAMLNode? {
        var merged: YAMLMapping?
        for layer in layers {
            if layer.isNull { continue }
            guard case .mapping(let m) = layer else {
                throw PipelineError("'\(prefix)' must be a mapping, got \(layer.errorDescription)", at: layer.location)
            }
            merged = merged.map { $0.overlaid(with: m) } ?? m
        }
        return merged.map(YAMLNode.mapping)
    }

    private static func parseRun(_ layers: [YAMLNode], context: String, prefix: String) throws -> RunSpec {
        guard let node = try layered(layers, context: context, prefix: prefix) else { return RunSpec() }
        return try YAMLNodeDecoder(context: context, pathPrefix: prefix, options: RunSpec.keys).decode(RunFields.self, from: node).run
    }

    private static func parseOutput(_ layers: [YAMLNode], context: String, prefix: String) throws -> OutputSpec {
        guard let node = try layered(layers, context: context, prefix: prefix) else {
            let at = layers.first?.location
            throw PipelineError("\(context) is empty; it needs at least `path: …`", at: at)
        }
        let f = try YAMLNodeDecoder(context: context, pathPrefix: prefix, options: OutputSpec.keys)
            .decode(OutputFields.self, from: node)
        return OutputSpec(
            path: f.path, maxShardBytes: f.maxShardBytes, compressionLevel: f.compressionLevel, rejected: f.rejected,
            location: node.location)
    }

    private static func parseSteps(_ node: YAMLNode, top: TopLevelFields, registry: StageRegistry) throws -> [StepSpec] {
        guard case .sequence(let list) = node else {
            throw PipelineError(
                "'steps' must be a list of steps (each `- name: …` with its `stages`), got \(node.errorDescription)",
                at: node.location)
        }
        guard !list.items.isEmpty else {
            throw PipelineError("'steps' is empty; add at least one step with a name and stages", at: node.location)
        }
        var steps: [StepSpec] = []
        var seen: [String: YAMLLocation] = [:]
        for (i, item) in list.items.enumerated() {
            let prefix = "steps[\(i)]"
            let peekedName = item["name"]?.scalar?.text
            let context = peekedName.map { "step '\($0)'" } ?? "'\(prefix)'"
            guard item.mapping != nil else {
                throw PipelineError(
                    "each step must be a mapping with a name and stages, got \(item.errorDescription)", at: item.location)
            }
            let fields = try YAMLNodeDecoder(context: context, pathPrefix: prefix, options: StepFields.keys)
                .decode(StepFields.self, from: item)
            let nameLocation = item["name"]?.location ?? item.location
            try checkName(fields.name, what: "step name", at: nameLocation)
            if let first = seen[fields.name] {
                throw PipelineError(
                    "duplicate step name '\(fields.name)' (first used at \(first.shortDescription)); step names must be unique",
                    at: nameLocation)
            }
            seen[fields.name] = nameLocation
            let stages = try parseStages(fields.stages, registry: registry, prefix: "\(prefix).stages")
            let run = try parseRun(
                [top.run, fields.run].compactMap { $0 }, context: "'run' of step '\(fields.name)'", prefix: "\(prefix).run")
            let outputLayers = [top.output, fields.output].compactMap { $0 }
            guard !outputLayers.isEmpty else {
                throw PipelineError(
                    "step '\(fields.name)' has no output; add `output: {path: …}` to the step or a top-level 'output'",
                    at: item.location)
            }
            let output = try parseOutput(
                outputLayers, context: "'output' of step '\(fields.name)'", prefix: "\(prefix).output")
            if let from = fields.from, seen[from] == nil || from == fields.name {
                let earlier = steps.map(\.name)
                throw PipelineError(
                    "step '\(fields.name)' reads from '\(from)', which is not an earlier step; "
                        + (earlier.isEmpty
                            ? "the first step reads the pipeline's input: remove 'from'"
                            : "earlier steps: \(earlier.joined(separator: ", "))"),
                    at: item["from"]?.location ?? item.location)
            }
            steps.append(
                StepSpec(name: fields.name, stages: stages, output: output, run: run, from: fields.from, location: item.location))
        }
        return steps
    }

    /// Ids and step names become folder names (`_rejected/ID/`), so they are kept simple.
    private static func checkName(_ name: String, what: String, at location: YAMLLocation) throws {
        let ok =
            !name.isEmpty && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { s in
                s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "_" || s == "-" || s == ".")
            }
        guard ok else {
            throw PipelineError(
                "\(what) '\(name)' may only contain ASCII letters, digits, '_', '-' and '.'", at: location)
        }
    }

    private static func parseStages(_ node: YAMLNode, registry: StageRegistry, prefix: String) throws -> [StageSpec] {
        if node.isNull { return [] }
        guard case .sequence(let list) = node else {
            throw PipelineError(
                "'\(prefix)' must be a list of stages (each `- type: …`), got \(node.errorDescription)", at: node.location)
        }
        var stages: [StageSpec] = []
        var firstByID: [String: (location: YAMLLocation, explicit: Bool)] = [:]
        for (i, item) in list.items.enumerated() {
            guard case .mapping(let m) = item else {
                var message = "each stage must be a mapping with a type, got \(item.errorDescription)"
                if case .scalar(let s) = item, !item.isNull { message += "; write `- type: \(s.text)`" }
                throw PipelineError(message, at: item.location)
            }
            guard let typeNode = m["type"] else {
                var message = "stage \(i) in '\(prefix)' has no type; add `type: …`"
                if !registry.types.isEmpty { message += " (registered types: \(registry.types.joined(separator: ", ")))" }
                throw PipelineError(message, at: item.location)
            }
            guard case .scalar(let ts) = typeNode, !typeNode.isNull else {
                throw PipelineError(
                    "'\(prefix)[\(i)].type' must be a string, got \(typeNode.errorDescription)", at: typeNode.location)
            }
            let type = ts.text
            guard registry.entry(for: type) != nil else {
                throw registry.unknownTypeError(type, at: typeNode.location)
            }
            var id = type
            var idLocation = typeNode.location
            let explicit = m["id"] != nil
            if let idNode = m["id"] {
                guard case .scalar(let s) = idNode, !idNode.isNull else {
                    throw PipelineError(
                        "'\(prefix)[\(i)].id' must be a string, got \(idNode.errorDescription)", at: idNode.location)
                }
                id = s.text
                idLocation = idNode.location
                try checkName(id, what: "stage id", at: idLocation)
            }
            if let first = firstByID[id] {
                let message: String
                if !explicit && !first.explicit {
                    message =
                        "two stages of type '\(type)' in '\(prefix)' (the first at \(first.location.shortDescription)); "
                        + "a stage's id defaults to its type, so give each its own `id:` (e.g. `id: \(type)_2`)"
                } else {
                    message =
                        "duplicate stage id '\(id)' in '\(prefix)' (first used at \(first.location.shortDescription)); "
                        + "stage ids must be unique within a step: change this `id:`"
                }
                throw PipelineError(message, at: idLocation)
            }
            firstByID[id] = (idLocation, explicit)
            stages.append(StageSpec(id: id, type: type, node: item))
        }
        return stages
    }
}
