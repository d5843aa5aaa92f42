import Dispatch
import Glibc
import SluiceCore
import SluiceIO
import Synchronization

/// The folder of one dedup job's side files, `OUT/_work/NAME`, and the names inside it.
struct DedupWork: Sendable {
    let name: String
    let root: String

    init(context: TaskContext, name: String) {
        self.name = name
        root = context.workFolder(name)
    }

    init(root: String, name: String) {
        self.name = name
        self.root = root
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    static func taskName(_ t: Int) -> String { pad(t, 5) }
}

@inline(__always) func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

// MARK: - Small JSON files

/// Typed access to a small JSON file; every error names the file.
struct JSONFile {
    let path: String
    let object: JSONObject

    init(_ path: String) throws {
        guard Files.exists(path) else { throw DedupFileError(path: path, "missing") }
        let bytes = try Files.readAll(path)
        let value: JSONValue
        do {
            value = try parseJSONValue(bytes)
        } catch {
            throw DedupFileError(path: path, "not valid JSON (\(error))")
        }
        guard case .object(let o) = value else { throw DedupFileError(path: path, "not a JSON object") }
        self.path = path
        object = o
    }

    func value(_ key: String) throws -> JSONValue {
        guard let v = object[key] else { throw DedupFileError(path: path, "no '\(key)'") }
        return v
    }

    func int(_ key: String) throws -> Int {
        guard case .number(let n) = try value(key), let i = n.intValue else {
            throw DedupFileError(path: path, "'\(key)' is not an integer")
        }
        return i
    }

    func string(_ key: String) throws -> String {
        guard let s = try value(key).stringValue else { throw DedupFileError(path: path, "'\(key)' is not a string") }
        return s
    }

    func strings(_ key: String) throws -> [String] {
        guard let a = try value(key).arrayValue else { throw DedupFileError(path: path, "'\(key)' is not a list") }
        return try a.map {
            guard let s = $0.stringValue else { throw DedupFileError(path: path, "'\(key)' must hold strings") }
            return s
        }
    }

    /// A list of `{"path": …, "records": …}` objects.
    func files(_ key: String) throws -> [(path: String, records: Int)] {
        guard let a = try value(key).arrayValue else { throw DedupFileError(path: path, "'\(key)' is not a list") }
        return try a.map { item in
            guard let o = item.objectValue, let p = o["path"]?.stringValue, case .number(let n)? = o["records"],
                let r = n.intValue
            else { throw DedupFileError(path: path, "'\(key)' must hold {path, records} objects") }
            return (p, r)
        }
    }
}

func filesJSON(_ files: [(path: String, records: Int)]) -> JSONValue {
    .array(files.map { .object(["path": .string($0.path), "records": .int($0.records)]) })
}

// MARK: - The signatures (or hashes) of one task

/// What a task of one phase of a dedup job recorded (for the first, document-reading phase:
/// its document count and input files): written last, so its presence means the task's side
/// files are complete. Later steps read these to learn the task count, document counts and
/// files, and the removal step checks its input against them. File paths are relative to the
/// work folder.
struct PhaseRecord: Sendable {
    var task: Int
    var tasks: Int
    var documents: Int
    var inputFiles: [String]
    /// Identifies the job's configuration and input; later steps copy it and compare.
    var jobID: String
    var files: [(path: String, records: Int)]
    var extra: JSONObject

    static func path(_ work: DedupWork, _ phase: String, task: Int) -> String {
        work.path("\(phase)/\(DedupWork.taskName(task)).json")
    }

    func write(_ work: DedupWork, phase: String) throws {
        var o: JSONObject = [
            "task": .int(task), "tasks": .int(tasks), "documents": .int(documents),
            "job_id": .string(jobID), "input_files": .array(inputFiles.map { .string($0) }),
            "files": filesJSON(files),
        ]
        for e in extra { o[e.key] = e.value }
        try writeSmallJSONFile(Self.path(work, phase, task: task), .object(o))
    }

    static func read(_ work: DedupWork, _ phase: String, task: Int) throws -> PhaseRecord {
        let f = try JSONFile(path(work, phase, task: task))
        return PhaseRecord(
            task: try f.int("task"), tasks: try f.int("tasks"), documents: try f.int("documents"),
            inputFiles: try f.strings("input_files"), jobID: try f.string("job_id"), files: try f.files("files"),
            extra: f.object)
    }

    /// Every task's record; fails loudly when the first step left none, or left an
    /// incomplete set.
    static func readAll(
        _ work: DedupWork, _ phase: String, stage: String, producer: String, requireDocuments: Bool = true,
        jobID: String? = nil
    ) throws -> [PhaseRecord] {
        let folder = work.path(phase)
        guard Files.isDirectory(folder) else {
            throw DedupError(
                "\(stage): no \(phase) in \(folder). The \(producer) step must run first, with the same `work` name ('\(work.name)'); nothing to deduplicate")
        }
        let first = try read(work, phase, task: 0)
        var all = [first]
        for t in 1..<max(1, first.tasks) {
            let s = try read(work, phase, task: t)
            guard s.tasks == first.tasks, s.jobID == first.jobID else {
                throw DedupFileError(
                    path: path(work, phase, task: t), "belongs to another run (\(s.tasks) tasks, job \(s.jobID); task 0 has \(first.tasks) tasks, job \(first.jobID))")
            }
            all.append(s)
        }
        if let jobID, first.jobID != jobID {
            throw DedupFileError(
                path: path(work, phase, task: 0), "belongs to another run (job \(first.jobID), expected \(jobID))")
        }
        let total = all.reduce(0) { $0 + $1.documents }
        if requireDocuments && total == 0 {
            throw DedupError(
                "\(stage): the \(producer) step saw no documents (\(first.tasks) tasks, 0 documents in \(folder)); check input.paths and the stages before it: a dedup of nothing is a mistake, not a result")
        }
        return all
    }

    /// Removes what an earlier attempt of this task left under `phase`.
    static func removeStale(_ work: DedupWork, _ phase: String, task: Int) {
        let prefix = DedupWork.taskName(task)
        let folder = work.path(phase)
        for name in Files.list(folder) {
            let full = folder + "/" + name
            if Files.isDirectory(full) {
                for inner in Files.list(full) where inner.hasPrefix(prefix) || inner.hasPrefix("." + prefix) {
                    Files.remove(full + "/" + inner)
                }
            } else if name.hasPrefix(prefix) || name.hasPrefix("." + prefix) {
                Files.remove(full)
            }
        }
    }
}

/// The guard of every removal step: it must read the same input, split over the same tasks, as
/// the step that signed it.
func checkSameSplit(_ signed: PhaseRecord, context: TaskContext, stage: String, producer: String) throws {
    guard signed.tasks == context.tasks else {
        throw DedupError(
            "\(stage): this step runs \(context.tasks) tasks but the \(producer) step ran \(signed.tasks); the removal step must read the same input split the same way, so set its run.tasks to \(signed.tasks) (or rerun the whole job with \(context.tasks))")
    }
    guard signed.inputFiles == context.inputFiles else {
        let mine = context.inputFiles.prefix(3).joined(separator: ", ")
        let theirs = signed.inputFiles.prefix(3).joined(separator: ", ")
        throw DedupError(
            "\(stage): task \(context.task) reads other files (\(context.inputFiles.count): \(mine)…) than the \(producer) step's task \(context.task) did (\(signed.inputFiles.count): \(theirs)…); the removal step must read the same input as the signing step")
    }
}

// MARK: - Decisions: what the removal step does with each document (or unit)

/// One decision: document `index` of a task (and `unit`, for paragraph and line dedup) belongs
/// to a cluster of `size` (whose keeper is the global document `cluster`) and is removed when
/// `remove` is set. Records are sorted by (index, unit).
struct Decision: Sendable {
    var index: UInt32
    var unit: UInt32
    var size: UInt32
    var remove: Bool
    var cluster: UInt64

    static let kind = "DECI"
    static let size = 24

    func write(_ w: RecordFileWriter) throws {
        try w.append { r in
            r.u32(index)
            r.u32(unit)
            r.u32(size)
            r.u32(remove ? 1 : 0)
            r.u64(cluster)
        }
    }

    init(index: UInt32, unit: UInt32, size: UInt32, remove: Bool, cluster: UInt64) {
        self.index = index
        self.unit = unit
        self.size = size
        self.remove = remove
        self.cluster = cluster
    }

    init(_ c: RecordCursor) {
        index = c.u32(at: 0)
        unit = c.u32(at: 4)
        size = c.u32(at: 8)
        remove = c.u32(at: 12) != 0
        cluster = c.u64(at: 16)
    }

    var sortKey: UInt64 { UInt64(index) << 32 | UInt64(unit) }
}

/// Decisions for many input tasks, kept in memory up to a budget and spilled as sorted runs:
/// `PHASE/PPPPP-for-TTTTT-RRRR.dec` (written by task PPPPP of the deciding step, for input task
/// TTTTT). The removal step's task TTTTT merges every file named `*-for-TTTTT*`.
final class DecisionSpiller {
    private let work: DedupWork
    private let phase: String
    private let producerTask: Int
    private let budget: Int
    private var pending: [Int: [Decision]] = [:]
    private var pendingCount = 0
    private var runs = 0
    private(set) var files: [(path: String, records: Int)] = []

    init(work: DedupWork, phase: String, producerTask: Int, budgetRecords: Int) {
        self.work = work
        self.phase = phase
        self.producerTask = producerTask
        budget = max(1024, budgetRecords)
    }

    func add(task: Int, _ d: Decision) throws {
        pending[task, default: []].append(d)
        pendingCount += 1
        if pendingCount >= budget { try spill() }
    }

    func spill() throws {
        guard pendingCount > 0 else { return }
        try Files.makeDirectories(work.path(phase))
        for t in pending.keys.sorted() {
            var list = pending[t]!
            list.sort { $0.sortKey < $1.sortKey }
            let rel = decisionFileName(phase: phase, producer: producerTask, task: t, run: runs)
            let w = try RecordFileWriter(path: work.path(rel), kind: Decision.kind, recordSize: Decision.size)
            for d in list { try d.write(w) }
            try w.commit()
            files.append((rel, list.count))
        }
        runs += 1
        pending.removeAll()
        pendingCount = 0
    }
}

func decisionFileName(phase: String, producer: Int, task: Int, run: Int) -> String {
    "\(phase)/\(DedupWork.taskName(producer))-for-\(DedupWork.taskName(task))-\(pad(run, 4)).dec"
}

/// Merges a task's decision files into one stream ordered by (index, unit).
struct DecisionStream {
    private var cursors: [RecordCursor]
    private var heap: KWayHeap<UInt64>

    init(files: [String]) throws {
        cursors = try files.map { RecordCursor(try RecordFileReader(path: $0, kind: Decision.kind, recordSize: Decision.size)) }
        heap = KWayHeap()
        for i in cursors.indices where try cursors[i].fill() {
            heap.push(Decision(cursors[i]).sortKey, source: i)
        }
    }

    /// The next decision, or nil at the end (every file then fully read and checked).
    mutating func next() throws -> Decision? {
        guard let top = heap.pop() else { return nil }
        let d = Decision(cursors[top.source])
        cursors[top.source].advance()
        if try cursors[top.source].fill() {
            heap.push(Decision(cursors[top.source]).sortKey, source: top.source)
        }
        return d
    }
}

/// A binary min-heap of (key, source) for k-way merges; equal keys pop in source order.
struct KWayHeap<Key: Comparable> {
    struct Item {
        var key: Key
        var source: Int
        @inline(__always) static func < (a: Item, b: Item) -> Bool {
            a.key != b.key ? a.key < b.key : a.source < b.source
        }
    }

    private var items: [Item] = []
    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    mutating func push(_ key: Key, source: Int) {
        items.append(Item(key: key, source: source))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[i] < items[p] {
                items.swapAt(i, p)
                i = p
            } else {
                break
            }
        }
    }

    mutating func pop() -> Item? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                var m = l
                if l + 1 < n && items[l + 1] < items[l] { m = l + 1 }
                if items[m] < items[i] {
                    items.swapAt(i, m)
                    i = m
                } else {
                    break
                }
            }
        }
        return top
    }
}

/// Two 64-bit values compared in order.
struct KeyPair: Comparable, Sendable {
    var a: UInt64
    var b: UInt64
    @inline(__always) static func < (x: KeyPair, y: KeyPair) -> Bool { x.a != y.a ? x.a < y.a : x.b < y.b }
}

// MARK: - Running work on several threads

/// Runs `body(i)` for `i` in `0..<count` on up to `workers` threads; the first error wins.
func parallelFor(count: Int, workers: Int, _ body: @Sendable (Int) throws -> Void) throws {
    guard count > 0 else { return }
    let threads = max(1, min(workers, count))
    if threads == 1 {
        for i in 0..<count { try body(i) }
        return
    }
    let next = Atomic<Int>(0)
    let failure = Mutex<(any Error)?>(nil)
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
        while true {
            if failure.withLock({ $0 != nil }) { return }
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= count { return }
            do {
                try body(i)
            } catch {
                failure.withLock { if $0 == nil { $0 = error } }
                return
            }
        }
    }
    if let e = failure.withLock({ $0 }) { throw e }
}
