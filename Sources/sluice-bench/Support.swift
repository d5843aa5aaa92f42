// Shared pieces of sluice-bench: options with help text, timing child processes, formatting.
import Foundation
import SluiceCore
import SluiceIO

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

// MARK: Options

/// One option of a subcommand: `--name VALUE` (or a flag when `value` is nil), with its help.
struct OptionSpec: Sendable {
    var name: String
    var value: String?
    var help: String
}

/// A subcommand: its name, one line on what it measures, and every option with help text.
struct BenchCommand: Sendable {
    var name: String
    var summary: String
    var options: [OptionSpec]
    /// Listed in `sluice-bench help` (false for the internal `dedup-step`).
    var listed = true

    var usage: String {
        let line = options.map { o in "[--\(o.name)\(o.value.map { " " + $0 } ?? "")]" }.joined(separator: " ")
        let width = options.map { 2 + $0.name.count + ($0.value.map { $0.count + 1 } ?? 0) }.max() ?? 0
        var text = "usage: sluice-bench \(name) \(line)\n\n  \(summary)\n\n"
        for o in options {
            let left = "--\(o.name)\(o.value.map { " " + $0 } ?? "")"
            text += "  " + left + String(repeating: " ", count: max(1, width - left.count + 2)) + o.help + "\n"
        }
        return text
    }

    /// Parses `args`; on `--help` prints the usage and exits 0, on a mistake prints it and exits 2.
    func parse(_ args: [String]) -> ParsedOptions {
        var parsed = ParsedOptions()
        var rest = args[...]
        while let a = rest.popFirst() {
            if a == "--help" || a == "-h" {
                print(usage, terminator: "")
                exit(0)
            }
            guard a.hasPrefix("--"), let spec = options.first(where: { "--" + $0.name == a }) else {
                fail("unknown option \(a)")
            }
            if spec.value == nil {
                parsed.flags.insert(spec.name)
            } else {
                guard let v = rest.popFirst() else { fail("\(a) needs a value (\(spec.value!))") }
                parsed.values[spec.name] = v
            }
        }
        parsed.command = self
        return parsed
    }

    func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("sluice-bench \(name): \(message)\n\n\(usage)".utf8))
        exit(2)
    }
}

struct ParsedOptions {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var command: BenchCommand?

    func flag(_ name: String) -> Bool { flags.contains(name) }
    func string(_ name: String, _ defaultValue: String) -> String { values[name] ?? defaultValue }
    func optionalString(_ name: String) -> String? { values[name] }

    func int(_ name: String, _ defaultValue: Int, min: Int = 1) -> Int {
        guard let v = values[name] else { return defaultValue }
        guard let i = Int(v.replacingOccurrences(of: "_", with: "")), i >= min else {
            command!.fail("--\(name) must be an integer of at least \(min), got '\(v)'")
        }
        return i
    }

    func double(_ name: String, _ defaultValue: Double, in range: ClosedRange<Double>) -> Double {
        guard let v = values[name] else { return defaultValue }
        guard let d = Double(v), range.contains(d) else {
            command!.fail("--\(name) must be a number from \(range.lowerBound) to \(range.upperBound), got '\(v)'")
        }
        return d
    }

    func choice(_ name: String, _ allowed: [String], _ defaultValue: String) -> String {
        let v = values[name] ?? defaultValue
        guard allowed.contains(v) else { command!.fail("--\(name) must be one of \(allowed.joined(separator: ", ")), got '\(v)'") }
        return v
    }
}

// MARK: Timing child processes

struct Measurement {
    var seconds: Double
    var peakRSS: Int
    var status: Int32
    /// User + system CPU seconds of the child.
    var cpuSeconds: Double = 0
}

/// Runs a program, waits with wait4 and returns wall time, CPU time and the child's peak RSS.
/// With `captureOutput`, the child's standard output is written to that file.
func measure(_ argv: [String], quietOutput: Bool = true, captureOutput: String? = nil) throws -> Measurement {
    var pid: pid_t = 0
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let captureOutput {
        posix_spawn_file_actions_addopen(&actions, 1, captureOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    } else if quietOutput {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    }
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }
    let start = DispatchTime.now().uptimeNanoseconds
    let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
    guard rc == 0 else { throw BenchError(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    let end = DispatchTime.now().uptimeNanoseconds
    let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
    return Measurement(seconds: Double(end - start) / 1e9, peakRSS: usage.ru_maxrss * 1024, status: status, cpuSeconds: cpu)
}

func fastest(_ n: Int, _ body: () throws -> Measurement) throws -> Measurement {
    var best: Measurement?
    for _ in 0..<n {
        let m = try body()
        if m.status != 0 { throw BenchError(description: "a measured command failed with status \(m.status)") }
        if best == nil || m.seconds < best!.seconds { best = m }
    }
    return best!
}

/// Wall-clock seconds since an arbitrary start.
func wallSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// CPU seconds of the calling thread.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

// MARK: The machine

/// A line about the machine: cores and load average, so numbers from a shared machine can be
/// read for what they are.
func machineLine() -> String {
    let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    return "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(load) (1, 5, 15 min) before the run"
}

/// The `sluice` binary next to this one.
func sluiceBinary() throws -> String {
    let path = executableDirectory() + "/sluice"
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw BenchError(description: "\(path) not found; build it with `swift build -c release`")
    }
    return path
}

func executableDirectory() -> String {
    let exe = ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]) as NSString
    return exe.deletingLastPathComponent
}

/// This executable, for subcommands that run steps in child processes.
func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

// MARK: Input documents

/// The documents of JSONL(.zst/.gz) files matched by `pattern`, in file order, with the
/// stem of each file's name (for labels).
func loadDocuments(_ pattern: String) throws -> [(document: Document, file: String)] {
    let files = try InputListing.list(patterns: [pattern])
    var out: [(Document, String)] = []
    var parser = DocumentLineParser()
    for path in files {
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        if path.hasSuffix(".zst") { bytes = try ZstdDecompressor.decompress(bytes) }
        if path.hasSuffix(".gz") { bytes = try GzipDecompressor.decompress(bytes) }
        let stem = String(((path as NSString).lastPathComponent).split(separator: ".").first ?? "input")
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: "\n") {
            if i > start, let d = bytes[start..<i].withUnsafeBytes({ parser.parse($0) }).document { out.append((d, stem)) }
            start = i + 1
        }
    }
    guard !out.isEmpty else { throw BenchError(description: "no documents in \(pattern)") }
    return out
}

// MARK: Formatting

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
    func rightPad(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

func rate(_ count: Double, _ seconds: Double) -> String {
    seconds > 0 ? formatFixed(count / seconds, digits: 0) : "-"
}

func megabytesPerSecond(_ bytes: Int, _ seconds: Double) -> String {
    seconds > 0 ? formatFixed(Double(bytes) / 1e6 / seconds, digits: 1) : "-"
}

func printJSON(_ value: JSONValue) {
    print(String(decoding: encodeJSON(value), as: UTF8.self))
}

