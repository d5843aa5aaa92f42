import Foundation
import SluiceCore
import SluiceIO
import SluiceStats

/// Reads an output folder's markers and stats: what `sluice stats` and `sluice verify` show.
public struct OutputSummary: Sendable {
    public var root: String
    public var tasks: Int
    public var completedTasks: Int
    public var shards: [ShardRecord]
    public var stages: [(id: String, type: String, stats: StageStats)]
    public var inputProblems: [String]
    /// The pipeline's name from `_manifest.json`, once the run is complete.
    public var name: String?
    /// The pipeline file's text from `_manifest.json`.
    public var pipelineText: String?

    public var documents: Int { shards.reduce(0) { $0 + $1.documents } }
    public var bytes: Int { shards.reduce(0) { $0 + $1.bytes } }
    public var compressedBytes: Int { shards.reduce(0) { $0 + $1.compressedBytes } }

    /// Reads the completion markers and per-task stats under `root`.
    public init(root: String) throws {
        let layout = OutputLayout(root: root)
        self.root = layout.root
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: layout.root, isDirectory: &isDir), isDir.boolValue else {
            throw OutputError("\(root) is not a folder; give the output.path of a run")
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: layout.completionsDirectory)) ?? [])
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
        guard !names.isEmpty else {
            throw OutputError("\(root) has no completion markers in _completions/: no task of this run has finished")
        }
        var shards: [ShardRecord] = []
        var tasks = 0
        for n in names {
            let r = try readCompletion(layout.completionsDirectory + "/" + n)
            tasks = r.tasks
            shards += r.shards
        }
        self.tasks = tasks
        completedTasks = names.count
        self.shards = shards
        var stages: [(id: String, type: String, stats: StageStats)] = []
        var problems: [String] = []
        for n in ((try? FileManager.default.contentsOfDirectory(atPath: layout.statsDirectory)) ?? []).sorted()
        where n.hasSuffix(".json") && !n.hasPrefix(".") {
            let path = layout.statsDirectory + "/" + n
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let value = try [UInt8](data).withUnsafeBytes { try parseJSONValue($0) }
            let reader = try JSONFields(value, file: path)
            for (i, entry) in try reader.array("stages").enumerated() {
                let s = try stageStats(fromJSON: entry, file: path)
                if i < stages.count { stages[i].stats.merge(s.stats) } else { stages.append(s) }
            }
            for p in (try? reader.array("input_problems")) ?? [] { if let s = p.stringValue { problems.append(s) } }
        }
        self.stages = stages
        inputProblems = problems
        if let data = FileManager.default.contents(atPath: layout.manifestPath),
            let value = try? [UInt8](data).withUnsafeBytes({ try parseJSONValue($0) })
        {
            name = value.objectValue?["name"]?.stringValue
            pipelineText = value.objectValue?["pipeline"]?.stringValue
        }
    }

    /// The run's statistics: the funnel, the shards and their merged statistics, read from the
    /// sidecars (in parallel), or with `recompute` from the shards themselves on `workers`
    /// threads. A missing or unreadable sidecar is reported in
    /// ``RunStatistics/statisticsProblems`` and left out of the merge.
    public func statistics(recompute: Bool = false, workers: Int = 2) throws -> RunStatistics {
        let layout = OutputLayout(root: root)
        var entries = shards.map {
            ShardEntry(path: $0.path, documents: $0.documents, bytes: $0.bytes, compressedBytes: $0.compressedBytes, statistics: nil)
        }
        var problems: [String] = []
        if recompute {
            let outcomes = try ShardScanner.scan(paths: shards.map { layout.path($0.path) }, workers: workers)
            for (i, o) in outcomes.enumerated() {
                var st = o.statistics
                // The input files are not in the shard; keep the sidecar's list when it has one.
                if let old = try? ShardStatistics(contentsOf: layout.path(OutputLayout.shardStatsName(forShard: shards[i].path))) {
                    st.inputFiles = old.inputFiles
                }
                entries[i].statistics = st
                problems += o.problems
            }
        } else {
            let paths = shards.map { layout.path(OutputLayout.shardStatsName(forShard: $0.path)) }
            let loaded = readSidecars(paths, workers: max(2, workers))
            for (i, r) in loaded.enumerated() {
                switch r {
                case .success(let st): entries[i].statistics = st
                case .failure(let e): problems.append("\(shards[i].path): \(e)")
                }
            }
        }
        var result = RunStatistics(
            root: root, name: name, tasks: tasks, completedTasks: completedTasks,
            stages: stages.map { FunnelStage(id: $0.id, type: $0.type, stats: $0.stats) }, shards: entries,
            inputProblems: inputProblems, recomputed: recompute, statisticsProblems: problems)
        result.pipelineText = pipelineText
        return result
    }

    /// The `--json` shape fixed by the architecture: `totals`, `stages`, `shards`.
    public var json: JSONValue {
        .object([
            "totals": .object([
                "documents": .int(documents), "bytes": .int(bytes), "compressed_bytes": .int(compressedBytes),
                "shards": .int(shards.count), "tasks": .int(tasks), "completed_tasks": .int(completedTasks),
            ]),
            "stages": .array(stages.map { stageStatsJSON(id: $0.id, type: $0.type, stats: $0.stats) }),
            "shards": .array(
                shards.map {
                    .object([
                        "path": .string($0.path), "documents": .int($0.documents), "bytes": .int($0.bytes),
                        "compressed_bytes": .int($0.compressedBytes),
                    ])
                }),
            "input_problems": .array(inputProblems.map { .string($0) }),
        ])
    }

    /// ``json`` with the keys of a ``RunStatistics`` added: `text`, `lengths`, `metadata`,
    /// `categories`, and each shard's text counts.
    public func json(with statistics: RunStatistics) -> JSONValue {
        guard case .object(var o) = json else { return json }
        if case .object(var totals)? = o["totals"] {
            totals["characters"] = .int(statistics.combined.characters)
            totals["words"] = .int(statistics.combined.words)
            totals["lines"] = .int(statistics.combined.lines)
            if let input = statistics.documentsIn { totals["documents_in"] = .int(input) }
            o["totals"] = .object(totals)
        }
        if case .array(let list)? = o["shards"] {
            o["shards"] = .array(list.enumerated().map { i, v in
                guard case .object(var s) = v, i < statistics.shards.count else { return v }
                for (k, x) in RunStatistics.shardExtraJSON(statistics.shards[i]) { s[k] = x }
                return .object(s)
            })
        }
        for (k, v) in statistics.distributionJSON { o[k] = v }
        return .object(o)
    }

    /// The human-readable report: totals, the funnel by stage and reason, the shard table and
    /// the distributions from the sidecars.
    public func render(maxShardRows: Int = 20) -> String {
        var options = RunStatistics.TextOptions()
        options.maxShardRows = maxShardRows
        if let s = try? statistics() { return s.renderText(options) }
        return RunStatistics(
            root: root, name: name, tasks: tasks, completedTasks: completedTasks,
            stages: stages.map { FunnelStage(id: $0.id, type: $0.type, stats: $0.stats) },
            shards: shards.map { ShardEntry(path: $0.path, documents: $0.documents, bytes: $0.bytes, compressedBytes: $0.compressedBytes, statistics: nil) },
            inputProblems: inputProblems
        ).renderText(options)
    }
}

/// Reads statistics sidecars on `workers` threads; results in the order of `paths`.
func readSidecars(_ paths: [String], workers: Int) -> [Result<ShardStatistics, any Error>] {
    let results = SidecarSlots(count: paths.count)
    DispatchQueue.concurrentPerform(iterations: max(1, min(workers, paths.count))) { w in
        var i = w
        let step = max(1, min(workers, paths.count))
        while i < paths.count {
            let r: Result<ShardStatistics, any Error>
            if FileManager.default.fileExists(atPath: paths[i]) {
                r = Result { try ShardStatistics(contentsOf: paths[i]) }
            } else {
                r = .failure(OutputError("statistics sidecar \((paths[i] as NSString).lastPathComponent) is missing"))
            }
            results.set(i, r)
            i += step
        }
    }
    return results.values
}

private final class SidecarSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<ShardStatistics, any Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<ShardStatistics, any Error>) {
        lock.lock()
        slots[i] = r
        lock.unlock()
    }
    var values: [Result<ShardStatistics, any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}

/// The funnel table: received, kept and dropped documents with their shares, reasons and time,
/// one row per stage (see ``renderFunnelText(_:)``).
public func renderFunnel(_ stages: [(id: String, type: String, stats: StageStats)]) -> String {
    renderFunnelText(stages.map { FunnelStage(id: $0.id, type: $0.type, stats: $0.stats) })
}

/// A plain-text table with a rule under the header.
public func renderTable(_ rows: [[String]], rightAligned: Set<Int>) -> String {
    renderTextTable(rows, rightAligned: rightAligned)
}

/// Checks that an output folder is whole: every shard of every completion marker exists,
/// decodes, has the recorded checksum, document count and size, and every line is a JSON
/// document; no stray shards; the manifest agrees. Returns the problems found.
public func verifyOutput(root: String, log: (String) -> Void = { _ in }) throws -> [String] {
    let layout = OutputLayout(root: root)
    let summary = try OutputSummary(root: root)
    var problems: [String] = []
    if summary.completedTasks < summary.tasks {
        problems.append("only \(summary.completedTasks) of \(summary.tasks) tasks have completion markers")
    }
    var recorded = Set<String>()
    var allRecords: [ShardRecord] = summary.shards
    for n in ((try? FileManager.default.contentsOfDirectory(atPath: layout.completionsDirectory)) ?? []).sorted()
    where n.hasSuffix(".json") && !n.hasPrefix(".") {
        allRecords += try readCompletion(layout.completionsDirectory + "/" + n).rejected
    }
    for shard in allRecords {
        recorded.insert(shard.path)
        let path = layout.path(shard.path)
        log("checking \(shard.path)")
        problems += verifyShard(path: path, record: shard)
        if !shard.path.hasPrefix("_"), !FileManager.default.fileExists(atPath: layout.path(OutputLayout.shardStatsName(forShard: shard.path))) {
            problems.append("\(shard.path): statistics sidecar \(OutputLayout.shardStatsName(forShard: shard.path)) is missing")
        }
    }
    for name in ((try? FileManager.default.contentsOfDirectory(atPath: layout.root)) ?? []).sorted()
    where OutputLayout.isShardName(name) && !recorded.contains(name) {
        problems.append("\(name): shard not listed in any completion marker (left by an unfinished task?)")
    }
    if let data = FileManager.default.contents(atPath: layout.manifestPath) {
        do {
            let value = try [UInt8](data).withUnsafeBytes { try parseJSONValue($0) }
            let totals = try JSONFields(try JSONFields(value, file: layout.manifestPath).value("totals"), file: layout.manifestPath)
            if try totals.int("documents") != summary.documents {
                problems.append("_manifest.json: totals.documents is \(try totals.int("documents")) but the completion markers count \(summary.documents)")
            }
            if try totals.int("shards") != summary.shards.count {
                problems.append("_manifest.json: totals.shards is \(try totals.int("shards")) but the completion markers list \(summary.shards.count)")
            }
        } catch {
            problems.append("_manifest.json: \(error)")
        }
    } else if summary.completedTasks == summary.tasks {
        problems.append("_manifest.json is missing although every task is complete")
    }
    return problems
}

/// Decodes one shard and compares it with its record.
func verifyShard(path: String, record: ShardRecord) -> [String] {
    var problems: [String] = []
    let name = record.path
    guard FileManager.default.fileExists(atPath: path) else { return ["\(name): file is missing"] }
    guard let data = FileManager.default.contents(atPath: path) else { return ["\(name): cannot be read"] }
    let bytes = [UInt8](data)
    if bytes.count != record.compressedBytes {
        problems.append("\(name): \(bytes.count) compressed bytes, completion marker says \(record.compressedBytes)")
    }
    let checksum = hex64(XXH64.hash(bytes))
    if checksum != record.checksum {
        problems.append("\(name): xxh64 \(checksum), completion marker says \(record.checksum)")
    }
    do {
        let reader = LineBatchReader(source: try ByteSource(path: path), maxLines: 4096, maxBytes: 8 << 20, maxLineBytes: 1 << 30)
        var lines = 0
        var uncompressed = 0
        var invalid = 0
        var firstInvalid = ""
        var parser = DocumentLineParser(mapping: DocumentFieldMapping(defaultSource: ""))
        while let batch = try reader.next() {
            if let damage = batch.damage { problems.append("\(name): \(damage.description)") }
            lines += batch.count
            batch.bytes.withUnsafeBytes { all in
                for i in 0..<batch.count {
                    uncompressed += batch.lineEnds[i] - batch.lineStarts[i] + 1
                    let line = UnsafeRawBufferPointer(rebasing: all[batch.lineStarts[i]..<batch.lineEnds[i]])
                    if case .invalid(let reason, let message) = parser.parse(line) {
                        invalid += 1
                        if firstInvalid.isEmpty { firstInvalid = "line \(batch.lineNumbers[i]): \(reason.name) (\(message))" }
                    }
                }
            }
        }
        if lines != record.documents {
            problems.append("\(name): \(lines) lines, completion marker says \(record.documents) documents")
        }
        if uncompressed != record.bytes {
            problems.append("\(name): \(uncompressed) uncompressed bytes, completion marker says \(record.bytes)")
        }
        if invalid > 0 { problems.append("\(name): \(invalid) lines are not valid documents; first at \(firstInvalid)") }
    } catch {
        problems.append("\(name): \(error)")
    }
    return problems
}

/// The files `sluice inspect` reads for `path`: the file itself; for an output folder, its
/// shards in order; with `dropped`, the rejected shards under `_rejected/` of the stages that
/// dropped documents for that reason. Errors say what is missing and how to get it.
public func inspectionFiles(path: String, dropped: String?) throws -> [String] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw OutputError("\(path) does not exist; give a shard file or the output folder of a run")
    }
    if !isDir.boolValue { return [path] }
    let layout = OutputLayout(root: path)
    let fm = FileManager.default
    func dataFiles(in dir: String) -> [String] {
        ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter {
            !$0.hasPrefix(".") && ($0.hasSuffix(".jsonl") || $0.hasSuffix(".jsonl.zst") || $0.hasSuffix(".jsonl.gz"))
        }.sorted().map { dir + "/" + $0 }
    }
    guard let reason = dropped else {
        let shards = ((try? fm.contentsOfDirectory(atPath: layout.root)) ?? []).filter(OutputLayout.isShardName).sorted()
        if !shards.isEmpty { return shards.map { layout.path($0) } }
        let other = dataFiles(in: layout.root)
        if !other.isEmpty { return other }
        throw OutputError("\(path) holds no shards (NNNNN_NNNN.jsonl.zst) and no .jsonl files")
    }
    var rejectedRoot = layout.rejectedDirectory
    var stageDirs: [String]
    if fm.fileExists(atPath: rejectedRoot) {
        stageDirs = ((try? fm.contentsOfDirectory(atPath: rejectedRoot)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    } else if (layout.root as NSString).lastPathComponent == "_rejected" {
        rejectedRoot = layout.root
        stageDirs = ((try? fm.contentsOfDirectory(atPath: rejectedRoot)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    } else {
        throw OutputError(
            "\(path) has no _rejected/ folder: this run did not keep the documents it dropped. Set `rejected: true` under output: in the pipeline (or run with --set output.rejected=true) and run it again into a new folder")
    }
    // Narrow to the stages whose funnel has the reason.
    if let summary = try? OutputSummary(root: layout.root), !summary.stages.isEmpty, reason != "*", reason != "all" {
        var wanted: [String] = []
        var known: [String] = []
        for s in summary.stages {
            for (r, n) in s.stats.dropped.sorted(by: { $0.value > $1.value }) {
                known.append("\(s.id):\(r) (\(n))")
                let colon = reason.split(whereSeparator: { $0 == ":" || $0 == "/" }).map(String.init)
                if r == reason || s.id == reason || (colon.count == 2 && colon[0] == s.id && (colon[1] == r || colon[1] == "*")) {
                    if !wanted.contains(s.id) { wanted.append(s.id) }
                }
            }
        }
        if wanted.isEmpty {
            throw OutputError(
                "no stage of this run dropped documents for '\(reason)'. "
                    + (known.isEmpty ? "This run dropped nothing." : "Reasons in this run: " + known.joined(separator: ", ")))
        }
        stageDirs = stageDirs.filter { wanted.contains($0) }
        if stageDirs.isEmpty {
            throw OutputError("\(rejectedRoot) has no folder for stage \(wanted.joined(separator: ", ")): its dropped documents were not kept")
        }
    }
    let files = stageDirs.flatMap { dataFiles(in: rejectedRoot + "/" + $0) }
    if files.isEmpty { throw OutputError("\(rejectedRoot) holds no rejected shards") }
    return files
}

/// The HTML report of the run in `root` (see ``renderHTMLReport(_:samples:version:)``), with
/// example documents from its shards and rejected shards.
public func buildReport(root: String, recompute: Bool = false, workers: Int = 2, keptExamples: Int = 6, droppedExamples: Int = 3) throws -> String {
    let summary = try OutputSummary(root: root)
    let statistics = try summary.statistics(recompute: recompute, workers: workers)
    let layout = OutputLayout(root: root)
    let fm = FileManager.default
    var rejected: [String: [String]] = [:]
    for stage in ((try? fm.contentsOfDirectory(atPath: layout.rejectedDirectory)) ?? []).sorted() where !stage.hasPrefix(".") {
        let dir = layout.rejectedDirectory + "/" + stage
        rejected[stage] = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".jsonl.zst") && !$0.hasPrefix(".") }
            .sorted().map { dir + "/" + $0 }
    }
    var reasons: [(stage: String, reason: String)] = []
    for s in summary.stages {
        for (r, _) in s.stats.dropped.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            reasons.append((s.id, r))
        }
    }
    let samples = collectReportSamples(
        keptShards: summary.shards.map { layout.path($0.path) }, rejectedShards: rejected, reasons: reasons,
        kept: keptExamples, perReason: droppedExamples)
    return renderHTMLReport(statistics, samples: samples, version: sluiceVersion)
}

/// Writes a report file atomically, creating its folder.
public func writeReport(_ html: String, to path: String) throws {
    let dir = (path as NSString).deletingLastPathComponent
    if !dir.isEmpty { try createDirectory(dir) }
    try writeAtomically(path: path, bytes: Array(html.utf8))
}
