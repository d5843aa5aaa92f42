import Foundation
import SluiceCore
import SluiceIO
import SluiceWeb

/// A pipeline file loaded, validated and resolved into steps: what `sluice run` and
/// `sluice validate` work from. All the logic of those commands lives here, not in the CLI.
public struct PreparedRun: Sendable {
    public let pipeline: LoadedPipeline
    public let steps: [ExecutionStep]

    /// Loads the pipeline at `pipelinePath`, applies `--set` overrides and the `--tasks` /
    /// `--workers` options, and lists the input files of the first step.
    ///
    /// - Throws: ``PipelineError`` for an invalid file; an input-listing error when
    ///   `resolveInputs` is true and a pattern matches nothing.
    public init(
        pipelinePath: String, overrides: [String], environment: [String: String], tasks: Int?, workers: Int?,
        resolveInputs: Bool = true, registry: StageRegistry = .standard
    ) throws {
        let loaded = try PipelineLoader(registry: registry).load(
            path: pipelinePath, overrides: overrides, environment: environment)
        pipeline = loaded
        let spec = loaded.spec
        let files: [String]
        if resolveInputs {
            do {
                files = try InputListing.list(patterns: spec.input.paths)
            } catch let e as InputListingError {
                throw PipelineError("input.paths: \(e.message)", at: spec.input.location)
            }
        } else {
            files = []
        }
        let kind: InputSettings.Kind
        switch spec.input.type {
        case .jsonl: kind = .jsonl
        case .text: kind = .text
        case .warc: kind = .warc
        }
        var input = InputSettings(
            kind: kind, mapping: DocumentFieldMapping(textKey: spec.input.textKey, idKey: spec.input.idKey),
            source: spec.input.source, maxLineBytes: spec.input.maxLineBytes.bytes,
            maxDocumentBytes: spec.input.maxDocumentBytes.bytes)
        if kind == .warc {
            input.warc = try YAMLNodeDecoder(context: "'input'", pathPrefix: "input", options: WARCReaderOptions.options)
                .decode(WARCReaderOptions.self, from: .mapping(spec.input.options))
        }
        let finalPath = spec.output.path
        var steps: [ExecutionStep] = []
        var upstreamHash = "input:" + spec.input.type.rawValue + ":" + spec.input.textKey + ":" + spec.input.idKey
            + ":" + (spec.input.source ?? "") + ":" + files.joined(separator: "\n")
            + (kind == .warc ? ":" + canonicalYAML(.mapping(spec.input.options)) : "")
        let shardInput = InputSettings(
            kind: .jsonl, mapping: DocumentFieldMapping(), source: nil, maxLineBytes: Int.max / 2, maxDocumentBytes: Int.max / 2)
        let plan = try planSteps(loaded.steps)
        for (i, step) in plan.enumerated() {
            let isLast = i == plan.count - 1
            var outputPath = step.spec.output.path
            if !step.isMain || (!isLast && outputPath == finalPath) {
                outputPath = OutputLayout(root: finalPath).path("_steps/\(pad(i, 2))_\(step.name)")
            }
            let taskCount = tasks ?? step.spec.run.tasks
            var hashText = upstreamHash + "\nstep:\(step.name)" + (step.spec.from.map { "\nfrom:" + $0 } ?? "")
                + "\ntasks:\(taskCount)\nshard:\(step.spec.output.maxShardBytes.bytes)"
                + "\nlevel:\(step.spec.output.compressionLevel)\nrejected:\(step.spec.output.rejected)\n"
            for s in step.stages { hashText += s.hashText }
            let hash = hex64(XXH64.hash(hashText))
            upstreamHash = "upstream:" + hash
            // A step reads the shards of the nearest earlier step that wrote some (or of the
            // step its pipeline step names in `from`), else the input.
            let source = documentSource(of: i, in: plan)
            steps.append(
                ExecutionStep(
                    name: step.name, position: i,
                    input: source == nil ? input : shardInput,
                    files: source == nil && step.readsDocuments ? files : [],
                    stages: step.stages.map { planned in
                        StageInstance(
                            id: planned.id, type: planned.type, stage: planned.stage,
                            isStateless: type(of: planned.stage).isStateless)
                    },
                    output: OutputLayout(root: outputPath), maxShardBytes: step.spec.output.maxShardBytes.bytes,
                    compressionLevel: step.spec.output.compressionLevel, writeRejected: step.spec.output.rejected,
                    tasks: taskCount, workers: workers ?? step.spec.run.workers, batchSize: step.spec.run.batchSize,
                    configurationHash: hash, workDirectory: OutputLayout(root: finalPath).path("_work"),
                    readsDocuments: step.readsDocuments, writesDocuments: step.writesDocuments, documentSource: source,
                    prerequisites: prerequisites(of: i, in: plan)))
        }
        self.steps = steps
    }

    /// What `sluice validate` prints: the steps, their stages, inputs and output.
    public func describe() -> String {
        var out = "pipeline: \(pipeline.spec.name) (\(pipeline.spec.path))\n"
        out += "input: \(pipeline.spec.input.type.rawValue), \(steps.first?.files.count ?? 0) files\n"
        for step in steps {
            out += "step \(step.name): \(step.tasks) tasks × \(step.workers) workers → \(step.output.root)\n"
            if let k = step.documentSource { out += "  reads the shards of step \(steps[k].name)\n" }
            for s in step.stages { out += "  - \(s.id) (\(s.type))\n" }
        }
        out += "output: \(steps.last?.output.root ?? "")\n"
        out += "OK: the pipeline is valid"
        return out
    }

    /// Runs every step, or task `taskIndex` of each; with `step`, only that step (as one Slurm
    /// array job does), which first requires the completion markers of every step it depends
    /// on (every earlier step, except that routes reading one step do not wait for each other).
    public func run(taskIndex: Int?, step: String? = nil, progress: ProgressMode, log: (String) -> Void) throws -> RunResult {
        let started = monotonicNanoseconds()
        var resolved = steps
        var reports: [PipelineExecutor.StepReport] = []
        var selected: Int?
        if let step {
            guard let k = steps.firstIndex(where: { $0.name == step }) else {
                throw OutputError("the pipeline has no step '\(step)'; its steps are: \(steps.map(\.name).joined(separator: ", "))")
            }
            selected = k
            // A dependency on a job Slurm has forgotten counts as satisfied, so the markers decide.
            for j in allPrerequisites(of: k, in: steps) {
                try PipelineExecutor(
                    steps: [], taskIndex: nil, progress: progress, pipelineName: pipeline.spec.name,
                    pipelineText: pipeline.yamlText
                ).requireUpstreamComplete(steps[j])
            }
        }
        for i in resolved.indices where selected == nil || i == selected {
            if let first = resolved[i].prerequisites.first {
                // A later step starts once the steps it depends on are complete.
                let upstream = resolved[first]
                let executorCheck = PipelineExecutor(
                    steps: [upstream], taskIndex: nil, progress: progress, pipelineName: pipeline.spec.name,
                    pipelineText: pipeline.yamlText)
                guard resolved[i].prerequisites.allSatisfy({ executorCheck.isComplete(resolved[$0]) }) else {
                    if taskIndex != nil && selected == nil { continue }
                    throw OutputError("step '\(upstream.name)' did not complete")
                }
                if let k = resolved[i].documentSource {
                    // The shards of the step this one reads (the one before, unless that
                    // step wrote none, or the one `from` names).
                    let source = resolved[k]
                    guard executorCheck.isComplete(source) || resolved[i].prerequisites.contains(k) else {
                        throw OutputError("step '\(source.name)' did not complete")
                    }
                    var files: [String] = []
                    for t in 0..<source.tasks {
                        let record = try readCompletion(source.output.completionPath(t))
                        files += record.shards.map { source.output.path($0.path) }
                    }
                    resolved[i].files = files.sorted()
                }
            }
            let executor = PipelineExecutor(
                steps: [resolved[i]], upstream: resolved[i].prerequisites.first.map { resolved[$0] }, taskIndex: taskIndex,
                progress: progress, pipelineName: pipeline.spec.name,
                pipelineText: pipeline.yamlText)
            reports += try executor.run(log: log)
        }
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        var finalSummary: OutputSummary?
        if let last = resolved.last, (0..<last.tasks).allSatisfy({ FileManager.default.fileExists(atPath: last.output.completionPath($0)) }) {
            finalSummary = try? OutputSummary(root: last.output.root)
            if !keepsWork && FileManager.default.fileExists(atPath: last.output.manifestPath) {
                let removed = removeWorkFiles(last.workDirectory)
                if removed.files > 0 {
                    log("removed \(removed.files) intermediate files (\(formatBytes(removed.bytes))) from \(last.workDirectory); run.keep_work: true keeps them")
                }
            }
        }
        // Steps with an output of their own (routes, a kept intermediate result) are outputs too.
        var otherOutputs: [RunResult.StepOutput] = []
        if let last = resolved.last {
            for step in resolved.dropLast() where step.writesDocuments {
                let root = step.output.root
                guard root != last.output.root, !root.hasPrefix(OutputLayout(root: last.output.root).path("_steps/")) else { continue }
                let complete = (0..<step.tasks).allSatisfy { FileManager.default.fileExists(atPath: step.output.completionPath($0)) }
                otherOutputs.append(.init(step: step.name, root: root, summary: complete ? try? OutputSummary(root: root) : nil))
            }
        }
        return RunResult(
            steps: reports, seconds: seconds, output: resolved.last?.output.root ?? "", summary: finalSummary, otherOutputs: otherOutputs)
    }
}

extension PreparedRun {
    /// `run.keep_work`, at the top level or in any step.
    var keepsWork: Bool { pipeline.spec.run.keepWork || pipeline.steps.contains { $0.spec.run.keepWork } }
}

/// Once a run is complete (every task of its last step done, the manifest written), removes
/// the intermediate files that multi-step stages keep under `OUT/_work`: every folder inside a
/// stage's folder `_work/NAME/`, and every file that is not a `.json` report. The reports that
/// stages write directly into `_work/NAME/` (dedup's `report.json`, a Bloom filter's fill)
/// stay. A rerun of the complete run skips every task by its completion marker, so it needs
/// none of the removed files. Best effort: another task of the same step (a Slurm array job)
/// may be removing the same files. Returns the number of files and bytes removed.
func removeWorkFiles(_ work: String) -> (files: Int, bytes: Int) {
    let fm = FileManager.default
    var files = 0
    var bytes = 0
    func isReport(_ name: String) -> Bool { name.hasSuffix(".json") && !name.hasPrefix(".") }
    func remove(_ path: String) {
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        if isDirectory.boolValue {
            let listing = fm.enumerator(atPath: path)
            while let relative = listing?.nextObject() as? String {
                let attributes = try? fm.attributesOfItem(atPath: path + "/" + relative)
                guard attributes?[.type] as? FileAttributeType == .typeRegular else { continue }
                files += 1
                bytes += (attributes?[.size] as? Int) ?? 0
            }
        } else {
            files += 1
            bytes += ((try? fm.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
        }
        try? fm.removeItem(atPath: path)
    }
    for name in (try? fm.contentsOfDirectory(atPath: work)) ?? [] {
        let path = work + "/" + name
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
        guard isDirectory.boolValue else {
            if !isReport(name) { remove(path) }
            continue
        }
        for inner in (try? fm.contentsOfDirectory(atPath: path)) ?? [] {
            var innerIsDirectory: ObjCBool = false
            let innerPath = path + "/" + inner
            guard fm.fileExists(atPath: innerPath, isDirectory: &innerIsDirectory) else { continue }
            if innerIsDirectory.boolValue || !isReport(inner) { remove(innerPath) }
        }
    }
    return (files, bytes)
}

/// What a run did, for the summary printed at its end.
public struct RunResult: Sendable {
    public var steps: [PipelineExecutor.StepReport]
    public var seconds: Double
    public var output: String
    /// The whole output's summary once every task of the last step is complete.
    public var summary: OutputSummary?
    /// The outputs of earlier steps that write to a folder of their own (routes): each with
    /// its summary once complete.
    public var otherOutputs: [StepOutput] = []

    public struct StepOutput: Sendable {
        public var step: String
        public var root: String
        public var summary: OutputSummary?
    }

    public var documentsOut: Int {
        summary?.documents ?? steps.last?.tasks.reduce(0) { $0 + $1.shards.reduce(0) { $0 + $1.documents } } ?? 0
    }

    /// The end-of-run summary: per step, the funnel table of the tasks run now.
    public func render() -> String {
        var out = ""
        for step in steps {
            var merged: [(id: String, type: String, stats: StageStats)] = []
            for t in step.tasks {
                for (i, s) in t.stages.enumerated() {
                    if i < merged.count { merged[i].stats.merge(s.stats) } else { merged.append(s) }
                }
            }
            let ran = step.tasks.count
            out += "step \(step.step): \(ran) task\(ran == 1 ? "" : "s") run"
            if step.skippedTasks > 0 { out += ", \(step.skippedTasks) already complete (skipped)" }
            out += "\n"
            if !merged.isEmpty {
                out += renderFunnel(merged)
            } else if step.step == steps.last?.step, let summary {
                out += "(from the earlier run's statistics)\n" + renderFunnel(summary.stages)
            }
            let problems = step.tasks.flatMap(\.inputProblems)
            if !problems.isEmpty {
                out += "input problems (\(problems.count)):\n"
                for p in problems.prefix(10) { out += "  \(p)\n" }
                if problems.count > 10 { out += "  … see _stats/ for all\n" }
            }
        }
        for other in otherOutputs {
            if let s = other.summary {
                out += "output of step \(other.step): \(other.root): \(s.documents) documents in \(s.shards.count) shards, \(formatBytes(s.bytes)) JSONL, \(formatBytes(s.compressedBytes)) compressed\n"
            } else {
                out += "output of step \(other.step): \(other.root) (not every task is complete yet)\n"
            }
        }
        if let summary {
            out += "output: \(output): \(summary.documents) documents in \(summary.shards.count) shards, \(formatBytes(summary.bytes)) JSONL, \(formatBytes(summary.compressedBytes)) compressed"
        } else {
            out += "output: \(output) (not every task is complete yet)"
        }
        out += "; \(formatFixed(seconds, digits: 1)) s, peak RSS \(formatBytes(peakResidentBytes()))"
        return out
    }
}

/// The process's peak resident memory in bytes.
public func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

/// A stable text for a YAML tree (keys in file order), for configuration hashes.
func canonicalYAML(_ node: YAMLNode) -> String {
    switch node {
    case .scalar(let s):
        switch s.value {
        case .null: return "~"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let d): return "\(d)"
        case .string(let t): return "\"" + t.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
    case .mapping(let m):
        return "{" + m.entries.map { $0.key + ":" + canonicalYAML($0.value) }.joined(separator: ",") + "}"
    case .sequence(let q):
        return "[" + q.items.map(canonicalYAML).joined(separator: ",") + "]"
    }
}

/// Pretty JSON as a String, for `--json` output.
public func renderJSON(_ value: JSONValue) -> String {
    String(decoding: prettyJSON(value), as: UTF8.self)
}

/// `sluice list-stages`: one line per stage, then its options and drop reasons.
public func stageCatalogText(_ registry: StageRegistry = .standard) -> String {
    var out = ""
    let width = registry.entries.map(\.type.count).max() ?? 0
    for e in registry.entries {
        out += e.type + String(repeating: " ", count: width - e.type.count) + "  " + e.summary + "\n"
        for o in e.options {
            let d = o.defaultValue.map { $0 == "null" ? " (optional)" : " (default \($0))" } ?? " (required)"
            out += "    \(o.name): \(o.valueType)\(d) — \(o.help)\n"
        }
        if !e.dropReasons.isEmpty { out += "    drop reasons: " + e.dropReasons.map(\.name).joined(separator: ", ") + "\n" }
    }
    return out
}

/// `sluice list-stages --markdown`: the stage table for the README.
public func stageCatalogMarkdown(_ registry: StageRegistry = .standard) -> String {
    var out = "| type | what it does | options | drop reasons |\n| --- | --- | --- | --- |\n"
    for e in registry.entries {
        let opts = e.options.map { "`\($0.name)`" }.joined(separator: ", ")
        let reasons = e.dropReasons.map { "`\($0.name)`" }.joined(separator: ", ")
        out += "| `\(e.type)` | \(e.summary) | \(opts) | \(reasons) |\n"
    }
    return out
}
