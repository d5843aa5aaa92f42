import SluiceCore
import SluiceIO

/// Names of everything Sluice writes under an output folder. This layout is a contract:
///
/// ```
/// OUT/
///   00000_0000.jsonl.zst        shards: task 00000, sequence 0000, rotated at max_shard_bytes
///   00000_0000.stats.json       per-shard statistics, written with the shard
///   _stats/00000.json           per-task, per-stage funnel
///   _completions/00000.json     written last, atomically: the task's shards with counts and checksums
///   _rejected/STAGE/…jsonl.zst  dropped documents with their reason, when enabled
///   _manifest.json              the whole run: pipeline, version, inputs, shards, totals
/// ```
public struct OutputLayout: Sendable {
    public let root: String

    public init(root: String) {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
    }

    public static func taskName(_ task: Int) -> String { pad(task, 5) }

    public static func shardName(task: Int, sequence: Int) -> String {
        "\(pad(task, 5))_\(pad(sequence, 4)).jsonl.zst"
    }

    public static func shardStatsName(forShard name: String) -> String {
        String(name.dropLast(".jsonl.zst".count)) + ".stats.json"
    }

    public func path(_ relative: String) -> String { root + "/" + relative }

    public var statsDirectory: String { path("_stats") }
    public var completionsDirectory: String { path("_completions") }
    public var rejectedDirectory: String { path("_rejected") }
    public var manifestPath: String { path("_manifest.json") }

    public func taskStatsPath(_ task: Int) -> String { statsDirectory + "/" + pad(task, 5) + ".json" }
    public func completionPath(_ task: Int) -> String { completionsDirectory + "/" + pad(task, 5) + ".json" }
    public func rejectedShardRelativePath(stageID: String, task: Int, sequence: Int) -> String {
        "_rejected/\(stageID)/" + Self.shardName(task: task, sequence: sequence)
    }

    /// True for a file name that is one of this layout's shards (`NNNNN_NNNN.jsonl.zst`).
    public static func isShardName(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard b.count == 20, name.hasSuffix(".jsonl.zst") else { return false }
        for i in 0..<10 where i != 5 { guard b[i] >= 48 && b[i] <= 57 else { return false } }
        return b[5] == UInt8(ascii: "_")
    }

    /// The task number of a shard name.
    public static func task(ofShard name: String) -> Int? {
        guard isShardName(name) else { return nil }
        return Int(name.prefix(5))
    }
}

@inline(__always) func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// One finished shard as the completion markers and the manifest record it.
public struct ShardRecord: Sendable, Equatable {
    /// Path relative to the output folder.
    public var path: String
    public var documents: Int
    /// Uncompressed JSONL bytes.
    public var bytes: Int
    public var compressedBytes: Int
    /// XXH64 of the compressed file, 16 hex digits.
    public var checksum: String

    public init(path: String, documents: Int, bytes: Int, compressedBytes: Int, checksum: String) {
        self.path = path
        self.documents = documents
        self.bytes = bytes
        self.compressedBytes = compressedBytes
        self.checksum = checksum
    }

    var json: JSONValue {
        .object([
            "path": .string(path), "documents": .int(documents), "bytes": .int(bytes),
            "compressed_bytes": .int(compressedBytes), "xxh64": .string(checksum),
        ])
    }

    init(json: JSONValue, file: String) throws {
        let o = try JSONFields(json, file: file)
        path = try o.string("path")
        documents = try o.int("documents")
        bytes = try o.int("bytes")
        compressedBytes = try o.int("compressed_bytes")
        checksum = try o.string("xxh64")
    }
}

/// A task's completion marker: written last, atomically, and the only proof that a task is done.
public struct CompletionRecord: Sendable, Equatable {
    public var task: Int
    public var tasks: Int
    public var step: String
    /// Hash of the step's configuration; a rerun with another configuration refuses to mix.
    public var configurationHash: String
    public var inputFiles: [String]
    public var shards: [ShardRecord]
    public var rejected: [ShardRecord]
    public var documentsIn: Int
    public var documentsOut: Int

    var json: JSONValue {
        .object([
            "task": .int(task), "tasks": .int(tasks), "step": .string(step),
            "configuration_hash": .string(configurationHash),
            "documents_in": .int(documentsIn), "documents_out": .int(documentsOut),
            "input_files": .array(inputFiles.map { .string($0) }),
            "shards": .array(shards.map(\.json)),
            "rejected": .array(rejected.map(\.json)),
        ])
    }

    init(task: Int, tasks: Int, step: String, configurationHash: String, inputFiles: [String],
         shards: [ShardRecord], rejected: [ShardRecord], documentsIn: Int, documentsOut: Int) {
        self.task = task
        self.tasks = tasks
        self.step = step
        self.configurationHash = configurationHash
        self.inputFiles = inputFiles
        self.shards = shards
        self.rejected = rejected
        self.documentsIn = documentsIn
        self.documentsOut = documentsOut
    }

    init(json: JSONValue, file: String) throws {
        let o = try JSONFields(json, file: file)
        task = try o.int("task")
        tasks = try o.int("tasks")
        step = try o.string("step")
        configurationHash = try o.string("configuration_hash")
        documentsIn = try o.int("documents_in")
        documentsOut = try o.int("documents_out")
        inputFiles = try o.array("input_files").map { v in
            guard let s = v.stringValue else { throw OutputError("\(file): input_files must hold strings") }
            return s
        }
        shards = try o.array("shards").map { try ShardRecord(json: $0, file: file) }
        rejected = try o.array("rejected").map { try ShardRecord(json: $0, file: file) }
    }
}

/// A problem with an output folder's files: a missing or damaged marker, a mismatch.
public struct OutputError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Typed access to a parsed JSON object with errors that name the file and key.
struct JSONFields {
    let object: JSONObject
    let file: String

    init(_ value: JSONValue, file: String) throws {
        guard case .object(let o) = value else { throw OutputError("\(file): expected a JSON object") }
        object = o
        self.file = file
    }

    func value(_ key: String) throws -> JSONValue {
        guard let v = object[key] else { throw OutputError("\(file): missing key '\(key)'") }
        return v
    }

    func string(_ key: String) throws -> String {
        guard let s = try value(key).stringValue else { throw OutputError("\(file): '\(key)' must be a string") }
        return s
    }

    func int(_ key: String) throws -> Int {
        guard case .number(let n) = try value(key), let i = n.intValue else {
            throw OutputError("\(file): '\(key)' must be an integer")
        }
        return i
    }

    func double(_ key: String) throws -> Double {
        guard let d = try value(key).doubleValue else { throw OutputError("\(file): '\(key)' must be a number") }
        return d
    }

    func array(_ key: String) throws -> [JSONValue] {
        guard let a = try value(key).arrayValue else { throw OutputError("\(file): '\(key)' must be a list") }
        return a
    }

    func objectValue(_ key: String) throws -> JSONObject {
        guard let o = try value(key).objectValue else { throw OutputError("\(file): '\(key)' must be an object") }
        return o
    }
}

/// Pretty-printed JSON (two-space indent, keys in stored order), for the small files that
/// people read: stats sidecars, completion markers, the manifest.
func prettyJSON(_ value: JSONValue) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(1024)
    writePretty(value, indent: 0, into: &out)
    out.append(UInt8(ascii: "\n"))
    return out
}

private func writePretty(_ value: JSONValue, indent: Int, into out: inout [UInt8]) {
    func newline(_ level: Int) {
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: level * 2))
    }
    switch value {
    case .array(let items) where !items.isEmpty && items.contains(where: { $0.objectValue != nil || $0.arrayValue != nil }):
        out.append(UInt8(ascii: "["))
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            newline(indent + 1)
            writePretty(item, indent: indent + 1, into: &out)
        }
        newline(indent)
        out.append(UInt8(ascii: "]"))
    case .object(let o) where !o.isEmpty:
        out.append(UInt8(ascii: "{"))
        for (i, e) in o.entries.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            newline(indent + 1)
            appendJSON(.string(e.key), to: &out)
            out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            writePretty(e.value, indent: indent + 1, into: &out)
        }
        newline(indent)
        out.append(UInt8(ascii: "}"))
    default:
        appendJSON(value, to: &out)
    }
}
