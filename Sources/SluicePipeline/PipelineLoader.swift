import Foundation
import SluiceCore

/// A pipeline file read, validated, and with every stage built: ready to run.
public struct LoadedPipeline: Sendable {
    /// A built stage with its id and type.
    public typealias BuiltStage = (id: String, type: String, stage: any Stage)

    /// One step with its built stages, in order.
    public struct Step: Sendable {
        public let name: String
        public let spec: StepSpec
        public let stages: [BuiltStage]
    }

    /// The validated file (after overrides and `${VAR}` expansion).
    public let spec: PipelineSpec
    /// The steps with their built stages, parallel to `spec.steps`.
    public let steps: [Step]
    /// The file's text exactly as read, before overrides and expansion (for the manifest).
    public let yamlText: String
    /// The `--set` overrides applied, as given (for the manifest).
    public let overrides: [String]

    /// The stages of the first step: all of them for a file with `stages`.
    public var stages: [BuiltStage] { steps[0].stages }
}

/// Reads pipeline files: parse the YAML, apply `--set` overrides, expand `${VAR}` from the
/// environment, validate every block strictly, and build every stage through the registry.
///
/// Everything that can be wrong with a file is a ``PipelineError`` whose description is one
/// message with `FILE:LINE:COLUMN`. Nothing is run and no input is touched.
public struct PipelineLoader: Sendable {
    /// The stages files may use.
    public var registry: StageRegistry

    public init(registry: StageRegistry = .standard) {
        self.registry = registry
    }

    /// Loads the file at `path` with the standard stages.
    public static func load(
        path: String, overrides: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> LoadedPipeline {
        try PipelineLoader().load(path: path, overrides: overrides, environment: environment)
    }

    /// `sluice validate`: loads the file at `path` and builds every stage with the standard
    /// stages, running nothing.
    public static func validate(
        path: String, overrides: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> LoadedPipeline {
        try PipelineLoader().validate(path: path, overrides: overrides, environment: environment)
    }

    /// Loads the file at `path`: reads it, then as ``load(yaml:path:overrides:environment:)``.
    ///
    /// - Throws: ``PipelineError``.
    public func load(
        path: String, overrides: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> LoadedPipeline {
        try load(yaml: try Self.readFile(path), path: path, overrides: overrides, environment: environment)
    }

    /// Validates the file at `path` and builds every stage, running nothing (`sluice validate`).
    /// The same as ``load(path:overrides:environment:)``: loading already checks everything
    /// that can be checked without reading input.
    public func validate(
        path: String, overrides: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> LoadedPipeline {
        try load(path: path, overrides: overrides, environment: environment)
    }

    /// Loads a pipeline from its text; `path` names it in messages.
    ///
    /// - Throws: ``PipelineError``.
    public func load(
        yaml: String, path: String, overrides: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> LoadedPipeline {
        let spec = try parse(yaml: yaml, path: path, overrides: overrides, environment: environment)
        var steps: [LoadedPipeline.Step] = []
        for step in spec.steps {
            var built: [LoadedPipeline.BuiltStage] = []
            for stage in step.stages {
                guard let entry = registry.entry(for: stage.type) else {
                    throw registry.unknownTypeError(stage.type, at: stage.node["type"]?.location ?? stage.location)
                }
                let context = StageBuildContext(id: stage.id, type: stage.type, pipelinePath: path)
                built.append((id: stage.id, type: stage.type, stage: try entry.build(stage.node, context: context)))
            }
            steps.append(LoadedPipeline.Step(name: step.name, spec: step, stages: built))
        }
        return LoadedPipeline(spec: spec, steps: steps, yamlText: yaml, overrides: overrides)
    }

    /// Parses and validates a pipeline's text without building its stages (stage types are
    /// checked, stage options are not): for tools that only need the shape of the job.
    ///
    /// - Throws: ``PipelineError``.
    public func parse(
        yaml: String, path: String, overrides: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> PipelineSpec {
        guard var root = try YAMLNode.parse(yaml, source: path) else {
            throw PipelineError(
                "\(path): the pipeline file is empty; it needs name, input, stages and output (see Pipelines/ for examples)")
        }
        for text in overrides {
            try root.apply(try PipelineOverride(parsing: text))
        }
        try root.expandVariables(environment)
        return try PipelineSpec(node: root, path: path, registry: registry)
    }

    /// The file's text, or a message saying why it cannot be read.
    static func readFile(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PipelineError("pipeline file '\(path)' does not exist")
        }
        guard !isDirectory.boolValue else {
            throw PipelineError("'\(path)' is a folder; give the pipeline's YAML file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError("cannot read pipeline file '\(path)'; check its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PipelineError("pipeline file '\(path)' is not UTF-8 text")
        }
        return text
    }
}
