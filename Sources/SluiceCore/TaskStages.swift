import Synchronization

/// Where one task of one step runs: for stages that keep files beside the documents (dedup
/// signatures, hash partitions, removal lists) or do a task's work without documents.
public struct TaskContext: Sendable {
    /// The step's name.
    public var step: String
    /// The task's index, `0..<tasks`.
    public var task: Int
    /// The number of tasks of the step.
    public var tasks: Int
    /// Threads the task may use.
    public var workers: Int
    /// The files this task reads, in order (empty for a step that reads no documents).
    public var inputFiles: [String]
    /// The step's output folder.
    public var outputDirectory: String
    /// The run's folder for side files, shared by all its steps (`OUT/_work` of the final
    /// output). Stages keep their files in a subfolder they name.
    public var workDirectory: String
    /// The stage's id in the pipeline.
    public var stageID: String

    public init(
        step: String, task: Int, tasks: Int, workers: Int, inputFiles: [String], outputDirectory: String,
        workDirectory: String, stageID: String
    ) {
        self.step = step
        self.task = task
        self.tasks = tasks
        self.workers = workers
        self.inputFiles = inputFiles
        self.outputDirectory = outputDirectory
        self.workDirectory = workDirectory
        self.stageID = stageID
    }

    /// The subfolder `name` of ``workDirectory``, where one multi-step job keeps its files.
    public func workFolder(_ name: String) -> String {
        var base = workDirectory
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        return base + "/" + name
    }
}

/// `name` if it can name a work folder (`OUT/_work/NAME`): ASCII letters, digits, `_`, `-` and
/// `.`, not empty, `.` or `..`.
public func checkWorkName(_ name: String) throws -> String {
    let ok = !name.isEmpty && name != "." && name != ".."
        && name.unicodeScalars.allSatisfy { s in
            s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "_" || s == "-" || s == ".")
        }
    guard ok else {
        throw StageConfigurationError("work folder name '\(name)' (OUT/_work/\(name)) may only contain ASCII letters, digits, '_', '-' and '.'")
    }
    return name
}

/// A stage that is told when a task starts and when its input is finished.
///
/// The runtime calls ``beginTask(_:)`` before the task's first batch and
/// ``finishTask(_:stats:)`` after its last one, on the thread that writes the output and
/// before the task's completion marker. A task that fails or is interrupted gets no
/// `finishTask`; it is redone from the start, so `beginTask` must discard whatever an earlier
/// attempt of the same task left. Side files must appear only when complete (write them
/// atomically), so a killed and rerun task gives the same files.
public protocol TaskAwareStage: Stage {
    func beginTask(_ context: TaskContext) throws
    func finishTask(_ context: TaskContext, stats: inout StageStats) throws
}

/// A task-aware stage at which documents end: it reads them (to write side files) and the step
/// writes no shards. It must be the last stage of its step; the next step that reads
/// documents reads what this step read.
public protocol DocumentSinkStage: TaskAwareStage {}

/// A stage that reads no documents: each task of its step does its work from files (for
/// example merging the side files of an earlier step). It must be the only stage of its step.
public protocol WorkStage: Stage {
    func runTask(_ context: TaskContext, stats: inout StageStats) throws
}

extension WorkStage {
    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        throw StageConfigurationError("stage '\(Self.type)' reads no documents; it must be alone in its step")
    }
}

/// One step of a multi-step stage's plan.
public struct StagePhase: Sendable {
    /// Appended to the step's name: `STEP.ID.phase` (the last phase keeps the step's name).
    public var name: String
    /// The stage's `type`, for statistics.
    public var type: String
    public var stage: any Stage

    public init(name: String, type: String, stage: any Stage) {
        self.name = name
        self.type = type
        self.stage = stage
    }
}

/// A stage that stands for several steps (MinHash: signatures, buckets, clusters, removal).
///
/// When a step holds one, the run splits the step there: the stages before it become a step
/// of their own (when there are any), each phase but the last becomes a step, and the last
/// phase runs, followed by the stages after it, as the original step. Each phase is a real
/// step with tasks and completion markers, so a killed run resumes where it stopped.
public protocol MultiStepStage: Stage {
    /// The phases, or nil to run the stage as an ordinary one (for a mode that needs no
    /// global step). The last phase reads documents and passes them on.
    func phases(stageID: String) throws -> [StagePhase]?
}

extension MultiStepStage {
    public func process(_ batch: inout DocumentBatch, stats: inout StageStats) throws {
        throw StageConfigurationError("stage '\(Self.type)' runs as several steps; the runtime expands it")
    }
}

/// A reference-typed box for a value that a stage shares between its batches and its task
/// hooks, behind a mutex.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = Mutex<Void>(())
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        try lock.withLock { _ in try body(&value) }
    }
}
