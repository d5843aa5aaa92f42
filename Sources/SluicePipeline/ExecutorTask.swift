import Foundation
import SluiceCore
import SluiceIO
import SluiceStats
import SluiceWeb

/// A stage as a step runs it: its pipeline id, its type and the built stage.
public struct StageInstance: Sendable {
    public var id: String
    public var type: String
    public var stage: any Stage
    public var isStateless: Bool

    public init(id: String, type: String, stage: any Stage, isStateless: Bool) {
        self.id = id
        self.type = type
        self.stage = stage
        self.isStateless = isStateless
    }
}

/// How a step reads its input files.
public struct InputSettings: Sendable {
    public enum Kind: String, Sendable { case jsonl, text, warc }
    public var kind: Kind
    public var mapping: DocumentFieldMapping
    /// A fixed `source` for documents that have none; nil derives it from the file name.
    public var source: String?
    public var maxLineBytes: Int
    public var maxDocumentBytes: Int
    /// For `warc` input: the reader's options (from the `input` block).
    public var warc = WARCReaderOptions()

    public init(kind: Kind, mapping: DocumentFieldMapping, source: String?, maxLineBytes: Int, maxDocumentBytes: Int) {
        self.kind = kind
        self.mapping = mapping
        self.source = source
        self.maxLineBytes = maxLineBytes
        self.maxDocumentBytes = maxDocumentBytes
    }
}

/// Everything one step of a run needs: resolved input files, stages, output and task settings.
public struct ExecutionStep: Sendable {
    public var name: String
    public var position: Int
    public var input: InputSettings
    /// Sorted input files; task t reads files t, t+N, t+2N, …
    public var files: [String]
    public var stages: [StageInstance]
    public var output: OutputLayout
    public var maxShardBytes: Int
    public var compressionLevel: Int
    public var writeRejected: Bool
    public var tasks: Int
    public var workers: Int
    public var batchSize: Int
    /// Hash of everything that shapes this step's output; stored in completion markers.
    public var configurationHash: String
    /// The run's folder for stages' side files (`OUT/_work` of the final output).
    public var workDirectory: String = ""
    /// False for a step whose only stage is a `WorkStage`: its tasks read no documents.
    public var readsDocuments = true
    /// False for a step that ends in a `DocumentSinkStage`: it writes no shards.
    public var writesDocuments = true
    /// The position of the step whose shards this step reads; nil for the pipeline's input.
    public var documentSource: Int?
    /// The positions of the steps that must be complete before this one starts: the step
    /// before, or for the first step of a pipeline step with `from`, the step it reads. Steps
    /// that read the same step (routes) need not wait for each other.
    public var prerequisites: [Int] = []

    /// The files task `task` reads.
    public func files(forTask task: Int) -> [String] {
        stride(from: task, to: files.count, by: tasks).map { files[$0] }
    }
}

/// What one task did: the funnel per stage, the shards, the damage found in its input.
public struct TaskReport: Sendable {
    public var task: Int
    public var skipped: Bool
    public var stages: [(id: String, type: String, stats: StageStats)]
    public var shards: [ShardRecord]
    public var inputProblems: [String]
    public var seconds: Double
}

/// A run that stopped because of SIGINT or SIGTERM.
public struct RunInterrupted: Error, CustomStringConvertible {
    public let signal: Int32
    public var description: String { "interrupted by signal \(signal)" }
}

/// The id and type of the pseudo-stage that counts reading and parsing.
let readStageID = "read"

private enum InputItem: Sendable {
    case lines(sequence: Int, file: String, batch: RawLineBatch)
    case documents(sequence: Int, file: String, documents: [Document], stats: StageStats)
}

private struct ProcessedBatch: Sendable {
    var sequence: Int
    var file: String
    var encoded: [UInt8] = []
    var profiles = DocumentProfiles()
    /// Documents still to go through the stateful tail, when the step has one.
    var pending: DocumentBatch?
    var rejected: [String: ([UInt8], DocumentProfiles)] = [:]
    var stats: [StageStats]
}

/// Runs one task of one step: a reader thread, `workers` worker threads and the writer on the
/// calling thread, connected by bounded queues so memory stays flat whatever the input size.
final class TaskRunner: @unchecked Sendable {
    let step: ExecutionStep
    let task: Int
    let progress: ProgressMode
    let counters = ProgressCounters()
    private let errors = FirstError()
    private let problemsLock = NSLock()
    private var problems: [String] = []
    /// Index of the first stage that must see batches in order; stages from here run on the writer.
    private let serialStart: Int

    init(step: ExecutionStep, task: Int, progress: ProgressMode) {
        self.step = step
        self.task = task
        self.progress = progress
        serialStart = step.stages.firstIndex(where: { !$0.isStateless }) ?? step.stages.count
    }

    private func noteProblem(_ p: String) {
        problemsLock.lock()
        problems.append(p)
        problemsLock.unlock()
    }

    func run() throws -> TaskReport {
        let started = monotonicNanoseconds()
        let files = step.files(forTask: task)
        try removePartialOutput()
        if !step.readsDocuments { return try runWorkTask(started: started) }
        try beginStageTasks(files: files)
        let totalBytes = files.reduce(0) { $0 + fileSize($1) }
        let reporter = ProgressReporter(
            counters: counters, totalInputBytes: totalBytes,
            label: step.tasks > 1 || step.position > 0 ? "\(step.name) task \(task)" : step.name, mode: progress)
        reporter.start_()
        defer { reporter.stop() }

        let workers = max(1, step.workers)
        let inputQueue = BlockingQueue<InputItem>(capacity: workers * 2 + 2)
        let outputQueue = BlockingQueue<ProcessedBatch>(capacity: workers * 2 + 2)

        let reader = WorkerThread(name: "sluice-reader") { [self] in
            do {
                try readInput(files: files, into: inputQueue)
            } catch {
                errors.record(error)
            }
            inputQueue.close()
        }
        var workerThreads: [WorkerThread] = []
        let remaining = WorkerCountdown(workers)
        for w in 0..<workers {
            workerThreads.append(
                WorkerThread(name: "sluice-worker-\(w)") { [self] in
                    while let item = inputQueue.pop() {
                        do {
                            outputQueue.push(try process(item))
                        } catch {
                            errors.record(error)
                            inputQueue.close()
                        }
                    }
                    if remaining.finishOne() { outputQueue.close() }
                })
        }

        // The writer: this thread.
        let sink = makeSink(relativeName: { OutputLayout.shardName(task: self.task, sequence: $0) }, sidecars: true)
        var rejectedSinks: [String: ShardSink] = [:]
        var totals = Array(repeating: StageStats(), count: step.stages.count + 1)
        var pendingResults: [Int: ProcessedBatch] = [:]
        var nextSequence = 0
        var writeError: (any Error)?
        while let result = outputQueue.pop() {
            if writeError != nil || errors.value != nil { continue }  // drain so workers can finish
            pendingResults[result.sequence] = result
            while var ready = pendingResults.removeValue(forKey: nextSequence) {
                nextSequence += 1
                do {
                    if var batch = ready.pending {
                        try runStages(serialStart..<step.stages.count, on: &batch, stats: &ready.stats)
                        encode(&batch, into: &ready)
                    }
                    for i in totals.indices { totals[i].merge(ready.stats[i]) }
                    try sink.append(ready.encoded, profiles: ready.profiles, inputFile: ready.file)
                    counters.add(counters.documentsWritten, ready.profiles.count)
                    for (stageID, (bytes, profiles)) in ready.rejected.sorted(by: { $0.key < $1.key }) {
                        let s = try rejectedSinks[stageID] ?? {
                            let made = makeSink(relativeName: {
                                self.step.output.rejectedShardRelativePath(stageID: stageID, task: self.task, sequence: $0)
                            }, sidecars: false)
                            try createDirectory(step.output.path("_rejected/" + stageID))
                            rejectedSinks[stageID] = made
                            return made
                        }()
                        try s.append(bytes, profiles: profiles, inputFile: ready.file)
                    }
                } catch {
                    writeError = error
                    errors.record(error)
                    inputQueue.close()
                    break
                }
            }
        }
        reader.join()
        for t in workerThreads { t.join() }

        if let e = errors.value {
            sink.abort()
            for s in rejectedSinks.values { s.abort() }
            throw e
        }
        if let sig = Interruption.signal {
            sink.abort()
            for s in rejectedSinks.values { s.abort() }
            throw RunInterrupted(signal: sig)
        }
        do {
            try finishStageTasks(files: files, totals: &totals)
        } catch {
            sink.abort()
            for s in rejectedSinks.values { s.abort() }
            throw error
        }
        let shards = try sink.finish()
        var rejectedRecords: [ShardRecord] = []
        for key in rejectedSinks.keys.sorted() { rejectedRecords += try rejectedSinks[key]!.finish() }

        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        var stageList: [(id: String, type: String, stats: StageStats)] = [(readStageID, "input", totals[0])]
        for (i, s) in step.stages.enumerated() { stageList.append((s.id, s.type, totals[i + 1])) }
        problemsLock.lock()
        let problemList = problems
        problemsLock.unlock()
        try writeTaskStats(stageList, problems: problemList, seconds: seconds)
        let completion = CompletionRecord(
            task: task, tasks: step.tasks, step: step.name, configurationHash: step.configurationHash,
            inputFiles: files, shards: shards, rejected: rejectedRecords,
            documentsIn: totals[0].received, documentsOut: shards.reduce(0) { $0 + $1.documents })
        try createDirectory(step.output.completionsDirectory)
        try writeAtomically(path: step.output.completionPath(task), bytes: prettyJSON(completion.json))
        return TaskReport(
            task: task, skipped: false, stages: stageList, shards: shards, inputProblems: problemList, seconds: seconds)
    }

    private func makeSink(relativeName: @escaping (Int) -> String, sidecars: Bool) -> ShardSink {
        ShardSink(
            layout: step.output, task: task, maxShardBytes: step.maxShardBytes, level: step.compressionLevel,
            compressionThreads: max(1, step.workers), writeSidecars: sidecars, relativeName: relativeName)
    }

    // MARK: Reading

    private func readInput(files: [String], into queue: BlockingQueue<InputItem>) throws {
        var sequence = 0
        switch step.input.kind {
        case .jsonl:
            for file in files {
                if Interruption.requested { return }
                let reader = LineBatchReader(
                    source: try ByteSource(path: file), maxLines: step.batchSize, maxBytes: 4 << 20,
                    maxLineBytes: step.input.maxLineBytes)
                var consumedBefore = 0
                while let batch = try reader.next() {
                    if Interruption.requested { return }
                    counters.add(counters.inputBytesDone, reader.compressedBytesRead - consumedBefore)
                    consumedBefore = reader.compressedBytesRead
                    counters.add(counters.uncompressedBytesRead, batch.bytes.count)
                    if let damage = batch.damage { noteProblem(damage.description) }
                    guard queue.push(.lines(sequence: sequence, file: file, batch: batch)) else { return }
                    sequence += 1
                }
                counters.add(counters.inputBytesDone, max(0, fileSize(file) - consumedBefore))
            }
        case .warc:
            var options = step.input.warc
            options.source = step.input.source
            for file in files {
                if Interruption.requested { return }
                let more = try readWARCFile(
                    file, options: options, batchSize: step.batchSize,
                    progress: { counters.add(counters.inputBytesDone, $0) }, problem: { noteProblem($0) },
                    shouldStop: { Interruption.requested },
                    emit: { docs, stats in
                        counters.add(counters.documentsRead, stats.received)
                        counters.add(counters.uncompressedBytesRead, stats.bytesOut)
                        defer { sequence += 1 }
                        return queue.push(.documents(sequence: sequence, file: file, documents: docs, stats: stats))
                    })
                if !more { return }
            }
        case .text:
            var docs: [Document] = []
            var stats = StageStats()
            var batchBytes = 0
            var lastFile = ""
            for file in files {
                if Interruption.requested { return }
                lastFile = file
                stats.received += 1
                let size = fileSize(file)
                counters.add(counters.inputBytesDone, size)
                if size > step.input.maxDocumentBytes {
                    stats.dropped["too_large", default: 0] += 1
                    noteProblem("\(file): \(size) bytes, over max_document_bytes (\(step.input.maxDocumentBytes)); skipped")
                    continue
                }
                let whole = try ByteSource.readWholeFile(path: file, maxBytes: step.input.maxDocumentBytes)
                if let damage = whole.damage {
                    noteProblem(damage.description)
                    stats.dropped["truncated_record", default: 0] += 1
                    continue
                }
                if whole.isTooLarge {
                    stats.dropped["too_large", default: 0] += 1
                    noteProblem("\(file): over max_document_bytes (\(step.input.maxDocumentBytes)) once decompressed; skipped")
                    continue
                }
                let bytes = whole.bytes
                counters.add(counters.uncompressedBytesRead, bytes.count)
                var replaced = 0
                let text = decodeUTF8Replacing(bytes, replacements: &replaced)
                if replaced > 0 { stats.counters["invalid_utf8_replaced", default: 0] += replaced }
                stats.kept += 1
                stats.bytesOut += text.utf8.count
                docs.append(Document(id: file, text: text, source: step.input.source ?? sourceName(for: file)))
                batchBytes += bytes.count
                if docs.count >= step.batchSize || batchBytes >= 4 << 20 {
                    stats.bytesIn = stats.bytesOut
                    guard queue.push(.documents(sequence: sequence, file: file, documents: docs, stats: stats)) else { return }
                    sequence += 1
                    docs = []
                    stats = StageStats()
                    batchBytes = 0
                }
            }
            if !docs.isEmpty || stats.received > 0 {
                stats.bytesIn = stats.bytesOut
                queue.push(.documents(sequence: sequence, file: lastFile, documents: docs, stats: stats))
            }
        }
    }

    // MARK: Processing

    private func process(_ item: InputItem) throws -> ProcessedBatch {
        var stats = Array(repeating: StageStats(), count: step.stages.count + 1)
        var batch: DocumentBatch
        let file: String
        let sequence: Int
        switch item {
        case .documents(let seq, let f, let documents, let readStats):
            stats[0] = readStats
            batch = DocumentBatch(sequence: seq, documents: documents, keepsRejected: step.writeRejected)
            file = f
            sequence = seq
        case .lines(let seq, let f, let raw):
            file = f
            sequence = seq
            let started = monotonicNanoseconds()
            var documents: [Document] = []
            documents.reserveCapacity(raw.count)
            var parser = DocumentLineParser(mapping: mappingFor(file: f))
            var read = StageStats()
            var rejectedLines: [Document] = []
            raw.bytes.withUnsafeBytes { all in
                for i in 0..<raw.count {
                    let line = UnsafeRawBufferPointer(rebasing: all[raw.lineStarts[i]..<raw.lineEnds[i]])
                    read.received += 1
                    read.bytesIn += line.count
                    switch parser.parse(line) {
                    case .document(var doc):
                        if doc.id.isEmpty { doc.id = "\(f):\(raw.lineNumbers[i])" }
                        read.bytesOut += doc.text.utf8.count
                        read.kept += 1
                        documents.append(doc)
                    case .invalid(let reason, let message):
                        read.dropped[reason.name, default: 0] += 1
                        if step.writeRejected {
                            rejectedLines.append(
                                rejectedLineDocument(file: f, line: raw.lineNumbers[i], offset: raw.lineOffsets[i],
                                                     bytes: line, reason: reason, message: message))
                        }
                    }
                }
            }
            for o in raw.oversizedLines {
                read.received += 1
                read.dropped["too_large", default: 0] += 1
                noteProblem("\(f): line \(o.lineNumber) at byte \(o.offset) is \(o.length) bytes, over max_line_bytes (\(step.input.maxLineBytes)); skipped")
            }
            if parser.invalidUTF8Replacements > 0 {
                read.counters["invalid_utf8_replaced", default: 0] += parser.invalidUTF8Replacements
            }
            read.nanoseconds = monotonicNanoseconds() - started
            stats[0] = read
            counters.add(counters.documentsRead, raw.count)
            batch = DocumentBatch(sequence: seq, documents: documents, keepsRejected: step.writeRejected)
            if !rejectedLines.isEmpty {
                batch.currentStageID = readStageID
                for d in rejectedLines {
                    let reason = d.metadata.value(atPath: "_rejected.reason")?.stringValue ?? "invalid_json"
                    batch.drop(d, reason: DropReason(reason))
                }
                _ = batch.takeDropCounts()  // already counted in the read stats
            }
        }
        try runStages(0..<serialStart, on: &batch, stats: &stats)
        var result = ProcessedBatch(sequence: sequence, file: file, stats: stats)
        if serialStart < step.stages.count {
            result.pending = batch
        } else {
            encode(&batch, into: &result)
        }
        return result
    }

    private func mappingFor(file: String) -> DocumentFieldMapping {
        var m = step.input.mapping
        m.defaultSource = step.input.source ?? sourceName(for: file)
        return m
    }

    private func runStages(_ range: Range<Int>, on batch: inout DocumentBatch, stats: inout [StageStats]) throws {
        for i in range {
            let instance = step.stages[i]
            batch.currentStageID = instance.id
            var s = StageStats()
            s.received = batch.count
            s.bytesIn = batch.documents.reduce(0) { $0 + $1.text.utf8.count }
            let t0 = monotonicNanoseconds()
            try instance.stage.process(&batch, stats: &s)
            s.nanoseconds += monotonicNanoseconds() - t0
            s.kept = batch.count
            s.bytesOut = batch.documents.reduce(0) { $0 + $1.text.utf8.count }
            s.addDrops(batch.takeDropCounts())
            stats[i + 1].merge(s)
        }
    }

    private func encode(_ batch: inout DocumentBatch, into result: inout ProcessedBatch) {
        result.encoded.reserveCapacity(batch.documents.reduce(0) { $0 + $1.text.utf8.count } + batch.count * 128)
        result.profiles.reserveCapacity(batch.count)
        for doc in batch.documents where step.writesDocuments {
            let before = result.encoded.count
            appendJSONLine(doc, to: &result.encoded)
            result.profiles.append(doc, lineBytes: result.encoded.count - before)
        }
        batch.documents.removeAll()
        for r in batch.takeRejected() {
            var doc = r.document
            if doc.metadata["_rejected"] == nil {
                doc.metadata["_rejected"] = .object(["stage": .string(r.stageID), "reason": .string(r.reason.name)])
            }
            var entry = result.rejected.removeValue(forKey: r.stageID) ?? ([], DocumentProfiles())
            let before = entry.0.count
            appendJSONLine(doc, to: &entry.0)
            entry.1.appendUnprofiled(lineBytes: entry.0.count - before)
            result.rejected[r.stageID] = entry
        }
    }

    private func rejectedLineDocument(file: String, line: Int, offset: Int, bytes: UnsafeRawBufferPointer,
                                      reason: DropReason, message: String) -> Document {
        let keep = UnsafeRawBufferPointer(rebasing: bytes.prefix(1 << 20))
        var replaced = 0
        let text = decodeUTF8Replacing(Array(keep), replacements: &replaced)
        return Document(
            id: "\(file):\(line)", text: text, source: sourceName(for: file),
            metadata: [
                "_rejected": .object([
                    "stage": .string(readStageID), "reason": .string(reason.name), "message": .string(message),
                    "file": .string(file), "line": .int(line), "offset": .int(offset),
                ])
            ])
    }

    // MARK: Files

    /// Deletes whatever an earlier, unfinished attempt at this task left: its shards, sidecars,
    /// stats, rejected shards and temporaries.
    private func removePartialOutput() throws {
        let fm = FileManager.default
        let root = step.output.root
        try createDirectory(root)
        let prefix = OutputLayout.taskName(task) + "_"
        for name in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
            if name.hasPrefix(prefix) && (name.hasSuffix(".jsonl.zst") || name.hasSuffix(".stats.json")) {
                try? fm.removeItem(atPath: root + "/" + name)
            }
        }
        _ = try? removeStaleTemporaries(in: root, matching: prefix)
        try? fm.removeItem(atPath: step.output.taskStatsPath(task))
        // A kill while the marker or the task's stats were being written leaves their temporaries.
        let own = OutputLayout.taskName(task) + "."
        _ = try? removeStaleTemporaries(in: step.output.completionsDirectory, matching: own)
        _ = try? removeStaleTemporaries(in: step.output.statsDirectory, matching: own)
        if let stages = try? fm.contentsOfDirectory(atPath: step.output.rejectedDirectory) {
            for s in stages {
                let dir = step.output.rejectedDirectory + "/" + s
                for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(prefix) {
                    try? fm.removeItem(atPath: dir + "/" + name)
                }
                _ = try? removeStaleTemporaries(in: dir, matching: prefix)
            }
        }
    }

    func writeTaskStats(_ stages: [(id: String, type: String, stats: StageStats)], problems: [String], seconds: Double) throws {
        try createDirectory(step.output.statsDirectory)
        let json: JSONValue = .object([
            "task": .int(task), "tasks": .int(step.tasks), "step": .string(step.name),
            "seconds": .double((seconds * 1000).rounded() / 1000),
            "stages": .array(stages.map { stageStatsJSON(id: $0.id, type: $0.type, stats: $0.stats) }),
            "input_problems": .array(problems.map { .string($0) }),
        ])
        try writeAtomically(path: step.output.taskStatsPath(task), bytes: prettyJSON(json))
    }
}

/// Counts down finishing workers; the last one closes the output queue.
private final class WorkerCountdown: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    init(_ n: Int) { left = n }
    func finishOne() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        left -= 1
        return left == 0
    }
}

func stageStatsJSON(id: String, type: String, stats: StageStats) -> JSONValue {
    var dropped = JSONObject()
    for k in stats.dropped.keys.sorted() { dropped.append(key: k, value: .int(stats.dropped[k]!)) }
    var counters = JSONObject()
    for k in stats.counters.keys.sorted() { counters.append(key: k, value: .int(stats.counters[k]!)) }
    return .object([
        "id": .string(id), "type": .string(type), "received": .int(stats.received), "kept": .int(stats.kept),
        "dropped": .object(dropped), "bytes_in": .int(stats.bytesIn), "bytes_out": .int(stats.bytesOut),
        "seconds": .double((stats.seconds * 1000).rounded() / 1000), "counters": .object(counters),
    ])
}

func stageStats(fromJSON value: JSONValue, file: String) throws -> (id: String, type: String, stats: StageStats) {
    let r = try JSONFields(value, file: file)
    var s = StageStats()
    s.received = try r.int("received")
    s.kept = try r.int("kept")
    for e in try r.objectValue("dropped") { s.dropped[e.key] = Int(e.value.doubleValue ?? 0) }
    s.bytesIn = (try? r.int("bytes_in")) ?? 0
    s.bytesOut = (try? r.int("bytes_out")) ?? 0
    s.nanoseconds = UInt64(max(0, ((try? r.double("seconds")) ?? 0) * 1e9))
    for e in (try? r.objectValue("counters")) ?? JSONObject() { s.counters[e.key] = Int(e.value.doubleValue ?? 0) }
    return (try r.string("id"), try r.string("type"), s)
}

/// The default `source` for a file: its name without directories and extensions.
func sourceName(for file: String) -> String {
    let base = file.split(separator: "/").last.map(String.init) ?? file
    return base.split(separator: ".").first.map(String.init) ?? base
}

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

func createDirectory(_ path: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw OutputError("cannot create directory \(path): \(error.localizedDescription)")
    }
}

/// Decodes UTF-8, replacing invalid sequences with U+FFFD and counting them.
func decodeUTF8Replacing(_ bytes: [UInt8], replacements: inout Int) -> String {
    if let s = String(validating: bytes, as: UTF8.self) { return s }
    let s = String(decoding: bytes, as: UTF8.self)
    // Count replacement characters that were not in the input.
    var inInput = 0
    var i = 0
    while i + 2 < bytes.count {
        if bytes[i] == 0xEF && bytes[i + 1] == 0xBF && bytes[i + 2] == 0xBD { inInput += 1 }
        i += 1
    }
    var out = 0
    for u in s.unicodeScalars where u.value == 0xFFFD { out += 1 }
    replacements += max(0, out - inInput)
    return s
}
