import ArgumentParser
import Foundation
import Logging
import SluicePipeline
import SluiceStats

/// Exit status: 0 on success, 1 on a failed run, 2 on bad usage or an invalid pipeline.
enum Exit {
    static let failed = ExitCode(1)
    static let usage = ExitCode(2)
}

struct Sluice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Curate pretraining data: parse, filter, deduplicate and score documents into sharded zstd JSONL.",
        discussion: """
            Exit status: 0 on success, 1 on a failed or interrupted run, 2 on bad usage or an \
            invalid pipeline. Progress and logs go to standard error.
            """,
        version: sluiceVersion,
        subcommands: [Run.self, Validate.self, ListStages.self, Stats.self, Inspect.self, Report.self, Diff.self, Verify.self, FastTextCommand.self, LLMCommand.self, SlurmCommand.self,
            Annotate.self,
            QualityCommand.self,
            LMCommand.self,
        ])
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a pipeline file.",
        discussion: """
            Tasks that already have a completion marker in the output folder are skipped, so running \
            the same command again after a crash or kill finishes the job without redoing or \
            duplicating anything. SIGINT or SIGTERM stops taking input, leaves no half-written shard \
            and exits with status 1.
            """)

    @Argument(help: "The pipeline YAML file.")
    var pipeline: String

    @Option(help: ArgumentHelp("Split the input into N tasks (overrides run.tasks). Input file i goes to task i mod N.", valueName: "n"))
    var tasks: Int?

    @Option(help: ArgumentHelp("Worker threads per task (overrides run.workers).", valueName: "w"))
    var workers: Int?

    @Option(
        name: .customLong("task-index"),
        help: ArgumentHelp(
            "Run only task I (0-based). Also read from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when not given.",
            valueName: "i"))
    var taskIndex: Int?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp("Override a pipeline key by dotted path, e.g. --set output.path=/tmp/x (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Option(
        help: ArgumentHelp(
            "Run only this step (names as `sluice validate` lists them); it refuses to start unless the steps it depends on (every earlier step; for a step with `from`, the step it reads and those before it) have completion markers for all their tasks. Each Slurm array job runs one step this way.",
            valueName: "name"))
    var step: String?

    @Option(help: "Log and progress format on standard error: text or json.")
    var logFormat: LogFormat = .text

    @Flag(help: "Print no progress lines, only errors and the summary.")
    var quiet = false

    func validate() throws {
        if let tasks, tasks < 1 { throw ValidationError("--tasks must be at least 1") }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if let taskIndex, taskIndex < 0 { throw ValidationError("--task-index must be 0 or more") }
    }

    func run() throws {
        let json = logFormat == .json
        LoggingSystem.bootstrap { _ in SluiceLogHandler(json: json) }
        let logger = Logger(label: "sluice")
        let env = ProcessInfo.processInfo.environment
        var index = taskIndex
        if index == nil {
            for key in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
                if let v = env[key], !v.isEmpty {
                    guard let i = Int(v), i >= 0 else {
                        logger.error("\(key)=\(v) is not a task index")
                        throw Exit.usage
                    }
                    index = i
                    break
                }
            }
        }
        let prepared: PreparedRun
        do {
            prepared = try PreparedRun(
                pipelinePath: pipeline, overrides: overrides, environment: env, tasks: tasks, workers: workers)
        } catch {
            logger.error("\(error)")
            throw Exit.usage
        }
        Interruption.install()
        let mode: ProgressMode = quiet ? .quiet : (json ? .json : .auto)
        do {
            let result = try prepared.run(taskIndex: index, step: step, progress: mode) { logger.info("\($0)") }
            if json {
                logger.info("run complete", metadata: ["documents_out": "\(result.documentsOut)", "seconds": "\(result.seconds)"])
            } else {
                print(result.render())
            }
        } catch let e as RunInterrupted {
            logger.error("\(e); no partial shard was left. Run the same command again to finish the job.")
            throw Exit.failed
        } catch {
            logger.error("\(error)")
            throw Exit.failed
        }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a pipeline file and build every stage, running nothing.")

    @Argument(help: "The pipeline YAML file.")
    var pipeline: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a pipeline key by dotted path (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    func run() throws {
        do {
            let prepared = try PreparedRun(
                pipelinePath: pipeline, overrides: overrides, environment: ProcessInfo.processInfo.environment,
                tasks: nil, workers: nil, resolveInputs: true)
            print(prepared.describe())
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.usage
        }
    }
}

struct ListStages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-stages", abstract: "List every stage type with its options and drop reasons.")

    @Flag(help: "Print a Markdown table instead of plain text.")
    var markdown = false

    func run() throws {
        print(markdown ? stageCatalogMarkdown() : stageCatalogText(), terminator: "")
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an output folder's statistics: totals, the funnel, shards, distributions and top values.",
        discussion: """
            Reads the completion markers, _stats/ and the statistics sidecars beside the shards, not \
            the shards. --recompute reads the shards instead (streaming, in parallel). --by FIELD \
            breaks the documents down by language, source, domain or content_type from the \
            sidecars, or by any other field (a metadata path such as quality_bucket or \
            metadata.warc.type, or a top-level key) by reading the shards.
            """)

    @Argument(help: "The output folder of a run (its output.path).")
    var out: String

    @Flag(help: "Print JSON: totals, stages and shards, plus text, lengths, metadata and categories.")
    var json = false

    @Option(help: ArgumentHelp("Break documents down by a field: language, source, domain, content_type, or any metadata path.", valueName: "field"))
    var by: String?

    @Flag(help: "Recompute the statistics from the shards instead of reading the sidecars.")
    var recompute = false

    @Option(help: ArgumentHelp("Threads for --recompute and for reading shards.", valueName: "n"))
    var workers: Int = 2

    @Option(help: ArgumentHelp("Rows of the shard table.", valueName: "n"))
    var shards: Int = 20

    @Flag(name: .customLong("no-histograms"), help: "Leave the text histograms out.")
    var noHistograms = false

    func validate() throws {
        if workers < 1 { throw ValidationError("--workers must be at least 1") }
        if shards < 0 { throw ValidationError("--shards must be 0 or more") }
    }

    func run() throws {
        do {
            let summary = try OutputSummary(root: out)
            let started = Date()
            let statistics = try summary.statistics(recompute: recompute, workers: workers)
            if recompute {
                let seconds = max(Date().timeIntervalSince(started), 1e-9)
                FileHandle.standardError.write(Data(("sluice: " + statistics.rescanReport(seconds: seconds, workers: workers) + "\n").utf8))
            }
            var breakdown: Breakdown?
            if let by {
                if let field = CategoryField(userName: by) {
                    breakdown = statistics.breakdown(field)
                } else {
                    let layout = OutputLayout(root: out)
                    breakdown = try ShardScanner.breakdown(
                        paths: summary.shards.map { layout.path($0.path) }, field: FieldPath(by), workers: workers)
                }
            }
            if json {
                var value = summary.json(with: statistics)
                if let breakdown, case .object(var o) = value {
                    o["breakdown"] = breakdown.json
                    value = .object(o)
                }
                print(renderJSON(value), terminator: "")
            } else if let breakdown {
                print(breakdown.renderText(), terminator: "")
            } else {
                var options = RunStatistics.TextOptions()
                options.maxShardRows = shards
                options.histograms = !noHistograms
                print(statistics.renderText(options), terminator: "")
            }
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.failed
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that every shard decodes and matches its checksum, counts and the manifest.")

    @Argument(help: "The output folder of a run (its output.path).")
    var out: String

    func run() throws {
        let problems: [String]
        do {
            problems = try verifyOutput(root: out)
        } catch {
            FileHandle.standardError.write(Data("sluice: error: \(error)\n".utf8))
            throw Exit.failed
        }
        if problems.isEmpty {
            let s = try OutputSummary(root: out)
            print("OK: \(s.shards.count) shards, \(s.documents) documents, checksums and counts match")
        } else {
            for p in problems { FileHandle.standardError.write(Data("FAIL: \(p)\n".utf8)) }
            FileHandle.standardError.write(Data("sluice: verify found \(problems.count) problem(s) in \(out)\n".utf8))
            throw Exit.failed
        }
    }
}

// Parse and run by hand so usage errors exit with 2, as the command-line contract says.
do {
    var command = try Sluice.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    let code = Sluice.exitCode(for: error)
    if code == .success {
        print(Sluice.fullMessage(for: error))
        exit(0)
    }
    FileHandle.standardError.write(Data((Sluice.fullMessage(for: error) + "\n").utf8))
    exit(2)
}
