import Foundation
import SluiceCore
import SluiceIO

/// A fresh folder under the system's temporary directory, removed when the value goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "sluice-test") {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/" + label + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// `path/relative`, creating the parent folders.
    public func file(_ relative: String) -> String {
        let full = path + "/" + relative
        let parent = (full as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        return full
    }
}

/// Writes bytes to a file, replacing it.
public func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Writes text to a file, replacing it.
public func writeFile(_ path: String, _ text: String) throws {
    try writeFile(path, Array(text.utf8))
}

/// Reads a whole file.
public func readFile(_ path: String) throws -> [UInt8] {
    guard let d = FileManager.default.contents(atPath: path) else {
        throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
    }
    return [UInt8](d)
}

/// Documents as JSONL bytes, one line each.
public func jsonl(_ documents: [Document]) -> [UInt8] {
    var out: [UInt8] = []
    for d in documents { appendJSONLine(d, to: &out) }
    return out
}

/// Deterministic documents of roughly `bytesPerDocument` bytes of English-like text.
public func syntheticDocuments(count: Int, bytesPerDocument: Int = 2000, seed: UInt64 = 1, idPrefix: String = "doc") -> [Document] {
    let words = [
        "the", "river", "carries", "sediment", "toward", "a", "wide", "delta", "where", "farmers", "plant", "rice",
        "and", "engineers", "build", "locks", "that", "raise", "boats", "over", "ancient", "walls", "of", "stone",
        "while", "children", "watch", "from", "bridges", "counting", "barges", "loaded", "with", "grain", "timber",
        "coal", "in", "early", "morning", "light", "data", "pipeline", "sluice", "gate", "water", "level", "measured",
    ]
    var rng = SplitMix64(seed: seed)
    var docs: [Document] = []
    docs.reserveCapacity(count)
    for i in 0..<count {
        var text = ""
        text.reserveCapacity(bytesPerDocument + 16)
        var sentence = 0
        while text.utf8.count < bytesPerDocument {
            let w = words[Int(rng.next() % UInt64(words.count))]
            if sentence == 0 { text += w.prefix(1).uppercased() + w.dropFirst() } else { text += w }
            sentence += 1
            if sentence > 8 && rng.next() % 6 == 0 {
                text += rng.next() % 5 == 0 ? ".\n\n" : ". "
                sentence = 0
            } else {
                text += " "
            }
        }
        docs.append(
            Document(
                id: "\(idPrefix)-\(i)", text: text, source: "synthetic", added: "2026-01-01T00:00:00Z",
                metadata: ["index": .int(i), "score": .double(Double(rng.next() % 1000) / 1000)]))
    }
    return docs
}

/// The result of running a command.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// True when the process was ended by a signal.
    public var signalled: Bool
}

/// The `sluice` executable built beside the running tests.
public func sluiceExecutable() -> String {
    let env = ProcessInfo.processInfo.environment
    if let p = env["SLUICE_BINARY"] { return p }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = (exe as NSString).deletingLastPathComponent
    // The test bundle may sit inside NAME.xctest/; walk up until a `sluice` file is beside it.
    for _ in 0..<4 {
        let candidate = dir + "/sluice"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = (dir as NSString).deletingLastPathComponent
    }
    return "sluice"
}

/// The package's root folder (where Package.swift is), found from this source file.
public func packageRoot(file: StaticString = #filePath) -> String {
    var dir = ("\(file)" as NSString).deletingLastPathComponent
    while dir != "/" {
        if FileManager.default.fileExists(atPath: dir + "/Package.swift") { return dir }
        dir = (dir as NSString).deletingLastPathComponent
    }
    return FileManager.default.currentDirectoryPath
}

/// Runs a program to completion and captures its output.
public func runCommand(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    currentDirectory: String? = nil
) throws -> CommandResult {
    let process = try startCommand(executable, arguments, environment: environment, currentDirectory: currentDirectory)
    return process.wait()
}

/// A started child process whose output is collected into files.
public final class RunningCommand: @unchecked Sendable {
    public let process: Process
    private let outPath: String
    private let errPath: String

    init(process: Process, outPath: String, errPath: String) {
        self.process = process
        self.outPath = outPath
        self.errPath = errPath
    }

    public var pid: Int32 { process.processIdentifier }

    /// Sends a signal to the process.
    public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    public func wait() -> CommandResult {
        process.waitUntilExit()
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        return CommandResult(
            status: process.terminationStatus, stdout: out, stderr: err,
            signalled: process.terminationReason == .uncaughtSignal)
    }
}

/// Starts a program with its output going to temporary files (so a large output cannot block it).
public func startCommand(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    currentDirectory: String? = nil
) throws -> RunningCommand {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for k in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] { env[k] = nil }
    if let environment { env.merge(environment) { $1 } }
    process.environment = env
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let tmp = FileManager.default.temporaryDirectory.path + "/sluice-cmd-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    _ = FileManager.default.createFile(atPath: tmp + ".out", contents: nil)
    _ = FileManager.default.createFile(atPath: tmp + ".err", contents: nil)
    process.standardOutput = FileHandle(forWritingAtPath: tmp + ".out")
    process.standardError = FileHandle(forWritingAtPath: tmp + ".err")
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return RunningCommand(process: process, outPath: tmp + ".out", errPath: tmp + ".err")
}

/// The files under `root` (recursively) with their bytes, keyed by relative path; hidden
/// temporaries included so tests can check none are left.
public func snapshotFiles(_ root: String, excluding: (String) -> Bool = { _ in false }) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    guard let e = FileManager.default.enumerator(atPath: root) else { return out }
    while let rel = e.nextObject() as? String {
        var isDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir)
        if isDir.boolValue || excluding(rel) { continue }
        out[rel] = try readFile(root + "/" + rel)
    }
    return out
}

/// The CPU time the calling thread has used so far. Tests that bound how long some work may
/// take measure this rather than the wall clock: other processes on a busy CI machine stretch
/// wall-clock time, not the work done.
public func threadCPUTime() -> Duration {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return .seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
}

/// The kill -9 check of multi-step jobs: for each step (each folder of `out/_steps`, then the
/// final step), runs `pipeline` from scratch, kills it with SIGKILL as soon as that step's
/// first task is complete (its next task is then under way), reruns it to the end and
/// compares `snapshot()` with `expected`. Returns what went wrong, empty when every rerun
/// gave the clean run's files.
public func killInEachStepThenRerun(
    sluice: String, pipeline: String, out: String, root: String, expected: [String: [UInt8]],
    snapshot: () throws -> [String: [UInt8]]
) throws -> [String] {
    var problems: [String] = []
    let steps = try FileManager.default.contentsOfDirectory(atPath: out + "/_steps").sorted()
    for step in steps + ["."] {
        try FileManager.default.removeItem(atPath: out)
        let child = try startCommand(sluice, ["run", pipeline, "--quiet"], currentDirectory: root)
        let marker = out + "/" + (step == "." ? "" : "_steps/" + step + "/") + "_completions/00000.json"
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && !FileManager.default.fileExists(atPath: marker) { usleep(1_000) }
        child.signal(SIGKILL)
        _ = child.wait()
        let finish = try runCommand(sluice, ["run", pipeline, "--quiet"], currentDirectory: root)
        if finish.status != 0 { problems.append("after kill in \(step): the rerun failed: \(finish.stderr)") }
        let got = try snapshot()
        if got.keys.sorted() != expected.keys.sorted() { problems.append("after kill in \(step): different files") }
        for (k, v) in got where expected[k] != nil && expected[k]! != v { problems.append("after kill in \(step): \(k) differs") }
    }
    return problems
}
