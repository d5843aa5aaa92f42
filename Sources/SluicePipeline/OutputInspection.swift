import Foundation
import SluiceCore
import SluiceIO

/// Reads an output folder's markers and stats: what `sluice stats` and `sluice verify` show.
public struct OutputSummary: Sendable {
    public var root: String
    public var tasks: Int
    public var completedTasks: Int
    public var shards: [ShardRecord]
    public var stages: [(id: String, type: String, stats: StageStats)]
    public var inputProblems: [String]

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

    /// The human-readable report: totals, the funnel by stage and reason, and the shard table.
    public func render(maxShardRows: Int = 20) -> String {
        var out = "\(root): \(documents) documents in \(shards.count) shards, \(formatBytes(bytes)) JSONL, \(formatBytes(compressedBytes)) compressed"
        if completedTasks < tasks { out += " (\(completedTasks) of \(tasks) tasks complete)" }
        out += "\n\n" + renderFunnel(stages)
        out += "\n"
        var rows: [[String]] = [["shard", "documents", "bytes", "compressed"]]
        for s in shards.prefix(maxShardRows) {
            rows.append([s.path, String(s.documents), formatBytes(s.bytes), formatBytes(s.compressedBytes)])
        }
        out += renderTable(rows, rightAligned: [1, 2, 3])
        if shards.count > maxShardRows { out += "… and \(shards.count - maxShardRows) more shards\n" }
        if !inputProblems.isEmpty {
            out += "\ninput problems (\(inputProblems.count)):\n"
            for p in inputProblems.prefix(20) { out += "  " + p + "\n" }
        }
        return out
    }
}

/// The funnel table: received, kept, dropped with reasons and time, one row per stage.
public func renderFunnel(_ stages: [(id: String, type: String, stats: StageStats)]) -> String {
    var rows: [[String]] = [["stage", "type", "received", "kept", "dropped", "seconds"]]
    for s in stages {
        let pct = s.stats.received > 0 ? formatFixed(100 * Double(s.stats.droppedTotal) / Double(s.stats.received), digits: 1) + "%" : "-"
        rows.append([s.id, s.type, String(s.stats.received), String(s.stats.kept),
                     "\(s.stats.droppedTotal) (\(pct))", formatFixed(s.stats.seconds, digits: 2)])
        for (reason, n) in s.stats.dropped.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            rows.append(["", "  " + reason, "", "", String(n), ""])
        }
        for (name, n) in s.stats.counters.sorted(by: { $0.key < $1.key }) {
            rows.append(["", "  (" + name + ")", "", "", String(n), ""])
        }
    }
    return renderTable(rows, rightAligned: [2, 3, 4, 5])
}

/// A plain-text table with a rule under the header.
public func renderTable(_ rows: [[String]], rightAligned: Set<Int>) -> String {
    guard let header = rows.first else { return "" }
    var widths = Array(repeating: 0, count: header.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    var out = ""
    for (n, r) in rows.enumerated() {
        var line = ""
        for (i, c) in r.enumerated() where i < widths.count {
            let padding = String(repeating: " ", count: widths[i] - c.count)
            if i > 0 { line += "  " }
            line += rightAligned.contains(i) ? padding + c : c + padding
        }
        while line.hasSuffix(" ") { line.removeLast() }
        out += line + "\n"
        if n == 0 { out += widths.enumerated().map { String(repeating: "-", count: $0.element) }.joined(separator: "  ") + "\n" }
    }
    return out
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
